//! `claims.html`: the quoted operation table beside our own measurements, each claim judged.

use std::fmt::Write as _;

use super::index::machine_words;
use super::RenderError;
use crate::charts::{self, Chart, Series, BASE_COLOR, WASM_COLOR};
use crate::claims;
use crate::evidence::{DataKind, Missing, ResultSet};
use crate::html::{self, esc, Cell, PageKind};
use filterbench_model::results::{bench_summary_path, load_path};

pub(super) fn claims_page(results: &ResultSet) -> Result<(String, Vec<Missing>), RenderError> {
    let file = bench_summary_path(&results.dir);
    let mut b = String::new();
    b.push_str(&html::para(
        "Blog posts quote a table of Lua-vs-Wasm operation costs. Here it is beside the same \
         operations measured in-process on this machine (Lua and Wasm timed in alternating \
         batches, paired ratios with 95% bootstrap intervals).",
    ));
    b.push_str("<h2>The rule: when does a claim hold?</h2>\n<ul class=\"rule\">\n");
    for line in claims::RULE {
        let _ = writeln!(b, "<li>{}</li>", esc(line));
    }
    b.push_str("</ul>\n");
    b.push_str(&html::note(claims::INSTRUCTIONS_NOTE));
    let mut missing = Vec::new();
    let ops = results.bench.as_ref().map(|s| &s.operations);
    match ops {
        Some(ops) if !ops.is_empty() => {
            let checks: Vec<_> = ops.iter().map(claims::judge).collect();
            let rows: Vec<(String, Vec<Cell>)> = ops
                .iter()
                .zip(&checks)
                .map(|(o, c)| {
                    let ratio = |r: Option<f64>| r.map_or("n/a".into(), |r| format!("{r:.2}x"));
                    let ci = |e: &filterbench_model::results::Estimate| {
                        format!(
                            "{} [{} – {}]",
                            html::num(e.median_ns),
                            html::num(e.ci_low_ns),
                            html::num(e.ci_high_ns)
                        )
                    };
                    (
                        format!(
                            "data-op=\"{}\" data-claim=\"{}\"",
                            esc(&o.op),
                            c.outcome.id()
                        ),
                        vec![
                            Cell::Html(format!(
                                "<strong>{}</strong><br>{}",
                                esc(&o.op),
                                esc(&o.description)
                            )),
                            Cell::Num(html::num(o.claimed_lua_ns)),
                            Cell::Num(html::num(o.claimed_wasm_ns)),
                            Cell::Num(ratio(c.claimed_ratio)),
                            Cell::Num(ci(&o.lua)),
                            Cell::Num(ci(&o.wasm)),
                            Cell::Num(ratio(c.measured_ratio)),
                            Cell::Html(format!(
                                "<strong>{}</strong>: {}",
                                esc(c.outcome.words()),
                                esc(&c.why)
                            )),
                        ],
                    )
                })
                .collect();
            b.push_str("<h2>Claimed beside measured</h2>\n");
            b.push_str(&html::table(
                &[
                    "operation",
                    "claimed Lua, ns",
                    "claimed Wasm, ns",
                    "claimed ratio (Lua ÷ Wasm)",
                    "measured Lua, ns [95% CI]",
                    "measured Wasm, ns [95% CI]",
                    "measured ratio (Lua ÷ Wasm)",
                    "did the claim hold?",
                ],
                &rows,
            ));
            let held = checks
                .iter()
                .filter(|c| c.outcome == claims::Outcome::Held)
                .count();
            b.push_str(&html::para(&format!(
                "{held} of {} claims held by this rule.",
                checks.len()
            )));
            b.push_str(&charts::bars(&Chart {
                id: "claims",
                title: "How many times faster Wasm is than Lua, claimed vs measured".into(),
                x_desc: "operation".into(),
                y_desc: "Lua time ÷ Wasm time".into(),
                categories: ops.iter().map(|o| o.op.clone()).collect(),
                x_positions: None,
                series: vec![
                    Series::new(
                        "claimed",
                        BASE_COLOR,
                        checks.iter().map(|c| c.claimed_ratio).collect(),
                    ),
                    Series::new(
                        "measured",
                        WASM_COLOR,
                        checks.iter().map(|c| c.measured_ratio).collect(),
                    ),
                ],
                reference: Some((1.0, "1 = equal speed; above: Wasm faster")),
            })?);
            if let Some(s) = &results.bench {
                b.push_str(&html::note(&format!(
                    "Measured {} on {}, profile {}.",
                    html::utc(s.created_ms),
                    machine_words(&s.machine.cpu_model, s.machine.cpus, s.machine.memory_bytes),
                    s.profile
                )));
            }
        }
        _ => {
            let m = Missing {
                kind: DataKind::Operations,
                path: file,
                what: if results.bench.is_none() {
                    "no in-process benchmark results, so no measured operation table".into()
                } else {
                    "no operation measurements in this file".into()
                },
                how: "`filterbench bench`".into(),
            };
            b.push_str(&html::missing(&m));
            missing.push(m);
        }
    }
    b.push_str(&mechanism_section(results));
    Ok((
        html::page(
            PageKind::Claims,
            "The quoted Lua-vs-Wasm table, checked",
            "",
            &b,
        ),
        missing,
    ))
}

/// The claims page's "how much of each filter's cost is the mechanism" section
/// (`#mechanism`): the pass-through filters' cost over the baseline, then per measured pair what
/// its Lua filter, Rust Wasm twin and native twin add and the share of each that the pass-through
/// of the same kind accounts for ([`crate::mechanism`]).
fn mechanism_section(results: &ResultSet) -> String {
    use super::load::interval_words;
    use crate::mechanism::{cost, label, PairShares, MECHANISMS};
    let mut b =
        String::from("<h2 id=\"mechanism\">How much of each filter's cost is the mechanism</h2>\n");
    b.push_str(&html::para(
        "Quoted operation tables weigh Lua against Wasm by what each operation costs; in a proxy \
         a large part of a small filter's cost is merely having a filter of that kind. The \
         pass-through filters (a Lua filter, a Rust Wasm filter and a native module that do \
         nothing) measure that mechanism like a pair; the share is the pass-through's Envoy CPU \
         per request over the baseline divided by the pair's filter of the same kind over the \
         baseline.",
    ));
    let Some(pass) = &results.passthrough else {
        b.push_str(&html::missing(&Missing {
            kind: DataKind::Load,
            path: load_path(&results.dir, crate::evidence::PASSTHROUGH),
            what: "no real-Envoy run of the pass-through filters, so no mechanism share".into(),
            how: "`filterbench load --pair passthrough`".into(),
        }));
        return b;
    };
    let mut head = vec!["pair".to_string()];
    for v in MECHANISMS {
        head.push(format!("{} adds, Envoy CPU µs per request", label(v)));
        head.push("the mechanism's share of it".to_string());
    }
    let mut rows = Vec::new();
    let mut cells = vec![Cell::Html(
        "<strong>pass-through</strong> (the mechanism alone)".into(),
    )];
    let mut not_in_pass = Vec::new();
    for v in MECHANISMS {
        let added = cost(pass, v);
        if added.is_none() {
            not_in_pass.push(label(v));
        }
        cells.push(Cell::Num(interval_words(added)));
        cells.push(Cell::Text(
            if added.is_some() {
                "(all of it)"
            } else {
                "not measured"
            }
            .into(),
        ));
    }
    rows.push(("data-mechanism-pair=\"passthrough\"".to_string(), cells));
    let mut unmeasured = Vec::new();
    for (name, run) in &results.loads {
        let Some(run) = run else {
            unmeasured.push(name.as_str());
            continue;
        };
        let shares = PairShares::of(pass, run);
        let mut cells = vec![Cell::Text(name.clone())];
        for (v, added, share) in &shares.by_mechanism {
            cells.push(Cell::Num(interval_words(*added)));
            cells.push(Cell::Html(format!(
                "<span data-mechanism=\"{}\" data-share=\"{}\">{}</span>",
                v.id(),
                share.id(),
                esc(&share.words())
            )));
        }
        rows.push((format!("data-mechanism-pair=\"{}\"", esc(name)), cells));
    }
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    b.push_str(&html::table(&head, &rows));
    b.push_str(&html::note(&format!(
        "Real Envoy, 1 worker, each pair's `default` configuration. Costs: median [95% interval] \
         of the per-round paired differences over the baseline Envoy (router only). Shares: the \
         ratio of the two medians, its 95% interval a percentile bootstrap over both runs' \
         rounds resampled independently ({} resamples, fixed seeds). A share is taken only when \
         both costs are measurably above the baseline (their whole intervals above zero): \
         otherwise the cell says \"no measurable cost over the baseline to share\" (the pair's \
         filter) or \"no measurable mechanism cost\" (the pass-through). Above 100%: the pair's \
         filter costs less than the pass-through, e.g. it has fewer callbacks than the \
         pass-through's two, or its requests are lighter than the pass-through's plain GET. \
         Each run has its own open-loop rate, and Envoy's CPU per request depends on the rate: \
         a share compares two runs, each at its own. Pass-through measured {}, {} paired \
         round(s) at {:.0} requests/s.",
        filterbench_model::stats::BOOTSTRAP_RESAMPLES,
        html::utc(pass.started_ms),
        pass.round_count(),
        pass.open_rate_rps
    )));
    if !not_in_pass.is_empty() {
        b.push_str(&html::para(&format!(
            "The pass-through run has no {} filter (it was measured before there was one, or \
             without it), so no share of that kind: `filterbench load --pair passthrough` \
             measures all three.",
            not_in_pass.join(" or ")
        )));
    }
    if !unmeasured.is_empty() {
        b.push_str(&html::para(&format!(
            "No load run, so no share: {}.",
            unmeasured.join(", ")
        )));
    }
    b
}
