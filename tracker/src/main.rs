//! `tracker`: the HTTP + UDP BitTorrent tracker binary. See `tracker --help`.
#![forbid(unsafe_code)]

use anyhow::Context;
use tracker::app;
use tracker::config::Config;
use tracker::shutdown::{self, Shutdown};

fn main() {
    if let Err(e) = try_main() {
        // One line: the error and its causes.
        eprintln!("tracker: {e:#}");
        std::process::exit(1);
    }
}

fn try_main() -> anyhow::Result<()> {
    let config = match tracker::config::file::parse(std::env::args_os()) {
        Ok(config) => config,
        // Usage errors, --help and --version: clap prints them and picks the exit status (2).
        Err(e) => e.exit(),
    };
    tracker::logging::init(config.log_format);
    raise_open_file_limit();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = config.threads {
        runtime.worker_threads(threads.max(1));
    }
    runtime
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(run(config))
}

async fn run(config: Config) -> anyhow::Result<()> {
    let (trigger, shutdown) = Shutdown::new();
    shutdown::on_signals(trigger).context("cannot install signal handlers")?;
    let store = config.store.clone();
    let running = app::start(config, shutdown).await?;
    tracker::reload::on_sighup(running.tracker.clone())
        .context("cannot install the SIGHUP handler")?;
    tracing::info!(http = ?running.http, udp = ?running.udp, store = %store, "tracker listening");
    running.wait().await;
    tracing::info!("tracker stopped");
    Ok(())
}

/// Many clients keep connections open: raise the soft open-file limit to the hard one.
fn raise_open_file_limit() {
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::debug!("could not raise the open-file limit: {e}");
    }
}
