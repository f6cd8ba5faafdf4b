//! What the benches time, set up outside the timed part and checked before and after timing:
//! a [`Subject`] is one VM (Lua state or Wasm VM) with the one request it runs again and again.
//!
//! The VM is re-used across iterations, as a worker's VM is in Envoy, so per-worker state
//! persists. To keep iterations equal: the clock is pinned (no timer ticks, no window changes),
//! except that a pair whose configuration has `window_seconds` (rate_limit) moves the clock on by
//! one window per request, so every request is the first of a new window (the allowed path, and
//! the per-client table does not grow); the log lines a filter writes are dropped every
//! [`LOG_TRIM`] requests so the log does not grow without bound.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::harness::driver::{LoadedPair, Side};
use crate::harness::lua::{LuaFilter, UNLIMITED_INSTRUCTIONS};
use crate::harness::wasm::{Metering, WasmFilter};
use crate::harness::{Clock, Env, Exchange, FilterError, FilterVm};
use filterbench_model::catalogue::{Pair, DEFAULT_CONFIG};
use filterbench_model::corpus::{Corpus, Scenario};
use filterbench_model::outcome::{check_expect, Diff, Outcome};

use super::ops::{self, Op};
use super::Error;

/// Log lines kept before they are dropped.
pub const LOG_TRIM: usize = 4096;

/// The bench-only pass-through filters (the harness's own cost) and the per-operation filters.
pub const PASSTHROUGH_LUA: &str = "bench/guests/passthrough.lua";
pub const PASSTHROUGH_WASM: &str = "bench_passthrough";
pub const OPS_LUA: &str = "bench/guests/ops.lua";
pub const OPS_WASM: &str = "bench_ops";

/// The environment of a benchmarked VM: the given configuration, a pinned clock, no
/// instruction budget on either side, as in Envoy (LuaJIT's JIT is on only without the budget
/// hook: see [`UNLIMITED_INSTRUCTIONS`]; the benches compile Wasm with [`Metering::Off`], no
/// fuel counting, as V8 in Envoy does not count either).
pub fn bench_env(config: serde_json::Value) -> Env {
    let mut env = Env::new(config);
    env.clock = Clock::pinned(SystemTime::now());
    env.limits.instructions = UNLIMITED_INSTRUCTIONS;
    env
}

/// One VM and the request it runs.
pub struct Subject {
    /// `<bench>/<side>`, for messages.
    pub label: String,
    vm: Box<dyn FilterVm>,
    exchange: Exchange,
    env: Env,
    clock_step: Option<Duration>,
    /// The last outcome; the host overwrites it in place (see [`FilterVm::run_into`]).
    outcome: Outcome,
}

impl Subject {
    pub fn new(label: String, vm: Box<dyn FilterVm>, exchange: Exchange, env: Env) -> Subject {
        Subject {
            label,
            vm,
            exchange,
            env,
            clock_step: None,
            outcome: Outcome::default(),
        }
    }

    /// The timed unit: one full request through every callback of the filter, its outcome
    /// built (into the previous one's strings).
    #[inline]
    pub fn request(&mut self) -> Result<&Outcome, FilterError> {
        if let Some(step) = self.clock_step {
            self.env.clock.advance(step);
        }
        let result = self.vm.run_into(&self.exchange, &mut self.outcome);
        {
            let mut logs = self.env.logs.lock().unwrap();
            if logs.len() >= LOG_TRIM {
                logs.clear();
            }
        }
        result.map(|()| &self.outcome)
    }

    /// [`Subject::request`] for the timed loop: a filter error there is a broken benchmark.
    #[inline]
    pub fn request_or_panic(&mut self) -> &Outcome {
        if let Err(e) = self.request() {
            panic!("{}: {e}", self.label);
        }
        &self.outcome
    }

    /// The arm: the label's last part (`lua`, `wasm`, [`GO`]).
    pub fn arm(&self) -> &str {
        self.label.rsplit('/').next().unwrap_or_default()
    }

    pub fn exchange(&self) -> &Exchange {
        &self.exchange
    }

    /// The clock's now, ms (for checking time-stamped outcomes).
    pub fn now_ms(&self) -> u64 {
        self.env.clock.now_ms()
    }

    /// Bytes the VM holds now.
    pub fn memory_bytes(&self) -> usize {
        self.vm.memory_bytes()
    }
}

/// The arm name of the Go Wasm twin in subject labels (`<pair>/go`), callgrind counts and
/// criterion ids.
pub const GO: &str = "go";

/// A pair's benchmark: its twins loaded, and the scenario all of them run.
pub struct PairSubjects {
    pub loaded: LoadedPair,
    /// The Go Wasm twin, compiled without metering, when the pair has one (and it is built).
    pub go: Option<WasmFilter>,
    pub corpus: Corpus,
    /// The corpus scenario that is timed.
    pub scenario: Scenario,
}

impl PairSubjects {
    /// Chooses the representative request: the first corpus scenario (without `before`
    /// requests) that reaches the upstream and passes on fresh bench VMs of every twin (their
    /// outcomes equal to Lua's, the scenario's expectations met); else the first that passes at
    /// all. Scenarios under the configuration `default` (the one load runs measure) come first;
    /// the twins run under the chosen scenario's configuration.
    pub fn new(
        loaded: LoadedPair,
        go: Option<WasmFilter>,
        corpus: Corpus,
    ) -> Result<PairSubjects, Error> {
        let default = |s: &&Scenario| s.config_name() == DEFAULT_CONFIG;
        let candidates = corpus
            .scenarios
            .iter()
            .filter(default)
            .filter(|s| s.before == 0 && s.expect.upstream_reached)
            .chain(
                corpus
                    .scenarios
                    .iter()
                    .filter(default)
                    .filter(|s| s.before == 0),
            )
            .chain(
                corpus
                    .scenarios
                    .iter()
                    .filter(|s| s.before == 0 && !default(s)),
            );
        let mut failures = Vec::new();
        for scenario in candidates {
            let mut arms = arms(&loaded, go.as_ref(), &corpus, scenario)?;
            match check_arms_once(&loaded.pair, scenario, &mut arms) {
                Ok(()) => {
                    return Ok(PairSubjects {
                        scenario: scenario.clone(),
                        loaded,
                        go,
                        corpus,
                    })
                }
                Err(message) => failures.push(format!("{}: {message}", scenario.name)),
            }
        }
        Err(Error::Check {
            bench: loaded.pair.name.clone(),
            message: format!(
                "no corpus scenario of {} passes on every twin in the bench set-up: {}",
                corpus.path.display(),
                failures.join("; ")
            ),
        })
    }

    /// Fresh VMs of every twin, ready to run the chosen scenario, in measuring order: Lua, the
    /// Rust Wasm twin, then the Go Wasm twin when the pair has one.
    pub fn arms(&self) -> Result<Vec<Subject>, Error> {
        arms(&self.loaded, self.go.as_ref(), &self.corpus, &self.scenario)
    }

    /// Runs the scenario once more on the (already used) VMs of [`PairSubjects::arms`] and
    /// checks it still passes: a VM that failed or changed path during timing would have been
    /// timed on the wrong path.
    pub fn recheck(&self, arms: &mut [Subject]) -> Result<(), Error> {
        check_arms_once(&self.loaded.pair, &self.scenario, arms).map_err(|message| Error::Check {
            bench: self.loaded.pair.name.clone(),
            message: format!("after timing, scenario {}: {message}", self.scenario.name),
        })
    }

    pub fn body_len(&self) -> usize {
        self.scenario.body_bytes().len()
    }
}

/// Lua, the Rust Wasm twin and the Go one (when given) on fresh VMs under `scenario`.
fn arms(
    loaded: &LoadedPair,
    go: Option<&WasmFilter>,
    corpus: &Corpus,
    scenario: &Scenario,
) -> Result<Vec<Subject>, Error> {
    let mut arms = Vec::with_capacity(3);
    for side in [Side::Lua, Side::Wasm] {
        arms.push(subject(loaded, corpus, scenario, side.name(), |env| {
            loaded.vm(side, env)
        })?);
    }
    if let Some(go) = go {
        arms.push(subject(loaded, corpus, scenario, GO, |env| {
            Ok(Box::new(go.vm(env)?))
        })?);
    }
    Ok(arms)
}

/// A subject labelled `<pair>/<arm>` whose VM `vm` makes from the scenario's environment.
fn subject(
    loaded: &LoadedPair,
    corpus: &Corpus,
    scenario: &Scenario,
    arm: &str,
    vm: impl FnOnce(Env) -> Result<Box<dyn FilterVm>, FilterError>,
) -> Result<Subject, Error> {
    let mut env = scenario_env(loaded, corpus, scenario);
    let bench = bench_env(env.config.clone());
    env.clock = bench.clock;
    env.limits = bench.limits;
    let vm = vm(env.clone())?;
    let mut s = Subject::new(
        format!("{}/{arm}", loaded.pair.name),
        vm,
        Exchange::from_scenario(scenario),
        env,
    );
    s.clock_step = window_step(&loaded.pair);
    Ok(s)
}

/// The corpus environment under `scenario`'s configuration.
pub fn scenario_env(loaded: &LoadedPair, corpus: &Corpus, scenario: &Scenario) -> Env {
    let config = loaded
        .pair
        .config_json_of(scenario.config_name())
        .unwrap_or_else(|| loaded.pair.config_json());
    loaded.corpus_env_under(corpus, config).0
}

/// One window of a windowed limiter's configuration (`window_seconds`), if the pair has one.
fn window_step(pair: &Pair) -> Option<Duration> {
    let seconds = pair.config_json().get("window_seconds")?.as_u64()?;
    Some(Duration::from_secs(seconds))
}

/// One request on each arm (the first is Lua): all succeed, each twin's normalised outcome
/// equals Lua's, and all meet the scenario's expectations.
fn check_arms_once(pair: &Pair, scenario: &Scenario, arms: &mut [Subject]) -> Result<(), String> {
    let mut outcomes = Vec::with_capacity(arms.len());
    for arm in arms.iter_mut() {
        let sent = arm.now_ms();
        let outcome = match arm.request() {
            Ok(outcome) => outcome.clone(),
            Err(e) => return Err(format!("{}: {e}", arm.label)),
        };
        outcomes.push((arm.label.as_str(), outcome, sent));
    }
    let Some(((lua_label, lua, _), twins)) = outcomes.split_first() else {
        return Ok(());
    };
    let normalised = |o: &Outcome| o.normalised(&pair.normalise, &scenario.headers);
    for (label, outcome, _) in twins {
        let diff = Diff::between(&normalised(lua), &normalised(outcome));
        if !diff.is_empty() {
            return Err(format!("{lua_label} and {label} differ: {:?}", diff.lines));
        }
    }
    for (label, outcome, sent) in &outcomes {
        let misses = check_expect(&scenario.expect, outcome, *sent);
        if !misses.is_empty() {
            return Err(format!("{label}: {}", misses.join("; ")));
        }
    }
    Ok(())
}

/// A bench-only filter pair (pass-through, ops), loaded from `bench/guests/`.
pub struct GuestPair {
    pub lua: LuaFilter,
    pub wasm: WasmFilter,
}

impl GuestPair {
    /// Loads `bench/guests/<lua>` and compiles the Wasm guest `wasm`.
    pub fn load(root: &Path, lua: &str, wasm: &str) -> Result<GuestPair, Error> {
        GuestPair::load_with(root, lua, wasm, None)
    }

    /// [`GuestPair::load`], the Wasm guest taken from `precompiled` when given (the callgrind
    /// child).
    pub(crate) fn load_with(
        root: &Path,
        lua: &str,
        wasm: &str,
        precompiled: Option<&super::callgrind::Precompiled>,
    ) -> Result<GuestPair, Error> {
        let lua_path = root.join(lua);
        let source = std::fs::read_to_string(&lua_path).map_err(|source| {
            Error::Project(filterbench_model::Error::Io {
                path: lua_path.clone(),
                source,
            })
        })?;
        let name = Path::new(lua)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(lua);
        let lua = LuaFilter::load(name, &source)
            .map_err(|e| filterbench_model::Error::invalid(&lua_path, e.to_string()))?;
        if let Some(pre) = precompiled {
            let wasm = pre.load(wasm)?;
            return Ok(GuestPair { lua, wasm });
        }
        let wasm_path = filterbench_model::wasm_dir().join(format!("{wasm}.wasm"));
        let bytes = std::fs::read(&wasm_path).map_err(|source| {
            Error::Project(filterbench_model::Error::Io {
                path: wasm_path.clone(),
                source,
            })
        })?;
        let wasm = WasmFilter::compile_with(wasm, &bytes, Metering::Off)
            .map_err(|e| filterbench_model::Error::invalid(&wasm_path, e.to_string()))?;
        Ok(GuestPair { lua, wasm })
    }

    pub fn subject(
        &self,
        label: &str,
        side: Side,
        config: serde_json::Value,
        exchange: Exchange,
    ) -> Result<Subject, Error> {
        let env = bench_env(config);
        let vm: Box<dyn FilterVm> = match side {
            Side::Lua => Box::new(self.lua.vm(env.clone())?),
            Side::Wasm => Box::new(self.wasm.vm(env.clone())?),
        };
        Ok(Subject::new(
            format!("{label}/{}", side.name()),
            vm,
            exchange,
            env,
        ))
    }
}

/// The request of the baseline and the ops benches: a plain GET as a browser-ish client sends it.
pub fn plain_request() -> Exchange {
    let header = |n: &str, v: &str| (n.to_string(), v.to_string());
    Exchange {
        method: "GET".into(),
        path: ops::PATH.into(),
        headers: vec![
            header("host", "filterbench.test"),
            header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) filterbench"),
            header("accept", "application/json"),
            header("x-request-id", "0f4c8a2e-bench-0000-0000-000000000001"),
            header(ops::READ_HEADER, ops::READ_VALUE),
        ],
        body: Vec::new(),
        upstream: filterbench_model::corpus::UpstreamReply {
            status: 200,
            headers: vec![header("content-type", "application/json")],
            body: Some(r#"{"items":[]}"#.into()),
        },
    }
}

/// Runs the subject's request once; it must reach the upstream. Returns the outcome and a maker of
/// check errors labelled with the subject.
fn forwarded(subject: &mut Subject) -> Result<(Outcome, impl Fn(String) -> Error), Error> {
    let outcome = subject.request()?.clone();
    let bench = subject.label.clone();
    let fail = move |message: String| Error::Check {
        bench: bench.clone(),
        message,
    };
    if outcome.upstream.is_none() {
        return Err(fail(format!(
            "the request did not reach the upstream: {outcome:?}"
        )));
    }
    Ok((outcome, fail))
}

/// The pass-through subjects: the outcome must be the plain request passed on unchanged.
pub fn check_passthrough(subject: &mut Subject) -> Result<(), Error> {
    let (outcome, fail) = forwarded(subject)?;
    let upstream = outcome.upstream.as_ref().expect("checked by forwarded");
    if outcome.status != 200 || upstream.path != ops::PATH {
        return Err(fail(format!("not passed through unchanged: {outcome:?}")));
    }
    Ok(())
}

/// The ops subjects: `x-bench-result` says what the last repetition produced, and a header set
/// is visible upstream exactly when the op ran.
pub fn check_op(subject: &mut Subject, op: &Op, n: u32) -> Result<(), Error> {
    let (outcome, fail) = forwarded(subject)?;
    let upstream = outcome.upstream.as_ref().expect("checked by forwarded");
    let value = |name: &str| {
        upstream
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let expected = ops::expected_result(op, n);
    if value(ops::RESULT_HEADER) != Some(expected.as_str()) {
        return Err(fail(format!(
            "{} is {:?}, expected {expected:?} ({} x{n})",
            ops::RESULT_HEADER,
            value(ops::RESULT_HEADER),
            op.id
        )));
    }
    let set = value(ops::SET_HEADER);
    let want_set = (op.id == "header_set" && n > 0).then_some(ops::SET_VALUE);
    if set != want_set {
        return Err(fail(format!(
            "{} is {set:?}, expected {want_set:?}",
            ops::SET_HEADER
        )));
    }
    Ok(())
}
