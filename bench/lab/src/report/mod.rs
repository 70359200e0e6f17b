//! A scenario's report: what was measured (as JSON), the same as text ([`text`]) and as a
//! picture ([`plot`]); [`diagnose`] finds where the time went.

pub mod plot;
pub mod text;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::bound::Bound;
use crate::delayline::LineStats;
use crate::linkcheck::{RttStats, TcpFlow};
use crate::scenario::{Client, Link, Role};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub description: String,
    pub run_id: String,
    /// Unix seconds when the run started.
    pub started_unix: u64,
    /// Every leecher holds verified data and nothing failed.
    pub ok: bool,
    /// Why not, one line each.
    pub failures: Vec<String>,
    pub machine: Machine,
    /// Congestion control in use → number of hosts.
    pub congestion: BTreeMap<String, usize>,
    pub file_bytes: u64,
    pub piece_length: u64,
    pub pieces: u32,
    pub seeders: usize,
    pub leechers: usize,
    pub bound: Bound,
    /// Share of a tbf rate one TCP flow can carry (Ethernet framing): ~0.956.
    pub ceiling: f64,
    /// Seconds from t = 0 until every leecher held verified data.
    pub all_done_secs: Option<f64>,
    /// all_done_secs / T_min.
    pub ratio: Option<f64>,
    /// all_done_secs / (T_min / ceiling): against what a perfect schedule could reach here.
    pub ratio_to_ceiling: Option<f64>,
    pub seeder: SeederReport,
    /// Bytes of pieces that failed their hash check, as the clients count them (aria2c does
    /// not say: its hosts are listed in `failed_unknown`).
    pub failed_verification_bytes: u64,
    pub failed_unknown: Vec<String>,
    pub disk: DiskReport,
    pub hosts: Vec<HostReport>,
    pub link_check: Option<LinkCheckReport>,
    pub diagnosis: Diagnosis,
    pub events: Vec<Event>,
    pub timeline: Timeline,
    pub delay_lines: BTreeMap<String, LineStats>,
    /// HTTP announces the tracker received, from all hosts (counted by an iptables rule on
    /// its host).
    pub tracker_announces: u64,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Machine {
    pub cores: usize,
    pub load_before: [f64; 3],
    pub load_after: [f64; 3],
    pub kernel: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct SeederReport {
    /// Ethernet bytes the seeders sent (all of them).
    pub wire_bytes: u64,
    /// wire_bytes × 1448/1514 ÷ F: roughly the payload they sent, in copies of the file.
    pub payload_over_f: f64,
    /// What the seeder clients say they uploaded (payload), when they say it.
    pub client_uploaded: Option<u64>,
    pub client_over_f: Option<f64>,
    /// When the (last) seeder left, if it did.
    pub left_at: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct DiskReport {
    pub checked: usize,
    pub good: usize,
    /// Leechers whose data on disk has pieces that do not verify: (host, bad pieces).
    pub bad: Vec<(String, u32)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub name: String,
    pub group: String,
    pub role: Role,
    pub client: Client,
    pub ip: String,
    pub link: Link,
    pub start_secs: f64,
    /// When it held every piece, verified (leechers).
    pub completed_secs: Option<f64>,
    /// Who said so first: "client" (its own output) or "observer" (its have messages).
    pub completion_source: Option<String>,
    pub restarts: u32,
    /// Ethernet bytes sent and received.
    pub wire_sent: u64,
    pub wire_received: u64,
    pub client_uploaded: Option<u64>,
    pub client_downloaded: Option<u64>,
    pub client_failed_bytes: Option<u64>,
    /// HTTP announces the tracker received from it.
    pub tracker_announces: Option<u64>,
    /// Announces that failed, as the client reports them (swarm).
    pub tracker_errors: u32,
    /// Pieces it held at the end, per the observer.
    pub pieces_seen: u32,
    pub exit: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LinkCheckReport {
    pub from: String,
    pub to: String,
    pub expected_rtt_ms: f64,
    pub expected_jitter_ms: f64,
    pub rtt: RttStats,
    pub flow: TcpFlow,
    pub flow_limit_bits: Option<f64>,
}

/// Where the time went.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Diagnosis {
    /// When the peers' total upload first reached 50 % / 80 % of their total upload capacity.
    pub ramp_50_secs: Option<f64>,
    pub ramp_80_secs: Option<f64>,
    /// Share of the upload capacity used from t = 0 to the last completion (wire bytes).
    pub upload_utilization: Option<f64>,
    pub seeder_utilization: Option<f64>,
    pub leecher_utilization: Option<f64>,
    pub first_done_secs: Option<f64>,
    pub median_done_secs: Option<f64>,
    /// Last completion minus the median one.
    pub tail_secs: Option<f64>,
    /// What the leechers received on the wire ÷ (N·F): above ~1.05, data crossed twice.
    pub received_over_nf: Option<f64>,
    /// When the running leechers first held every piece between them (without the seeder);
    /// a seeder that sends each piece once gets there at F/u_s (÷ the ceiling).
    pub first_full_copy_secs: Option<f64>,
    /// Leechers' uploads (payload estimated from the wire) ÷ F: least, median, most. A wide
    /// spread means some leechers served far more than others.
    pub leecher_upload_over_f: Option<[f64; 3]>,
    /// Sentences for the text report.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub t: f64,
    pub what: String,
}

/// Series sampled during the run (times in seconds since t = 0).
#[derive(Debug, Clone, Serialize, Default)]
pub struct Timeline {
    /// Availability, from the observer.
    pub t: Vec<f64>,
    /// Fewest copies of any piece among the peers running.
    pub min_copies: Vec<u32>,
    /// min_copies plus the share of pieces with more copies than that (as libtorrent's
    /// "distributed copies").
    pub distributed_copies: Vec<f64>,
    pub mean_copies: Vec<f64>,
    /// Pieces held by at least one running leecher.
    pub leecher_union: Vec<u32>,
    /// Σ pieces held by leechers ÷ (N × pieces).
    pub done_fraction: Vec<f64>,
    pub running_peers: Vec<u32>,
    /// Upload rates, from the interface counters (bits/s of Ethernet frames).
    pub rate_t: Vec<f64>,
    pub seeder_up_bps: Vec<f64>,
    pub leechers_up_bps: Vec<f64>,
    /// Upload capacity of the seeders / the leechers (bits/s); 0 when unlimited.
    pub seeder_capacity_bps: f64,
    pub leechers_capacity_bps: f64,
}

impl Report {
    /// Writes `report.json`, `report.txt` and `report.svg` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(dir.join("report.json"), json).context("cannot write report.json")?;
        std::fs::write(dir.join("report.txt"), text::render(self))
            .context("cannot write report.txt")?;
        plot::draw(self, &dir.join("report.svg"))?;
        Ok(())
    }
}

/// Median of sorted values.
pub fn median(sorted: &[f64]) -> Option<f64> {
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Fills `report.diagnosis` from the hosts, the timeline and the seeder figures.
pub fn diagnose(report: &mut Report) {
    let mut done: Vec<f64> = report
        .hosts
        .iter()
        .filter(|h| h.role == Role::Leech)
        .filter_map(|h| h.completed_secs)
        .collect();
    done.sort_by(f64::total_cmp);
    let d = &mut report.diagnosis;
    d.first_done_secs = done.first().copied();
    d.median_done_secs = median(&done);
    d.tail_secs = match (done.last(), d.median_done_secs) {
        (Some(last), Some(m)) => Some(last - m),
        _ => None,
    };
    let tl = &report.timeline;
    let capacity = tl.seeder_capacity_bps + tl.leechers_capacity_bps;
    let end = report
        .all_done_secs
        .or(tl.rate_t.last().copied())
        .unwrap_or(0.0);
    if capacity > 0.0 && tl.leechers_capacity_bps > 0.0 {
        let total: Vec<f64> = tl
            .seeder_up_bps
            .iter()
            .zip(&tl.leechers_up_bps)
            .map(|(s, l)| s + l)
            .collect();
        let first_at = |share: f64| {
            tl.rate_t
                .iter()
                .zip(&total)
                .find(|(_, r)| **r >= share * capacity)
                .map(|(t, _)| *t)
        };
        d.ramp_50_secs = first_at(0.5);
        d.ramp_80_secs = first_at(0.8);
        let mean_until = |series: &[f64]| {
            let v: Vec<f64> = tl
                .rate_t
                .iter()
                .zip(series)
                .filter(|(t, _)| **t >= 0.0 && **t <= end)
                .map(|(_, r)| *r)
                .collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        d.upload_utilization = mean_until(&total).map(|m| m / capacity);
        d.leecher_utilization =
            mean_until(&tl.leechers_up_bps).map(|m| m / tl.leechers_capacity_bps);
        if tl.seeder_capacity_bps > 0.0 {
            let seeder_end = report.seeder.left_at.unwrap_or(end).min(end);
            let v: Vec<f64> = tl
                .rate_t
                .iter()
                .zip(&tl.seeder_up_bps)
                .filter(|(t, _)| **t >= 0.0 && **t <= seeder_end)
                .map(|(_, r)| *r)
                .collect();
            if !v.is_empty() {
                d.seeder_utilization =
                    Some(v.iter().sum::<f64>() / v.len() as f64 / tl.seeder_capacity_bps);
            }
        }
    }
    let pieces = report.pieces;
    report.diagnosis.first_full_copy_secs = report
        .timeline
        .t
        .iter()
        .zip(&report.timeline.leecher_union)
        .find(|(_, u)| **u == pieces)
        .map(|(t, _)| *t);
    let mut ups: Vec<f64> = report
        .hosts
        .iter()
        .filter(|h| h.role == Role::Leech)
        .map(|h| h.wire_sent as f64 * crate::topology::ceiling() / report.file_bytes.max(1) as f64)
        .collect();
    ups.sort_by(f64::total_cmp);
    if let (Some(lo), Some(mid), Some(hi)) = (ups.first(), median(&ups), ups.last()) {
        report.diagnosis.leecher_upload_over_f = Some([*lo, mid, *hi]);
    }
    let received: u64 = report
        .hosts
        .iter()
        .filter(|h| h.role == Role::Leech)
        .map(|h| h.wire_received)
        .sum();
    if report.leechers > 0 && report.file_bytes > 0 {
        let nf = report.leechers as f64 * report.file_bytes as f64;
        d.received_over_nf = Some(received as f64 * crate::topology::ceiling() / nf);
    }
    report.diagnosis.notes = notes(report);
}

/// Plain sentences about what stands out.
fn notes(r: &Report) -> Vec<String> {
    let mut notes = Vec::new();
    let d = &r.diagnosis;
    if r.bound.dominant == "F/u_s" && r.seeder.payload_over_f > 1.1 {
        notes.push(format!(
            "the seeder's uplink bounds this swarm and it sent about {:.2} copies of the file: pieces it sent more than once cost {:.0} s at its rate",
            r.seeder.payload_over_f,
            (r.seeder.payload_over_f - 1.0) * r.bound.seeder_term
        ));
    }
    if let Some(u) = d.seeder_utilization
        && u < 0.85
    {
        notes.push(format!(
            "the seeder's uplink was idle {:.0} % of the time it was there",
            100.0 * (1.0 - u)
        ));
    }
    if let Some(u) = d.leecher_utilization
        && u < 0.7
    {
        notes.push(format!(
            "the leechers used {:.0} % of their upload capacity until the last one finished",
            100.0 * u
        ));
    }
    if let (Some(r80), Some(t)) = (d.ramp_80_secs, r.all_done_secs)
        && r80 > 0.15 * t
    {
        notes.push(format!(
            "slow ramp-up: total upload reached 80 % of capacity only after {r80:.1} s"
        ));
    }
    if d.ramp_80_secs.is_none() && r.all_done_secs.is_some() && d.upload_utilization.is_some() {
        notes.push("total upload never reached 80 % of capacity".to_string());
    }
    let copy_time = r.bound.seeder_term / r.ceiling;
    if let Some(t) = d.first_full_copy_secs
        && r.bound.seeder_term > 0.0
        && t > 1.25 * copy_time
    {
        notes.push(format!(
            "the leechers held a full copy between them only after {t:.1} s; a seeder sending each piece once gives them one by {copy_time:.1} s"
        ));
    }
    if let Some([lo, _, hi]) = d.leecher_upload_over_f
        && hi > 2.0 * lo.max(0.05)
    {
        notes.push(format!(
            "uneven upload: one leecher sent {lo:.2} × F, another {hi:.2} × F"
        ));
    }
    if let (Some(tail), Some(t)) = (d.tail_secs, r.all_done_secs)
        && tail > 0.2 * t
    {
        notes.push(format!(
            "long tail: the last leecher finished {tail:.1} s after the median one"
        ));
    }
    if let Some(x) = d.received_over_nf
        && x > 1.08
    {
        notes.push(format!("the leechers received {x:.2} × N·F on the wire: data crossed more than once (duplicates, endgame, retransmissions)"));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, 2.0, 9.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), Some(3.0));
    }
}
