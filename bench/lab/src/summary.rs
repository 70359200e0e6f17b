//! The closing table of a run with several scenarios, and the comparisons scenarios ask
//! for (`compare_with`).

use std::fmt::Write;

use crate::report::Report;
use crate::scenario::Scenario;

pub fn render(runs: &[(Scenario, Report)]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "== summary ==");
    let _ = writeln!(
        o,
        "{:<14} {:<7} {:>9} {:>9} {:>7} {:>11} {:>10}",
        "scenario", "result", "done s", "T_min s", "÷T_min", "seeder ÷F", "failed B"
    );
    for (_, r) in runs {
        let _ = writeln!(
            o,
            "{:<14} {:<7} {:>9} {:>9.1} {:>7} {:>11.2} {:>10}",
            r.scenario,
            if r.ok { "ok" } else { "FAILED" },
            r.all_done_secs
                .map(|t| format!("{t:.1}"))
                .unwrap_or("–".into()),
            r.bound.t_min,
            r.ratio.map(|x| format!("{x:.2}")).unwrap_or("–".into()),
            r.seeder.payload_over_f,
            r.failed_verification_bytes
        );
    }
    for (sc, r) in runs {
        let Some(other) = &sc.compare_with else {
            continue;
        };
        let Some((_, base)) = runs.iter().find(|(s, _)| &s.name == other) else {
            continue;
        };
        if let Some(line) = compare(r, base) {
            let _ = writeln!(o, "{line}");
        }
    }
    o
}

/// "flash-crowd finished 12 % sooner than libtorrent (61.0 s vs 69.3 s)".
pub fn compare(r: &Report, base: &Report) -> Option<String> {
    let (a, b) = (r.all_done_secs?, base.all_done_secs?);
    let sooner = 1.0 - a / b;
    Some(if sooner >= 0.0 {
        format!(
            "{} finished {:.0} % sooner than {} ({a:.1} s vs {b:.1} s)",
            r.scenario,
            100.0 * sooner,
            base.scenario
        )
    } else {
        format!(
            "{} finished {:.0} % later than {} ({a:.1} s vs {b:.1} s)",
            r.scenario,
            -100.0 * sooner,
            base.scenario
        )
    })
}
