//! The summary written to `reports/results/bench/summary.json` (from the paired measurement,
//! criterion's start-up estimates, the memory readings and the callgrind counts) and its
//! plain-text tables printed at the end of a run. Split from `perf/mod.rs`, which measures.

use std::path::Path;

use filterbench_model::results::{
    self, BenchSummary, CallgrindRun, Estimate, Instructions, MachineInfo, MemoryBench,
    OperationBench, PairBench, PairedMethod, StartupBench,
};

use super::callgrind::{self, Counts};
use super::{ops, paired, Error, Measured, PairedResults, Plan, Profile};
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
    let side = |s| counts.get(&callgrind::label(bench, s)).copied();
    run.counted.then(|| Instructions {
        lua: side(Side::Lua),
        wasm: side(Side::Wasm),
    })
}

/// Per operation: (per request with N - per request with 0) / N.
fn op_instructions(run: &CallgrindRun, counts: &Counts, op: &ops::Op) -> Option<Instructions> {
    let side = |s| {
        let with = counts.get(&callgrind::label(&format!("op_{}/{}", op.id, op.n), s))?;
        let without = counts.get(&callgrind::label(&format!("op_{}/0", op.id), s))?;
        Some((with - without) / f64::from(op.n))
    };
    run.counted.then(|| Instructions {
        lua: side(Side::Lua),
        wasm: side(Side::Wasm),
    })
}

fn pair_bench(name: &str, m: &Measured, run: &CallgrindRun, counts: &Counts) -> PairBench {
    PairBench {
        pair: name.to_string(),
        lua: m.comparison.lua,
        wasm: m.comparison.wasm,
        paired: m.comparison.paired(m.batches.0, m.batches.1),
        instructions: request_instructions(run, counts, name),
    }
}

/// How the paired figures were computed, in numbers and words.
pub fn paired_method(s: &paired::Settings) -> PairedMethod {
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
             run (VMs, phases of the run), not a machine state the run never saw.",
            s.rounds,
            s.blocks,
            s.batch_target.as_micros(),
            paired::CONFIDENCE * 100.0,
            s.resamples,
            paired::SEED
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
        .map(|(name, m)| pair_bench(name, m, &callgrind, counts))
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
            Ok(StartupBench {
                pair: name.clone(),
                lua_load: read_estimate(out, "startup", &format!("lua_load/{name}"))?,
                wasm_compile: read_estimate(out, "startup", &format!("wasm_compile/{name}"))?,
                wasm_instantiate: read_estimate(
                    out,
                    "startup",
                    &format!("wasm_instantiate/{name}"),
                )?,
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
            &callgrind,
            counts,
        )),
        paired_method: paired_method(settings),
        callgrind,
    })
}

/// The summary as plain-text tables.
pub fn table(s: &BenchSummary) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let ratio = |p: &results::Paired| {
        let r = p.wasm_over_lua;
        format!("{:.2} [{:.2}, {:.2}]", r.median, r.low, r.high)
    };
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
}
