//! `lab check`: verifies the emulated link on its own — two hosts with the same link, UDP
//! probes for the round trip and the loss rate, then one TCP flow per congestion control —
//! and prints measured against configured.

use std::time::Duration;

use serde::Serialize;

use crate::delayline::{DelayLine, Impairment};
use crate::linkcheck::{self, RttStats, TcpFlow};
use crate::scenario::{Link, host_ip};
use crate::topology::{self, Network};

/// What `lab check` measures.
#[derive(Debug, Clone)]
pub struct CheckPlan {
    pub link: Link,
    pub probes: u32,
    pub interval: Duration,
    pub tcp: Duration,
    pub congestion: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub link: Link,
    /// Expected round trip: both hosts' delays.
    pub expected_rtt_ms: f64,
    /// Expected probe loss: a probe crosses two delay lines.
    pub expected_loss: f64,
    pub rtt: RttStats,
    pub flows: Vec<TcpFlow>,
    /// The rate one flow can reach: min(up, down).
    pub flow_limit_bits: Option<f64>,
}

pub fn run(plan: &CheckPlan, run_id: &str) -> anyhow::Result<CheckResult> {
    let names = ["a".to_string(), "b".to_string()];
    let ips = [host_ip(0), host_ip(1)];
    let links = [plan.link.clone(), plan.link.clone()];
    let mut net = Network::create(run_id, &names, &ips, &links)?;
    let mut lines = Vec::new();
    let result = (|| {
        if plan.link.impaired() {
            for (i, h) in net.hosts.iter().enumerate() {
                let imp = Impairment {
                    delay: plan.link.delay,
                    jitter: plan.link.jitter,
                    loss: plan.link.loss,
                };
                lines.push(DelayLine::start(&h.ns, imp, 1000 + i as u64)?);
                net.queue_incoming(i)?;
            }
        }
        let (a, b) = (&net.hosts[0], &net.hosts[1]);
        // Let ARP settle so the first probes are not lost to it.
        let _ = linkcheck::udp_rtt(&a.ns, &b.ns, b.ip, 3, Duration::from_millis(20));
        let rtt = linkcheck::udp_rtt(&a.ns, &b.ns, b.ip, plan.probes, plan.interval)?;
        let mut flows = Vec::new();
        for cc in &plan.congestion {
            net.set_congestion(cc)?;
            flows.push(linkcheck::tcp_flow(
                &a.ns,
                &b.ns,
                b.ip,
                plan.tcp,
                plan.tcp / 4,
            )?);
        }
        let flow_limit_bits = match (plan.link.up, plan.link.down) {
            (Some(u), Some(d)) => Some(u.bits_per_sec().min(d.bits_per_sec())),
            (Some(r), None) | (None, Some(r)) => Some(r.bits_per_sec()),
            (None, None) => None,
        };
        Ok(CheckResult {
            link: plan.link.clone(),
            expected_rtt_ms: 2.0 * plan.link.delay.as_secs_f64() * 1e3,
            expected_loss: 1.0 - (1.0 - plan.link.loss).powi(2),
            rtt,
            flows,
            flow_limit_bits,
        })
    })();
    for line in lines {
        let _ = line.stop();
    }
    net.teardown();
    result
}

/// The result as lines of text.
pub fn render(r: &CheckResult) -> String {
    let mut out = String::new();
    let l = &r.link;
    out += &format!(
        "link: up {}, down {}, delay {:?} ± {:?}, loss {:.3} % per host (tbf queue {:?})\n",
        l.up.map(|r| r.to_string()).unwrap_or("unlimited".into()),
        l.down.map(|r| r.to_string()).unwrap_or("unlimited".into()),
        l.delay,
        l.jitter,
        l.loss * 100.0,
        l.queue
    );
    let t = &r.rtt;
    out += &format!(
        "round trip ({} UDP probes): mean {:.1} ms (expected {:.1}), sd {:.1}, min {:.1}, p50 {:.1}, p90 {:.1}, max {:.1}\n",
        t.probes, t.mean_ms, r.expected_rtt_ms, t.stddev_ms, t.min_ms, t.p50_ms, t.p90_ms, t.max_ms
    );
    out += &format!(
        "probe loss: {} of {} = {:.3} % (expected {:.3} %: two delay lines)\n",
        t.probes - t.received,
        t.probes,
        t.loss * 100.0,
        r.expected_loss * 100.0
    );
    for f in &r.flows {
        match r.flow_limit_bits {
            Some(limit) => {
                out += &format!(
                    "one TCP flow ({}): {:.2} Mbit/s = {:.1} % of the {:.1} Mbit/s limit (ceiling {:.1} %: Ethernet framing)\n",
                    f.congestion,
                    f.bits_per_sec / 1e6,
                    100.0 * f.bits_per_sec / limit,
                    limit / 1e6,
                    100.0 * topology::ceiling()
                )
            }
            None => {
                out += &format!(
                    "one TCP flow ({}): {:.2} Mbit/s\n",
                    f.congestion,
                    f.bits_per_sec / 1e6
                )
            }
        }
    }
    out
}
