//! The delay line: what netem would do if this kernel had it. Every packet a host receives
//! is queued (NFQUEUE, see [`nfqueue`]) to a thread of this process living in the host's
//! namespace, which drops it with the configured probability or holds it and lets it through
//! after the delay.
//!
//! Jitter: the delay wanders within ± `jitter` around `delay`, along a random walk that
//! picks a new target every [`JITTER_PERIOD`] and moves there linearly. Packets are never
//! reordered (a release is never earlier than the one before), as on a real path, where
//! netem's independent per-packet jitter would reorder a TCP flow and make it look lossy.

pub mod nfqueue;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use nfqueue::{NfQueue, Verdict};

/// How often the jitter walk picks a new target.
pub const JITTER_PERIOD: Duration = Duration::from_millis(50);
/// Most packets the kernel holds for one delay line (about 400 ms at 200 Mbit/s).
const MAX_HELD: u32 = 16_384;

/// What a delay line does to a host's incoming packets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Impairment {
    pub delay: Duration,
    pub jitter: Duration,
    /// Probability that a packet is dropped.
    pub loss: f64,
}

/// What happens to one packet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    Drop,
    /// Let it through at this time (since the line started).
    ReleaseAt(Duration),
}

/// The delay, jitter and loss decisions, apart from any socket (so they can be tested).
pub struct Policy {
    imp: Impairment,
    rng: SmallRng,
    walk: JitterWalk,
    last_release: Duration,
}

impl Policy {
    pub fn new(imp: Impairment, seed: u64) -> Policy {
        let mut rng = SmallRng::seed_from_u64(seed);
        let walk = JitterWalk::new(imp.jitter, &mut rng);
        Policy {
            imp,
            rng,
            walk,
            last_release: Duration::ZERO,
        }
    }

    /// The fate of a packet that arrives at `now`.
    pub fn decide(&mut self, now: Duration) -> Decision {
        if self.imp.loss > 0.0 && self.rng.random::<f64>() < self.imp.loss {
            return Decision::Drop;
        }
        let offset = self.walk.offset(now, &mut self.rng);
        let base = self.imp.delay.as_secs_f64() + offset;
        let release = now + Duration::from_secs_f64(base.max(0.0));
        // No reordering: never before the previous packet.
        self.last_release = self.last_release.max(release);
        Decision::ReleaseAt(self.last_release)
    }
}

/// A piecewise-linear random walk in [-amp, +amp] with a new target every period.
struct JitterWalk {
    amp: f64,
    from: (Duration, f64),
    to: (Duration, f64),
}

impl JitterWalk {
    fn new(amp: Duration, rng: &mut SmallRng) -> JitterWalk {
        let amp = amp.as_secs_f64();
        let mut walk = JitterWalk {
            amp,
            from: (Duration::ZERO, 0.0),
            to: (JITTER_PERIOD, 0.0),
        };
        walk.from.1 = walk.draw(rng);
        walk.to.1 = walk.draw(rng);
        walk
    }

    fn draw(&self, rng: &mut SmallRng) -> f64 {
        if self.amp == 0.0 {
            0.0
        } else {
            rng.random_range(-self.amp..=self.amp)
        }
    }

    /// The offset (seconds) at `now`; `now` only moves forward.
    fn offset(&mut self, now: Duration, rng: &mut SmallRng) -> f64 {
        if self.amp == 0.0 {
            return 0.0;
        }
        if now >= self.to.0 + JITTER_PERIOD {
            // Idle for a while: start a new segment here.
            self.from = (now, self.to.1);
            self.to = (now + JITTER_PERIOD, self.draw(rng));
        }
        while now >= self.to.0 {
            self.from = self.to;
            self.to = (self.to.0 + JITTER_PERIOD, self.draw(rng));
        }
        let span = (self.to.0 - self.from.0).as_secs_f64();
        let u = (now.saturating_sub(self.from.0)).as_secs_f64() / span;
        self.from.1 + (self.to.1 - self.from.1) * u
    }
}

/// Real-time priority of the delay lines (SCHED_FIFO; any such priority runs before every
/// ordinary task).
const RT_PRIORITY: i32 = 10;

/// Gives the calling thread real-time priority, so packets leave on time even when the
/// machine is busy with other work (on a loaded 2-core machine an ordinary thread wakes
/// several ms late, which adds to every delay). A delay line sleeps nearly all the time, so
/// this costs other work almost nothing. Returns whether it worked (it needs root).
pub fn realtime() -> bool {
    let param = libc::sched_param {
        sched_priority: RT_PRIORITY,
    };
    // SAFETY: pid 0 is the calling thread; a valid sched_param.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0 }
}

/// What one delay line saw.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct LineStats {
    pub packets: u64,
    pub dropped: u64,
    /// Most packets held at once.
    pub max_held: usize,
}

/// A running delay line for one namespace.
pub struct DelayLine {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<anyhow::Result<LineStats>>>,
}

impl DelayLine {
    /// Starts a delay line in namespace `ns` on NFQUEUE 0; returns once it is bound (so the
    /// iptables rule can be added).
    pub fn start(ns: &str, imp: Impairment, seed: u64) -> anyhow::Result<DelayLine> {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let ns_owned = ns.to_string();
        let stop_flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("delay-{ns}"))
            .spawn(move || {
                if !realtime() {
                    tracing::warn!("delay line in {ns_owned}: no real-time priority; delays grow when the machine is busy");
                }
                let queue = crate::netns::enter(&ns_owned)
                    .and_then(|()| NfQueue::open(0, MAX_HELD).context("cannot bind NFQUEUE 0"));
                let queue = match queue {
                    Ok(q) => {
                        let _ = ready_tx.send(Ok(()));
                        q
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("{e:#}")));
                        return Err(e);
                    }
                };
                run(queue, Policy::new(imp, seed), &stop_flag)
            })
            .context("cannot start a delay line thread")?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(DelayLine {
                stop,
                thread: Some(thread),
            }),
            Ok(Err(e)) => anyhow::bail!("delay line in {ns}: {e}"),
            Err(_) => anyhow::bail!("delay line in {ns} died while starting"),
        }
    }

    /// Whether the thread ended (an error; see [`DelayLine::stop`]).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Lets every held packet through and stops.
    pub fn stop(mut self) -> anyhow::Result<LineStats> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| anyhow::anyhow!("delay line thread panicked"))?,
            None => Ok(LineStats::default()),
        }
    }
}

impl Drop for DelayLine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The loop: sleep until a packet comes or the next one is due, decide, release.
fn run(mut queue: NfQueue, mut policy: Policy, stop: &AtomicBool) -> anyhow::Result<LineStats> {
    let start = Instant::now();
    let mut held: VecDeque<(Duration, u32)> = VecDeque::new();
    let mut ids = Vec::new();
    let mut stats = LineStats::default();
    let idle = Duration::from_millis(100);
    while !stop.load(Ordering::Relaxed) {
        let now = start.elapsed();
        let wait = held
            .front()
            .map(|(t, _)| t.saturating_sub(now))
            .unwrap_or(idle)
            .min(idle);
        if !wait.is_zero() {
            queue.wait(wait)?;
        }
        ids.clear();
        queue.drain(&mut ids)?;
        let now = start.elapsed();
        for &id in &ids {
            stats.packets += 1;
            match policy.decide(now) {
                Decision::Drop => {
                    stats.dropped += 1;
                    queue.verdict(id, Verdict::Drop)?;
                }
                Decision::ReleaseAt(t) => held.push_back((t, id)),
            }
        }
        stats.max_held = stats.max_held.max(held.len());
        let now = start.elapsed();
        let mut last = None;
        while let Some(&(t, id)) = held.front() {
            if t > now {
                break;
            }
            last = Some(id);
            held.pop_front();
        }
        if let Some(id) = last {
            queue.verdict_upto(id, Verdict::Accept)?;
        }
    }
    if let Some(&(_, id)) = held.back() {
        queue.verdict_upto(id, Verdict::Accept)?;
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imp(delay_ms: u64, jitter_ms: u64, loss: f64) -> Impairment {
        Impairment {
            delay: Duration::from_millis(delay_ms),
            jitter: Duration::from_millis(jitter_ms),
            loss,
        }
    }

    #[test]
    fn without_jitter_every_packet_waits_exactly_the_delay() {
        let mut p = Policy::new(imp(40, 0, 0.0), 1);
        for ms in [0, 3, 100, 1000] {
            let now = Duration::from_millis(ms);
            assert_eq!(
                p.decide(now),
                Decision::ReleaseAt(now + Duration::from_millis(40))
            );
        }
    }

    #[test]
    fn jitter_stays_within_bounds_and_never_reorders() {
        let mut p = Policy::new(imp(40, 10, 0.0), 7);
        let mut last = Duration::ZERO;
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        let mut sum = 0.0;
        let n = 200_000;
        for i in 0..n {
            // One packet every 0.1 ms for 20 s.
            let now = Duration::from_micros(i * 100);
            let Decision::ReleaseAt(t) = p.decide(now) else {
                panic!("no loss configured")
            };
            assert!(t >= last, "reordered at packet {i}");
            last = t;
            let d = (t - now).as_secs_f64() * 1e3;
            lo = lo.min(d);
            hi = hi.max(d);
            sum += d;
        }
        assert!(
            lo >= 30.0 - 1e-6 && hi <= 50.0 + 1e-6,
            "delay in [{lo}, {hi}] ms"
        );
        assert!(
            lo < 33.0 && hi > 47.0,
            "the walk covers the range: [{lo}, {hi}] ms"
        );
        let mean = sum / n as f64;
        assert!((mean - 40.0).abs() < 1.5, "mean delay {mean} ms");
    }

    #[test]
    fn the_loss_rate_is_what_was_asked_for() {
        let mut p = Policy::new(imp(0, 0, 0.01), 3);
        let n = 200_000;
        let dropped = (0..n)
            .filter(|&i| p.decide(Duration::from_micros(i)) == Decision::Drop)
            .count();
        let rate = dropped as f64 / n as f64;
        assert!((rate - 0.01).abs() < 0.002, "loss {rate}");
    }

    #[test]
    fn after_a_long_idle_spell_the_walk_restarts_without_spinning() {
        let mut p = Policy::new(imp(20, 5, 0.0), 9);
        p.decide(Duration::ZERO);
        let far = Duration::from_secs(86_400 * 365);
        let Decision::ReleaseAt(t) = p.decide(far) else {
            panic!()
        };
        let d = (t - far).as_secs_f64() * 1e3;
        assert!((15.0..=25.0).contains(&d));
    }
}
