//! Graceful shutdown: SIGTERM or SIGINT flips a shared flag every server task watches.

use tokio::sync::watch;

/// A handle that resolves once shutdown has begun. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// Starts a shutdown by hand (tests, or after a fatal error).
#[derive(Debug)]
pub struct Trigger {
    tx: watch::Sender<bool>,
}

impl Trigger {
    /// Begin shutting down.
    pub fn fire(&self) {
        let _ = self.tx.send(true);
    }
}

impl Shutdown {
    /// A shutdown handle and its trigger.
    pub fn new() -> (Trigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (Trigger { tx }, Shutdown { rx })
    }

    /// Has shutdown begun?
    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Wait until shutdown begins.
    pub async fn wait(&mut self) {
        // An error means every trigger is gone, which also means shutting down.
        let _ = self.rx.wait_for(|&stop| stop).await;
    }
}

/// Fire `trigger` on the first SIGTERM or SIGINT.
pub fn on_signals(trigger: Trigger) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
        trigger.fire();
        // Keep the trigger's channel open until the process exits.
        std::future::pending::<()>().await;
    });
    Ok(())
}
