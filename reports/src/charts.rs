//! SVG charts, drawn with plotters' SVG backend into strings that the pages inline.
//!
//! Text: plotters is built without its font features (`ttf`, `ab_glyph`), so it lays text out
//! with a width estimate and writes real SVG `<text>` elements that the browser renders with its
//! own fonts. No font file, no system font lookup: works the same on a headless box. Titles,
//! legends and category labels are drawn by this module at computed pixel positions, so no label
//! depends on plotters choosing "nice" tick values.
//!
//! Every chart is tagged `<svg class="chart" data-chart="ID" role="img" aria-label="TITLE">` for
//! the browser test and screen readers. Charts take measured values only; a value that was not
//! measured is `None` and drawn as the text "n/a", never as a bar.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::decision::{Fate, Leaf, Step, TreeNode, Verdict, TREE};
use crate::html::esc;
use filterbench_model::TwinKind;

pub const BASE_COLOR: RGBColor = RGBColor(136, 136, 136);
pub const LUA_COLOR: RGBColor = RGBColor(0, 114, 178);
pub const WASM_COLOR: RGBColor = RGBColor(230, 159, 0);
pub const GO_WASM_COLOR: RGBColor = RGBColor(0, 158, 115);
pub const NATIVE_COLOR: RGBColor = RGBColor(213, 94, 0);

const WIDTH: u32 = 760;
const HEIGHT: u32 = 400;
const FONT: &str = "sans-serif";

/// A chart could not be drawn.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("chart `{chart}`: {message}")]
pub struct ChartError {
    pub chart: String,
    pub message: String,
}

/// One series: a name for the legend, a colour, a value per category (`None`: not measured), and
/// optionally a (low, high) interval per category drawn as an error bar.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub color: RGBColor,
    pub values: Vec<Option<f64>>,
    pub intervals: Option<Vec<Option<(f64, f64)>>>,
}

impl Series {
    pub fn new(name: &str, color: RGBColor, values: Vec<Option<f64>>) -> Series {
        Series {
            name: name.into(),
            color,
            values,
            intervals: None,
        }
    }
}

/// A chart: categories along x, series side by side within a category.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The `data-chart` id.
    pub id: &'static str,
    pub title: String,
    /// The x axis's description, with its unit where it has one.
    pub x_desc: String,
    /// The y axis's description, with its unit.
    pub y_desc: String,
    pub categories: Vec<String>,
    /// For a line chart: the x position of each category (e.g. worker counts); `None` for bars.
    pub x_positions: Option<Vec<f64>>,
    pub series: Vec<Series>,
    /// A horizontal line at a value, labelled in the legend, e.g. ratio 1 = "equal speed".
    pub reference: Option<(f64, &'static str)>,
}

fn err(chart: &str) -> impl Fn(String) -> ChartError + '_ {
    move |message| ChartError {
        chart: chart.into(),
        message,
    }
}

/// Tags the root `<svg>` element with the chart hooks and a `<title>`.
fn tag(svg: &str, id: &str, title: &str) -> String {
    let attrs = format!(
        "<svg class=\"chart\" data-chart=\"{}\" role=\"img\" aria-label=\"{}\" ",
        esc(id),
        esc(title)
    );
    let mut out = svg.replacen("<svg ", &attrs, 1);
    if let Some(end) = out.find(">\n") {
        out.insert_str(end + 2, &format!("<title>{}</title>\n", esc(title)));
    }
    out
}

/// Axis tick labels: few digits, no exponent.
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

/// The colour of a chart's reference line and its legend entry.
const REFERENCE_COLOR: RGBColor = RGBColor(192, 57, 43);

/// The title and legend across the top of a chart; the legend ends with the reference line, if
/// there is one (in the legend its label never collides with a bar).
fn header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    series: &[Series],
    reference: Option<&str>,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let title_style = TextStyle::from((FONT, 22).into_font()).pos(Pos::new(HPos::Left, VPos::Top));
    root.draw(&Text::new(title.to_string(), (12, 8), title_style))
        .map_err(e)?;
    let mut x = 14;
    for s in series {
        root.draw(&Rectangle::new([(x, 38), (x + 12, 50)], s.color.filled()))
            .map_err(e)?;
        let style = TextStyle::from((FONT, 16).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(s.name.clone(), (x + 17, 44), style))
            .map_err(e)?;
        x += 30 + 9 * s.name.chars().count() as i32;
    }
    if let Some(text) = reference {
        root.draw(&PathElement::new(
            vec![(x, 44), (x + 16, 44)],
            REFERENCE_COLOR.stroke_width(2),
        ))
        .map_err(e)?;
        let style = TextStyle::from((FONT, 16).into_font())
            .color(&REFERENCE_COLOR)
            .pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(text.to_string(), (x + 21, 44), style))
            .map_err(e)?;
    }
    Ok(())
}

fn value_range(series: &[Series]) -> (f64, f64) {
    let mut lo: f64 = 0.0;
    let mut hi: f64 = 0.0;
    for s in series {
        for v in s.values.iter().flatten() {
            lo = lo.min(*v);
            hi = hi.max(*v);
        }
        for (a, b) in s.intervals.iter().flatten().flatten() {
            lo = lo.min(*a);
            hi = hi.max(*b);
        }
    }
    if hi - lo <= 0.0 {
        hi = lo + 1.0;
    }
    let pad = (hi - lo) * 0.14;
    (if lo < 0.0 { lo - pad } else { lo }, hi + pad)
}

/// A grouped bar chart (categories along x, one bar per series in each), with value labels and,
/// where a series has intervals, error bars.
pub fn bars(chart: &Chart) -> Result<String, ChartError> {
    let mut svg = String::new();
    draw_bars(&mut svg, chart).map_err(err(chart.id))?;
    Ok(tag(&svg, chart.id, &chart.title))
}

fn draw_bars(svg: &mut String, c: &Chart) -> Result<(), String> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<std::io::Error>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    header(&root, &c.title, &c.series, c.reference.map(|r| r.1))?;
    let n = c.categories.len().max(1) as f64;
    let (lo, hi) = value_range(&c.series);
    let y_fmt = |v: &f64| axis_num(*v);
    let mut chart = ChartBuilder::on(&root)
        .margin_top(62)
        .margin_left(10)
        .margin_right(16)
        .margin_bottom(6)
        .x_label_area_size(52)
        .y_label_area_size(78)
        .build_cartesian_2d(-0.5f64..(n - 0.5), lo..hi)
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(8)
        .y_label_formatter(&y_fmt)
        .x_desc(c.x_desc.as_str())
        .y_desc(c.y_desc.as_str())
        .axis_desc_style((FONT, 16))
        .label_style((FONT, 14))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()
        .map_err(e)?;
    if lo < 0.0 {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(-0.5, 0.0), (n - 0.5, 0.0)],
                BLACK.stroke_width(1),
            )))
            .map_err(e)?;
    }
    if let Some((y, _)) = c.reference {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(-0.5, y), (n - 0.5, y)],
                REFERENCE_COLOR.stroke_width(2),
            )))
            .map_err(e)?;
    }
    let k = c.series.len().max(1) as f64;
    let slot = 0.8 / k;
    let label =
        |anchor: VPos| TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Center, anchor));
    for (j, s) in c.series.iter().enumerate() {
        for (i, v) in s.values.iter().enumerate() {
            let x0 = i as f64 - 0.4 + j as f64 * slot + slot * 0.06;
            let x1 = x0 + slot * 0.88;
            let cx = (x0 + x1) / 2.0;
            let Some(v) = *v else {
                chart
                    .draw_series(std::iter::once(Text::new(
                        "n/a".to_string(),
                        (cx, 0.0),
                        label(VPos::Bottom),
                    )))
                    .map_err(e)?;
                continue;
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x0, 0.0), (x1, v)],
                    s.color.filled(),
                )))
                .map_err(e)?;
            let interval = s
                .intervals
                .as_ref()
                .and_then(|iv| iv.get(i).copied().flatten());
            let top = match interval {
                Some((a, b)) => {
                    let w = slot * 0.18;
                    let style = BLACK.stroke_width(2);
                    chart
                        .draw_series([
                            PathElement::new(vec![(cx, a), (cx, b)], style),
                            PathElement::new(vec![(cx - w, a), (cx + w, a)], style),
                            PathElement::new(vec![(cx - w, b), (cx + w, b)], style),
                        ])
                        .map_err(e)?;
                    if v >= 0.0 {
                        b.max(v)
                    } else {
                        a.min(v)
                    }
                }
                None => v,
            };
            // A few pixels off the bar end (or the whisker), on the outside.
            let (anchor, dy) = if v >= 0.0 {
                (VPos::Bottom, -4)
            } else {
                (VPos::Top, 4)
            };
            let (px, py) = chart.backend_coord(&(cx, top));
            root.draw(&Text::new(axis_num(v), (px, py + dy), label(anchor)))
                .map_err(e)?;
        }
    }
    let positions: Vec<f64> = (0..c.categories.len()).map(|i| i as f64).collect();
    category_labels(&root, &chart, &c.categories, &positions, lo)?;
    root.present().map_err(e)?;
    Ok(())
}

/// Draws each category's label under the x axis at its position.
fn category_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &ChartContext<
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    categories: &[String],
    positions: &[f64],
    y_min: f64,
) -> Result<(), String> {
    let style = TextStyle::from((FONT, 16).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (label, x) in categories.iter().zip(positions) {
        let (px, py) = chart.backend_coord(&(*x, y_min));
        root.draw(&Text::new(label.clone(), (px, py + 6), style.clone()))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A line chart: each series a line through the categories at `x_positions`, with points and
/// value labels; an unmeasured point breaks nothing, it is left out.
pub fn lines(chart: &Chart) -> Result<String, ChartError> {
    let mut svg = String::new();
    draw_lines(&mut svg, chart).map_err(err(chart.id))?;
    Ok(tag(&svg, chart.id, &chart.title))
}

fn draw_lines(svg: &mut String, c: &Chart) -> Result<(), String> {
    let positions: Vec<f64> = c
        .x_positions
        .clone()
        .unwrap_or_else(|| (0..c.categories.len()).map(|i| i as f64).collect());
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<std::io::Error>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    header(&root, &c.title, &c.series, c.reference.map(|r| r.1))?;
    let x_lo = positions.iter().copied().fold(f64::INFINITY, f64::min);
    let x_hi = positions.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (x_lo, x_hi) = if x_lo.is_finite() && x_hi > x_lo {
        let pad = (x_hi - x_lo) * 0.1;
        (x_lo - pad, x_hi + pad)
    } else {
        (x_lo.min(0.0) - 1.0, x_hi.max(0.0) + 1.0)
    };
    let (lo, hi) = value_range(&c.series);
    let y_fmt = |v: &f64| axis_num(*v);
    let mut chart = ChartBuilder::on(&root)
        .margin_top(62)
        .margin_left(10)
        .margin_right(24)
        .margin_bottom(6)
        .x_label_area_size(52)
        .y_label_area_size(78)
        .build_cartesian_2d(x_lo..x_hi, lo..hi)
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(8)
        .y_label_formatter(&y_fmt)
        .x_desc(c.x_desc.as_str())
        .y_desc(c.y_desc.as_str())
        .axis_desc_style((FONT, 16))
        .label_style((FONT, 14))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()
        .map_err(e)?;
    for s in &c.series {
        let pts: Vec<(f64, f64)> = positions
            .iter()
            .zip(&s.values)
            .filter_map(|(x, v)| v.map(|v| (*x, v)))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), s.color.stroke_width(3)))
            .map_err(e)?;
        chart
            .draw_series(pts.iter().map(|p| Circle::new(*p, 5, s.color.filled())))
            .map_err(e)?;
        let style =
            TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
        for p in &pts {
            let (px, py) = chart.backend_coord(p);
            root.draw(&Text::new(axis_num(p.1), (px, py - 8), style.clone()))
                .map_err(e)?;
        }
    }
    category_labels(&root, &chart, &c.categories, &positions, lo)?;
    root.present().map_err(e)?;
    Ok(())
}

/// One row of the drawn tree: a node at its depth, the answer on the branch into it, and whether
/// the path `decide` took goes through it.
struct TreeRow {
    depth: usize,
    answer: Option<String>,
    node: &'static TreeNode,
    taken: bool,
}
/// What the walk over the tree marks as taken: the steps `decide` took, its end, the twins' fates.
struct TreeWalk<'a> {
    path: &'a [Step],
    leaf: Leaf,
    fates: &'a [(TwinKind, Fate)],
}
/// Appends `node` and everything below it to `rows`.
fn walk_tree(
    node: &'static TreeNode,
    depth: usize,
    answer: Option<String>,
    taken: bool,
    cx: &TreeWalk,
    rows: &mut Vec<TreeRow>,
) {
    let taken = taken
        && match node {
            TreeNode::Leaf(l) => *l == cx.leaf,
            TreeNode::Fate(f) => cx.fates.iter().any(|(_, g)| g == f),
            TreeNode::Ask(..) | TreeNode::EachWay(..) => true,
        };
    rows.push(TreeRow {
        depth,
        answer,
        node,
        taken,
    });
    if let TreeNode::EachWay(each, then) = node {
        let asked = taken && !cx.fates.is_empty();
        walk_tree(each, depth + 1, Some("each twin".into()), asked, cx, rows);
        walk_tree(then, depth + 1, Some("then".into()), taken, cx, rows);
        return;
    }
    let steps: Vec<&Step> = cx.path.iter().filter(|s| s.id == node.id()).collect();
    for (answers, child) in node.branches() {
        let child_taken = taken
            && steps
                .iter()
                .any(|s| answers.iter().any(|a| a.label() == s.answer));
        let label = answers
            .iter()
            .map(|a| a.label())
            .collect::<Vec<_>>()
            .join(" / ");
        walk_tree(child, depth + 1, Some(label), child_taken, cx, rows);
    }
}

/// The tree's rows, top to bottom, each marked taken or not.
fn tree_rows(path: &[Step], leaf: Leaf, fates: &[(TwinKind, Fate)]) -> Vec<TreeRow> {
    let mut rows = Vec::new();
    let cx = TreeWalk { path, leaf, fates };
    walk_tree(&TREE, 0, None, true, &cx, &mut rows);
    rows
}

/// A row's box: its text, fill colour and font weight (a taken end coloured by its outcome).
fn node_look(row: &TreeRow, fates: &[(TwinKind, Fate)]) -> (String, &'static str, &'static str) {
    match row.node {
        TreeNode::Leaf(l) => {
            let fill = match (row.taken, l.verdict(&[])) {
                (false, _) => "#f4f4f4",
                (true, Verdict::Migrate(_)) => "#d5f0dd",
                (true, Verdict::KeepLua) => "#f6d6d6",
                (true, _) => "#fbe8c8",
            };
            (
                format!("→ {}: {}", l.outcome_words().to_uppercase(), l.meaning()),
                fill,
                if row.taken { "bold" } else { "normal" },
            )
        }
        TreeNode::Fate(f) => {
            let kinds: Vec<&str> = fates
                .iter()
                .filter(|(_, g)| g == f)
                .map(|(k, _)| k.label())
                .collect();
            let who = if kinds.is_empty() {
                String::new()
            } else {
                format!(" [{}]", kinds.join(", "))
            };
            (
                format!(
                    "→ {}: {}{who}",
                    if *f == Fate::Candidate { "IN" } else { "OUT" },
                    f.words()
                ),
                match (row.taken, f) {
                    (false, _) => "#f4f4f4",
                    (true, Fate::Candidate) => "#d5f0dd",
                    (true, _) => "#f6d6d6",
                },
                if row.taken { "bold" } else { "normal" },
            )
        }
        TreeNode::EachWay(..) => (
            "For each proven twin (way out of Lua), ask:".to_string(),
            if row.taken { "#fde9e7" } else { "#ffffff" },
            if row.taken { "bold" } else { "normal" },
        ),
        TreeNode::Ask(q, _) => (
            q.text().to_string(),
            if row.taken { "#fde9e7" } else { "#ffffff" },
            if row.taken { "bold" } else { "normal" },
        ),
    }
}

/// The decision tree as an indented outline: every question and leaf, the path `decide` took
/// highlighted (thick lines, coloured boxes), the answer on every branch, and under each question
/// on the path the numbers it was answered with. The per-twin part is drawn once: a question is
/// highlighted when it was asked of some twin (each twin's answer under it), an end when some
/// twin ended there (the twins named in it); `fates` are where each twin ended.
pub fn tree(path: &[Step], leaf: Leaf, fates: &[(TwinKind, Fate)]) -> String {
    let rows = tree_rows(path, leaf, fates);

    const INDENT: usize = 62;
    // Compact: the tree has a per-twin part and the choice among the ways out, and the first
    // chart after it should still be on a tall window's first screen.
    const ROW: usize = 22;
    const LINE: usize = 14;
    const CHARS_PER_LINE: usize = 96;
    let mut body = String::new();
    let mut y = 24usize;
    // (depth, y of the node's box centre) of the last node at each depth, for the connectors.
    let mut parents: Vec<usize> = Vec::new();
    let mut right = 0usize;
    for row in &rows {
        let x = 12 + row.depth * INDENT;
        let cy = y;
        parents.truncate(row.depth);
        let stroke = if row.taken { "#c0392b" } else { "#bbbbbb" };
        let width = if row.taken { 3 } else { 1 };
        if let (Some(parent_y), Some(answer)) = (parents.last(), row.answer.as_deref()) {
            let px = x - INDENT + 10;
            body.push_str(&format!(
                "<path d=\"M{px} {} V{cy} H{x}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{width}\"/>\n",
                parent_y + 9
            ));
            body.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#555\" font-family=\"{FONT}\">{}</text>\n",
                px + 3,
                cy - 4,
                esc(answer)
            ));
        }
        let (text, fill, weight) = node_look(row, fates);
        let box_x = x + 8;
        // Bold text runs wider; boxes are sized generously from the character count.
        let per_char = if row.taken { 8.2 } else { 7.4 };
        let box_w = 16 + (per_char * text.chars().count() as f64) as usize;
        right = right.max(box_x + box_w);
        body.push_str(&format!(
            "<g data-node=\"{}\" data-taken=\"{}\"><rect x=\"{box_x}\" y=\"{}\" width=\"{box_w}\" height=\"17\" rx=\"4\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{width}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\" font-weight=\"{weight}\" font-family=\"{FONT}\">{}</text></g>\n",
            esc(row.node.id()),
            row.taken,
            cy - 8,
            box_x + 7,
            cy + 4,
            esc(&text)
        ));
        y += ROW;
        for step in path.iter().filter(|s| s.id == row.node.id() && row.taken) {
            let words = match step.twin {
                Some(k) => format!("{}: {} — {}", k.label(), step.answer, step.evidence),
                None => format!("answer: {} — {}", step.answer, step.evidence),
            };
            for line in wrap(&words, CHARS_PER_LINE) {
                body.push_str(&format!(
                    "<text class=\"evidence\" x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"#8a1c1c\" font-family=\"{FONT}\">{}</text>\n",
                    box_x + 8,
                    y - 8,
                    esc(&line)
                ));
                y += LINE;
            }
            y += 2;
        }
        parents.push(cy);
    }
    let height = y + 8;
    let width = (right + 12).max(940);
    let title = "The decision tree, the path taken highlighted";
    let svg = format!(
        "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>\n{body}</svg>\n"
    );
    tag(&svg, "tree", title)
}

/// The text content of every `<text>` element of an SVG, unescaped of surrounding whitespace (for
/// checking what a chart says).
pub fn svg_texts(svg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find("<text") {
        rest = &rest[start..];
        let Some(open_end) = rest.find('>') else {
            break;
        };
        let Some(close) = rest.find("</text>") else {
            break;
        };
        if close > open_end {
            out.push(rest[open_end + 1..close].trim().to_string());
        }
        rest = &rest[close + 7..];
    }
    out
}

/// Splits text into lines of at most `max` characters at spaces.
fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > max {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{decide, Evidence, PairedRounds, Policy, Triple};
    use filterbench_model::catalogue::{ChangeFrequency, Traits};

    #[test]
    fn bar_chart_has_labels_bars_and_hooks() {
        let c = Chart {
            id: "latency",
            title: "Latency at 1 worker".into(),
            x_desc: "percentile".into(),
            y_desc: "latency, µs".into(),
            categories: vec!["p50".into(), "p99".into()],
            x_positions: None,
            series: vec![
                Series::new("Lua", LUA_COLOR, vec![Some(120.0), Some(480.4)]),
                Series::new("Wasm", WASM_COLOR, vec![Some(130.0), None]),
            ],
            reference: None,
        };
        let svg = bars(&c).unwrap();
        assert!(
            svg.starts_with("<svg class=\"chart\" data-chart=\"latency\""),
            "{svg}"
        );
        let texts = svg_texts(&svg);
        for label in [
            "Latency at 1 worker",
            "percentile",
            "latency, µs",
            "p50",
            "p99",
            "Lua",
            "Wasm",
            "120",
            "480",
            "n/a",
        ] {
            assert!(
                texts.iter().any(|t| t == label),
                "no label {label}: {texts:?}"
            );
        }
        assert!(svg.matches("<rect").count() >= 3 + 2, "{svg}");
    }

    #[test]
    fn tree_marks_the_path_and_its_numbers() {
        let e = Evidence {
            equivalent: Some(true),
            equivalence_source: Some("real Envoy".into()),
            rounds: Some(PairedRounds {
                rate_rps: 3000.0,
                cpu_us: (0..8)
                    .map(|i| Triple {
                        base: Some(100.0 + i as f64),
                        lua: Some(130.0 + i as f64),
                        wasm: Some(170.0 + i as f64),
                        ..Triple::default()
                    })
                    .collect(),
                p50_us: vec![Triple::default(); 8]
                    .into_iter()
                    .map(|_| Triple {
                        base: Some(300.0),
                        lua: Some(330.0),
                        wasm: Some(360.0),
                        ..Triple::default()
                    })
                    .collect(),
                p90_us: vec![],
                p99_us: vec![],
            }),
            wasm_memory: Some(crate::decision::MemoryFit::constant(2.0)),
            traits: Traits {
                external_call: false,
                data_processing: false,
                custom_metrics: false,
                state: false,
                change_frequency: ChangeFrequency::Low,
            },
            capability_gap: None,
            other_twins: vec![],
        };
        let r = decide(&e, &Policy::default_policy());
        assert_eq!(r.leaf, Leaf::NotCheaperSimple);
        let svg = tree(&r.path, r.leaf, &r.ways);
        assert!(svg.contains("data-chart=\"tree\""));
        assert!(
            svg.contains("data-node=\"not_cheaper_simple\" data-taken=\"true\""),
            "{svg}"
        );
        assert!(svg.contains("data-node=\"cheaper_fits\" data-taken=\"false\""));
        assert!(svg.contains("data-node=\"capability\" data-taken=\"true\""));
        assert!(
            svg.contains("+40.0 [+40.0, +40.0]"),
            "the branch numbers are drawn"
        );
        // Every question asked (each once: one twin here), the per-twin part, the twin's end and
        // the leaf.
        assert_eq!(svg.matches("data-taken=\"true\"").count(), r.path.len() + 3);
        assert!(svg.contains("data-node=\"way_not_cheaper\" data-taken=\"true\""));
        assert!(
            svg.contains("Rust Wasm: no measurable difference") || svg.contains("Rust Wasm: no —"),
            "{svg}"
        );
    }

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
    }
}
