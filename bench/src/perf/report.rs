//! The summary written to `reports/results/bench/summary.json` (from the paired measurement,
//! criterion's start-up estimates, the memory readings and the callgrind counts) and its
//! plain-text tables printed at the end of a run. Split from `perf/mod.rs`, which measures.

use std::path::Path;

use filterbench_model::results::{
    self, BenchSummary, CallgrindRun, Estimate, GoBench, Instructions, MachineInfo, MemoryBench,
    OperationBench, PairBench, PairedMethod, StartupBench,
};

use super::callgrind::{self, Counts};
use super::paired::GoMeasured;
use super::{ops, paired, subjects, Error, Measured, PairedResults, Plan, Profile};
use crate::harness::driver::Side;

/// Criterion's estimate of one benchmark: the median and its 95% interval, from
/// `<out>/<group>/<id>/new/estimates.json`.
pub fn read_estimate(out: &Path, group: &str, id: &str) -> Result<Estimate, Error> {
    let path = out.join(group).join(id).join("new").join("estimates.json");
    let bad = |message: String| Error::Estimates {
        path: path.clone(),
        message,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let median = &v["median"];
    let num = |x: &serde_json::Value, what: &str| {
        x.as_f64()
            .ok_or_else(|| bad(format!("no number at median.{what}")))
    };
    Ok(Estimate {
        median_ns: num(&median["point_estimate"], "point_estimate")?,
        ci_low_ns: num(
            &median["confidence_interval"]["lower_bound"],
            "confidence_interval.lower_bound",
        )?,
        ci_high_ns: num(
            &median["confidence_interval"]["upper_bound"],
            "confidence_interval.upper_bound",
        )?,
    })
}

/// The instructions of one request bench (`baseline`, `<pair>`), when callgrind counted.
fn request_instructions(run: &CallgrindRun, counts: &Counts, bench: &str) -> Option<Instructions> {
    let arm = |a: &str| counts.get(&callgrind::label(bench, a)).copied();
    run.counted.then(|| Instructions {
        lua: arm(Side::Lua.name()),
        wasm: arm(Side::Wasm.name()),
        go: arm(subjects::GO),
    })
}

/// Per operation: (per request with N - per request with 0) / N.
fn op_instructions(run: &CallgrindRun, counts: &Counts, op: &ops::Op) -> Option<Instructions> {
    let side = |s: Side| {
        let with = counts.get(&callgrind::label(
            &format!("op_{}/{}", op.id, op.n),
            s.name(),
        ))?;
        let without = counts.get(&callgrind::label(&format!("op_{}/0", op.id), s.name()))?;
        Some((with - without) / f64::from(op.n))
    };
    run.counted.then(|| Instructions {
        lua: side(Side::Lua),
        wasm: side(Side::Wasm),
        go: None,
    })
}

fn pair_bench(
    name: &str,
    m: &Measured,
    go: Option<&GoMeasured>,
    run: &CallgrindRun,
    counts: &Counts,
) -> PairBench {
    PairBench {
        pair: name.to_string(),
        lua: m.comparison.lua,
        wasm: m.comparison.wasm,
        paired: m.comparison.paired(m.batches.0, m.batches.1),
        instructions: request_instructions(run, counts, name),
        go: go.map(|g| GoBench {
            go: g.vs_lua.wasm,
            go_over_lua: g.vs_lua.wasm_over_lua,
            go_minus_lua_ns: g.vs_lua.wasm_minus_lua_ns,
            go_over_wasm: g.vs_wasm.wasm_over_lua,
            go_minus_wasm_ns: g.vs_wasm.wasm_minus_lua_ns,
            go_batch_iterations: g.batch_iterations,
        }),
    }
}

/// How the paired figures were computed, in numbers and words (`with_go`: some pair has a Go
/// Wasm twin in the rounds).
pub fn paired_method(s: &paired::Settings, with_go: bool) -> PairedMethod {
    PairedMethod {
        rounds: s.rounds,
        blocks: s.blocks,
        batch_target_us: s.batch_target.as_secs_f64() * 1e6,
        bootstrap_resamples: s.resamples,
        bootstrap_seed: paired::SEED,
        confidence: paired::CONFIDENCE,
        words: format!(
            "Lua and Wasm interleaved in time: {} rounds in {} blocks, each block on fresh VMs \
             and the blocks of every bench spread over the run; a round times one batch (about \
             {} us) of every arm back to back, the order reversed every other round (ABBA) so \
             drift cancels. Per round: Wasm ns / Lua ns and Wasm ns - Lua ns (an operation: \
             per-op times (t(N) - t(0)) / N of each side, from 4 interleaved arms). Reported: \
             the median over rounds with a {}% percentile bootstrap interval ({} resamples, \
             blocks then rounds within them drawn with replacement, fixed seed {:#x}: the same \
             samples give the same interval). The interval covers the variation within this \
             run (VMs, phases of the run), not a machine state the run never saw.{}",
            s.rounds,
            s.blocks,
            s.batch_target.as_micros(),
            paired::CONFIDENCE * 100.0,
            s.resamples,
            paired::SEED,
            if with_go {
                " A pair with a Go Wasm twin has it as a third arm in the same rounds (Lua, Rust \
                 Wasm, Go Wasm, then reversed): Go ns / Lua ns, Go ns / Rust Wasm ns and the \
                 differences are taken per round and reported the same way."
            } else {
                ""
            }
        ),
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn summary(
    out: &Path,
    profile: Profile,
    settings: &paired::Settings,
    plan: &Plan,
    measured: &PairedResults,
    memory: Vec<MemoryBench>,
    callgrind: CallgrindRun,
    counts: &Counts,
) -> Result<BenchSummary, Error> {
    let pairs = measured
        .pairs
        .iter()
        .map(|m| pair_bench(&m.name, &m.wasm, m.go.as_ref(), &callgrind, counts))
        .collect();
    let operations = ops::OPS
        .iter()
        .zip(&measured.ops)
        .map(|(op, m)| OperationBench {
            op: op.id.to_string(),
            description: op.description.to_string(),
            claimed_lua_ns: op.claimed_lua_ns,
            claimed_wasm_ns: op.claimed_wasm_ns,
            lua: m.comparison.lua,
            wasm: m.comparison.wasm,
            paired: m.comparison.paired(m.batches.0, m.batches.1),
            instructions: op_instructions(&callgrind, counts, op),
        })
        .collect();
    let startup = plan
        .pairs
        .iter()
        .map(|p| {
            let name = &p.loaded.pair.name;
            let startup = |step: &str| read_estimate(out, "startup", &format!("{step}/{name}"));
            // Only what this run timed: an older run's estimates may still be on disk.
            let go = |step: &str, timed: bool| {
                p.go.as_ref()
                    .filter(|_| timed)
                    .map(|_| startup(&format!("{}_{step}", subjects::GO)))
                    .transpose()
            };
            Ok(StartupBench {
                pair: name.clone(),
                lua_load: startup("lua_load")?,
                wasm_compile: startup("wasm_compile")?,
                wasm_instantiate: startup("wasm_instantiate")?,
                go_compile: go("compile", profile.settings().go_compile)?,
                go_instantiate: go("instantiate", true)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(BenchSummary {
        schema_version: results::BENCH_SCHEMA,
        created_ms: filterbench_model::now_ms(),
        profile: profile.name().to_string(),
        machine: MachineInfo::probe(),
        pairs,
        operations,
        startup,
        memory,
        baseline: Some(pair_bench(
            "baseline",
            &measured.baseline,
            None,
            &callgrind,
            counts,
        )),
        paired_method: paired_method(settings, plan.go_pairs() > 0),
        callgrind,
        go_not_measured: plan.go_not_measured.clone(),
    })
}

/// The summary as plain-text tables.
pub fn table(s: &BenchSummary) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let ratio = |p: &results::Paired| ratio_text(&p.wasm_over_lua);
    let instr = |i: &Option<Instructions>, pick: fn(&Instructions) -> Option<f64>| {
        i.as_ref()
            .and_then(pick)
            .map_or("-".to_string(), |n| format!("{n:.0}"))
    };
    let _ = writeln!(
        t,
        "\nper request (paired)   lua ns     wasm ns   wasm/lua [95% CI]       lua instr  wasm instr"
    );
    for p in s.baseline.iter().chain(&s.pairs) {
        let _ = writeln!(
            t,
            "{:<20} {:>8.0} {:>11.0}   {:<22} {:>10} {:>11}",
            p.pair,
            p.lua.median_ns,
            p.wasm.median_ns,
            ratio(&p.paired),
            instr(&p.instructions, |i| i.lua),
            instr(&p.instructions, |i| i.wasm),
        );
    }
    go_request_table(&mut t, s);
    let _ = writeln!(
        t,
        "\nper operation (paired) claimed lua/wasm  lua ns   wasm ns  wasm/lua [95% CI]       lua instr  wasm instr"
    );
    for o in &s.operations {
        let _ = writeln!(
            t,
            "{:<20} {:>9.0}/{:<8.0} {:>8.1} {:>9.1}  {:<22} {:>10} {:>11}",
            o.op,
            o.claimed_lua_ns,
            o.claimed_wasm_ns,
            o.lua.median_ns,
            o.wasm.median_ns,
            ratio(&o.paired),
            instr(&o.instructions, |i| i.lua),
            instr(&o.instructions, |i| i.wasm),
        );
    }
    let _ = writeln!(t, "\n{}", s.paired_method.words);
    let _ = writeln!(t, "callgrind: {}", s.callgrind.note);
    start_up_and_memory_tables(&mut t, s);
    t
}

/// A ratio with its interval: `0.42 [0.40, 0.45]`.
fn ratio_text(r: &filterbench_model::stats::Interval) -> String {
    format!("{:.2} [{:.2}, {:.2}]", r.median, r.low, r.high)
}

/// The Go Wasm twins' per-request table of [`table`], when some pair has one.
fn go_request_table(t: &mut String, s: &BenchSummary) {
    use std::fmt::Write;
    if !s.has_go() {
        for line in &s.go_not_measured {
            let _ = writeln!(t, "go wasm not measured: {line}");
        }
        return;
    }
    let _ = writeln!(
        t,
        "\nper request, go wasm     go ns   go/lua [95% CI]         go/wasm [95% CI]         go instr"
    );
    for p in &s.pairs {
        let Some(g) = &p.go else { continue };
        let _ = writeln!(
            t,
            "{:<20} {:>9.0}   {:<22}  {:<22} {:>10}",
            p.pair,
            g.go.median_ns,
            ratio_text(&g.go_over_lua),
            ratio_text(&g.go_over_wasm),
            p.instructions
                .and_then(|i| i.go)
                .map_or("-".to_string(), |n| format!("{n:.0}")),
        );
    }
    for line in &s.go_not_measured {
        let _ = writeln!(t, "go wasm not measured: {line}");
    }
}

/// The start-up and memory tables of [`table`].
fn start_up_and_memory_tables(t: &mut String, s: &BenchSummary) {
    use std::fmt::Write;
    let _ = writeln!(
        t,
        "\nstart-up (median us)   lua load   wasm compile   wasm instantiate"
    );
    for p in &s.startup {
        let us = |e: &Estimate| e.median_ns / 1000.0;
        let _ = writeln!(
            t,
            "{:<20} {:>10.1} {:>14.1} {:>18.1}",
            p.pair,
            us(&p.lua_load),
            us(&p.wasm_compile),
            us(&p.wasm_instantiate)
        );
    }
    if s.startup.iter().any(|p| p.go_compile.is_some()) {
        let _ = writeln!(t, "\nstart-up (median us)   go compile   go instantiate");
        for p in &s.startup {
            let us = |e: &Option<Estimate>| {
                e.map_or("-".into(), |e| format!("{:.1}", e.median_ns / 1000.0))
            };
            if p.go_compile.is_some() || p.go_instantiate.is_some() {
                let _ = writeln!(
                    t,
                    "{:<20} {:>12} {:>16}",
                    p.pair,
                    us(&p.go_compile),
                    us(&p.go_instantiate)
                );
            }
        }
    }
    let _ = writeln!(
        t,
        "\nmemory (KiB)       lua start  lua after N  wasm start  wasm after N   (N requests)"
    );
    for m in &s.memory {
        let kib = |b: u64| b as f64 / 1024.0;
        let _ = writeln!(
            t,
            "{:<16} {:>11.1} {:>12.1} {:>11.1} {:>13.1}   ({})",
            m.pair,
            kib(m.lua_after_start_bytes),
            kib(m.lua_after_requests_bytes),
            kib(m.wasm_after_start_bytes),
            kib(m.wasm_after_requests_bytes),
            m.requests
        );
    }
    if s.memory.iter().any(|m| m.go_after_start_bytes.is_some()) {
        let _ = writeln!(
            t,
            "\nmemory (KiB)       go start  go after N   (N requests)"
        );
        for m in &s.memory {
            if let (Some(start), Some(after)) = (m.go_after_start_bytes, m.go_after_requests_bytes)
            {
                let kib = |b: u64| b as f64 / 1024.0;
                let _ = writeln!(
                    t,
                    "{:<16} {:>10.1} {:>11.1}   ({})",
                    m.pair,
                    kib(start),
                    kib(after),
                    m.requests
                );
            }
        }
    }
}
