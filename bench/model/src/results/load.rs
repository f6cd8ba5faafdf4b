//! The real-Envoy load comparison of one pair, `load/<pair>.json` ([`LoadRun`]): what the load
//! comparison writes and the report reads, one schema.

use serde::{Deserialize, Serialize};

use crate::twin::TwinKind;

/// The Envoys a load comparison runs side by side: the baseline, the Lua filter and each twin.
/// Serialised as `base`, `lua`, `wasm`, `go-wasm`, `native` (so files written before twins had
/// kinds, whose Wasm variant is `wasm`, still read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Variant {
    /// The router alone, no filter.
    Base,
    Lua,
    /// A twin of the Lua filter, of its kind.
    Twin(TwinKind),
}

impl Variant {
    /// The Rust Wasm twin (the reference kind).
    pub const WASM: Variant = Variant::Twin(TwinKind::Wasm);

    /// The variants of a run with the Rust Wasm twin: baseline, Lua, Wasm.
    pub const WITH_WASM: [Variant; 3] = [Variant::Base, Variant::Lua, Variant::WASM];

    /// The serde name: `base`, `lua`, or the twin kind's id (`wasm`, `go-wasm`, `native`); also
    /// the listener's name in the bootstrap.
    pub fn id(self) -> &'static str {
        match self {
            Variant::Base => "base",
            Variant::Lua => "lua",
            Variant::Twin(kind) => kind.id(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Variant::Base => "baseline (router only)",
            Variant::Lua => "Lua",
            Variant::Twin(TwinKind::Wasm) => "Wasm",
            Variant::Twin(kind) => kind.label(),
        }
    }

    /// The twin's kind, `None` for the baseline and Lua.
    pub fn twin(self) -> Option<TwinKind> {
        match self {
            Variant::Twin(kind) => Some(kind),
            Variant::Base | Variant::Lua => None,
        }
    }
}

impl From<Variant> for &'static str {
    fn from(v: Variant) -> &'static str {
        v.id()
    }
}

impl TryFrom<String> for Variant {
    type Error = String;

    fn try_from(id: String) -> Result<Variant, String> {
        match id.as_str() {
            "base" => Ok(Variant::Base),
            "lua" => Ok(Variant::Lua),
            // The serde id only (`go` is a CLI spelling, not a file's).
            "wasm" | "go-wasm" | "native" => Ok(Variant::Twin(id.parse()?)),
            other => Err(format!(
                "unknown variant {other:?} (known: base, lua, wasm, go-wasm, native)"
            )),
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
    /// The variants measured: base and Lua always, Wasm unless the run is [`LoadRun::lua_only`].
    pub variants: Vec<Variant>,
    /// Set when the run measured the Lua filter alone (baseline and Lua, no Wasm listener and no
    /// Wasm sample), with the reason; absent (and absent from the file) when Wasm was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lua_only: Option<LuaOnly>,
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
    /// The half-width the Wasm-minus-Lua CPU interval (Lua-minus-baseline in a Lua-only run) had
    /// to reach, microseconds.
    pub target_half_width_us: f64,
    /// Capacity and memory at each worker count of `plan.workers`.
    pub by_workers: Vec<WorkersRun>,
    /// True when stopped early (Ctrl-C, or an error: then [`LoadRun::failure`] says which).
    pub partial: bool,
    /// How [`LoadRun::rounds`] ran: all variants at the same moment, or one after another.
    /// Files written before simultaneous rounds existed read as sequential.
    #[serde(default)]
    pub method: RoundMethod,
    /// The self-check of a simultaneous run: sequential rounds (rotating order, one variant at a
    /// time, at [`LoadRun::check_rate_rps`]) measured in the same run, interleaved with the
    /// simultaneous ones. Empty in a sequential run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check_rounds: Vec<Sample>,
    /// The open-loop rate of the check rounds (the sequential method's rate).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub check_rate_rps: f64,
    /// The error that ended the run before it finished (Envoy failed to start at some worker
    /// count, ...): what was measured before it is kept, and the run is [`LoadRun::partial`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The pair's configuration the run measured when it is not `default`
    /// ([`crate::catalogue::DEFAULT_CONFIG`]; absent from the file then, as in files written
    /// before configurations were measured). Such a run is filed as
    /// [`super::load_path_of`]`(pair, config)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// Rounds added after the first pass over every pair (`all` gives the rest of its budget to
    /// the pairs whose answer is still open, then to those short of the target width): each
    /// pass with why it was given and how it ended. Its rounds are in [`LoadRun::rounds`] with
    /// the first pass's (numbered on from them, at the same rate). Empty when none was given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<ExtraPass>,
}

/// Rounds added to a pair after the first pass over every pair ([`LoadRun::extra`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtraPass {
    pub why: ExtraWhy,
    /// Simultaneous rounds this pass added (flagged ones included).
    pub rounds: usize,
    /// Seconds the pass took, Envoy start-up included.
    pub secs: f64,
    /// The seconds it was given.
    pub budget_secs: f64,
    pub ended: ExtraEnd,
}

/// Why a pair was given more rounds after the first pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraWhy {
    /// The tree's answer was too close to call on resamples of the rounds (below the policy's
    /// confidence share).
    OpenAnswer,
    /// The answer was settled, but the Wasm-minus-Lua interval was wider than the target.
    ShortOfTarget,
}

/// How a pass of added rounds ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraEnd {
    /// The answer reached the policy's confidence share (an [`ExtraWhy::OpenAnswer`] pass).
    Settled,
    /// The interval reached the target half-width.
    TargetReached,
    /// The seconds given were spent first.
    Budget,
    /// The policy's maximum number of rounds.
    MaxRounds,
    Interrupted,
    /// An error ended it (Envoy failed to start again, ...): the rounds before it are kept.
    Failed,
}

impl ExtraWhy {
    pub fn words(self) -> &'static str {
        match self {
            ExtraWhy::OpenAnswer => "the answer was too close to call after the first pass",
            ExtraWhy::ShortOfTarget => {
                "the interval was wider than the target after the first pass"
            }
        }
    }
}

impl ExtraEnd {
    pub fn words(self) -> &'static str {
        match self {
            ExtraEnd::Settled => "the answer settled",
            ExtraEnd::TargetReached => "target width reached",
            ExtraEnd::Budget => "its share of the budget spent",
            ExtraEnd::MaxRounds => "maximum rounds reached",
            ExtraEnd::Interrupted => "interrupted",
            ExtraEnd::Failed => "stopped by an error",
        }
    }
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// How the paired open-loop rounds of a run were measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundMethod {
    /// One variant after another in a rotating order, each alone on Envoy's core.
    #[default]
    Sequential,
    /// Every variant at the same moment ("duet benchmarking"): each its own Envoy on the same
    /// pinned core, each driven at the same open-loop rate by its own generator, all starting
    /// and stopping together, so the machine's moods hit all of them alike.
    Simultaneous,
}

impl RoundMethod {
    pub fn words(self) -> &'static str {
        match self {
            RoundMethod::Sequential => "sequential",
            RoundMethod::Simultaneous => "simultaneous",
        }
    }
}

/// Why a load run measured the Lua filter alone: what it then measures is what the Lua filter
/// adds over the baseline, the most a migration could save.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LuaOnly {
    /// Asked for (`filterbench load --lua-only`): the Wasm twin is not written or not proven yet.
    Asked,
    /// `filterbench all`: the twins were not equivalent (in-process or in real Envoy), so a Wasm
    /// measurement would measure a module that does not do what the Lua filter does.
    NotEquivalent,
}

impl LuaOnly {
    pub fn words(self) -> &'static str {
        match self {
            LuaOnly::Asked => {
                "asked for with --lua-only: baseline and Lua only, no twin built or measured"
            }
            LuaOnly::NotEquivalent => {
                "the Wasm twin was not equivalent to the Lua filter when this run was made"
            }
        }
    }
}

/// Why a comparison stopped adding rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The Wasm-minus-Lua interval (Lua-minus-baseline in a Lua-only run) became narrow enough.
    TargetReached,
    /// The pair's time budget was spent first.
    Budget,
    /// The policy's maximum number of rounds.
    MaxRounds,
    /// A Lua-only run of an earlier version: the minimum rounds ran (no longer written: a
    /// Lua-only run now narrows the Lua-minus-baseline interval).
    NoTwin,
    /// Ctrl-C.
    Interrupted,
    /// An error ended the rounds (see [`LoadRun::failure`]).
    Failed,
}

impl StopReason {
    pub fn words(self) -> &'static str {
        match self {
            StopReason::TargetReached => "target width reached",
            StopReason::Budget => "time budget spent before the target width",
            StopReason::MaxRounds => "maximum rounds reached before the target width",
            StopReason::NoTwin => "no Wasm twin: minimum rounds",
            StopReason::Interrupted => "interrupted",
            StopReason::Failed => "stopped by an error",
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
    /// The open-loop rate as a share of the slowest variant's capacity (sequential); in
    /// simultaneous rounds, the share of Envoy's core all variants together may use: the rate
    /// is this share over the sum of the variants' CPU per request at capacity.
    pub rate_fraction: f64,
    pub connections: usize,
    /// How the paired rounds run (files from before read as sequential).
    #[serde(default)]
    pub method: RoundMethod,
    /// Simultaneous runs: sequential self-check rounds interleaved with the first simultaneous
    /// ones.
    #[serde(default)]
    pub check_rounds: usize,
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
    /// Open loop: the Envoy answered fewer than [`BEHIND_SHARE`] of the requests its rate asked
    /// for in the window (it, or its generator, fell behind the rate). The whole round is left
    /// out of every paired difference ([`per_round_of`]) and shown as flagged.
    #[serde(default, skip_serializing_if = "is_false")]
    pub behind: bool,
}

/// An open-loop sample answering less than this share of its rate fell behind it.
pub const BEHIND_SHARE: f64 = 0.95;

/// The rounds of `samples` where some variant fell behind its rate, ascending.
pub fn behind_rounds(samples: &[Sample]) -> Vec<usize> {
    let mut r: Vec<usize> = samples
        .iter()
        .filter(|s| s.behind)
        .map(|s| s.round)
        .collect();
    r.sort_unstable();
    r.dedup();
    r
}

/// One measure of `variant` per round of `samples`, `None` where that round lacks it or where
/// any variant of the round fell behind its rate (a round is paired only when all of it is
/// valid).
pub fn per_round_of(
    samples: &[Sample],
    variant: Variant,
    f: impl Fn(&Sample) -> f64,
) -> Vec<Option<f64>> {
    let n = samples.iter().map(|s| s.round + 1).max().unwrap_or(0);
    let flagged = behind_rounds(samples);
    let mut out = vec![None; n];
    for s in samples.iter().filter(|s| s.variant == variant) {
        if !flagged.contains(&s.round) {
            out[s.round] = Some(f(s));
        }
    }
    out
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
    /// Memory of each variant's Envoy after the warm-up (the same closed-loop traffic at every
    /// worker count; files written before 2026-12-07 read it after the rounds).
    pub memory: Vec<VariantMemory>,
    /// What starting each variant's Envoy cost, from exec until it answered ready (absent in
    /// files written before it was measured).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub startup: Vec<VariantStartup>,
}

impl WorkersRun {
    pub fn memory_of(&self, v: Variant) -> Option<&VariantMemory> {
        self.memory.iter().find(|m| m.variant == v)
    }

    pub fn startup_of(&self, v: Variant) -> Option<&VariantStartup> {
        self.startup.iter().find(|s| s.variant == v)
    }
}

/// Starting one Envoy: its listener's filter configured (Lua script loaded, Wasm module compiled
/// by V8 and instantiated per worker, native library loaded) until `/ready` answers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VariantStartup {
    pub variant: Variant,
    /// CPU time of the process (every thread, user + system) when it first answered ready,
    /// nanoseconds: the kernel's per-process clock, untouched by how long the readiness poll
    /// slept.
    pub cpu_ns: u64,
    /// Wall time from exec until ready, nanoseconds (readiness polled every 25 ms).
    pub wall_ns: u64,
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
    /// Whether the Rust Wasm twin was measured.
    pub fn has_wasm(&self) -> bool {
        self.variants.contains(&Variant::WASM)
    }

    /// Whether a twin of any kind was measured.
    pub fn has_twin(&self) -> bool {
        self.variants.iter().any(|v| v.twin().is_some())
    }

    /// The variant set is consistent: every sample is of a listed variant, base and Lua are
    /// listed, and Wasm is missing exactly when the run says it is Lua-only. The error says what
    /// is wrong (the reader adds the file).
    pub fn check_variants(&self) -> Result<(), String> {
        for v in [Variant::Base, Variant::Lua] {
            if !self.variants.contains(&v) {
                return Err(format!("`variants` lacks `{}`", v.id()));
            }
        }
        let stray = self
            .rounds
            .iter()
            .chain(&self.check_rounds)
            .chain(&self.capacity)
            .chain(self.by_workers.iter().flat_map(|w| &w.capacity))
            .map(|s| s.variant)
            .chain(
                self.by_workers
                    .iter()
                    .flat_map(|w| w.memory.iter().map(|m| m.variant)),
            )
            .find(|v| !self.variants.contains(v));
        if let Some(v) = stray {
            return Err(format!(
                "holds `{}` samples but `variants` does not list it",
                v.id()
            ));
        }
        // Rounds are numbered 0, 1, ... with at most one sample per variant each: a round number
        // beyond the samples the file holds is not one this tool wrote (and would make the
        // report allocate a slot for every round up to it).
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.rounds {
            if s.round >= self.rounds.len() {
                return Err(format!(
                    "a sample of round {} but only {} samples: rounds are numbered from 0",
                    s.round,
                    self.rounds.len()
                ));
            }
            if !seen.insert((s.round, s.variant.id())) {
                return Err(format!(
                    "two `{}` samples in round {}",
                    s.variant.id(),
                    s.round
                ));
            }
        }
        let twin = self.variants.iter().find(|v| v.twin().is_some());
        match (self.lua_only, twin) {
            (Some(_), Some(twin)) => Err(format!(
                "says `lua_only` but lists the `{}` variant",
                twin.id()
            )),
            (None, None) => Err(
                "measured no twin variant (`wasm`, ...) but does not say `lua_only` (and why)"
                    .into(),
            ),
            _ => Ok(()),
        }
    }

    /// Number of paired rounds (0-based round indices below it).
    pub fn round_count(&self) -> usize {
        self.rounds.iter().map(|s| s.round + 1).max().unwrap_or(0)
    }

    /// One measure of `variant` per round, `None` where that round lacks it or was flagged
    /// (an Envoy fell behind its rate).
    pub fn per_round(&self, variant: Variant, f: impl Fn(&Sample) -> f64) -> Vec<Option<f64>> {
        per_round_of(&self.rounds, variant, f)
    }

    /// Likewise for the sequential self-check rounds of a simultaneous run.
    pub fn check_per_round(
        &self,
        variant: Variant,
        f: impl Fn(&Sample) -> f64,
    ) -> Vec<Option<f64>> {
        per_round_of(&self.check_rounds, variant, f)
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

/// How many rounds the load comparison runs (read by `filterbench load` and `all`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasurementPolicy {
    /// Stop adding rounds when the Wasm-minus-Lua CPU interval's half-width is at most this
    /// (microseconds)...
    pub target_half_width_us: f64,
    /// ...or this share of the smaller of the two filters' added costs, percent.
    pub target_half_width_pct: f64,
    pub min_rounds: usize,
    pub max_rounds: usize,
    /// Seconds of paired open-loop rounds per pair before giving up on the target (the first
    /// pass of `all`; `load --pair` adds [`MeasurementPolicy::extra_budget_secs`]).
    pub pair_budget_secs: f64,
    /// `all`: seconds of further rounds after the first pass over every pair, given first to
    /// the pairs whose answer is too close to call, then to those short of the target width.
    /// Policy files from before it read as 0 (no second pass).
    #[serde(default)]
    pub extra_budget_secs: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_file_written_before_twin_kinds_still_reads() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/load-add_header-before-twin-kinds.json");
        let run: LoadRun = crate::results::read_result(&path, crate::results::LOAD_SCHEMA)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(run.variants, Variant::WITH_WASM);
        // Written before configurations were measured: the run of `default`.
        assert_eq!(run.config, None);
        assert!(run.has_wasm() && run.has_twin());
        run.check_variants().unwrap();
        let wasm = run.per_round(Variant::WASM, |s| s.envoy_cpu_us_per_request);
        assert_eq!(wasm.len(), run.round_count());
        assert!(wasm.iter().all(Option::is_some), "{wasm:?}");
        // Written back, the Rust Wasm twin keeps its id.
        let text = serde_json::to_string(&run).unwrap();
        assert!(text.contains(r#""variant":"wasm""#), "{text}");
        assert!(!text.contains("go-wasm") && !text.contains("native"));
    }

    #[test]
    fn variants_serialise_as_their_ids_and_old_files_still_read() {
        let all = [
            Variant::Base,
            Variant::Lua,
            Variant::WASM,
            Variant::Twin(TwinKind::GoWasm),
            Variant::Twin(TwinKind::Native),
        ];
        let text = serde_json::to_string(&all).unwrap();
        assert_eq!(text, r#"["base","lua","wasm","go-wasm","native"]"#);
        let back: Vec<Variant> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, all);
        // A file written before twins had kinds.
        let old: Vec<Variant> = serde_json::from_str(r#"["base","lua","wasm"]"#).unwrap();
        assert_eq!(old, Variant::WITH_WASM);
        let e = serde_json::from_str::<Variant>(r#""go""#).unwrap_err();
        assert!(e.to_string().contains("unknown variant \"go\""), "{e}");
    }
}
