//! Measures what the emulated links really do: round-trip time and loss with UDP probes
//! (an echo in one host, probes from another: each probe crosses both hosts' delay lines),
//! and the goodput of one TCP flow against the rate limit.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use crate::delayline::realtime;
use crate::netns;

const ECHO_PORT: u16 = 7001;
const FLOW_PORT: u16 = 7002;

/// Round trips of UDP probes.
#[derive(Debug, Clone, Serialize)]
pub struct RttStats {
    pub probes: u32,
    pub received: u32,
    /// Share of probes that did not come back (either direction lost them).
    pub loss: f64,
    pub mean_ms: f64,
    pub stddev_ms: f64,
    pub min_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub max_ms: f64,
}

/// Sends `probes` UDP probes from namespace `from` to an echo in namespace `to` (address
/// `to_ip`), one every `interval`, and measures their round trips.
pub fn udp_rtt(
    from: &str,
    to: &str,
    to_ip: Ipv4Addr,
    probes: u32,
    interval: Duration,
) -> anyhow::Result<RttStats> {
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let echo = {
        let (to, stop) = (to.to_string(), stop.clone());
        std::thread::spawn(move || -> anyhow::Result<()> {
            netns::enter(&to)?;
            // The echo and the prober wake on time like the delay lines, so the round trip
            // measures the links and not the machine's load.
            realtime();
            let sock = UdpSocket::bind((to_ip, ECHO_PORT)).context("echo: bind")?;
            sock.set_read_timeout(Some(Duration::from_millis(50)))?;
            let _ = ready_tx.send(());
            let mut buf = [0u8; 64];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((n, peer)) = sock.recv_from(&mut buf) {
                    let _ = sock.send_to(&buf[..n], peer);
                }
            }
            Ok(())
        })
    };
    if ready_rx.recv_timeout(Duration::from_secs(5)).is_err() {
        stop.store(true, Ordering::Relaxed);
        return Err(echo
            .join()
            .map_err(|_| anyhow::anyhow!("echo thread panicked"))?
            .err()
            .unwrap_or_else(|| anyhow::anyhow!("echo did not start")));
    }
    let rtts = netns::within(from, move || probe(to_ip, probes, interval));
    stop.store(true, Ordering::Relaxed);
    let _ = echo.join();
    let rtts = rtts?;
    Ok(summarize(probes, &rtts))
}

/// The probing side: returns the round trips (ms) of the probes that came back.
fn probe(to_ip: Ipv4Addr, probes: u32, interval: Duration) -> anyhow::Result<Vec<f64>> {
    realtime();
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    sock.connect((to_ip, ECHO_PORT))?;
    let start = Instant::now();
    let mut sent_at = Vec::with_capacity(probes as usize);
    let mut rtts = Vec::with_capacity(probes as usize);
    let mut buf = [0u8; 64];
    let mut receive_until =
        |sock: &UdpSocket, deadline: Instant, sent_at: &[Instant], rtts: &mut Vec<f64>| {
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return;
                }
                let _ = sock.set_read_timeout(Some(left));
                let Ok(n) = sock.recv(&mut buf) else { return };
                if n >= 4 {
                    let seq = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                    if let Some(t) = sent_at.get(seq) {
                        rtts.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                }
            }
        };
    for seq in 0..probes {
        let due = start + interval * seq;
        receive_until(&sock, due, &sent_at, &mut rtts);
        sent_at.push(Instant::now());
        // A refused send (no ARP answer yet) counts as a lost probe.
        let _ = sock.send(&seq.to_be_bytes());
    }
    receive_until(
        &sock,
        Instant::now() + Duration::from_secs(2),
        &sent_at,
        &mut rtts,
    );
    Ok(rtts)
}

fn summarize(probes: u32, rtts: &[f64]) -> RttStats {
    let mut sorted = rtts.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let mean = if n == 0 {
        0.0
    } else {
        sorted.iter().sum::<f64>() / n as f64
    };
    let var = if n < 2 {
        0.0
    } else {
        sorted.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
    };
    let q = |p: f64| {
        sorted
            .get(((n as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    RttStats {
        probes,
        received: n as u32,
        loss: 1.0 - n as f64 / probes.max(1) as f64,
        mean_ms: mean,
        stddev_ms: var.sqrt(),
        min_ms: sorted.first().copied().unwrap_or(0.0),
        p50_ms: q(0.5),
        p90_ms: q(0.9),
        max_ms: sorted.last().copied().unwrap_or(0.0),
    }
}

/// One TCP flow's goodput.
#[derive(Debug, Clone, Serialize)]
pub struct TcpFlow {
    /// Congestion control the sender's socket used.
    pub congestion: String,
    /// Payload received after the warm-up, per second, in bits.
    pub bits_per_sec: f64,
    pub measured_secs: f64,
}

/// Sends as fast as TCP allows from namespace `from` to namespace `to` for `duration`;
/// the goodput is counted after `warmup` (slow start / BBR's startup).
pub fn tcp_flow(
    from: &str,
    to: &str,
    to_ip: Ipv4Addr,
    duration: Duration,
    warmup: Duration,
) -> anyhow::Result<TcpFlow> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let receiver = {
        let to = to.to_string();
        std::thread::spawn(move || -> anyhow::Result<(u64, f64)> {
            netns::enter(&to)?;
            let listener = TcpListener::bind((to_ip, FLOW_PORT)).context("flow: bind")?;
            let _ = ready_tx.send(());
            let (mut conn, _) = listener.accept()?;
            conn.set_read_timeout(Some(duration + Duration::from_secs(10)))?;
            let start = Instant::now();
            let mut buf = vec![0u8; 1 << 16];
            let (mut counted, mut first, mut last) = (0u64, None, start);
            loop {
                let n = conn.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                let now = Instant::now();
                if now.duration_since(start) >= warmup {
                    first.get_or_insert(now);
                    counted += n as u64;
                    last = now;
                }
            }
            let secs = first
                .map(|f| last.duration_since(f).as_secs_f64())
                .unwrap_or(0.0);
            Ok((counted, secs))
        })
    };
    ready_rx
        .recv_timeout(Duration::from_secs(5))
        .map_err(|_| anyhow::anyhow!("flow receiver did not start"))?;
    let congestion = netns::within(from, move || {
        let addr = SocketAddr::from((to_ip, FLOW_PORT));
        let mut conn =
            TcpStream::connect_timeout(&addr, Duration::from_secs(5)).context("flow: connect")?;
        let cc = congestion_of(&conn);
        let chunk = vec![0x5au8; 1 << 16];
        let start = Instant::now();
        while start.elapsed() < duration {
            conn.write_all(&chunk)?;
        }
        conn.shutdown(std::net::Shutdown::Write)?;
        Ok(cc)
    })?;
    let (bytes, secs) = receiver
        .join()
        .map_err(|_| anyhow::anyhow!("flow receiver panicked"))??;
    Ok(TcpFlow {
        congestion,
        bits_per_sec: if secs > 0.0 {
            bytes as f64 * 8.0 / secs
        } else {
            0.0
        },
        measured_secs: secs,
    })
}

/// The congestion control algorithm of a connected socket (`TCP_CONGESTION`).
pub fn congestion_of(conn: &TcpStream) -> String {
    let mut name = [0u8; 16];
    let mut len = name.len() as libc::socklen_t;
    // SAFETY: a 16-byte buffer (TCP_CA_NAME_MAX) and its length.
    let rc = unsafe {
        libc::getsockopt(
            conn.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            name.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return "unknown".to_string();
    }
    let end = name.iter().position(|&b| b == 0).unwrap_or(len as usize);
    String::from_utf8_lossy(&name[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_counts_missing_probes_as_lost() {
        let s = summarize(10, &[10.0, 12.0, 14.0, 16.0, 18.0]);
        assert_eq!(s.received, 5);
        assert!((s.loss - 0.5).abs() < 1e-9);
        assert!((s.mean_ms - 14.0).abs() < 1e-9);
        assert_eq!(s.min_ms, 10.0);
        assert_eq!(s.p50_ms, 14.0);
        assert_eq!(s.max_ms, 18.0);
    }

    #[test]
    fn a_summary_of_nothing_is_all_lost_not_a_panic() {
        let s = summarize(3, &[]);
        assert_eq!(s.received, 0);
        assert_eq!(s.loss, 1.0);
    }
}
