//! The report's picture (SVG): the leechers' completion times as a CDF against T_min, piece
//! availability over time, and upload rates against capacity.

use std::path::Path;

use plotters::prelude::*;

use super::Report;
use crate::scenario::Role;

const WIDTH: u32 = 960;
const PANEL: u32 = 340;

/// Any plotters error, as text.
fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing the report: {e:?}")
}

pub fn draw(r: &Report, path: &Path) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (WIDTH, 3 * PANEL + 40)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (title, rest) = root.split_vertically(40);
    let verdict = match (r.ok, r.all_done_secs, r.ratio) {
        (true, Some(t), Some(x)) => format!("done in {t:.1} s = {x:.2} × T_min"),
        (true, Some(t), None) => format!("done in {t:.1} s"),
        _ => "FAILED".to_string(),
    };
    title
        .draw_text(
            &format!(
                "{}: {} (T_min {:.1} s, {})",
                r.scenario, verdict, r.bound.t_min, r.bound.dominant
            ),
            &("sans-serif", 20).into_font().color(&BLACK),
            (10, 10),
        )
        .map_err(err)?;
    let panels = rest.split_evenly((3, 1));
    let x_max = x_extent(r);
    completion_cdf(r, &panels[0], x_max)?;
    availability(r, &panels[1], x_max)?;
    upload(r, &panels[2], x_max)?;
    root.present().map_err(err)?;
    Ok(())
}

fn x_extent(r: &Report) -> f64 {
    let last_t = r.timeline.t.last().copied().unwrap_or(0.0);
    let done = r.all_done_secs.unwrap_or(0.0);
    (last_t.max(done).max(r.bound.t_min / r.ceiling) * 1.05).max(1.0)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn completion_cdf(r: &Report, area: &Area, x_max: f64) -> anyhow::Result<()> {
    let mut done: Vec<f64> = r
        .hosts
        .iter()
        .filter(|h| h.role == Role::Leech)
        .filter_map(|h| h.completed_secs)
        .collect();
    done.sort_by(f64::total_cmp);
    let n = r.leechers.max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption("leechers holding verified data (CDF)", ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..x_max, 0f64..1.05f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("seconds since the leechers started")
        .y_desc("share done")
        .draw()
        .map_err(err)?;
    let mut steps = vec![(0.0, 0.0)];
    for (i, t) in done.iter().enumerate() {
        steps.push((*t, i as f64 / n));
        steps.push((*t, (i + 1) as f64 / n));
    }
    if let Some(last) = steps.last().copied() {
        steps.push((x_max, last.1));
    }
    chart
        .draw_series(LineSeries::new(steps, BLUE.stroke_width(2)))
        .map_err(err)?
        .label(format!("{} leechers", r.leechers))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    let vline = |t: f64| vec![(t, 0.0), (t, 1.05)];
    chart
        .draw_series(LineSeries::new(vline(r.bound.t_min), RED.stroke_width(1)))
        .map_err(err)?
        .label(format!("T_min {:.1} s", r.bound.t_min))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    let reach = r.bound.t_min / r.ceiling;
    chart
        .draw_series(LineSeries::new(vline(reach), MAGENTA.stroke_width(1)))
        .map_err(err)?
        .label(format!("T_min / ceiling {reach:.1} s"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], MAGENTA));
    legend_at(&mut chart, SeriesLabelPosition::UpperLeft)
}

fn availability(r: &Report, area: &Area, x_max: f64) -> anyhow::Result<()> {
    let tl = &r.timeline;
    // Headroom above the lines for the legend.
    let y_max = tl.mean_copies.iter().copied().fold(1.0, f64::max) * 1.6;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "piece availability among running peers (observer)",
            ("sans-serif", 16),
        )
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .right_y_label_area_size(50)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(err)?
        .set_secondary_coord(0f64..x_max, 0f64..1.6f64);
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("copies per piece")
        .draw()
        .map_err(err)?;
    chart
        .configure_secondary_axes()
        .y_desc("share of the pieces")
        .draw()
        .map_err(err)?;
    let series = |v: &[f64]| {
        tl.t.iter()
            .copied()
            .zip(v.iter().copied())
            .collect::<Vec<_>>()
    };
    chart
        .draw_series(LineSeries::new(
            series(&tl.distributed_copies),
            BLUE.stroke_width(2),
        ))
        .map_err(err)?
        .label("distributed copies (min + share above min; left axis)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(
            series(&tl.mean_copies),
            GREEN.stroke_width(2),
        ))
        .map_err(err)?
        .label("mean copies (left axis)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN.stroke_width(2)));
    let pieces = r.pieces.max(1) as f64;
    let union: Vec<f64> = tl
        .leecher_union
        .iter()
        .map(|&u| u as f64 / pieces)
        .collect();
    chart
        .draw_secondary_series(LineSeries::new(series(&union), BLACK.stroke_width(1)))
        .map_err(err)?
        .label("pieces the running leechers hold together (right axis; 1 = a full copy)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)
}

fn upload(r: &Report, area: &Area, x_max: f64) -> anyhow::Result<()> {
    let tl = &r.timeline;
    let mbit = |v: f64| v / 1e6;
    let peak = tl
        .seeder_up_bps
        .iter()
        .chain(&tl.leechers_up_bps)
        .copied()
        .fold(
            tl.seeder_capacity_bps.max(tl.leechers_capacity_bps),
            f64::max,
        );
    let mut chart = ChartBuilder::on(area)
        .caption(
            "upload (Ethernet frames) against capacity",
            ("sans-serif", 16),
        )
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..x_max, 0f64..(mbit(peak) * 1.6).max(1.0))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("Mbit/s")
        .draw()
        .map_err(err)?;
    let series = |v: &[f64]| {
        tl.rate_t
            .iter()
            .copied()
            .zip(v.iter().map(|b| mbit(*b)))
            .filter(|(t, _)| *t >= 0.0)
            .collect::<Vec<_>>()
    };
    chart
        .draw_series(LineSeries::new(
            series(&tl.leechers_up_bps),
            BLUE.stroke_width(2),
        ))
        .map_err(err)?
        .label("leechers, all together")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(
            series(&tl.seeder_up_bps),
            RED.stroke_width(2),
        ))
        .map_err(err)?
        .label("seeder(s)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
    for (cap, color, label) in [
        (tl.leechers_capacity_bps, BLUE, "leechers' capacity"),
        (tl.seeder_capacity_bps, RED, "seeders' capacity"),
    ] {
        if cap > 0.0 {
            chart
                .draw_series(LineSeries::new(
                    vec![(0.0, mbit(cap)), (x_max, mbit(cap))],
                    color.mix(0.4),
                ))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.mix(0.4)));
        }
    }
    legend_at(&mut chart, SeriesLabelPosition::UpperLeft)
}

fn legend_at<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<
        'a,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    position: SeriesLabelPosition,
) -> anyhow::Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)
}
