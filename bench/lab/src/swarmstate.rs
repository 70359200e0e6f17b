//! Piece availability computed from the observer's views of the peers.

use crate::observer::PeerView;
use crate::scenario::Role;

/// Availability at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Availability {
    /// Fewest copies of any piece among the running peers.
    pub min_copies: u32,
    /// min_copies + the share of pieces with more copies than that.
    pub distributed_copies: f64,
    pub mean_copies: f64,
    /// Pieces at least one running leecher holds.
    pub leecher_union: u32,
    /// Σ pieces the leechers hold (running or not: data on disk) ÷ (leechers × pieces).
    pub done_fraction: f64,
    /// Peers connected to the observer.
    pub running: u32,
}

/// Availability among `peers` (connected ones count as running), `roles` in the same order.
pub fn availability(peers: &[PeerView], roles: &[Role], pieces: u32) -> Availability {
    let mut copies = vec![0u32; pieces as usize];
    let mut leecher_has = vec![false; pieces as usize];
    let (mut held, mut leechers, mut running) = (0u64, 0u64, 0u32);
    for (p, role) in peers.iter().zip(roles) {
        if *role == Role::Leech {
            leechers += 1;
            held += u64::from(p.count);
        }
        if !p.connected {
            continue;
        }
        running += 1;
        for (i, &h) in p.have.iter().enumerate().take(pieces as usize) {
            if h {
                copies[i] += 1;
                if *role == Role::Leech {
                    leecher_has[i] = true;
                }
            }
        }
    }
    let min = copies.iter().copied().min().unwrap_or(0);
    let above = copies.iter().filter(|&&c| c > min).count();
    let n = pieces.max(1) as f64;
    Availability {
        min_copies: min,
        distributed_copies: min as f64 + above as f64 / n,
        mean_copies: copies.iter().map(|&c| c as f64).sum::<f64>() / n,
        leecher_union: leecher_has.iter().filter(|&&h| h).count() as u32,
        done_fraction: if leechers == 0 {
            0.0
        } else {
            held as f64 / (leechers as f64 * n)
        },
        running,
    }
}

/// Pieces held by at least one of `peers`.
pub fn union(peers: &[&PeerView]) -> u32 {
    let Some(first) = peers.first() else { return 0 };
    (0..first.have.len())
        .filter(|&i| {
            peers
                .iter()
                .any(|p| p.have.get(i).copied().unwrap_or(false))
        })
        .count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(connected: bool, have: &[bool]) -> PeerView {
        PeerView {
            connected,
            have: have.to_vec(),
            count: have.iter().filter(|&&h| h).count() as u32,
            complete_at: None,
            connections: 1,
        }
    }

    #[test]
    fn copies_count_only_running_peers_and_the_union_only_leechers() {
        let peers = [
            peer(true, &[true, true, true, true]),    // seeder
            peer(true, &[true, false, false, false]), // leecher
            peer(true, &[true, true, false, false]),  // leecher
            peer(false, &[true, true, true, false]),  // leecher, down
        ];
        let roles = [Role::Seed, Role::Leech, Role::Leech, Role::Leech];
        let a = availability(&peers, &roles, 4);
        assert_eq!(a.running, 3);
        assert_eq!(a.min_copies, 1);
        assert!(
            (a.distributed_copies - 1.5).abs() < 1e-9,
            "pieces 0 and 1 have more than one copy"
        );
        assert!((a.mean_copies - 7.0 / 4.0).abs() < 1e-9);
        assert_eq!(a.leecher_union, 2);
        assert!((a.done_fraction - 6.0 / 12.0).abs() < 1e-9);
        let leechers: Vec<&PeerView> = peers[1..].iter().collect();
        assert_eq!(union(&leechers), 3);
    }
}
