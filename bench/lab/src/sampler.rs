//! Traffic counters of every host, read from the switch's side of each veth pair
//! (`/proc/thread-self/net/dev` of a thread in the switch namespace): bytes a port
//! receives are what its host sent (after the upload limit), bytes it transmits are what the
//! host was sent. Ethernet frames, headers included, as tbf counts them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::netns;

/// Counters of all hosts at one moment.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Seconds since t = 0 (may be negative: before the leechers started).
    pub t: f64,
    /// Per host (in host order): bytes sent, bytes received.
    pub sent: Vec<u64>,
    pub received: Vec<u64>,
}

pub struct Sampler {
    samples: Arc<parking_lot::Mutex<Vec<Sample>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Samples the ports `ports` (in host order) of namespace `switch_ns` every `every`,
    /// with times relative to `t0`.
    pub fn start(
        switch_ns: &str,
        ports: Vec<String>,
        t0: Instant,
        every: Duration,
    ) -> anyhow::Result<Sampler> {
        let samples = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ns, out, flag) = (switch_ns.to_string(), samples.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("sampler".into())
            .spawn(move || {
                if let Err(e) = netns::enter(&ns) {
                    tracing::error!("sampler: {e:#}");
                    return;
                }
                while !flag.load(Ordering::Relaxed) {
                    if let Ok(text) = std::fs::read_to_string("/proc/thread-self/net/dev") {
                        let t = signed_secs(t0);
                        out.lock().push(parse(&text, &ports, t));
                    }
                    std::thread::sleep(every);
                }
            })
            .context("cannot start the sampler")?;
        Ok(Sampler {
            samples,
            stop,
            thread: Some(thread),
        })
    }

    /// Stops and returns every sample.
    pub fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        std::mem::take(&mut *self.samples.lock())
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Seconds since `t0`, negative before it.
pub fn signed_secs(t0: Instant) -> f64 {
    let now = Instant::now();
    if now >= t0 {
        now.duration_since(t0).as_secs_f64()
    } else {
        -t0.duration_since(now).as_secs_f64()
    }
}

/// Reads `/proc/net/dev`: per port, (received by the port = sent by its host, transmitted).
fn parse(text: &str, ports: &[String], t: f64) -> Sample {
    let mut sent = vec![0; ports.len()];
    let mut received = vec![0; ports.len()];
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let Some(i) = ports.iter().position(|p| p == name.trim()) else {
            continue;
        };
        let fields: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        if fields.len() >= 16 {
            sent[i] = fields[0];
            received[i] = fields[8];
        }
    }
    Sample { t, sent, received }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_receives_what_its_host_sends() {
        let text = "Inter-|   Receive                                                |  Transmit\n \
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n    \
p0: 1000 10 0 0 0 0 0 0 5000 20 0 0 0 0 0 0\n    \
p1: 7 1 0 0 0 0 0 0 9 1 0 0 0 0 0 0\n";
        let s = parse(text, &["p1".to_string(), "p0".to_string()], 1.5);
        assert_eq!(s.sent, [7, 1000]);
        assert_eq!(s.received, [9, 5000]);
        assert_eq!(s.t, 1.5);
    }
}
