//! A scenario file (TOML): the payload, the hosts in groups (role, client, link, when they
//! start and leave), churn, and defaults. `Scenario::load` parses and checks it;
//! `Scenario::hosts` expands the groups into hosts with addresses.
//!
//! ```toml
//! name = "flash-crowd"
//! file_size = "64MiB"
//! [link]                      # defaults for every group
//! delay = "40ms"
//! jitter = "10ms"
//! loss = "0.1%"
//! [[group]]
//! name = "seeder"
//! role = "seed"
//! up = "20Mbit"
//! down = "50Mbit"
//! [[group]]
//! name = "leecher"
//! role = "leech"
//! count = 20
//! up = "10Mbit"
//! down = "50Mbit"
//! ```

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::units::{Dur, Fraction, Rate, Size, Span};

/// Most hosts in one scenario (the address plan gives each an address in 10.77.0.0/16).
pub const MAX_HOSTS: usize = 1000;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Size of the one file the swarm shares (random bytes).
    pub file_size: Size,
    /// Piece length; default: what `mkmeta` picks (about 1,000–2,000 pieces).
    pub piece_length: Option<Size>,
    /// The run fails when not every leecher holds verified data by then (after the leechers
    /// started).
    #[serde(default = "default_timeout")]
    pub timeout: Dur,
    /// TCP congestion control on every host: `bbr` (the default here) or `reno` (the only
    /// two this kernel allows inside namespaces).
    #[serde(default)]
    pub congestion: Congestion,
    /// Seed of every random choice (start times, jitter, loss, churn), so a run can be
    /// repeated.
    #[serde(default)]
    pub seed: u64,
    /// Measure the links before the swarm starts (`quick`), thoroughly (`full`), or not.
    #[serde(default)]
    pub link_check: LinkCheckMode,
    /// A scenario to compare with when both are in one run (e.g. the same crowd with another
    /// client): the summary prints how much sooner this one finished.
    pub compare_with: Option<String>,
    /// Link defaults for every group.
    #[serde(default)]
    pub link: LinkSpec,
    #[serde(default)]
    pub tracker: TrackerSpec,
    #[serde(rename = "group", default)]
    pub groups: Vec<Group>,
    pub churn: Option<Churn>,
}

fn default_timeout() -> Dur {
    Dur(Duration::from_secs(600))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Congestion {
    #[default]
    Bbr,
    Reno,
}

impl Congestion {
    pub fn as_str(self) -> &'static str {
        match self {
            Congestion::Bbr => "bbr",
            Congestion::Reno => "reno",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkCheckMode {
    #[default]
    Quick,
    Full,
    Off,
}

/// One host's access link as written: every field optional (falls back to `[link]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// Upload rate (tbf on the host's side of its link); none: unlimited.
    pub up: Option<Rate>,
    /// Download rate (tbf on the switch's side); none: unlimited.
    pub down: Option<Rate>,
    /// Added to every packet the host receives: the RTT between hosts A and B is
    /// delay_A + delay_B.
    pub delay: Option<Dur>,
    /// The delay wanders within ± this (without reordering packets).
    pub jitter: Option<Dur>,
    /// Share of the packets the host receives that are dropped.
    pub loss: Option<Fraction>,
    /// How much a rate limit may queue, as time at that rate (default 100 ms).
    pub queue: Option<Dur>,
}

impl LinkSpec {
    fn or(&self, base: &LinkSpec) -> LinkSpec {
        LinkSpec {
            up: self.up.or(base.up),
            down: self.down.or(base.down),
            delay: self.delay.or(base.delay),
            jitter: self.jitter.or(base.jitter),
            loss: self.loss.or(base.loss),
            queue: self.queue.or(base.queue),
        }
    }

    fn resolve(&self) -> Link {
        Link {
            up: self.up,
            down: self.down,
            delay: self.delay.map(|d| d.0).unwrap_or_default(),
            jitter: self.jitter.map(|d| d.0).unwrap_or_default(),
            loss: self.loss.map(|f| f.0).unwrap_or_default(),
            queue: self.queue.map(|d| d.0).unwrap_or(DEFAULT_QUEUE),
        }
    }
}

/// How much a rate limit queues when nothing says otherwise.
pub const DEFAULT_QUEUE: Duration = Duration::from_millis(100);

/// A host's link, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub up: Option<Rate>,
    pub down: Option<Rate>,
    pub delay: Duration,
    pub jitter: Duration,
    pub loss: f64,
    pub queue: Duration,
}

impl Link {
    /// No limits, no delay: the tracker's link.
    pub fn unlimited() -> Link {
        Link {
            up: None,
            down: None,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            queue: DEFAULT_QUEUE,
        }
    }

    /// Whether packets need the delay line (delay, jitter or loss).
    pub fn impaired(&self) -> bool {
        !self.delay.is_zero() || !self.jitter.is_zero() || self.loss > 0.0
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackerSpec {
    /// The announce interval our tracker hands out.
    #[serde(default = "default_interval")]
    pub interval: Dur,
}

impl Default for TrackerSpec {
    fn default() -> TrackerSpec {
        TrackerSpec {
            interval: default_interval(),
        }
    }
}

fn default_interval() -> Dur {
    Dur(Duration::from_secs(60))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Seed,
    Leech,
}

/// Which BitTorrent program a host runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Client {
    #[default]
    Swarm,
    Libtorrent,
    Aria2,
    /// Seeder only: rqbit says nothing on stdout from which the lab could tell when it
    /// completed a download.
    Rqbit,
}

impl Client {
    pub fn as_str(self) -> &'static str {
        match self {
            Client::Swarm => "swarm",
            Client::Libtorrent => "libtorrent",
            Client::Aria2 => "aria2",
            Client::Rqbit => "rqbit",
        }
    }
}

/// When a host leaves the swarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(try_from = "String")]
pub enum Leave {
    /// Stays until the end.
    #[default]
    Never,
    /// Leaves once the leechers together hold every piece (a full copy without it).
    FullCopy,
    /// Leaves this long after the leechers started.
    After(Duration),
}

impl TryFrom<String> for Leave {
    type Error = String;
    fn try_from(text: String) -> Result<Leave, String> {
        match text.as_str() {
            "never" => Ok(Leave::Never),
            "full-copy" => Ok(Leave::FullCopy),
            t => crate::units::parse_duration(t)
                .map(Leave::After)
                .map_err(|e| format!("{e}; or \"full-copy\", \"never\"")),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub client: Client,
    #[serde(default = "one")]
    pub count: usize,
    pub up: Option<Rate>,
    pub down: Option<Rate>,
    pub delay: Option<Dur>,
    pub jitter: Option<Dur>,
    pub loss: Option<Fraction>,
    pub queue: Option<Dur>,
    /// When its hosts start, after the leechers' start (t = 0); a range spreads them
    /// uniformly. Seeders start before t = 0 and are serving at t = 0.
    pub start: Option<Span>,
    #[serde(default)]
    pub leave: Leave,
}

fn one() -> usize {
    1
}

impl Group {
    fn link_spec(&self) -> LinkSpec {
        LinkSpec {
            up: self.up,
            down: self.down,
            delay: self.delay,
            jitter: self.jitter,
            loss: self.loss,
            queue: self.queue,
        }
    }
}

/// Leechers killed and restarted at random times.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Churn {
    /// Groups whose hosts may be killed (leecher groups).
    pub groups: Vec<String>,
    /// How many kills in all.
    pub kills: usize,
    /// When the kills happen (uniformly in this span).
    pub between: Span,
    /// How long a killed host stays down before it restarts.
    pub down: Span,
    /// `KILL` (like a crash or a pulled cable) or `TERM` (a clean exit).
    #[serde(default)]
    pub signal: KillSignal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum KillSignal {
    #[default]
    #[serde(rename = "KILL")]
    Kill,
    #[serde(rename = "TERM")]
    Term,
}

impl KillSignal {
    pub fn name(self) -> &'static str {
        match self {
            KillSignal::Kill => "KILL",
            KillSignal::Term => "TERM",
        }
    }

    pub fn number(self) -> i32 {
        match self {
            KillSignal::Kill => libc::SIGKILL,
            KillSignal::Term => libc::SIGTERM,
        }
    }
}

/// One host of the scenario, expanded from its group.
#[derive(Debug, Clone, Serialize)]
pub struct HostSpec {
    /// `seeder`, `leecher-07`, …
    pub name: String,
    pub group: String,
    pub role: Role,
    pub client: Client,
    pub ip: Ipv4Addr,
    pub link: Link,
    /// Start after t = 0 (leechers) — seeders are started before t = 0.
    pub start: Duration,
    pub leave: Leave,
}

/// The tracker's address; hosts get 10.77.0.2 onwards.
pub const TRACKER_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// Prefix length of the lab's subnet.
pub const PREFIX_LEN: u8 = 16;

impl Scenario {
    /// Reads and checks a scenario file; errors name the file and the key.
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read scenario {}", path.display()))?;
        let scenario: Scenario = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim()))?;
        scenario
            .check()
            .with_context(|| format!("{}: invalid scenario", path.display()))?;
        Ok(scenario)
    }

    /// Checks what the types cannot: names, counts, groups that churn refers to.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!("name `{}`: use letters, digits, - and _", self.name);
        }
        if !self.groups.iter().any(|g| g.role == Role::Seed) {
            bail!("no group with role = \"seed\"");
        }
        if !self.groups.iter().any(|g| g.role == Role::Leech) {
            bail!("no group with role = \"leech\"");
        }
        let mut names = std::collections::HashSet::new();
        for g in &self.groups {
            if !names.insert(g.name.as_str()) {
                bail!("group `{}` is defined twice", g.name);
            }
            if g.name.is_empty()
                || !g
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                bail!("group name `{}`: use letters, digits and -", g.name);
            }
            if g.name == "tracker" {
                bail!("group name `tracker` is taken by the tracker's host");
            }
            if g.count == 0 {
                bail!("group `{}`: count must be at least 1", g.name);
            }
            let link = g.link_spec().or(&self.link).resolve();
            if link.jitter > link.delay {
                bail!(
                    "group `{}`: jitter {:?} is more than the delay {:?}",
                    g.name,
                    link.jitter,
                    link.delay
                );
            }
            if g.role == Role::Leech && g.client == Client::Rqbit {
                bail!(
                    "group `{}`: rqbit can only seed here (the lab cannot tell when it completes)",
                    g.name
                );
            }
            if g.role == Role::Leech && g.leave != Leave::Never {
                bail!(
                    "group `{}`: only seeders leave (leechers stay until every leecher is done)",
                    g.name
                );
            }
        }
        let hosts: usize = self.groups.iter().map(|g| g.count).sum();
        if hosts + 1 > MAX_HOSTS {
            bail!("{hosts} hosts: at most {} per scenario", MAX_HOSTS - 1);
        }
        if let Some(churn) = &self.churn {
            for name in &churn.groups {
                match self.groups.iter().find(|g| &g.name == name) {
                    None => bail!("churn: no group `{name}`"),
                    Some(g) if g.role != Role::Leech => {
                        bail!("churn: group `{name}` is not a leecher group")
                    }
                    Some(_) => {}
                }
            }
        }
        if let Some(p) = self.piece_length
            && (p.0 == 0 || p.0 > metainfo::MAX_PIECE_LENGTH)
        {
            bail!("piece_length {p} is out of range");
        }
        Ok(())
    }

    /// The hosts, in group order, with addresses 10.77.0.2 onwards and start times drawn
    /// from `seed`.
    pub fn hosts(&self) -> Vec<HostSpec> {
        let mut rng = SmallRng::seed_from_u64(self.seed ^ 0x0057_A270_0002);
        let mut hosts = Vec::new();
        for g in &self.groups {
            let link = g.link_spec().or(&self.link).resolve();
            for i in 0..g.count {
                let name = if g.count == 1 {
                    g.name.clone()
                } else {
                    let width = g.count.to_string().len();
                    format!("{}-{:0width$}", g.name, i + 1)
                };
                let start = match (g.role, g.start) {
                    (Role::Seed, _) | (_, None) => Duration::ZERO,
                    (Role::Leech, Some(span)) => span.pick(rng.random::<f64>()),
                };
                hosts.push(HostSpec {
                    name,
                    group: g.name.clone(),
                    role: g.role,
                    client: g.client,
                    ip: host_ip(hosts.len()),
                    link: link.clone(),
                    start,
                    leave: g.leave,
                });
            }
        }
        hosts
    }
}

/// Address of host number `index` (0-based): 10.77.0.2, 10.77.0.3, …
pub fn host_ip(index: usize) -> Ipv4Addr {
    let n = index + 2;
    Ipv4Addr::new(10, 77, (n / 256) as u8, (n % 256) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
        name = "t"
        file_size = "4MiB"
        [link]
        delay = "10ms"
        jitter = "2ms"
        loss = "0.1%"
        [[group]]
        name = "seeder"
        role = "seed"
        up = "16Mbit"
        [[group]]
        name = "leecher"
        role = "leech"
        count = 12
        up = "8Mbit"
        down = "32Mbit"
        delay = "20ms"
        start = ["0s", "4s"]
    "#;

    #[test]
    fn groups_expand_into_numbered_hosts_with_their_own_links() {
        let s: Scenario = toml::from_str(SMALL).unwrap();
        s.check().unwrap();
        let hosts = s.hosts();
        assert_eq!(hosts.len(), 13);
        assert_eq!(hosts[0].name, "seeder");
        assert_eq!(hosts[1].name, "leecher-01");
        assert_eq!(hosts[12].name, "leecher-12");
        assert_eq!(hosts[0].ip, Ipv4Addr::new(10, 77, 0, 2));
        assert_eq!(hosts[0].link.delay, Duration::from_millis(10));
        assert_eq!(hosts[1].link.delay, Duration::from_millis(20));
        assert_eq!(hosts[1].link.jitter, Duration::from_millis(2));
        assert_eq!(hosts[1].link.loss, 0.001);
        assert_eq!(hosts[0].link.down, None);
        assert!(hosts[1..].iter().all(|h| h.start <= Duration::from_secs(4)));
        assert!(hosts[1..].iter().any(|h| h.start > Duration::ZERO));
    }

    #[test]
    fn the_same_seed_gives_the_same_start_times() {
        let s: Scenario = toml::from_str(SMALL).unwrap();
        let a: Vec<_> = s.hosts().iter().map(|h| h.start).collect();
        let b: Vec<_> = s.hosts().iter().map(|h| h.start).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn a_scenario_without_seeders_is_refused() {
        let s: Scenario = toml::from_str(
            "name = \"x\"\nfile_size = \"1MiB\"\n[[group]]\nname = \"l\"\nrole = \"leech\"\n",
        )
        .unwrap();
        assert!(s.check().unwrap_err().to_string().contains("seed"));
    }

    #[test]
    fn jitter_larger_than_delay_is_refused() {
        let text = SMALL.replace("jitter = \"2ms\"", "jitter = \"30ms\"");
        let s: Scenario = toml::from_str(&text).unwrap();
        assert!(s.check().unwrap_err().to_string().contains("jitter"));
    }

    #[test]
    fn an_rqbit_leecher_is_refused_as_its_completion_cannot_be_seen() {
        let text = SMALL.replace("count = 12", "count = 12\nclient = \"rqbit\"");
        let s: Scenario = toml::from_str(&text).unwrap();
        assert!(
            s.check()
                .unwrap_err()
                .to_string()
                .contains("rqbit can only seed")
        );
        let text = SMALL.replace("role = \"seed\"", "role = \"seed\"\nclient = \"rqbit\"");
        let s: Scenario = toml::from_str(&text).unwrap();
        s.check().unwrap();
    }

    #[test]
    fn churn_must_name_a_leecher_group() {
        let text = format!(
            "{SMALL}\n[churn]\ngroups = [\"seeder\"]\nkills = 2\nbetween = [\"1s\", \"2s\"]\ndown = \"1s\"\n"
        );
        let s: Scenario = toml::from_str(&text).unwrap();
        assert!(
            s.check()
                .unwrap_err()
                .to_string()
                .contains("not a leecher group")
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let text = SMALL.replace("count = 12", "count = 12\ncolour = \"red\"");
        assert!(toml::from_str::<Scenario>(&text).is_err());
    }

    #[test]
    fn every_shipped_scenario_parses_and_checks() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                Scenario::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
                n += 1;
            }
        }
        assert!(
            n >= 6,
            "expected the five benchmark scenarios and the CI one"
        );
    }
}
