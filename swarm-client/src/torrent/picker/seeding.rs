//! Initial seeding: while we are the only holder of some pieces, each piece leaves us once.
//!
//! This is what BEP 16 (super-seeding) aims at, done without hiding pieces: a seed whose
//! leechers lack pieces nobody else holds serves a piece to the first peer that asks for it
//! (the piece is *granted* to that peer) and declines it to the others, explicitly with the
//! fast extension's `reject`, adding a `suggest` for a piece nobody holds yet. Pieces the
//! swarm already holds are declined too: the leechers trade them among themselves, and the
//! seed's uplink, usually the scarcest link of a young swarm, carries only new pieces.
//!
//! The end is the exception: once every piece nobody holds is granted, a piece on its way
//! is served to one second peer that asks, rather than leave the uplink idle while the last
//! pieces arrive through the first peers' queues: at once while the session has almost no
//! upload queued (on loopback the leechers' CPU, not the seed's uplink, is the limit), else
//! once the piece has been on its way for [`STUCK_AFTER`] (a thin uplink's shares are slow).
//! Pieces the swarm holds are still refused: serving those too near the end made the seed
//! of sixteen libtorrent leechers on loopback send up to 2.8 copies instead of 2.2.
//!
//! A lone leecher is never starved: a piece nobody holds and nobody was granted is always
//! served, a grant lapses when its peer leaves, when we choke it, or after [`GRANT_TTL`]
//! ([`SUGGESTION_TTL`] for a suggestion not asked for), and the policy ends as
//! soon as every piece is held by some connected peer (the seed then serves the pieces that
//! are still rarest, [`super::spread_seeding`], through the few upload slots it keeps then:
//! `torrent::SPREAD_SEED_SLOTS`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use rand::RngExt;
use rand::rngs::SmallRng;

use crate::peer::{PeerKey, Upload, UploadAsk};
use crate::wire::Bitfield;

/// How long a piece stays granted to the peer that asked for it first, counted from its
/// latest request for the piece. Long enough for a request queued behind a deep pipeline at
/// a thin uplink (2 MiB at 1 Mbit/s takes 17 s); a peer that leaves or that we choke loses
/// its grants at once (its queued requests are dropped).
pub const GRANT_TTL: Duration = Duration::from_secs(30);
/// How long a piece we suggested stays set aside for the peer until it asks for it (after
/// a reject it picks again within a round trip).
pub const SUGGESTION_TTL: Duration = Duration::from_secs(3);

/// How long a granted piece may be on its way before a second peer that asks for it is
/// served too, once no piece is left to hand out: at the end of initial seeding the last
/// pieces sit in the queues of the peers they were granted to, each a thin share of the
/// uplink (a 4 Mbit/s seeder's 20 slots get 0.2 Mbit/s each: a 64 KiB piece takes 2.6 s).
pub const STUCK_AFTER: Duration = Duration::from_secs(4);

/// Who was given a piece first, and when it last asked for it.
#[derive(Debug, Clone, Copy)]
struct Grant {
    peer: PeerKey,
    at: Instant,
    /// The peer asked for it (else it was only suggested so far).
    asked: bool,
    /// The one other peer served the piece after it was stuck (see [`STUCK_AFTER`]).
    second: Option<PeerKey>,
}

impl Grant {
    /// Still set aside for its peer `now`?
    fn live(&self, now: Instant) -> bool {
        now < self.lapses()
    }

    /// When it stops being set aside for its peer.
    fn lapses(&self) -> Instant {
        let ttl = if self.asked {
            GRANT_TTL
        } else {
            SUGGESTION_TTL
        };
        self.at + ttl
    }

    /// May a second peer be served it? Its peer asked for it, nobody else was served it yet,
    /// and it has been on its way for [`STUCK_AFTER`] or the uplink would idle.
    fn wants_second_copy(&self, now: Instant, uplink_idle: bool) -> bool {
        let waited = now.saturating_duration_since(self.at) >= STUCK_AFTER;
        self.asked && self.second.is_none() && (waited || uplink_idle)
    }
}

/// A piece nobody holds (`availability` 0) and nobody was granted, or whose grant lapsed:
/// ours to hand out.
fn unclaimed(grant: &Option<Grant>, availability: Option<&u32>, now: Instant) -> bool {
    availability == Some(&0) && grant.is_none_or(|g| !g.live(now))
}

/// The grants of a seed's pieces (see the module documentation).
///
/// Deciding a request costs the same whatever the piece count: the pieces that may be
/// unclaimed are kept in a pool, checked lazily, and a grant's lapse is found through a heap
/// of lapse times. Scanning every grant per refusal instead took 36 % of a seed's CPU time
/// with 16,384 pieces and four libtorrent leechers, all of it under the torrent's picker
/// lock, which every connection's requests take.
#[derive(Debug)]
pub struct InitialSeeding {
    grants: Vec<Option<Grant>>,
    /// Every piece that may be unclaimed, and maybe some that no longer are (a piece leaves
    /// when it is found claimed or held; it comes back when its grant lapses or is dropped,
    /// or when its last holder leaves).
    pool: Vec<u32>,
    /// Whether a piece is in `pool`.
    pooled: Vec<bool>,
    /// When grants may lapse, earliest first (a grant asked for again lapses later: its
    /// entry is then put back with the new time).
    lapses: BinaryHeap<Reverse<(Instant, u32)>>,
    /// The piece suggested to each peer and not asked for yet.
    suggested: HashMap<PeerKey, u32>,
}

impl InitialSeeding {
    pub fn new(piece_count: u32) -> Self {
        Self {
            grants: vec![None; piece_count as usize],
            pool: (0..piece_count).collect(),
            pooled: vec![true; piece_count as usize],
            lapses: BinaryHeap::new(),
            suggested: HashMap::new(),
        }
    }

    /// The last connected peer holding piece `index` left: it may be ours to hand out again.
    pub fn unheld(&mut self, index: u32) {
        self.pool_piece(index);
    }

    fn pool_piece(&mut self, index: u32) {
        if let Some(pooled) = self.pooled.get_mut(index as usize)
            && !*pooled
        {
            *pooled = true;
            self.pool.push(index);
        }
    }

    /// Takes the pool's entry at `position` out of it.
    fn unpool_at(&mut self, position: usize) {
        let index = self.pool.swap_remove(position);
        if let Some(pooled) = self.pooled.get_mut(index as usize) {
            *pooled = false;
        }
    }

    /// Returns the pieces whose grants lapsed by `now` to the pool.
    fn lapse_grants(&mut self, now: Instant) {
        while let Some(&Reverse((at, index))) = self.lapses.peek() {
            if at > now {
                return;
            }
            self.lapses.pop();
            match self.grants.get(index as usize).copied().flatten() {
                Some(g) if g.live(now) => self.lapses.push(Reverse((g.lapses(), index))),
                _ => self.pool_piece(index),
            }
        }
    }

    /// Sets piece `index` aside for `grant.peer`, minding when that lapses unless the same
    /// peer already held it (its entry in `lapses` is then still there).
    fn set_grant(&mut self, index: u32, grant: Grant, now: Instant) {
        let Some(slot) = self.grants.get_mut(index as usize) else {
            return;
        };
        let renewed = slot.is_some_and(|g| g.peer == grant.peer && g.live(now));
        *slot = Some(grant);
        if !renewed {
            self.lapses.push(Reverse((grant.lapses(), index)));
        }
    }

    /// Decides a request of `peer`, given how many connected peers hold each piece
    /// (`availability`), while some piece is held by nobody but us. A refusal suggests
    /// another piece when given an `rng` to choose it.
    pub fn decide(
        &mut self,
        peer: PeerKey,
        ask: UploadAsk<'_>,
        availability: &[u32],
        now: Instant,
        rng: Option<&mut SmallRng>,
    ) -> Upload {
        self.lapse_grants(now);
        let UploadAsk { index, pieces, .. } = ask;
        let held_elsewhere = availability.get(index as usize).is_some_and(|a| *a > 0);
        let Some(grant) = self.grants.get(index as usize).copied() else {
            return Upload::Serve;
        };
        let (serve, second) = match grant.filter(|g| g.live(now)) {
            // It started the piece with us: let it finish.
            Some(g) if g.peer == peer => (true, g.second),
            Some(g) if g.second == Some(peer) => return Upload::Serve,
            // In flight to another peer, nobody holding it yet and no piece left to hand out:
            // one second copy rather than an idle uplink while the last pieces trickle
            // through the queues of the peers they went to, at once when almost nothing is
            // queued to send, else once the piece has been on its way for a while (the lab's
            // thin seeder idled 18 s before its last piece arrived; four leechers on loopback
            // once waited 4 s for it).
            Some(g) => {
                let last_pieces = !held_elsewhere && !self.any_unclaimed(availability, now);
                // Only suggested to another peer, which has not asked for it, and nothing
                // else is left to hand out: a suggestion is a hint, not a claim. Held for
                // its peer (a libtorrent leecher may never ask for a suggestion), it would
                // keep every other peer waiting for it with the seed idle until
                // SUGGESTION_TTL; most likely what made one round in nine of four
                // libtorrent leechers on loopback take 5.5 s instead of 1.7.
                if last_pieces && !g.asked {
                    (true, None)
                } else if last_pieces
                    && g.wants_second_copy(now, ask.uplink_idle)
                    && let Some(Some(slot)) = self.grants.get_mut(index as usize)
                {
                    slot.second = Some(peer);
                    return Upload::Serve;
                } else {
                    (false, None)
                }
            }
            None => (!held_elsewhere, None),
        };
        if !serve {
            return self.decline(peer, pieces, availability, now, rng);
        }
        let grant = Grant {
            peer,
            at: now,
            asked: true,
            second,
        };
        self.set_grant(index, grant, now);
        Upload::Serve
    }

    /// A refusal, with a suggestion when given an `rng` to choose it.
    fn decline(
        &mut self,
        peer: PeerKey,
        peer_pieces: &Bitfield,
        availability: &[u32],
        now: Instant,
        rng: Option<&mut SmallRng>,
    ) -> Upload {
        Upload::Decline {
            suggest: rng.and_then(|rng| self.suggest(peer, peer_pieces, availability, now, rng)),
        }
    }

    /// Is piece `index` held by nobody and granted to nobody, ours to hand out?
    fn is_unclaimed(&self, index: u32, availability: &[u32], now: Instant) -> bool {
        self.grants
            .get(index as usize)
            .is_some_and(|g| unclaimed(g, availability.get(index as usize), now))
    }

    /// Is some piece held by nobody and granted to nobody, still ours to hand out? Drops
    /// the pool's last entries while they are not.
    fn any_unclaimed(&mut self, availability: &[u32], now: Instant) -> bool {
        while let Some(&index) = self.pool.last() {
            if self.is_unclaimed(index, availability, now) {
                return true;
            }
            self.unpool_at(self.pool.len() - 1);
        }
        false
    }

    /// Grants `peer` a piece it lacks that nobody holds and nobody was granted, chosen at
    /// random (so peers told at once are told of different pieces). A peer holds one such
    /// suggestion at a time: until it asks for it, the same piece is suggested again, so a
    /// burst of rejects does not hoard pieces for one peer.
    fn suggest(
        &mut self,
        peer: PeerKey,
        peer_pieces: &Bitfield,
        availability: &[u32],
        now: Instant,
        rng: &mut SmallRng,
    ) -> Option<u32> {
        if let Some(&index) = self.suggested.get(&peer) {
            let pending = availability.get(index as usize) == Some(&0)
                && self
                    .grants
                    .get(index as usize)
                    .copied()
                    .flatten()
                    .is_some_and(|g| g.peer == peer && !g.asked && g.live(now));
            if pending {
                return Some(index);
            }
            self.suggested.remove(&peer);
        }
        let index = self.draw_unclaimed(peer_pieces, availability, now, rng)?;
        let grant = Grant {
            peer,
            at: now,
            asked: false,
            second: None,
        };
        self.set_grant(index, grant, now);
        self.suggested.insert(peer, index);
        Some(index)
    }

    /// Takes out of the pool, at random, a piece that is unclaimed and that a peer holding
    /// `peer_pieces` lacks; drops the entries it finds claimed or held on the way.
    fn draw_unclaimed(
        &mut self,
        peer_pieces: &Bitfield,
        availability: &[u32],
        now: Instant,
        rng: &mut SmallRng,
    ) -> Option<u32> {
        // A piece the peer holds is held, so not unclaimed: this bound only guards against
        // an availability that does not count the peer.
        let mut tries = 64;
        while !self.pool.is_empty() && tries > 0 {
            let position = rng.random_range(0..self.pool.len());
            let index = *self.pool.get(position)?;
            if !self.is_unclaimed(index, availability, now) {
                self.unpool_at(position);
            } else if peer_pieces.get(index) {
                tries -= 1;
            } else {
                self.unpool_at(position);
                return Some(index);
            }
        }
        None
    }

    /// `peer` left or was choked: the pieces granted to it may go to others at once.
    pub fn forget_peer(&mut self, peer: PeerKey) {
        self.suggested.remove(&peer);
        for index in 0..self.grants.len() {
            let Some(slot) = self.grants.get_mut(index) else {
                continue;
            };
            if slot.is_some_and(|g| g.peer == peer) {
                *slot = None;
                self.pool_piece(index as u32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    const PIECES: u32 = 8;

    struct Seed {
        grants: InitialSeeding,
        availability: Vec<u32>,
        rng: SmallRng,
        now: Instant,
        uplink_idle: bool,
    }

    impl Seed {
        fn new() -> Self {
            Self {
                grants: InitialSeeding::new(PIECES),
                availability: vec![0; PIECES as usize],
                rng: SmallRng::seed_from_u64(1),
                now: Instant::now(),
                uplink_idle: false,
            }
        }

        fn ask(&mut self, peer: PeerKey, index: u32) -> Upload {
            self.ask_holding(peer, index, &Bitfield::new(PIECES))
        }

        fn ask_holding(&mut self, peer: PeerKey, index: u32, pieces: &Bitfield) -> Upload {
            let ask = UploadAsk {
                index,
                pieces,
                may_suggest: true,
                uplink_idle: self.uplink_idle,
            };
            let (availability, now) = (&self.availability, self.now);
            self.grants
                .decide(peer, ask, availability, now, Some(&mut self.rng))
        }
    }

    #[test]
    fn a_piece_in_flight_to_one_peer_is_not_sent_to_another() {
        let mut seed = Seed::new();
        assert_eq!(seed.ask(1, 3), Upload::Serve);
        assert_eq!(seed.ask(1, 3), Upload::Serve, "its next block too");
        let Upload::Decline { suggest: Some(s) } = seed.ask(2, 3) else {
            panic!("the second asker is declined with a suggestion");
        };
        assert_ne!(s, 3);
        assert_eq!(
            seed.ask(2, s),
            Upload::Serve,
            "the suggested piece is served"
        );
        assert!(matches!(seed.ask(1, s), Upload::Decline { .. }));
    }

    #[test]
    fn a_piece_the_swarm_holds_is_left_to_the_swarm() {
        let mut seed = Seed::new();
        seed.availability[5] = 1;
        assert!(matches!(
            seed.ask(1, 5),
            Upload::Decline { suggest: Some(_) }
        ));
    }

    #[test]
    fn a_lone_leecher_gets_every_piece() {
        let mut seed = Seed::new();
        for index in 0..PIECES {
            assert_eq!(seed.ask(1, index), Upload::Serve, "piece {index}");
        }
    }

    #[test]
    fn a_grant_lapses_when_its_peer_leaves_or_stays_silent() {
        let mut seed = Seed::new();
        assert_eq!(seed.ask(1, 0), Upload::Serve);
        assert_eq!(seed.ask(1, 1), Upload::Serve);
        seed.grants.forget_peer(1);
        assert_eq!(seed.ask(2, 0), Upload::Serve, "peer 1 left");
        seed.now += GRANT_TTL;
        assert_eq!(seed.ask(3, 0), Upload::Serve, "peer 2 never finished it");
    }

    #[test]
    fn one_suggestion_at_a_time_so_a_burst_of_rejects_hoards_nothing() {
        let mut seed = Seed::new();
        assert_eq!(seed.ask(1, 0), Upload::Serve);
        let mut holding = Bitfield::new(PIECES);
        holding.set(7).unwrap();
        let first = seed.ask_holding(2, 0, &holding);
        let Upload::Decline { suggest: Some(s) } = first else {
            panic!("{first:?}");
        };
        assert_ne!(s, 7, "never a piece it holds");
        for _ in 0..5 {
            assert_eq!(seed.ask_holding(2, 0, &holding), first);
        }
        // Peer 3 is told of another piece.
        let Upload::Decline { suggest: Some(t) } = seed.ask(3, 0) else {
            panic!();
        };
        assert_ne!(t, s);
    }

    #[test]
    fn a_choked_peer_is_declined_without_a_suggestion_it_could_not_use() {
        let mut seed = Seed::new();
        assert_eq!(seed.ask(1, 0), Upload::Serve);
        let none = Bitfield::new(PIECES);
        let choked = UploadAsk {
            index: 0,
            pieces: &none,
            may_suggest: false,
            uplink_idle: false,
        };
        let verdict = seed
            .grants
            .decide(2, choked, &seed.availability, seed.now, None);
        assert_eq!(verdict, Upload::Decline { suggest: None });
        assert_eq!(
            seed.ask(3, 1),
            Upload::Serve,
            "nothing was set aside for it"
        );
    }

    #[test]
    fn a_suggestion_not_taken_up_soon_is_freed() {
        let mut seed = Seed::new();
        assert_eq!(seed.ask(1, 0), Upload::Serve);
        let Upload::Decline { suggest: Some(s) } = seed.ask(2, 0) else {
            panic!();
        };
        assert!(matches!(seed.ask(3, s), Upload::Decline { .. }));
        seed.now += SUGGESTION_TTL;
        assert_eq!(seed.ask(3, s), Upload::Serve);
    }

    #[test]
    fn the_last_piece_suggested_to_a_silent_peer_goes_to_the_next_asker() {
        let mut seed = Seed::new();
        for index in 0..PIECES - 1 {
            assert_eq!(seed.ask(1, index), Upload::Serve);
        }
        assert_eq!(seed.ask(2, 0), Upload::Decline { suggest: Some(7) });
        assert_eq!(
            seed.ask(3, 7),
            Upload::Serve,
            "nothing else is left to hand out, and peer 2 has not asked for it"
        );
        assert!(
            matches!(seed.ask(2, 7), Upload::Decline { .. }),
            "now it is on its way to peer 3"
        );
    }

    /// The pool of pieces to hand out forgets a piece it finds held; the piece must come
    /// back when its last holder leaves, or nobody would ever be given it again.
    #[test]
    fn a_piece_whose_last_holder_left_is_handed_out_again() {
        let mut seed = Seed::new();
        for index in (0..PIECES).filter(|&i| i != 3) {
            assert_eq!(seed.ask(1, index), Upload::Serve);
        }
        seed.availability[3] = 1;
        assert_eq!(
            seed.ask(2, 0),
            Upload::Decline { suggest: None },
            "piece 3 is held, the rest on their way to peer 1"
        );
        seed.availability[3] = 0;
        seed.grants.unheld(3);
        assert_eq!(seed.ask(2, 0), Upload::Decline { suggest: Some(3) });
    }

    /// Four libtorrent leechers on loopback waited, with the seed idle, for its last pieces
    /// on their way to other peers: once for 4 s, until [`STUCK_AFTER`].
    #[test]
    fn with_nothing_left_to_hand_out_an_idle_uplink_sends_a_second_copy_at_once() {
        let mut seed = Seed::new();
        for index in 0..PIECES - 1 {
            assert_eq!(seed.ask(1, index), Upload::Serve);
        }
        seed.availability[0] = 1;
        seed.uplink_idle = true;
        assert!(
            matches!(seed.ask(2, 1), Upload::Decline { suggest: Some(7) }),
            "piece 7 is still to hand out: that goes first, idle or not"
        );
        assert_eq!(seed.ask(2, 7), Upload::Serve);
        seed.uplink_idle = false;
        assert_eq!(
            seed.ask(3, 1),
            Upload::Decline { suggest: None },
            "a busy uplink waits before a second copy"
        );
        seed.uplink_idle = true;
        assert_eq!(seed.ask(3, 1), Upload::Serve, "on its way to peer 1");
        assert!(
            matches!(seed.ask(4, 1), Upload::Decline { .. }),
            "one second copy, not a third"
        );
        assert!(
            matches!(seed.ask(3, 0), Upload::Decline { .. }),
            "a piece the swarm holds stays with the swarm"
        );
    }

    /// The lab's thin seeder idled 18 s at the end while its last pieces trickled through
    /// the slow queues of the peers they were granted to.
    #[test]
    fn with_every_piece_handed_out_a_piece_in_flight_goes_to_a_second_peer_too() {
        let mut seed = Seed::new();
        for index in 0..PIECES - 1 {
            assert_eq!(seed.ask(1, index), Upload::Serve);
        }
        assert!(
            matches!(seed.ask(2, 0), Upload::Decline { suggest: Some(7) }),
            "piece 7 is still free: it goes to peer 2 instead"
        );
        assert_eq!(seed.ask(2, 7), Upload::Serve);
        assert_eq!(
            seed.ask(2, 0),
            Upload::Decline { suggest: None },
            "piece 0 is on its way to peer 1, and no piece is left to suggest"
        );
        seed.now += STUCK_AFTER;
        assert_eq!(
            seed.ask(2, 0),
            Upload::Serve,
            "stuck, and nothing is left to hand out"
        );
        assert_eq!(seed.ask(2, 0), Upload::Serve, "its next block too");
        assert_eq!(
            seed.ask(1, 0),
            Upload::Serve,
            "the first peer still gets its piece"
        );
        assert!(
            matches!(seed.ask(3, 0), Upload::Decline { .. }),
            "one second copy, not a third"
        );
        seed.availability[5] = 1;
        assert!(
            matches!(seed.ask(3, 5), Upload::Decline { .. }),
            "a piece the swarm holds stays with the swarm"
        );
    }
}
