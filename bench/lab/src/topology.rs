//! The emulated network: one namespace per host, each joined by a veth pair to a bridge in a
//! switch namespace of its own. A host's upload limit is a tbf on its side of the pair, its
//! download limit a tbf on the switch's side; delay, jitter and loss come from the delay
//! line (see [`crate::delayline`]), fed by an NFQUEUE rule on the host's incoming packets.
//!
//! Names carry the lab's PID (`swlab-<pid>.<run>-…`), so concurrent runs never collide and
//! a later run can tell a dead run's leftovers from a live one's ([`clean_stale`]).

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::Context;

use crate::netns;
use crate::scenario::{Link, PREFIX_LEN};
use crate::units::Rate;

/// Every namespace of the lab starts with this.
pub const PREFIX: &str = "swlab-";

/// Ethernet frame bytes (as tbf counts them) of a full TCP segment carrying 1448 bytes of
/// payload (MTU 1500, TCP timestamps on): a perfect transfer reaches 1448/1514 of the rate.
pub const FRAME_BYTES: f64 = 1514.0;
pub const PAYLOAD_PER_FRAME: f64 = 1448.0;

/// The share of a tbf rate one TCP flow can carry as payload.
pub fn ceiling() -> f64 {
    PAYLOAD_PER_FRAME / FRAME_BYTES
}

/// One host's place in the network.
#[derive(Debug, Clone)]
pub struct HostNet {
    /// Its namespace.
    pub ns: String,
    pub ip: Ipv4Addr,
    /// Its port on the bridge (in the switch namespace): counters there are its traffic.
    pub port: String,
    pub link: Link,
}

/// The namespaces of one run; [`Network::teardown`] removes them (also on drop).
#[derive(Debug)]
pub struct Network {
    pub switch_ns: String,
    pub hosts: Vec<HostNet>,
    created: Vec<String>,
    iptables: String,
}

/// The iptables to use: the legacy one, since this kernel's nf_tables has no queue
/// expression (CONFIG_NFT_QUEUE is off) while the xtables NFQUEUE target is built in.
pub fn iptables_program() -> Option<String> {
    ["iptables-legacy", "iptables"]
        .into_iter()
        .find(|p| which(p))
        .map(str::to_string)
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

impl Network {
    /// A run id unique on this machine: `swlab-<pid>.<n>`.
    pub fn run_id(n: u32) -> String {
        format!("{PREFIX}{}.{n}", std::process::id())
    }

    /// Creates the switch and `links.len()` hosts (`names[i]`, `ips[i]`, `links[i]`) with
    /// their rate limits. Delay lines are started by the caller, then
    /// [`Network::queue_incoming`] sends each impaired host's packets through them.
    pub fn create(
        run_id: &str,
        names: &[String],
        ips: &[Ipv4Addr],
        links: &[Link],
    ) -> anyhow::Result<Network> {
        let iptables = iptables_program().context(
            "iptables is not installed (apt-get install iptables; scripts/install-test-deps does)",
        )?;
        let mut net = Network {
            switch_ns: format!("{run_id}-sw"),
            hosts: Vec::new(),
            created: Vec::new(),
            iptables,
        };
        net.add_ns(&net.switch_ns.clone())?;
        let sw = net.switch_ns.clone();
        netns::ip(&[
            "-n",
            &sw,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "forward_delay",
            "0",
        ])?;
        netns::ip(&["-n", &sw, "link", "set", "br0", "up"])?;
        netns::within(&sw, || disable_ipv6().map(|_| ()))?;
        for (i, ((name, ip), link)) in names.iter().zip(ips).zip(links).enumerate() {
            let host = HostNet {
                ns: format!("{run_id}-h-{name}"),
                ip: *ip,
                port: format!("p{i}"),
                link: link.clone(),
            };
            net.add_ns(&host.ns)?;
            net.wire(&host)?;
            net.hosts.push(host);
        }
        Ok(net)
    }

    fn add_ns(&mut self, name: &str) -> anyhow::Result<()> {
        netns::ip(&["netns", "add", name])?;
        self.created.push(name.to_string());
        Ok(())
    }

    /// The veth pair, addresses and rate limits of one host.
    fn wire(&self, host: &HostNet) -> anyhow::Result<()> {
        let sw = &self.switch_ns;
        let (ns, port) = (host.ns.as_str(), host.port.as_str());
        netns::ip(&[
            "-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ])?;
        netns::ip(&["-n", sw, "link", "set", port, "master", "br0", "up"])?;
        netns::within(ns, || disable_ipv6().map(|_| ()))?;
        let addr = format!("{}/{PREFIX_LEN}", host.ip);
        netns::ip(&["-n", ns, "addr", "add", &addr, "dev", "eth0"])?;
        netns::ip(&["-n", ns, "link", "set", "eth0", "up"])?;
        netns::ip(&["-n", ns, "link", "set", "lo", "up"])?;
        if let Some(up) = host.link.up {
            tbf(ns, "eth0", up, host.link.queue)?;
        }
        if let Some(down) = host.link.down {
            tbf(sw, port, down, host.link.queue)?;
        }
        Ok(())
    }

    /// Sends every packet host `index` receives on eth0 to NFQUEUE 0 of its namespace.
    /// Call it once the delay line listens there (before, the packets would be dropped).
    pub fn queue_incoming(&self, index: usize) -> anyhow::Result<()> {
        self.iptables_in(
            index,
            &[
                "-t",
                "mangle",
                "-A",
                "PREROUTING",
                "-i",
                "eth0",
                "-j",
                "NFQUEUE",
                "--queue-num",
                "0",
            ],
        )
        .map(|_| ())
    }

    fn iptables_in(&self, index: usize, args: &[&str]) -> anyhow::Result<String> {
        let ns = &self.hosts[index].ns;
        let out = netns::command_in(ns, &self.iptables)
            .arg("-w")
            .args(args)
            .output()
            .with_context(|| format!("cannot run {} in {ns}", self.iptables))?;
        if !out.status.success() {
            anyhow::bail!(
                "{} {} in {ns} failed: {}",
                self.iptables,
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Counts, on host `index` (the tracker's), the HTTP announces each of `sources` sends to
    /// `port`: one iptables rule per source matching "GET /announce".
    pub fn count_announces(
        &self,
        index: usize,
        sources: &[Ipv4Addr],
        port: u16,
    ) -> anyhow::Result<()> {
        let port = port.to_string();
        for ip in sources {
            let src = format!("{ip}/32");
            self.iptables_in(
                index,
                &[
                    "-A",
                    "INPUT",
                    "-s",
                    &src,
                    "-p",
                    "tcp",
                    "--dport",
                    &port,
                    "-m",
                    "string",
                    "--algo",
                    "bm",
                    "--string",
                    "GET /announce",
                    "-j",
                    "ACCEPT",
                ],
            )?;
        }
        Ok(())
    }

    /// The announce counts set up by [`Network::count_announces`], per source address.
    pub fn announces(&self, index: usize) -> std::collections::BTreeMap<Ipv4Addr, u64> {
        let text = self
            .iptables_in(index, &["-L", "INPUT", "-v", "-x", "-n"])
            .unwrap_or_default();
        parse_counters(&text)
    }

    /// Sets the TCP congestion control of every host and reads back what each one uses.
    pub fn set_congestion(&self, cc: &str) -> anyhow::Result<Vec<String>> {
        let mut used = Vec::new();
        for h in &self.hosts {
            let cc = cc.to_string();
            used.push(netns::within(&h.ns, move || {
                netns::write_sysctl("net/ipv4/tcp_congestion_control", &cc)?;
                netns::read_sysctl("net/ipv4/tcp_congestion_control")
            })?);
        }
        Ok(used)
    }

    /// Deletes the namespaces (hosts first, then the switch). Processes inside must be gone.
    pub fn teardown(&mut self) {
        for name in self.created.drain(..).rev() {
            if let Err(e) = netns::ip(&["netns", "del", &name]) {
                tracing::warn!("teardown: {e:#}");
            }
        }
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.teardown();
    }
}

fn disable_ipv6() -> anyhow::Result<()> {
    // No IPv6 chatter (router solicitations, DAD) through the delay lines.
    netns::write_sysctl("net/ipv6/conf/all/disable_ipv6", "1")?;
    netns::write_sysctl("net/ipv6/conf/default/disable_ipv6", "1")
}

/// A token-bucket limit on `dev` in `ns`: `rate`, a burst of 4 ms at that rate (at least four
/// full frames), and room to queue `queue` worth of traffic.
fn tbf(ns: &str, dev: &str, rate: Rate, queue: Duration) -> anyhow::Result<()> {
    let (burst, limit) = tbf_sizes(rate, queue);
    netns::run(
        "tc",
        [
            "-n",
            ns,
            "qdisc",
            "add",
            "dev",
            dev,
            "root",
            "tbf",
            "rate",
            &format!("{}bit", rate.0),
            "burst",
            &burst.to_string(),
            "limit",
            &limit.to_string(),
        ],
    )
    .map(|_| ())
}

/// Burst and queue limit in bytes for a tbf at `rate` queueing up to `queue`.
pub fn tbf_sizes(rate: Rate, queue: Duration) -> (u64, u64) {
    let per_sec = rate.bytes_per_sec();
    let burst = ((per_sec * 0.004) as u64).max(4 * FRAME_BYTES as u64);
    let limit = (per_sec * queue.as_secs_f64()) as u64 + burst;
    (burst, limit)
}

/// Packet counts per source address from `iptables -L -v -x -n` (rules with a single source).
fn parse_counters(text: &str) -> std::collections::BTreeMap<Ipv4Addr, u64> {
    let mut counts = std::collections::BTreeMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(pkts), Some(src)) = (fields.first(), fields.get(7)) else {
            continue;
        };
        let (Ok(pkts), Ok(src)) = (pkts.parse::<u64>(), src.parse::<Ipv4Addr>()) else {
            continue;
        };
        *counts.entry(src).or_default() += pkts;
    }
    counts
}

/// Removes what earlier runs left behind: namespaces named `swlab-<pid>…` whose lab process is
/// gone (processes still inside them, started by that run, are killed by PID first). Returns
/// the namespaces removed.
pub fn clean_stale() -> Vec<String> {
    let mut removed = Vec::new();
    for name in netns::list() {
        let Some(pid) = owner_pid(&name) else {
            continue;
        };
        if lab_alive(pid) {
            continue;
        }
        for p in netns::pids(&name) {
            // SAFETY: kill by PID; these processes were started by a lab run that is gone.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        if netns::ip(&["netns", "del", &name]).is_ok() {
            removed.push(name);
        }
    }
    removed
}

/// The PID in a lab namespace name (`swlab-1234.0-sw` → 1234).
pub fn owner_pid(ns: &str) -> Option<i32> {
    let rest = ns.strip_prefix(PREFIX)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || !rest[digits.len()..].starts_with('.') {
        return None;
    }
    digits.parse().ok()
}

/// Whether the run `pid` may still be alive: any process with that PID counts (a reused PID
/// only delays the cleanup until it is gone; a live run is never torn down).
fn lab_alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_of_a_lab_namespace_is_read_from_its_name() {
        assert_eq!(owner_pid("swlab-1234.0-sw"), Some(1234));
        assert_eq!(owner_pid("swlab-77.12-h-leecher-01"), Some(77));
        assert_eq!(owner_pid("swlab-x.0-sw"), None);
        assert_eq!(owner_pid("swlab-12-sw"), None);
        assert_eq!(owner_pid("other-1.0"), None);
    }

    #[test]
    fn tbf_bursts_hold_four_frames_at_least_and_queues_scale_with_the_rate() {
        let (burst, limit) = tbf_sizes(Rate(10_000_000), Duration::from_millis(100));
        assert_eq!(burst, 6056);
        assert_eq!(limit, 125_000 + 6056);
        let (burst, _) = tbf_sizes(Rate(50_000_000), Duration::from_millis(100));
        assert_eq!(burst, 25_000);
    }

    #[test]
    fn announce_counters_are_read_per_source() {
        let text = "Chain INPUT (policy ACCEPT 10 packets, 900 bytes)\n    \
pkts      bytes target     prot opt in     out     source               destination\n      \
12     3000 ACCEPT     6    --  *      *       10.77.0.2            0.0.0.0/0            tcp dpt:6969 STRING match \"GET /announce\"\n       \
0        0 ACCEPT     6    --  *      *       10.77.0.3            0.0.0.0/0            tcp dpt:6969\n";
        let c = parse_counters(text);
        assert_eq!(c.get(&Ipv4Addr::new(10, 77, 0, 2)), Some(&12));
        assert_eq!(c.get(&Ipv4Addr::new(10, 77, 0, 3)), Some(&0));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn the_ceiling_is_about_95_6_percent() {
        assert!((ceiling() - 0.9564).abs() < 0.001);
    }
}
