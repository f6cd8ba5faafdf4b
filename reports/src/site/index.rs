//! `index.html`: one row per pair (verdict, call, equivalence, costs), the fixed cost of each
//! mechanism, the machine and the policy the decisions used.

use std::path::Path;

use super::{interval_words, load, method_words, SiteInput};
use crate::decision::{Fate, Recommendation, Verdict};
use crate::evidence::{DataKind, Missing, PairEvidence, ResultSet};
use crate::html::{self, esc, Cell, PageKind};
use filterbench_model::catalogue::Pair;
use filterbench_model::results::{bench_summary_path, load_path, LoadRun};
use filterbench_model::TwinKind;

fn verdict_html(v: Verdict) -> String {
    format!(
        "<span class=\"verdict-{}\">{}</span>",
        v.id(),
        esc(&v.label())
    )
}

/// The call with its confidence: `keep Lua (97%)`, or `too close to call (62% migrate to Wasm /
/// 38% keep Lua)`.
pub(super) fn call_html(rec: &Recommendation) -> String {
    let conf = match (&rec.confidence, rec.call, &rec.between) {
        (Some(c), Verdict::TooCloseToCall, _) => format!(" ({})", c.split_words()),
        (Some(_), Verdict::TooCloseBetween(..), Some([(a, sa), (b, sb)])) => format!(
            " ({} the cheaper in {:.0}% of resamples, {} in {:.0}%)",
            a.label(),
            sa * 100.0,
            b.label(),
            sb * 100.0
        ),
        (Some(c), _, _) => format!(" ({:.0}% of resamples)", c.share * 100.0),
        (None, _, _) => String::new(),
    };
    let caveat = rec
        .caveat_short
        .as_ref()
        .map_or(String::new(), |c| format!("; {c}"));
    format!(
        "{}{}",
        verdict_html(rec.call),
        esc(&format!("{conf}{caveat}"))
    )
}

/// One line per twin of the pair: its Envoy CPU per request minus Lua's, its memory per proxy
/// over Lua at the policy's workers per proxy (and the mesh total when the policy counts more
/// than one proxy), and where the tree left it (chosen, out and why, not proven).
pub(super) fn ways_out_html(
    ev: &PairEvidence,
    rec: &Recommendation,
    lua_only: bool,
    policy: &crate::decision::MemoryPolicy,
) -> String {
    if lua_only {
        return "not measured (Lua-only run)".into();
    }
    let costs = rec.costs.as_ref();
    let mut lines = Vec::new();
    for t in ev.evidence.twins() {
        let cost = costs.and_then(|c| c.way(t.kind));
        if t.equivalent.is_none() && cost.is_none() {
            continue;
        }
        let memory = match t.kind {
            TwinKind::Wasm => ev.memory.as_ref(),
            k => ev
                .other_memory
                .iter()
                .find(|(m, _)| *m == k)
                .map(|(_, m)| m),
        };
        let mut parts = vec![format!(
            "{} {}",
            short_label(t.kind),
            interval_words(cost.and_then(|c| c.minus_lua_cpu_us))
        )];
        if let Some(m) = memory {
            match m.fit().per_proxy(policy.workers_per_proxy) {
                Some(p) => {
                    let interval = p.interval.map_or(String::new(), |(lo, hi)| {
                        format!(" [{}, {}]", html::signed(lo), html::signed(hi))
                    });
                    let mesh = if policy.proxies > 1 {
                        format!(
                            ", {} GiB for {} proxies",
                            html::num(p.mib * f64::from(policy.proxies) / 1024.0),
                            policy.proxies
                        )
                    } else {
                        String::new()
                    };
                    parts.push(format!("{}{interval} MiB/proxy{mesh}", html::signed(p.mib)));
                }
                None => parts.push(format!("{} MiB/worker", html::signed(m.mib))),
            }
        }
        let fate = rec.ways.iter().find(|(k, _)| *k == t.kind).map(|(_, f)| *f);
        let status = if rec.call.way() == Some(t.kind) {
            "chosen".to_string()
        } else if let Verdict::TooCloseBetween(a, b) = rec.call {
            if a == t.kind || b == t.kind {
                "too close".into()
            } else {
                fate.map_or(String::new(), |f| f.short().into())
            }
        } else if t.equivalent != Some(true) {
            "not proven".into()
        } else {
            match fate {
                Some(Fate::Candidate) => "allowed, dearer".into(),
                Some(f) => f.short().into(),
                None => String::new(),
            }
        };
        let body = esc(&parts.join(", "));
        lines.push(if status.is_empty() {
            format!(
                "<span class=\"way\" data-way=\"{}\">{body}</span>",
                t.kind.id()
            )
        } else {
            format!(
                "<span class=\"way\" data-way=\"{}\">{body}: <em>{}</em></span>",
                t.kind.id(),
                esc(&status)
            )
        });
    }
    if lines.is_empty() {
        "n/a".into()
    } else {
        lines.concat()
    }
}

/// `Rust Wasm`, `Go Wasm`, `native`: a kind in a crowded cell.
fn short_label(kind: TwinKind) -> &'static str {
    match kind {
        TwinKind::Native => "native",
        k => k.label(),
    }
}

pub(super) fn equivalence_words(ev: &PairEvidence) -> String {
    match &ev.equivalence {
        None => "not checked".into(),
        Some(e) if e.result.equivalent => format!(
            "equivalent on {} scenarios ({})",
            e.result.scenarios,
            e.source.words()
        ),
        Some(e) => format!(
            "DIFFERS: {} difference line(s) over {} scenarios ({})",
            e.result.failures.len(),
            e.result.scenarios,
            e.source.words()
        ),
    }
}

pub(super) fn index_row(
    results: &ResultSet,
    pair: &Pair,
    ev: &PairEvidence,
    rec: &Recommendation,
    page: &Path,
    memory: &crate::decision::MemoryPolicy,
    by_config: Option<&crate::configs::ByConfiguration>,
) -> (String, Vec<Cell>) {
    let costs = rec.costs.as_ref();
    // A Lua-only run measured no Wasm: its cells say so instead of "n/a".
    let lua_only = results.load(&pair.name).is_some_and(|l| !l.has_wasm());
    let unproven = ev.evidence.equivalent != Some(true);
    let cpu = |f: fn(&crate::decision::Costs) -> Option<filterbench_model::stats::Interval>| {
        interval_words(costs.and_then(f))
    };
    let in_process = results
        .pair_bench(&pair.name)
        .map_or("n/a".to_string(), |b| {
            if lua_only && unproven {
                format!("{} / twin not proven", html::num(b.lua.median_ns))
            } else {
                let mut cell = format!(
                    "{} / {}",
                    html::num(b.lua.median_ns),
                    html::num(b.wasm.median_ns)
                );
                // The Go Wasm column when the summary has one; "-" for a pair without Go.
                if results.bench.as_ref().is_some_and(|s| s.has_go()) {
                    let go =
                        b.go.as_ref()
                            .map_or("-".into(), |g| html::num(g.go.median_ns));
                    cell.push_str(&format!(" / {go}"));
                }
                cell
            }
        });
    let link = format!(
        "<a href=\"{}\">{}</a>",
        esc(&page.to_string_lossy()),
        esc(&pair.name)
    );
    let flag = by_config.and_then(|b| b.flag_words());
    (
        format!(
            "data-pair=\"{}\" data-verdict=\"{}\"{}{}",
            esc(&pair.name),
            rec.call.id(),
            rec.call
                .way()
                .map_or(String::new(), |k| format!(" data-way=\"{}\"", k.id())),
            if flag.is_some() {
                " data-configs=\"differ\""
            } else {
                ""
            }
        ),
        vec![
            Cell::Html(link),
            Cell::Text(pair.summary.clone()),
            Cell::Html(format!(
                "{}{}",
                call_html(rec),
                flag.map_or(String::new(), |f| format!(
                    "<span class=\"flag\">{}</span>",
                    esc(&format!("under `default`; {f}"))
                ))
            )),
            Cell::Num(cpu(|c| c.lua_cpu_us)),
            Cell::Html(ways_out_html(ev, rec, lua_only, memory)),
            Cell::Num(in_process),
            Cell::Text(equivalence_words(ev)),
        ],
    )
}

pub(super) fn index_page(
    input: &SiteInput,
    results: &ResultSet,
    rows: Vec<(String, Vec<Cell>)>,
) -> String {
    let mut b = String::new();
    b.push_str(&html::para(
        "Should each Envoy Lua filter move off Lua, and to which way out: a Rust or Go proxy-wasm \
         plugin, or a native Envoy dynamic module? Every pair below is a Lua filter and its twins \
         (each proven equivalent before it is weighed). The recommendation comes from the \
         decision tree on each pair's page, fed by the measurements and the thresholds of the \
         policy.",
    ));
    if let Some(when) = measured_when(results) {
        b.push_str(&html::para(&when));
    }
    b.push_str("<h2>Recommendations</h2>\n");
    b.push_str(&html::table(
        &[
            "pair",
            "what it does",
            "recommendation (confidence)",
            "Lua adds, Envoy CPU µs per request",
            &format!(
                "ways out: twin − Lua, Envoy CPU µs per request; memory over Lua per proxy (one \
                 Envoy at {} worker{}, what every sidecar pays; each pair's page splits it into \
                 once per process and per worker); the tree's answer",
                input.policy.memory.workers_per_proxy,
                if input.policy.memory.workers_per_proxy == 1 {
                    ""
                } else {
                    "s"
                }
            ),
            if results.bench.as_ref().is_some_and(|s| s.has_go()) {
                "in-process Lua / Rust Wasm / Go Wasm (ns per request)"
            } else {
                "in-process Lua / Wasm (ns per request)"
            },
            "equivalence",
        ],
        &rows,
    ));
    b.push_str(&html::note(&format!(
        "Costs: real Envoy, 1 worker, median [95% interval] of what each filter adds over the \
         baseline Envoy (router only) in the same round; each way out (Rust Wasm, Go Wasm, native \
         module) as its Envoy CPU per request minus Lua's in the same rounds, with where the tree \
         left it. {} Confidence: the share of {} \
         bootstrap resamples of the rounds on which the decision tree reaches the same verdict; \
         below {:.0}% the verdict reads \"too close to call\" with the split. Memory per worker: \
         how much more resident memory each Envoy worker costs with the twin than with \
         the Lua filter. In-process: one full request through each twin without Envoy (wasmtime \
         and LuaJIT, not Envoy's V8): see each pair's page for where the two disagree.",
        method_words(),
        input.policy.confidence.resamples,
        input.policy.confidence.min_share * 100.0
    )));
    let lua_only: Vec<&str> = results
        .loads
        .iter()
        .filter(|(_, l)| l.as_ref().is_some_and(|l| !l.has_wasm()))
        .map(|(p, _)| p.as_str())
        .collect();
    if !lua_only.is_empty() {
        b.push_str(&html::para(&format!(
            "Lua only: {} measured the Lua filter alone (no Wasm twin was measured; see the \
             equivalence column for whether one is proven). For them \"Lua adds\" is the most a \
             migration could save, and the tree asks only whether that matters: keep Lua, write \
             and prove the Wasm twin first, or too close to call.",
            lua_only.join(", ")
        )));
    }
    b.push_str(&load::mechanism_section(
        results.passthrough.as_ref(),
        &load_path(&results.dir, crate::evidence::PASSTHROUGH),
    ));
    b.push_str("<h2>When a filter fails: Envoy's answer per failure strategy</h2>\n");
    match &results.failure {
        Some(record) => b.push_str(&crate::failure::render_table(record)),
        None => b.push_str(&html::para(
            "Not measured in this result set: `filterbench verify --envoy --failure-strategy` \
             measures what Envoy does when a Wasm module traps under FAIL_CLOSE, FAIL_OPEN and \
             FAIL_RELOAD, and when a Lua script raises.",
        )),
    }
    b.push_str(
        "<p>Also: <a href=\"claims.html\">the widely quoted Lua-vs-Wasm operation table, checked</a>.</p>\n",
    );

    b.push_str("<h2>Where and when the numbers come from</h2>\n");
    let mut src_rows = Vec::new();
    let path = |p: &Path| Cell::Html(format!("<code>{}</code>", esc(&p.display().to_string())));
    match &results.bench {
        Some(s) => src_rows.push((
            String::new(),
            vec![
                path(&bench_summary_path(&results.dir)),
                Cell::Text(format!("in-process benchmarks (profile {})", s.profile)),
                Cell::Text(html::utc(s.created_ms)),
                Cell::Text(machine_words(
                    &s.machine.cpu_model,
                    s.machine.cpus,
                    s.machine.memory_bytes,
                )),
                Cell::Text("no Envoy (LuaJIT and wasmtime hosts)".into()),
            ],
        )),
        None => b.push_str(&html::missing(&Missing {
            kind: DataKind::InProcess,
            path: bench_summary_path(&results.dir),
            what: "no in-process benchmark results".into(),
            how: "`filterbench bench`".into(),
        })),
    }
    for (mode, record) in [
        ("envoy", &results.verify_envoy),
        ("in_process", &results.verify_in_process),
        ("deployed", &results.verify_deployed),
    ] {
        if let Some(r) = record {
            src_rows.push((
                String::new(),
                vec![
                    path(&filterbench_model::results::verify_path(&results.dir, mode)),
                    Cell::Text(format!("equivalence ({} pairs)", r.pairs.len())),
                    Cell::Text(html::utc(r.created_ms)),
                    Cell::Text("—".into()),
                    Cell::Text(
                        r.envoy_version
                            .clone()
                            .map_or("no Envoy (in-process)".into(), |v| format!("Envoy {v}")),
                    ),
                ],
            ));
        }
    }
    if results.verify_envoy.is_none() && results.verify_in_process.is_none() {
        b.push_str(&html::missing(&Missing {
            kind: DataKind::Equivalence,
            path: filterbench_model::results::verify_path(&results.dir, "envoy"),
            what: "no equivalence results (nor in the in_process.json beside it)".into(),
            how: "`filterbench verify --envoy --save`".into(),
        }));
    }
    for (pair, load) in &results.loads {
        if let Some(l) = load {
            src_rows.push((
                String::new(),
                vec![
                    path(&load_path(&results.dir, pair)),
                    Cell::Text(format!(
                        "real-Envoy load{}",
                        if l.partial {
                            " (PARTIAL: the run was stopped early)"
                        } else {
                            ""
                        }
                    )),
                    Cell::Text(html::utc(l.started_ms)),
                    Cell::Text(machine_words(
                        &l.machine.cpu_model,
                        l.machine.cpus,
                        l.machine.memory_bytes,
                    )),
                    Cell::Text(format!("Envoy {}", l.envoy_version)),
                ],
            ));
        }
    }
    if !src_rows.is_empty() {
        b.push_str(&html::table(
            &["file", "what", "measured (UTC)", "machine", "versions"],
            &src_rows,
        ));
    }
    b.push_str(&policy_html(input));
    b.push_str(&html::note(&format!(
        "Rendered {} from {}.",
        html::utc(input.rendered_ms),
        input.results_shown.display()
    )));
    html::page(
        PageKind::Index,
        "Lua or Wasm? Recommendations per filter",
        "",
        &b,
    )
}

pub(super) fn machine_words(cpu_model: &str, cpus: usize, memory_bytes: u64) -> String {
    format!(
        "{cpu_model}, {cpus} cores, {} memory",
        html::gib(memory_bytes)
    )
}

fn policy_html(input: &SiteInput) -> String {
    let p = &input.policy;
    let mut b = format!("<h2>Policy ({})</h2>\n", esc(&input.policy_source));
    let row = |k: &str, v: String| (String::new(), vec![Cell::Text(k.into()), Cell::Num(v)]);
    b.push_str(&html::table(
        &["threshold", "value"],
        &[
            row(
                "the Lua filter matters unless its added Envoy CPU per request (whole interval) is below",
                format!("{} µs", p.lua_cost.min_cpu_us),
            ),
            row(
                "... and its added p50 latency (whole interval) is below",
                format!("{} µs", p.lua_cost.min_latency_us),
            ),
            row(
                "Wasm is cheaper when the whole interval of the CPU saving exceeds the larger of",
                format!(
                    "{} µs and {}% of Lua's added cost",
                    p.saving.min_cpu_us, p.saving.min_pct
                ),
            ),
            row(
                "a way out's extra memory per proxy over Lua (whole interval, one Envoy at the \
                 policy's workers per proxy) at most",
                format!(
                    "{} MiB at {} workers",
                    p.memory.max_extra_mib_per_proxy, p.memory.workers_per_proxy
                ),
            ),
            row(
                "a verdict needs this share of bootstrap resamples of the rounds",
                format!(
                    "{:.0}% of {}",
                    p.confidence.min_share * 100.0,
                    p.confidence.resamples
                ),
            ),
            row(
                "rounds: until the Wasm − Lua CPU interval's half-width is at most",
                rounds_rule(&p.measurement),
            ),
            row(
                "one way out is chosen over another when the whole interval of their difference exceeds",
                format!("{} µs", p.saving.min_cpu_us_between_ways),
            ),
            row("languages the team maintains", p.team.words()),
            row("where the filters run", p.deploy.platform.words().into()),
            row(
                "under Istio, a native module with a custom istio-proxy image is acceptable",
                if p.deploy.native_custom_proxy { "yes" } else { "no" }.into(),
            ),
            row(
                "isolation (a sandbox between the filter and Envoy) required",
                if p.deploy.isolation_required { "yes" } else { "no" }.into(),
            ),
        ],
    ));
    b
}

/// When and where the real-Envoy measurements were taken, for the top of the index: the span of
/// the load runs' start times and the machine of the first (every file's own is in the sources
/// table below).
fn measured_when(results: &ResultSet) -> Option<String> {
    let runs: Vec<&LoadRun> = results
        .loads
        .iter()
        .filter_map(|(_, l)| l.as_ref())
        .chain(results.passthrough.as_ref())
        .collect();
    let first = runs.iter().min_by_key(|l| l.started_ms)?;
    let last = runs.iter().map(|l| l.started_ms).max()?;
    let m = &first.machine;
    Some(format!(
        "Measured in real Envoy {} between {} and {} (load runs started), on {}.",
        first.envoy_version,
        html::utc(first.started_ms),
        html::utc(last),
        machine_words(&m.cpu_model, m.cpus, m.memory_bytes)
    ))
}

/// The measurement policy's stopping rule in words, for the policy table.
fn rounds_rule(m: &filterbench_model::results::MeasurementPolicy) -> String {
    let pct = if m.target_half_width_pct > 0.0 {
        format!(" or {}% of the smaller added cost", m.target_half_width_pct)
    } else {
        String::new()
    };
    let extra = if m.extra_budget_secs > 0.0 {
        format!(
            "; then `all` gives {} s more to the pairs whose answer is still too close to call, \
             then to those short of the target",
            m.extra_budget_secs
        )
    } else {
        String::new()
    };
    format!(
        "{} µs{pct} ({}-{} rounds, {} s per pair{extra})",
        m.target_half_width_us, m.min_rounds, m.max_rounds, m.pair_budget_secs
    )
}
