//! The HTTP accept loop: each connection is served by hyper (HTTP/1.1, keep-alive) with a
//! header-read timeout that also closes idle keep-alive connections, a bounded read buffer
//! (request line + headers), a connection cap and a maximum connection age.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::Method;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_service::Service;

use super::handlers;
use crate::access::rate_limit::Kind;
use crate::core::Tracker;
use crate::observe::access_log;
use crate::shutdown::Shutdown;
use crate::web::{client, respond};

/// Bytes hyper may buffer for one request's line and headers; larger requests are refused.
/// (Queries up to [`super::query::MAX_QUERY_LEN`] get a bencoded failure instead.)
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most header lines in one request.
const MAX_HEADERS: usize = 32;
/// How long in-flight requests get to finish after shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Connection limits for [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time allowed to send a request head, and to sit idle between requests.
    pub request_timeout: Duration,
    /// After this long a connection is closed once its current request is answered.
    pub max_age: Duration,
    /// Most connections served at once; further ones are closed immediately.
    pub max_connections: usize,
}

/// What every connection serves: `/announce` directly (the hot path), everything else
/// through the axum router (web requests with a rate limit and an access-log line).
#[derive(Clone)]
pub struct App {
    pub tracker: Arc<Tracker>,
    pub router: Router,
}

/// Accept connections on `listener` and serve `app` until `shutdown`, then let in-flight
/// requests finish (up to a short grace period). Each connection is its own task on the
/// multi-threaded runtime: with work stealing, a connection whose thread is busy or
/// descheduled is picked up by another (a much shorter latency tail than pinning
/// connections to per-thread runtimes, measured with bench/tracker.sh).
pub async fn serve(listener: TcpListener, app: App, limits: Limits, shutdown: Shutdown) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.request_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .keep_alive(true);
    let builder = Arc::new(builder);
    let mut stopping = shutdown.clone();
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors or similar: back off briefly, keep serving.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = stopping.wait() => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%remote, "connection limit reached; closing");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            builder: builder.clone(),
            app: app.clone(),
            limits,
            shutdown: shutdown.clone(),
            _permit: permit,
        };
        tokio::spawn(connection.run(stream, remote));
    }
    drop(listener);
    // Wait for connections to finish: every one holds a permit until it ends.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all)).await;
}

/// Announce and scrape paths (their own limits, and logged at debug).
fn is_bittorrent(path: &str) -> bool {
    ["/announce", "/scrape"]
        .iter()
        .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
}

struct Connection {
    builder: Arc<http1::Builder>,
    app: App,
    limits: Limits,
    shutdown: Shutdown,
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    async fn run(self, stream: TcpStream, remote: SocketAddr) {
        let App { tracker, router } = self.app;
        // Requests borrow the connection's tracker and router rather than cloning the Arcs:
        // both worker threads would otherwise bump the same reference counts for every
        // request, moving those cache lines between cores.
        let (tracker, router) = (&*tracker, &router);
        let service = service_fn(move |mut request: hyper::Request<Incoming>| async move {
            let path = request.uri().path();
            if request.method() == Method::GET
                && (path == "/announce" || path.starts_with("/announce/"))
            {
                return Ok::<_, Infallible>(
                    handlers::announce(
                        tracker,
                        remote,
                        path,
                        request.uri().query(),
                        request.headers(),
                    )
                    .await,
                );
            }
            let web = !is_bittorrent(path);
            let started = std::time::Instant::now();
            let (method, path) = (request.method().clone(), path.to_string());
            let client = client::ip(&tracker.config, remote, request.headers())
                .unwrap_or_else(|_| remote.ip());
            if web && let Err(wait) = tracker.limits.check(Kind::Web, client) {
                tracker.metrics.rate_limited(Kind::Web.as_str());
                let as_json = client::wants_json(request.headers(), None);
                let response = respond::too_many(wait, as_json);
                access_log::web(method.as_str(), &path, 429, started.elapsed(), client);
                return Ok(response);
            }
            request.extensions_mut().insert(ConnectInfo(remote));
            let response = router
                .clone()
                .call(request)
                .await
                .unwrap_or_else(|e| match e {});
            if web {
                let status = response.status().as_u16();
                access_log::web(method.as_str(), &path, status, started.elapsed(), client);
            }
            Ok(response)
        });
        let conn = self.builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(conn);
        let mut shutdown = self.shutdown;
        let closing = tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::trace!(%remote, "connection ended: {e}");
                }
                return;
            }
            _ = tokio::time::sleep(self.limits.max_age) => false,
            _ = shutdown.wait() => true,
        };
        // Finish the request in flight (if any), then close; a peer that will not read
        // its reply is cut off after the grace period.
        conn.as_mut().graceful_shutdown();
        let grace = if closing {
            SHUTDOWN_GRACE
        } else {
            self.limits.request_timeout
        };
        let _ = tokio::time::timeout(grace, conn).await;
    }
}
