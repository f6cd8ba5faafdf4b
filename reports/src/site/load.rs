//! The real-Envoy section of a pair's page (and the index's fixed cost of each mechanism): what
//! the filter adds over the baseline, with intervals, from the paired open-loop rounds; capacity
//! with its spread and the rounds where Envoy was not the bottleneck flagged; memory by worker
//! count. Every difference is drawn with its interval: a negative "overhead" is shown as what it
//! is, a median with an interval around it, never as a saving on its own. A Lua-only run shows
//! the Lua side alone (no Wasm series, row or column) and says that what Lua adds is the most a
//! migration could save.

use std::path::Path;

use super::RenderError;
use crate::charts::{
    self, Chart, Series, BASE_COLOR, GO_WASM_COLOR, LUA_COLOR, NATIVE_COLOR, WASM_COLOR,
};
use crate::decision::Costs;
use crate::evidence::{method_check, paired_rounds, DataKind, PairEvidence};
use crate::html::{self, esc, Cell};
use filterbench_model::results::{
    behind_rounds, growth_kib_per_100k, growth_words, LoadRun, LuaOnly, RoundMethod, SoakPoint,
    SoakRun, Variant,
};
use filterbench_model::stats::{median, Interval, BOOTSTRAP_RESAMPLES};
use filterbench_model::TwinKind;

const MIB: f64 = 1024.0 * 1024.0;

fn color(v: Variant) -> plotters::style::RGBColor {
    match v {
        Variant::Base => BASE_COLOR,
        Variant::Lua => LUA_COLOR,
        Variant::Twin(TwinKind::Wasm) => WASM_COLOR,
        Variant::Twin(TwinKind::GoWasm) => GO_WASM_COLOR,
        Variant::Twin(TwinKind::Native) => NATIVE_COLOR,
    }
}

/// `+12.3 [+10.1, +14.0]` or `n/a`.
pub fn interval_words(i: Option<Interval>) -> String {
    i.map_or_else(|| "n/a".into(), |i| i.signed(1))
}

/// How the intervals are made, for every page that shows one.
pub fn method_words() -> String {
    format!(
        "Each figure is the median of per-round differences (a variant minus the baseline, or \
         Wasm minus Lua, measured in the same round, so that drift between rounds cancels), with \
         a 95% percentile-bootstrap interval over the rounds ({BOOTSTRAP_RESAMPLES} resamples, \
         fixed seed: the same rounds always give the same interval). {}",
        method_paragraph()
    )
}

/// The method of the rounds, with its references (also in docs/method.md).
pub fn method_paragraph() -> &'static str {
    "Rounds are simultaneous by default (\"duet benchmarking\": Bulej, Horký, Tůma, Farquet and \
     Prokopec, ICPE 2020): in each round every variant runs as its own Envoy on the same pinned \
     core, each driven at the same open-loop rate by its own load generator on the other \
     core(s), all starting and stopping together, and each Envoy's CPU time is read from the \
     kernel's nanosecond clock of that process. Whatever the shared machine does in that second \
     (another tenant, frequency changes, interrupts) hits every variant alike and cancels in \
     the paired difference, which on a shared 2-vCPU machine cut the per-round noise of Wasm \
     minus Lua five to nine times against sequential rounds. The rate keeps the core below \
     saturation with all variants at once (their CPU per request at capacity, summed, times the \
     rate is a fixed share of the core), and a round where any Envoy answered less than 95% of \
     its rate is flagged and left out. Because contention between the Envoys could favour one \
     variant (a smaller cache footprint, say), every simultaneous run also measures sequential \
     rounds in the same run (every variant alone, in a rotating order, Abedi and Brecht, ICPE \
     2017) and shows both figures side by side; `--sequential` measures that way only."
}

fn series_with_intervals(name: &str, v: Variant, values: &[Option<Interval>]) -> Series {
    let mut s = Series::new(
        name,
        color(v),
        values.iter().map(|i| i.map(|i| i.median)).collect(),
    );
    s.intervals = Some(values.iter().map(|i| i.map(|i| (i.low, i.high))).collect());
    s
}

/// The section for one pair's load file.
pub fn load_section(l: &LoadRun, ev: &PairEvidence, file: &Path) -> Result<String, RenderError> {
    let mut b = String::new();
    let placement = match (&l.machine.envoy_cpus, &l.machine.driver_cpus) {
        (Some(e), Some(d)) => format!(
            "Envoy pinned to CPU {e:?}, the load generator, echo upstream and auth service (every \
             thread) to CPU {d:?}"
        ),
        _ => "no pinning (one CPU)".into(),
    };
    let how = match l.method {
        RoundMethod::Simultaneous => format!(
            "{} simultaneous paired open-loop round(s) of {} s, every variant's Envoy at the same \
             moment on the same core, each at {:.0} requests/s (together {:.0}% of the core at \
             their CPU per request at capacity), interleaved with {} sequential check round(s) \
             at {:.0} requests/s",
            l.round_count(),
            l.plan.round_secs,
            l.open_rate_rps,
            l.plan.rate_fraction * 100.0,
            check_round_count(l),
            l.check_rate_rps,
        ),
        RoundMethod::Sequential => format!(
            "{} sequential paired open-loop round(s) of {} s per variant (one variant at a time, \
             rotating order) at {:.0} requests/s ({:.0}% of the slowest variant's capacity)",
            l.round_count(),
            l.plan.round_secs,
            l.open_rate_rps,
            l.plan.rate_fraction * 100.0,
        ),
    };
    b.push_str(&html::para(&format!(
        "Envoy {}, {} ({} cores, {}), started {}. {placement}. Capacity: {} closed-loop round(s) \
         of {} s per variant at 1 worker{}, {} connections. Then {how}, 1 worker: {} (target \
         half-width of the {} CPU interval: {:.1} µs).",
        l.envoy_version,
        l.machine.cpu_model,
        l.machine.cpus,
        html::gib(l.machine.memory_bytes),
        html::utc(l.started_ms),
        l.plan.capacity_rounds,
        l.plan.capacity_secs,
        if l.by_workers
            .iter()
            .any(|w| w.workers > 1 && w.capacity.is_empty())
        {
            " (at the other worker counts memory and start-up only: every Envoy runs on the \
             same pinned core, where more workers cannot serve more)"
        } else {
            ""
        },
        l.plan.connections,
        l.stopped.words(),
        if l.has_wasm() {
            "Wasm-minus-Lua"
        } else {
            "Lua-minus-baseline"
        },
        l.target_half_width_us,
    )));
    b.push_str(&html::note(&method_words()));
    b.push_str(&how_far(l));
    if let Some(why) = &l.failure {
        b.push_str(&format!(
            "<p class=\"missing\" data-failure>This run was stopped by an error before it \
             finished (<code>{}</code> is marked partial): {}. What was measured before the error \
             is shown; the rest is missing.</p>\n",
            esc(&file.display().to_string()),
            esc(why)
        ));
    } else if l.partial {
        b.push_str(&format!(
            "<p class=\"missing\">This run was stopped before it finished (<code>{}</code> is \
             marked partial): some rounds or worker counts are missing.</p>\n",
            esc(&file.display().to_string())
        ));
    }
    b.push_str(&behind_words(l));
    let failed: u64 = l
        .rounds
        .iter()
        .chain(&l.capacity)
        .map(|s| s.errors.saturating_add(s.non_2xx))
        .fold(0u64, u64::saturating_add);
    if failed > 0 {
        b.push_str(&html::para(&format!(
            "Note: {failed} request(s) failed or got a non-2xx status during the run; latency \
             counts them too."
        )));
    }

    match paired_rounds(l) {
        Some(rounds) => {
            let c = Costs::of(&rounds);
            b.push_str(&costs_table(&c));
            b.push_str(&other_twins_table(l));
            if let Some(why) = l.lua_only {
                b.push_str(&lua_only_words(&c, why));
            }
            let mut series = vec![series_with_intervals(
                "Lua",
                Variant::Lua,
                &[
                    c.lua_cpu_us,
                    c.lua_latency_us[0],
                    c.lua_latency_us[1],
                    c.lua_latency_us[2],
                ],
            )];
            if l.has_wasm() {
                series.push(series_with_intervals(
                    "Wasm",
                    Variant::WASM,
                    &[
                        c.wasm_cpu_us,
                        c.wasm_latency_us[0],
                        c.wasm_latency_us[1],
                        c.wasm_latency_us[2],
                    ],
                ));
            }
            b.push_str(&charts::bars(&Chart {
                id: "overhead",
                title: "What the filter adds over the baseline (median, 95% interval)".into(),
                x_desc: "measure (1 worker, open loop)".into(),
                y_desc: "added over baseline, µs".into(),
                categories: ["CPU per request", "p50", "p90", "p99"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                x_positions: None,
                series,
                reference: None,
            })?);
            b.push_str(&check_section(l));
            b.push_str(&latency_chart(l)?);
            b.push_str(&per_round_chart(l)?);
        }
        None => {
            for m in ev.missing.iter().filter(|m| m.kind == DataKind::Load) {
                b.push_str(&html::missing(m));
            }
        }
    }

    b.push_str(&capacity(l)?);
    b.push_str(&memory(l, ev)?);
    b.push_str(&startup(l));
    Ok(b)
}

/// The soak (`filterbench load --soak SECS`, run by `all --full`): each variant's Envoy RSS
/// through the long open-loop run as a curve (at most a dozen points drawn), and per variant its
/// growth after the warm-up with its interval; a note with the command when there is none.
pub fn soak_section(run: Option<&SoakRun>, pair: &str) -> Result<String, RenderError> {
    let mut b = String::from("<h3>Soak: does memory keep growing?</h3>\n");
    let Some(run) = run else {
        b.push_str(&html::note(&format!(
            "No soak for this pair: `filterbench load --pair {pair} --soak 600` (or `filterbench \
             all --full`) runs every variant at once at a moderate open-loop rate and samples \
             each Envoy's memory throughout."
        )));
        return Ok(b);
    };
    let base: Vec<&SoakPoint> = run
        .points
        .iter()
        .filter(|p| p.variant == run.variants[0])
        .collect();
    let step = base.len().div_ceil(12).max(1);
    let shown: Vec<usize> = (0..base.len())
        .filter(|i| i % step == 0 || *i + 1 == base.len())
        .collect();
    let series = run
        .variants
        .iter()
        .map(|&v| {
            let of: Vec<&SoakPoint> = run.points.iter().filter(|p| p.variant == v).collect();
            Series::new(
                v.label(),
                color(v),
                shown
                    .iter()
                    .map(|&i| of.get(i).map(|p| p.rss_bytes as f64 / MIB))
                    .collect(),
            )
        })
        .collect();
    b.push_str(&charts::lines(&Chart {
        id: "soak",
        title: format!(
            "Envoy resident memory through the soak ({} req/s each, 1 worker)",
            html::num(run.rate_rps)
        ),
        x_desc: "minutes into the soak".into(),
        y_desc: "resident memory, MiB".into(),
        categories: shown
            .iter()
            .map(|&i| html::num(base[i].elapsed_secs / 60.0))
            .collect(),
        x_positions: Some(shown.iter().map(|&i| base[i].elapsed_secs / 60.0).collect()),
        series,
        reference: None,
    })?);
    let rows: Vec<(String, Vec<Cell>)> = run
        .variants
        .iter()
        .map(|&v| {
            let of: Vec<&SoakPoint> = run.points.iter().filter(|p| p.variant == v).collect();
            let (first, last) = (of.first(), of.last());
            let mib = |p: Option<&&SoakPoint>| {
                p.map_or(Cell::Text("—".into()), |p| {
                    Cell::Num(html::num(p.rss_bytes as f64 / MIB))
                })
            };
            (
                String::new(),
                vec![
                    Cell::Text(v.label().into()),
                    Cell::Num(last.map_or(0, |p| p.requests).to_string()),
                    mib(first),
                    mib(last),
                    Cell::Text(growth_words(growth_kib_per_100k(run, v))),
                ],
            )
        })
        .collect();
    b.push_str(&html::table(
        &[
            "variant",
            "requests",
            "RSS at start, MiB",
            "RSS at end, MiB",
            "growth after the warm-up (95% interval)",
        ],
        &rows,
    ));
    b.push_str(&html::note(&format!(
        "{} s at {} req/s per variant, every variant's Envoy at once on the same core; RSS \
         sampled after each chunk. Growth is RSS gained per request after the first quarter of \
         the samples (states, caches and arenas fill there), in KiB per 100k requests, with a \
         bootstrap interval over the chunks: \"no measurable growth\" when it holds zero.{}",
        html::num(run.secs),
        html::num(run.rate_rps),
        if run.partial {
            " Stopped early (partial)."
        } else {
            ""
        }
    )));
    Ok(b)
}

/// Start-up in real Envoy: the CPU each variant's Envoy spent from exec until it answered ready,
/// at each worker count, and each filter's extra over the baseline split into once per Envoy and
/// per worker (the line through the worker counts, as for memory). Empty for files written
/// before start-up was recorded.
fn startup(l: &LoadRun) -> String {
    let mut by_workers: Vec<_> = l
        .by_workers
        .iter()
        .filter(|w| !w.startup.is_empty())
        .collect();
    if by_workers.is_empty() {
        return String::new();
    }
    by_workers.sort_by_key(|w| w.workers);
    let ms = |ns: u64| ns as f64 / 1e6;
    let mut header = vec!["variant".to_string()];
    header.extend(
        by_workers
            .iter()
            .map(|w| format!("CPU to ready, {} worker(s), ms", w.workers)),
    );
    header.push("over baseline: once per Envoy + per worker, ms".into());
    let rows: Vec<(String, Vec<Cell>)> = l
        .variants
        .iter()
        .map(|&v| {
            let mut cells = vec![Cell::Text(v.label().into())];
            cells.extend(by_workers.iter().map(|w| {
                w.startup_of(v).map_or(Cell::Text("—".into()), |s| {
                    Cell::Num(html::num(ms(s.cpu_ns)))
                })
            }));
            let extra: Vec<(u32, f64)> = by_workers
                .iter()
                .filter_map(|w| {
                    let (s, b) = (w.startup_of(v)?, w.startup_of(Variant::Base)?);
                    Some((w.workers, ms(s.cpu_ns) - ms(b.cpu_ns)))
                })
                .collect();
            // The memory line's least-squares fit, on ms here: its `..._mib` fields hold ms.
            let fit = crate::decision::MemoryFit { points: extra }.per_proxy(1);
            cells.push(match (v, fit) {
                (Variant::Base, _) => Cell::Text("—".into()),
                (_, Some(f)) => Cell::Num(format!(
                    "{} + {} per worker",
                    html::signed(f.per_process_mib),
                    html::signed(f.per_worker_mib)
                )),
                (_, None) => Cell::Text("one worker count: no split".into()),
            });
            (String::new(), cells)
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut b = String::from("<h3>Start-up in real Envoy</h3>\n");
    b.push_str(&html::table(&header, &rows));
    b.push_str(&html::note(
        "CPU time of each Envoy process (every thread) from exec until it first answered \
         ready: the configuration, the Lua script's load, V8 compiling a Wasm module and \
         instantiating it in each worker, a native library's load. Each Envoy was started \
         once per worker count, one after another on the same core: one sample each, so the \
         split into once per Envoy (the line's value at 0 workers) and per worker (its \
         slope) has no interval; read differences of a few ms as noise.",
    ));
    b
}

fn check_round_count(l: &LoadRun) -> usize {
    l.check_rounds
        .iter()
        .map(|s| s.round + 1)
        .max()
        .unwrap_or(0)
}

/// How far the narrowed interval got against its target, when it did not reach it.
fn how_far(l: &LoadRun) -> String {
    let Some(r) = paired_rounds(l) else {
        return String::new();
    };
    let c = Costs::of(&r);
    let (what, i) = if l.has_wasm() {
        ("Wasm minus Lua", c.wasm_minus_lua_cpu_us)
    } else {
        ("Lua minus baseline", c.lua_cpu_us)
    };
    let Some(i) = i else {
        return String::new();
    };
    let reached = i.half_width() <= l.target_half_width_us;
    let first = l.round_count() - l.extra.iter().map(|p| p.rounds).sum::<usize>();
    // Said only when a second pass ran (the first pass's rounds and stop are said above).
    let mut got = String::new();
    for (k, p) in l.extra.iter().enumerate() {
        if k == 0 {
            got.push_str(&format!("The first pass ran {first} round(s)."));
        }
        got.push_str(&format!(
            " A second pass added {} round(s) because {} ({:.0} s of the {:.0} s it was given; \
             ended: {}).",
            p.rounds,
            p.why.words(),
            p.secs,
            p.budget_secs,
            p.ended.words()
        ));
    }
    html::para(&format!(
        "{what}, Envoy CPU per request: ±{:.1} µs (95% half-width) after {} valid round(s), \
         against a target of ±{:.1} µs: {}. {got}",
        i.half_width(),
        i.n,
        l.target_half_width_us,
        if reached {
            "reached".to_string()
        } else {
            let k = i.half_width() / l.target_half_width_us.max(1e-9);
            format!(
                "not reached ({k:.1} times the target; about {:.0} valid rounds in all would \
                 reach it at this spread)",
                (i.n as f64 * k * k).ceil()
            )
        }
    ))
}

/// The rounds left out because an Envoy fell behind its rate.
fn behind_words(l: &LoadRun) -> String {
    let list = |samples: &[filterbench_model::results::Sample], kind: &str| -> Option<String> {
        let rounds = behind_rounds(samples);
        (!rounds.is_empty()).then(|| {
            let parts: Vec<String> = rounds
                .iter()
                .map(|r| {
                    let who: Vec<&str> = samples
                        .iter()
                        .filter(|s| s.round == *r && s.behind)
                        .map(|s| s.variant.id())
                        .collect();
                    format!("{} ({})", r + 1, who.join(", "))
                })
                .collect();
            format!("{kind} round(s) {}", parts.join(", "))
        })
    };
    let flagged: Vec<String> = [
        list(&l.rounds, l.method.words()),
        list(&l.check_rounds, "sequential check"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if flagged.is_empty() {
        return String::new();
    }
    format!(
        "<p class=\"missing\" data-behind>Flagged and left out of every difference: {}, where \
         the Envoy named answered less than 95% of the requests its rate asked for (it fell \
         behind, so the round measured queueing, not the filter).</p>\n",
        esc(&flagged.join("; "))
    )
}

/// The method checked against itself: each difference from the simultaneous rounds and from
/// the sequential check rounds of the same run, and whether their intervals overlap.
fn check_section(l: &LoadRun) -> String {
    let mut b = String::from("<h3>Simultaneous against sequential rounds</h3>\n");
    let Some(rows) = method_check(l) else {
        b.push_str(&format!(
            "<p data-method-check=\"none\">{}</p>\n",
            esc(match l.method {
                RoundMethod::Sequential => {
                    "This run measured sequential rounds only (`--sequential`, or a run from \
                     before simultaneous rounds): there is no simultaneous figure to check."
                }
                RoundMethod::Simultaneous => {
                    "This run has no sequential check rounds (stopped before them): the \
                     simultaneous figures are not checked against the sequential method."
                }
            })
        ));
        return b;
    };
    let apart: Vec<&str> = rows
        .iter()
        .filter(|r| r.overlap() == Some(false))
        .map(|r| r.what.as_str())
        .collect();
    let table_rows: Vec<(String, Vec<Cell>)> = rows
        .iter()
        .map(|r| {
            (
                String::new(),
                vec![
                    Cell::Text(r.what.clone()),
                    Cell::Num(interval_words(r.simultaneous)),
                    Cell::Num(interval_words(r.sequential)),
                    Cell::Text(
                        match r.overlap() {
                            Some(true) => "yes",
                            Some(false) => "NO",
                            None => "n/a",
                        }
                        .into(),
                    ),
                ],
            )
        })
        .collect();
    b.push_str(&format!(
        "<div data-method-check=\"{}\">\n",
        if apart.is_empty() {
            "agree"
        } else {
            "disagree"
        }
    ));
    b.push_str(&html::table(
        &[
            "paired difference (µs)",
            "simultaneous",
            "sequential (check)",
            "intervals overlap",
        ],
        &table_rows,
    ));
    b.push_str(&html::para(&if apart.is_empty() {
        format!(
            "Every difference measured in {} simultaneous round(s) has an interval that overlaps \
             the one measured in {} sequential round(s) of the same run: the two methods agree. \
             The figures above and the verdict use the simultaneous rounds.",
            l.round_count(),
            check_round_count(l)
        )
    } else {
        format!(
            "The two methods disagree on: {}. Their intervals do not overlap, so running the \
             variants at the same moment changed what was measured (contention between the \
             Envoys can favour the variant with the smaller cache footprint). The sequential \
             figure is the check: read the simultaneous one with that in mind.",
            apart.join(", ")
        )
    }));
    b.push_str("</div>\n");
    b
}

/// What a Lua-only run says: what the Lua filter adds over the baseline, each a median with its
/// interval, and that this is the most a migration could save.
fn lua_only_words(c: &Costs, why: LuaOnly) -> String {
    format!(
        "<p data-lua-only=\"{}\">{}</p>\n",
        esc(match why {
            LuaOnly::Asked => "asked",
            LuaOnly::NotEquivalent => "not_equivalent",
        }),
        esc(&format!(
            "Lua only: the Wasm twin was not measured ({}). The Lua filter adds {} µs of Envoy \
             CPU per request and {} µs of p50 latency over the baseline (median [95% interval]), \
             so the most a migration could save is that much: {} µs of CPU and {} µs at p50 per \
             request. A Wasm twin costs something too, so the real saving is smaller.",
            why.words(),
            interval_words(c.lua_cpu_us),
            interval_words(c.lua_latency_us[0]),
            c.lua_cpu_us
                .map_or("n/a".into(), |i| format!("{:.1}", i.median)),
            c.lua_latency_us[0].map_or("n/a".into(), |i| format!("{:.0}", i.median)),
        ))
    )
}

fn costs_table(c: &Costs) -> String {
    costs_table_and(c, Vec::new())
}

/// [`costs_table`] with a row per other way out the rounds measured (Go Wasm, native module):
/// its cost over the baseline and against Lua.
fn costs_table_with_ways(c: &Costs, r: &crate::decision::PairedRounds) -> String {
    use crate::decision::PairedDifference;
    let lat = |d: PairedDifference| [d.of(&r.p50_us), d.of(&r.p90_us), d.of(&r.p99_us)];
    let mut extra = Vec::new();
    for way in c.ways.iter().filter(|w| w.kind != TwinKind::Wasm) {
        let k = way.kind;
        extra.push((
            format!("{} over baseline", k.label()),
            way.cpu_us,
            lat(PairedDifference::TwinOverBase(k)),
        ));
        extra.push((
            format!("{} minus Lua", k.label()),
            way.minus_lua_cpu_us,
            lat(PairedDifference::TwinMinusLua(k)),
        ));
    }
    costs_table_and(c, extra)
}

type CostRow = (String, Option<Interval>, [Option<Interval>; 3]);

fn costs_table_and(c: &Costs, extra: Vec<CostRow>) -> String {
    let row = |label: &str, cpu: Option<Interval>, lat: &[Option<Interval>; 3]| {
        (
            String::new(),
            vec![
                Cell::Text(label.into()),
                Cell::Num(interval_words(cpu)),
                Cell::Num(interval_words(lat[0])),
                Cell::Num(interval_words(lat[1])),
                Cell::Num(interval_words(lat[2])),
            ],
        )
    };
    let mut rows = vec![row("Lua over baseline", c.lua_cpu_us, &c.lua_latency_us)];
    if c.wasm_cpu_us.is_some() {
        rows.push(row("Wasm over baseline", c.wasm_cpu_us, &c.wasm_latency_us));
        rows.push(row(
            "Wasm minus Lua",
            c.wasm_minus_lua_cpu_us,
            &c.wasm_minus_lua_latency_us,
        ));
    }
    for (label, cpu, lat) in &extra {
        rows.push(row(label, *cpu, lat));
    }
    let mut b = html::table(
        &[
            "paired difference",
            "Envoy CPU per request (µs)",
            "p50 (µs)",
            "p90 (µs)",
            "p99 (µs)",
        ],
        &rows,
    );
    if let Some(d) = c.wasm_minus_lua_cpu_us {
        let words = if d.high < 0.0 {
            let saving = Interval {
                median: -d.median,
                low: -d.high,
                high: -d.low,
                n: d.n,
            };
            format!(
                "Against zero, Wasm costs {} µs less Envoy CPU per request than Lua (the \
                 recommendation's bar is the policy's threshold).",
                saving.words(1)
            )
        } else if d.low > 0.0 {
            format!(
                "Against zero, Wasm costs {} µs more Envoy CPU per request than Lua (the \
                 recommendation's bar is the policy's threshold).",
                d.words(1)
            )
        } else {
            format!(
                "No measurable difference in Envoy CPU per request between Wasm and Lua: \
                 {} µs, the interval contains zero.",
                d.signed(1)
            )
        };
        b.push_str(&html::para(&words));
    }
    b
}

/// The pair's other kinds of twin measured in the same rounds (Go Wasm, native dynamic module):
/// each one's Envoy CPU per request minus the baseline's, minus Lua's and minus the Rust Wasm
/// twin's, paired per round (rounds where any Envoy fell behind left out), median and 95%
/// interval. Empty when the run measured none.
fn other_twins_table(l: &LoadRun) -> String {
    use filterbench_model::results::per_round_of;
    use filterbench_model::stats::paired;
    let others: Vec<TwinKind> = l
        .variants
        .iter()
        .filter_map(|v| match v {
            Variant::Twin(k) if *k != TwinKind::Wasm => Some(*k),
            _ => None,
        })
        .collect();
    if others.is_empty() {
        return String::new();
    }
    let cpu = |v: Variant| per_round_of(&l.rounds, v, |s| s.envoy_cpu_us_per_request);
    let (base, lua, wasm) = (cpu(Variant::Base), cpu(Variant::Lua), cpu(Variant::WASM));
    let mut rows = Vec::new();
    let mut words = Vec::new();
    for k in others {
        let mine = cpu(Variant::Twin(k));
        let over_base = Interval::of_median(&paired(&mine, &base));
        let minus_lua = Interval::of_median(&paired(&mine, &lua));
        let minus_wasm = Interval::of_median(&paired(&mine, &wasm));
        rows.push((
            String::new(),
            vec![
                Cell::Text(k.label().into()),
                Cell::Num(interval_words(over_base)),
                Cell::Num(interval_words(minus_lua)),
                Cell::Num(interval_words(minus_wasm)),
            ],
        ));
        if let Some(d) = minus_lua {
            words.push(if d.high < 0.0 {
                format!(
                    "the {} costs less Envoy CPU per request than Lua",
                    k.label()
                )
            } else if d.low > 0.0 {
                format!(
                    "the {} costs more Envoy CPU per request than Lua",
                    k.label()
                )
            } else {
                format!("no measurable difference between the {} and Lua", k.label())
            });
        }
    }
    let mut b = String::from("<h3>Other ways out, measured in the same rounds</h3>\n");
    b.push_str(&html::table(
        &[
            "twin",
            "over baseline, CPU (µs)",
            "minus Lua, CPU (µs)",
            "minus Rust Wasm, CPU (µs)",
        ],
        &rows,
    ));
    b.push_str(&html::para(&format!(
        "Each twin was proven equivalent to the Lua filter (in real Envoy, and in-process where \
         its kind runs there) before it was measured; every figure is a paired difference of the \
         same rounds (median, 95% interval): {}. The decision above weighs every proven twin \
         (see the ways out beside the recommendation).",
        words.join("; ")
    )));
    b
}

/// Absolute open-loop latency percentiles, medians over rounds.
fn latency_chart(l: &LoadRun) -> Result<String, RenderError> {
    let pick: [fn(&filterbench_model::results::Sample) -> f64; 3] =
        [|s| s.p50_us, |s| s.p90_us, |s| s.p99_us];
    let series = l
        .variants
        .iter()
        .map(|v| {
            Series::new(
                v.label(),
                color(*v),
                pick.iter()
                    .map(|f| {
                        let vals: Vec<f64> = l.per_round(*v, f).into_iter().flatten().collect();
                        (!vals.is_empty()).then(|| median(&vals))
                    })
                    .collect(),
            )
        })
        .collect();
    Ok(charts::bars(&Chart {
        id: "latency",
        title: format!(
            "Latency percentiles at {:.0} requests/s, 1 worker (median over rounds)",
            l.open_rate_rps
        ),
        x_desc: "percentile".into(),
        y_desc: "latency, µs".into(),
        categories: ["p50", "p90", "p99"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        x_positions: None,
        series,
        reference: None,
    })?)
}

/// Envoy CPU per request of every variant, round by round: the noise the pairing removes.
fn per_round_chart(l: &LoadRun) -> Result<String, RenderError> {
    let n = l.round_count();
    let series = l
        .variants
        .iter()
        .map(|v| {
            Series::new(
                v.label(),
                color(*v),
                l.per_round(*v, |s| s.envoy_cpu_us_per_request),
            )
        })
        .collect();
    Ok(charts::lines(&Chart {
        id: "cpu",
        title: "Envoy CPU time per request, round by round (1 worker, open loop)".into(),
        x_desc: "round".into(),
        y_desc: "CPU time per request, µs".into(),
        categories: (1..=n).map(|r| r.to_string()).collect(),
        x_positions: Some((1..=n).map(|r| r as f64).collect()),
        series,
        reference: None,
    })?)
}

fn capacity(l: &LoadRun) -> Result<String, RenderError> {
    // The worker counts with capacity rounds (on one pinned core only 1 worker has them).
    let mut workers: Vec<u32> = l
        .by_workers
        .iter()
        .map(|w| w.workers)
        .filter(|w| l.variants.iter().any(|v| !l.capacity_of(*w, *v).is_empty()))
        .collect();
    workers.sort_unstable();
    let mut b = String::new();
    let spread = |w: u32, v: Variant| {
        let t: Vec<f64> = l
            .capacity_of(w, v)
            .iter()
            .map(|s| s.throughput_rps)
            .collect();
        (!t.is_empty()).then(|| {
            let lo = t.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = t.iter().copied().fold(0.0, f64::max);
            (median(&t), lo, hi)
        })
    };
    let series = l
        .variants
        .iter()
        .map(|v| {
            let pts: Vec<Option<(f64, f64, f64)>> =
                workers.iter().map(|w| spread(*w, *v)).collect();
            let mut s = Series::new(
                v.label(),
                color(*v),
                pts.iter().map(|p| p.map(|p| p.0)).collect(),
            );
            s.intervals = Some(pts.iter().map(|p| p.map(|p| (p.1, p.2))).collect());
            s
        })
        .collect();
    b.push_str(&charts::bars(&Chart {
        id: "throughput",
        title: "Closed-loop capacity by worker count (median, range over rounds)".into(),
        x_desc: "Envoy worker threads".into(),
        y_desc: "requests per second".into(),
        categories: workers
            .iter()
            .map(|w| format!("{w} worker{}", if *w == 1 { "" } else { "s" }))
            .collect(),
        x_positions: None,
        series,
        reference: None,
    })?);
    let (flagged, by_count) = flagged_capacity_rounds(l);
    b.push_str(&html::para(&if flagged == 0 {
        "In every closed-loop round Envoy was the bottleneck (at least 90% busy on its CPU): the \
         capacity figures measure Envoy, not the load generator."
            .to_string()
    } else {
        format!(
            "Flagged: in {} closed-loop round(s) Envoy was less than 90% busy, so the load \
             generator or the machine limited the throughput, not the filter: {}. Capacity is \
             shown for context only; no decision uses it.",
            flagged,
            by_count.join("; ")
        )
    }));
    Ok(b)
}

/// The closed-loop rounds where Envoy was not the bottleneck: how many, and each worker count's
/// named. The comparison's capacity rounds run at 1 worker, then each worker count has its own:
/// a round is named with its worker count, or "base round 1" would stand there twice.
fn flagged_capacity_rounds(l: &LoadRun) -> (usize, Vec<String>) {
    let rounds_at = std::iter::once((1, &l.capacity))
        .chain(l.by_workers.iter().map(|w| (w.workers, &w.capacity)));
    let mut by_count: std::collections::BTreeMap<u32, Vec<String>> = Default::default();
    for (workers, rounds) in rounds_at {
        for s in rounds.iter().filter(|s| s.envoy_not_bottleneck()) {
            by_count.entry(workers).or_default().push(format!(
                "{} round {} ({:.0}% busy)",
                s.variant.id(),
                s.round + 1,
                s.envoy_busy * 100.0
            ));
        }
    }
    let flagged: usize = by_count.values().map(Vec::len).sum();
    let by_count: Vec<String> = by_count
        .iter()
        .map(|(workers, named)| {
            let plural = if *workers == 1 { "" } else { "s" };
            format!("at {workers} worker{plural}: {}", named.join(", "))
        })
        .collect();
    (flagged, by_count)
}

fn memory(l: &LoadRun, ev: &PairEvidence) -> Result<String, RenderError> {
    let mut by_workers = l.by_workers.clone();
    by_workers.sort_by_key(|w| w.workers);
    let mut b = String::new();
    let series = l
        .variants
        .iter()
        .map(|v| {
            Series::new(
                v.label(),
                color(*v),
                by_workers
                    .iter()
                    .map(|w| w.memory_of(*v).map(|m| m.rss_bytes as f64 / MIB))
                    .collect(),
            )
        })
        .collect();
    b.push_str(&charts::lines(&Chart {
        id: "memory",
        title: "Envoy resident memory (RSS) by worker count".into(),
        x_desc: "Envoy worker threads".into(),
        y_desc: "resident memory, MiB".into(),
        categories: by_workers.iter().map(|w| w.workers.to_string()).collect(),
        x_positions: Some(by_workers.iter().map(|w| f64::from(w.workers)).collect()),
        series,
        reference: None,
    })?);
    match &ev.memory {
        Some(m) => b.push_str(&html::para(&format!(
            "Wasm's extra memory per worker over Lua: {} MiB — {} (one sample per worker count, \
             no interval).",
            html::signed(m.mib),
            m.explain()
        ))),
        None => {
            for m in ev.missing.iter().filter(|m| m.kind == DataKind::Memory) {
                b.push_str(&html::missing(m));
            }
        }
    }
    let rows: Vec<(String, Vec<Cell>)> = by_workers
        .iter()
        .flat_map(|w| {
            w.memory.iter().map(move |m| {
                let mib = |x: u64| Cell::Num(html::num(x as f64 / MIB));
                (
                    String::new(),
                    vec![
                        Cell::Num(w.workers.to_string()),
                        Cell::Text(m.variant.id().into()),
                        mib(m.rss_bytes),
                        mib(m.peak_rss_bytes),
                        mib(m.allocated_bytes),
                        mib(m.heap_bytes),
                        Cell::Num(m.wasm_vms.to_string()),
                    ],
                )
            })
        })
        .collect();
    let mut header = vec![
        "workers",
        "variant",
        "RSS, MiB",
        "peak RSS, MiB",
        "allocated (allocator), MiB",
        "heap (allocator), MiB",
        "Wasm VMs",
    ];
    let rows = if l.has_wasm() {
        rows
    } else {
        // No Wasm filter ran: no VM column.
        header.pop();
        rows.into_iter()
            .map(|(a, mut cells)| {
                cells.pop();
                (a, cells)
            })
            .collect()
    };
    b.push_str(&html::table(&header, &rows));
    Ok(b)
}

/// The index's "what merely having a filter costs" table, from `load/passthrough.json`: the
/// pass-through Lua, Rust Wasm and native filters over the baseline (and Wasm against Lua), then
/// each other mechanism the run measured against Lua; the claims page takes each pair's share
/// from the same figures ([`crate::mechanism`]).
pub fn mechanism_section(l: Option<&LoadRun>, file: &Path) -> String {
    let mut b =
        String::from("<h2>What merely having a Lua, a Wasm or a native filter costs</h2>\n");
    let Some(l) = l else {
        b.push_str(&html::missing(&crate::evidence::Missing {
            kind: DataKind::Load,
            path: file.to_path_buf(),
            what: "no real-Envoy run of the pass-through filters".into(),
            how: "`filterbench load --pair passthrough`".into(),
        }));
        return b;
    };
    b.push_str(&format!(
        "<p>{} <a href=\"claims.html#mechanism\">{}</a>.</p>\n",
        esc(
            "A Lua filter, a Rust Wasm filter and a native module (an Envoy dynamic module) that \
             do nothing (every callback returns at once), measured like a pair in real Envoy: the \
             fixed cost of each mechanism on every request, before the filter does any work. How \
             much of each pair's cost that is:"
        ),
        esc("the mechanism's share, on the claims page")
    ));
    match paired_rounds(l) {
        Some(r) => {
            let c = Costs::of(&r);
            b.push_str(&costs_table_with_ways(&c, &r));
            if !c.ways.iter().any(|w| w.kind == TwinKind::Native) {
                b.push_str(&html::para(
                    "This run has no native pass-through (it was measured before there was one, \
                     or with `--twin wasm`): `filterbench load --pair passthrough` measures all \
                     three.",
                ));
            }
        }
        None => b.push_str(&html::para("The run has no paired rounds.")),
    }
    b.push_str(&html::note(&format!(
        "{} paired round(s) at {:.0} requests/s, Envoy {}, measured {}.",
        l.round_count(),
        l.open_rate_rps,
        l.envoy_version,
        html::utc(l.started_ms)
    )));
    b
}
