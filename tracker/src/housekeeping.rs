//! Background upkeep besides the sweeper: the once-a-second snapshot behind the status
//! page's rates, forgetting idle rate-limit buckets, and (with a shared store) refreshing the
//! catalog and passkeys that other instances change.

use std::sync::Arc;
use std::time::Duration;

use crate::catalog::REFRESH_EVERY;
use crate::core::Tracker;
use crate::shutdown::Shutdown;

/// Run until shutdown.
pub async fn run(tracker: Arc<Tracker>, mut shutdown: Shutdown) {
    let mut second = tokio::time::interval(Duration::from_secs(1));
    second.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    let refresh_every = REFRESH_EVERY.as_secs().max(1);
    loop {
        tokio::select! {
            _ = second.tick() => {}
            _ = shutdown.wait() => return,
        }
        ticks += 1;
        tracker.rates.tick(tracker.metrics.totals());
        if ticks.is_multiple_of(60) {
            tracker.limits.forget_idle();
        }
        if ticks.is_multiple_of(refresh_every) {
            if let Err(e) = tracker.catalog.refresh_if_shared(REFRESH_EVERY).await {
                tracing::warn!("catalog refresh: {e}");
            }
            if tracker.catalog.is_shared()
                && let Some(passkeys) = &tracker.passkeys
                && let Err(e) = passkeys.refresh_managed().await
            {
                tracing::warn!("passkey refresh: {e}");
            }
        }
    }
}
