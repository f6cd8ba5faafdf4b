//! The result files the report reads, under `reports/results/`:
//!
//! - `bench/summary.json`: [`BenchSummary`], written by the in-process benches (`cargo bench`,
//!   `filterbench all`);
//! - `verify/envoy.json` and `verify/in_process.json`: [`VerifyRecord`], written by
//!   `filterbench verify --save` / `filterbench all`;
//! - `load/<pair>.json`: [`LoadRun`], written by `filterbench load` / `filterbench all` (the
//!   load comparison builds this very type, so writer and reader share one schema).
//!
//! Every file carries a `schema_version`; a reader refuses another version with an error that
//! names the file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Version of [`BenchSummary`]'s JSON shape. 2: numbers from the paired (interleaved)
/// measurement, [`Paired`] ratios with bootstrap intervals, callgrind [`Instructions`].
pub const BENCH_SCHEMA: u32 = 2;
/// The command that writes [`BenchSummary`] (named when an old summary is refused).
pub const BENCH_COMMAND: &str = "filterbench bench";
/// Version of [`VerifyRecord`]'s JSON shape.
pub const VERIFY_SCHEMA: u32 = 1;
/// Version of the load result (loadgen's `COMPARE_SCHEMA`) this reader understands.
pub const LOAD_SCHEMA: u32 = 2;

/// `reports/results` under the project root.
pub fn results_dir(root: &Path) -> PathBuf {
    root.join("reports").join("results")
}

pub fn bench_summary_path(results: &Path) -> PathBuf {
    results.join("bench").join("summary.json")
}

/// `mode` is `envoy` or `in_process`.
pub fn verify_path(results: &Path, mode: &str) -> PathBuf {
    results.join("verify").join(format!("{mode}.json"))
}

pub fn load_path(results: &Path, pair: &str) -> PathBuf {
    results.join("load").join(format!("{pair}.json"))
}

/// A time and its 95% confidence interval, nanoseconds. Per request and per operation: the
/// median over the paired measurement's rounds with a bootstrap interval (see [`Paired`]);
/// start-up: criterion's median and interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub median_ns: f64,
    pub ci_low_ns: f64,
    pub ci_high_ns: f64,
}

/// A median and its 95% confidence interval (a ratio, or nanoseconds where the field says so).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub median: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

impl Interval {
    /// Whether the whole interval lies below `x` (`Some(true)`), above it (`Some(false)`), or
    /// contains it (`None`).
    pub fn below(&self, x: f64) -> Option<bool> {
        if self.ci_high < x {
            Some(true)
        } else if self.ci_low > x {
            Some(false)
        } else {
            None
        }
    }
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

/// An equivalence run; `reports/results/verify/<mode>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyRecord {
    pub schema_version: u32,
    /// `envoy`, `in_process` or `deployed` (the generated Istio manifests served by real Envoy:
    /// one entry per pair and API, named `<pair> (<api>)`).
    pub mode: String,
    /// Envoy's version for `envoy` runs.
    pub envoy_version: Option<String>,
    pub created_ms: u64,
    pub pairs: Vec<VerifyPair>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyPair {
    pub pair: String,
    pub scenarios: usize,
    pub equivalent: bool,
    /// Readable lines for what differed (scenario, field, Lua value, Wasm value).
    pub failures: Vec<String>,
}

/// The three Envoys a load comparison runs side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// The router alone, no filter.
    Base,
    Lua,
    Wasm,
}

impl Variant {
    pub const ALL: [Variant; 3] = [Variant::Base, Variant::Lua, Variant::Wasm];

    /// The serde name: `base`, `lua`, `wasm` (also the listener's name in the bootstrap).
    pub fn id(self) -> &'static str {
        match self {
            Variant::Base => "base",
            Variant::Lua => "lua",
            Variant::Wasm => "wasm",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Variant::Base => "baseline (router only)",
            Variant::Lua => "Lua",
            Variant::Wasm => "Wasm",
        }
    }
}

/// A real-Envoy load comparison of one pair: `reports/results/load/<pair>.json`, written by
/// `filterbench load` and `filterbench all`. The raw per-round samples are kept; every interval
/// the report shows is computed from them ([`crate::stats`]), so writer and reader cannot
/// disagree on a figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadRun {
    pub schema_version: u32,
    pub pair: String,
    pub envoy_version: String,
    pub machine: LoadMachine,
    /// ms since the Unix epoch.
    pub started_ms: u64,
    pub plan: LoadPlan,
    /// Requests in the pair's load mix (sent round-robin).
    pub requests_in_mix: usize,
    /// The variants measured: base and Lua always, Wasm when the pair has a twin.
    pub variants: Vec<Variant>,
    /// Closed-loop capacity rounds at the comparison's worker count (1): throughput only.
    pub capacity: Vec<Sample>,
    /// The fixed open-loop rate of the paired rounds: `plan.rate_fraction` of the slowest
    /// variant's median capacity.
    pub open_rate_rps: f64,
    /// The paired open-loop rounds at 1 worker (every variant once per round, rotating order):
    /// Envoy CPU per request and latency, the figures the decision tree uses.
    pub rounds: Vec<Sample>,
    /// Why the rounds stopped.
    pub stopped: StopReason,
    /// The half-width the Wasm-minus-Lua CPU interval had to reach, microseconds.
    pub target_half_width_us: f64,
    /// Capacity and memory at each worker count of `plan.workers`.
    pub by_workers: Vec<WorkersRun>,
    /// True when stopped early (Ctrl-C).
    pub partial: bool,
}

/// Why a comparison stopped adding rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The Wasm-minus-Lua interval became narrow enough.
    TargetReached,
    /// The pair's time budget was spent first.
    Budget,
    /// The policy's maximum number of rounds.
    MaxRounds,
    /// A Lua-only pair: nothing to narrow, the minimum rounds ran.
    NoTwin,
    /// Ctrl-C.
    Interrupted,
}

impl StopReason {
    pub fn words(self) -> &'static str {
        match self {
            StopReason::TargetReached => "target width reached",
            StopReason::Budget => "time budget spent before the target width",
            StopReason::MaxRounds => "maximum rounds reached before the target width",
            StopReason::NoTwin => "no Wasm twin: minimum rounds",
            StopReason::Interrupted => "interrupted",
        }
    }
}

/// Where the processes ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadMachine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_bytes: u64,
    /// The CPUs Envoy was pinned to.
    pub envoy_cpus: Option<Vec<usize>>,
    /// The CPUs the load generator, the echo upstream and the auth service (every thread of the
    /// driving process) were pinned to.
    pub driver_cpus: Option<Vec<usize>>,
}

/// What a comparison was asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadPlan {
    pub workers: Vec<u32>,
    pub capacity_rounds: usize,
    pub capacity_secs: f64,
    pub warmup_secs: f64,
    pub round_secs: f64,
    pub min_rounds: usize,
    pub max_rounds: usize,
    /// Seconds of paired rounds before giving up on the target; `None`: no budget (a fixed
    /// number of rounds was asked for).
    pub budget_secs: Option<f64>,
    pub target_half_width_us: f64,
    pub target_half_width_pct: f64,
    /// The open-loop rate as a share of the slowest variant's capacity.
    pub rate_fraction: f64,
    pub connections: usize,
}

/// One variant in one round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub variant: Variant,
    pub round: usize,
    /// Position in the round's order (0 first).
    pub slot: usize,
    /// Closed loop (capacity) or open loop (fixed rate).
    pub open_loop: bool,
    /// The measured window, seconds.
    pub secs: f64,
    pub responses: u64,
    pub throughput_rps: f64,
    /// Latency percentiles, microseconds (open loop: from each request's intended send time).
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    /// Transport errors and timeouts.
    pub errors: u64,
    pub non_2xx: u64,
    /// Envoy CPU time (user + system, all threads) over the window per response, microseconds.
    pub envoy_cpu_us_per_request: f64,
    /// Envoy CPU time over the window / (window x Envoy's CPUs): 1.0 is saturated.
    pub envoy_busy: f64,
    /// The driving process (load generator, echo upstream, auth service) likewise.
    pub driver_busy: f64,
}

impl Sample {
    /// A closed-loop sample where Envoy was not the bottleneck: its capacity figure measures
    /// the driver or the machine, not the filter.
    pub fn envoy_not_bottleneck(&self) -> bool {
        !self.open_loop && self.envoy_busy < ENVOY_BUSY_MIN
    }
}

/// Below this share of its CPUs busy in a closed loop, Envoy was not the bottleneck.
pub const ENVOY_BUSY_MIN: f64 = 0.9;

/// Capacity and memory at one worker count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkersRun {
    pub workers: u32,
    /// Closed-loop rounds (throughput, with their spread).
    pub capacity: Vec<Sample>,
    /// Memory of each variant's Envoy after its rounds.
    pub memory: Vec<VariantMemory>,
}

impl WorkersRun {
    pub fn memory_of(&self, v: Variant) -> Option<&VariantMemory> {
        self.memory.iter().find(|m| m.variant == v)
    }
}

/// Envoy's memory as seen from outside and from its allocator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VariantMemory {
    pub variant: Variant,
    /// Resident set size, bytes (/proc VmRSS).
    pub rss_bytes: u64,
    /// Peak resident set size, bytes (/proc VmHWM).
    pub peak_rss_bytes: u64,
    /// Bytes the allocator has handed out (admin /memory `allocated`).
    pub allocated_bytes: u64,
    /// Bytes the allocator holds from the OS (admin /memory `heap_size`).
    pub heap_bytes: u64,
    /// Live Wasm VMs (admin /stats `wasm.envoy.wasm.runtime.v8.active`), 0 when none.
    pub wasm_vms: u64,
}

impl LoadRun {
    /// Number of paired rounds (0-based round indices below it).
    pub fn round_count(&self) -> usize {
        self.rounds.iter().map(|s| s.round + 1).max().unwrap_or(0)
    }

    /// One measure of `variant` per round, `None` where that round lacks it.
    pub fn per_round(&self, variant: Variant, f: impl Fn(&Sample) -> f64) -> Vec<Option<f64>> {
        let mut out = vec![None; self.round_count()];
        for s in self.rounds.iter().filter(|s| s.variant == variant) {
            out[s.round] = Some(f(s));
        }
        out
    }

    /// Capacity samples of `variant` at `workers`.
    pub fn capacity_of(&self, workers: u32, variant: Variant) -> Vec<&Sample> {
        self.by_workers
            .iter()
            .filter(|w| w.workers == workers)
            .flat_map(|w| w.capacity.iter())
            .chain(if workers == 1 {
                self.capacity.iter()
            } else {
                [].iter()
            })
            .filter(|s| s.variant == variant)
            .collect()
    }
}

/// Why a result file could not be used; the message names the file.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadError {
    Missing(PathBuf),
    Unreadable(PathBuf, String),
    Corrupt(PathBuf, String),
    WrongVersion {
        path: PathBuf,
        found: u64,
        expected: u32,
    },
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Missing(p) => write!(f, "{}: missing", p.display()),
            ReadError::Unreadable(p, e) => write!(f, "{}: cannot read: {e}", p.display()),
            ReadError::Corrupt(p, e) => write!(f, "{}: not a valid result file: {e}", p.display()),
            ReadError::WrongVersion {
                path,
                found,
                expected,
            } => write!(
                f,
                "{}: schema_version {found}, this filterbench reads version {expected}; \
                 regenerate it with {}",
                path.display(),
                regenerate_command(path)
            ),
        }
    }
}

impl std::error::Error for ReadError {}

/// The command that writes a result file again, from where it lies.
fn regenerate_command(path: &Path) -> String {
    let parent = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("");
    let stem = path.file_stem().and_then(|n| n.to_str()).unwrap_or("");
    match parent {
        "load" => format!("`filterbench load --pair {stem}`"),
        _ if stem == "summary" => "`filterbench bench`".into(),
        "verify" if stem == "in_process" => "`filterbench verify --in-process --save`".into(),
        "verify" if stem == "deployed" => "`filterbench verify --envoy --deployed --save`".into(),
        "verify" => "`filterbench verify --envoy --save`".into(),
        _ => "`filterbench all`".into(),
    }
}

/// Reads a result file of schema `expected`: checks `schema_version` first (so a file of another
/// version gets that error, not a confusing field error), then the shape.
pub fn read_result<T: serde::de::DeserializeOwned>(
    path: &Path,
    expected: u32,
) -> Result<T, ReadError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ReadError::Missing(path.to_path_buf()))
        }
        Err(e) => return Err(ReadError::Unreadable(path.to_path_buf(), e.to_string())),
    };
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| ReadError::Corrupt(path.to_path_buf(), e.to_string()))?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(expected) => {}
        Some(found) => {
            return Err(ReadError::WrongVersion {
                path: path.to_path_buf(),
                found,
                expected,
            })
        }
        None => {
            return Err(ReadError::Corrupt(
                path.to_path_buf(),
                "no schema_version".into(),
            ))
        }
    }
    serde_json::from_value(value).map_err(|e| ReadError::Corrupt(path.to_path_buf(), e.to_string()))
}

/// Writes `value` as pretty JSON to `path` atomically (a temp file in the same directory, then a
/// rename), creating the directory.
pub fn write_json_atomically(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("result"),
        std::process::id(),
        WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::write(&tmp, text + "\n")?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_version_missing_and_corrupt_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary.json");
        let e = read_result::<BenchSummary>(&p, BENCH_SCHEMA).unwrap_err();
        assert!(matches!(e, ReadError::Missing(_)));
        assert!(e.to_string().contains("summary.json: missing"), "{e}");

        std::fs::write(&p, "{ not json").unwrap();
        let e = read_result::<BenchSummary>(&p, BENCH_SCHEMA).unwrap_err();
        assert!(matches!(e, ReadError::Corrupt(..)), "{e}");

        std::fs::write(&p, r#"{"schema_version": 7, "pairs": []}"#).unwrap();
        let e = read_result::<BenchSummary>(&p, BENCH_SCHEMA).unwrap_err();
        assert!(e.to_string().contains("schema_version 7"), "{e}");
        assert!(
            e.to_string()
                .contains("regenerate it with `filterbench bench`"),
            "{e}"
        );

        std::fs::write(
            &p,
            format!(r#"{{"schema_version": {BENCH_SCHEMA}, "pairs": 3}}"#),
        )
        .unwrap();
        let e = read_result::<BenchSummary>(&p, BENCH_SCHEMA).unwrap_err();
        assert!(matches!(e, ReadError::Corrupt(..)), "{e}");
    }

    #[test]
    fn a_version_1_bench_summary_is_refused_naming_the_file_and_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let p = bench_summary_path(dir.path());
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        // The shape version 1 had: criterion estimates only.
        std::fs::write(
            &p,
            r#"{"schema_version": 1, "created_ms": 0, "profile": "quick", "pairs": [],
                "operations": [], "startup": [], "memory": [], "baseline": null}"#,
        )
        .unwrap();
        let e = read_result::<BenchSummary>(&p, BENCH_SCHEMA).unwrap_err();
        let m = e.to_string();
        assert!(matches!(e, ReadError::WrongVersion { found: 1, .. }), "{m}");
        assert!(m.contains(&p.display().to_string()), "{m}");
        assert!(m.contains("schema_version 1"), "{m}");
        assert!(m.contains("regenerate it with `filterbench bench`"), "{m}");
        // Other result files get no bench command.
        let other = dir.path().join("verify").join("envoy.json");
        std::fs::create_dir_all(other.parent().unwrap()).unwrap();
        std::fs::write(&other, r#"{"schema_version": 99}"#).unwrap();
        let m = read_result::<VerifyRecord>(&other, VERIFY_SCHEMA)
            .unwrap_err()
            .to_string();
        assert!(!m.contains("filterbench bench"), "{m}");
    }

    #[test]
    fn a_written_summary_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = bench_summary_path(dir.path());
        let est = Estimate {
            median_ns: 1.0,
            ci_low_ns: 0.5,
            ci_high_ns: 1.5,
        };
        let s = BenchSummary {
            schema_version: BENCH_SCHEMA,
            created_ms: now_ms(),
            profile: "quick".into(),
            machine: MachineInfo::probe(),
            pairs: vec![PairBench {
                pair: "add_header".into(),
                lua: est,
                wasm: est,
                paired: Paired {
                    wasm_over_lua: Interval {
                        median: 0.5,
                        ci_low: 0.45,
                        ci_high: 0.55,
                    },
                    wasm_minus_lua_ns: Interval {
                        median: -1.0,
                        ci_low: -1.2,
                        ci_high: -0.8,
                    },
                    rounds: 100,
                    blocks: 4,
                    lua_batch_iterations: 1000,
                    wasm_batch_iterations: 2000,
                },
                instructions: Some(Instructions {
                    lua: None,
                    wasm: Some(1234.0),
                }),
            }],
            operations: vec![],
            startup: vec![],
            memory: vec![],
            baseline: None,
            paired_method: PairedMethod {
                rounds: 100,
                blocks: 4,
                batch_target_us: 1000.0,
                bootstrap_resamples: 2000,
                bootstrap_seed: 7,
                confidence: 0.95,
                words: "interleaved".into(),
            },
            callgrind: CallgrindRun {
                counted: false,
                valgrind: None,
                warm_up: 0,
                k1: 0,
                k2: 0,
                options: vec![],
                wasm_features_off: vec![],
                note: "valgrind not found".into(),
            },
        };
        write_json_atomically(&p, &s).unwrap();
        assert_eq!(read_result::<BenchSummary>(&p, BENCH_SCHEMA).unwrap(), s);
        let leftovers: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }
}
