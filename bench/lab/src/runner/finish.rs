//! After the swarm: stop everything, check the leechers' data on disk, and assemble the
//! report from the hosts, the counters and the timeline.

use std::time::Duration;

use super::Session;
use crate::bound;
use crate::payload;
use crate::report::{DiskReport, HostReport, Machine, Report, SeederReport, Timeline};
use crate::sampler::Sample;
use crate::scenario::{Client, Role};
use crate::topology;

/// Rates are computed over this many samples (of 250 ms): one second.
const RATE_WINDOW: usize = 4;

impl Session<'_> {
    /// Stops every process, the observer, the sampler and the delay lines; returns the
    /// traffic samples.
    pub(super) fn shutdown(&mut self) -> Vec<Sample> {
        // Every peer gets SIGTERM at once, then each has up to 5 s to exit.
        for h in &self.hosts {
            if let Some(p) = h.proc.as_ref() {
                p.signal(libc::SIGTERM);
            }
        }
        for h in &mut self.hosts {
            h.stop_process(Duration::from_secs(5));
        }
        if let Some(mut t) = self.tracker.take() {
            t.stop(Duration::from_secs(2));
        }
        if let Some(o) = self.observer.take() {
            self.last_counts = o.with(|v| v.peers.iter().map(|p| p.count).collect());
            o.stop();
        }
        let samples = self
            .sampler
            .take()
            .map(crate::sampler::Sampler::finish)
            .unwrap_or_default();
        for (ns, line) in std::mem::take(&mut self.lines) {
            match line.stop() {
                Ok(stats) => {
                    self.line_stats.insert(ns, stats);
                }
                Err(e) => self.failures.push(format!("delay line {ns}: {e:#}")),
            }
        }
        samples
    }

    fn check_disk(&self) -> DiskReport {
        let mut disk = DiskReport::default();
        for h in self.hosts.iter().filter(|h| h.spec.role == Role::Leech) {
            disk.checked += 1;
            let bad = payload::bad_pieces(&h.data_dir.join(&self.meta.info.name), &self.meta);
            if bad == 0 {
                disk.good += 1;
            } else {
                disk.bad.push((h.spec.name.clone(), bad));
            }
        }
        disk
    }

    pub(super) fn report(
        &self,
        run_id: &str,
        started_unix: u64,
        load_before: [f64; 3],
        samples: &[Sample],
    ) -> Report {
        let f = self.meta.info.total_length();
        let leechers: Vec<_> = self
            .hosts
            .iter()
            .filter(|h| h.spec.role == Role::Leech)
            .collect();
        let seeders: Vec<_> = self
            .hosts
            .iter()
            .filter(|h| h.spec.role == Role::Seed)
            .collect();
        let bound = bound::t_min(
            f,
            &seeders.iter().map(|h| h.spec.link.up).collect::<Vec<_>>(),
            &leechers
                .iter()
                .map(|h| (h.spec.link.up, h.spec.link.down))
                .collect::<Vec<_>>(),
        );
        let mut failures = self.failures.clone();
        let disk = self.check_disk();
        for (name, bad) in &disk.bad {
            let done = self
                .hosts
                .iter()
                .any(|h| &h.spec.name == name && h.completed.is_some());
            if done {
                failures.push(format!(
                    "{name}: {bad} pieces on disk do not verify although it finished"
                ));
            }
        }
        let all_done = leechers
            .iter()
            .map(|h| h.completed.map(|c| c.0))
            .try_fold(f64::MIN, |acc, t| t.map(|t| acc.max(t)))
            .filter(|_| !leechers.is_empty());
        let ceiling = topology::ceiling();
        let ratio = all_done
            .filter(|_| bound.t_min > 0.0)
            .map(|t| t / bound.t_min);
        let wire = |i: usize| wire_bytes(samples, self.hosts[i].net_index);
        let seeder_wire: u64 = (0..self.hosts.len())
            .filter(|&i| self.hosts[i].spec.role == Role::Seed)
            .map(|i| wire(i).0)
            .sum();
        let seeder_client: Option<u64> = seeders.iter().map(|h| h.stats().uploaded).sum();
        let seeder = SeederReport {
            wire_bytes: seeder_wire,
            payload_over_f: seeder_wire as f64 * ceiling / f as f64,
            client_uploaded: seeder_client,
            client_over_f: seeder_client.map(|b| b as f64 / f as f64),
            left_at: seeders.iter().filter_map(|h| h.left_at).reduce(f64::max),
        };
        let mut failed_unknown = Vec::new();
        let mut failed = 0;
        for h in &self.hosts {
            match h.stats().failed_bytes {
                Some(b) => failed += b,
                None if h.spec.role == Role::Leech => failed_unknown.push(h.spec.name.clone()),
                None => {}
            }
        }
        let ok = failures.is_empty() && all_done.is_some() && disk.bad.is_empty();
        Report {
            scenario: self.sc.name.clone(),
            description: self.sc.description.clone(),
            run_id: run_id.to_string(),
            started_unix,
            ok,
            failures,
            machine: Machine {
                cores: std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(0),
                load_before,
                load_after: loadavg(),
                kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            },
            congestion: self.congestion.clone(),
            file_bytes: f,
            piece_length: self.meta.info.piece_length,
            pieces: self.pieces(),
            seeders: seeders.len(),
            leechers: leechers.len(),
            ceiling,
            all_done_secs: all_done,
            ratio,
            ratio_to_ceiling: ratio.map(|r| r * ceiling),
            bound,
            seeder,
            failed_verification_bytes: failed,
            failed_unknown,
            disk,
            hosts: (0..self.hosts.len())
                .map(|i| self.host_report(i, wire(i)))
                .collect(),
            link_check: self.link_check.clone(),
            diagnosis: Default::default(),
            events: self.events.clone(),
            timeline: self.timeline(samples),
            delay_lines: self.line_stats.clone(),
            tracker_announces: self.announces.values().sum(),
        }
    }

    fn host_report(&self, i: usize, (sent, received): (u64, u64)) -> HostReport {
        let h = &self.hosts[i];
        let s = h.stats();
        HostReport {
            name: h.spec.name.clone(),
            group: h.spec.group.clone(),
            role: h.spec.role,
            client: h.spec.client,
            ip: h.spec.ip.to_string(),
            link: h.spec.link.clone(),
            start_secs: h.spec.start.as_secs_f64(),
            completed_secs: h.completed.map(|c| c.0),
            completion_source: h.completed.map(|c| c.1.to_string()),
            restarts: h.restarts,
            wire_sent: sent,
            wire_received: received,
            client_uploaded: s.uploaded,
            client_downloaded: s.downloaded,
            client_failed_bytes: if h.spec.client == Client::Aria2 {
                None
            } else {
                s.failed_bytes
            },
            tracker_announces: self.announces.get(&h.spec.ip).copied(),
            tracker_errors: s.tracker_errors,
            pieces_seen: self.last_counts.get(i).copied().unwrap_or(0),
            exit: h.exit.clone(),
        }
    }

    /// The availability timeline plus upload rates from the counters.
    fn timeline(&self, samples: &[Sample]) -> Timeline {
        let mut tl = self.timeline.clone();
        let capacity = |role: Role| -> f64 {
            let rates: Option<Vec<f64>> = self
                .hosts
                .iter()
                .filter(|h| h.spec.role == role)
                .map(|h| h.spec.link.up.map(|r| r.bits_per_sec()))
                .collect();
            rates.map_or(0.0, |r| r.iter().sum())
        };
        tl.seeder_capacity_bps = capacity(Role::Seed);
        tl.leechers_capacity_bps = capacity(Role::Leech);
        for k in 1..samples.len() {
            let (a, b) = (&samples[k.saturating_sub(RATE_WINDOW)], &samples[k]);
            let dt = b.t - a.t;
            if dt <= 0.0 {
                continue;
            }
            let rate = |role: Role| -> f64 {
                self.hosts
                    .iter()
                    .filter(|h| h.spec.role == role)
                    .map(|h| {
                        b.sent
                            .get(h.net_index)
                            .unwrap_or(&0)
                            .saturating_sub(*a.sent.get(h.net_index).unwrap_or(&0))
                    })
                    .sum::<u64>() as f64
                    * 8.0
                    / dt
            };
            tl.rate_t.push(b.t);
            tl.seeder_up_bps.push(rate(Role::Seed));
            tl.leechers_up_bps.push(rate(Role::Leech));
        }
        tl
    }
}

/// Bytes host `net_index` sent and received between the first and the last sample.
fn wire_bytes(samples: &[Sample], net_index: usize) -> (u64, u64) {
    match (samples.first(), samples.last()) {
        (Some(a), Some(b)) => {
            let d = |x: &[u64], y: &[u64]| {
                y.get(net_index)
                    .unwrap_or(&0)
                    .saturating_sub(*x.get(net_index).unwrap_or(&0))
            };
            (d(&a.sent, &b.sent), d(&a.received, &b.received))
        }
        _ => (0, 0),
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut v = text.split_whitespace().filter_map(|f| f.parse().ok());
    [
        v.next().unwrap_or(0.0),
        v.next().unwrap_or(0.0),
        v.next().unwrap_or(0.0),
    ]
}
