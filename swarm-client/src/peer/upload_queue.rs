//! Upload requests a connection accepted and has not started sending yet, counted per
//! connection and over the whole session.
//!
//! The connection's count bounds what one peer may queue (`MAX_QUEUED_UPLOADS`). The
//! session's count tells whether the uplink is about to idle: at the end of initial
//! seeding, a piece on its way to one peer then goes to a second at once (see
//! `torrent::picker::seeding`). With four libtorrent leechers on loopback, refusals with
//! nothing queued left the seed sending at a sixth of its earlier rate for the second half
//! of the time its first copy took, and one round took 6.2 s instead of ~2 s (most likely
//! the 4 s a stuck piece waited for its second copy).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Fewer queued requests than this over the whole session, and the uplink is about to idle:
/// a 256 KiB piece's worth of 16 KiB blocks.
const IDLE_BELOW: usize = 16;

/// The upload requests queued over every connection of a session.
#[derive(Debug, Default)]
pub struct SessionUploads(AtomicUsize);

impl SessionUploads {
    /// Too little queued to keep the uplink busy?
    pub fn idle(&self) -> bool {
        self.0.load(Ordering::Relaxed) < IDLE_BELOW
    }
}

/// One connection's queued upload requests, shared by its reader (which queues them) and
/// its writer (which sends, cancels or drops them). Dropping it takes whatever is still
/// queued off the session's count.
#[derive(Debug)]
pub struct UploadQueue {
    own: AtomicUsize,
    session: Arc<SessionUploads>,
}

impl UploadQueue {
    pub fn new(session: Arc<SessionUploads>) -> Self {
        Self {
            own: AtomicUsize::new(0),
            session,
        }
    }

    /// Requests queued on this connection.
    pub fn len(&self) -> usize {
        self.own.load(Ordering::Relaxed)
    }

    /// One more request queued.
    pub fn push(&self) {
        self.own.fetch_add(1, Ordering::Relaxed);
        self.session.0.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` requests left the queue: being sent, cancelled or dropped.
    pub fn taken(&self, n: usize) {
        self.own.fetch_sub(n, Ordering::Relaxed);
        self.session.0.fetch_sub(n, Ordering::Relaxed);
    }

    /// Is the session's uplink about to idle?
    pub fn uplink_idle(&self) -> bool {
        self.session.idle()
    }
}

impl Drop for UploadQueue {
    fn drop(&mut self) {
        self.session.0.fetch_sub(self.len(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_that_ends_with_requests_queued_leaves_nothing_on_the_session_count() {
        let session = Arc::new(SessionUploads::default());
        let a = UploadQueue::new(session.clone());
        let b = UploadQueue::new(session.clone());
        for _ in 0..IDLE_BELOW {
            a.push();
        }
        b.push();
        assert!(!session.idle(), "{} queued", IDLE_BELOW + 1);
        a.taken(2);
        assert_eq!(a.len(), IDLE_BELOW - 2);
        assert!(session.idle(), "{} queued", IDLE_BELOW - 1);
        drop(a);
        assert_eq!(session.0.load(Ordering::Relaxed), 1, "b's request only");
        drop(b);
        assert_eq!(session.0.load(Ordering::Relaxed), 0);
    }
}
