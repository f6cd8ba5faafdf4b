//! The live-switch timeline chart: p99 latency per interval (a line, left axis) and failed
//! requests per interval (bars, right axis), with a vertical marker and label at every switch, so
//! a switch that costs latency or requests shows where it happened. Drawn with plotters' SVG
//! backend like the other charts (text as real SVG `<text>`, no fonts needed) and tagged
//! `<svg class="chart" data-chart="swap-timeline-W" ...>` for the browser test.
//!
//! Its own module (not `charts.rs`): a timeline has a continuous time axis and two y axes, which
//! the category charts there do not.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::charts::ChartError;
use crate::html::esc;
use filterbench_model::results::swap::{SwapResult, SwapRun};

const WIDTH: u32 = 900;
const HEIGHT: u32 = 380;
const FONT: &str = "sans-serif";
const P99_COLOR: RGBColor = RGBColor(0, 114, 178);
const FAIL_COLOR: RGBColor = RGBColor(192, 57, 43);
const SWITCH_COLOR: RGBColor = RGBColor(90, 90, 90);

/// The SVG of one run's timeline.
pub fn timeline(result: &SwapResult, run: &SwapRun) -> Result<String, ChartError> {
    let id = format!("swap-timeline-{}", run.workers);
    let title = format!(
        "{}: switching live at {} worker{}",
        result.pair,
        run.workers,
        if run.workers == 1 { "" } else { "s" }
    );
    let mut svg = String::new();
    draw(&mut svg, result, run, &title).map_err(|message| ChartError {
        chart: id.clone(),
        message,
    })?;
    let attrs = format!(
        "<svg class=\"chart\" data-chart=\"{}\" role=\"img\" aria-label=\"{}\" ",
        esc(&id),
        esc(&title)
    );
    let mut out = svg.replacen("<svg ", &attrs, 1);
    if let Some(end) = out.find(">\n") {
        out.insert_str(end + 2, &format!("<title>{}</title>\n", esc(&title)));
    }
    Ok(out)
}

fn draw(svg: &mut String, r: &SwapResult, run: &SwapRun, title: &str) -> Result<(), String> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<std::io::Error>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let left = TextStyle::from((FONT, 20).into_font()).pos(Pos::new(HPos::Left, VPos::Top));
    root.draw(&Text::new(title.to_string(), (12, 8), left))
        .map_err(e)?;
    let legend = TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let failed_any = run
        .timeline
        .iter()
        .any(|p| p.s5xx + p.reset + p.timeout + p.other > 0);
    let failed_label = if failed_any {
        "failed requests per interval"
    } else {
        "failed requests per interval (none)"
    };
    let mut x = 14;
    for (name, color) in [
        ("p99 latency (ms)", P99_COLOR),
        (failed_label, FAIL_COLOR),
        ("switch (file renamed)", SWITCH_COLOR),
    ] {
        root.draw(&Rectangle::new([(x, 38), (x + 12, 50)], color.filled()))
            .map_err(e)?;
        root.draw(&Text::new(name.to_string(), (x + 17, 44), legend.clone()))
            .map_err(e)?;
        x += 40 + 8 * name.chars().count() as i32;
    }
    let secs = |ms: f64| ms / 1000.0;
    let t_end = run
        .timeline
        .last()
        .map_or(run.duration_s, |p| secs(p.t_ms + r.interval_ms))
        .max(run.duration_s)
        .max(0.1);
    let p99_max = run
        .timeline
        .iter()
        .map(|p| p.p99_us as f64 / 1000.0)
        .fold(0.0, f64::max);
    let fail_max = run
        .timeline
        .iter()
        .map(|p| (p.s5xx + p.reset + p.timeout + p.other) as f64)
        .fold(0.0, f64::max);
    let y_hi = if p99_max > 0.0 { p99_max * 1.15 } else { 1.0 };
    // Whole requests: at least 0..5 so the axis never shows fractions of a request.
    let y2_hi = (fail_max * 1.15).ceil().max(5.0);
    let count_fmt = |v: &f64| format!("{v:.0}");
    let y_fmt = |v: &f64| axis_num(*v);
    let mut chart = ChartBuilder::on(&root)
        .margin_top(62)
        .margin_left(10)
        .margin_right(10)
        .margin_bottom(6)
        .x_label_area_size(46)
        .y_label_area_size(64)
        .right_y_label_area_size(56)
        .build_cartesian_2d(0.0..t_end, 0.0..y_hi)
        .map_err(e)?
        .set_secondary_coord(0.0..t_end, 0.0..y2_hi);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(12)
        .y_labels(6)
        .x_label_formatter(&y_fmt)
        .y_label_formatter(&y_fmt)
        .x_desc("time since the load started (s)")
        .y_desc("p99 latency (ms)")
        .axis_desc_style((FONT, 15))
        .label_style((FONT, 13))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()
        .map_err(e)?;
    chart
        .configure_secondary_axes()
        .y_labels(6)
        .y_label_formatter(&count_fmt)
        .y_desc("failed requests")
        .axis_desc_style((FONT, 15))
        .label_style((FONT, 13))
        .draw()
        .map_err(e)?;
    let half = secs(r.interval_ms) * 0.4;
    chart
        .draw_secondary_series(
            run.timeline
                .iter()
                .filter(|p| p.s5xx + p.reset + p.timeout + p.other > 0)
                .map(|p| {
                    let mid = secs(p.t_ms + r.interval_ms / 2.0);
                    let n = (p.s5xx + p.reset + p.timeout + p.other) as f64;
                    Rectangle::new([(mid - half, 0.0), (mid + half, n)], FAIL_COLOR.filled())
                }),
        )
        .map_err(e)?;
    let pts: Vec<(f64, f64)> = run
        .timeline
        .iter()
        .filter(|p| p.responses > 0)
        .map(|p| (secs(p.t_ms + r.interval_ms / 2.0), p.p99_us as f64 / 1000.0))
        .collect();
    chart
        .draw_series(LineSeries::new(pts, P99_COLOR.stroke_width(2)))
        .map_err(e)?;
    let label = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Top));
    for s in &run.switches {
        let x = secs(s.at_ms);
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, y_hi)],
                SWITCH_COLOR.stroke_width(2),
            )))
            .map_err(e)?;
        let (px, py) = chart.backend_coord(&(x, y_hi));
        let verdict = if s.accepted { "" } else { " (rejected)" };
        root.draw(&Text::new(
            format!("→ {}{verdict}", s.to),
            (px + 4, py + 2),
            label.clone(),
        ))
        .map_err(e)?;
    }
    root.present().map_err(e)?;
    Ok(())
}

fn axis_num(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
