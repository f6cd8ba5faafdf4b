//! The migration itself, measured: one Envoy whose filter slot is discovered through ECDS from a
//! file ([`ecds`]) starts with the pair's Lua twin; under an open-loop load the slot file is
//! replaced atomically to switch to the Wasm twin, back to Lua, and finally to a corrupt Wasm
//! module that Envoy must reject while Lua keeps serving. Run it with
//! `filterbench swap --pair NAME [--workers 1,2] [--rate R] [--out FILE]`; it writes
//! `reports/results/swap/<pair>.json` ([`filterbench_model::results::swap::SwapResult`]).
//!
//! Shaped this way because the questions are "what does a live switch cost" and "is anything
//! lost": the load is an open loop (a fixed arrival rate, latency from each request's intended
//! send time, so a stall during a switch cannot hide by slowing the sender), recorded in 100 ms
//! intervals ([`filterbench_load::load::intervals`]) so a switch's failures and latency land
//! where they happened; what Envoy did is read from its admin `/stats` (the slot's
//! `extension_config_discovery.http_filter.<slot>.*` counters and `update_time`, and
//! `wasm.envoy.wasm.runtime.v8.active` as the per-worker signal: every worker instantiates its own
//! Wasm VM when the new configuration reaches it, and the Wasm VMs go away once no worker holds
//! the Wasm twin), polled every few milliseconds from the moment of the rename. Corpus scenarios
//! are replayed through the slot during the whole run ([`probes`]) and each outcome is checked
//! against the pair's verified outcome and the corpus expectations.

pub mod ecds;
pub mod istiod;
mod probes;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use filterbench_model::corpus::{Corpus, Scenario};
use filterbench_model::now_ms;
use filterbench_model::results::swap::{
    Failures, MemoryPoint, Probes, SwapResult, SwapRun, Switch, Window, SWAP_SCHEMA,
};
use filterbench_model::results::MachineInfo;
use filterbench_model::{Catalogue, Pair};

use crate::bootstrap::{ListenerFilter, ListenerSpec};
use crate::envoy::{Envoy, EnvoyOptions};
use crate::verify::Rig;
use crate::verify_istiod::ControlPlane;
use crate::{Error, Result};
use filterbench_load::client::SendRequest;
use filterbench_load::load::intervals::quantile as quantile_of;
use filterbench_load::load::{self, Intervals, LoadSpec, Mode};

use ecds::{SlotStats, Twin, LISTENER};

/// What to run.
#[derive(Debug, Clone)]
pub struct SwapSpec {
    pub workers: Vec<u32>,
    /// Open-loop rate; None: half of a closed-loop capacity measurement.
    pub rate: Option<f64>,
    pub connections: usize,
    /// Time from the start of the load to the first switch, and between switches; the run lasts
    /// four of them (Lua, Wasm, Lua, Lua after the rejected corrupt module).
    pub phase: Duration,
    /// Length of the closed-loop capacity measurement.
    pub capacity: Duration,
    /// Width of a timeline interval.
    pub interval: Duration,
}

impl Default for SwapSpec {
    fn default() -> Self {
        SwapSpec {
            workers: vec![1, 2],
            rate: None,
            connections: 16,
            phase: Duration::from_millis(2500),
            capacity: Duration::from_secs(2),
            interval: Duration::from_millis(100),
        }
    }
}

/// The switches of a run, in order: the twin put in the slot and whether Envoy should take it.
pub const SEQUENCE: [(Twin, bool); 3] = [
    (Twin::Wasm, true),
    (Twin::Lua, true),
    (Twin::CorruptWasm, false),
];

/// The switches of a run through istiod: the last is a manifest istiod must refuse.
pub const ISTIOD_SEQUENCE: [(Twin, bool); 3] = [
    (Twin::Wasm, true),
    (Twin::Lua, true),
    (Twin::InvalidManifest, false),
];

/// How a switch reaches Envoy.
pub enum Mechanism {
    /// ECDS from a file Envoy watches ([`ecds`]).
    File(ecds::Slot),
    /// istiod's push of the pair's TrafficExtension ([`istiod`]).
    Istiod(Box<istiod::IstiodSlot>),
}

impl Mechanism {
    fn sequence(&self) -> [(Twin, bool); 3] {
        match self {
            Mechanism::File(_) => SEQUENCE,
            Mechanism::Istiod(_) => ISTIOD_SEQUENCE,
        }
    }

    fn put(&mut self, to: Twin) -> Result<()> {
        match self {
            Mechanism::File(slot) => slot.put(to),
            Mechanism::Istiod(slot) => slot.put(to),
        }
    }

    /// Whether Envoy took the configuration put since `before`: the slot's ECDS update, or
    /// (through istiod) a listener update after a manifest istiod accepted.
    fn taken(&self, before: &SlotStats, now: &SlotStats) -> bool {
        match self {
            Mechanism::File(_) => now.ecds("update_success") > before.ecds("update_success"),
            Mechanism::Istiod(slot) => {
                slot.refused.is_none() && now.lds("update_success") > before.lds("update_success")
            }
        }
    }

    /// Whether the configuration put since `before` was refused: by Envoy (the slot's ECDS
    /// rejected it, or its listener update) or by istiod (its validation).
    fn refused(&self, before: &SlotStats, now: &SlotStats) -> bool {
        match self {
            Mechanism::File(_) => {
                now.ecds("update_rejected") > before.ecds("update_rejected")
                    || now.ecds("config_fail") > before.ecds("config_fail")
            }
            Mechanism::Istiod(slot) => {
                slot.refused.is_some() || now.lds("update_rejected") > before.lds("update_rejected")
            }
        }
    }

    /// The counters a switch keeps in the result file.
    fn kept(&self, stats: &SlotStats) -> std::collections::BTreeMap<String, u64> {
        match self {
            Mechanism::File(_) => stats.slot_only(),
            Mechanism::Istiod(_) => stats.all(),
        }
    }

    /// What refused the last switch, in words, when istiod did.
    fn refusal(&self) -> Option<String> {
        match self {
            Mechanism::Istiod(slot) => slot
                .refused
                .as_ref()
                .map(|m| format!("istiod refused the manifest: {m}")),
            Mechanism::File(_) => None,
        }
    }
}

/// How long after a rename the stats are watched for the switch's effect.
const WATCH: Duration = Duration::from_secs(2);
/// How often the admin stats are polled during a watch.
const POLL: Duration = Duration::from_millis(5);

/// Runs the measurement for every worker count of `spec`: through the file slot, or through
/// istiod when `control_plane` is given.
#[allow(clippy::too_many_arguments)]
pub fn swap(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    spec: &SwapSpec,
    envoy_version: &str,
    control_plane: Option<&ControlPlane>,
    stop: Arc<AtomicBool>,
    progress: &mut dyn FnMut(&str),
) -> Result<SwapResult> {
    let corpus = Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name)?;
    rig.auth.clear();
    for (token, reply) in corpus.auth_replies() {
        rig.auth.script(&token, reply);
    }
    let mix = load_mix(&corpus);
    if mix.is_empty() {
        return Err(Error::Envoy(format!(
            "{}: no scenario usable as load",
            corpus.path.display()
        )));
    }
    let specs = twins(catalogue, pair)?;
    let machine = MachineInfo::probe();
    let started_ms = now_ms();
    let mut by_workers = Vec::new();
    let mut partial = false;
    for &workers in &spec.workers {
        let start = Start {
            rig,
            catalogue,
            pair,
            specs: &specs,
            control_plane,
        };
        let run = run_one(&start, &corpus, &mix, spec, workers, &stop, progress)
            .map_err(|e| Error::Envoy(format!("swap {} at {workers} worker(s): {e}", pair.name)))?;
        partial |= run.1;
        by_workers.push(run.0);
        if partial {
            break;
        }
    }
    Ok(SwapResult {
        schema_version: SWAP_SCHEMA,
        pair: pair.name.clone(),
        envoy_version: envoy_version.to_string(),
        machine,
        started_ms,
        mechanism: match control_plane {
            None => format!(
                "The filter slot `{}` is discovered through ECDS from a file (path_config_source \
                 with a watched_directory, type_urls Lua and Wasm); each switch writes the next \
                 TypedExtensionConfig beside the file and renames it over the file.",
                ecds::SLOT
            ),
            Some(cp) => format!(
                "{} serves the pair's TrafficExtension to a sidecar Envoy over xDS; each switch \
                 rewrites the manifest in istiod's config directory (lua: replaced by wasm: and \
                 back) and has istiod apply it to its config store as a Kubernetes watch event \
                 would, and istiod pushes (Lua inline in the listener, Wasm through ECDS); the \
                 last switch is to a manifest Istio's validation rejects.",
                cp.describe()
            ),
        },
        interval_ms: spec.interval.as_secs_f64() * 1000.0,
        by_workers,
        partial,
    })
}

/// The Lua and Wasm twins with the pair's corpus configuration (the probes check the corpus's
/// expectations, which hold for that configuration).
fn twins(catalogue: &Catalogue, pair: &Pair) -> Result<Vec<ListenerSpec>> {
    let source = catalogue.lua_source(&pair.name)?;
    catalogue.wasm_module(&pair.name)?;
    let config = pair.config_json();
    Ok([
        ListenerFilter::Lua { source },
        ListenerFilter::Wasm {
            module: catalogue.wasm_module_path(&pair.name),
        },
    ]
    .into_iter()
    .map(|filter| ListenerSpec {
        name: filter.kind().into(),
        pair: pair.name.clone(),
        config: config.clone(),
        filter,
    })
    .collect())
}

/// Scenarios that can be replayed at any moment on their own: no warm-up requests, no auth
/// service made slow or dropped.
pub fn standalone(corpus: &Corpus) -> Vec<&Scenario> {
    corpus
        .scenarios
        .iter()
        .filter(|s| s.before == 0 && s.auth.as_ref().is_none_or(|a| a.delay_ms == 0 && !a.reset))
        .collect()
}

/// The load: the standalone scenarios the filter forwards upstream (all standalone ones when it
/// forwards none), as the load comparison does.
fn load_mix(corpus: &Corpus) -> Vec<SendRequest> {
    crate::compare::forwarded_mix(standalone(corpus))
}

/// Keeps the calling thread (and the threads it starts afterwards: create the [`Rig`] after this)
/// off the core [`swap`] pins Envoy to, when the machine has more than one.
pub fn pin_off_envoy_core() {
    let cpus = MachineInfo::probe().cpus;
    if cpus < 2 {
        return;
    }
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET only writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in 0..cpus - 1 {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Envoy's RSS and Wasm VMs now.
fn memory(envoy: &Envoy) -> MemoryPoint {
    let status = std::fs::read_to_string(format!("/proc/{}/status", envoy.pid().unwrap_or(0)))
        .unwrap_or_default();
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    MemoryPoint {
        rss_bytes: rss_kb * 1024,
        wasm_vms: SlotStats::read(envoy.admin).map_or(0, |s| s.wasm_vms()),
    }
}

/// A switch as it happened, before the load's timeline is known.
struct Event {
    to: Twin,
    from: Twin,
    expect_accepted: bool,
    accepted: bool,
    rejected: bool,
    at: Instant,
    memory_before: MemoryPoint,
    reload_seen: Option<Duration>,
    converged: Option<Duration>,
    converged_by: String,
    envoy_update_ms: Option<f64>,
    stats_after: SlotStats,
    memory_after: MemoryPoint,
    log: Vec<String>,
}

/// Renames the slot to `to` and watches the admin stats for `watch`: when Envoy took or refused
/// the file, and when the Wasm VM count reached the value it then kept (the VMs are per worker,
/// so that is when the last worker had picked up the new twin, or dropped the old one).
fn switch(
    envoy: &Envoy,
    slot: &mut Mechanism,
    (from, to, accept): (Twin, Twin, bool),
    watch: Duration,
    workers: u32,
) -> Result<Event> {
    let stats_before = SlotStats::read(envoy.admin)?;
    let memory_before = memory(envoy);
    let log_from = envoy.log().len();
    let wall = now_ms();
    let at = Instant::now();
    slot.put(to)?;
    let watched = watch_slot(envoy, slot, &stats_before, at, watch)?;
    let taken = slot.taken(&stats_before, &watched.last);
    let rejected = slot.refused(&stats_before, &watched.last);
    let (converged, converged_by) = convergence(to, &watched.samples, taken, workers);
    let stats_after = watched.last;
    let envoy_update_ms = match slot {
        Mechanism::File(_) => taken.then(|| stats_after.ecds("update_time") as f64 - wall as f64),
        Mechanism::Istiod(_) => None,
    };
    let log = problems_logged(envoy, slot, log_from);
    Ok(Event {
        to,
        from,
        expect_accepted: accept,
        accepted: taken,
        rejected,
        at,
        memory_before,
        reload_seen: watched.reload_seen,
        converged,
        converged_by,
        envoy_update_ms,
        memory_after: memory(envoy),
        stats_after,
        log,
    })
}

/// What the admin stats showed while a switch was watched.
struct Watched {
    /// When Envoy first took or refused the update.
    reload_seen: Option<Duration>,
    /// (time, Wasm VMs, update taken) at each poll.
    samples: Vec<(Duration, u64, bool)>,
    /// The stats at the last poll (those before the switch when there was none).
    last: SlotStats,
}

/// Polls the admin stats from `at` (the rename) for `watch`.
fn watch_slot(
    envoy: &Envoy,
    slot: &Mechanism,
    stats_before: &SlotStats,
    at: Instant,
    watch: Duration,
) -> Result<Watched> {
    let mut reload_seen = None;
    let mut samples: Vec<(Duration, u64, bool)> = Vec::new();
    let mut last = stats_before.clone();
    while at.elapsed() < watch {
        // Fine-grained while things move, then lighter on Envoy's main thread.
        std::thread::sleep(if at.elapsed() < Duration::from_millis(500) {
            POLL
        } else {
            POLL * 10
        });
        let s = SlotStats::read(envoy.admin)?;
        let t = at.elapsed();
        let taken = slot.taken(stats_before, &s);
        let refused = slot.refused(stats_before, &s);
        if reload_seen.is_none() && (taken || refused) {
            reload_seen = Some(t);
        }
        samples.push((t, s.wasm_vms(), taken));
        last = s;
    }
    Ok(Watched {
        reload_seen,
        samples,
        last,
    })
}

/// When the switch to `to` converged (none when it did not), and by what sign.
fn convergence(
    to: Twin,
    samples: &[(Duration, u64, bool)],
    taken: bool,
    workers: u32,
) -> (Option<Duration>, String) {
    let final_vms = samples.last().map_or(0, |s| s.1);
    let settled_at = |ok: bool| ok.then(|| settled(samples, final_vms)).flatten();
    match to {
        Twin::Wasm => (
            settled_at(taken && final_vms > 0),
            format!(
                "the Wasm VM count reached the value it then kept ({final_vms} at {workers} \
                 worker(s): one per worker, the rest on the main thread)"
            ),
        ),
        Twin::Lua => (
            settled_at(taken && final_vms == 0),
            if final_vms == 0 {
                "the Wasm VM count fell to 0: no worker holds the Wasm twin".to_string()
            } else {
                format!("the Wasm VMs stayed ({final_vms}) within the watch")
            },
        ),
        Twin::CorruptWasm | Twin::InvalidManifest => {
            (None, "not taken: nothing to converge".into())
        }
    }
}

/// The first sample from which the update stayed taken and the Wasm VM count stayed at its
/// final value.
fn settled(samples: &[(Duration, u64, bool)], final_vms: u64) -> Option<Duration> {
    let first_unsettled = samples
        .iter()
        .rposition(|&(_, vms, taken)| vms != final_vms || !taken);
    match first_unsettled {
        None => samples.first().map(|s| s.0),
        Some(i) => samples.get(i + 1).map(|s| s.0),
    }
}

/// What went wrong, as the switch left it: the control plane's refusal, then up to eight of
/// Envoy's warning, error and critical lines logged since `log_from`.
fn problems_logged(envoy: &Envoy, slot: &Mechanism, log_from: usize) -> Vec<String> {
    slot.refusal()
        .into_iter()
        .chain(
            envoy
                .log()
                .get(log_from..)
                .unwrap_or("")
                .lines()
                .filter(|l| {
                    l.contains("[warning]") || l.contains("[error]") || l.contains("[critical]")
                })
                .take(8)
                .map(filterbench_model::one_line),
        )
        .collect()
}

impl Event {
    /// The switch as the result keeps it, placed on the load's timeline (`start`: the load's
    /// first send), with the window of intervals around it.
    fn switch(&self, slot: &Mechanism, intervals: &Intervals, start: Instant) -> Switch {
        let at_ms = self.at.saturating_duration_since(start).as_secs_f64() * 1000.0;
        let settle = self
            .converged
            .or(self.reload_seen)
            .unwrap_or(Duration::ZERO);
        let to_ms = at_ms + (settle.as_secs_f64() * 1000.0 + 500.0).max(1000.0);
        Switch {
            from: self.from.name().into(),
            to: self.to.name().into(),
            expect_accepted: self.expect_accepted,
            at_ms,
            accepted: self.accepted,
            rejected: self.rejected,
            reload_seen_ms: self.reload_seen.map(|d| d.as_secs_f64() * 1000.0),
            envoy_update_ms: self.envoy_update_ms,
            converged_ms: self.converged.map(|d| d.as_secs_f64() * 1000.0),
            converged_by: self.converged_by.clone(),
            memory_before: self.memory_before,
            memory_after: self.memory_after,
            stats_after: slot.kept(&self.stats_after),
            log: self.log.clone(),
            window: window(intervals, at_ms, to_ms),
        }
    }
}

/// What a run starts from: the pair, its twins and who switches them.
struct Start<'a> {
    rig: &'a Rig,
    catalogue: &'a Catalogue,
    pair: &'a Pair,
    specs: &'a [ListenerSpec],
    /// Through istiod when given, else through the file slot.
    control_plane: Option<&'a ControlPlane>,
}

impl Start<'_> {
    /// Envoy with the Lua twin in place, its listener's address, and the mechanism that
    /// switches it.
    fn envoy(&self, options: &EnvoyOptions) -> Result<(Envoy, std::net::SocketAddr, Mechanism)> {
        if let Some(cp) = self.control_plane {
            let mut slot = istiod::IstiodSlot::new(self.rig, self.catalogue, self.pair, cp)?;
            let (envoy, target) = slot.start_sidecar(self.rig, cp, options)?;
            return Ok((envoy, target, Mechanism::Istiod(Box::new(slot))));
        }
        let slot = ecds::Slot::new(self.specs, Twin::Lua)?;
        let bootstrap = ecds::slot_bootstrap(&self.specs[0], &slot, self.rig.services());
        let envoy = Envoy::start(&self.rig.envoy_bin, &bootstrap, options)?;
        let target = envoy
            .listener(LISTENER)
            .ok_or_else(|| Error::Envoy("no swap listener".into()))?;
        let first = SlotStats::read(envoy.admin)?;
        if first.ecds("update_success") == 0 {
            return Err(Error::Envoy(format!(
                "{} was not taken at start-up: {:?}; log: {}",
                slot.path().display(),
                first.slot_only(),
                envoy.log_tail(3)
            )));
        }
        Ok((envoy, target, Mechanism::File(slot)))
    }
}

fn run_one(
    start: &Start<'_>,
    corpus: &Corpus,
    mix: &[SendRequest],
    spec: &SwapSpec,
    workers: u32,
    stop: &Arc<AtomicBool>,
    progress: &mut dyn FnMut(&str),
) -> Result<(SwapRun, bool)> {
    let (rig, pair) = (start.rig, start.pair);
    let (mut envoy, target, mut slot) = start.envoy(&envoy_options(workers))?;
    let load_spec = |mode, duration| LoadSpec {
        target,
        requests: mix.to_vec(),
        connections: spec.connections,
        mode,
        duration: Some(duration),
        max_requests: None,
        timeout: Duration::from_secs(5),
    };
    let (capacity_rps, rate, rate_source) =
        open_loop_rate(rig, spec, || load_spec(Mode::Closed, spec.capacity), stop)?;
    progress(&format!(
        "{workers} worker(s): open loop at {rate:.0} req/s ({rate_source})"
    ));
    let probe_set = probes::ProbeSet::new(rig, pair, corpus, target)?;
    let memory_start = memory(&envoy);
    let sequence = slot.sequence();
    let duration = spec.phase * (sequence.len() as u32 + 1);
    let t0 = Instant::now();
    let (load_out, events, probe_log) = std::thread::scope(|scope| {
        let envoy_ref = &envoy;
        let slot_ref = &mut slot;
        let switcher = scope.spawn(move || {
            switch_on_schedule(envoy_ref, slot_ref, &sequence, t0, spec, workers, stop)
        });
        let probe_set = &probe_set;
        let prober = scope.spawn(move || probe_set.run_until(t0 + duration, stop));
        let load_out = rig.rt.block_on(load::run_with_intervals(
            load_spec(Mode::Open { rate }, duration),
            "filterbench.test",
            stop.clone(),
            spec.interval,
        ));
        let events = switcher.join().expect("the switch thread does not panic");
        let probe_log = prober.join().expect("the probe thread does not panic");
        (load_out, events, probe_log)
    });
    let (load, intervals, start) = load_out?;
    let events = events?;
    envoy.check_alive()?;
    let memory_end = memory(&envoy);
    envoy.stop();
    let switches: Vec<Switch> = events
        .iter()
        .map(|e| e.switch(&slot, &intervals, start))
        .collect();
    let probes: Probes = probe_log.summarise(&switches, start);
    let failed = failures(&intervals, 0..usize::MAX);
    let run = SwapRun {
        workers,
        capacity_rps,
        rate_rps: rate,
        rate_source,
        connections: spec.connections,
        duration_s: load.elapsed_s,
        requests: load.responses + load.errors.total(),
        responses: load.responses,
        failed,
        switches,
        probes,
        memory_start,
        memory_end,
        timeline: intervals.summary(),
    };
    Ok((run, load.partial))
}

/// Envoy for a swap run: `workers` workers, quiet filter logs and, as in the load comparison,
/// Envoy on the last core and the load generator elsewhere.
fn envoy_options(workers: u32) -> EnvoyOptions {
    let cpus = MachineInfo::probe().cpus;
    EnvoyOptions {
        concurrency: workers,
        component_log_level: "lua:error,wasm:error".into(),
        cpus: (cpus >= 2).then(|| vec![cpus - 1]),
    }
}

/// The open loop's rate: `--rate`, else half of a closed-loop capacity measured with the Lua
/// twin (`closed`). Answers the capacity (when measured), the rate and where the rate came from.
fn open_loop_rate(
    rig: &Rig,
    spec: &SwapSpec,
    closed: impl FnOnce() -> LoadSpec,
    stop: &Arc<AtomicBool>,
) -> Result<(Option<f64>, f64, String)> {
    if let Some(rate) = spec.rate {
        return Ok((None, rate, "--rate".to_string()));
    }
    let cap = rig
        .rt
        .block_on(load::run(closed(), "filterbench.test", stop.clone(), None))?;
    let rate = (cap.throughput_rps / 2.0).max(1.0);
    Ok((
        Some(cap.throughput_rps),
        rate,
        format!(
            "half of the closed-loop capacity ({:.0} req/s, {} connections, {:.1} s, Lua twin)",
            cap.throughput_rps,
            spec.connections,
            spec.capacity.as_secs_f64()
        ),
    ))
}

/// The switches of `sequence`, one every `spec.phase` from `t0`, until `stop`.
fn switch_on_schedule(
    envoy: &Envoy,
    slot: &mut Mechanism,
    sequence: &[(Twin, bool)],
    t0: Instant,
    spec: &SwapSpec,
    workers: u32,
    stop: &AtomicBool,
) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    let mut current = Twin::Lua;
    for (k, &(to, accept)) in sequence.iter().enumerate() {
        let when = t0 + spec.phase * (k as u32 + 1);
        std::thread::sleep(when.saturating_duration_since(Instant::now()));
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let watch = WATCH.min(spec.phase.mul_f64(0.8));
        let event = switch(envoy, slot, (current, to, accept), watch, workers)?;
        if event.accepted {
            current = to;
        }
        events.push(event);
    }
    Ok(events)
}

/// Failures among the requests due in intervals `range` (indices).
fn failures(intervals: &Intervals, range: std::ops::Range<usize>) -> Failures {
    let mut f = Failures::default();
    for b in intervals.buckets.iter().take(range.end).skip(range.start) {
        f.s5xx += b.s5xx;
        f.reset += b.reset;
        f.timeout += b.timeout;
        f.other += b.other;
    }
    f
}

/// The window around a switch: the whole intervals from the one holding the rename to the one
/// holding `to_ms`, against the second of intervals before it.
fn window(intervals: &Intervals, at_ms: f64, to_ms: f64) -> Window {
    let width = intervals.width.as_secs_f64() * 1000.0;
    let first = (at_ms / width).floor().max(0.0) as usize;
    let end = ((to_ms / width).ceil() as usize).max(first + 1);
    let before = first.saturating_sub((1000.0 / width).round() as usize)..first;
    let during = intervals.latencies_in(first..end);
    let failed = failures(intervals, first..end);
    Window {
        from_ms: first as f64 * width,
        to_ms: end as f64 * width,
        requests: during.len() as u64 + failed.reset + failed.timeout + failed.other,
        failed,
        p99_us: quantile_of(&during, 0.99),
        p99_before_us: quantile_of(&intervals.latencies_in(before), 0.99),
        max_us: during.last().copied().unwrap_or(0) as u64,
    }
}
