//! What to tell one peer through PEX next (BEP 11).
//!
//! Each connection that negotiated ut_pex keeps a [`PexState`]: the set of peers this peer
//! was last told about. Once a minute at most, [`PexState::next_message`] compares it with
//! the torrent's connected peers and yields the difference as one message — peers added and
//! dropped since then, each list capped so the message stays small; what does not fit goes
//! in the next one. libtorrent drops a peer that sends PEX more often than that.
//!
//! Private torrents (BEP 27) must not use PEX at all: don't create one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::pex::{MAX_ADDED_PER_MESSAGE, MAX_DROPPED_PER_MESSAGE, PexFlags, PexMessage, PexPeer};

/// Least time between two PEX messages to the same peer.
pub const PEX_INTERVAL: Duration = Duration::from_secs(60);

/// PEX bookkeeping for one connection.
#[derive(Debug, Default)]
pub struct PexState {
    /// Peers this peer knows we are connected to, by address, with the flags told.
    told: HashMap<SocketAddr, PexFlags>,
    last_sent: Option<Instant>,
}

impl PexState {
    /// Nothing told yet; the first message may go at once.
    pub fn new() -> Self {
        Self::default()
    }

    /// The message to send now, if one is due and there is something to say.
    ///
    /// `connected` is the torrent's connected peers by *listen* address (the address we
    /// dialled, or the source address with the port from the peer's extended handshake;
    /// leave out incoming peers whose listen port is unknown); `recipient` is left out of
    /// the message. A `Some` is to be sent: the state counts it as told.
    pub fn next_message(
        &mut self,
        connected: impl IntoIterator<Item = PexPeer>,
        recipient: SocketAddr,
        now: Instant,
    ) -> Option<PexMessage> {
        if self
            .last_sent
            .is_some_and(|last| now.saturating_duration_since(last) < PEX_INTERVAL)
        {
            return None;
        }
        let mut current: HashMap<SocketAddr, PexFlags> = HashMap::new();
        for peer in connected {
            if peer.addr != recipient {
                current.insert(peer.addr, peer.flags);
            }
        }
        let mut message = PexMessage::default();
        for (addr, flags) in &current {
            if message.added.len() == MAX_ADDED_PER_MESSAGE {
                break;
            }
            if !self.told.contains_key(addr) {
                message.added.push(PexPeer {
                    addr: *addr,
                    flags: *flags,
                });
            }
        }
        for addr in self.told.keys() {
            if message.dropped.len() == MAX_DROPPED_PER_MESSAGE {
                break;
            }
            if !current.contains_key(addr) {
                message.dropped.push(*addr);
            }
        }
        if message.is_empty() {
            return None;
        }
        for peer in &message.added {
            self.told.insert(peer.addr, peer.flags);
        }
        for addr in &message.dropped {
            self.told.remove(addr);
        }
        self.last_sent = Some(now);
        Some(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers(ports: impl IntoIterator<Item = u16>) -> Vec<PexPeer> {
        ports
            .into_iter()
            .map(|port| PexPeer {
                addr: SocketAddr::from(([10, 0, 0, 1], port)),
                flags: PexFlags::default(),
            })
            .collect()
    }

    fn ports(addrs: impl IntoIterator<Item = SocketAddr>) -> Vec<u16> {
        let mut ports: Vec<u16> = addrs.into_iter().map(|a| a.port()).collect();
        ports.sort_unstable();
        ports
    }

    const RECIPIENT: SocketAddr = SocketAddr::new(
        std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)),
        1,
    );

    #[test]
    fn first_message_lists_connected_peers_but_the_recipient() {
        let mut state = PexState::new();
        let now = Instant::now();
        let message = state
            .next_message(peers([1, 2, 3]), RECIPIENT, now)
            .unwrap();
        assert_eq!(ports(message.added.iter().map(|p| p.addr)), vec![2, 3]);
        assert!(message.dropped.is_empty());
    }

    #[test]
    fn at_most_one_message_a_minute() {
        let mut state = PexState::new();
        let now = Instant::now();
        assert!(state.next_message(peers([2]), RECIPIENT, now).is_some());
        assert!(
            state
                .next_message(peers([2, 3]), RECIPIENT, now + Duration::from_secs(59))
                .is_none()
        );
        let message = state
            .next_message(peers([3]), RECIPIENT, now + PEX_INTERVAL)
            .unwrap();
        assert_eq!(ports(message.added.iter().map(|p| p.addr)), vec![3]);
        assert_eq!(ports(message.dropped), vec![2]);
    }

    #[test]
    fn nothing_new_sends_nothing_and_keeps_the_slot() {
        let mut state = PexState::new();
        let now = Instant::now();
        assert!(state.next_message(peers([2]), RECIPIENT, now).is_some());
        let later = now + PEX_INTERVAL;
        assert!(state.next_message(peers([2]), RECIPIENT, later).is_none());
        // An unsent turn does not delay the next change.
        assert!(
            state
                .next_message(peers([2, 4]), RECIPIENT, later + Duration::from_secs(1))
                .is_some()
        );
    }

    #[test]
    fn large_changes_are_spread_over_several_messages() {
        let mut state = PexState::new();
        let mut now = Instant::now();
        let many = peers(100..250);
        let first = state.next_message(many.clone(), RECIPIENT, now).unwrap();
        assert_eq!(first.added.len(), MAX_ADDED_PER_MESSAGE);
        let mut told = first.added.len();
        while let Some(message) = {
            now += PEX_INTERVAL;
            state.next_message(many.clone(), RECIPIENT, now)
        } {
            assert!(message.added.len() <= MAX_ADDED_PER_MESSAGE);
            told += message.added.len();
        }
        assert_eq!(told, 150);
        // All of them go away: dropped, 50 at a time.
        now += PEX_INTERVAL;
        let gone = state.next_message(peers([]), RECIPIENT, now).unwrap();
        assert_eq!(gone.dropped.len(), MAX_DROPPED_PER_MESSAGE);
        assert!(gone.added.is_empty());
    }

    #[test]
    fn a_peer_that_left_and_came_back_is_added_again() {
        let mut state = PexState::new();
        let now = Instant::now();
        state.next_message(peers([2]), RECIPIENT, now).unwrap();
        let gone = state
            .next_message(peers([]), RECIPIENT, now + PEX_INTERVAL)
            .unwrap();
        assert_eq!(ports(gone.dropped), vec![2]);
        let back = state
            .next_message(peers([2]), RECIPIENT, now + 2 * PEX_INTERVAL)
            .unwrap();
        assert_eq!(ports(back.added.iter().map(|p| p.addr)), vec![2]);
    }
}
