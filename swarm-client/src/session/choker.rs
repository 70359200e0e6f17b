//! Who gets unchoked, over every torrent of the session: tit-for-tat with an optimistic
//! unchoke.
//!
//! Every round (10 s) the interested peers that gave us the most (while downloading) or that
//! take our data fastest (while seeding) get the regular upload slots; one more interested
//! peer, rotated every third round (30 s), gets an optimistic slot so newcomers can prove
//! themselves. Snubbed peers (that sent nothing for a long time) lose their regular slot.
//!
//! A seeding slot rotates: a peer that held one for [`SEED_TURN_ROUNDS`] rounds in a row goes
//! behind the interested peers still waiting, so every leecher is served over time (and the
//! leechers, each holding different pieces, trade among themselves). Once the connected
//! peers of a seeded torrent hold every piece between them, that torrent keeps
//! [`SPREAD_SEED_SLOTS`] regular slots, and the choker runs a round at once when it comes to
//! that (`Context::rechoke`).

use std::collections::{HashMap, HashSet};

use rand::RngExt;

use crate::events::TorrentId;
use crate::peer::PeerKey;
use crate::torrent::{ChokeCandidate as Candidate, SPREAD_SEED_SLOTS};

/// Regular upload slots by default (plus one optimistic), over the whole session: the global
/// default of qBittorrent (libtorrent's is 8, Transmission's 14 per torrent). In the lab's
/// flash crowd (20 leechers at 10 Mbit/s up, 80 ms apart) the leechers' uplinks were used
/// 90 % of the time with 8 slots, 93 % with 14 and 96 % with 20, and every leecher was done
/// after 57.8, 56.8 and 55.1 s: an unchoked peer does not always have a request out with us
/// (it asks whoever has the pieces it picked), so more slots keep an uplink busy. With 16
/// leechers on loopback (`bench/seed.sh`) a seeder with 16 slots also finished sooner than
/// with 8 and uploaded less: initial seeding spreads distinct pieces to every leecher at
/// once and they trade them.
pub const UPLOAD_SLOTS: usize = 20;

/// How much more a choked peer must give us than one we unchoke to take its slot (a quarter
/// more). A slot that changes hands costs the new peer its ramp (TCP slow start, a request
/// pipeline to fill, across a round trip of 80 ms in the lab) and the old one its requests
/// in flight; without this, peers of about equal rates traded slots every round and the
/// lab's flash crowd showed the leechers' upload dip at each 10 s round.
const STAY_BONUS: f64 = 1.25;
/// Rounds an optimistic unchoke lasts.
const OPTIMISTIC_ROUNDS: u32 = 3;
/// Rounds in a row a peer keeps a seeding slot before waiting peers go first.
pub const SEED_TURN_ROUNDS: u32 = 3;

/// The choking algorithm's state across rounds.
#[derive(Debug, Default)]
pub struct Choker {
    optimistic: Option<PeerKey>,
    round: u32,
    /// Rounds in a row each unchoked peer has held its slot.
    held: HashMap<PeerKey, u32>,
}

impl Choker {
    /// A choker with no optimistic unchoke chosen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs one round over the peers of every torrent and returns the peers to unchoke
    /// (every other peer is choked): the `slots` best, plus one optimistic. A peer of a
    /// torrent we seed is ranked by how fast it takes our data, others by what they give us.
    pub fn round(&mut self, peers: &[Candidate], slots: usize) -> HashSet<PeerKey> {
        self.round = self.round.wrapping_add(1);
        let mut ranked: Vec<&Candidate> = peers
            .iter()
            .filter(|c| c.interested && (c.seeding || !c.snubbed))
            .collect();
        let rate = |c: &Candidate| {
            if c.seeding {
                c.upload_rate
            } else if c.unchoked {
                c.download_rate * STAY_BONUS
            } else {
                c.download_rate
            }
        };
        let turn_over = |c: &Candidate| {
            c.seeding && self.held.get(&c.key).copied().unwrap_or(0) >= SEED_TURN_ROUNDS
        };
        ranked.sort_by(|a, b| {
            turn_over(a)
                .cmp(&turn_over(b))
                .then_with(|| rate(b).total_cmp(&rate(a)))
        });
        let mut unchoked = regular_slots(&ranked, slots);

        let still_there = self
            .optimistic
            .is_some_and(|k| peers.iter().any(|c| c.key == k && c.interested));
        if !still_there || self.round.is_multiple_of(OPTIMISTIC_ROUNDS) {
            self.optimistic = None;
            let choked: Vec<PeerKey> = peers
                .iter()
                .filter(|c| c.interested && !unchoked.contains(&c.key))
                .map(|c| c.key)
                .collect();
            if !choked.is_empty() {
                let pick = rand::rng().random_range(0..choked.len());
                self.optimistic = choked.get(pick).copied();
            }
        }
        if let Some(k) = self.optimistic {
            unchoked.insert(k);
        }
        self.held.retain(|k, _| unchoked.contains(k));
        for k in &unchoked {
            *self.held.entry(*k).or_insert(0) += 1;
        }
        unchoked
    }
}

/// The peers that get the `slots` regular slots: the first of `ranked`, skipping a
/// spread seed's peers beyond its [`SPREAD_SEED_SLOTS`].
fn regular_slots(ranked: &[&Candidate], slots: usize) -> HashSet<PeerKey> {
    let mut unchoked = HashSet::with_capacity(slots);
    let mut spread_slots: HashMap<TorrentId, usize> = HashMap::new();
    for c in ranked {
        if unchoked.len() == slots {
            break;
        }
        if c.spread {
            let taken = spread_slots.entry(c.torrent).or_default();
            if *taken == SPREAD_SEED_SLOTS {
                continue;
            }
            *taken += 1;
        }
        unchoked.insert(c.key);
    }
    unchoked
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regular slots in these tests (fewer than the peers of most of them).
    const SLOTS: usize = 4;

    fn peer(key: PeerKey, interested: bool, down: f64) -> Candidate {
        Candidate {
            key,
            interested,
            download_rate: down,
            upload_rate: 0.0,
            torrent: TorrentId(1),
            snubbed: false,
            seeding: false,
            spread: false,
            unchoked: false,
        }
    }

    /// Slots that changed hands between peers of about equal rates cost both a ramp.
    #[test]
    fn an_unchoked_peer_keeps_its_slot_unless_another_gives_clearly_more() {
        let mut peers: Vec<Candidate> = (0..4)
            .map(|k| Candidate {
                unchoked: true,
                ..peer(k, true, 100.0)
            })
            .collect();
        peers.push(peer(10, true, 120.0));
        peers.push(peer(11, true, 0.0));
        let mut choker = Choker::new();
        let unchoked = choker.round(&peers, SLOTS);
        assert!((0..4).all(|k| unchoked.contains(&k)), "{unchoked:?}");
        // More than a quarter above the slowest holder's rate: it takes that one's slot.
        peers[0].download_rate = 99.0;
        peers[4].download_rate = 130.0;
        let unchoked = choker.round(&peers, SLOTS);
        assert!(
            [10, 1, 2, 3].iter().all(|k| unchoked.contains(k)),
            "{unchoked:?}"
        );
    }

    #[test]
    fn fastest_reciprocating_peers_win_plus_one_optimistic() {
        let peers: Vec<Candidate> = (0..10).map(|k| peer(k, true, k as f64)).collect();
        let mut choker = Choker::new();
        let unchoked = choker.round(&peers, SLOTS);
        assert_eq!(unchoked.len(), SLOTS + 1);
        for k in 6..10 {
            assert!(unchoked.contains(&k));
        }
    }

    #[test]
    fn uninterested_and_snubbed_peers_stay_choked() {
        let mut peers = vec![peer(1, false, 100.0), peer(2, true, 5.0)];
        peers.push(Candidate {
            snubbed: true,
            ..peer(3, true, 50.0)
        });
        let mut choker = Choker::new();
        let unchoked = choker.round(&peers, SLOTS);
        assert!(!unchoked.contains(&1));
        assert!(unchoked.contains(&2));
        // The snubbed peer may only ever get the optimistic slot.
        assert!(unchoked.len() <= 2);
    }

    #[test]
    fn seeding_slots_rotate_so_every_leecher_is_served() {
        // Eight leechers of a torrent we seed, the first four much faster takers.
        let peers: Vec<Candidate> = (0..8)
            .map(|k| Candidate {
                seeding: true,
                upload_rate: if k < 4 { 1000.0 } else { 10.0 },
                ..peer(k, true, 0.0)
            })
            .collect();
        let mut choker = Choker::new();
        let mut served = HashSet::new();
        for _ in 0..2 * SEED_TURN_ROUNDS + 2 {
            served.extend(choker.round(&peers, SLOTS));
        }
        assert_eq!(served.len(), 8, "every leecher had a turn: {served:?}");
    }

    /// Without the cap a spread seed's leechers kept every slot and the seed sent 2.2
    /// copies of the payload to sixteen of them, where trading among themselves sufficed.
    #[test]
    fn a_spread_seed_keeps_four_regular_slots_and_other_torrents_get_the_rest() {
        let seeded = |k: PeerKey| Candidate {
            seeding: true,
            spread: true,
            upload_rate: 1000.0 + k as f64,
            ..peer(k, true, 0.0)
        };
        let downloading = |k: PeerKey| Candidate {
            torrent: TorrentId(2),
            ..peer(k, true, 10.0)
        };
        let mut peers: Vec<Candidate> = (0..10).map(seeded).collect();
        peers.extend((10..16).map(downloading));
        let mut choker = Choker::new();
        let unchoked = choker.round(&peers, 20);
        let of_seed = unchoked.iter().filter(|k| **k < 10).count();
        assert!(
            (SPREAD_SEED_SLOTS..=SPREAD_SEED_SLOTS + 1).contains(&of_seed),
            "four regular slots, maybe the optimistic one: {unchoked:?}"
        );
        assert!((6..10).all(|k| unchoked.contains(&k)), "the fastest takers");
        assert!((10..16).all(|k| unchoked.contains(&k)), "{unchoked:?}");
    }

    #[test]
    fn few_interested_peers_are_all_unchoked() {
        let peers: Vec<Candidate> = (0..3).map(|k| peer(k, true, 0.0)).collect();
        let unchoked = Choker::new().round(&peers, SLOTS);
        assert_eq!(unchoked.len(), 3);
    }
}
