//! Paired timing: Lua and Wasm measured interleaved in time, so a noisy phase of the machine
//! lands on both sides instead of on whichever criterion happened to be measuring.
//!
//! How: every arm (a [`Subject`]: one VM and its request) is calibrated to a batch of iterations
//! taking about [`Settings::batch_target`]; then each round times one batch of every arm back to
//! back, the order reversed every other round (A B | B A | A B ...: ABBA), so a linear drift
//! within two rounds cancels. A pair has two arms (Lua, Wasm), or three when it has a Go Wasm
//! twin (Lua, Rust Wasm, Go Wasm: A B C | C B A), whose rounds give Go against Lua and against
//! the Rust twin as they give Rust against Lua; an operation of the claimed table
//! four (Lua and Wasm, each with 0 and N repetitions), from which each round gives the per-op
//! time (t(N) - t(0)) / N of each side. Per round the ratio Wasm/Lua and the difference
//! Wasm - Lua are taken; [`compare`] reports their medians over rounds with a 95% percentile
//! bootstrap interval: rounds are resampled with replacement ([`Settings::resamples`] times,
//! from a fixed seed, [`SEED`], so the same samples always give the same interval), and the
//! 2.5th and 97.5th percentiles of the resampled medians bound the interval.
//!
//! The rounds are split into [`Settings::blocks`] blocks, each on fresh VMs (a new Lua state,
//! with LuaJIT's per-state random hash seed, a new Wasm instance) and spread over the whole
//! paired phase of the run (block 1 of every bench, then block 2 of every bench, ...), and the
//! bootstrap resamples blocks, then rounds within them ([`compare_blocks`]): a VM that happened
//! to be laid out well, or a phase of the run when the machine was loaded in a way that hurts
//! one side more, widens the interval instead of hiding in it.
//!
//! Why medians of per-round ratios: a round's two batches ran within a few milliseconds of each
//! other, so their ratio is free of the slow drift that made two criterion runs 30 minutes apart
//! disagree by +73% / -34%; the median ignores the rounds a context switch hit. What no
//! interval from one run can contain: a machine state the run never saw (another run's noisy
//! neighbour that slows Lua and Wasm unequally), and the placement of the Wasm module's machine
//! code, compiled once per process.
//!
//! Run through `filterbench bench` / `cargo bench` ([`super::run`]); [`compare`] is pure and
//! tested on synthetic samples (`bench/tests/perf.rs`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use filterbench_model::results::{Estimate, Paired};
use filterbench_model::stats::Interval;

use super::subjects::{self, Subject};
use super::{ops, Error, Plan, SIDES};

/// The bootstrap's fixed seed.
pub const SEED: u64 = 0x5eed_f11e_7be4_c4a1;
/// Two-sided confidence of the intervals.
pub const CONFIDENCE: f64 = 0.95;

/// How long and how often to measure.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Untimed running of each arm before calibration (JIT traces, caches).
    pub warm_up: Duration,
    /// About how long one batch of one arm takes.
    pub batch_target: Duration,
    /// Rounds (one batch of every arm each) in all.
    pub rounds: u32,
    /// Blocks the rounds are split into, each on fresh VMs, spread over the run.
    pub blocks: u32,
    /// Bootstrap resamples.
    pub resamples: u32,
}

/// Per-iteration times of each arm, ns, one entry per round, and the batch sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    pub per_round_ns: Vec<Vec<f64>>,
    pub batch_iterations: Vec<u64>,
}

/// Runs `arms` interleaved (see the module documentation) and returns each arm's ns per
/// iteration in each round. Every iteration is a [`Subject::request_or_panic`].
pub fn measure(arms: &mut [&mut Subject], s: &Settings) -> Samples {
    let batch_iterations: Vec<u64> = arms
        .iter_mut()
        .map(|arm| calibrate(arm, s.warm_up, s.batch_target))
        .collect();
    let mut per_round_ns = vec![Vec::with_capacity(s.rounds as usize); arms.len()];
    let forward: Vec<usize> = (0..arms.len()).collect();
    let backward: Vec<usize> = forward.iter().rev().copied().collect();
    for round in 0..s.rounds {
        // Even rounds A B .., odd rounds .. B A: the sequence runs A B B A A B B A (ABBA).
        let order = if round % 2 == 0 { &forward } else { &backward };
        for &i in order {
            let n = batch_iterations[i];
            let t = time_batch(arms[i], n);
            per_round_ns[i].push(t.as_nanos() as f64 / n as f64);
        }
    }
    Samples {
        per_round_ns,
        batch_iterations,
    }
}

#[inline(never)]
fn time_batch(arm: &mut Subject, n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(arm.request_or_panic());
    }
    start.elapsed()
}

/// Warms the arm up for `warm_up`, then returns the iterations one batch of about `target`
/// needs (at least 1).
fn calibrate(arm: &mut Subject, warm_up: Duration, target: Duration) -> u64 {
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < warm_up || done < 10 {
        black_box(arm.request_or_panic());
        done += 1;
    }
    let per = start.elapsed().as_nanos() as f64 / done as f64;
    ((target.as_nanos() as f64 / per.max(1.0)).round() as u64).max(1)
}

/// The statistics of one comparison: per side the median ns with its interval, and the paired
/// ratio and difference.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub lua: Estimate,
    pub wasm: Estimate,
    pub wasm_over_lua: Interval,
    pub wasm_minus_lua_ns: Interval,
    pub rounds: u32,
    pub blocks: u32,
}

impl Comparison {
    /// The summary's [`Paired`] record, with the batch sizes.
    pub fn paired(&self, lua_batch_iterations: u64, wasm_batch_iterations: u64) -> Paired {
        Paired {
            wasm_over_lua: self.wasm_over_lua,
            wasm_minus_lua_ns: self.wasm_minus_lua_ns,
            rounds: self.rounds,
            blocks: self.blocks,
            lua_batch_iterations,
            wasm_batch_iterations,
        }
    }
}

/// One block of rounds: fresh VMs of every arm, measured interleaved; per side its ns per
/// iteration in each round.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block {
    pub lua: Vec<f64>,
    pub wasm: Vec<f64>,
}

/// [`compare_blocks`] of one block.
pub fn compare(lua: &[f64], wasm: &[f64], resamples: u32) -> Option<Comparison> {
    compare_blocks(
        &[Block {
            lua: lua.to_vec(),
            wasm: wasm.to_vec(),
        }],
        resamples,
    )
}

/// Medians over all rounds of: `lua[i]`, `wasm[i]`, `wasm[i] / lua[i]` and `wasm[i] - lua[i]`
/// (round i of each side measured back to back), with 95% intervals from a two-stage bootstrap
/// that keeps the blocks' structure: each resample draws the blocks with replacement, then
/// within each drawn block its rounds with replacement, and takes the medians of the pooled
/// rounds. Blocks that differ (other VMs, another phase of the run) thus widen the interval as
/// they should; the same draws serve all four statistics. `None` when there are no rounds or a
/// block's sides have different numbers of them.
pub fn compare_blocks(blocks: &[Block], resamples: u32) -> Option<Comparison> {
    if blocks.is_empty()
        || blocks
            .iter()
            .any(|b| b.lua.is_empty() || b.lua.len() != b.wasm.len())
    {
        return None;
    }
    // Per block: [lua, wasm, ratio, difference] per round.
    let series: Vec<[Vec<f64>; 4]> = blocks
        .iter()
        .map(|b| {
            let ratios = b.lua.iter().zip(&b.wasm).map(|(l, w)| w / l).collect();
            let diffs = b.lua.iter().zip(&b.wasm).map(|(l, w)| w - l).collect();
            [b.lua.clone(), b.wasm.clone(), ratios, diffs]
        })
        .collect();
    let total: usize = blocks.iter().map(|b| b.lua.len()).sum();
    let mut boot: [Vec<f64>; 4] = Default::default();
    let mut rng = SplitMix64(SEED);
    let mut picks: Vec<(usize, usize)> = Vec::with_capacity(total);
    let mut scratch: Vec<f64> = Vec::with_capacity(total);
    for _ in 0..resamples.max(1) {
        picks.clear();
        for _ in 0..blocks.len() {
            let b = rng.below(blocks.len());
            let n = blocks[b].lua.len();
            for _ in 0..n {
                picks.push((b, rng.below(n)));
            }
        }
        for (k, out) in boot.iter_mut().enumerate() {
            scratch.clear();
            scratch.extend(picks.iter().map(|&(b, i)| series[b][k][i]));
            out.push(median(&mut scratch));
        }
    }
    let pooled = |k: usize| -> Vec<f64> { series.iter().flat_map(|s| s[k].clone()).collect() };
    let interval = |k: usize, boot: &mut Vec<f64>| {
        let (low, high) = percentile_interval(boot, CONFIDENCE);
        Interval {
            median: median(&mut pooled(k)),
            low,
            high,
            n: total,
        }
    };
    let [mut b_lua, mut b_wasm, mut b_ratio, mut b_diff] = boot;
    let as_estimate = |i: Interval| Estimate {
        median_ns: i.median,
        ci_low_ns: i.low,
        ci_high_ns: i.high,
    };
    Some(Comparison {
        lua: as_estimate(interval(0, &mut b_lua)),
        wasm: as_estimate(interval(1, &mut b_wasm)),
        wasm_over_lua: interval(2, &mut b_ratio),
        wasm_minus_lua_ns: interval(3, &mut b_diff),
        rounds: total as u32,
        blocks: blocks.len() as u32,
    })
}

/// Per-round per-operation times from the times of requests with `n` and with 0 repetitions.
pub fn per_op(with_n: &[f64], without: &[f64], n: u32) -> Vec<f64> {
    let n = f64::from(n.max(1));
    with_n
        .iter()
        .zip(without)
        .map(|(w, z)| (w - z) / n)
        .collect()
}

/// The median (mean of the two middle values for an even count); reorders `xs`. NaN for none.
pub fn median(xs: &mut [f64]) -> f64 {
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    let (_, &mut hi, _) = xs.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        return hi;
    }
    let lo = xs[..n / 2]
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .expect("n >= 2");
    (lo + hi) / 2.0
}

/// The central `confidence` percentile interval of `xs` (nearest rank); sorts `xs`.
fn percentile_interval(xs: &mut [f64], confidence: f64) -> (f64, f64) {
    xs.sort_unstable_by(f64::total_cmp);
    let n = xs.len();
    let tail = (1.0 - confidence) / 2.0;
    let at = |q: f64| xs[((q * n as f64).floor() as usize).min(n - 1)];
    (at(tail), at(1.0 - tail))
}

/// A small fixed-seed generator (SplitMix64): deterministic, no dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift; the bias is below 2^-40 for the sizes used here).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

// ---------------------------------------------------------------------------------------------
// The run's paired phase: every bench, block by block.

/// The paired comparisons of one run, by bench name (`baseline`, `<pair>`, `op_<op>`).
pub(crate) struct PairedResults {
    pub baseline: Measured,
    pub pairs: Vec<PairMeasured>,
    pub ops: Vec<Measured>,
}

/// One pair: Lua against the Rust Wasm twin, and the Go Wasm twin (when the pair has one)
/// against each, all from the same interleaved rounds.
pub(crate) struct PairMeasured {
    pub name: String,
    pub wasm: Measured,
    pub go: Option<GoMeasured>,
}

/// The Go Wasm twin's comparisons: in each, the `lua` side is the reference (Lua, or the Rust
/// Wasm twin) and the `wasm` side is Go; and the Go arm's batch size in the first block.
pub(crate) struct GoMeasured {
    pub vs_lua: Comparison,
    pub vs_wasm: Comparison,
    pub batch_iterations: u64,
}

/// One paired comparison and its batch sizes (Lua, Wasm) in the first block.
pub(crate) struct Measured {
    pub comparison: Comparison,
    pub batches: (u64, u64),
}

/// The blocks of one bench as they are measured, then compared.
#[derive(Default)]
struct Blocks {
    blocks: Vec<Block>,
    batches: Option<(u64, u64)>,
}

impl Blocks {
    fn push(&mut self, block: Block, batches: (u64, u64)) {
        self.blocks.push(block);
        self.batches.get_or_insert(batches);
    }

    fn compare(self, bench: &str, resamples: u32) -> Result<Measured, Error> {
        let comparison = compare_blocks(&self.blocks, resamples).ok_or_else(|| Error::Check {
            bench: bench.to_string(),
            message: "the paired measurement has no rounds".into(),
        })?;
        Ok(Measured {
            comparison,
            batches: self.batches.unwrap_or_default(),
        })
    }
}

/// A pair's blocks as they are measured: Lua and the Rust Wasm twin, and Go against each.
#[derive(Default)]
struct PairBlocks {
    wasm: Blocks,
    go_vs_lua: Blocks,
    go_vs_wasm: Blocks,
}

impl PairBlocks {
    /// One block of a request's arms (Lua, Rust Wasm, then Go when there is one), interleaved
    /// (see the module documentation).
    fn measure(&mut self, arms: &mut [Subject], s: &Settings) {
        let mut refs: Vec<&mut Subject> = arms.iter_mut().collect();
        let samples = measure(&mut refs, s);
        let (r, n) = (&samples.per_round_ns, &samples.batch_iterations);
        let block = |a: usize, b: usize| Block {
            lua: r[a].clone(),
            wasm: r[b].clone(),
        };
        self.wasm.push(block(0, 1), (n[0], n[1]));
        if r.len() > 2 {
            self.go_vs_lua.push(block(0, 2), (n[0], n[2]));
            self.go_vs_wasm.push(block(1, 2), (n[1], n[2]));
        }
    }

    fn compare(self, name: String, resamples: u32) -> Result<PairMeasured, Error> {
        let go = if self.go_vs_lua.blocks.is_empty() {
            None
        } else {
            let vs_lua = self.go_vs_lua.compare(&name, resamples)?;
            Some(GoMeasured {
                batch_iterations: vs_lua.batches.1,
                vs_lua: vs_lua.comparison,
                vs_wasm: self.go_vs_wasm.compare(&name, resamples)?.comparison,
            })
        };
        Ok(PairMeasured {
            wasm: self.wasm.compare(&name, resamples)?,
            go,
            name,
        })
    }
}

/// One block of one operation: Lua and Wasm with 0 and N repetitions, interleaved; per round
/// the per-op time of each side, (t(N) - t(0)) / N.
fn measure_op(plan: &Plan, op: &ops::Op, s: &Settings) -> Result<(Block, (u64, u64)), Error> {
    let mut arms = Vec::new();
    for side in SIDES {
        for n in [0, op.n] {
            arms.push(plan.op_subject(op, side, n)?);
        }
    }
    let samples = {
        let mut refs: Vec<&mut Subject> = arms.iter_mut().collect();
        measure(&mut refs, s)
    };
    for (i, arm) in arms.iter_mut().enumerate() {
        subjects::check_op(arm, op, if i % 2 == 0 { 0 } else { op.n })?;
    }
    let r = &samples.per_round_ns;
    let block = Block {
        lua: per_op(&r[1], &r[0], op.n),
        wasm: per_op(&r[3], &r[2], op.n),
    };
    Ok((
        block,
        (samples.batch_iterations[1], samples.batch_iterations[3]),
    ))
}

/// The paired measurement of every bench: `s.blocks` blocks, each on fresh VMs, block 1 of
/// every bench, then block 2 of every bench, and so on, so each bench's blocks are spread over
/// the whole phase.
pub(crate) fn run_phase(plan: &Plan, s: &Settings) -> Result<PairedResults, Error> {
    let blocks = s.blocks.max(1);
    // An even number of rounds per block, so each block is whole ABBA quads.
    let per_block = Settings {
        rounds: (s.rounds / blocks).max(2).div_ceil(2) * 2,
        ..*s
    };
    let mut baseline = PairBlocks::default();
    let mut pairs: Vec<PairBlocks> = plan.pairs.iter().map(|_| PairBlocks::default()).collect();
    let mut op_blocks: Vec<Blocks> = ops::OPS.iter().map(|_| Blocks::default()).collect();
    for _ in 0..blocks {
        let mut arms = SIDES
            .iter()
            .map(|&side| plan.passthrough_subject(side))
            .collect::<Result<Vec<_>, _>>()?;
        baseline.measure(&mut arms, &per_block);
        for arm in &mut arms {
            subjects::check_passthrough(arm)?;
        }
        for (p, acc) in plan.pairs.iter().zip(&mut pairs) {
            let mut arms = p.arms()?;
            acc.measure(&mut arms, &per_block);
            p.recheck(&mut arms)?;
        }
        for (op, acc) in ops::OPS.iter().zip(&mut op_blocks) {
            let (block, batches) = measure_op(plan, op, &per_block)?;
            acc.push(block, batches);
        }
    }
    let pairs = plan
        .pairs
        .iter()
        .zip(pairs)
        .map(|(p, acc)| acc.compare(p.loaded.pair.name.clone(), s.resamples))
        .collect::<Result<Vec<_>, _>>()?;
    let ops = ops::OPS
        .iter()
        .zip(op_blocks)
        .map(|(op, acc)| acc.compare(&format!("op_{}", op.id), s.resamples))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PairedResults {
        baseline: baseline.compare("baseline".into(), s.resamples)?.wasm,
        pairs,
        ops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&mut []).is_nan());
    }

    #[test]
    fn the_same_samples_give_the_same_interval() {
        let lua: Vec<f64> = (0..50).map(|i| 100.0 + (i * 37 % 11) as f64).collect();
        let wasm: Vec<f64> = (0..50).map(|i| 80.0 + (i * 53 % 13) as f64).collect();
        assert_eq!(compare(&lua, &wasm, 500), compare(&lua, &wasm, 500));
        assert!(compare(&lua, &wasm[1..], 500).is_none());
        assert!(compare(&[], &[], 500).is_none());
    }
}
