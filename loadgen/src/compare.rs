//! The compare runner: for one pair, a baseline Envoy (router only), a Lua Envoy and a Wasm
//! Envoy (V8), each on its own listener and process, driven by the load generator with the pair's
//! scenario mix in interleaved rounds (base, lua, wasm, base, lua, wasm, ...), so drift hits every
//! variant alike; medians of rounds and ratios to the baseline; Envoy CPU time per request from
//! /proc; memory from /proc (RSS, peak), the allocator (admin `/memory`) and the Wasm VM count
//! (admin `/stats`); all of it for each Envoy worker count asked (1, 2, 4 by default).
//!
//! Envoy and the load generator are pinned to different cores when the machine has more than one.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use filterbench_bench::corpus::{Corpus, Scenario};
use filterbench_bench::{Catalogue, Pair};

use crate::bootstrap::{bootstrap, ListenerSpec, Variant};
use crate::client::SendRequest;
use crate::envoy::{admin_get, Envoy, EnvoyOptions};
use crate::load::{self, LoadResult, LoadSpec, Mode};
use crate::verify::Rig;
use crate::{Error, Result};

/// The version of [`CompareResult`]'s JSON shape.
pub const COMPARE_SCHEMA: u32 = filterbench_reports::results::LOAD_SCHEMA;

/// What to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompareSpec {
    /// Envoy worker counts (`--concurrency`) to measure.
    pub workers: Vec<u32>,
    /// Interleaved rounds per variant.
    pub rounds: usize,
    /// Length of one round.
    pub round_secs: f64,
    /// Warm-up per variant before the rounds.
    pub warmup_secs: f64,
    pub connections: usize,
    pub mode: Mode,
}

impl Default for CompareSpec {
    fn default() -> Self {
        CompareSpec {
            workers: vec![1, 2, 4],
            rounds: 3,
            round_secs: 3.0,
            warmup_secs: 1.0,
            connections: 16,
            mode: Mode::Closed,
        }
    }
}

/// Envoy's memory as seen from outside and from its allocator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
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

/// One round of one variant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Round {
    pub variant: String,
    pub round: usize,
    pub load: LoadResult,
    /// Envoy CPU time (user + system) per response, microseconds.
    pub envoy_cpu_us_per_request: f64,
}

/// Medians over a variant's rounds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VariantSummary {
    pub variant: String,
    pub throughput_rps: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    pub envoy_cpu_us_per_request: f64,
    pub errors: u64,
    pub non_2xx: u64,
    pub memory: Memory,
}

/// The runs at one worker count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkersResult {
    pub workers: u32,
    pub variants: Vec<VariantSummary>,
    pub rounds: Vec<Round>,
}

/// The result of a compare run; what the reports read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompareResult {
    pub schema_version: u32,
    pub pair: String,
    pub envoy_version: String,
    pub machine: Machine,
    pub started_ms: u64,
    pub spec: CompareSpec,
    pub requests_in_mix: usize,
    pub by_workers: Vec<WorkersResult>,
    /// True when stopped early (Ctrl-C).
    pub partial: bool,
}

/// Where the numbers came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_bytes: u64,
    pub envoy_cpus: Option<Vec<usize>>,
    pub loadgen_cpus: Option<Vec<usize>>,
}

impl Machine {
    pub fn probe() -> Machine {
        let filterbench_reports::results::MachineInfo {
            cpus,
            cpu_model,
            memory_bytes,
        } = filterbench_reports::results::MachineInfo::probe();
        let (envoy_cpus, loadgen_cpus) = if cpus >= 2 {
            (Some(vec![cpus - 1]), Some((0..cpus - 1).collect()))
        } else {
            (None, None)
        };
        Machine {
            cpus,
            cpu_model,
            memory_bytes,
            envoy_cpus,
            loadgen_cpus,
        }
    }
}

fn kb_field(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// User + system CPU time of a process, microseconds.
pub fn cpu_time_us(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some((_, rest)) = stat.rsplit_once(") ") else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state(0) ... utime is field 14 of the line, i.e. index 11 here.
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    ticks * 1_000_000 / hz
}

/// Envoy's memory now.
pub fn memory_of(envoy: &Envoy) -> Memory {
    let pid = envoy.pid().unwrap_or(0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mut memory = Memory {
        rss_bytes: kb_field(&status, "VmRSS:") * 1024,
        peak_rss_bytes: kb_field(&status, "VmHWM:") * 1024,
        ..Memory::default()
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

/// The request mix of a pair: the requests its filter lets through to the upstream, so that the
/// baseline (which forwards everything) does the same upstream work and the difference between
/// the variants is the filter's own cost (a mix with denied requests would make an auth filter
/// look faster than no filter at all: a local 403 is cheaper than a trip upstream). Scenarios
/// that only exist to make the auth service slow or drop the connection are left out (they
/// measure timeouts, not the filter). A pair without any forwarded scenario uses all the others.
pub fn request_mix(corpus: &Corpus) -> Vec<SendRequest> {
    let usable: Vec<&Scenario> = corpus
        .scenarios
        .iter()
        .filter(|s| s.auth.as_ref().is_none_or(|a| a.delay_ms == 0 && !a.reset))
        .collect();
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

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// The three variants of a pair, each as its own listener spec.
pub fn variants(catalogue: &Catalogue, pair: &Pair) -> Result<Vec<ListenerSpec>> {
    let config = pair.load_config_json();
    let source = catalogue.lua_source(&pair.name)?;
    catalogue.wasm_module(&pair.name)?;
    Ok([
        Variant::Baseline,
        Variant::Lua { source },
        Variant::Wasm {
            module: catalogue.wasm_module_path(&pair.name),
        },
    ]
    .into_iter()
    .map(|variant| ListenerSpec {
        name: variant.kind().to_string(),
        pair: pair.name.clone(),
        config: config.clone(),
        variant,
    })
    .collect())
}

/// Runs the comparison. `stop` ends it early (the result is marked partial); `on_round` is told
/// about each finished round (for progress display).
pub fn compare(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    spec: &CompareSpec,
    envoy_version: &str,
    stop: Arc<AtomicBool>,
    on_round: &mut dyn FnMut(&str),
) -> Result<CompareResult> {
    let corpus = Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name)?;
    rig.auth.clear();
    for (token, reply) in corpus.auth_replies() {
        rig.auth.script(&token, reply);
    }
    let mix = request_mix(&corpus);
    if mix.is_empty() {
        return Err(Error::Envoy(format!(
            "{}: no scenario usable as load",
            corpus.path.display()
        )));
    }
    let machine = Machine::probe();
    let specs = variants(catalogue, pair)?;
    let started_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut by_workers = Vec::new();
    let mut partial = false;
    'workers: for &workers in &spec.workers {
        let options = EnvoyOptions {
            concurrency: workers,
            component_log_level: "lua:error,wasm:error".into(),
            cpus: machine.envoy_cpus.clone(),
        };
        let mut envoys = Vec::new();
        for s in &specs {
            let envoy = Envoy::start(
                &rig.envoy_bin,
                &bootstrap(std::slice::from_ref(s), rig.services()),
                &options,
            )?;
            let addr = envoy
                .listener(&s.name)
                .ok_or_else(|| Error::Envoy(format!("no {} listener", s.name)))?;
            envoys.push((s.name.clone(), envoy, addr));
        }
        let run_load = |addr, secs: f64| -> Result<LoadResult> {
            let load_spec = LoadSpec {
                target: addr,
                requests: mix.clone(),
                connections: spec.connections,
                mode: spec.mode,
                duration: Some(Duration::from_secs_f64(secs)),
                max_requests: None,
                timeout: Duration::from_secs(10),
            };
            rig.rt.block_on(load::run(
                load_spec,
                "filterbench.test",
                stop.clone(),
                None::<Arc<AtomicU64>>,
            ))
        };
        for (_, _, addr) in &envoys {
            run_load(*addr, spec.warmup_secs)?;
        }
        let mut rounds = Vec::new();
        for round in 0..spec.rounds {
            for (name, envoy, addr) in &mut envoys {
                envoy.check_alive()?;
                let pid = envoy.pid().unwrap_or(0);
                let cpu_before = cpu_time_us(pid);
                let load = run_load(*addr, spec.round_secs)?;
                let cpu = cpu_time_us(pid).saturating_sub(cpu_before);
                on_round(&format!(
                    "workers {workers}, round {}/{}, {name}: {:.0} req/s",
                    round + 1,
                    spec.rounds,
                    load.throughput_rps
                ));
                let was_partial = load.partial;
                rounds.push(Round {
                    variant: name.clone(),
                    round,
                    envoy_cpu_us_per_request: cpu as f64 / (load.responses.max(1) as f64),
                    load,
                });
                if was_partial {
                    partial = true;
                    break;
                }
            }
            if partial {
                break;
            }
        }
        let variants = envoys
            .iter()
            .map(|(name, envoy, _)| {
                let mine: Vec<&Round> = rounds.iter().filter(|r| &r.variant == name).collect();
                let m = |f: &dyn Fn(&Round) -> f64| median(mine.iter().map(|r| f(r)).collect());
                VariantSummary {
                    variant: name.clone(),
                    throughput_rps: m(&|r| r.load.throughput_rps),
                    p50_us: m(&|r| r.load.latency_us.p50 as f64),
                    p90_us: m(&|r| r.load.latency_us.p90 as f64),
                    p99_us: m(&|r| r.load.latency_us.p99 as f64),
                    p999_us: m(&|r| r.load.latency_us.p999 as f64),
                    max_us: m(&|r| r.load.latency_us.max as f64),
                    envoy_cpu_us_per_request: m(&|r| r.envoy_cpu_us_per_request),
                    errors: mine.iter().map(|r| r.load.errors.total()).sum(),
                    non_2xx: mine
                        .iter()
                        .map(|r| {
                            r.load.statuses.s1xx
                                + r.load.statuses.s3xx
                                + r.load.statuses.s4xx
                                + r.load.statuses.s5xx
                        })
                        .sum(),
                    memory: memory_of(envoy),
                }
            })
            .collect();
        by_workers.push(WorkersResult {
            workers,
            variants,
            rounds,
        });
        if partial {
            break 'workers;
        }
    }
    Ok(CompareResult {
        schema_version: COMPARE_SCHEMA,
        pair: pair.name.clone(),
        envoy_version: envoy_version.to_string(),
        machine,
        started_ms,
        spec: spec.clone(),
        requests_in_mix: mix.len(),
        by_workers,
        partial,
    })
}

/// Pins the calling thread (and the threads it spawns afterwards) to these CPUs.
pub fn pin_current_thread(cpus: &[usize]) {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET only writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Writes JSON atomically: a temp file in the same directory, then a rename.
pub fn write_json_atomically(path: &Path, value: &impl Serialize) -> Result<()> {
    filterbench_reports::results::write_json_atomically(path, value).map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    })
}
