//! From t = 0 on: leechers start when due, churn kills and restarts them, seeders leave when
//! their condition holds, completions are noted and availability recorded, until every
//! leecher holds verified data or the scenario's timeout passes.

use std::time::{Duration, Instant};

use super::Session;
use crate::churn;
use crate::clients::{self, Running};
use crate::observer::PeerView;
use crate::scenario::{Client, Leave, Role};
use crate::swarmstate;

/// How often the loop looks at the swarm.
const TICK: Duration = Duration::from_millis(100);
/// How often availability is recorded.
const RECORD_EVERY: Duration = Duration::from_millis(500);

impl Session<'_> {
    pub(super) fn swarm_loop(&mut self, net: &crate::topology::Network) -> anyhow::Result<()> {
        let mut plan = churn::Plan::new(self.sc);
        let mut next_record = Instant::now();
        let timeout = self.sc.timeout.0;
        loop {
            self.check_interrupt()?;
            let elapsed = self.t0.elapsed();
            for i in 0..self.hosts.len() {
                let h = &self.hosts[i];
                if h.spec.role == Role::Leech && !h.started && h.spec.start <= elapsed {
                    self.spawn(i, net)?;
                }
            }
            self.restart_due(elapsed, net)?;
            self.kill_due(&mut plan, elapsed);
            self.watch_exits();
            for (ns, line) in &self.lines {
                if line.is_finished() {
                    anyhow::bail!("the delay line of {ns} stopped");
                }
            }
            self.note_completions();
            self.seeders_leave(elapsed);
            if Instant::now() >= next_record {
                self.record();
                next_record += RECORD_EVERY;
            }
            let leechers = || self.hosts.iter().filter(|h| h.spec.role == Role::Leech);
            if leechers().all(|h| h.completed.is_some()) {
                self.record();
                self.event("every leecher holds verified data".into());
                return Ok(());
            }
            if elapsed > timeout {
                self.record();
                let missing: Vec<String> = (0..self.hosts.len())
                    .filter(|&i| {
                        self.hosts[i].spec.role == Role::Leech && self.hosts[i].completed.is_none()
                    })
                    .map(|i| {
                        format!(
                            "{} ({} of {} pieces)",
                            self.hosts[i].spec.name,
                            self.pieces_seen(i),
                            self.pieces()
                        )
                    })
                    .collect();
                anyhow::bail!(
                    "timeout after {timeout:?}: not done: {}",
                    missing.join(", ")
                );
            }
            std::thread::sleep(TICK);
        }
    }

    fn pieces_seen(&self, i: usize) -> u32 {
        self.observer
            .as_ref()
            .map_or(0, |o| o.with(|v| v.peers[i].count))
    }

    fn restart_due(
        &mut self,
        elapsed: Duration,
        net: &crate::topology::Network,
    ) -> anyhow::Result<()> {
        for i in 0..self.hosts.len() {
            if self.hosts[i].restart_at.is_some_and(|t| t <= elapsed) {
                self.hosts[i].restart_at = None;
                self.hosts[i].restarts += 1;
                self.spawn(i, net)?;
                let name = self.hosts[i].spec.name.clone();
                self.event(format!("churn: {name} restarted"));
            }
        }
        Ok(())
    }

    /// Kills the churn plan's victims that are due: a running leecher of the churn groups that
    /// is not done yet.
    fn kill_due(&mut self, plan: &mut churn::Plan, elapsed: Duration) {
        while let Some(kill) = plan.due(elapsed) {
            let candidates: Vec<usize> = (0..self.hosts.len())
                .filter(|&i| {
                    let h = &self.hosts[i];
                    plan.groups.contains(&h.spec.group) && h.running() && h.completed.is_none()
                })
                .collect();
            if candidates.is_empty() {
                self.event("churn: nobody to kill (every candidate is done or down)".into());
                continue;
            }
            let h = &mut self.hosts[candidates[kill.pick % candidates.len()]];
            h.expected_exit = true;
            if let Some(p) = h.proc.as_ref() {
                p.signal(plan.signal.number());
            }
            h.stop_process(Duration::from_secs(5));
            h.restart_at = Some(self.t0.elapsed() + kill.down);
            let what = format!(
                "churn: {} killed (SIG{}), back in {:.1} s",
                h.spec.name,
                plan.signal.name(),
                kill.down.as_secs_f64()
            );
            self.event(what);
        }
    }

    /// Peers that exited by themselves are failures (the lab stops them otherwise).
    fn watch_exits(&mut self) {
        let t = self.now();
        let mut news = Vec::new();
        for h in &mut self.hosts {
            let Some(status) = h.proc.as_mut().and_then(|p| p.exited()) else {
                continue;
            };
            h.stop_process(Duration::ZERO);
            if h.expected_exit {
                continue;
            }
            let why = Running::last_error_line(&h.log).unwrap_or_default();
            let line = format!(
                "{} ({}) exited by itself ({status}) at {t:.1} s: {why}",
                h.spec.name,
                h.spec.client.as_str()
            );
            h.exit = Some(line.clone());
            news.push(line);
        }
        for line in news {
            self.failures.push(line.clone());
            self.event(line);
        }
    }

    /// Leechers that hold every piece, by their own word or the observer's, whichever came
    /// first.
    fn note_completions(&mut self) {
        let t = self.now();
        let t0 = self.t0;
        let seen: Vec<Option<Instant>> = self
            .observer
            .as_ref()
            .map(|o| o.with(|v| v.peers.iter().map(|p| p.complete_at).collect()))
            .unwrap_or_default();
        for (i, h) in self.hosts.iter_mut().enumerate() {
            if h.spec.role != Role::Leech || h.completed.is_some() {
                continue;
            }
            let aria2_done = h.spec.client == Client::Aria2 && clients::aria2_done(&h.done_file);
            let client = h
                .stats()
                .complete_at
                .map(|at| secs_since(t0, at))
                .or(aria2_done.then_some(t));
            let observed = seen.get(i).copied().flatten().map(|at| secs_since(t0, at));
            h.completed = match (client, observed) {
                (Some(c), Some(o)) if o < c => Some((o, "observer")),
                (Some(c), _) => Some((c, "client")),
                (None, Some(o)) => Some((o, "observer")),
                (None, None) => None,
            };
        }
    }

    /// Seeders whose `leave` condition holds get SIGTERM.
    fn seeders_leave(&mut self, elapsed: Duration) {
        let pieces = self.pieces();
        let full_copy = self.observer.as_ref().is_some_and(|o| {
            o.with(|v| {
                let leechers: Vec<&PeerView> = self
                    .hosts
                    .iter()
                    .zip(&v.peers)
                    .filter(|(h, p)| h.spec.role == Role::Leech && p.connected)
                    .map(|(_, p)| p)
                    .collect();
                swarmstate::union(&leechers) == pieces
            })
        });
        let t = self.now();
        for i in 0..self.hosts.len() {
            let h = &self.hosts[i];
            if h.spec.role != Role::Seed || h.left_at.is_some() || !h.running() {
                continue;
            }
            let why = match h.spec.leave {
                Leave::FullCopy if full_copy => "the running leechers hold a full copy together",
                Leave::After(d) if elapsed >= d => "its time is up",
                _ => continue,
            };
            let h = &mut self.hosts[i];
            h.left_at = Some(t);
            h.expected_exit = true;
            if let Some(p) = h.proc.as_ref() {
                p.signal(libc::SIGTERM);
            }
            let what = format!("{} leaves: {why}", h.spec.name);
            self.event(what);
        }
    }

    /// One point of the availability timeline.
    pub(super) fn record(&mut self) {
        let Some(obs) = self.observer.as_ref() else {
            return;
        };
        let t = self.now();
        let roles: Vec<Role> = self.hosts.iter().map(|h| h.spec.role).collect();
        let pieces = self.pieces();
        let a = obs.with(|v| swarmstate::availability(&v.peers, &roles, pieces));
        let tl = &mut self.timeline;
        tl.t.push(t);
        tl.min_copies.push(a.min_copies);
        tl.distributed_copies.push(a.distributed_copies);
        tl.mean_copies.push(a.mean_copies);
        tl.leecher_union.push(a.leecher_union);
        tl.done_fraction.push(a.done_fraction);
        tl.running_peers.push(a.running);
    }
}

/// Seconds from `t0` to `at` (negative if before).
pub(super) fn secs_since(t0: Instant, at: Instant) -> f64 {
    if at >= t0 {
        at.duration_since(t0).as_secs_f64()
    } else {
        -t0.duration_since(at).as_secs_f64()
    }
}
