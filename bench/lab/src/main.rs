//! `lab`: real BitTorrent swarms across emulated hosts on one machine, measured against the
//! fluid-model lower bound. See the README's "Network lab" section.

mod bound;
mod check;
mod churn;
mod clients;
mod delayline;
mod linkcheck;
mod netns;
mod observer;
mod payload;
mod preflight;
mod report;
mod runner;
mod sampler;
mod scenario;
mod summary;
mod swarmstate;
mod topology;
mod units;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::scenario::{Link, Scenario};
use crate::units::{Dur, Fraction, Rate};

/// Exit status when something the lab needs is missing (root, iptables, a client).
const EXIT_MISSING: u8 = 3;
/// Exit status after Ctrl-C / SIGTERM (everything was torn down).
const EXIT_INTERRUPTED: u8 = 130;

/// Network lab: swarms across network namespaces with rate limits, delay, jitter and loss.
/// Needs root, iproute2 (ip, tc) and iptables.
#[derive(Debug, Parser)]
#[command(name = "lab", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenarios (TOML files, see bench/lab/scenarios/): build the hosts, run the swarm,
    /// tear everything down, and write report.txt, report.json and report.svg for each into
    /// OUT/<scenario>/. Exit status 0 when every scenario succeeded, 1 when one failed, 3 when
    /// something needed is missing, 130 when interrupted.
    Run(RunArgs),
    /// Verify the emulated link: two hosts, UDP probes (round trip, loss), one TCP flow per
    /// congestion control, measured against the configuration.
    Check(CheckArgs),
    /// Remove what dead lab runs left behind (namespaces `swlab-<pid>…` whose lab is gone,
    /// and the processes in them). Every run does this first.
    Clean,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Scenario files, run one after the other.
    #[arg(required = true)]
    scenarios: Vec<PathBuf>,
    /// Where reports and logs go (default: target/lab next to the lab binary's directory).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where `swarm` and `tracker` are (default: the lab binary's own directory).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Keep each host's downloaded data (N × the payload) instead of deleting it.
    #[arg(long)]
    keep_data: bool,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    #[arg(long, default_value = "10Mbit")]
    up: Rate,
    #[arg(long, default_value = "50Mbit")]
    down: Rate,
    /// Added to each packet a host receives (the round trip is twice this).
    #[arg(long, default_value = "40ms")]
    delay: Dur,
    #[arg(long, default_value = "10ms")]
    jitter: Dur,
    /// Per host, e.g. 0.1%.
    #[arg(long, default_value = "0.1%", value_parser = parse_fraction)]
    loss: Fraction,
    /// UDP probes to send (more measure the loss rate better).
    #[arg(long, default_value_t = 2000)]
    probes: u32,
    /// Time between probes.
    #[arg(long, default_value = "5ms")]
    interval: Dur,
    /// Length of each TCP flow (its first quarter is not counted).
    #[arg(long, default_value = "8s")]
    tcp: Dur,
    /// Congestion controls to try, comma-separated (this kernel allows bbr and reno in
    /// namespaces).
    #[arg(long, default_value = "bbr,reno", value_delimiter = ',')]
    cc: Vec<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_fraction(text: &str) -> Result<Fraction, String> {
    units::parse_fraction(text)
}

impl std::str::FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Rate, String> {
        units::parse_rate(s)
    }
}

impl std::str::FromStr for Dur {
    type Err = String;
    fn from_str(s: &str) -> Result<Dur, String> {
        units::parse_duration(s).map(Dur)
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run_cmd(args),
        Command::Check(args) => check_cmd(args),
        Command::Clean => {
            for ns in topology::clean_stale() {
                println!("removed {ns}");
            }
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lab: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run_cmd(args: RunArgs) -> anyhow::Result<ExitCode> {
    let scenarios = args
        .scenarios
        .iter()
        .map(|p| Scenario::load(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let exe = std::env::current_exe().context("cannot find the lab binary")?;
    let exe_dir = exe
        .parent()
        .context("the lab binary has no directory")?
        .to_path_buf();
    let bin_dir = args.bin_dir.unwrap_or_else(|| exe_dir.clone());
    let out = args
        .out
        .unwrap_or_else(|| exe_dir.parent().unwrap_or(&exe_dir).join("lab"));
    let programs = match preflight::check(&scenarios, &bin_dir) {
        Ok(p) => p,
        Err(missing) => {
            eprintln!("lab: cannot run: {missing}");
            return Ok(ExitCode::from(EXIT_MISSING));
        }
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    // The first Ctrl-C/SIGTERM asks the run to stop and tear down; a second one exits at
    // once (peers die with the lab; the next run removes the namespaces).
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register_conditional_shutdown(sig, 1, interrupted.clone())
            .context("cannot handle signals")?;
        signal_hook::flag::register(sig, interrupted.clone()).context("cannot handle signals")?;
    }
    for ns in topology::clean_stale() {
        eprintln!("lab: removed {ns}, left behind by a run that is gone");
    }
    let mut reports = Vec::new();
    for (i, sc) in scenarios.iter().enumerate() {
        if interrupted.load(Ordering::Relaxed) {
            break;
        }
        eprintln!("lab: running {} ({} hosts)…", sc.name, sc.hosts().len() + 1);
        let opts = runner::RunOptions {
            out_dir: out.clone(),
            programs: programs.clone(),
            interrupted: interrupted.clone(),
            run_index: i as u32,
            keep_data: args.keep_data,
        };
        let report = runner::run(sc, &opts).with_context(|| format!("scenario {}", sc.name))?;
        print!("{}", report::text::render(&report));
        println!(
            "(report: {})\n",
            out.join(&sc.name).join("report.{txt,json,svg}").display()
        );
        reports.push((sc.clone(), report));
    }
    if reports.len() > 1 {
        print!("{}", summary::render(&reports));
    }
    if interrupted.load(Ordering::Relaxed) {
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    Ok(if reports.iter().all(|(_, r)| r.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn check_cmd(args: CheckArgs) -> anyhow::Result<ExitCode> {
    if let Err(missing) = preflight::network() {
        eprintln!("lab: cannot run: {missing}");
        return Ok(ExitCode::from(EXIT_MISSING));
    }
    topology::clean_stale();
    let plan = check::CheckPlan {
        link: Link {
            up: Some(args.up),
            down: Some(args.down),
            delay: args.delay.0,
            jitter: args.jitter.0,
            loss: args.loss.0,
            queue: scenario::DEFAULT_QUEUE,
        },
        probes: args.probes,
        interval: args.interval.0,
        tcp: args.tcp.0.max(Duration::from_secs(1)),
        congestion: args.cc,
    };
    let result = check::run(&plan, &topology::Network::run_id(0))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print!("{}", check::render(&result));
    }
    Ok(ExitCode::SUCCESS)
}
