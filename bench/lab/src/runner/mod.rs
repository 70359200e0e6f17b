//! One scenario from start to report: payload and metainfo, network, link check, tracker,
//! seeders (serving before t = 0), leechers on their schedule, churn and leaving seeders
//! ([`swarm`]), until every leecher holds verified data or the time is up; then everything
//! is stopped and removed, the data on disk is checked and the report is built ([`finish`]).

mod finish;
mod setup;
mod swarm;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;

use crate::clients::{ClientStats, Programs, Running, TRACKER_PORT};
use crate::delayline::{DelayLine, LineStats};
use crate::observer::Observer;
use crate::payload;
use crate::report::{self, Event, Report};
use crate::sampler::{self, Sampler};
use crate::scenario::{HostSpec, Link, Scenario, TRACKER_IP};
use crate::topology::Network;

/// How a run is set up.
pub struct RunOptions {
    /// The report and logs go to `out_dir/<scenario>/` (the hosts' data too, while it runs).
    pub out_dir: PathBuf,
    pub programs: Programs,
    /// Set by Ctrl-C / SIGTERM: the run stops, tears down and reports "interrupted".
    pub interrupted: Arc<AtomicBool>,
    /// Numbers the runs of one lab process (part of the namespace names).
    pub run_index: u32,
    /// Keep the hosts' data after the run (by default it is deleted: N × F bytes).
    pub keep_data: bool,
}

/// One host during the run.
struct HostRun {
    spec: HostSpec,
    /// Index in the network (0 is the tracker's host).
    net_index: usize,
    data_dir: PathBuf,
    /// Log path without extension (`.out`, `.err` are added).
    log: PathBuf,
    done_file: PathBuf,
    proc: Option<Running>,
    /// Counters of earlier processes (before a churn kill).
    accum: ClientStats,
    started: bool,
    restarts: u32,
    /// It was stopped on purpose (churn or leaving): its exit is no failure.
    expected_exit: bool,
    restart_at: Option<std::time::Duration>,
    /// Seconds since t = 0, and who said so.
    completed: Option<(f64, &'static str)>,
    left_at: Option<f64>,
    exit: Option<String>,
}

impl HostRun {
    fn new(
        spec: &HostSpec,
        net_index: usize,
        data: &std::path::Path,
        logs: &std::path::Path,
    ) -> HostRun {
        HostRun {
            spec: spec.clone(),
            net_index,
            data_dir: data.join(&spec.name),
            log: logs.join(&spec.name),
            done_file: data.join(format!("{}.done", spec.name)),
            proc: None,
            accum: ClientStats::default(),
            started: false,
            restarts: 0,
            expected_exit: false,
            restart_at: None,
            completed: None,
            left_at: None,
            exit: None,
        }
    }

    /// Its counters over every process it ran.
    fn stats(&self) -> ClientStats {
        let mut s = self
            .proc
            .as_ref()
            .map(|p| p.stats.lock().clone())
            .unwrap_or_default();
        s.absorb(&self.accum);
        s
    }

    fn running(&self) -> bool {
        self.proc.is_some()
    }

    /// Stops its process (if any) and keeps its counters.
    fn stop_process(&mut self, grace: std::time::Duration) {
        if let Some(mut p) = self.proc.take() {
            p.stop(grace);
            let old = p.stats.lock().clone();
            self.accum.absorb(&old);
        }
    }
}

/// The state of one run.
struct Session<'a> {
    sc: &'a Scenario,
    opts: &'a RunOptions,
    dir: PathBuf,
    meta_path: PathBuf,
    meta: metainfo::Metainfo,
    hosts: Vec<HostRun>,
    events: Vec<Event>,
    failures: Vec<String>,
    lines: Vec<(String, DelayLine)>,
    line_stats: BTreeMap<String, LineStats>,
    tracker: Option<Running>,
    observer: Option<Observer>,
    /// Pieces each host held at the end, per the observer.
    last_counts: Vec<u32>,
    sampler: Option<Sampler>,
    t0: Instant,
    timeline: report::Timeline,
    link_check: Option<report::LinkCheckReport>,
    congestion: BTreeMap<String, usize>,
    announces: BTreeMap<std::net::Ipv4Addr, u64>,
}

/// Runs `sc` and returns its report (also when it fails: the report says why). Errors are
/// for problems that leave nothing to report (no network could be made, say).
pub fn run(sc: &Scenario, opts: &RunOptions) -> anyhow::Result<Report> {
    let dir = opts.out_dir.join(&sc.name);
    let logs = dir.join("logs");
    if logs.exists() {
        std::fs::remove_dir_all(&logs)
            .with_context(|| format!("cannot clear {}", logs.display()))?;
    }
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;
    let data = tempfile::Builder::new()
        .prefix("data-")
        .tempdir_in(&dir)
        .context("cannot create the data directory")?;
    let run_id = Network::run_id(opts.run_index);
    let load_before = finish::loadavg();
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let tracker_url = format!("http://{TRACKER_IP}:{TRACKER_PORT}/announce");
    let (meta_path, meta) = payload::make(sc, data.path(), &tracker_url)?;

    let specs = sc.hosts();
    let names: Vec<String> = std::iter::once("tracker".to_string())
        .chain(specs.iter().map(|h| h.name.clone()))
        .collect();
    let ips: Vec<_> = std::iter::once(TRACKER_IP)
        .chain(specs.iter().map(|h| h.ip))
        .collect();
    let links: Vec<Link> = std::iter::once(Link::unlimited())
        .chain(specs.iter().map(|h| h.link.clone()))
        .collect();
    let mut net = Network::create(&run_id, &names, &ips, &links)?;
    let mut session = Session {
        sc,
        opts,
        dir: dir.clone(),
        meta_path,
        meta,
        hosts: specs
            .iter()
            .enumerate()
            .map(|(i, s)| HostRun::new(s, i + 1, data.path(), &logs))
            .collect(),
        events: Vec::new(),
        failures: Vec::new(),
        lines: Vec::new(),
        line_stats: BTreeMap::new(),
        tracker: None,
        observer: None,
        last_counts: Vec::new(),
        sampler: None,
        t0: Instant::now(),
        timeline: report::Timeline::default(),
        link_check: None,
        congestion: BTreeMap::new(),
        announces: BTreeMap::new(),
    };
    if let Err(e) = session.execute(&mut net) {
        session.failures.push(format!("{e:#}"));
    }
    session.announces = net.announces(0);
    let samples = session.shutdown();
    net.teardown();
    let mut report = session.report(&run_id, started_unix, load_before, &samples);
    report::diagnose(&mut report);
    report.write(&dir)?;
    if opts.keep_data {
        let kept = data.keep();
        eprintln!("lab: data kept in {}", kept.display());
    }
    Ok(report)
}

impl Session<'_> {
    fn pieces(&self) -> u32 {
        self.meta.info.piece_count()
    }

    fn now(&self) -> f64 {
        sampler::signed_secs(self.t0)
    }

    fn event(&mut self, what: String) {
        let t = self.now();
        tracing::info!("{t:.1} s: {what}");
        self.events.push(Event { t, what });
    }

    fn check_interrupt(&self) -> anyhow::Result<()> {
        if self.opts.interrupted.load(Ordering::Relaxed) {
            anyhow::bail!("interrupted (Ctrl-C or SIGTERM)");
        }
        Ok(())
    }

    /// Setup, then the swarm until the last leecher is done.
    fn execute(&mut self, net: &mut Network) -> anyhow::Result<()> {
        self.setup(net)?;
        self.t0 = Instant::now();
        let ports: Vec<String> = net.hosts.iter().map(|h| h.port.clone()).collect();
        self.sampler = Some(Sampler::start(
            &net.switch_ns,
            ports,
            self.t0,
            std::time::Duration::from_millis(250),
        )?);
        self.event("t = 0: leechers start".into());
        self.swarm_loop(net)
    }
}
