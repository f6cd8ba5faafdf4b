//! The migration decision tree: the widely quoted questions (capability Lua lacks? does the
//! filter cost enough to matter? is Wasm cheaper? memory? team knows Rust? complex data
//! processing?) answered from measurements **with their intervals** and the pair's catalogue
//! traits, with thresholds from a policy file (`reports/policy.toml`).
//!
//! Without a Wasm twin proven equivalent (none written yet, or one that differs; its load run is
//! then usually Lua-only) the tree asks only whether the Lua filter costs enough to matter, from
//! what Lua adds over the baseline: the whole interval below the bar keeps Lua (settled without
//! a twin), wholly above it says to write and prove the twin first, straddling it is too close
//! to call. No Wasm figure is made up for it.
//!
//! Where the Lua filter costs enough to matter, the tree weighs every **way out**: each twin
//! kind proven equivalent (Rust Wasm, Go Wasm, native module) and measured in the same
//! simultaneous rounds is asked whether it saves measurably over Lua (whole interval past the
//! policy's threshold), whether its memory per worker fits, whether the team maintains its
//! language (`[team] languages`), whether it can be deployed where the filters run (`[deploy]
//! platform`; under Istio a native module needs an `EnvoyFilter` patch and a custom istio-proxy
//! image: `native_custom_proxy`) and whether policy requires a sandbox it lacks
//! (`isolation_required`). Among the ways that remain, one measurably cheaper than every other
//! is chosen; two whose difference is inside its interval are too close to call between them.
//! The resamples keep the kinds paired: a round is resampled with every variant's figures.
//!
//! The tree is one data structure, [`TREE`]: [`decide`] walks it (each [`Question`] is answered
//! by one function, the answer picks the branch) and the report draws the same value, so the
//! drawing cannot drift from the decision. Leaves are a [`Leaf`] enum.
//!
//! A measured difference only decides when its whole 95% interval lies beyond the policy's
//! threshold; otherwise the answer is "no measurable difference" and the tree goes on as for
//! "not cheaper" (the status quo: keep Lua, unless a capability or the data-processing branch
//! says otherwise). [`decide`] also resamples the load rounds ([`filterbench_model::stats::resamples`]) and
//! re-runs the tree on each resample: the share that reaches the same verdict is the verdict's
//! confidence, and below the policy's minimum the call is "too close to call".

use serde::{Deserialize, Serialize};

use filterbench_model::catalogue::{ChangeFrequency, Traits};
use filterbench_model::results::MeasurementPolicy;
use filterbench_model::stats::{paired, resamples, Interval};
use filterbench_model::TwinKind;

mod tree;

pub use tree::{Answer, Branch, Fate, Leaf, Question, TreeNode, Verdict, CHOICE, TREE, WAY};
use Answer::{No, NoMeasurableDifference as Same, Unknown, Yes};

/// Thresholds and team profile (`reports/policy.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub lua_cost: LuaCostPolicy,
    pub saving: SavingPolicy,
    pub memory: MemoryPolicy,
    pub confidence: ConfidencePolicy,
    pub measurement: MeasurementPolicy,
    pub team: TeamPolicy,
    /// Where the filters run and what that allows; a policy file without it gets
    /// [`DeployPolicy::default`] (Istio, a native module acceptable with a custom proxy image,
    /// no isolation required).
    #[serde(default)]
    pub deploy: DeployPolicy,
}

/// "Does the Lua filter cost enough to matter?": below both, a migration can save at most that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LuaCostPolicy {
    /// Envoy CPU per request the Lua filter adds over the baseline, microseconds.
    pub min_cpu_us: f64,
    /// Latency the Lua filter adds at p50 (open loop), microseconds.
    pub min_latency_us: f64,
}

/// "Does Wasm cost measurably less than Lua?"
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavingPolicy {
    /// The saving (Lua minus Wasm, Envoy CPU per request) must exceed this, microseconds...
    pub min_cpu_us: f64,
    /// ...and this share of the Lua filter's added cost, percent.
    pub min_pct: f64,
    /// One way out is chosen over another when the whole interval of their difference (Envoy
    /// CPU per request, paired per round) is beyond this, microseconds; otherwise the two are too
    /// close to call between them.
    #[serde(default = "default_between_ways_us")]
    pub min_cpu_us_between_ways: f64,
}

fn default_between_ways_us() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryPolicy {
    /// Extra resident memory a way out may cost per proxy (one Envoy at `workers_per_proxy`
    /// workers) over the Lua filter, MiB.
    pub max_extra_mib_per_proxy: f64,
    /// Envoy workers per proxy in the user's mesh (Istio's sidecars default to 2).
    #[serde(default = "default_workers_per_proxy")]
    pub workers_per_proxy: u32,
    /// Proxies in the mesh: the pages give the mesh total (per proxy x proxies) when above 1.
    #[serde(default = "default_proxies")]
    pub proxies: u32,
    /// The budget before it was per proxy; refused with a message saying what replaced it.
    #[serde(default, skip_serializing)]
    pub max_extra_mib_per_worker: Option<f64>,
}

fn default_workers_per_proxy() -> u32 {
    2
}

fn default_proxies() -> u32 {
    1
}

/// A twin's extra resident memory over the Lua filter, measured at several worker counts
/// (one Envoy each): the (workers, MiB) points.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryFit {
    pub points: Vec<(u32, f64)>,
}

/// A twin's extra memory for one proxy at a worker count: the least-squares line through the
/// measured worker counts, `per_process + per_worker x workers`, with the 95% interval of its
/// value there (Student's t with n - 2 degrees of freedom: one sample per worker count, so the
/// spread around the line is the only measure of noise; no interval with two worker counts).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProxyMemory {
    pub workers: u32,
    pub mib: f64,
    pub interval: Option<(f64, f64)>,
    /// Paid once per Envoy (engine, compiled module): the line's value at 0 workers.
    pub per_process_mib: f64,
    /// Paid for each worker (a VM, its heap): the line's slope.
    pub per_worker_mib: f64,
}

impl MemoryFit {
    /// The same extra memory at 1, 2 and 4 workers (all once-per-process).
    pub fn constant(mib: f64) -> MemoryFit {
        MemoryFit {
            points: vec![(1, mib), (2, mib), (4, mib)],
        }
    }

    /// The extra memory of one proxy at `workers` workers; `None` with fewer than two worker
    /// counts (the two parts cannot be told apart).
    pub fn per_proxy(&self, workers: u32) -> Option<ProxyMemory> {
        let n = self.points.len();
        if n < 2 {
            return None;
        }
        let nf = n as f64;
        let mx = self.points.iter().map(|(w, _)| f64::from(*w)).sum::<f64>() / nf;
        let my = self.points.iter().map(|(_, d)| d).sum::<f64>() / nf;
        let sxx: f64 = self
            .points
            .iter()
            .map(|(w, _)| (f64::from(*w) - mx).powi(2))
            .sum();
        if sxx == 0.0 {
            return None;
        }
        let sxy: f64 = self
            .points
            .iter()
            .map(|(w, d)| (f64::from(*w) - mx) * (d - my))
            .sum();
        let slope = sxy / sxx;
        let intercept = my - slope * mx;
        let at = intercept + slope * f64::from(workers);
        let interval = (n > 2).then(|| {
            let residual: f64 = self
                .points
                .iter()
                .map(|(w, d)| (d - (intercept + slope * f64::from(*w))).powi(2))
                .sum();
            let s = (residual / (nf - 2.0)).sqrt();
            let se = s * (1.0 / nf + (f64::from(workers) - mx).powi(2) / sxx).sqrt();
            let half = t_95(n - 2) * se;
            (at - half, at + half)
        });
        Some(ProxyMemory {
            workers,
            mib: at,
            interval,
            per_process_mib: intercept,
            per_worker_mib: slope,
        })
    }
}

/// The two-sided 95% quantile of Student's t with `df` degrees of freedom.
fn t_95(df: usize) -> f64 {
    const T: [f64; 10] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    ];
    match df {
        0 => f64::INFINITY,
        1..=10 => T[df - 1],
        11..=30 => 2.086,
        _ => 1.96,
    }
}

impl ProxyMemory {
    /// `+22.9 [+20.9, +24.9] MiB per proxy at 2 workers (+21.3 once + 0.80 per worker)`.
    pub fn words(&self) -> String {
        let interval = self
            .interval
            .map_or(String::new(), |(lo, hi)| format!(" [{lo:+.1}, {hi:+.1}]"));
        format!(
            "{:+.1}{interval} MiB per proxy at {} worker{} ({:+.1} once + {:+.2} per worker)",
            self.mib,
            self.workers,
            if self.workers == 1 { "" } else { "s" },
            self.per_process_mib,
            self.per_worker_mib
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfidencePolicy {
    /// Resamples of the rounds the tree is re-run on.
    pub resamples: usize,
    /// Below this share reaching the same verdict, the call is "too close to call".
    pub min_share: f64,
}

/// The languages the team writes and operates. `knows_rust` is the older key (before twins of
/// several kinds): alone, `true` means Rust only and `false` none; `languages` wins when given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knows_rust: Option<bool>,
    /// `rust`, `go`, ... (lower case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub languages: Option<Vec<String>>,
}

impl TeamPolicy {
    /// The languages the team maintains, lower case.
    pub fn languages(&self) -> Vec<String> {
        match (&self.languages, self.knows_rust) {
            (Some(l), _) => l.iter().map(|x| x.to_ascii_lowercase()).collect(),
            (None, Some(true)) => vec!["rust".into()],
            (None, Some(false)) => vec![],
            (None, None) => vec!["rust".into(), "go".into()],
        }
    }

    pub fn knows(&self, language: &str) -> bool {
        self.languages().iter().any(|l| l == language)
    }

    /// `rust and go`, or `no language listed`.
    pub fn words(&self) -> String {
        let l = self.languages();
        if l.is_empty() {
            "no language listed".into()
        } else {
            l.join(" and ")
        }
    }
}

/// The language a twin kind is written in (the project's twins: Rust proxy-wasm, Go proxy-wasm,
/// a Rust dynamic module).
pub fn language_of(kind: TwinKind) -> &'static str {
    match kind {
        TwinKind::Wasm | TwinKind::Native => "rust",
        TwinKind::GoWasm => "go",
    }
}

/// Where the filters run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    /// istio-proxy sidecars and gateways, configured by istiod.
    #[default]
    Istio,
    /// Envoy Gateway (`EnvoyExtensionPolicy`).
    EnvoyGateway,
    /// An Envoy whose bootstrap and binary the team controls.
    Envoy,
}

impl Platform {
    pub fn words(self) -> &'static str {
        match self {
            Platform::Istio => "Istio",
            Platform::EnvoyGateway => "Envoy Gateway",
            Platform::Envoy => "plain Envoy",
        }
    }
}

/// Where the filters run and what that allows (`[deploy]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployPolicy {
    /// `istio`, `envoy-gateway` or `envoy`.
    pub platform: Platform,
    /// Under Istio a native module has no `TrafficExtension` option: it ships as an
    /// `EnvoyFilter` patch and needs an istio-proxy image built with the dynamic-modules
    /// extension and holding the `.so`. `true`: acceptable (a native choice says it needs one);
    /// `false`: native twins are not deployable under Istio.
    pub native_custom_proxy: bool,
    /// A native module shares Envoy's address space (a crash in it is a proxy crash); `true`
    /// rules out ways out without a sandbox.
    pub isolation_required: bool,
}

impl Default for DeployPolicy {
    fn default() -> Self {
        DeployPolicy {
            platform: Platform::Istio,
            native_custom_proxy: false,
            isolation_required: false,
        }
    }
}

impl DeployPolicy {
    /// Whether `kind` can be deployed on the platform, and how, in words.
    pub fn deployable(&self, kind: TwinKind) -> (bool, String) {
        match (kind.is_proxy_wasm(), self.platform) {
            (true, Platform::Istio) => (
                true,
                "Istio carries proxy-wasm modules (TrafficExtension, or WasmPlugin)".into(),
            ),
            (true, Platform::EnvoyGateway) => (
                true,
                "Envoy Gateway carries proxy-wasm modules (EnvoyExtensionPolicy wasm)".into(),
            ),
            (true, Platform::Envoy) => (true, "Envoy's Wasm filter loads it".into()),
            (false, Platform::Istio) if self.native_custom_proxy => (
                true,
                "under Istio only as an EnvoyFilter patch with a custom istio-proxy image that holds the .so (policy deploy.native_custom_proxy = true accepts that)"
                    .into(),
            ),
            (false, Platform::Istio) => (
                false,
                "Istio's TrafficExtension has no dynamic-module option; it would need an EnvoyFilter patch and a custom istio-proxy image holding the .so, which policy deploy.native_custom_proxy = false rules out"
                    .into(),
            ),
            (false, Platform::EnvoyGateway) => (
                true,
                "Envoy Gateway's EnvoyExtensionPolicy loads dynamic modules (the .so must be in the proxy image)"
                    .into(),
            ),
            (false, Platform::Envoy) => (
                true,
                "Envoy's dynamic_modules filter loads it from the proxy's file system".into(),
            ),
        }
    }

    /// How `kind` is deployed on the platform, in a few words (a table cell).
    pub fn deploy_short(&self, kind: TwinKind) -> &'static str {
        match (kind.is_proxy_wasm(), self.platform) {
            (true, Platform::Istio) => "TrafficExtension or WasmPlugin",
            (true, Platform::EnvoyGateway) => "EnvoyExtensionPolicy (wasm)",
            (true, Platform::Envoy) => "Wasm filter",
            (false, Platform::Istio) if self.native_custom_proxy => {
                "EnvoyFilter patch + custom istio-proxy image"
            }
            (false, Platform::Istio) => "needs a custom istio-proxy image (policy: not acceptable)",
            (false, Platform::EnvoyGateway) => "EnvoyExtensionPolicy (dynamic module)",
            (false, Platform::Envoy) => "dynamic_modules filter",
        }
    }

    /// Whether `kind` meets the isolation requirement, and why, in words.
    pub fn isolated_enough(&self, kind: TwinKind) -> (bool, String) {
        match (kind.is_proxy_wasm(), self.isolation_required) {
            (true, _) => (true, "it runs in a Wasm VM, sandboxed from Envoy".into()),
            (false, true) => (
                false,
                "a native module shares Envoy's address space (a crash in it is a proxy crash), and policy deploy.isolation_required = true"
                    .into(),
            ),
            (false, false) => (
                true,
                "a native module shares Envoy's address space (a crash in it is a proxy crash); policy does not require isolation"
                    .into(),
            ),
        }
    }

    /// What choosing `kind` asks of the platform beyond the usual, if anything.
    pub fn caveat(&self, kind: TwinKind) -> Option<&'static str> {
        (!kind.is_proxy_wasm() && self.platform == Platform::Istio).then_some(
            "needs a custom istio-proxy image built with the dynamic-modules extension and holding the .so, deployed with an EnvoyFilter patch",
        )
    }
}

impl Policy {
    /// The documented defaults (the shipped `reports/policy.toml`).
    pub fn default_policy() -> Policy {
        toml::from_str(include_str!("../policy.toml")).expect("the shipped policy parses")
    }

    pub fn load(path: &std::path::Path) -> Result<Policy, crate::Error> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::Error::Policy {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let policy: Policy = toml::from_str(&text).map_err(|e| crate::Error::Policy {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
        policy.check().map_err(|message| crate::Error::Policy {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(policy)
    }

    /// Values a run can act on: counts and durations that end (a million resamples would keep
    /// the report busy for hours; a budget of 1e300 s never ends), shares that are shares.
    pub fn check(&self) -> Result<(), String> {
        let c = &self.confidence;
        let m = &self.measurement;
        in_range("confidence.resamples", c.resamples, 1, 100_000)?;
        in_range("confidence.min_share", c.min_share, 0.0, 1.0)?;
        in_range("measurement.min_rounds", m.min_rounds, 1, 10_000)?;
        in_range("measurement.max_rounds", m.max_rounds, 1, 10_000)?;
        in_range(
            "measurement.pair_budget_secs",
            m.pair_budget_secs,
            1.0,
            86_400.0,
        )?;
        in_range(
            "measurement.extra_budget_secs",
            m.extra_budget_secs,
            0.0,
            86_400.0,
        )?;
        in_range(
            "measurement.target_half_width_us",
            m.target_half_width_us,
            0.0,
            1e6,
        )?;
        in_range(
            "measurement.target_half_width_pct",
            m.target_half_width_pct,
            0.0,
            100.0,
        )?;
        in_range("lua_cost.min_cpu_us", self.lua_cost.min_cpu_us, 0.0, 1e9)?;
        in_range(
            "lua_cost.min_latency_us",
            self.lua_cost.min_latency_us,
            0.0,
            1e9,
        )?;
        in_range("saving.min_cpu_us", self.saving.min_cpu_us, 0.0, 1e9)?;
        in_range("saving.min_pct", self.saving.min_pct, 0.0, 100.0)?;
        self.check_memory()?;
        in_range(
            "saving.min_cpu_us_between_ways",
            self.saving.min_cpu_us_between_ways,
            0.0,
            1e9,
        )
    }

    /// The memory section: the per-proxy budget (the per-worker one is gone), workers per
    /// proxy and proxies that a run can use.
    fn check_memory(&self) -> Result<(), String> {
        if self.memory.max_extra_mib_per_worker.is_some() {
            return Err(
                "memory.max_extra_mib_per_worker is replaced by memory.max_extra_mib_per_proxy \
                 (the extra resident memory of one Envoy at memory.workers_per_proxy workers \
                 over Lua, MiB)"
                    .into(),
            );
        }
        in_range(
            "memory.max_extra_mib_per_proxy",
            self.memory.max_extra_mib_per_proxy,
            0.0,
            1e9,
        )?;
        if !(1..=1024).contains(&self.memory.workers_per_proxy) {
            return Err(format!(
                "memory.workers_per_proxy is {}; it must be between 1 and 1024",
                self.memory.workers_per_proxy
            ));
        }
        if self.memory.proxies == 0 {
            return Err("memory.proxies must be at least 1".into());
        }
        Ok(())
    }
}

/// `name = v` lies between `lo` and `hi` (a NaN does not: it compares with nothing).
fn in_range<T: PartialOrd + std::fmt::Display>(
    name: &str,
    v: T,
    lo: T,
    hi: T,
) -> Result<(), String> {
    if v >= lo && v <= hi {
        Ok(())
    } else {
        Err(format!(
            "{name} = {v} is out of range (between {lo} and {hi})"
        ))
    }
}

/// One measure of one round for every variant (the name is from when there were three);
/// `None` where a variant was not measured. A resample picks whole rounds, so the variants stay
/// paired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Triple {
    pub base: Option<f64>,
    pub lua: Option<f64>,
    /// The Rust Wasm twin.
    pub wasm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_wasm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<f64>,
}

impl Triple {
    /// The figure of one twin kind.
    pub fn twin(&self, kind: TwinKind) -> Option<f64> {
        match kind {
            TwinKind::Wasm => self.wasm,
            TwinKind::GoWasm => self.go_wasm,
            TwinKind::Native => self.native,
        }
    }
}

/// The paired open-loop rounds of a pair in real Envoy (one worker, all variants at one rate).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairedRounds {
    /// The fixed request rate of every round, requests per second.
    pub rate_rps: f64,
    /// Envoy CPU time per request, microseconds, one entry per round.
    pub cpu_us: Vec<Triple>,
    pub p50_us: Vec<Triple>,
    pub p90_us: Vec<Triple>,
    pub p99_us: Vec<Triple>,
}

impl PairedRounds {
    pub fn len(&self) -> usize {
        self.cpu_us.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cpu_us.is_empty()
    }

    /// The rounds at `indices` (a bootstrap resample).
    pub fn select(&self, indices: &[usize]) -> PairedRounds {
        let pick = |v: &Vec<Triple>| indices.iter().filter_map(|&i| v.get(i).copied()).collect();
        PairedRounds {
            rate_rps: self.rate_rps,
            cpu_us: pick(&self.cpu_us),
            p50_us: pick(&self.p50_us),
            p90_us: pick(&self.p90_us),
            p99_us: pick(&self.p99_us),
        }
    }
}

fn side(v: &[Triple], f: impl Fn(&Triple) -> Option<f64>) -> Vec<Option<f64>> {
    v.iter().map(f).collect()
}

/// Which paired difference of one measure: which variant minus which (the outcome diff is
/// `filterbench_model::outcome::Diff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairedDifference {
    LuaOverBase,
    WasmOverBase,
    WasmMinusLua,
    TwinOverBase(TwinKind),
    TwinMinusLua(TwinKind),
    /// The first kind minus the second.
    TwinMinusTwin(TwinKind, TwinKind),
}

impl PairedDifference {
    /// The median of the per-round differences and its interval; `None` without paired rounds.
    pub fn of(self, rounds: &[Triple]) -> Option<Interval> {
        Interval::of_median(&self.per_round(rounds))
    }

    /// The median of the per-round differences alone (no interval: cheap, for ranking).
    pub fn median_of(self, rounds: &[Triple]) -> Option<f64> {
        let d = self.per_round(rounds);
        (!d.is_empty()).then(|| filterbench_model::stats::median(&d))
    }

    /// The per-round differences (rounds missing either side left out).
    pub fn per_round(self, rounds: &[Triple]) -> Vec<f64> {
        let (a, b) = match self {
            PairedDifference::LuaOverBase => (side(rounds, |t| t.lua), side(rounds, |t| t.base)),
            PairedDifference::WasmOverBase => (side(rounds, |t| t.wasm), side(rounds, |t| t.base)),
            PairedDifference::WasmMinusLua => (side(rounds, |t| t.wasm), side(rounds, |t| t.lua)),
            PairedDifference::TwinOverBase(k) => {
                (side(rounds, |t| t.twin(k)), side(rounds, |t| t.base))
            }
            PairedDifference::TwinMinusLua(k) => {
                (side(rounds, |t| t.twin(k)), side(rounds, |t| t.lua))
            }
            PairedDifference::TwinMinusTwin(a, b) => {
                (side(rounds, |t| t.twin(a)), side(rounds, |t| t.twin(b)))
            }
        };
        paired(&a, &b)
    }
}

/// Every difference the report shows for a pair, each with its interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Costs {
    pub rounds: usize,
    pub rate_rps: f64,
    pub lua_cpu_us: Option<Interval>,
    pub wasm_cpu_us: Option<Interval>,
    pub wasm_minus_lua_cpu_us: Option<Interval>,
    /// Added latency over the baseline at p50, p90, p99 (open loop).
    pub lua_latency_us: [Option<Interval>; 3],
    pub wasm_latency_us: [Option<Interval>; 3],
    pub wasm_minus_lua_latency_us: [Option<Interval>; 3],
    /// Every twin kind with samples in the rounds (Rust Wasm too), in [`TwinKind::ALL`]'s order.
    pub ways: Vec<WayCost>,
}

/// What one way out adds and saves, paired per round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WayCost {
    pub kind: TwinKind,
    /// Envoy CPU per request over the baseline, microseconds.
    pub cpu_us: Option<Interval>,
    /// Its Envoy CPU per request minus Lua's.
    pub minus_lua_cpu_us: Option<Interval>,
    /// Its p50 latency minus Lua's.
    pub minus_lua_p50_us: Option<Interval>,
}

impl Costs {
    pub fn of(r: &PairedRounds) -> Costs {
        let lat = |d: PairedDifference| [d.of(&r.p50_us), d.of(&r.p90_us), d.of(&r.p99_us)];
        Costs {
            rounds: r.len(),
            rate_rps: r.rate_rps,
            lua_cpu_us: PairedDifference::LuaOverBase.of(&r.cpu_us),
            wasm_cpu_us: PairedDifference::WasmOverBase.of(&r.cpu_us),
            wasm_minus_lua_cpu_us: PairedDifference::WasmMinusLua.of(&r.cpu_us),
            lua_latency_us: lat(PairedDifference::LuaOverBase),
            wasm_latency_us: lat(PairedDifference::WasmOverBase),
            wasm_minus_lua_latency_us: lat(PairedDifference::WasmMinusLua),
            ways: TwinKind::ALL
                .into_iter()
                .filter(|k| r.cpu_us.iter().any(|t| t.twin(*k).is_some()))
                .map(|k| WayCost {
                    kind: k,
                    cpu_us: PairedDifference::TwinOverBase(k).of(&r.cpu_us),
                    minus_lua_cpu_us: PairedDifference::TwinMinusLua(k).of(&r.cpu_us),
                    minus_lua_p50_us: PairedDifference::TwinMinusLua(k).of(&r.p50_us),
                })
                .collect(),
        }
    }

    /// The costs of one kind, when it was measured.
    pub fn way(&self, kind: TwinKind) -> Option<&WayCost> {
        self.ways.iter().find(|w| w.kind == kind)
    }
}

/// Everything the tree looks at for one pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Equivalence of the twins, if it was checked.
    pub equivalent: Option<bool>,
    /// Where equivalence was checked (`real Envoy`, `in-process`), said on the path.
    #[serde(default)]
    pub equivalence_source: Option<String>,
    /// The paired open-loop rounds in real Envoy, if measured.
    pub rounds: Option<PairedRounds>,
    /// Extra resident memory of the Wasm variant over the Lua variant at each measured worker
    /// count.
    #[serde(default)]
    pub wasm_memory: Option<MemoryFit>,
    /// What the catalogue says the filter needs (its traits).
    pub traits: Traits,
    /// A capability Envoy's Lua lacks (custom metrics, shared data across workers, ...), if any:
    /// the catalogue's `capability_gap`.
    pub capability_gap: Option<String>,
    /// The pair's twins of other kinds (Go Wasm, native module): the fields above are the Rust
    /// Wasm twin's.
    #[serde(default)]
    pub other_twins: Vec<TwinEvidence>,
}

/// What the tree knows of one twin: its proof and its memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TwinEvidence {
    pub kind: TwinKind,
    pub equivalent: Option<bool>,
    pub equivalence_source: Option<String>,
    /// Extra resident memory over the Lua variant at each measured worker count.
    #[serde(default)]
    pub memory: Option<MemoryFit>,
}

impl Evidence {
    /// Every twin, the Rust Wasm one first (from the fields above), in [`TwinKind::ALL`]'s order.
    pub fn twins(&self) -> Vec<TwinEvidence> {
        let mut v = vec![TwinEvidence {
            kind: TwinKind::Wasm,
            equivalent: self.equivalent,
            equivalence_source: self.equivalence_source.clone(),
            memory: self.wasm_memory.clone(),
        }];
        v.extend(
            self.other_twins
                .iter()
                .filter(|t| t.kind != TwinKind::Wasm)
                .cloned(),
        );
        v.sort_by_key(|t| t.kind);
        v
    }

    /// The kinds proven equivalent.
    pub fn proven(&self) -> Vec<TwinKind> {
        self.twins()
            .into_iter()
            .filter(|t| t.equivalent == Some(true))
            .map(|t| t.kind)
            .collect()
    }
}

/// One question on the path, its answer and the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Stable id of the question (the report draws the tree with it).
    pub id: String,
    /// The twin a per-twin question was asked of.
    pub twin: Option<TwinKind>,
    pub question: String,
    pub answer: String,
    pub evidence: String,
}

/// How stable a verdict is: the tree re-run on resamples of the rounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confidence {
    pub resamples: usize,
    /// Share of resamples reaching each verdict, largest first.
    pub shares: Vec<(Verdict, f64)>,
    /// Share reaching the verdict of all rounds.
    pub share: f64,
}

impl Confidence {
    /// `62% migrate / 38% keep Lua`.
    pub fn split_words(&self) -> String {
        self.shares
            .iter()
            .map(|(v, s)| format!("{:.0}% {}", s * 100.0, v.label()))
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

/// The tree's output for one pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// What the tree says on all rounds.
    pub verdict: Verdict,
    /// What the report says: `verdict`, or [`Verdict::TooCloseToCall`] when its confidence is
    /// below the policy's minimum.
    pub call: Verdict,
    pub leaf: Leaf,
    pub path: Vec<Step>,
    pub reasons: Vec<String>,
    /// `None` when no load rounds were measured (nothing to resample).
    pub confidence: Option<Confidence>,
    /// The paired differences behind the path.
    pub costs: Option<Costs>,
    /// Where each proven twin ended in the per-twin questions (empty when the tree did not get
    /// there), in [`TwinKind::ALL`]'s order.
    pub ways: Vec<(TwinKind, Fate)>,
    /// For a close call between two ways out: each one's share of the resamples on which it is
    /// the cheaper of the two (median added CPU).
    pub between: Option<[(TwinKind, f64); 2]>,
    /// What the call's way out asks of the platform beyond the usual (a native module under
    /// Istio: a custom istio-proxy image), said wherever the call is shown.
    pub caveat: Option<String>,
    /// The same in a few words, for the index.
    pub caveat_short: Option<String>,
}

fn yes_no(b: bool) -> Answer {
    if b {
        Yes
    } else {
        No
    }
}

/// The answer to one question and the words saying why. `kind` is the twin a per-twin question
/// is asked of; `fates` where each twin ended (for the questions after the per-twin part).
fn answer(
    q: Question,
    kind: Option<TwinKind>,
    e: &Evidence,
    policy: &Policy,
    fates: &[(TwinKind, Fate)],
    lua_cpu: &std::cell::OnceCell<Option<Interval>>,
) -> (Answer, String) {
    let rounds = e.rounds.as_ref().filter(|r| !r.is_empty());
    let kind = kind.unwrap_or_default();
    match q {
        Question::Equivalent => equivalent(e),
        Question::Capability => (
            yes_no(e.capability_gap.is_some()),
            e.capability_gap
                .clone()
                .unwrap_or_else(|| "none in the catalogue".into()),
        ),
        Question::RustForCapability => allowed_for_capability_words(e, policy),
        Question::LuaMatters | Question::LuaMattersWithoutTwin => {
            lua_matters(q, rounds, policy, lua_cpu)
        }
        Question::WayCheaper => way_cheaper(kind, rounds, policy, lua_cpu),
        Question::WayMemory => way_memory(kind, e, policy),
        Question::WayLanguage => {
            let lang = language_of(kind);
            (
                yes_no(policy.team.knows(lang)),
                format!(
                    "written in {lang}; policy team.languages: {}",
                    policy.team.words()
                ),
            )
        }
        Question::WayPlatform => {
            let (ok, words) = policy.deploy.deployable(kind);
            (
                yes_no(ok),
                format!("{}: {words}", policy.deploy.platform.words()),
            )
        }
        Question::WayIsolation => {
            let (ok, words) = policy.deploy.isolated_enough(kind);
            (yes_no(ok), words)
        }
        Question::WaysRemain => ways_remain(fates),
        Question::Cheapest => match choose(e, policy, &candidates(fates)) {
            None => (Unknown, "no way out remains".into()),
            Some(c) => (if c.decided { Yes } else { Same }, c.words),
        },
        Question::AnyCheaper => any_cheaper(fates),
        Question::DataProcessing => (
            yes_no(e.traits.data_processing),
            "catalogue trait data_processing".into(),
        ),
    }
}

/// Lua's added Envoy CPU per request over the baseline, computed once per pair.
fn lua_cpu_of(cell: &std::cell::OnceCell<Option<Interval>>, r: &PairedRounds) -> Option<Interval> {
    *cell.get_or_init(|| PairedDifference::LuaOverBase.of(&r.cpu_us))
}

/// How the paired rounds' figures were obtained, said after each one.
fn rounds_method(r: &PairedRounds) -> String {
    format!(
        "median over {} paired open-loop rounds at {:.0} req/s, [95% bootstrap interval]",
        r.len(),
        r.rate_rps
    )
}

/// Is a twin proven equivalent: each twin's equivalence and where it was checked.
fn equivalent(e: &Evidence) -> (Answer, String) {
    let twins = e.twins();
    let words = twins
        .iter()
        .filter(|t| t.kind == TwinKind::Wasm || t.equivalent.is_some())
        .map(|t| {
            let source = t
                .equivalence_source
                .as_deref()
                .unwrap_or("where not stated");
            let said = match t.equivalent {
                Some(true) => format!("every scenario equal ({source})"),
                Some(false) => format!("some scenario differs ({source})"),
                None => "equivalence not checked".into(),
            };
            if twins.len() == 1 {
                said
            } else {
                format!("{}: {said}", t.kind.label())
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    let answer = if twins.iter().any(|t| t.equivalent == Some(true)) {
        Yes
    } else if twins.iter().any(|t| t.equivalent == Some(false)) {
        No
    } else {
        Unknown
    };
    (answer, words)
}

/// Which proven twins policy allows when Lua lacks a capability (cost not weighed).
fn allowed_for_capability_words(e: &Evidence, policy: &Policy) -> (Answer, String) {
    let allowed = allowed_for_capability(e, policy);
    let words = e
        .proven()
        .into_iter()
        .map(|k| {
            let (ok, why) = allowed_words(k, policy);
            format!(
                "{}: {}",
                k.label(),
                if ok { "yes".to_string() } else { why }
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    (
        yes_no(!allowed.is_empty()),
        format!(
            "{words} (policy: team languages {}, platform {}; cost is not weighed on this \
             branch: the first allowed in the order Rust Wasm, Go Wasm, native module)",
            policy.team.words(),
            policy.deploy.platform.words()
        ),
    )
}

/// Does the Lua filter cost enough to matter (with a twin), or settle the verdict (without one).
fn lua_matters(
    q: Question,
    rounds: Option<&PairedRounds>,
    policy: &Policy,
    lua_cpu: &std::cell::OnceCell<Option<Interval>>,
) -> (Answer, String) {
    let Some(r) = rounds else {
        return (
            Unknown,
            if q == Question::LuaMatters {
                "no real-Envoy load rounds (run `filterbench load`)".into()
            } else {
                "no real-Envoy load rounds (run `filterbench load --lua-only`)".into()
            },
        );
    };
    let (Some(cpu), Some(p50)) = (
        lua_cpu_of(lua_cpu, r),
        PairedDifference::LuaOverBase.of(&r.p50_us),
    ) else {
        return (Unknown, "no paired baseline and Lua rounds".into());
    };
    let p = &policy.lua_cost;
    let small = cpu.below(p.min_cpu_us) && p50.below(p.min_latency_us);
    let numbers = format!(
        "Lua adds {} us of Envoy CPU per request and {} us at p50 ({})",
        cpu.signed(1),
        p50.signed(0),
        rounds_method(r),
    );
    if q == Question::LuaMatters {
        return (
            yes_no(!small),
            format!(
                "{numbers}; it matters unless both whole intervals lie below {} us CPU \
                 and {} us latency",
                p.min_cpu_us, p.min_latency_us
            ),
        );
    }
    // Without a twin the answer settles the verdict, so it must be clear either way: no
    // when both whole intervals lie below the bar, yes when one lies wholly above it.
    let large = cpu.above(p.min_cpu_us) || p50.above(p.min_latency_us);
    let (answer, said) = if small {
        (No, "both whole intervals lie below the bar")
    } else if large {
        (Yes, "a whole interval lies above the bar")
    } else {
        (Same, "the intervals reach across the bar")
    };
    (
        answer,
        format!(
            "{numbers}; bar: {} us CPU and {} us latency: {said}",
            p.min_cpu_us, p.min_latency_us
        ),
    )
}

/// Does the twin `kind` cost measurably less Envoy CPU per request than Lua (policy threshold).
fn way_cheaper(
    kind: TwinKind,
    rounds: Option<&PairedRounds>,
    policy: &Policy,
    lua_cpu: &std::cell::OnceCell<Option<Interval>>,
) -> (Answer, String) {
    let Some(r) = rounds else {
        return (Unknown, "no real-Envoy load rounds".into());
    };
    let (Some(lua), Some(diff)) = (
        lua_cpu_of(lua_cpu, r),
        PairedDifference::TwinMinusLua(kind).of(&r.cpu_us),
    ) else {
        return (
            Unknown,
            format!("no paired Lua and {} rounds", kind.label()),
        );
    };
    let s = &policy.saving;
    let threshold = s.min_cpu_us.max(s.min_pct / 100.0 * lua.median.max(0.0));
    // The saving is Lua minus the twin: the negated difference.
    let answer = if diff.below(-threshold) {
        Yes
    } else if diff.above(threshold) {
        No
    } else {
        Same
    };
    let said = match answer {
        Yes => format!(
            "{} is cheaper: the whole interval lies below -threshold",
            kind.label()
        ),
        No => "Lua is cheaper: the whole interval lies above +threshold".into(),
        _ => "the interval reaches inside ±threshold".into(),
    };
    (
        answer,
        format!(
            "{} minus Lua: {} us of Envoy CPU per request ({}); threshold {threshold:.1} us \
             (the larger of {} us and {}% of Lua's added {:.1} us): {said}",
            kind.label(),
            diff.signed(1),
            rounds_method(r),
            s.min_cpu_us,
            s.min_pct,
            lua.median
        ),
    )
}

/// Does the twin `kind`'s extra memory per proxy, at the policy's workers per proxy, fit the
/// budget: yes when its whole interval is within it, no when its whole interval is above it,
/// unknown when the interval holds the budget.
fn way_memory(kind: TwinKind, e: &Evidence, policy: &Policy) -> (Answer, String) {
    let m = &policy.memory;
    let extra = e
        .twins()
        .into_iter()
        .find(|t| t.kind == kind)
        .and_then(|t| t.memory)
        .and_then(|fit| fit.per_proxy(m.workers_per_proxy));
    let Some(x) = extra else {
        return (
            Unknown,
            format!(
                "{}'s memory per proxy not measured (fewer than two worker counts with both a \
                 Lua and a {} memory sample)",
                kind.label(),
                kind.label()
            ),
        );
    };
    let (lo, hi) = x.interval.unwrap_or((x.mib, x.mib));
    let budget = m.max_extra_mib_per_proxy;
    let answer = if hi <= budget {
        Yes
    } else if lo > budget {
        No
    } else {
        Unknown
    };
    let mesh = if m.proxies > 1 {
        format!(
            "; {:.0} MiB over the mesh's {} proxies",
            x.mib * f64::from(m.proxies),
            m.proxies
        )
    } else {
        String::new()
    };
    let said = match answer {
        Unknown => ": the interval holds the budget, too close to say",
        _ => "",
    };
    (
        answer,
        format!(
            "{} over Lua{mesh}; budget {budget:.1} MiB per proxy{said}",
            x.words()
        ),
    )
}

/// Does a way out remain: those that remain and where the others went out.
fn ways_remain(fates: &[(TwinKind, Fate)]) -> (Answer, String) {
    let remain: Vec<&str> = candidates(fates).iter().map(|k| k.label()).collect();
    let out: Vec<String> = fates
        .iter()
        .filter(|(_, f)| *f != Fate::Candidate)
        .map(|(k, f)| format!("{}: {}", k.label(), f.words()))
        .collect();
    let mut words = if remain.is_empty() {
        "none remains".to_string()
    } else {
        format!("remain: {}", remain.join(", "))
    };
    if !out.is_empty() {
        words.push_str(&format!("; out: {}", out.join("; ")));
    }
    (yes_no(!remain.is_empty()), words)
}

/// Was any way out measurably cheaper than Lua (even if ruled out).
fn any_cheaper(fates: &[(TwinKind, Fate)]) -> (Answer, String) {
    if fates.iter().all(|(_, f)| *f == Fate::NotMeasured) {
        return (
            Unknown,
            "no proven twin was measured in the rounds (run `filterbench load`)".into(),
        );
    }
    let cheaper: Vec<String> = fates
        .iter()
        .filter(|(_, f)| !matches!(f, Fate::NotMeasured | Fate::NotCheaper))
        .map(|(k, f)| format!("{} ({})", k.label(), f.words()))
        .collect();
    if cheaper.is_empty() {
        (No, "no proven twin is measurably cheaper than Lua".into())
    } else {
        (
            Yes,
            format!("measurably cheaper but ruled out: {}", cheaper.join(", ")),
        )
    }
}

/// Whether policy allows `kind` apart from its cost and memory (language, platform, isolation),
/// and the first reason it does not.
fn allowed_words(kind: TwinKind, policy: &Policy) -> (bool, String) {
    let lang = language_of(kind);
    if !policy.team.knows(lang) {
        return (
            false,
            format!("written in {lang}, not in policy team.languages"),
        );
    }
    let (ok, words) = policy.deploy.deployable(kind);
    if !ok {
        return (false, words);
    }
    policy.deploy.isolated_enough(kind)
}

/// The proven kinds policy allows, in [`TwinKind::ALL`]'s order (the capability branch).
fn allowed_for_capability(e: &Evidence, policy: &Policy) -> Vec<TwinKind> {
    e.proven()
        .into_iter()
        .filter(|k| allowed_words(*k, policy).0)
        .collect()
}

fn candidates(fates: &[(TwinKind, Fate)]) -> Vec<TwinKind> {
    fates
        .iter()
        .filter(|(_, f)| *f == Fate::Candidate)
        .map(|(k, _)| *k)
        .collect()
}

/// The choice among the remaining ways out.
struct Choice {
    /// The one with the lowest median added CPU.
    best: TwinKind,
    /// The nearest other one, when the difference to it does not decide.
    rival: Option<TwinKind>,
    decided: bool,
    words: String,
}

/// The remaining way with the lowest median added CPU, and whether the whole interval of every
/// other one's difference to it lies beyond the policy's `min_cpu_us_between_ways`.
fn choose(e: &Evidence, policy: &Policy, remaining: &[TwinKind]) -> Option<Choice> {
    let rounds = e.rounds.as_ref()?;
    let costs: Vec<(TwinKind, f64)> = remaining
        .iter()
        .map(|k| {
            (
                *k,
                PairedDifference::TwinOverBase(*k)
                    .median_of(&rounds.cpu_us)
                    .unwrap_or(f64::INFINITY),
            )
        })
        .collect();
    let best = costs
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))?
        .0;
    if remaining.len() == 1 {
        return Some(Choice {
            best,
            rival: None,
            decided: true,
            words: format!("{} is the only one that remains", best.label()),
        });
    }
    let bar = policy.saving.min_cpu_us_between_ways;
    let mut words = Vec::new();
    let mut rival: Option<(TwinKind, f64)> = None;
    for &k in remaining.iter().filter(|k| **k != best) {
        let d = PairedDifference::TwinMinusTwin(k, best).of(&rounds.cpu_us);
        match d {
            Some(d) => {
                words.push(format!(
                    "{} minus {}: {} us",
                    k.label(),
                    best.label(),
                    d.signed(1)
                ));
                if !d.above(bar) && rival.is_none_or(|(_, low)| d.low < low) {
                    rival = Some((k, d.low));
                }
            }
            None => {
                words.push(format!("{} and {} not paired", k.label(), best.label()));
                if rival.is_none() {
                    rival = Some((k, f64::NEG_INFINITY));
                }
            }
        }
    }
    let decided = rival.is_none();
    let said = if decided {
        format!(
            "{} is cheaper than every other by more than {bar} us (whole interval)",
            best.label()
        )
    } else {
        format!(
            "{} and {} are not {bar} us apart with the whole interval",
            best.label(),
            rival.map_or("", |(k, _)| k.label())
        )
    };
    Some(Choice {
        best,
        rival: rival.map(|(k, _)| k),
        decided,
        words: format!(
            "Envoy CPU per request, paired per round: {}; {said}",
            words.join("; ")
        ),
    })
}

/// One walk of [`TREE`]: the leaf, the path, each proven twin's fate and the ways the leaf names.
struct Walk {
    leaf: Leaf,
    path: Vec<Step>,
    fates: Vec<(TwinKind, Fate)>,
    ways: Vec<TwinKind>,
}

impl Walk {
    fn verdict(&self) -> Verdict {
        self.leaf.verdict(&self.ways)
    }
}

/// What one walk asks its questions with.
struct Cx<'a> {
    evidence: &'a Evidence,
    policy: &'a Policy,
    /// What Lua adds (CPU), worked out once per walk: several questions read it.
    lua_cpu: std::cell::OnceCell<Option<Interval>>,
}

/// Asks the question of `node` (of the twin `kind` in the per-twin part), records the step and
/// follows the branch of the answer.
fn step_on(
    cx: &Cx,
    node: &'static TreeNode,
    kind: Option<TwinKind>,
    fates: &[(TwinKind, Fate)],
    path: &mut Vec<Step>,
) -> &'static TreeNode {
    let TreeNode::Ask(q, branches) = node else {
        panic!("{}: not a question", node.id())
    };
    let q = *q;
    let (a, words) = answer(q, kind, cx.evidence, cx.policy, fates, &cx.lua_cpu);
    path.push(Step {
        id: q.id().into(),
        twin: kind,
        question: match kind {
            Some(k) => format!("{}: {}", k.label(), q.text()),
            None => q.text().into(),
        },
        answer: a.label().into(),
        evidence: words,
    });
    &branches
        .iter()
        .find(|(answers, _)| answers.contains(&a))
        .unwrap_or_else(|| panic!("{}: no branch for {a:?}", node.id()))
        .1
}

/// Walks [`TREE`] on `evidence`.
fn walk(evidence: &Evidence, policy: &Policy) -> Walk {
    let mut node = &TREE;
    let mut path = Vec::new();
    let mut fates = Vec::new();
    let cx = Cx {
        evidence,
        policy,
        lua_cpu: std::cell::OnceCell::new(),
    };
    loop {
        match node {
            TreeNode::Leaf(l) => {
                let ways = match l {
                    Leaf::CapabilityRust => allowed_for_capability(evidence, policy)
                        .into_iter()
                        .take(1)
                        .collect(),
                    Leaf::CheaperFits | Leaf::CloseBetween => {
                        match choose(evidence, policy, &candidates(&fates)) {
                            Some(c) => std::iter::once(c.best).chain(c.rival).collect(),
                            None => vec![],
                        }
                    }
                    _ => vec![],
                };
                return Walk {
                    leaf: *l,
                    path,
                    fates,
                    ways,
                };
            }
            TreeNode::Fate(f) => panic!("{}: a twin's end outside the per-twin part", f.id()),
            TreeNode::EachWay(each, then) => {
                for kind in evidence.proven() {
                    let mut n: &TreeNode = each;
                    let fate = loop {
                        match n {
                            TreeNode::Fate(f) => break *f,
                            TreeNode::Ask(..) => {
                                n = step_on(&cx, n, Some(kind), &fates, &mut path);
                            }
                            other => panic!("{}: not a per-twin node", other.id()),
                        }
                    };
                    fates.push((kind, fate));
                }
                node = then;
            }
            TreeNode::Ask(..) => {
                node = step_on(&cx, node, None, &fates, &mut path);
            }
        }
    }
}

fn reasons(w: &Walk, e: &Evidence, policy: &Policy) -> Vec<String> {
    let leaf = w.leaf;
    let mut r = vec![format!("{}: {}.", w.verdict().label(), leaf.meaning())];
    match leaf {
        Leaf::Unproven => r.push(
            "Fix the twin until `filterbench verify` passes before weighing a migration.".into(),
        ),
        Leaf::LuaCheapWithoutTwin => r.push(
            "A migration can save at most what the Lua filter adds, and the whole interval of that \
             is below the policy's bar: no Wasm twin needs to be written."
                .into(),
        ),
        Leaf::TwinNeeded => r.push(
            "The Lua filter's cost is clearly above the policy's bar, so a migration could save \
             something; whether Wasm does is unknown until a twin passes `filterbench verify` and \
             is measured (`filterbench load`)."
                .into(),
        ),
        Leaf::LuaCostUnclear => r.push(
            "Too close to call: the measurements cannot tell whether the Lua filter costs more or \
             less than the policy's bar (more rounds, `filterbench load --lua-only --full`, may \
             settle it)."
                .into(),
        ),
        Leaf::CapabilityRust | Leaf::CapabilityNoRust => {
            if let Some(gap) = &e.capability_gap {
                r.push(format!("Lua cannot do it: {gap}"));
            }
        }
        Leaf::NoMeasurements | Leaf::NoWasmMeasurements => {
            r.push("Without numbers there is no performance case for migrating.".into())
        }
        Leaf::LuaCheap => r.push(
            "A migration can save at most what the Lua filter adds, and that is below the policy's bar."
                .into(),
        ),
        Leaf::CheaperFits if e.traits.change_frequency == ChangeFrequency::High => r.push(
            "The filter changes often: every change becomes a build and a module push.".into(),
        ),
        Leaf::CheaperExcluded => {
            for (k, f) in &w.fates {
                if !matches!(f, Fate::NotMeasured | Fate::NotCheaper) {
                    r.push(format!(
                        "{} is measurably cheaper but out: {}.",
                        k.label(),
                        f.words()
                    ));
                }
            }
        }
        Leaf::NotCheaperComplex => r.push(
            "Rust's libraries would replace hand-written Lua code, but the numbers do not call for it."
                .into(),
        ),
        Leaf::NotCheaperSimple => r.push("The measurements do not favour Wasm.".into()),
        _ => {}
    }
    if let Some(c) = w.verdict().way().and_then(|k| policy.deploy.caveat(k)) {
        r.push(format!("The native module {c}."));
    }
    r
}

/// Walks the tree on all rounds, then on resamples of them for the verdict's confidence.
pub fn decide(evidence: &Evidence, policy: &Policy) -> Recommendation {
    let w = walk(evidence, policy);
    let verdict = w.verdict();
    let rounds = evidence.rounds.as_ref().filter(|r| !r.is_empty());
    // For a close call between two ways: on how many resamples each is the cheaper (median).
    let pair_of = match verdict {
        Verdict::TooCloseBetween(a, b) => Some((a, b)),
        _ => None,
    };
    let resampled = rounds.map(|r| resampled_verdicts(evidence, policy, r, verdict, pair_of));
    let a_cheaper = resampled.as_ref().map_or(0, |(_, n)| *n);
    let confidence = resampled.map(|(c, _)| c);
    let min_share = policy.confidence.min_share;
    let call = match &confidence {
        Some(c) if c.share < min_share => {
            between_ways(c, min_share).unwrap_or(Verdict::TooCloseToCall)
        }
        _ => verdict,
    };
    let mut reasons = reasons(&w, evidence, policy);
    if let (Verdict::TooCloseToCall | Verdict::TooCloseBetween(..), Some(c)) = (call, &confidence) {
        if call != verdict || call == Verdict::TooCloseToCall {
            reasons.insert(
                0,
                format!(
                    "Too close to call: on resamples of the rounds the tree answers {} (needs {:.0}% for one answer).",
                    c.split_words(),
                    min_share * 100.0
                ),
            );
        }
    }
    let between = between_shares(call, confidence.as_ref(), pair_of, a_cheaper);
    if let (Some([(a, sa), (b, sb)]), Leaf::CloseBetween) = (between, w.leaf) {
        reasons.push(format!(
            "On resamples of the rounds {} is the cheaper of the two in {:.0}% and {} in {:.0}%: \
             choose between them on other grounds (memory, start-up, failure behaviour, who \
             maintains it).",
            a.label(),
            sa * 100.0,
            b.label(),
            sb * 100.0
        ));
    }
    Recommendation {
        verdict,
        call,
        leaf: w.leaf,
        path: w.path,
        reasons,
        confidence,
        costs: rounds.map(Costs::of),
        ways: w.fates,
        between,
        caveat: call
            .way()
            .and_then(|k| policy.deploy.caveat(k))
            .map(String::from),
        caveat_short: call
            .way()
            .and_then(|k| policy.deploy.caveat(k))
            .map(|_| "needs a custom istio-proxy image".to_string()),
    }
}

/// The tree walked on resamples of the rounds: the share of each verdict, and (for a close
/// call between the ways `pair_of`) on how many resamples the first is the cheaper (median).
fn resampled_verdicts(
    evidence: &Evidence,
    policy: &Policy,
    r: &PairedRounds,
    verdict: Verdict,
    pair_of: Option<(TwinKind, TwinKind)>,
) -> (Confidence, usize) {
    let mut a_cheaper = 0usize;
    let count = policy.confidence.resamples.max(1);
    let mut tally: Vec<(Verdict, usize)> = Vec::new();
    for indices in resamples(r.len(), count, r.len() as u64) {
        let resampled = Evidence {
            rounds: Some(r.select(&indices)),
            ..evidence.clone()
        };
        let v = walk(&resampled, policy).verdict();
        if let (Some((a, b)), Some(rr)) = (pair_of, &resampled.rounds) {
            let m = |k| PairedDifference::TwinOverBase(k).median_of(&rr.cpu_us);
            if m(a).unwrap_or(f64::INFINITY) <= m(b).unwrap_or(f64::INFINITY) {
                a_cheaper += 1;
            }
        }
        match tally.iter_mut().find(|(t, _)| *t == v) {
            Some((_, n)) => *n += 1,
            None => tally.push((v, 1)),
        }
    }
    tally.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let shares: Vec<(Verdict, f64)> = tally
        .into_iter()
        .map(|(v, n)| (v, n as f64 / count as f64))
        .collect();
    let share = shares
        .iter()
        .find(|(v, _)| *v == verdict)
        .map_or(0.0, |(_, s)| *s);
    let confidence = Confidence {
        resamples: count,
        shares,
        share,
    };
    (confidence, a_cheaper)
}

/// For a call too close between two ways: each one's share, from the resamples on which it was
/// the cheaper (`a_cheaper`, when the walk itself named the two) or else from the verdicts' split.
fn between_shares(
    call: Verdict,
    confidence: Option<&Confidence>,
    pair_of: Option<(TwinKind, TwinKind)>,
    a_cheaper: usize,
) -> Option<[(TwinKind, f64); 2]> {
    match (call, confidence) {
        (Verdict::TooCloseBetween(a, b), Some(c)) if pair_of == Some((a, b)) => {
            let sa = a_cheaper as f64 / c.resamples as f64;
            Some([(a, sa), (b, 1.0 - sa)])
        }
        (Verdict::TooCloseBetween(a, b), Some(c)) => {
            // From the split of verdicts: each way's migrations.
            let of = |k| {
                c.shares
                    .iter()
                    .filter(|(v, _)| *v == Verdict::Migrate(k))
                    .map(|(_, s)| s)
                    .sum::<f64>()
            };
            Some([(a, of(a)), (b, of(b))])
        }
        _ => None,
    }
}

/// A split whose verdicts all choose between the same two ways out (each migration to one of
/// them, or close between them), together at least `min_share`: too close to call between them.
fn between_ways(c: &Confidence, min_share: f64) -> Option<Verdict> {
    let mut kinds: Vec<TwinKind> = Vec::new();
    let mut share = 0.0;
    for (v, s) in &c.shares {
        match v {
            Verdict::Migrate(k) => kinds.push(*k),
            Verdict::TooCloseBetween(a, b) => kinds.extend([*a, *b]),
            _ => continue,
        }
        share += s;
    }
    kinds.sort();
    kinds.dedup();
    match kinds.as_slice() {
        [a, b] if share >= min_share => Some(Verdict::TooCloseBetween(*a, *b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
