//! The background task that expires peers which stopped announcing.

use std::sync::Arc;
use std::time::Duration;

use crate::core::Tracker;
use crate::domain::unix_now;
use crate::shutdown::Shutdown;
use crate::store::Store;

/// Run the store's sweep every `every` until shutdown.
pub async fn run(tracker: Arc<Tracker>, every: Duration, mut shutdown: Shutdown) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.wait() => return,
        }
        match tracker.store.sweep(unix_now()).await {
            Ok(stats) if stats.peers_expired > 0 || stats.torrents_removed > 0 => {
                tracing::debug!(
                    peers = stats.peers_expired,
                    torrents = stats.torrents_removed,
                    "expired"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("sweep failed: {e}"),
        }
    }
}
