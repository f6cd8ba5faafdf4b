//! The compare runner: for one pair, a baseline Envoy (router only), a Lua Envoy and a Wasm
//! Envoy (V8), each its own process, driven by the load generator with the pair's request mix.
//! It writes a [`LoadRun`] (the reports crate's schema, so writer and reader share one type).
//!
//! The method, at one Envoy worker (the comparison) and then at each other worker count asked
//! (capacity and memory only):
//!
//! 1. **Capacity**: closed-loop rounds (C connections, as fast as Envoy answers), every variant
//!    once per round. Throughput only; a round where Envoy was less than 90% busy is flagged,
//!    since it measured the driver, not the filter.
//! 2. **Paired open-loop rounds** (Envoy CPU time per request, all threads, nanosecond clock,
//!    and latency percentiles from each request's intended send time), added until the
//!    Wasm-minus-Lua CPU interval is narrow enough (the policy's target), or the pair's budget
//!    is spent. Two methods ([`RoundMethod`]):
//!    - **simultaneous** (the default; "duet benchmarking", Bulej et al., ICPE 2020): in each
//!      round every variant's Envoy (all pinned to the same core) is driven at the same rate by
//!      its own open-loop generator, all starting and stopping together, so that whatever the
//!      shared machine does in that second hits every variant alike and cancels in the paired
//!      difference. The rate keeps the core below saturation with all of them at once: the
//!      variants' CPU per request at capacity, summed, times the rate is `plan.rate_fraction`
//!      of the core, and all generators together stay at that share of the fastest variant's
//!      closed-loop throughput ([`simultaneous_rate`]). A round where any Envoy answered less than
//!      [`BEHIND_SHARE`] of its rate is flagged ([`Sample::behind`]) and left out. The first
//!      [`check_rounds`] simultaneous rounds (`plan.check_rounds` with three variants, fewer
//!      with more) are each followed by a sequential round: the method's check against itself,
//!      in the same run, not charged to the pair's budget.
//!    - **sequential**: every variant once per round, alone, in a rotating order (ABC, BCA,
//!      CAB, ...; Abedi and Brecht, ICPE 2017), at a share of the slowest variant's capacity.
//!
//!    The filter's cost is a difference *within* a round. A **Lua-only** subject
//!    ([`Subject::lua_only`]: no Wasm twin yet, or one not proven equivalent) runs baseline and
//!    Lua only, and narrows the Lua-minus-baseline interval instead: what the Lua filter adds,
//!    the most a migration could save.
//! 3. **Memory** of each variant's Envoy (RSS, allocator, Wasm VMs) after the warm-up (every
//!    variant at once, closed loop, the same at every worker count).
//!
//! Placement: Envoy is pinned to the last CPU; the caller pins this process (load generator,
//! echo upstream, auth service: every thread) to the others ([`pin_current_thread`] before the
//! [`Rig`] starts its runtime). Each sample records how busy Envoy and this process were.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::{Duration, Instant};

use filterbench_model::corpus::{AuthReply, Corpus, Scenario};
use filterbench_model::results::MeasurementPolicy;
use filterbench_model::results::{
    ExtraEnd, ExtraPass, ExtraWhy, LoadMachine, LoadPlan, LoadRun, LuaOnly, RoundMethod, Sample,
    StopReason, Variant, VariantMemory, VariantStartup, WorkersRun, BEHIND_SHARE, LOAD_SCHEMA,
};

use filterbench_model::catalogue::DEFAULT_CONFIG;
use filterbench_model::{Catalogue, Pair, Twin, TwinKind};

use crate::bootstrap::{bootstrap, ListenerFilter, ListenerSpec};
use crate::envoy::{admin_get, Envoy, EnvoyOptions};
use crate::verify::Rig;
use crate::{Error, Result};
use filterbench_load::client::SendRequest;
use filterbench_load::load::{self, LoadResult, LoadSpec, Mode};

mod rounds;
pub mod soak;
pub use rounds::{convergence, lua_convergence, narrowed, round_order};

/// The measurement plan of a profile: `full` measures longer rounds and spends three times the
/// policy's budget per pair.
pub fn plan(m: &MeasurementPolicy, full: bool) -> LoadPlan {
    let k = if full { 2.0 } else { 1.0 };
    LoadPlan {
        workers: vec![1, 2, 4],
        capacity_rounds: if full { 3 } else { 2 },
        // Half a second of closed loop is thousands of requests per variant: enough for the
        // rates, and 5 s less per pair of five variants.
        capacity_secs: 0.5 * k,
        warmup_secs: 0.5 * k,
        round_secs: k,
        min_rounds: m.min_rounds.max(2),
        max_rounds: m.max_rounds.max(m.min_rounds.max(2)),
        budget_secs: Some(m.pair_budget_secs * if full { 3.0 } else { 1.0 }),
        target_half_width_us: m.target_half_width_us,
        target_half_width_pct: m.target_half_width_pct,
        rate_fraction: 0.4,
        connections: 16,
        method: RoundMethod::Simultaneous,
        // The self-check: as many sequential rounds as the minimum of simultaneous ones.
        check_rounds: m.min_rounds.max(2),
    }
}

/// What is measured: the filters of each variant, their configuration and the request mix.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The name results are filed under (`load/<name>.json`).
    pub name: String,
    pub lua_source: String,
    /// The Wasm twin; `None` in a Lua-only subject.
    pub wasm_module: Option<PathBuf>,
    /// Set when only the baseline and the Lua filter are measured, with the reason (then
    /// `wasm_module` is `None`).
    pub lua_only: Option<LuaOnly>,
    /// The pair's twins of the other kinds measured beside the Rust Wasm twin (Go Wasm, native),
    /// in kind order ([`Subject::with_twins`]); each is one more variant of every round.
    pub more_twins: Vec<Twin>,
    pub config: serde_json::Value,
    /// The pair's configuration `config` is, when it is not `default` (results are filed under
    /// `load/<name>.config-<NAME>.json` then, see [`filterbench_model::results::load_path_of`]).
    pub config_name: Option<String>,
    /// True when no usable scenario runs under the configuration, so the mix is the whole
    /// corpus' (said by the caller).
    pub whole_corpus_mix: bool,
    pub mix: Vec<SendRequest>,
    /// Auth-service replies the mix relies on (token, reply JSON).
    pub auth: Vec<(String, AuthReply)>,
}

impl Subject {
    /// A catalogue pair with its corpus' forwarded requests as the mix.
    pub fn of_pair(catalogue: &Catalogue, pair: &Pair) -> Result<Subject> {
        Subject::of_pair_under(catalogue, pair, DEFAULT_CONFIG)
    }

    /// [`Subject::of_pair`] under the pair's configuration `config` ([`Subject::lua_side_of_pair_under`]).
    pub fn of_pair_under(catalogue: &Catalogue, pair: &Pair, config: &str) -> Result<Subject> {
        catalogue.wasm_module(&pair.name)?;
        Ok(Subject {
            wasm_module: Some(catalogue.wasm_module_path(&pair.name)),
            lua_only: None,
            ..Subject::lua_side_of_pair_under(catalogue, pair, LuaOnly::Asked, config)?
        })
    }

    /// This subject with the pair's twins of `kinds` beside its Rust Wasm twin (which is always
    /// measured: the stopping rule and the report read it; `Wasm` in `kinds` is ignored). Each
    /// twin's artefact is checked (built, of its kind); a kind the pair has no twin of is an
    /// error naming the pair.
    pub fn with_twins(
        mut self,
        catalogue: &Catalogue,
        pair: &Pair,
        kinds: &[TwinKind],
    ) -> Result<Subject> {
        self.more_twins.clear();
        for kind in TwinKind::ALL {
            if kind != TwinKind::Wasm && kinds.contains(&kind) {
                self.more_twins
                    .push(catalogue.checked_twin(&pair.name, kind)?);
            }
        }
        Ok(self)
    }

    /// A catalogue pair measured Lua-only (baseline and Lua): its Wasm module is neither needed
    /// nor looked at.
    pub fn lua_side_of_pair(catalogue: &Catalogue, pair: &Pair, why: LuaOnly) -> Result<Subject> {
        Subject::lua_side_of_pair_under(catalogue, pair, why, DEFAULT_CONFIG)
    }

    /// [`Subject::lua_side_of_pair`] under the pair's configuration `config` (its load
    /// configuration, [`Pair::load_config_json_of`]): the mix is the requests of the scenarios
    /// that run under it (what that configuration's route sees), or the whole corpus' when none
    /// does ([`Subject::whole_corpus_mix`]). A name the pair lacks is an error naming the known
    /// ones.
    pub fn lua_side_of_pair_under(
        catalogue: &Catalogue,
        pair: &Pair,
        why: LuaOnly,
        config: &str,
    ) -> Result<Subject> {
        let config_json = pair
            .load_config_json_of(config)
            .ok_or_else(|| Error::Envoy(pair.config_problem(config).unwrap_or_default()))?;
        let corpus = Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name)?;
        let mut mix = config_mix(&corpus, config);
        let whole_corpus_mix = mix.is_empty();
        if whole_corpus_mix {
            mix = request_mix(&corpus);
        }
        if mix.is_empty() {
            return Err(Error::Envoy(format!(
                "{}: no scenario usable as load",
                corpus.path.display()
            )));
        }
        let lua_source = catalogue.lua_source(&pair.name)?;
        Ok(Subject {
            name: pair.name.clone(),
            lua_source,
            wasm_module: None,
            lua_only: Some(why),
            more_twins: Vec::new(),
            config: config_json,
            config_name: (config != DEFAULT_CONFIG).then(|| config.to_string()),
            whole_corpus_mix,
            mix,
            auth: corpus.auth_replies().into_iter().collect(),
        })
    }

    /// The configuration measured: `default` unless [`Subject::config_name`] names another.
    pub fn config(&self) -> &str {
        self.config_name.as_deref().unwrap_or(DEFAULT_CONFIG)
    }

    /// What merely having a Lua, a Wasm or a native filter costs: the pass-through filters (every
    /// callback returns at once: `bench/guests/passthrough.lua`, `bench_passthrough.wasm`, and
    /// the native module `passthrough.so` as [`Subject::more_twins`]) on a plain GET. Filed as
    /// `load/passthrough.json`. A module that is not built is an error naming its file (the
    /// build script builds both; [`Subject::passthrough_without_native`] leaves the native one
    /// out).
    pub fn passthrough(root: &Path) -> Result<Subject> {
        let mut subject = Subject::passthrough_without_native(root)?;
        let native = passthrough_native_module();
        if !native.is_file() {
            return Err(Error::Envoy(format!(
                "{}: the native pass-through is not built (filterbench-build's build script \
                 builds it from filters-native/{PASSTHROUGH}/; `--twin wasm` measures without it)",
                native.display()
            )));
        }
        subject.more_twins.push(Twin {
            kind: TwinKind::Native,
            artefact: native,
            source: None,
        });
        Ok(subject)
    }

    /// [`Subject::passthrough`] with the Lua and Wasm pass-through filters only.
    pub fn passthrough_without_native(root: &Path) -> Result<Subject> {
        let lua_path = root.join("bench/guests/passthrough.lua");
        let lua_source = std::fs::read_to_string(&lua_path)
            .map_err(|e| Error::Envoy(format!("{}: {e}", lua_path.display())))?;
        let module = filterbench_model::wasm_dir().join("bench_passthrough.wasm");
        if !module.is_file() {
            return Err(Error::Envoy(format!(
                "{}: not built (filterbench-build's build script builds it)",
                module.display()
            )));
        }
        Ok(Subject {
            name: PASSTHROUGH.into(),
            lua_source,
            wasm_module: Some(module),
            lua_only: None,
            more_twins: Vec::new(),
            config: serde_json::json!({}),
            config_name: None,
            whole_corpus_mix: false,
            mix: vec![SendRequest {
                method: "GET".into(),
                path: "/passthrough".into(),
                headers: vec![],
                body: Vec::new(),
            }],
            auth: vec![],
        })
    }

    /// This subject without its Wasm twin: baseline and Lua only, for `why`.
    pub fn lua_only(mut self, why: LuaOnly) -> Subject {
        self.wasm_module = None;
        self.more_twins.clear();
        self.lua_only = Some(why);
        self
    }

    /// One listener per variant, named by the variant's id: baseline, Lua, and unless the subject
    /// is Lua-only the Rust Wasm twin and each of [`Subject::more_twins`] (a Go Wasm twin on the
    /// Wasm filter, a native twin on the dynamic-modules filter).
    pub fn listeners(&self) -> Vec<(Variant, ListenerSpec)> {
        let mut out = vec![
            (Variant::Base, ListenerFilter::Base),
            (
                Variant::Lua,
                ListenerFilter::Lua {
                    source: self.lua_source.clone(),
                },
            ),
        ];
        if let (Some(module), None) = (&self.wasm_module, self.lua_only) {
            out.push((
                Variant::WASM,
                ListenerFilter::Wasm {
                    module: module.clone(),
                },
            ));
            for twin in &self.more_twins {
                let module = twin.artefact.clone();
                let filter = if twin.kind.is_proxy_wasm() {
                    ListenerFilter::Wasm { module }
                } else {
                    ListenerFilter::Native { module }
                };
                out.push((Variant::Twin(twin.kind), filter));
            }
        }
        out.into_iter()
            .map(|(v, filter)| {
                (
                    v,
                    ListenerSpec {
                        name: v.id().to_string(),
                        pair: self.name.clone(),
                        config: self.config.clone(),
                        filter,
                    },
                )
            })
            .collect()
    }
}

/// The name of the mechanism run (pass-through Lua, Wasm and native filters).
pub const PASSTHROUGH: &str = "passthrough";

/// The native pass-through module (`filters-native/passthrough/`, built to
/// `<native dir>/passthrough.so`; not a pair, see
/// [`filterbench_model::artefacts::NATIVE_MEASUREMENT_CRATES`]).
pub fn passthrough_native_module() -> PathBuf {
    filterbench_model::native_dir().join(TwinKind::Native.artefact_name(PASSTHROUGH))
}

/// The request mix of a pair: the requests its filter lets through to the upstream, so that the
/// baseline (which forwards everything) does the same upstream work and the difference between
/// the variants is the filter's own cost (a mix with denied requests would make an auth filter
/// look faster than no filter at all: a local 403 is cheaper than a trip upstream). Scenarios
/// that only exist to make the auth service slow or drop the connection are left out (they
/// measure timeouts, not the filter). A pair without any forwarded scenario uses all the others.
pub fn request_mix(corpus: &Corpus) -> Vec<SendRequest> {
    forwarded_mix(
        corpus
            .scenarios
            .iter()
            .filter(|s| s.auth.as_ref().is_none_or(|a| a.delay_ms == 0 && !a.reset))
            .collect(),
    )
}

/// [`request_mix`] of the scenarios that run under the configuration `config` (empty when
/// none does).
pub fn config_mix(corpus: &Corpus, config: &str) -> Vec<SendRequest> {
    forwarded_mix(
        corpus
            .scenarios
            .iter()
            .filter(|s| s.auth.as_ref().is_none_or(|a| a.delay_ms == 0 && !a.reset))
            .filter(|s| s.config_name() == config)
            .collect(),
    )
}

/// Of `usable` scenarios, the requests the filter forwards upstream (all of them when it
/// forwards none), as load requests.
pub fn forwarded_mix(usable: Vec<&Scenario>) -> Vec<SendRequest> {
    let forwarded: Vec<&Scenario> = usable
        .iter()
        .copied()
        .filter(|s| s.expect.upstream_reached)
        .collect();
    let chosen = if forwarded.is_empty() {
        usable
    } else {
        forwarded
    };
    chosen
        .into_iter()
        .map(|s| SendRequest {
            method: s.method.clone(),
            path: s.path.clone(),
            headers: s.headers.clone(),
            body: s.body_bytes(),
        })
        .collect()
}

/// Where Envoy and the driver run: Envoy on the last CPU, the driver on the others (when the
/// machine has two or more).
pub fn placement() -> LoadMachine {
    let filterbench_model::results::MachineInfo {
        cpus,
        cpu_model,
        memory_bytes,
    } = filterbench_model::results::MachineInfo::probe();
    let (envoy_cpus, driver_cpus) = if cpus >= 2 {
        (Some(vec![cpus - 1]), Some((0..cpus - 1).collect()))
    } else {
        (None, None)
    };
    LoadMachine {
        cpus,
        cpu_model,
        memory_bytes,
        envoy_cpus,
        driver_cpus,
    }
}

fn kb_field(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system, every thread) of a process, nanoseconds: the kernel's per-process
/// CPU clock, exact to the nanosecond (/proc's tick counts are 10 ms coarse). Falls back to
/// /proc ticks if the clock is unavailable.
pub fn cpu_time_ns(pid: u32) -> u64 {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: clock_getcpuclockid writes one clockid_t; clock_gettime one timespec.
    unsafe {
        if libc::clock_getcpuclockid(pid as libc::pid_t, &mut clock) == 0 {
            let mut ts: libc::timespec = std::mem::zeroed();
            if libc::clock_gettime(clock, &mut ts) == 0 {
                return ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
            }
        }
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some((_, rest)) = stat.rsplit_once(") ") else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    ticks * 1_000_000_000 / hz
}

/// Envoy's memory now.
pub fn memory_of(variant: Variant, envoy: &Envoy) -> VariantMemory {
    let pid = envoy.pid().unwrap_or(0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mut memory = VariantMemory {
        variant,
        rss_bytes: kb_field(&status, "VmRSS:") * 1024,
        peak_rss_bytes: kb_field(&status, "VmHWM:") * 1024,
        allocated_bytes: 0,
        heap_bytes: 0,
        wasm_vms: 0,
    };
    if let Ok((200, body)) = admin_get(envoy.admin, "/memory") {
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&body) {
            let num = |k: &str| {
                json[k]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .or_else(|| json[k].as_u64())
                    .unwrap_or(0)
            };
            memory.allocated_bytes = num("allocated");
            memory.heap_bytes = num("heap_size");
        }
    }
    if let Ok((200, body)) = admin_get(envoy.admin, "/stats?filter=wasm") {
        for line in body.lines() {
            if let Some(v) = line.strip_prefix("wasm.envoy.wasm.runtime.v8.active: ") {
                memory.wasm_vms = v.trim().parse().unwrap_or(0);
            }
        }
    }
    memory
}

struct Running {
    variant: Variant,
    envoy: Envoy,
    addr: std::net::SocketAddr,
    /// What starting it cost, taken as soon as it was ready.
    startup: VariantStartup,
}

/// One Envoy per variant at `workers` worker(s), on the placement's Envoy core(s), listening.
fn start_envoys(
    rig: &Rig,
    name: &str,
    listeners: &[(Variant, ListenerSpec)],
    workers: u32,
    machine: &LoadMachine,
) -> Result<Vec<Running>> {
    let options = EnvoyOptions {
        concurrency: workers,
        component_log_level: "lua:error,wasm:error,dynamic_modules:error".into(),
        cpus: machine.envoy_cpus.clone(),
    };
    let mut running = Vec::new();
    for (variant, spec) in listeners {
        let started = std::time::Instant::now();
        let envoy = Envoy::start(
            &rig.envoy_bin,
            &bootstrap(std::slice::from_ref(spec), rig.services()),
            &options,
        )
        .map_err(|e| {
            Error::Envoy(format!(
                "{name}: the {} Envoy at {workers} worker(s): {e}",
                variant.id()
            ))
        })?;
        let startup = VariantStartup {
            variant: *variant,
            cpu_ns: envoy.pid().map_or(0, cpu_time_ns),
            wall_ns: started.elapsed().as_nanos() as u64,
        };
        let addr = envoy
            .listener(&spec.name)
            .ok_or_else(|| Error::Envoy(format!("no {} listener", spec.name)))?;
        running.push(Running {
            variant: *variant,
            envoy,
            addr,
            startup,
        });
    }
    Ok(running)
}

/// One measured window of one variant, or of every variant at once.
struct Window<'a> {
    rig: &'a Rig,
    mix: &'a [SendRequest],
    connections: usize,
    stop: &'a Arc<AtomicBool>,
    envoy_cpus: usize,
    driver_cpus: usize,
}

impl<'a> Window<'a> {
    fn new(
        rig: &'a Rig,
        mix: &'a [SendRequest],
        connections: usize,
        stop: &'a Arc<AtomicBool>,
        machine: &LoadMachine,
    ) -> Window<'a> {
        let count = |cpus: &Option<Vec<usize>>| cpus.as_ref().map_or(machine.cpus, Vec::len).max(1);
        Window {
            rig,
            mix,
            connections,
            stop,
            envoy_cpus: count(&machine.envoy_cpus),
            driver_cpus: count(&machine.driver_cpus),
        }
    }
}

/// Whether an open-loop window at `rate` fell behind it: fewer than [`BEHIND_SHARE`] of the
/// requests the rate asked for were answered per second of the window.
pub fn fell_behind(mode: Mode, throughput_rps: f64) -> bool {
    match mode {
        Mode::Open { rate } => throughput_rps < BEHIND_SHARE * rate,
        Mode::Closed => false,
    }
}

/// What one variant did in a window, as a sample.
struct Measured {
    variant: Variant,
    load: LoadResult,
    envoy_ns: f64,
}

impl Window<'_> {
    fn spec(&self, addr: std::net::SocketAddr, mode: Mode, secs: f64) -> LoadSpec {
        LoadSpec {
            target: addr,
            requests: self.mix.to_vec(),
            connections: self.connections,
            mode,
            duration: Some(Duration::from_secs_f64(secs)),
            max_requests: None,
            timeout: Duration::from_secs(10),
        }
    }

    fn load(&self, addr: std::net::SocketAddr, mode: Mode, secs: f64) -> Result<LoadResult> {
        Ok(self.rig.rt.block_on(load::run(
            self.spec(addr, mode, secs),
            "filterbench.test",
            self.stop.clone(),
            None::<Arc<AtomicU64>>,
        ))?)
    }

    fn to_sample(
        &self,
        m: Measured,
        mode: Mode,
        wall_ns: f64,
        me_ns: f64,
        round: usize,
        slot: usize,
    ) -> Sample {
        let load = m.load;
        let s = &load.statuses;
        Sample {
            variant: m.variant,
            round,
            slot,
            open_loop: matches!(mode, Mode::Open { .. }),
            secs: load.elapsed_s,
            responses: load.responses,
            throughput_rps: load.throughput_rps,
            p50_us: load.latency_us.p50 as f64,
            p90_us: load.latency_us.p90 as f64,
            p99_us: load.latency_us.p99 as f64,
            errors: load.errors.total(),
            non_2xx: s.s1xx + s.s3xx + s.s4xx + s.s5xx,
            envoy_cpu_us_per_request: m.envoy_ns / 1000.0 / load.responses.max(1) as f64,
            envoy_busy: m.envoy_ns / (wall_ns * self.envoy_cpus as f64),
            driver_busy: me_ns / (wall_ns * self.driver_cpus as f64),
            behind: fell_behind(mode, load.throughput_rps),
        }
    }

    fn sample(
        &self,
        r: &mut Running,
        mode: Mode,
        secs: f64,
        round: usize,
        slot: usize,
    ) -> Result<(Sample, bool)> {
        r.envoy.check_alive()?;
        let pid = r.envoy.pid().unwrap_or(0);
        let envoy_before = cpu_time_ns(pid);
        let me_before = cpu_time_ns(std::process::id());
        let wall = Instant::now();
        let load = self.load(r.addr, mode, secs)?;
        let wall_ns = wall.elapsed().as_nanos().max(1) as f64;
        let envoy_ns = cpu_time_ns(pid).saturating_sub(envoy_before) as f64;
        let me_ns = cpu_time_ns(std::process::id()).saturating_sub(me_before) as f64;
        let partial = load.partial;
        let m = Measured {
            variant: r.variant,
            load,
            envoy_ns,
        };
        Ok((
            self.to_sample(m, mode, wall_ns, me_ns, round, slot),
            partial,
        ))
    }

    /// Runs every load of `specs` at once, each its own generator in one runtime; their results
    /// in the same order.
    fn together(&self, specs: Vec<LoadSpec>) -> Result<Vec<LoadResult>> {
        let stop = self.stop.clone();
        self.rig.rt.block_on(async move {
            let handles: Vec<_> = specs
                .into_iter()
                .map(|spec| {
                    tokio::spawn(load::run(
                        spec,
                        "filterbench.test",
                        stop.clone(),
                        None::<Arc<AtomicU64>>,
                    ))
                })
                .collect();
            let mut out = Vec::new();
            for h in handles {
                let r = h
                    .await
                    .map_err(|e| Error::Envoy(format!("a load generator task failed: {e}")))?;
                out.push(r?);
            }
            Ok::<_, Error>(out)
        })
    }

    /// Warms every variant's Envoy up at once: closed-loop load for `secs` (connections open,
    /// the filters' first requests served, per-worker state created), nothing measured.
    fn warm_up(&self, running: &mut [Running], secs: f64) -> Result<()> {
        for r in running.iter_mut() {
            r.envoy.check_alive()?;
        }
        let specs = running
            .iter()
            .map(|r| self.spec(r.addr, Mode::Closed, secs))
            .collect();
        self.together(specs).map(|_| ())
    }

    /// One simultaneous round: every variant's Envoy driven at `rate` by its own generator, all
    /// started together in one runtime and measured over the same window (each Envoy's CPU clock
    /// read just before the generators start and just after the last one ends).
    fn simultaneous(
        &self,
        running: &mut [Running],
        rate: f64,
        secs: f64,
        round: usize,
    ) -> Result<(Vec<Sample>, bool)> {
        for r in running.iter_mut() {
            r.envoy.check_alive()?;
        }
        let mode = Mode::Open { rate };
        let pids: Vec<u32> = running.iter().map(|r| r.envoy.pid().unwrap_or(0)).collect();
        let specs: Vec<LoadSpec> = running
            .iter()
            .map(|r| self.spec(r.addr, mode, secs))
            .collect();
        let me = std::process::id();
        let before: Vec<u64> = pids.iter().map(|&p| cpu_time_ns(p)).collect();
        let me_before = cpu_time_ns(me);
        let wall = Instant::now();
        let loads = self.together(specs)?;
        let wall_ns = wall.elapsed().as_nanos().max(1) as f64;
        let after: Vec<u64> = pids.iter().map(|&p| cpu_time_ns(p)).collect();
        let me_ns = cpu_time_ns(me).saturating_sub(me_before) as f64;
        let partial = loads.iter().any(|l| l.partial);
        let samples = loads
            .into_iter()
            .zip(running.iter())
            .enumerate()
            .map(|(slot, (load, r))| {
                let m = Measured {
                    variant: r.variant,
                    load,
                    envoy_ns: after[slot].saturating_sub(before[slot]) as f64,
                };
                self.to_sample(m, mode, wall_ns, me_ns, round, slot)
            })
            .collect();
        Ok((samples, partial))
    }

    /// One sequential round: every variant alone in turn, in the round's rotating order.
    fn sequential(
        &self,
        running: &mut [Running],
        variants: &[Variant],
        rate: f64,
        secs: f64,
        round: usize,
        into: &mut Vec<Sample>,
    ) -> Result<bool> {
        for (slot, v) in round_order(variants, round).into_iter().enumerate() {
            let r = running
                .iter_mut()
                .find(|r| r.variant == v)
                .expect("started");
            let (s, partial) = self.sample(r, Mode::Open { rate }, secs, round, slot)?;
            into.push(s);
            if partial {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Runs the comparison. `stop` ends it early (the result is marked partial); `on_progress` is
/// told about each finished round (for progress display). An error once something was measured
/// (Envoy failing to start at 2 workers after the 1-worker rounds, ...) keeps what was measured:
/// the run comes back partial with [`LoadRun::failure`] saying why; an error before anything
/// was measured is returned as the error.
pub fn compare(
    rig: &Rig,
    subject: &Subject,
    plan: &LoadPlan,
    envoy_version: &str,
    stop: Arc<AtomicBool>,
    on_progress: &mut dyn FnMut(&str),
) -> Result<LoadRun> {
    if subject.wasm_module.is_none() && subject.lua_only.is_none() {
        return Err(Error::Envoy(format!(
            "{}: no Wasm module and not marked Lua-only",
            subject.name
        )));
    }
    rig.auth.clear();
    for (token, reply) in &subject.auth {
        rig.auth.script(token, reply.clone());
    }
    let machine = placement();
    let listeners = subject.listeners();
    let variants: Vec<Variant> = listeners.iter().map(|(v, _)| *v).collect();
    let mut run = LoadRun {
        schema_version: LOAD_SCHEMA,
        pair: subject.name.clone(),
        envoy_version: envoy_version.to_string(),
        machine: machine.clone(),
        started_ms: filterbench_model::now_ms(),
        plan: plan.clone(),
        requests_in_mix: subject.mix.len(),
        variants,
        lua_only: subject.lua_only,
        capacity: Vec::new(),
        open_rate_rps: 0.0,
        rounds: Vec::new(),
        stopped: StopReason::Interrupted,
        target_half_width_us: plan.target_half_width_us,
        by_workers: Vec::new(),
        partial: false,
        method: plan.method,
        check_rounds: Vec::new(),
        check_rate_rps: 0.0,
        failure: None,
        config: subject.config_name.clone(),
        extra: Vec::new(),
    };
    match measure(rig, subject, &listeners, &mut run, &stop, on_progress) {
        Ok(()) => Ok(run),
        Err(e) => {
            let measured =
                !run.capacity.is_empty() || !run.rounds.is_empty() || !run.by_workers.is_empty();
            if !measured {
                return Err(e);
            }
            on_progress(&format!(
                "stopped by an error, keeping what was measured: {e}"
            ));
            run.partial = true;
            run.failure = Some(e.to_string());
            if matches!(run.stopped, StopReason::Interrupted) {
                run.stopped = StopReason::Failed;
            }
            Ok(run)
        }
    }
}

/// Adds simultaneous rounds to `run`, a finished simultaneous run of `subject` (the second pass
/// of `all`, [`LoadRun::extra`]): the variants' Envoys are started again at 1 worker and warmed
/// up, then rounds run at the run's own rate, numbered on from its last, until `ended` (asked
/// after each round) says why to stop, `budget_secs` (start-up included) would be overrun by
/// another round, or the plan's maximum of rounds is reached. Once started, the pass is recorded
/// in `run.extra` whatever ends it: an error keeps the rounds before it and ends the pass
/// [`ExtraEnd::Failed`] (the error is returned too). A run that is partial, sequential or of
/// other variants than `subject`'s is refused before anything starts.
#[allow(clippy::too_many_arguments)]
pub fn extend(
    rig: &Rig,
    subject: &Subject,
    run: &mut LoadRun,
    why: ExtraWhy,
    budget_secs: f64,
    stop: Arc<AtomicBool>,
    ended: &mut dyn FnMut(&LoadRun) -> Option<ExtraEnd>,
    on_progress: &mut dyn FnMut(&str),
) -> Result<()> {
    let listeners = subject.listeners();
    let variants: Vec<Variant> = listeners.iter().map(|(v, _)| *v).collect();
    if variants != run.variants || run.method != RoundMethod::Simultaneous || run.partial {
        return Err(Error::Envoy(format!(
            "{}: more rounds need the first pass's variants, simultaneous and complete \
             (the run has {:?}, {}{})",
            subject.name,
            run.variants.iter().map(|v| v.id()).collect::<Vec<_>>(),
            run.method.words(),
            if run.partial { ", partial" } else { "" }
        )));
    }
    let started = Instant::now();
    let mut pass = ExtraPass {
        why,
        rounds: 0,
        secs: 0.0,
        budget_secs,
        ended: ExtraEnd::Failed,
    };
    let result = extra_rounds(
        rig,
        subject,
        run,
        &mut pass,
        started,
        stop,
        ended,
        on_progress,
    );
    pass.secs = started.elapsed().as_secs_f64();
    if result.is_err() {
        pass.ended = ExtraEnd::Failed;
    }
    run.extra.push(pass);
    result
}

#[allow(clippy::too_many_arguments)]
fn extra_rounds(
    rig: &Rig,
    subject: &Subject,
    run: &mut LoadRun,
    pass: &mut ExtraPass,
    started: Instant,
    stop: Arc<AtomicBool>,
    ended: &mut dyn FnMut(&LoadRun) -> Option<ExtraEnd>,
    on_progress: &mut dyn FnMut(&str),
) -> Result<()> {
    rig.auth.clear();
    for (token, reply) in &subject.auth {
        rig.auth.script(token, reply.clone());
    }
    let plan = run.plan.clone();
    let machine = run.machine.clone();
    let window = Window::new(rig, &subject.mix, plan.connections, &stop, &machine);
    let mut running = start_envoys(rig, &subject.name, &subject.listeners(), 1, &machine)?;
    window.warm_up(&mut running, plan.warmup_secs)?;
    let rate = run.open_rate_rps;
    let per_round = plan.round_secs * 1.05;
    let mut round = run.rounds.iter().map(|s| s.round + 1).max().unwrap_or(0);
    let mut no_checks = SelfCheck {
        wanted: 0,
        rate,
        done: 0,
        secs: 0.0,
    };
    loop {
        if started.elapsed().as_secs_f64() + per_round > pass.budget_secs {
            pass.ended = ExtraEnd::Budget;
            return Ok(());
        }
        if run.round_count() >= plan.max_rounds {
            pass.ended = ExtraEnd::MaxRounds;
            return Ok(());
        }
        let interrupted = simultaneous_round(
            &window,
            &mut running,
            run,
            rate,
            round,
            &mut no_checks,
            on_progress,
        )?;
        round += 1;
        pass.rounds += 1;
        if interrupted {
            pass.ended = ExtraEnd::Interrupted;
            return Ok(());
        }
        let has_twin = run.variants.contains(&Variant::WASM);
        let conv = narrowed(&run.rounds, &plan, !has_twin);
        on_progress(&format!(
            "more rounds ({}): {}",
            pass.rounds,
            round_progress(&plan, round, rate, conv, has_twin)
        ));
        if let Some(end) = ended(run) {
            pass.ended = end;
            return Ok(());
        }
    }
}

fn measure(
    rig: &Rig,
    subject: &Subject,
    listeners: &[(Variant, ListenerSpec)],
    run: &mut LoadRun,
    stop: &Arc<AtomicBool>,
    on_progress: &mut dyn FnMut(&str),
) -> Result<()> {
    let plan = run.plan.clone();
    let machine = run.machine.clone();
    let variants = run.variants.clone();
    let window = Window::new(rig, &subject.mix, plan.connections, stop, &machine);
    let mut workers_list = plan.workers.clone();
    // The comparison runs at 1 worker; other counts measure capacity and memory.
    workers_list.sort_unstable();
    workers_list.dedup();
    if !workers_list.contains(&1) {
        workers_list.insert(0, 1);
    }
    for workers in workers_list {
        let mut running = start_envoys(rig, &subject.name, listeners, workers, &machine)?;
        window.warm_up(&mut running, plan.warmup_secs)?;
        // Memory after the same traffic at every worker count (the warm-up), so that the line
        // through the worker counts compares like with like: read after the 1-worker rounds,
        // the 1-worker figure would carry a minute more of traffic than the others.
        let memory: Vec<VariantMemory> = running
            .iter()
            .map(|r| memory_of(r.variant, &r.envoy))
            .collect();
        let mut capacity = Vec::new();
        let capacity_rounds = if capacity_at(workers, window.envoy_cpus) {
            plan.capacity_rounds
        } else {
            0
        };
        for round in 0..capacity_rounds {
            for (slot, v) in round_order(&variants, round).into_iter().enumerate() {
                let r = running
                    .iter_mut()
                    .find(|r| r.variant == v)
                    .expect("started");
                let (s, partial) =
                    window.sample(r, Mode::Closed, plan.capacity_secs, round, slot)?;
                on_progress(&format!(
                    "{workers} worker(s), capacity {}/{}, {}: {:.0} req/s",
                    round + 1,
                    plan.capacity_rounds,
                    v.id(),
                    s.throughput_rps
                ));
                capacity.push(s);
                if partial {
                    run.partial = true;
                }
            }
            if run.partial {
                break;
            }
        }
        if workers == 1 {
            // Kept at once: a later error must not lose it.
            run.capacity = capacity.clone();
        }
        if workers == 1 && !run.partial {
            paired_rounds(&window, &mut running, &capacity, run, on_progress)?;
        }
        run.by_workers.push(WorkersRun {
            workers,
            capacity: if workers == 1 { Vec::new() } else { capacity },
            memory,
            startup: running.iter().map(|r| r.startup).collect(),
        });
        if run.partial {
            run.stopped = StopReason::Interrupted;
            break;
        }
    }
    Ok(())
}

/// Whether closed-loop capacity is measured at `workers` worker(s) when Envoy has `envoy_cpus`
/// CPUs: always at 1 (the comparison's rates come from it); at other counts only when Envoy has
/// more than one CPU, since workers sharing one pinned core cannot serve more than one worker
/// does (there the other worker counts measure memory and start-up only, after a warm-up).
pub fn capacity_at(workers: u32, envoy_cpus: usize) -> bool {
    workers == 1 || envoy_cpus > 1
}

/// Median of `f` over the closed-loop samples of `v`.
fn capacity_median(capacity: &[Sample], v: Variant, f: fn(&Sample) -> f64) -> f64 {
    filterbench_model::stats::median(
        &capacity
            .iter()
            .filter(|s| s.variant == v)
            .map(f)
            .collect::<Vec<_>>(),
    )
}

/// The rate of simultaneous rounds: every variant at this rate together may use `share` of
/// Envoy's `cpus`: `share x cpus / sum over variants of CPU per request at capacity` (each
/// variant's CPU per request measured in its closed-loop capacity rounds). The load generators
/// share their own core(s) too: all of them together are kept to `share` of the fastest
/// variant's closed-loop throughput (a floor of what the driver can send), which only binds when
/// the driver, not Envoy, was the limit at capacity. `None` without a positive CPU and
/// throughput figure for every variant.
pub fn simultaneous_rate(
    capacity: &[Sample],
    variants: &[Variant],
    share: f64,
    cpus: usize,
) -> Option<f64> {
    let mut sum_us = 0.0;
    let mut fastest: f64 = 0.0;
    for v in variants {
        let us = capacity_median(capacity, *v, |s| s.envoy_cpu_us_per_request);
        let rps = capacity_median(capacity, *v, |s| s.throughput_rps);
        if !(us.is_finite() && us > 0.0 && rps.is_finite() && rps > 0.0) {
            return None;
        }
        sum_us += us;
        fastest = fastest.max(rps);
    }
    let envoy_bound = share * cpus as f64 * 1e6 / sum_us;
    let driver_bound = share * fastest / variants.len().max(1) as f64;
    Some(envoy_bound.min(driver_bound).max(1.0))
}

/// Step 2: the paired open-loop rounds, added until the interval is narrow enough.
/// Simultaneous: every round runs all variants at once; the first `plan.check_rounds` of them
/// are each followed by a sequential round (the self-check, at the sequential rate).
fn paired_rounds(
    window: &Window,
    running: &mut [Running],
    capacity: &[Sample],
    run: &mut LoadRun,
    on_progress: &mut dyn FnMut(&str),
) -> Result<()> {
    let plan = run.plan.clone();
    let variants = run.variants.clone();
    let simultaneous = plan.method == RoundMethod::Simultaneous;
    let (rate, sequential_rate) = open_loop_rates(window, capacity, run)?;
    let mut checks = SelfCheck {
        wanted: if simultaneous {
            check_rounds(plan.check_rounds, variants.len()).min(plan.max_rounds)
        } else {
            0
        },
        rate: sequential_rate,
        done: 0,
        secs: 0.0,
    };
    run.open_rate_rps = rate;
    run.method = plan.method;
    if checks.wanted > 0 {
        run.check_rate_rps = sequential_rate;
    }
    let started = Instant::now();
    let has_twin = variants.contains(&Variant::WASM);
    let mut round = 0;
    loop {
        let interrupted = if simultaneous {
            simultaneous_round(window, running, run, rate, round, &mut checks, on_progress)?
        } else {
            window.sequential(
                running,
                &variants,
                rate,
                plan.round_secs,
                round,
                &mut run.rounds,
            )?
        };
        if interrupted {
            run.partial = true;
            run.stopped = StopReason::Interrupted;
            return Ok(());
        }
        round += 1;
        let conv = narrowed(&run.rounds, &plan, !has_twin);
        on_progress(&round_progress(&plan, round, rate, conv, has_twin));
        if round < plan.min_rounds || checks.done < checks.wanted {
            continue;
        }
        if let Some((interval, target)) = conv {
            run.target_half_width_us = target;
            if interval.half_width() <= target {
                run.stopped = StopReason::TargetReached;
                return Ok(());
            }
        }
        if round >= plan.max_rounds {
            run.stopped = StopReason::MaxRounds;
            return Ok(());
        }
        // Another round must fit in the budget (the check rounds are done by now: the next
        // round is a simultaneous one alone).
        let per_round = if simultaneous {
            plan.round_secs * 1.05
        } else {
            started.elapsed().as_secs_f64() / round as f64
        };
        let spent = started.elapsed().as_secs_f64() - checks.secs;
        if plan.budget_secs.is_some_and(|b| spent + per_round > b) {
            run.stopped = StopReason::Budget;
            return Ok(());
        }
    }
}

/// The progress line after a round: its rate and, once there is one, the interval the run
/// narrows (Wasm minus Lua, or Lua minus the baseline without a twin) and its target.
fn round_progress(
    plan: &LoadPlan,
    round: usize,
    rate: f64,
    conv: Option<(filterbench_model::stats::Interval, f64)>,
    has_twin: bool,
) -> String {
    format!(
        "round {round} at {rate:.0} req/s{}, {}{}",
        if plan.method == RoundMethod::Simultaneous {
            " each"
        } else {
            ""
        },
        plan.method.words(),
        conv.map_or(String::new(), |(i, t)| format!(
            ", {} CPU {} us (target ±{t:.1})",
            if has_twin { "Wasm-Lua" } else { "Lua-base" },
            i.signed(1)
        ))
    )
}

/// The open-loop rates from the capacity rounds: the paired rounds' rate (simultaneous: the
/// share of the core all variants together may use; sequential: a fraction of the slowest
/// variant's capacity), and the sequential rate (of the self-check rounds).
fn open_loop_rates(window: &Window, capacity: &[Sample], run: &LoadRun) -> Result<(f64, f64)> {
    let plan = &run.plan;
    let slowest = run
        .variants
        .iter()
        .map(|v| capacity_median(capacity, *v, |s| s.throughput_rps))
        .fold(f64::INFINITY, f64::min);
    if !(slowest.is_finite() && slowest > 0.0) {
        return Err(Error::Envoy(format!(
            "{}: no capacity measured (every closed-loop round failed)",
            run.pair
        )));
    }
    let sequential_rate = (slowest * plan.rate_fraction).max(1.0);
    if plan.method != RoundMethod::Simultaneous {
        return Ok((sequential_rate, sequential_rate));
    }
    let rate = simultaneous_rate(
        capacity,
        &run.variants,
        plan.rate_fraction,
        window.envoy_cpus,
    )
    .ok_or_else(|| {
        Error::Envoy(format!(
            "{}: no CPU per request measured at capacity for every variant",
            run.pair
        ))
    })?;
    Ok((rate, sequential_rate))
}

/// The sequential self-check rounds of a simultaneous run: how many are wanted, at which rate,
/// how many are done, and the seconds they took (not charged to the budget: the budget buys
/// simultaneous rounds, the verdict's, whatever the number of variants makes the check cost).
struct SelfCheck {
    wanted: usize,
    rate: f64,
    done: usize,
    secs: f64,
}

/// One simultaneous round (every variant at once, rounds where one fell behind said), followed
/// by a sequential check round while the check wants more. True when interrupted.
fn simultaneous_round(
    window: &Window,
    running: &mut [Running],
    run: &mut LoadRun,
    rate: f64,
    round: usize,
    checks: &mut SelfCheck,
    on_progress: &mut dyn FnMut(&str),
) -> Result<bool> {
    let round_secs = run.plan.round_secs;
    let (samples, partial) = window.simultaneous(running, rate, round_secs, round)?;
    let behind: Vec<&str> = samples
        .iter()
        .filter(|s| s.behind)
        .map(|s| s.variant.id())
        .collect();
    if !behind.is_empty() {
        on_progress(&format!(
            "round {} flagged and left out: {} behind {rate:.0} req/s",
            round + 1,
            behind.join(", ")
        ));
    }
    run.rounds.extend(samples);
    if partial || checks.done >= checks.wanted {
        return Ok(partial);
    }
    let check_started = Instant::now();
    let variants = run.variants.clone();
    let interrupted = window.sequential(
        running,
        &variants,
        checks.rate,
        round_secs,
        checks.done,
        &mut run.check_rounds,
    )?;
    checks.secs += check_started.elapsed().as_secs_f64();
    checks.done += 1;
    Ok(interrupted)
}

/// The sequential self-check rounds for `variants` variants: `wanted` (the policy's minimum of
/// rounds) with three variants, fewer with more, so that the check costs about the same
/// variant-seconds whatever the number of twins (each sequential round runs every variant alone,
/// one after the other); never fewer than 2, the least a paired interval needs.
pub fn check_rounds(wanted: usize, variants: usize) -> usize {
    (wanted * 3 / variants.max(1)).clamp(2.min(wanted), wanted)
}

/// Pins the calling thread (and the threads it spawns afterwards) to these CPUs.
pub fn pin_current_thread(cpus: &[usize]) {
    pin_thread(0, cpus);
}

/// Pins every thread of this process (those running already, such as the loopback services'
/// runtime, and those spawned afterwards by them) to these CPUs.
pub fn pin_process(cpus: &[usize]) {
    pin_current_thread(cpus);
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) {
                pin_thread(tid, cpus);
            }
        }
    }
}

fn pin_thread(tid: libc::pid_t, cpus: &[usize]) {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET only writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinning_the_process_pins_threads_that_were_running_already() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::spawn(move || {
            rx.recv().unwrap();
            // SAFETY: a zeroed cpu_set_t is valid; sched_getaffinity fills it.
            let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
            let count = unsafe { libc::CPU_COUNT(&set) };
            let on_0 = unsafe { libc::CPU_ISSET(0, &set) };
            done_tx.send(()).unwrap();
            (count, on_0)
        });
        pin_process(&[0]);
        tx.send(()).unwrap();
        done_rx.recv().unwrap();
        let (count, on_0) = worker.join().unwrap();
        // Every thread of the test binary back on every CPU.
        pin_process(&(0..libc::CPU_SETSIZE as usize).collect::<Vec<_>>());
        assert_eq!((count, on_0), (1, true));
    }

    #[test]
    fn the_self_check_costs_about_the_same_whatever_the_number_of_twins() {
        assert_eq!(check_rounds(6, 3), 6);
        assert_eq!(check_rounds(6, 4), 4);
        assert_eq!(check_rounds(6, 5), 3);
        assert_eq!(check_rounds(6, 9), 2);
        assert_eq!(check_rounds(6, 2), 6);
        assert_eq!(check_rounds(2, 5), 2);
    }

    #[test]
    fn a_configurations_mix_is_the_forwarded_requests_recorded_under_it() {
        let corpus = Corpus::parse(
            Path::new("strip.toml"),
            "strip",
            "pair = \"strip\"\n\
             [[scenario]]\nname = \"web\"\npath = \"/web\"\n\
             [scenario.expect]\nstatus = 200\nupstream_reached = true\n\
             [[scenario]]\nname = \"admin\"\nconfig = \"admin\"\npath = \"/admin\"\n\
             [scenario.expect]\nstatus = 200\nupstream_reached = true\n\
             [[scenario]]\nname = \"denied\"\nconfig = \"admin\"\npath = \"/no\"\n\
             [scenario.expect]\nstatus = 403\nupstream_reached = false\n",
        )
        .unwrap();
        let paths = |mix: Vec<SendRequest>| mix.into_iter().map(|r| r.path).collect::<Vec<_>>();
        assert_eq!(paths(config_mix(&corpus, "default")), ["/web"]);
        // The denied request is left out, as in every mix.
        assert_eq!(paths(config_mix(&corpus, "admin")), ["/admin"]);
        assert!(config_mix(&corpus, "other").is_empty());
        assert_eq!(paths(request_mix(&corpus)), ["/web", "/admin"]);
    }

    #[test]
    fn the_cpu_clock_of_this_process_advances_with_work() {
        let me = std::process::id();
        let before = cpu_time_ns(me);
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(cpu_time_ns(me) > before);
    }
}
