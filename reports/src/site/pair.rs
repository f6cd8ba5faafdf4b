//! `pairs/<pair>.html`: a pair's charts, equivalence, the decision tree with the path taken, the
//! in-process measurements and (from `load.rs`) the real-Envoy ones.

use std::fmt::Write as _;

use super::index::{call_html, equivalence_words};
use super::{interval_words, load, RenderError, SiteInput};
use crate::charts::{self, Chart, Series, GO_WASM_COLOR, LUA_COLOR, WASM_COLOR};
use crate::configs::ByConfiguration;
use crate::decision::{language_of, Fate, Policy, Recommendation, Verdict};
use crate::evidence::{DataKind, Missing, PairEvidence, ResultSet};
use crate::html::{self, esc, Cell, PageKind};
use filterbench_model::catalogue::{ChangeFrequency, Pair};
use filterbench_model::results::{bench_summary_path, load_path, ReadError, VerifyPair};
use filterbench_model::TwinKind;

pub(super) fn pair_page(
    input: &SiteInput,
    results: &ResultSet,
    pair: &Pair,
    ev: &PairEvidence,
    rec: &Recommendation,
    by_config: Option<&ByConfiguration>,
) -> Result<String, RenderError> {
    let name = &pair.name;
    let mut b = String::new();
    b.push_str(&html::para(&pair.summary));
    let trait_rows: Vec<(String, Vec<Cell>)> = trait_words(pair)
        .into_iter()
        .map(|(k, v)| (String::new(), vec![Cell::Text(k.into()), Cell::Text(v)]))
        .collect();
    b.push_str(&html::table(&["catalogue trait", "value"], &trait_rows));

    // The recommendation and the tree.
    let _ = write!(
        b,
        "<h2>Recommendation: {}</h2>\n<ul class=\"reasons\">\n",
        call_html(rec)
    );
    for r in &rec.reasons {
        let _ = writeln!(b, "<li>{}</li>", esc(r));
    }
    b.push_str("</ul>\n");
    if let Some(by) = by_config {
        b.push_str(&headline_html(by));
    }
    b.push_str(&twin_status(results, name, ev));
    b.push_str(&ways_section(ev, rec, &input.policy));
    b.push_str("<h3>The path through the decision tree</h3>\n");
    b.push_str(&html::table(
        &["question", "answer", "the numbers behind it"],
        &rec.path
            .iter()
            .map(|s| {
                (
                    format!("data-step=\"{}\"", esc(&s.id)),
                    vec![
                        Cell::Text(s.question.clone()),
                        Cell::Text(s.answer.clone()),
                        Cell::Text(s.evidence.clone()),
                    ],
                )
            })
            .collect::<Vec<_>>(),
    ));
    b.push_str(&charts::tree(&rec.path, rec.leaf, &rec.ways));
    b.push_str(&html::note(&format!(
        "Thresholds from {}; the highlighted boxes are the questions asked for this pair, with \
         the measured numbers under them.",
        input.policy_source
    )));

    // Equivalence.
    b.push_str("<h2>Equivalence of the twins</h2>\n");
    match &ev.equivalence {
        Some(e) => {
            b.push_str(&html::para(&format!(
                "{} (checked {}, {}{}).",
                equivalence_words(ev),
                html::utc(e.created_ms),
                e.source.words(),
                e.envoy_version
                    .as_ref()
                    .map_or(String::new(), |v| format!(", Envoy {v}"))
            )));
            if !e.result.failures.is_empty() {
                b.push_str("<ul class=\"failures\">\n");
                for f in &e.result.failures {
                    let _ = writeln!(b, "<li>{}</li>", esc(f));
                }
                b.push_str("</ul>\n");
            }
        }
        None => {
            for m in ev
                .missing
                .iter()
                .filter(|m| m.kind == DataKind::Equivalence)
            {
                b.push_str(&html::missing(m));
            }
        }
    }
    b.push_str(&configurations_html(pair, ev, by_config));
    b.push_str(&deployed_html(results, name));

    // Real Envoy.
    b.push_str("<h2>In real Envoy, under load</h2>\n");
    let load_file = load_path(&results.dir, name);
    match results.load(name) {
        None => {
            for m in ev.missing.iter().filter(|m| m.kind == DataKind::Load) {
                b.push_str(&html::missing(m));
            }
        }
        Some(l) => b.push_str(&load::load_section(l, ev, &load_file)?),
    }
    b.push_str(&load::soak_section(results.soak(name), name)?);

    // The live switch, when it was measured for this pair (`filterbench swap`).
    let swap_file = filterbench_model::results::swap::swap_path(&input.results_dir, name);
    match filterbench_model::results::swap::read_swap(&swap_file) {
        Ok(r) => b.push_str(
            &crate::swap::render_section(
                Some(&r),
                &filterbench_model::results::swap::swap_path(&results.dir, name),
            )
            .map_err(RenderError::Chart)?,
        ),
        Err(ReadError::Missing(_)) => {}
        Err(e) => return Err(RenderError::Read(e)),
    }

    // In-process.
    b.push_str("<h2>In-process, one request per iteration</h2>\n");
    // A Lua-only run of a twin that is not proven: no Wasm figure anywhere on the page (its
    // in-process numbers would be those of a module that does not do what the Lua filter does).
    let hide_wasm =
        results.load(name).is_some_and(|l| !l.has_wasm()) && ev.evidence.equivalent != Some(true);
    b.push_str(&in_process_section(results, name, hide_wasm)?);
    b.push_str(&drivers_side_by_side(results, name, rec, hide_wasm));

    Ok(html::page(
        PageKind::Pair,
        &format!("{name}: Lua or Wasm?"),
        "../",
        &b,
    ))
}

/// The choice among the ways out: one row per twin (proof, cost against Lua, memory, the team's
/// language, deployment, isolation, where the tree left it) and the choice in words
/// (`<table>` rows `data-way="KIND" data-fate="FATE|chosen|unproven"`). Nothing for a pair with
/// one twin (the path says it all).
fn ways_section(ev: &PairEvidence, rec: &Recommendation, policy: &Policy) -> String {
    let twins: Vec<_> = ev
        .evidence
        .twins()
        .into_iter()
        .filter(|t| {
            t.equivalent.is_some() || rec.costs.as_ref().is_some_and(|c| c.way(t.kind).is_some())
        })
        .collect();
    if twins.len() < 2 {
        return String::new();
    }
    let mut rows = Vec::new();
    for t in &twins {
        let cost = rec.costs.as_ref().and_then(|c| c.way(t.kind));
        let memory = match t.kind {
            TwinKind::Wasm => ev.memory.as_ref(),
            k => ev
                .other_memory
                .iter()
                .find(|(m, _)| *m == k)
                .map(|(_, m)| m),
        };
        let fate = rec.ways.iter().find(|(k, _)| *k == t.kind).map(|(_, f)| *f);
        let (hook, status) = if rec.call.way() == Some(t.kind) {
            ("chosen".to_string(), "chosen".to_string())
        } else if t.equivalent != Some(true) {
            (
                "unproven".into(),
                "not proven equivalent: not weighed".into(),
            )
        } else {
            match fate {
                Some(Fate::Candidate) => match rec.call {
                    Verdict::TooCloseBetween(a, b) if a == t.kind || b == t.kind => (
                        Fate::Candidate.id().into(),
                        "allowed; too close to call against the other".into(),
                    ),
                    _ => (
                        Fate::Candidate.id().into(),
                        "allowed, but another way out is measurably cheaper".into(),
                    ),
                },
                Some(f) => (f.id().into(), f.short().to_string()),
                None => (
                    "not_weighed".into(),
                    "not weighed (the tree ended before the ways out)".into(),
                ),
            }
        };
        let lang = language_of(t.kind);
        let (deployable, _) = policy.deploy.deployable(t.kind);
        let how = policy.deploy.deploy_short(t.kind);
        let (isolated, _) = policy.deploy.isolated_enough(t.kind);
        let why = match (t.kind.is_proxy_wasm(), policy.deploy.isolation_required) {
            (true, _) => "sandboxed (Wasm VM)",
            (false, false) => "no sandbox; not required",
            (false, true) => "no sandbox; required",
        };
        rows.push((
            format!("data-way=\"{}\" data-fate=\"{}\"", t.kind.id(), esc(&hook)),
            vec![
                Cell::Text(t.kind.label().into()),
                Cell::Text(match t.equivalent {
                    Some(true) => "yes".into(),
                    Some(false) => "DIFFERS".into(),
                    None => "not checked".into(),
                }),
                Cell::Num(interval_words(cost.and_then(|c| c.minus_lua_cpu_us))),
                Cell::Num(interval_words(cost.and_then(|c| c.minus_lua_p50_us))),
                Cell::Num(memory.map_or("not measured".into(), |m| {
                    match m.fit().per_proxy(policy.memory.workers_per_proxy) {
                        Some(p) => format!(
                            "{}{} MiB ({} once + {}/worker)",
                            html::signed(p.mib),
                            p.interval.map_or(String::new(), |(lo, hi)| format!(
                                " [{}, {}]",
                                html::signed(lo),
                                html::signed(hi)
                            )),
                            html::signed(p.per_process_mib),
                            html::signed(p.per_worker_mib)
                        ),
                        None => format!("{} MiB/worker", html::signed(m.mib)),
                    }
                })),
                Cell::Text(format!(
                    "{lang}: {}",
                    if policy.team.knows(lang) { "yes" } else { "no" }
                )),
                Cell::Text(if deployable {
                    how.to_string()
                } else {
                    format!("no: {how}")
                }),
                Cell::Text(if isolated {
                    why.to_string()
                } else {
                    format!("ruled out: {why}")
                }),
                Cell::Text(status),
            ],
        ));
    }
    let mut b = String::from("<h3>The ways out of Lua</h3>\n");
    b.push_str(&html::table(
        &[
            "twin",
            "proven",
            "− Lua, CPU µs per request",
            "− Lua, p50 µs",
            &format!(
                "memory per proxy over Lua ({} workers)",
                policy.memory.workers_per_proxy
            ),
            "language known",
            &format!("deployable ({})", policy.deploy.platform.words()),
            "isolation",
            "the tree's answer",
        ],
        &rows,
    ));
    let choice = match rec.call {
        Verdict::Migrate(k) => format!(
            "The tree chooses the {}{}.",
            k.label(),
            rec.caveat
                .as_ref()
                .map_or(String::new(), |c| format!(" (it {c})"))
        ),
        Verdict::TooCloseBetween(a, b) => format!(
            "Two ways out remain and the rounds cannot tell which costs less: {} and {}{}.",
            a.label(),
            b.label(),
            rec.between
                .map_or(String::new(), |[(_, sa), (_, sb)]| format!(
                    " (the first is the cheaper in {:.0}% of resamples, the second in {:.0}%)",
                    sa * 100.0,
                    sb * 100.0
                ))
        ),
        _ if rec.ways.is_empty() => "The tree did not get to weigh the ways out.".into(),
        _ => "No way out is chosen.".into(),
    };
    b.push_str(&html::para(&format!(
        "Every proven twin is asked the same questions, in order (the path below has each \
         answer and its numbers): does it cost measurably less \
         Envoy CPU per request than Lua (the whole interval past the policy's threshold), does \
         its memory per worker fit the budget, is it written in a language the team maintains \
         (policy: {}), can it be deployed where the filters run ({}), does it meet the isolation \
         requirement; among those that remain, one measurably cheaper than every other (by more \
         than {} µs, whole interval) is chosen. Figures are paired differences of the same \
         simultaneous rounds (median, 95% interval). {choice}",
        policy.team.words(),
        policy.deploy.platform.words(),
        policy.saving.min_cpu_us_between_ways
    )));
    b
}

/// Whether the Wasm twin was measured and proven, said at the top of the page when it was not
/// (`<p data-twin="lua_only|unproven">`); nothing for a measured, proven twin.
fn twin_status(results: &ResultSet, name: &str, ev: &PairEvidence) -> String {
    let lua_only = results.load(name).and_then(|l| l.lua_only);
    let proven = ev.evidence.equivalent == Some(true);
    let proof = if proven {
        format!("It is proven equivalent: {}.", equivalence_words(ev))
    } else {
        format!("It is not proven equivalent ({}).", equivalence_words(ev))
    };
    let (hook, words) = match (lua_only, proven) {
        (Some(why), _) => (
            "lua_only",
            format!(
                "The Wasm twin is not measured: this pair's load run is Lua-only ({}), so the \
                 figures below are what the Lua filter adds over no filter, the most a migration \
                 could save. {proof}",
                why.words()
            ),
        ),
        (None, false) => (
            "unproven",
            format!(
                "The Wasm twin is not proven equivalent, so the tree weighs the Lua side alone. \
                 {proof}"
            ),
        ),
        (None, true) => return String::new(),
    };
    format!(
        "<p data-twin=\"{hook}\"><strong>{}</strong></p>\n",
        esc(&words)
    )
}

/// Which way a difference points, only when its interval says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    WasmCheaper,
    LuaCheaper,
    Unclear,
}

impl Direction {
    fn words(self) -> &'static str {
        match self {
            Direction::WasmCheaper => "Wasm is cheaper",
            Direction::LuaCheaper => "Lua is cheaper",
            Direction::Unclear => "no measurable difference",
        }
    }
}

/// Said after a Wasm-minus-Lua figure measured against zero, so that it reads together with the
/// recommendation, which asks for more.
const AGAINST_ZERO: &str = "This compares against zero; the recommendation asks \
     more of a way out (the whole interval past the policy's threshold, given in its path \
     through the decision tree), so a difference here can still be no measurable difference \
     there.";

/// The in-process difference (wasmtime, LuaJIT) beside the real-Envoy one (V8, LuaJIT), and
/// whether their directions agree.
fn drivers_side_by_side(
    results: &ResultSet,
    name: &str,
    rec: &Recommendation,
    hide_wasm: bool,
) -> String {
    let envoy = rec
        .costs
        .as_ref()
        .and_then(|c| c.wasm_minus_lua_cpu_us)
        .map(|d| {
            let dir = if d.high < 0.0 {
                Direction::WasmCheaper
            } else if d.low > 0.0 {
                Direction::LuaCheaper
            } else {
                Direction::Unclear
            };
            (dir, format!("{} µs of Envoy CPU per request", d.signed(1)))
        });
    let in_process = results.pair_bench(name).map(|pb| {
        let d = &pb.paired.wasm_minus_lua_ns;
        let dir = if d.high < 0.0 {
            Direction::WasmCheaper
        } else if d.low > 0.0 {
            Direction::LuaCheaper
        } else {
            Direction::Unclear
        };
        (
            dir,
            format!(
                "{} ns per request (paired, Wasm/Lua {})",
                signed_words(d),
                ratio_words(&pb.paired.wasm_over_lua)
            ),
        )
    });
    let mut b = String::from("<h2>The two drivers side by side</h2>\n");
    if hide_wasm {
        b.push_str(&html::para(
            "The Wasm twin was not measured in real Envoy (Lua-only run) and is not proven \
             equivalent: there is no Wasm-minus-Lua difference to set side by side.",
        ));
        return b;
    }
    let (Some((e_dir, e_words)), Some((i_dir, i_words))) = (envoy, in_process) else {
        b.push_str(&html::para(
            "Needs both the real-Envoy rounds and the in-process benches (see the missing-data \
             notes above).",
        ));
        return b;
    };
    let verdict = if e_dir == i_dir {
        "The two drivers point the same way.".to_string()
    } else {
        format!(
            "The two drivers point different ways: in-process {}, in Envoy {}. The in-process \
             host runs Wasm on wasmtime and none of Envoy's own work around a filter (coroutine \
             per request for Lua, context creation and ABI copies through V8 for Wasm); the \
             recommendation uses the real-Envoy figure only.",
            i_dir.words(),
            e_dir.words()
        )
    };
    b.push_str(&html::para(&format!(
        "Wasm minus Lua in-process (wasmtime, LuaJIT): {i_words}: {}. In real Envoy (V8, \
         LuaJIT): {e_words}: {}. {verdict} {}",
        i_dir.words(),
        e_dir.words(),
        AGAINST_ZERO
    )));
    b
}

fn in_process_section(
    results: &ResultSet,
    name: &str,
    hide_wasm: bool,
) -> Result<String, RenderError> {
    let file = bench_summary_path(&results.dir);
    let Some(summary) = &results.bench else {
        return Ok(html::missing(&Missing {
            kind: DataKind::InProcess,
            path: file,
            what: "no in-process benchmark results".into(),
            how: "`filterbench bench`".into(),
        }));
    };
    let Some(pb) = results.pair_bench(name) else {
        return Ok(html::missing(&Missing {
            kind: DataKind::InProcess,
            path: file,
            what: format!("no in-process numbers for `{name}`"),
            how: "`filterbench bench`".into(),
        }));
    };
    if hide_wasm {
        return Ok(html::para(&format!(
            "Lua {} ns [{} – {}] per request in-process (criterion, profile {}). The Wasm twin's \
             in-process numbers are left out: it is not proven equivalent.",
            html::num(pb.lua.median_ns),
            html::num(pb.lua.ci_low_ns),
            html::num(pb.lua.ci_high_ns),
            summary.profile
        )));
    }
    let mut b = String::new();
    let mut categories = vec![format!("{name} (full request)")];
    let mut rows = vec![pb];
    if let Some(base) = &summary.baseline {
        categories.push("pass-through filter (harness cost)".into());
        rows.push(base);
    }
    let series = |label: &str,
                  color,
                  pick: &dyn Fn(
        &filterbench_model::results::PairBench,
    ) -> Option<filterbench_model::results::Estimate>| {
        let mut s = Series::new(
            label,
            color,
            rows.iter().map(|r| pick(r).map(|e| e.median_ns)).collect(),
        );
        s.intervals = Some(
            rows.iter()
                .map(|r| pick(r).map(|e| (e.ci_low_ns, e.ci_high_ns)))
                .collect(),
        );
        s
    };
    // The Go Wasm twin beside the Rust one, when it was measured (the pass-through has no Go
    // guest).
    let go = pb.go.as_ref();
    let mut all_series = vec![
        series("Lua (LuaJIT)", LUA_COLOR, &|r| Some(r.lua)),
        series(
            if go.is_some() {
                "Rust Wasm (wasmtime)"
            } else {
                "Wasm (wasmtime)"
            },
            WASM_COLOR,
            &|r| Some(r.wasm),
        ),
    ];
    if go.is_some() {
        all_series.push(series("Go Wasm (wasmtime)", GO_WASM_COLOR, &|r| {
            r.go.as_ref().map(|g| g.go)
        }));
    }
    b.push_str(&charts::bars(&Chart {
        id: "inprocess",
        title: "In-process time per request (median, 95% confidence interval)".into(),
        x_desc: "what is measured".into(),
        y_desc: "time per request, ns".into(),
        categories,
        x_positions: None,
        series: all_series,
        reference: None,
    })?);
    b.push_str(&html::para(&format!(
        "Lua {} ns [{} – {}], Wasm {} ns [{} – {}] per request: Wasm is {:.2}x {} in-process \
         (criterion, profile {}, {}).",
        html::num(pb.lua.median_ns),
        html::num(pb.lua.ci_low_ns),
        html::num(pb.lua.ci_high_ns),
        html::num(pb.wasm.median_ns),
        html::num(pb.wasm.ci_low_ns),
        html::num(pb.wasm.ci_high_ns),
        if pb.wasm.median_ns <= pb.lua.median_ns {
            pb.lua.median_ns / pb.wasm.median_ns.max(1e-9)
        } else {
            pb.wasm.median_ns / pb.lua.median_ns.max(1e-9)
        },
        if pb.wasm.median_ns <= pb.lua.median_ns {
            "faster"
        } else {
            "slower"
        },
        summary.profile,
        html::utc(summary.created_ms)
    )));
    if let Some(g) = go {
        b.push_str(&go_words(pb, g, &summary.profile));
    }
    let prefix = format!("{name}: ");
    for line in summary
        .go_not_measured
        .iter()
        .filter(|l| l.starts_with(&prefix))
    {
        b.push_str(&html::note(&format!("Not measured in-process: {line}.")));
    }
    let est = |e: &filterbench_model::results::Estimate| {
        Cell::Num(format!("{} µs", html::num(e.median_ns / 1000.0)))
    };
    if let Some(s) = summary.startup.iter().find(|s| s.pair == name) {
        let step = |words: &str, e| (String::new(), vec![Cell::Text(words.into()), est(e)]);
        let mut go_steps = Vec::new();
        const GO_COMPILE: &str = "Go Wasm: module compile (once per module)";
        match (&s.go_compile, &s.go_instantiate) {
            (Some(e), _) => go_steps.push(step(GO_COMPILE, e)),
            // Measured Go, but not its compile (the quick profile leaves it out).
            (None, Some(_)) => go_steps.push((
                String::new(),
                vec![
                    Cell::Text(GO_COMPILE.into()),
                    Cell::Num(format!("not timed in profile {}", summary.profile)),
                ],
            )),
            (None, None) => {}
        }
        if let Some(e) = &s.go_instantiate {
            go_steps.push(step(
                "Go Wasm: instantiate + start + configure (once per worker)",
                e,
            ));
        }
        b.push_str(&html::table(
            &["start-up step", "median"],
            &[
                (
                    String::new(),
                    vec![
                        Cell::Text("Lua: state + script load".into()),
                        est(&s.lua_load),
                    ],
                ),
                (
                    String::new(),
                    vec![
                        Cell::Text("Wasm: module compile (once per module)".into()),
                        est(&s.wasm_compile),
                    ],
                ),
                (
                    String::new(),
                    vec![
                        Cell::Text(
                            "Wasm: instantiate + start + configure (once per worker)".into(),
                        ),
                        est(&s.wasm_instantiate),
                    ],
                ),
            ]
            .into_iter()
            .chain(go_steps)
            .collect::<Vec<_>>(),
        ));
    }
    if let Some(m) = summary.memory.iter().find(|m| m.pair == name) {
        let kib = |x: u64| Cell::Num(format!("{} KiB", html::num(x as f64 / 1024.0)));
        b.push_str(&html::table(
            &[
                "VM memory",
                "after start",
                &format!("after {} requests", m.requests),
            ],
            &[
                (
                    String::new(),
                    vec![
                        Cell::Text("Lua (used_memory)".into()),
                        kib(m.lua_after_start_bytes),
                        kib(m.lua_after_requests_bytes),
                    ],
                ),
                (
                    String::new(),
                    vec![
                        Cell::Text("Wasm (linear memory)".into()),
                        kib(m.wasm_after_start_bytes),
                        kib(m.wasm_after_requests_bytes),
                    ],
                ),
            ]
            .into_iter()
            .chain(
                m.go_after_start_bytes
                    .zip(m.go_after_requests_bytes)
                    .map(|(start, after)| {
                        (
                            String::new(),
                            vec![
                                Cell::Text("Go Wasm (linear memory)".into()),
                                kib(start),
                                kib(after),
                            ],
                        )
                    }),
            )
            .collect::<Vec<_>>(),
        ));
    }
    Ok(b)
}

/// The Go Wasm twin's in-process figures in words: against Lua and against the Rust twin, from
/// the same interleaved rounds, and its instructions beside the others'.
fn go_words(
    pb: &filterbench_model::results::PairBench,
    g: &filterbench_model::results::GoBench,
    profile: &str,
) -> String {
    let instructions = match pb.instructions.as_ref().map(|i| (i.lua, i.wasm, i.go)) {
        Some((Some(lua), Some(wasm), Some(go))) => format!(
            " Instructions per request (callgrind): Lua {}, Rust Wasm {}, Go Wasm {}.",
            html::num(lua),
            html::num(wasm),
            html::num(go)
        ),
        Some((Some(_), Some(_), None)) => format!(
            " Go Wasm instructions per request: not counted in profile {profile} (callgrind \
             counts them in the default profile, as cargo bench runs it)."
        ),
        _ => String::new(),
    };
    html::para(&format!(
        "Go Wasm {} ns [{} – {}] per request, in the same rounds as Lua and the Rust twin: \
         Go/Lua {}, Go − Lua {} ns; Go/Rust Wasm {}, Go − Rust Wasm {} ns (medians over \
         rounds, 95% bootstrap intervals).{instructions}",
        html::num(g.go.median_ns),
        html::num(g.go.ci_low_ns),
        html::num(g.go.ci_high_ns),
        ratio_words(&g.go_over_lua),
        signed_words(&g.go_minus_lua_ns),
        ratio_words(&g.go_over_wasm),
        signed_words(&g.go_minus_wasm_ns),
    ))
}

/// A paired ratio: `0.42 [0.40, 0.45]`.
fn ratio_words(r: &filterbench_model::stats::Interval) -> String {
    format!("{:.2} [{:.2}, {:.2}]", r.median, r.low, r.high)
}

/// A paired difference, signed: `+120 [+80, +160]`.
fn signed_words(d: &filterbench_model::stats::Interval) -> String {
    format!(
        "{} [{}, {}]",
        html::signed(d.median),
        html::signed(d.low),
        html::signed(d.high)
    )
}

/// Under the recommendation of a pair with several configurations: whose answer it is
/// (`default`'s), and the flag when another configuration's measured answer differs
/// (`<p class="flag" data-configs="differ">`).
fn headline_html(by: &ByConfiguration) -> String {
    let measured = by
        .answers
        .iter()
        .filter(|a| a.measured_call().is_some())
        .count();
    match by.flag_words() {
        Some(flag) => format!(
            "<p class=\"flag\" data-configs=\"differ\">{}</p>\n",
            esc(&format!(
                "This is the answer under the configuration `default`; {flag} (each \
                 configuration's figures under \"Configurations\" below)."
            ))
        ),
        None => html::note(&format!(
            "This is the answer under the configuration `default`{}.",
            if measured > 1 {
                format!(", and the same under each of the {measured} configurations measured")
            } else {
                String::new()
            }
        )),
    }
}

/// A pair with several configurations: each, its content, and what was proven under it (from
/// the equivalence record shown above); then what was measured under each (its own load run:
/// Lua minus baseline and each twin minus Lua, Envoy CPU per request with 95% intervals) and
/// the tree's answer under it.
fn configurations_html(
    pair: &Pair,
    ev: &PairEvidence,
    by_config: Option<&ByConfiguration>,
) -> String {
    if !pair.has_several_configs() {
        return String::new();
    }
    let proofs = ev
        .equivalence
        .as_ref()
        .map(|e| e.result.configs.as_slice())
        .unwrap_or_default();
    let rows: Vec<(String, Vec<Cell>)> = pair
        .configurations()
        .into_iter()
        .map(|name| {
            let content = pair
                .config_json_of(name)
                .map(|c| c.to_string())
                .unwrap_or_default();
            let proven = match proofs.iter().find(|p| p.name == name) {
                None => "not in the equivalence record".to_string(),
                Some(p) if p.scenarios == 0 => "no scenario runs under it: not proven".to_string(),
                Some(p) if p.failed == 0 => format!("{} scenario(s), all equivalent", p.scenarios),
                Some(p) => format!("{} scenario(s), {} check(s) failed", p.scenarios, p.failed),
            };
            (
                String::new(),
                vec![
                    Cell::Text(name.to_string()),
                    Cell::Text(content),
                    Cell::Text(proven),
                ],
            )
        })
        .collect();
    let mut b = String::from("<h3>Configurations</h3>\n");
    b.push_str(&html::table(
        &[
            "configuration",
            "route metadata / plugin configuration",
            "proven",
        ],
        &rows,
    ));
    b.push_str(&html::note(
        "Each scenario runs under the configuration it names (`default` when it names none), \
         in-process and in real Envoy.",
    ));
    if let Some(by) = by_config {
        b.push_str(&measured_by_config_html(pair, by));
    }
    b
}

/// One row per configuration: its rounds, Lua minus baseline and each twin minus Lua (Envoy CPU
/// per request, median [95% interval]), and the tree's answer under it.
fn measured_by_config_html(pair: &Pair, by: &ByConfiguration) -> String {
    let kinds: Vec<TwinKind> = TwinKind::ALL
        .into_iter()
        .filter(|k| {
            by.answers
                .iter()
                .any(|a| a.costs().is_some_and(|c| c.way(*k).is_some()))
        })
        .collect();
    let mut head = vec![
        "configuration".to_string(),
        "rounds".to_string(),
        "Lua − baseline, Envoy CPU µs per request".to_string(),
    ];
    head.extend(
        kinds
            .iter()
            .map(|k| format!("{} − Lua, Envoy CPU µs per request", k.label())),
    );
    head.push("answer under it".to_string());
    let rows: Vec<(String, Vec<Cell>)> = by
        .answers
        .iter()
        .map(|a| {
            let mut cells = vec![Cell::Text(a.name.clone())];
            match a.costs() {
                Some(c) => {
                    cells.push(Cell::Num(c.rounds.to_string()));
                    cells.push(Cell::Num(interval_words(c.lua_cpu_us)));
                    for k in &kinds {
                        cells.push(Cell::Num(interval_words(
                            c.way(*k).and_then(|w| w.minus_lua_cpu_us),
                        )));
                    }
                    cells.push(Cell::Html(call_html(&a.rec)));
                }
                None => {
                    cells.push(Cell::Num("-".into()));
                    cells.push(Cell::Text(if a.measured {
                        "no paired round to compare".into()
                    } else {
                        format!(
                            "not measured: `filterbench load --pair {} --config {}`",
                            pair.name, a.name
                        )
                    }));
                    for _ in &kinds {
                        cells.push(Cell::Num("-".into()));
                    }
                    cells.push(Cell::Text("-".into()));
                }
            }
            (format!("data-config=\"{}\"", esc(&a.name)), cells)
        })
        .collect();
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut b = String::from("<h4>Measured under each configuration</h4>\n");
    b.push_str(&html::table(&head, &rows));
    b.push_str(&html::note(
        "Each configuration is its own paired load run in real Envoy: the baseline, the Lua \
         filter and each twin configured with it, the requests recorded under it as the mix \
         (the whole corpus' when none is), the pair's time budget shared among the \
         configurations. Medians of per-round differences with 95% intervals; each answer is the \
         decision tree's on that configuration's rounds with the same proofs. The real-Envoy \
         section below shows `default`'s run in full.",
    ));
    b
}

/// The deployed checks of `pair` as words, per kind of twin: `trafficextension, legacy` for the
/// Rust Wasm twin alone (its checks are named `<pair> (<api>)`), else e.g. `Rust Wasm:
/// trafficextension, legacy; native module: trafficextension`.
fn deployed_kinds(checks: &[&VerifyPair], pair: &str) -> String {
    let api_of = |c: &VerifyPair| {
        let inner = c
            .pair
            .strip_prefix(pair)
            .unwrap_or(&c.pair)
            .trim_matches(|ch| ch == ' ' || ch == '(' || ch == ')');
        inner.split(", ").next().unwrap_or(inner).to_string()
    };
    let mut kinds: Vec<TwinKind> = checks.iter().map(|c| c.twin).collect();
    kinds.sort();
    kinds.dedup();
    let words = |kind: TwinKind| {
        checks
            .iter()
            .filter(|c| c.twin == kind)
            .map(|c| api_of(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match kinds[..] {
        [TwinKind::Wasm] => words(TwinKind::Wasm),
        _ => kinds
            .iter()
            .map(|&k| format!("{}: {}", k.label(), words(k)))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

fn deployed_html(results: &ResultSet, pair: &str) -> String {
    let checks = results.deployed(pair);
    if checks.is_empty() {
        return html::note(
            "The deployed manifests were not checked in real Envoy for this pair: \
             `filterbench verify --envoy --deployed --save` (or `filterbench all`) does it.",
        );
    }
    let checked = deployed_kinds(&checks, pair);
    let scenarios = checks.iter().map(|c| c.scenarios).max().unwrap_or(0);
    let mut out = if checks.iter().all(|c| c.equivalent) {
        html::para(&format!(
            "The deployed manifests were checked in real Envoy on {scenarios} scenarios ({checked}): \
             translated into the filters Istio gives the proxy, every twin gives the verified \
             outcomes."
        ))
    } else {
        html::para(&format!(
            "The deployed manifests DIFFER from the verified twins in real Envoy ({} of {} \
             checks, {scenarios} scenarios each):",
            checks.iter().filter(|c| !c.equivalent).count(),
            checks.len()
        ))
    };
    let served: Vec<&str> = checks
        .iter()
        .filter_map(|c| c.served_by.as_deref())
        .collect();
    if let Some(first) = served.first() {
        let what = if served.len() == checks.len() && served.iter().all(|s| s == first) {
            format!("Served by {first}, the real Istio control plane, over xDS.")
        } else {
            format!(
                "{} of {} checks were served by {first}, the real Istio control plane; the \
                 others by the project's own translation.",
                served.len(),
                checks.len()
            )
        };
        out.push_str(&html::para(&what));
    }
    let notes: Vec<String> = checks
        .iter()
        .flat_map(|c| c.notes.iter().map(move |n| format!("{}: {n}", c.pair)))
        .collect();
    if !notes.is_empty() {
        out.push_str("<ul class=\"notes\">\n");
        for n in notes {
            let _ = writeln!(out, "<li>{}</li>", esc(&n));
        }
        out.push_str("</ul>\n");
    }
    let failures: Vec<&String> = checks.iter().flat_map(|c| &c.failures).collect();
    if !failures.is_empty() {
        out.push_str("<ul class=\"failures\">\n");
        for f in failures {
            let _ = writeln!(out, "<li>{}</li>", esc(f));
        }
        out.push_str("</ul>\n");
    }
    out
}

/// The catalogue's traits of a pair, as (label, value) in words.
fn trait_words(pair: &Pair) -> Vec<(&'static str, String)> {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    let t = &pair.traits;
    let frequency = match t.change_frequency {
        ChangeFrequency::Low => "low",
        ChangeFrequency::Medium => "medium",
        ChangeFrequency::High => "high",
    };
    vec![
        ("behaviour", pair.behaviour.clone()),
        ("external call", yes_no(t.external_call)),
        ("data processing", yes_no(t.data_processing)),
        ("custom metrics", yes_no(t.custom_metrics)),
        ("state across requests", yes_no(t.state)),
        ("change frequency", frequency.into()),
        (
            "capability Lua lacks",
            pair.capability_gap.clone().unwrap_or_else(|| "none".into()),
        ),
    ]
}
