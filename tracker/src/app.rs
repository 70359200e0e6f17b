//! Starting the whole tracker: open the store and allowlist, bind every socket, spawn the
//! HTTP, UDP and sweeper tasks, and wait for them to stop after shutdown.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::access::passkeys::{PasskeyError, Passkeys};
use crate::access::rate_limit::RateLimits;
use crate::access::tokens::{TokenFileError, Tokens};
use crate::allowlist::{Allowlist, AllowlistError};
use crate::catalog::Catalog;
use crate::config::Config;
use crate::core::Tracker;
use crate::http::{handlers, server};
use crate::observe::metrics::Metrics;
use crate::persist::PersistError;
use crate::persist::any::AnyDb;
use crate::shutdown::Shutdown;
use crate::store::any::AnyStore;
use crate::store::{StoreConfig, StoreError};
use crate::udp::connection_id::ConnectionIds;
use crate::{housekeeping, sweeper, udp, web};

/// Why the tracker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot open the swarm store: {0}")]
    Store(StoreError),
    #[error("{0}")]
    Allowlist(AllowlistError),
    #[error("cannot open the catalog: {0}")]
    Catalog(PersistError),
    #[error("{0}")]
    Passkeys(PasskeyError),
    #[error("{0}")]
    Tokens(TokenFileError),
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        addr: SocketAddr,
        error: std::io::Error,
    },
}

/// A started tracker.
pub struct Running {
    /// The bound HTTP addresses (actual ports when port 0 was asked for).
    pub http: Vec<SocketAddr>,
    /// The bound UDP addresses.
    pub udp: Vec<SocketAddr>,
    /// The shared state (for reloading the allowlist).
    pub tracker: Arc<Tracker>,
    tasks: JoinSet<()>,
}

impl Running {
    /// Wait until every server task has stopped (after shutdown).
    pub async fn wait(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Bind all sockets and start serving; returns once everything listens.
pub async fn start(config: Config, shutdown: Shutdown) -> Result<Running, StartError> {
    let udp_addrs = config.udp_addrs().map_err(StartError::Config)?;
    let store_config = StoreConfig {
        peer_ttl: config.peer_ttl(),
        peer_ids: config.peer_ids,
    };
    let store = AnyStore::open(&config.store, store_config)
        .await
        .map_err(StartError::Store)?;
    let allowlist =
        Arc::new(Allowlist::open(config.allowlist.clone()).map_err(StartError::Allowlist)?);
    let db = AnyDb::open(&config.store, &config.data_dir())
        .await
        .map_err(StartError::Catalog)?;
    let catalog = Arc::new(
        Catalog::open(db.clone())
            .await
            .map_err(StartError::Catalog)?,
    );
    let passkeys = match config.is_private() {
        true => Some(Arc::new(
            Passkeys::open(config.passkeys.clone(), db)
                .await
                .map_err(StartError::Passkeys)?,
        )),
        false => None,
    };
    let tokens =
        Arc::new(Tokens::open(config.publish_token_file.clone()).map_err(StartError::Tokens)?);
    let mut listeners = Vec::new();
    for &addr in &config.listen {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|error| StartError::Bind { addr, error })?;
        listeners.push(listener);
    }
    let mut sockets = Vec::new();
    for &addr in &udp_addrs {
        let socket = UdpSocket::bind(addr).map_err(|error| StartError::Bind { addr, error })?;
        sockets.push(socket);
    }
    let limits = server::Limits {
        request_timeout: Duration::from_secs(config.request_timeout.max(1)),
        max_age: Duration::from_secs(config.max_connection_age.max(1)),
        max_connections: config.max_connections.max(1),
    };
    let sweep_every = config.sweep_every();
    let udp_workers = 2 * config.threads.unwrap_or(2).max(1) + 2;
    let tracker = Arc::new(Tracker {
        policy: config.announce_policy(),
        limits: Arc::new(RateLimits::new(config.rate_limits())),
        config,
        store,
        allowlist,
        catalog,
        passkeys,
        tokens,
        metrics: Arc::new(Metrics::new()),
        request_clock: quanta::Clock::new(),
        rates: Default::default(),
        started: std::time::Instant::now(),
        summary_cache: Default::default(),
    });
    let app = server::App {
        tracker: tracker.clone(),
        router: handlers::router()
            .merge(web::router())
            .with_state(tracker.clone()),
    };
    let mut running = Running {
        http: listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect(),
        udp: sockets.iter().filter_map(|s| s.local_addr().ok()).collect(),
        tracker: tracker.clone(),
        tasks: JoinSet::new(),
    };
    for listener in listeners {
        let serve = server::serve(listener, app.clone(), limits, shutdown.clone());
        running.tasks.spawn(serve);
    }
    let ids = Arc::new(match tracker.config.udp_secret {
        Some(key) => ConnectionIds::with_key(key),
        None => ConnectionIds::new(),
    });
    for socket in sockets {
        let serve = udp::server::serve(
            socket,
            tracker.clone(),
            ids.clone(),
            udp_workers,
            shutdown.clone(),
        );
        running.tasks.spawn(async move {
            if let Err(e) = serve.await {
                tracing::error!("udp server stopped: {e}");
            }
        });
    }
    running
        .tasks
        .spawn(housekeeping::run(tracker.clone(), shutdown.clone()));
    running
        .tasks
        .spawn(sweeper::run(tracker, sweep_every, shutdown));
    Ok(running)
}
