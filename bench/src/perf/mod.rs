//! The in-process benchmarks: Lua vs Wasm on every pair, the five operations of the widely
//! quoted Lua-vs-Wasm table, VM start-up, VM memory, and the harness's own cost. [`run`] (what
//! `cargo bench` and `filterbench bench --profile quick|default|full` call) writes
//! `reports/results/bench/summary.json`. The pairs are the catalogue's it is given: the built-in
//! ones, or with `filterbench --workspace DIR bench` the workspace's (whose summary goes to
//! `DIR/reports/results/bench/summary.json`).
//!
//! Where each number comes from:
//! - per request (every pair, and the pass-through `baseline`) and per operation: the paired
//!   measurement ([`paired`]): Lua and Wasm interleaved in alternating batches (ABBA), the ratio
//!   Wasm/Lua and the difference per round, medians with 95% bootstrap intervals. Criterion
//!   measures Lua and Wasm one after the other, so a noisy phase lands on one side only; its
//!   groups `<pair>`, `baseline` and `op_<op>` still run in the `default` and `full` profiles for
//!   its HTML report (under `<target>/criterion/report/`), but no summary number comes from them;
//! - instructions per request and per operation: callgrind ([`callgrind`]), when valgrind is
//!   installed;
//! - start-up: criterion group `startup` (ids `lua_load/<pair>`, `wasm_compile/<pair>`,
//!   `wasm_instantiate/<pair>`), in every profile;
//! - memory, once per pair (not timed): a fresh VM after start, and after 10,000 requests of the
//!   pair's scenario (Lua after a full garbage collection, so growth means live data; Wasm linear
//!   memory, which never shrinks).
//!
//! Lua runs with the JIT on: bench VMs have no instruction budget ([`UNLIMITED_INSTRUCTIONS`]),
//! because the budget's count hook turns LuaJIT's JIT off. Wasm runs on wasmtime with Cranelift
//! at `OptLevel::Speed` with no fuel metering ([`Metering::Off`]): neither side pays for a
//! loop guard Envoy does not have. Wasmtime's Cranelift is not Envoy's V8: the real-Envoy load
//! comparison is where V8's numbers come from.
//!
//! [`UNLIMITED_INSTRUCTIONS`]: crate::harness::lua::UNLIMITED_INSTRUCTIONS

pub mod callgrind;
pub mod ops;
pub mod paired;
mod report;
pub mod subjects;

pub use report::table;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use filterbench_model::results::{self, BenchSummary, MemoryBench};

use crate::harness::driver::{twin_module, LoadedPair, Side};
use crate::harness::lua::{LuaFilter, LuaVm};
use crate::harness::wasm::{Metering, WasmFilter, WasmVm};
use crate::harness::{FilterError, FilterVm};
use filterbench_model::catalogue::Catalogue;
use filterbench_model::corpus::Corpus;
use filterbench_model::TwinKind;

pub(crate) use self::paired::{Measured, PairedResults};
use self::subjects::{GuestPair, PairSubjects, Subject};

/// Requests run before the second memory reading.
pub const MEMORY_REQUESTS: u64 = 10_000;

/// Why a benchmark could not run. Each names the bench, filter or file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Project(#[from] filterbench_model::Error),
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// A set-up check failed (the timed request would not do what it should).
    #[error("bench {bench}: {message}")]
    Check { bench: String, message: String },
    /// Criterion's estimates could not be read.
    #[error("{path}: {message}")]
    Estimates { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unknown bench profile {0:?} (known: quick, default, full)")]
    Profile(String),
}

/// How long and how tightly to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// For `filterbench all`: about 3 minutes in all, no criterion plots.
    Quick,
    /// What `cargo bench` runs: under 10 minutes on a 2-core machine.
    Default,
    /// Longer and tighter.
    Full,
}

/// Criterion settings of a profile.
#[derive(Debug, Clone, Copy)]
struct Settings {
    warm_up: Duration,
    measurement: Duration,
    samples: usize,
    resamples: usize,
    plots: bool,
    /// Measurement time of a module compile (tens to hundreds of ms each, flat sampling).
    compile_measurement: Duration,
    /// Whether the Go Wasm twins' compile is timed: about 1.5 s a module here (each embeds the
    /// Go runtime), and criterion needs at least 10 compiles of each, so not in `quick`.
    go_compile: bool,
    /// The paired measurement (the summary's per-request and per-op numbers).
    paired: paired::Settings,
    /// Whether criterion also times the pairs, the baseline and the ops (for its HTML only).
    criterion_pairs: bool,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Quick => "quick",
            Profile::Default => "default",
            Profile::Full => "full",
        }
    }

    /// `FILTERBENCH_BENCH_PROFILE`, `default` when unset.
    pub fn from_env() -> Result<Profile, Error> {
        match std::env::var("FILTERBENCH_BENCH_PROFILE") {
            Ok(name) => name.parse(),
            Err(_) => Ok(Profile::Default),
        }
    }

    fn settings(self) -> Settings {
        let s = |warm_ms, measure_ms, samples, resamples, plots, compile_ms| Settings {
            warm_up: Duration::from_millis(warm_ms),
            measurement: Duration::from_millis(measure_ms),
            samples,
            resamples,
            plots,
            compile_measurement: Duration::from_millis(compile_ms),
            go_compile: plots,
            paired: paired::Settings {
                warm_up: Duration::from_millis(30),
                batch_target: Duration::from_millis(1),
                rounds: 192,
                blocks: 8,
                resamples: 2_000,
            },
            criterion_pairs: plots,
        };
        let p = |warm_ms, batch_ms, rounds, blocks, resamples| paired::Settings {
            warm_up: Duration::from_millis(warm_ms),
            batch_target: Duration::from_millis(batch_ms),
            rounds,
            blocks,
            resamples,
        };
        match self {
            // Calibrated on 2 noisy cores. Quick: criterion only for start-up (its per-request
            // numbers are not used), so the paired rounds and callgrind fit the same budget; no
            // Go compile timing (about 3 minutes for 12 pairs).
            Profile::Quick => s(200, 700, 15, 10_000, false, 700),
            Profile::Default => Settings {
                paired: p(50, 2, 400, 10, 10_000),
                ..s(500, 2000, 30, 50_000, true, 2000)
            },
            Profile::Full => Settings {
                paired: p(200, 2, 2_000, 20, 20_000),
                ..s(3000, 10_000, 100, 100_000, true, 10_000)
            },
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = Error;

    fn from_str(s: &str) -> Result<Profile, Error> {
        match s {
            "quick" => Ok(Profile::Quick),
            "default" => Ok(Profile::Default),
            "full" => Ok(Profile::Full),
            other => Err(Error::Profile(other.to_string())),
        }
    }
}

/// Where criterion writes: `CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else
/// `<project>/target/criterion`.
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| filterbench_model::project_root().join("target"));
    target.join("criterion")
}

/// Everything the benches use, loaded and checked (every timed request is run once and its
/// outcome checked before any timing starts).
pub(crate) struct Plan {
    catalogue: Catalogue,
    pairs: Vec<PairSubjects>,
    passthrough: GuestPair,
    ops: GuestPair,
    /// The Go Wasm twins of the catalogue that are not measured, one line each saying why.
    go_not_measured: Vec<String>,
    /// Whether callgrind counts the Go Wasm twins too: not in the quick profile (`all`), where
    /// compiling them again for valgrind's CPU and starting Go's runtime under valgrind would
    /// add about 37 s (measured: callgrind 22 s without Go, 59 s with it).
    callgrind_go: bool,
}

impl Plan {
    fn load(catalogue: &Catalogue, only_pair: Option<&str>) -> Result<Plan, Error> {
        Plan::load_with(catalogue, only_pair, None)
    }

    /// [`Plan::load`], the Wasm modules taken from `precompiled` instead of compiled (the
    /// callgrind child).
    fn load_with(
        catalogue: &Catalogue,
        only_pair: Option<&str>,
        precompiled: Option<&callgrind::Precompiled>,
    ) -> Result<Plan, Error> {
        // The guests are the project's; the pairs the catalogue's (the built-in pairs, or a
        // workspace's).
        let root = filterbench_model::project_root();
        let mut pairs = Vec::new();
        let mut go_not_measured = Vec::new();
        for pair in catalogue.select(only_pair)? {
            let loaded = match precompiled {
                None => LoadedPair::load_with(catalogue, pair, Metering::Off)?,
                Some(pre) => {
                    let lua_path = catalogue.lua_path(&pair.name);
                    let source = catalogue.lua_source(&pair.name)?;
                    let lua = LuaFilter::load(&pair.name, &source)
                        .map_err(|e| filterbench_model::Error::invalid(&lua_path, e.to_string()))?;
                    LoadedPair {
                        pair: pair.clone(),
                        lua,
                        wasm: pre.load(&pair.name)?,
                        twin: TwinKind::Wasm,
                    }
                }
            };
            let go = match precompiled {
                None => go_twin(catalogue, &pair.name, &mut go_not_measured)?,
                Some(pre) => pre.load_go(&pair.name)?,
            };
            let corpus = Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name)?;
            pairs.push(PairSubjects::new(loaded, go, corpus)?);
        }
        let passthrough = GuestPair::load_with(
            &root,
            subjects::PASSTHROUGH_LUA,
            subjects::PASSTHROUGH_WASM,
            precompiled,
        )?;
        let ops = GuestPair::load_with(&root, subjects::OPS_LUA, subjects::OPS_WASM, precompiled)?;
        Ok(Plan {
            catalogue: catalogue.clone(),
            pairs,
            passthrough,
            ops,
            go_not_measured,
            callgrind_go: true,
        })
    }

    /// The pairs measured with a Go Wasm twin.
    fn go_pairs(&self) -> usize {
        self.pairs.iter().filter(|p| p.go.is_some()).count()
    }

    fn passthrough_subject(&self, side: Side) -> Result<Subject, Error> {
        let mut s = self.passthrough.subject(
            "baseline",
            side,
            serde_json::json!({}),
            subjects::plain_request(),
        )?;
        subjects::check_passthrough(&mut s)?;
        Ok(s)
    }

    fn op_subject(&self, op: &ops::Op, side: Side, n: u32) -> Result<Subject, Error> {
        let mut s = self.ops.subject(
            &format!("op_{}/{n}", op.id),
            side,
            ops::config(op, n),
            subjects::plain_request(),
        )?;
        subjects::check_op(&mut s, op, n)?;
        Ok(s)
    }
}

const SIDES: [Side; 2] = [Side::Lua, Side::Wasm];

/// The Go Wasm twin of pair `name` compiled without metering, when the catalogue has one. One
/// that is not built (the build had no Go toolchain, and said so) is not measured: a line in
/// `not_measured` and a warning say why. Any other problem with it is an error.
fn go_twin(
    catalogue: &Catalogue,
    name: &str,
    not_measured: &mut Vec<String>,
) -> Result<Option<WasmFilter>, Error> {
    let Some(twin) = catalogue.twin(name, TwinKind::GoWasm) else {
        return Ok(None);
    };
    if twin.source.is_some() && !twin.artefact.exists() {
        // Said without the machine's paths: the line reaches the report's pages.
        let line = format!(
            "{name}: the Go Wasm twin is not built from {}/{name} (the build had no Go \
             toolchain, or failed, and said why)",
            TwinKind::GoWasm.source_folder()
        );
        eprintln!(
            "warning: not measured: {line}; missing {}",
            twin.artefact.display()
        );
        not_measured.push(line);
        return Ok(None);
    }
    let (path, bytes) = twin_module(catalogue, name, TwinKind::GoWasm)?;
    let go = WasmFilter::compile_with(name, &bytes, Metering::Off)
        .map_err(|e| filterbench_model::Error::invalid(&path, e.to_string()))?;
    Ok(Some(go))
}

/// Times one subject in `group` under `id`.
fn bench_subject<M: criterion::measurement::Measurement<Value = Duration>>(
    group: &mut BenchmarkGroup<'_, M>,
    id: BenchmarkId,
    subject: &mut Subject,
) {
    group.bench_function(id, |b| {
        b.iter(|| {
            black_box(subject.request_or_panic());
        })
    });
}

/// Runs every benchmark (all pairs, or only `only_pair`; the baseline, the ops and their
/// summary always run), then writes `reports/results/bench/summary.json` and returns it.
pub fn run(
    catalogue: &Catalogue,
    profile: Profile,
    only_pair: Option<&str>,
) -> Result<BenchSummary, Error> {
    let settings = profile.settings();
    let mut plan = Plan::load(catalogue, only_pair)?;
    plan.callgrind_go = profile != Profile::Quick;
    let out = criterion_dir();
    let mut c = Criterion::default()
        .output_directory(&out)
        .warm_up_time(settings.warm_up)
        .measurement_time(settings.measurement)
        .sample_size(settings.samples)
        .nresamples(settings.resamples);
    if !settings.plots {
        c = c.without_plots();
    }

    let phase = Instant::now();
    println!(
        "paired measurement: {} rounds in {} blocks of ~{} us batches per arm",
        settings.paired.rounds,
        settings.paired.blocks,
        settings.paired.batch_target.as_micros()
    );
    let paired = paired::run_phase(&plan, &settings.paired)?;
    println!(
        "paired measurement took {:.1} s",
        phase.elapsed().as_secs_f64()
    );

    if settings.criterion_pairs {
        criterion_pairs(&mut c, &plan)?;
    }
    let memory = startup_and_memory(&mut c, &plan, &settings)?;
    let (callgrind_run, counts) = instructions(&plan, only_pair)?;

    let summary = report::summary(
        &out,
        profile,
        &settings.paired,
        &plan,
        &paired,
        memory,
        callgrind_run,
        &counts,
    )?;
    let path = results::bench_summary_path(&catalogue.results_dir());
    results::write_json_atomically(&path, &summary).map_err(|source| Error::Write {
        path: path.clone(),
        source,
    })?;
    println!("{}", table(&summary));
    println!("summary written to {}", path.display());
    Ok(summary)
}

/// Criterion's start-up benches of every pair, and each pair's VM memory after
/// `MEMORY_REQUESTS` requests.
fn startup_and_memory(
    c: &mut Criterion,
    plan: &Plan,
    settings: &Settings,
) -> Result<Vec<MemoryBench>, Error> {
    let phase = Instant::now();

    {
        let mut group = c.benchmark_group("startup");
        for p in &plan.pairs {
            startup_benches(&mut group, &plan.catalogue, p, settings)?;
        }
        group.finish();
    }

    let memory = plan
        .pairs
        .iter()
        .map(|p| memory(p, MEMORY_REQUESTS))
        .collect::<Result<Vec<_>, _>>()?;
    c.final_summary();
    println!(
        "criterion (start-up) and memory took {:.1} s",
        phase.elapsed().as_secs_f64()
    );
    Ok(memory)
}

/// The instruction counts under callgrind (a warning, and no counts, when valgrind cannot run).
fn instructions(
    plan: &Plan,
    only_pair: Option<&str>,
) -> Result<(results::CallgrindRun, callgrind::Counts), Error> {
    println!("counting instructions under callgrind ...");
    let phase = Instant::now();
    let exe = std::env::current_exe().map_err(|source| Error::Write {
        path: PathBuf::from("/proc/self/exe"),
        source,
    })?;
    let (callgrind_run, counts) = callgrind::count(&exe, plan, only_pair);
    if !callgrind_run.counted {
        eprintln!("warning: {}", callgrind_run.note);
    }
    println!("callgrind took {:.1} s", phase.elapsed().as_secs_f64());
    Ok((callgrind_run, counts))
}

/// Criterion's own timing of the baseline, the pairs and the ops (its HTML report; the summary
/// does not use these numbers).
fn criterion_pairs(c: &mut Criterion, plan: &Plan) -> Result<(), Error> {
    {
        let mut subjects = SIDES
            .iter()
            .map(|&side| plan.passthrough_subject(side))
            .collect::<Result<Vec<_>, _>>()?;
        let mut group = c.benchmark_group("baseline");
        for (side, s) in SIDES.iter().zip(&mut subjects) {
            bench_subject(&mut group, BenchmarkId::from_parameter(side.name()), s);
        }
        group.finish();
        for s in &mut subjects {
            subjects::check_passthrough(s)?;
        }
    }
    for p in &plan.pairs {
        let name = &p.loaded.pair.name;
        let mut arms = p.arms()?;
        let mut group = c.benchmark_group(name.as_str());
        if p.body_len() > 0 {
            group.throughput(Throughput::Bytes(p.body_len() as u64));
        }
        for arm in &mut arms {
            // `lua`, `wasm`, `go`: the arm's name, after the pair's.
            let id = BenchmarkId::from_parameter(arm.arm().to_string());
            bench_subject(&mut group, id, arm);
        }
        group.finish();
        p.recheck(&mut arms)?;
    }
    for op in &ops::OPS {
        let mut group = c.benchmark_group(format!("op_{}", op.id));
        for side in SIDES {
            for n in [0, op.n] {
                let mut s = plan.op_subject(op, side, n)?;
                bench_subject(&mut group, BenchmarkId::new(side.name(), n), &mut s);
                subjects::check_op(&mut s, op, n)?;
            }
        }
        group.finish();
    }
    Ok(())
}

/// Times `f` per call, excluding the drop of what it returns (a whole VM).
fn time_each<T>(iters: u64, mut f: impl FnMut() -> T) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        let made = black_box(f());
        total += start.elapsed();
        drop(made);
    }
    total
}

fn startup_benches<M: criterion::measurement::Measurement<Value = Duration>>(
    group: &mut BenchmarkGroup<'_, M>,
    catalogue: &Catalogue,
    p: &PairSubjects,
    settings: &Settings,
) -> Result<(), Error> {
    let name = p.loaded.pair.name.as_str();
    let env = subjects::bench_env(p.loaded.pair.config_json());
    let lua = &p.loaded.lua;
    // The Wasm twins: criterion id prefix (`wasm_compile`, `go_instantiate`, ...), filter and
    // module bytes.
    // (`None`: the compile is not timed in this profile.)
    let mut twins = vec![("wasm", &p.loaded.wasm, Some(catalogue.wasm_module(name)?))];
    if let Some(go) = &p.go {
        let bytes = settings
            .go_compile
            .then(|| twin_module(catalogue, name, TwinKind::GoWasm))
            .transpose()?;
        twins.push((subjects::GO, go, bytes.map(|(_, bytes)| bytes)));
    }
    // Every body is run once untimed first, so a failure is an error here, not a panic inside
    // criterion.
    lua.vm(env.clone())?;
    for (_, filter, bytes) in &twins {
        filter.vm(env.clone())?;
        if let Some(bytes) = bytes {
            WasmFilter::compile_with(name, bytes, Metering::Off)?;
        }
    }

    group.sampling_mode(SamplingMode::Auto);
    group.measurement_time(settings.measurement);
    group.sample_size(settings.samples);
    group.bench_function(BenchmarkId::new("lua_load", name), |b| {
        b.iter_custom(|iters| time_each(iters, || lua.vm(env.clone()).expect("checked above")))
    });
    for (twin, filter, _) in &twins {
        group.bench_function(BenchmarkId::new(format!("{twin}_instantiate"), name), |b| {
            b.iter_custom(|iters| {
                time_each(iters, || filter.vm(env.clone()).expect("checked above"))
            })
        });
    }
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(settings.compile_measurement);
    for (twin, bytes) in twins.iter().filter_map(|(t, _, b)| Some((t, b.as_ref()?))) {
        group.bench_function(BenchmarkId::new(format!("{twin}_compile"), name), |b| {
            b.iter_custom(|iters| {
                time_each(iters, || {
                    WasmFilter::compile_with(name, bytes, Metering::Off).expect("checked above")
                })
            })
        });
    }
    group.sampling_mode(SamplingMode::Auto);
    group.measurement_time(settings.measurement);
    group.sample_size(settings.samples);
    Ok(())
}

/// Memory of a fresh VM of each twin, and after `requests` requests of the pair's scenario.
pub fn memory(p: &PairSubjects, requests: u64) -> Result<MemoryBench, Error> {
    let env = subjects::bench_env(p.loaded.pair.config_json());
    let mut lua_env = subjects::scenario_env(&p.loaded, &p.corpus, &p.scenario);
    lua_env.clock = env.clock.clone();
    lua_env.limits = env.limits;
    let wasm_env = lua_env.clone();
    let go_env = lua_env.clone();
    let exchange = crate::harness::Exchange::from_scenario(&p.scenario);
    let step = p.loaded.pair.config_json()["window_seconds"].as_u64();

    let mut lua: LuaVm = p.loaded.lua.vm(lua_env.clone())?;
    let lua_used = |vm: &LuaVm| -> u64 {
        // A full collection (twice: finalisers) so that the reading is live data, not garbage.
        let _ = vm.lua().gc_collect();
        let _ = vm.lua().gc_collect();
        vm.memory_bytes() as u64
    };
    let lua_after_start_bytes = lua_used(&lua);
    let mut wasm: WasmVm = p.loaded.wasm.vm(wasm_env.clone())?;
    let wasm_after_start_bytes = wasm.memory_bytes() as u64;
    let mut go: Option<WasmVm> = p.go.as_ref().map(|f| f.vm(go_env.clone())).transpose()?;
    let go_after_start_bytes = go.as_ref().map(|vm| vm.memory_bytes() as u64);
    let mut vms: Vec<(&mut dyn FilterVm, &crate::harness::Env)> = vec![
        (&mut lua as &mut dyn FilterVm, &lua_env),
        (&mut wasm as &mut dyn FilterVm, &wasm_env),
    ];
    if let Some(go) = go.as_mut() {
        vms.push((go as &mut dyn FilterVm, &go_env));
    }
    for (vm, env) in vms {
        for _ in 0..requests {
            if let Some(s) = step {
                env.clock.advance(Duration::from_secs(s));
            }
            vm.run(&exchange)?;
            let mut logs = env.logs.lock().unwrap();
            if logs.len() >= subjects::LOG_TRIM {
                logs.clear();
            }
        }
    }
    Ok(MemoryBench {
        pair: p.loaded.pair.name.clone(),
        requests,
        lua_after_start_bytes,
        lua_after_requests_bytes: lua_used(&lua),
        wasm_after_start_bytes,
        wasm_after_requests_bytes: wasm.memory_bytes() as u64,
        go_after_start_bytes,
        go_after_requests_bytes: go.as_ref().map(|vm| vm.memory_bytes() as u64),
    })
}

/// Every benchmark body once, untimed, with its checks (what `cargo test` and a bench binary in
/// test mode run): the pairs (all, or only `only_pair`), the baseline, the ops (with and
/// without repetitions), the start-up bodies, a short memory run, two rounds of the paired
/// measurement's code (nothing is judged on its times) and the callgrind child's loop without
/// valgrind. Writes nothing.
pub fn smoke(
    catalogue: &Catalogue,
    only_pair: Option<&str>,
    memory_requests: u64,
) -> Result<Vec<MemoryBench>, Error> {
    let plan = Plan::load(catalogue, only_pair)?;
    let two_rounds = paired::Settings {
        warm_up: Duration::ZERO,
        batch_target: Duration::ZERO,
        rounds: 2,
        blocks: 1,
        resamples: 10,
    };
    paired::run_phase(&plan, &two_rounds)?;
    let labels = callgrind::run_subjects(&plan, 1, 1, 2)?;
    let expected = 2 * (1 + plan.pairs.len() + 2 * ops::OPS.len()) + plan.go_pairs();
    if labels.len() != expected {
        return Err(Error::Check {
            bench: "callgrind".into(),
            message: format!("{} counted subjects, expected {expected}", labels.len()),
        });
    }
    for side in SIDES {
        let mut s = plan.passthrough_subject(side)?;
        black_box(s.request()?);
        for op in &ops::OPS {
            for n in [0, op.n] {
                let mut s = plan.op_subject(op, side, n)?;
                black_box(s.request()?);
            }
        }
    }
    let mut memories = Vec::new();
    for p in &plan.pairs {
        let mut arms = p.arms()?;
        for arm in &mut arms {
            black_box(arm.request()?);
        }
        p.recheck(&mut arms)?;
        let env = subjects::bench_env(p.loaded.pair.config_json());
        p.loaded.lua.vm(env.clone())?;
        p.loaded.wasm.vm(env.clone())?;
        if let Some(go) = &p.go {
            go.vm(env)?;
        }
        memories.push(memory(p, memory_requests)?);
    }
    Ok(memories)
}
