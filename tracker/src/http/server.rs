//! The HTTP accept loop: each connection is handed to one of the worker threads and served
//! there by hyper (HTTP/1.1, keep-alive) with a header-read timeout that also closes idle
//! keep-alive connections, a bounded read buffer (request line + headers), a connection cap
//! and a maximum connection age.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::Method;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tower_service::Service;

use super::handlers;
use crate::core::Tracker;
use crate::shutdown::Shutdown;

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
/// through the axum router.
#[derive(Clone)]
pub struct App {
    pub tracker: Arc<Tracker>,
    pub router: Router,
}

/// Threads that each run a single-threaded runtime serving the connections handed to them
/// (round robin). Every connection stays on one thread, so a request never wakes another
/// thread and no task migrates; the threads exit once every [`Workers`] handle is dropped
/// and their connections have ended.
pub struct Workers {
    queues: Vec<mpsc::UnboundedSender<Accepted>>,
    next: AtomicUsize,
}

/// An accepted connection on its way to a worker thread.
struct Accepted {
    stream: std::net::TcpStream,
    remote: SocketAddr,
    connection: Connection,
}

impl Workers {
    /// Start `count` worker threads (at least one).
    pub fn start(count: usize) -> std::io::Result<(Workers, Vec<std::thread::JoinHandle<()>>)> {
        let mut queues = Vec::new();
        let mut threads = Vec::new();
        for index in 0..count.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (tx, rx) = mpsc::unbounded_channel();
            let thread = std::thread::Builder::new()
                .name(format!("http-{index}"))
                .spawn(move || runtime.block_on(run_worker(rx)))?;
            queues.push(tx);
            threads.push(thread);
        }
        let workers = Workers {
            queues,
            next: AtomicUsize::new(0),
        };
        Ok((workers, threads))
    }

    /// Hand a connection to the next worker.
    fn dispatch(&self, accepted: Accepted) {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.queues.len();
        if self.queues[index].send(accepted).is_err() {
            tracing::error!("http worker {index} has stopped; connection dropped");
        }
    }
}

/// One worker thread's loop: serve each connection it is given until the queue closes,
/// then let the open ones finish.
async fn run_worker(mut queue: mpsc::UnboundedReceiver<Accepted>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = queue.recv() => match accepted {
                Some(a) => match TcpStream::from_std(a.stream) {
                    Ok(stream) => {
                        connections.spawn(a.connection.run(stream, a.remote));
                    }
                    Err(e) => tracing::warn!("cannot register a connection: {e}"),
                },
                None => break,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    while connections.join_next().await.is_some() {}
}

/// Accept connections on `listener` and serve `app` on the `workers` threads until
/// `shutdown`, then let in-flight requests finish (up to a short grace period).
pub async fn serve(
    listener: TcpListener,
    app: App,
    workers: Arc<Workers>,
    limits: Limits,
    shutdown: Shutdown,
) {
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
        match stream.into_std() {
            Ok(stream) => workers.dispatch(Accepted {
                stream,
                remote,
                connection,
            }),
            Err(e) => tracing::warn!(%remote, "cannot hand over a connection: {e}"),
        }
    }
    drop(listener);
    drop(workers);
    // Wait for connections to finish: every one holds a permit until it ends.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all)).await;
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
        let service = service_fn(move |mut request: hyper::Request<Incoming>| {
            let tracker = tracker.clone();
            let mut router = router.clone();
            async move {
                if request.method() == Method::GET && request.uri().path() == "/announce" {
                    return Ok::<_, Infallible>(
                        handlers::announce(
                            &tracker,
                            remote,
                            request.uri().query(),
                            request.headers(),
                        )
                        .await,
                    );
                }
                request.extensions_mut().insert(ConnectInfo(remote));
                Ok(router.call(request).await.unwrap_or_else(|e| match e {}))
            }
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
