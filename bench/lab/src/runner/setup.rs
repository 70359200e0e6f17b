//! Everything before t = 0: congestion control, delay lines, the link check, the tracker,
//! the observer and the seeders (serving every piece before the leechers start).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::{HostRun, Session};
use crate::clients::{self, PEER_PORT, PeerSetup, Running, TRACKER_PORT};
use crate::delayline::{DelayLine, Impairment};
use crate::linkcheck;
use crate::observer::Observer;
use crate::report::LinkCheckReport;
use crate::scenario::{Client, LinkCheckMode, Role, TRACKER_IP};
use crate::topology::Network;

/// How long seeders get to serve every piece before t = 0.
const SEEDER_READY: Duration = Duration::from_secs(90);
/// How long the tracker gets to listen.
const TRACKER_READY: Duration = Duration::from_secs(15);

impl Session<'_> {
    pub(super) fn setup(&mut self, net: &Network) -> anyhow::Result<()> {
        for cc in net.set_congestion(self.sc.congestion.as_str())? {
            *self.congestion.entry(cc).or_default() += 1;
        }
        self.start_delay_lines(net)?;
        self.check_interrupt()?;
        if self.sc.link_check != LinkCheckMode::Off {
            self.link_check = Some(self.check_links(net)?);
        }
        self.check_interrupt()?;
        let sources: Vec<_> = self.hosts.iter().map(|h| h.spec.ip).collect();
        net.count_announces(0, &sources, TRACKER_PORT)?;
        self.start_tracker(net)?;
        let addrs: Vec<SocketAddr> = self
            .hosts
            .iter()
            .map(|h| SocketAddr::from((h.spec.ip, PEER_PORT)))
            .collect();
        let info_hash = *self.meta.info_hash.as_bytes();
        self.observer = Some(Observer::start(
            &net.hosts[0].ns,
            &addrs,
            info_hash,
            self.pieces(),
        )?);
        self.start_seeders(net)
    }

    fn start_delay_lines(&mut self, net: &Network) -> anyhow::Result<()> {
        for (i, h) in net.hosts.iter().enumerate() {
            if !h.link.impaired() {
                continue;
            }
            let imp = Impairment {
                delay: h.link.delay,
                jitter: h.link.jitter,
                loss: h.link.loss,
            };
            let seed = self.sc.seed.wrapping_mul(7919).wrapping_add(i as u64);
            self.lines
                .push((h.ns.clone(), DelayLine::start(&h.ns, imp, seed)?));
            net.queue_incoming(i)?;
        }
        Ok(())
    }

    /// Round trip and one TCP flow between two leechers (or the seeder and the leecher).
    fn check_links(&self, net: &Network) -> anyhow::Result<LinkCheckReport> {
        let leechers: Vec<&HostRun> = self
            .hosts
            .iter()
            .filter(|h| h.spec.role == Role::Leech)
            .collect();
        let seeder = self.hosts.iter().find(|h| h.spec.role == Role::Seed);
        let (a, b) = match (leechers.as_slice(), seeder) {
            ([a, b, ..], _) => (*a, *b),
            ([b], Some(a)) => (a, *b),
            _ => anyhow::bail!("link check: needs two hosts"),
        };
        let (na, nb) = (&net.hosts[a.net_index], &net.hosts[b.net_index]);
        let (probes, interval, flow) = match self.sc.link_check {
            LinkCheckMode::Full => (2000, Duration::from_millis(5), Duration::from_secs(8)),
            _ => (100, Duration::from_millis(10), Duration::from_secs(3)),
        };
        // A few probes first, so ARP is settled when counting starts.
        let _ = linkcheck::udp_rtt(&na.ns, &nb.ns, nb.ip, 3, Duration::from_millis(20));
        let rtt = linkcheck::udp_rtt(&na.ns, &nb.ns, nb.ip, probes, interval)?;
        let tcp = linkcheck::tcp_flow(&na.ns, &nb.ns, nb.ip, flow, flow / 3)?;
        let limit = match (a.spec.link.up, b.spec.link.down) {
            (Some(u), Some(d)) => Some(u.bits_per_sec().min(d.bits_per_sec())),
            (Some(r), None) | (None, Some(r)) => Some(r.bits_per_sec()),
            _ => None,
        };
        let jitter = a
            .spec
            .link
            .jitter
            .as_secs_f64()
            .hypot(b.spec.link.jitter.as_secs_f64());
        Ok(LinkCheckReport {
            from: a.spec.name.clone(),
            to: b.spec.name.clone(),
            expected_rtt_ms: (a.spec.link.delay + b.spec.link.delay).as_secs_f64() * 1e3,
            expected_jitter_ms: jitter * 1e3,
            rtt,
            flow: tcp,
            flow_limit_bits: limit,
        })
    }

    fn start_tracker(&mut self, net: &Network) -> anyhow::Result<()> {
        let interval = self.sc.tracker.interval.0.as_secs();
        let (program, args) = clients::tracker_command(&self.opts.programs, TRACKER_IP, interval);
        let log = self.dir.join("logs").join("tracker");
        self.tracker = Some(Running::start(
            &net.hosts[0].ns,
            &program,
            &args,
            &log,
            None,
            0,
        )?);
        let addr = SocketAddr::from((TRACKER_IP, TRACKER_PORT));
        let up = crate::netns::within(&net.hosts[0].ns, move || {
            let end = Instant::now() + TRACKER_READY;
            while Instant::now() < end {
                if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return Ok(true);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(false)
        })?;
        if !up {
            let why = Running::last_error_line(&log).unwrap_or_default();
            anyhow::bail!("the tracker does not listen on {addr} after {TRACKER_READY:?}: {why}");
        }
        Ok(())
    }

    /// Starts the seeders and waits until the observer sees each one holding every piece and
    /// the tracker has had its announce.
    fn start_seeders(&mut self, net: &Network) -> anyhow::Result<()> {
        let name = self.meta.info.name.clone();
        let master = self.meta_path.with_file_name(&name);
        for i in 0..self.hosts.len() {
            if self.hosts[i].spec.role != Role::Seed {
                continue;
            }
            let dir = &self.hosts[i].data_dir;
            std::fs::create_dir_all(dir)?;
            let copy = dir.join(&name);
            std::fs::hard_link(&master, &copy)
                .or_else(|_| std::fs::copy(&master, &copy).map(|_| ()))
                .with_context(|| format!("cannot place the payload at {}", copy.display()))?;
            self.spawn(i, net)?;
        }
        let end = Instant::now() + SEEDER_READY;
        loop {
            self.check_interrupt()?;
            // Ready: serving every piece, and known to the tracker (as a seeder of a real
            // swarm would be long before a crowd arrives).
            let announced = net.announces(0);
            let waiting: Vec<usize> = (0..self.hosts.len())
                .filter(|&i| self.hosts[i].spec.role == Role::Seed)
                .filter(|&i| {
                    !self.serving_all(i)
                        || announced
                            .get(&self.hosts[i].spec.ip)
                            .is_none_or(|&n| n == 0)
                })
                .collect();
            if waiting.is_empty() {
                return Ok(());
            }
            for &i in &waiting {
                let h = &mut self.hosts[i];
                if let Some(status) = h.proc.as_mut().and_then(|p| p.exited()) {
                    let why = Running::last_error_line(&h.log).unwrap_or_default();
                    anyhow::bail!(
                        "seeder {} exited ({status}) before serving: {why}",
                        h.spec.name
                    );
                }
            }
            if Instant::now() > end {
                let names: Vec<&str> = waiting
                    .iter()
                    .map(|&i| self.hosts[i].spec.name.as_str())
                    .collect();
                anyhow::bail!(
                    "seeders not serving every piece after {SEEDER_READY:?}: {}",
                    names.join(", ")
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Whether the observer sees host `i` holding every piece.
    fn serving_all(&self, i: usize) -> bool {
        let pieces = self.pieces();
        self.observer
            .as_ref()
            .is_some_and(|o| o.with(|v| v.peers[i].connected && v.peers[i].count == pieces))
    }

    /// Starts (or restarts) host `i`'s peer.
    pub(super) fn spawn(&mut self, i: usize, net: &Network) -> anyhow::Result<()> {
        let piece_length = self.meta.info.piece_length;
        let h = &mut self.hosts[i];
        std::fs::create_dir_all(&h.data_dir)?;
        if h.spec.client == Client::Aria2 && h.spec.role == Role::Leech {
            clients::write_aria2_hook(&h.done_file)?;
        }
        let state_dir = h.data_dir.with_extension("state");
        std::fs::create_dir_all(&state_dir)?;
        let setup = PeerSetup {
            meta: &self.meta_path,
            data_dir: &h.data_dir,
            ip: h.spec.ip,
            done_file: &h.done_file,
            lab_pid: std::process::id(),
            state_dir: &state_dir,
        };
        let (program, args) =
            clients::peer_command(&self.opts.programs, h.spec.client, h.spec.role, &setup);
        let ns = &net.hosts[h.net_index].ns;
        h.proc = Some(Running::start(
            ns,
            &program,
            &args,
            &h.log,
            Some(h.spec.client),
            piece_length,
        )?);
        h.started = true;
        h.expected_exit = false;
        Ok(())
    }
}
