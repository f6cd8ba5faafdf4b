//! The in-process bench summary, `bench/summary.json` ([`BenchSummary`]).

use serde::{Deserialize, Serialize};

use crate::stats::Interval;

/// A time and its 95% confidence interval, nanoseconds. Per request and per operation: the
/// median over the paired measurement's rounds with a bootstrap interval (see [`Paired`]);
/// start-up: criterion's median and interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub median_ns: f64,
    pub ci_low_ns: f64,
    pub ci_high_ns: f64,
}

/// Lua and Wasm measured interleaved in time: each round times one batch of every arm back to
/// back, the order reversed every other round (ABBA), so a slow phase of the machine lands on
/// both sides. Per round the ratio and the difference of the two sides' ns per request (or per
/// operation); the fields are the medians over rounds with a 95% percentile bootstrap interval
/// (blocks of rounds on fresh VMs, then rounds within them, resampled with a fixed seed: the
/// same samples give the same interval).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    /// Wasm time / Lua time: below 1 means Wasm is faster.
    pub wasm_over_lua: Interval,
    /// Wasm time - Lua time, ns: below 0 means Wasm is faster.
    pub wasm_minus_lua_ns: Interval,
    /// Rounds measured (one batch of each arm each), in all.
    pub rounds: u32,
    /// Blocks the rounds were split into, each on fresh VMs, spread over the run; the bootstrap
    /// resamples blocks, then rounds within them.
    pub blocks: u32,
    /// Iterations in one batch of each arm (calibrated so a batch takes about
    /// [`PairedMethod::batch_target_us`]). For an operation: of its request with N repetitions.
    pub lua_batch_iterations: u64,
    pub wasm_batch_iterations: u64,
}

/// How the paired figures were computed, in numbers and words (shown with them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedMethod {
    pub rounds: u32,
    pub blocks: u32,
    pub batch_target_us: f64,
    pub bootstrap_resamples: u32,
    pub bootstrap_seed: u64,
    pub confidence: f64,
    pub words: String,
}

/// Instructions executed per request (or per operation) under valgrind's callgrind: a count,
/// not a time, and the same from run to run. `None` on a side whose count is not meaningful
/// (the reason is in [`CallgrindRun::note`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Instructions {
    pub lua: Option<f64>,
    pub wasm: Option<f64>,
    /// The Go Wasm twin's, for a pair that has one (absent in summaries before Go was counted,
    /// and for the ops, which have no Go guest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go: Option<f64>,
}

/// The callgrind run behind every [`Instructions`]: how it was run, or why there are no counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallgrindRun {
    /// Whether counts were taken (valgrind found and the run succeeded).
    pub counted: bool,
    /// `valgrind --version`, when found.
    pub valgrind: Option<String>,
    /// Untimed, uncounted requests before counting, then the two counted runs: per request =
    /// (count(k2) - count(k1)) / (k2 - k1).
    pub warm_up: u64,
    pub k1: u64,
    pub k2: u64,
    /// The valgrind options used.
    pub options: Vec<String>,
    /// Cranelift CPU features (`has_avx512f`, ...) this machine has and valgrind's emulated CPU
    /// lacks: the counted Wasm code is compiled without them.
    pub wasm_features_off: Vec<String>,
    /// What the counts mean and do not mean, or why they are absent.
    pub note: String,
}

/// One full request through each twin, in-process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairBench {
    pub pair: String,
    /// Median ns per request over the paired rounds, 95% bootstrap interval.
    pub lua: Estimate,
    pub wasm: Estimate,
    pub paired: Paired,
    /// `None` when callgrind did not run (see [`BenchSummary::callgrind`]).
    pub instructions: Option<Instructions>,
    /// The Go Wasm twin, measured in the same rounds, when the pair has one (and it was built;
    /// see [`BenchSummary::go_not_measured`]). Absent in summaries written before Go was
    /// measured in-process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go: Option<GoBench>,
}

/// A pair's Go Wasm twin in the paired measurement: a third arm interleaved with Lua and the
/// Rust Wasm twin (A B C | C B A), so the same rounds give Go against each. Medians over rounds
/// with 95% bootstrap intervals, as [`Paired`]'s (the same blocks and resamples).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoBench {
    /// Median ns per request.
    pub go: Estimate,
    /// Go time / Lua time: below 1 means Go is faster.
    pub go_over_lua: Interval,
    /// Go time - Lua time, ns.
    pub go_minus_lua_ns: Interval,
    /// Go time / Rust Wasm time: below 1 means Go is faster than the Rust twin.
    pub go_over_wasm: Interval,
    /// Go time - Rust Wasm time, ns.
    pub go_minus_wasm_ns: Interval,
    /// Iterations in one batch of the Go arm.
    pub go_batch_iterations: u64,
}

/// One row of the claimed Lua-vs-Wasm operation table, measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationBench {
    /// Stable id: `header_read`, `header_set`, `json_parse`, `regex_match`, `string_concat`.
    pub op: String,
    /// What one iteration does, in words.
    pub description: String,
    pub claimed_lua_ns: f64,
    pub claimed_wasm_ns: f64,
    /// Per operation, ns: per round (t(N) - t(0)) / N, median over rounds, bootstrap interval.
    pub lua: Estimate,
    pub wasm: Estimate,
    /// Of the per-operation times.
    pub paired: Paired,
    /// Per operation: (count(N) - count(0)) / N.
    pub instructions: Option<Instructions>,
}

/// VM start-up cost per pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartupBench {
    pub pair: String,
    /// Lua state creation + script load (+ Envoy's library set-up).
    pub lua_load: Estimate,
    /// Wasm module compile (once per module in Envoy).
    pub wasm_compile: Estimate,
    /// Instantiate + `_initialize` + VM start + plugin configure (once per worker).
    pub wasm_instantiate: Estimate,
    /// The Go Wasm twin's module compile and instantiate, when the pair has one (absent in
    /// summaries before Go was measured; the compile also in the `quick` profile, which does
    /// not time it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_compile: Option<Estimate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_instantiate: Option<Estimate>,
}

/// Memory a VM holds, bytes, after start and after 10,000 requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryBench {
    pub pair: String,
    pub requests: u64,
    /// Lua `used_memory()`.
    pub lua_after_start_bytes: u64,
    pub lua_after_requests_bytes: u64,
    /// Wasm linear memory size.
    pub wasm_after_start_bytes: u64,
    pub wasm_after_requests_bytes: u64,
    /// The Go Wasm twin's linear memory, when the pair has one (absent in summaries before Go
    /// was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_after_start_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_after_requests_bytes: Option<u64>,
}

/// Everything the in-process benches measured; `reports/results/bench/summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchSummary {
    pub schema_version: u32,
    /// Milliseconds since the Unix epoch when the run finished.
    pub created_ms: u64,
    /// The measurement profile (`default`, `quick`, `full`).
    pub profile: String,
    pub machine: MachineInfo,
    pub pairs: Vec<PairBench>,
    pub operations: Vec<OperationBench>,
    pub startup: Vec<StartupBench>,
    pub memory: Vec<MemoryBench>,
    /// The harness's own cost: a pass-through filter (no operations) on each side.
    pub baseline: Option<PairBench>,
    /// How [`Paired`] was measured and computed.
    pub paired_method: PairedMethod,
    /// How [`Instructions`] were counted, or why they are absent.
    pub callgrind: CallgrindRun,
    /// Go Wasm twins the catalogue has that were not measured, one line each saying why (not
    /// built: the build had no Go toolchain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub go_not_measured: Vec<String>,
}

impl BenchSummary {
    /// Whether any pair has Go Wasm figures (the pages show a Go column only then).
    pub fn has_go(&self) -> bool {
        self.pairs.iter().any(|p| p.go.is_some())
    }
}

/// Where numbers were measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_bytes: u64,
}

impl MachineInfo {
    /// This machine, from std and /proc.
    pub fn probe() -> MachineInfo {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        // The machine's CPUs, not this thread's affinity (the caller may be pinned already).
        let cpus = match cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count()
        {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_string(), |(_, v)| v.trim().to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_bytes = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024);
        MachineInfo {
            cpus,
            cpu_model,
            memory_bytes,
        }
    }
}
