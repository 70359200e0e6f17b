//! SIGHUP: read the allowlist, passkey and publish-token files again. A file that fails to
//! load keeps its previous contents in force (and the error is logged).

use std::sync::Arc;

use crate::core::Tracker;

/// Reload every file now, logging the outcome.
pub fn reload(tracker: &Tracker) {
    match tracker.allowlist.reload() {
        Ok(Some(n)) => tracing::info!(entries = n, "allowlist reloaded"),
        Ok(None) => {}
        Err(e) => tracing::error!("allowlist not reloaded, keeping the old one: {e}"),
    }
    if let Some(passkeys) = &tracker.passkeys {
        match passkeys.reload_file() {
            Ok(n) => tracing::info!(passkeys = n, "passkey file reloaded"),
            Err(e) => tracing::error!("passkeys not reloaded, keeping the old ones: {e}"),
        }
    }
    if tracker.tokens.enabled() {
        match tracker.tokens.reload() {
            Ok(n) => tracing::info!(tokens = n, "publish tokens reloaded"),
            Err(e) => tracing::error!("publish tokens not reloaded, keeping the old ones: {e}"),
        }
    }
}

/// Reload on every SIGHUP.
pub fn on_sighup(tracker: Arc<Tracker>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            reload(&tracker);
        }
    });
    Ok(())
}
