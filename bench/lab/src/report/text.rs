//! The report as text: the verdict and the bound first, then where the time went, then one
//! line per host.

use std::fmt::Write;

use super::Report;
use crate::scenario::Role;
use crate::units::Size;

pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = write_all(r, &mut o);
    o
}

fn write_all(r: &Report, o: &mut String) -> std::fmt::Result {
    writeln!(o, "== {} ==  {}", r.scenario, r.description)?;
    writeln!(
        o,
        "payload {} in {} pieces of {}; {} seeder(s), {} leechers; run {}",
        Size(r.file_bytes),
        r.pieces,
        Size(r.piece_length),
        r.seeders,
        r.leechers,
        r.run_id
    )?;
    let cc: Vec<String> = r
        .congestion
        .iter()
        .map(|(k, n)| format!("{k} on {n} hosts"))
        .collect();
    writeln!(
        o,
        "machine: {} cores, load {:.1} before / {:.1} after (shared with other work), kernel {}; TCP congestion control: {}",
        r.machine.cores,
        r.machine.load_before[0],
        r.machine.load_after[0],
        r.machine.kernel,
        cc.join(", ")
    )?;
    if let Some(lc) = &r.link_check {
        let limit = lc
            .flow_limit_bits
            .map(|l| {
                format!(
                    " = {:.1} % of {:.1} Mbit/s",
                    100.0 * lc.flow.bits_per_sec / l,
                    l / 1e6
                )
            })
            .unwrap_or_default();
        writeln!(
            o,
            "link check {} → {}: RTT {:.1} ms (configured {:.0} ± {:.0}), sd {:.1}, {} of {} probes lost; one TCP flow ({}) {:.2} Mbit/s{}",
            lc.from,
            lc.to,
            lc.rtt.mean_ms,
            lc.expected_rtt_ms,
            lc.expected_jitter_ms,
            lc.rtt.stddev_ms,
            lc.rtt.probes - lc.rtt.received,
            lc.rtt.probes,
            lc.flow.congestion,
            lc.flow.bits_per_sec / 1e6,
            limit
        )?;
    }
    let b = &r.bound;
    writeln!(
        o,
        "T_min = {:.1} s ({}): F/u_s {:.1} s, F/min d_i {:.1} s, N·F/(u_s+Σu_i) {:.1} s; ceiling {:.1} % (Ethernet framing) → {:.1} s reachable",
        b.t_min,
        b.dominant,
        b.seeder_term,
        b.download_term,
        b.aggregate_term,
        100.0 * r.ceiling,
        b.t_min / r.ceiling
    )?;
    match (r.all_done_secs, r.ratio) {
        (Some(t), Some(ratio)) => writeln!(
            o,
            "RESULT {}: every leecher held verified data after {:.1} s = {:.2} × T_min ({:.2} × the reachable {:.1} s)",
            if r.ok { "OK" } else { "FAILED" },
            t,
            ratio,
            r.ratio_to_ceiling.unwrap_or(0.0),
            b.t_min / r.ceiling
        )?,
        (Some(t), None) => writeln!(
            o,
            "RESULT {}: every leecher done after {t:.1} s",
            if r.ok { "OK" } else { "FAILED" }
        )?,
        _ => writeln!(o, "RESULT FAILED: not every leecher finished")?,
    }
    for f in &r.failures {
        writeln!(o, "  failure: {f}")?;
    }
    let s = &r.seeder;
    let client = match (s.client_uploaded, s.client_over_f) {
        (Some(b), Some(x)) => format!("; its client says {} = {x:.2} × F", Size(b.max(1))),
        _ => String::new(),
    };
    let left = s
        .left_at
        .map(|t| format!("; left at {t:.1} s"))
        .unwrap_or_default();
    writeln!(
        o,
        "seeder upload: {} on the wire ≈ {:.2} × F of payload{client}{left}",
        Size(s.wire_bytes.max(1)),
        s.payload_over_f
    )?;
    let unknown = if r.failed_unknown.is_empty() {
        String::new()
    } else {
        format!(" (not reported by {})", r.failed_unknown.join(", "))
    };
    writeln!(
        o,
        "failed verification: {} bytes{unknown}; data on disk: {}/{} leechers verified{}",
        r.failed_verification_bytes,
        r.disk.good,
        r.disk.checked,
        if r.disk.bad.is_empty() {
            String::new()
        } else {
            format!(
                ", bad pieces at {}",
                r.disk
                    .bad
                    .iter()
                    .map(|(h, n)| format!("{h} ({n})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    )?;
    let d = &r.diagnosis;
    let opt = |v: Option<f64>| v.map(|v| format!("{v:.1} s")).unwrap_or("–".into());
    let pct = |v: Option<f64>| {
        v.map(|v| format!("{:.0} %", 100.0 * v))
            .unwrap_or("–".into())
    };
    writeln!(
        o,
        "completion: first {}, median {}, last {} (tail {}); ramp-up to 50 % / 80 % of upload capacity at {} / {}",
        opt(d.first_done_secs),
        opt(d.median_done_secs),
        opt(r.all_done_secs),
        opt(d.tail_secs),
        opt(d.ramp_50_secs),
        opt(d.ramp_80_secs)
    )?;
    writeln!(
        o,
        "upload capacity used until the last completion: {} in all, seeder {}, leechers {}; leechers received {} × N·F; announces {}",
        pct(d.upload_utilization),
        pct(d.seeder_utilization),
        pct(d.leecher_utilization),
        d.received_over_nf
            .map(|x| format!("{x:.2}"))
            .unwrap_or("–".into()),
        r.tracker_announces
    )?;
    writeln!(
        o,
        "first full copy among the leechers at {} (one copy from the seeder takes {:.1} s); leechers' upload ÷ F least / median / most: {}",
        opt(d.first_full_copy_secs),
        r.bound.seeder_term / r.ceiling,
        d.leecher_upload_over_f
            .map(|[a, b, c]| format!("{a:.2} / {b:.2} / {c:.2}"))
            .unwrap_or("–".into())
    )?;
    for n in &d.notes {
        writeln!(o, "  note: {n}")?;
    }
    for e in &r.events {
        writeln!(o, "  {:>7.1} s  {}", e.t, e.what)?;
    }
    writeln!(
        o,
        "{:<14} {:<10} {:<6} {:>8} {:>4} {:>9} {:>9} {:>9} {:>7}",
        "host", "client", "role", "done s", "rst", "up MiB", "down MiB", "failed B", "annc"
    )?;
    for h in &r.hosts {
        let mib = |b: u64| b as f64 / 1048576.0;
        writeln!(
            o,
            "{:<14} {:<10} {:<6} {:>8} {:>4} {:>9.1} {:>9.1} {:>9} {:>7}",
            h.name,
            h.client.as_str(),
            if h.role == Role::Seed {
                "seed"
            } else {
                "leech"
            },
            h.completed_secs
                .map(|t| format!("{t:.1}"))
                .unwrap_or("–".into()),
            h.restarts,
            mib(h.wire_sent),
            mib(h.wire_received),
            h.client_failed_bytes
                .map(|b| b.to_string())
                .unwrap_or("?".into()),
            h.tracker_announces
                .map(|n| n.to_string())
                .unwrap_or("–".into()),
        )?;
    }
    writeln!(
        o,
        "(up/down: Ethernet bytes on the host's link; annc: HTTP announces the tracker received from it)"
    )?;
    Ok(())
}
