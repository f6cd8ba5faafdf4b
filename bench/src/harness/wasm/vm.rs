//! One Wasm VM ([`WasmVm`], one Envoy worker's VM): calling into the guest (`call_guest`, the
//! `guest!` macro), what a trap or a limit makes of the call ([`Stop`]), starting the plugin,
//! root-context events and ticks. Streams are driven by `exchange.rs`.
//!
//! The work of one unit (the VM start, one tick, one request) is bounded whatever chain of
//! callbacks it takes: [`WasmVm::begin`] fills the instruction budget once for the unit (not per
//! callback: a guest that re-enqueues from `proxy_on_queue_ready`, or dispatches another call
//! from `proxy_on_http_call_response`, would otherwise run forever on fresh budgets), and at
//! most [`MAX_EVENTS`] events (call responses, queue notifications) are delivered in one unit,
//! which also ends such a chain when fuel metering is off. The host-side bytes the unit makes the
//! host copy are counted too (`Host::charge`).

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::{Store, Trap, TypedFunc, WasmBacktrace, WasmParams, WasmResults};

use super::compile::Exports;
use super::error;
use super::host::{self, Event, Host, HostMemoryExceeded, MemoryLimitExceeded, ProcExit};
use super::{Metric, MetricKind};
use crate::harness::{Exchange, FailureKind, FilterError, FilterVm, LogLevel, Phase};
use filterbench_model::outcome::Outcome;

/// Why the processing of a stream (or of the VM start) stopped early.
#[derive(Debug)]
pub(super) enum Stop {
    /// A trap or panic: Envoy fails the stream and the VM.
    Trap { phase: Phase, message: String },
    /// Out of instruction budget or memory: the VM cannot go on.
    Fatal(FilterError),
    /// The filter reset the stream, or left the response paused forever: no response.
    NoResponse { phase: Phase, message: String },
    /// `proxy_on_vm_start` / `proxy_on_configure` returned false.
    Refused { phase: Phase, message: String },
}

/// A description of a trap for logs and errors: the trap, and the innermost functions.
pub(super) fn describe(err: &wasmtime::Error) -> String {
    if let Some(trap) = err.downcast_ref::<Trap>() {
        let mut s = trap.to_string();
        if let Some(bt) = err.downcast_ref::<WasmBacktrace>() {
            let frames: Vec<&str> = bt
                .frames()
                .iter()
                .filter_map(|f| f.func_name())
                .take(4)
                .collect();
            if !frames.is_empty() {
                s.push_str(&format!(" (in {})", frames.join(" <- ")));
            }
        }
        s
    } else if let Some(exit) = err.downcast_ref::<ProcExit>() {
        exit.to_string()
    } else {
        filterbench_model::one_line(&format!("{err:#}"))
    }
}

pub(super) fn classify(
    store: &Store<Host>,
    err: &wasmtime::Error,
    phase: Phase,
    callback: &str,
) -> Stop {
    let name = &store.data().name;
    if let Some(m) = err.downcast_ref::<MemoryLimitExceeded>() {
        return Stop::Fatal(error(
            name,
            phase,
            FailureKind::Memory,
            format!("{m} (in {callback})"),
        ));
    }
    if let Some(desired) = store.data().limiter.exceeded {
        return Stop::Fatal(error(
            name,
            phase,
            FailureKind::Memory,
            format!(
                "memory limit exceeded: the guest asked for {desired} bytes of linear memory, the limit is {} bytes (in {callback})",
                store.data().limiter.max_bytes
            ),
        ));
    }
    if let Some(exit) = err.downcast_ref::<ProcExit>() {
        return Stop::Fatal(error(
            name,
            phase,
            FailureKind::Forbidden,
            format!("{exit} (in {callback})"),
        ));
    }
    if let Some(h) = err.downcast_ref::<HostMemoryExceeded>() {
        return Stop::Fatal(error(
            name,
            phase,
            FailureKind::Memory,
            format!("{h} (in {callback})"),
        ));
    }
    if err.downcast_ref::<Trap>() == Some(&Trap::OutOfFuel) {
        return Stop::Fatal(error(
            name,
            phase,
            FailureKind::Budget,
            format!(
                "instruction budget of {} for one request (whatever callbacks it takes) exhausted in {callback} (an endless loop, or callbacks that keep re-arming themselves?)",
                store.data().env.limits.instructions
            ),
        ));
    }
    Stop::Trap {
        phase,
        message: format!("{} in {callback}", describe(err)),
    }
}

/// Events (http call responses, queue notifications) delivered in one unit of work (the VM
/// start, a tick, a request) at most. A twin that retries a call a few times needs a handful;
/// more than this is a chain of callbacks that re-arms itself.
pub(super) const MAX_EVENTS: u32 = 10_000;

/// Calls an optional guest export as context `ctx`, on what is left of the unit's instruction
/// budget. `Ok(None)` when the module does not export it.
pub(super) fn call_guest<P: WasmParams, R: WasmResults>(
    store: &mut Store<Host>,
    f: Option<&TypedFunc<P, R>>,
    ctx: u32,
    params: P,
    phase: Phase,
    callback: &str,
) -> Result<Option<R>, Stop> {
    let Some(f) = f else {
        return Ok(None);
    };
    let host = store.data_mut();
    host.current = ctx;
    host.effective = ctx;
    match f.call(&mut *store, params) {
        Ok(r) => Ok(Some(r)),
        Err(e) => Err(classify(store, &e, phase, callback)),
    }
}

macro_rules! guest {
    ($vm:expr, $export:ident as $callback:expr, $ctx:expr, $params:expr, $phase:expr) => {
        call_guest(
            &mut $vm.store,
            $vm.exports.$export.as_ref(),
            $ctx,
            $params,
            $phase,
            $callback,
        )
    };
    ($vm:expr, $export:ident, $ctx:expr, $params:expr, $phase:expr) => {
        guest!(
            $vm,
            $export as concat!("proxy_on_", stringify!($export)),
            $ctx,
            $params,
            $phase
        )
    };
}
pub(super) use guest;

#[derive(Debug, Clone)]
pub(super) enum VmState {
    Ready,
    /// A trap failed the VM: every stream gets Envoy's 503.
    Failed,
    /// Out of budget or memory.
    Fatal(FilterError),
}

/// One Wasm VM (one Envoy worker's VM). State persists across [`FilterVm::run`] calls.
pub struct WasmVm {
    pub(super) name: Arc<str>,
    pub(super) store: Store<Host>,
    pub(super) exports: Exports,
    /// The instruction budget per unit of work (VM start, tick, request); `None` without
    /// metering.
    pub(super) fuel: Option<u64>,
    /// Events delivered in the current unit of work (see [`MAX_EVENTS`]).
    pub(super) events_delivered: u32,
    pub(super) allow_on_headers_stop_iteration: bool,
    pub(super) state: VmState,
    pub(super) last_tick_ns: u64,
    /// The previous outcome of [`FilterVm::run_into`], whose strings the next one overwrites.
    pub(super) spare: Outcome,
}

impl std::fmt::Debug for WasmVm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmVm")
            .field("name", &self.name)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl WasmVm {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every metric the plugin defined, in definition order.
    pub fn metrics(&self) -> &[Metric] {
        &self.store.data().metrics.list
    }

    /// The counters, by the name the plugin gave (Envoy shows `wasmcustom.<name>`).
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.metrics()
            .iter()
            .filter(|m| m.kind == MetricKind::Counter)
            .map(|m| (m.name.clone(), m.value.max(0) as u64))
            .collect()
    }

    /// The tick period the plugin set (`proxy_set_tick_period_milliseconds`), 0 for none.
    pub fn tick_period_ms(&self) -> u32 {
        self.store.data().tick_period_ms
    }

    /// A trap failed the VM (every stream now gets a 503).
    pub fn is_failed(&self) -> bool {
        !matches!(self.state, VmState::Ready)
    }

    pub(super) fn host(&mut self) -> &mut Host {
        self.store.data_mut()
    }

    pub(super) fn stop_to_error(&mut self, stop: Stop) -> FilterError {
        let name = self.name.to_string();
        let e = match stop {
            Stop::Fatal(e) => e,
            Stop::Trap { phase, message } => {
                self.host()
                    .env
                    .log(LogLevel::Critical, format!("{name}: {phase}: {message}"));
                error(&name, phase, FailureKind::Runtime, message)
            }
            Stop::NoResponse { phase, message } => {
                error(&name, phase, FailureKind::Runtime, message)
            }
            Stop::Refused { phase, message } => error(&name, phase, FailureKind::Invalid, message),
        };
        self.state = VmState::Fatal(e.clone());
        e
    }

    /// Starts a unit of work (the VM start, a tick, a request): a full instruction budget, no
    /// events delivered yet, no host-side bytes copied yet.
    pub(super) fn begin(&mut self, phase: Phase) -> Result<(), Stop> {
        self.events_delivered = 0;
        self.host().copied = 0;
        if let Some(fuel) = self.fuel {
            if let Err(e) = self.store.set_fuel(fuel) {
                return Err(Stop::Trap {
                    phase,
                    message: format!("cannot set the instruction budget: {e:#}"),
                });
            }
        }
        Ok(())
    }

    /// `_initialize` (+ `main`) or `_start`, then the root context: create, start, configure.
    pub(super) fn start(&mut self) -> Result<(), Stop> {
        self.begin(Phase::Start)?;
        if self.exports.initialize.is_some() {
            guest!(self, initialize as "_initialize", 0, (), Phase::Start)?;
            if self.exports.main.is_some() {
                guest!(self, main as "main", 0, (0, 0), Phase::Start)?;
            }
        } else {
            guest!(self, start as "_start", 0, (), Phase::Start)?;
        }
        let root = self.host().new_context_id();
        self.host().root_id = root;
        guest!(self, context_create, root, (root, 0), Phase::Start)?;
        let vm_config_len = self.store.data().vm_config.len() as u32;
        if guest!(self, vm_start, root, (root, vm_config_len), Phase::Start)? == Some(0) {
            return Err(Stop::Refused {
                phase: Phase::Start,
                message: "proxy_on_vm_start returned false".into(),
            });
        }
        let config_len = self.store.data().plugin_config.len() as u32;
        self.host().configuring = true;
        let configured = guest!(self, configure, root, (root, config_len), Phase::Configure);
        self.host().configuring = false;
        if configured? == Some(0) {
            let config = String::from_utf8_lossy(&self.store.data().plugin_config).into_owned();
            return Err(Stop::Refused {
                phase: Phase::Configure,
                message: format!(
                    "proxy_on_configure returned false for the configuration {config}"
                ),
            });
        }
        self.host().after = Default::default();
        self.deliver_root_events()?;
        self.last_tick_ns = self.store.data().env.clock.now_ns();
        Ok(())
    }

    /// Delivers events addressed to the root context (calls it made, queue notifications).
    pub(super) fn deliver_root_events(&mut self) -> Result<(), Stop> {
        let root = self.store.data().root_id;
        while let Some(ev) = self.host().events.pop_front() {
            match ev {
                Event::HttpCall { context, .. } if context != root => {}
                ev => self.deliver(ev)?,
            }
            self.host().after = Default::default();
        }
        Ok(())
    }

    /// `proxy_on_tick` when the VM's clock has moved by a tick period since the last one.
    pub(super) fn maybe_tick(&mut self) -> Result<(), Stop> {
        let period = u64::from(self.store.data().tick_period_ms) * 1_000_000;
        if period == 0 {
            return Ok(());
        }
        let now = self.store.data().env.clock.now_ns();
        if now.saturating_sub(self.last_tick_ns) < period {
            return Ok(());
        }
        self.last_tick_ns = now;
        let root = self.store.data().root_id;
        self.begin(Phase::Start)?;
        guest!(self, tick, root, root, Phase::Start)?;
        self.host().after = Default::default();
        self.deliver_root_events()
    }

    /// Delivers one event (an http call's response, a queue notification); past [`MAX_EVENTS`]
    /// in one unit of work, the unit fails instead.
    pub(super) fn deliver(&mut self, ev: Event) -> Result<(), Stop> {
        self.events_delivered += 1;
        if self.events_delivered > MAX_EVENTS {
            let (phase, callback) = match ev {
                Event::HttpCall { .. } => (Phase::HttpCallResponse, "proxy_on_http_call_response"),
                Event::QueueReady { .. } => (Phase::HttpCallResponse, "proxy_on_queue_ready"),
            };
            return Err(Stop::Fatal(error(
                &self.name,
                phase,
                FailureKind::Budget,
                format!(
                    "more than {MAX_EVENTS} events for one request (next: {callback}): the filter's callbacks keep re-arming themselves (a queue re-enqueued from proxy_on_queue_ready, or a call dispatched from every call response?)"
                ),
            )));
        }
        match ev {
            Event::HttpCall {
                context,
                token,
                headers,
                body,
            } => {
                let (n, len) = (headers.len() as u32, body.len() as u32);
                self.host().call_response = Some(host::CallResponse { headers, body });
                let r = guest!(
                    self,
                    http_call_response,
                    context,
                    (context, token, n, len, 0),
                    Phase::HttpCallResponse
                );
                self.host().call_response = None;
                r.map(|_| ())
            }
            Event::QueueReady { root, queue } => guest!(
                self,
                queue_ready,
                root,
                (root, queue),
                Phase::HttpCallResponse
            )
            .map(|_| ()),
        }
    }
}

impl FilterVm for WasmVm {
    fn run(&mut self, exchange: &Exchange) -> Result<Outcome, FilterError> {
        self.run_exchange(exchange)
    }

    fn run_into(&mut self, exchange: &Exchange, out: &mut Outcome) -> Result<(), FilterError> {
        self.spare = std::mem::take(out);
        *out = self.run_exchange(exchange)?;
        Ok(())
    }

    fn memory_bytes(&self) -> usize {
        self.exports.memory.data_size(&self.store)
    }
}
