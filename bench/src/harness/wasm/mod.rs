//! The proxy-wasm ABI 0.2.1 host on wasmtime: runs a pair's Wasm twin in-process the way Envoy
//! (1.40, `envoy.filters.http.wasm`, as configured by `loadgen::bootstrap`) runs it.
//!
//! - [`WasmFilter::compile`] compiles a module once (one process-wide engine with fuel
//!   metering, the module, a linker with every host function, `instantiate_pre`).
//! - [`WasmFilter::vm`] makes one VM (one Envoy worker's VM): a store, the instance,
//!   `_initialize` (or `_start`), `proxy_on_context_create(root, 0)`, `proxy_on_vm_start`,
//!   `proxy_on_configure` with the plugin configuration (`env.config` as compact JSON). The order
//!   is proxy-wasm-cpp-host's (`ContextBase::onStart`): the root context is created before
//!   `proxy_on_vm_start` (the Rust SDK panics otherwise).
//! - [`WasmVm::run`] is one HTTP stream (one context), driven as Envoy's filter manager does it
//!   for a single filter in front of the router. See `drive` below for the exact rules.
//!
//! Envoy behaviours the driver reproduces (and where the harness had to choose):
//! - Actions a filter asks for inside a callback (`proxy_continue_stream`,
//!   `proxy_send_local_response`, `proxy_close_stream`) take effect when the callback returns
//!   (Envoy's after-VM-call actions). A local reply makes the callback's result "stop all".
//! - `Pause` from a headers callback is `StopIteration` (the body callback still runs), as with
//!   the plugin option `allow_on_headers_stop_iteration: true` that the bootstrap sets
//!   ([`WasmFilter::allow_on_headers_stop_iteration`] turns it off: then it is "stop all" and the
//!   body is delivered only once the filter continues). `Pause` from a body callback buffers.
//! - The whole body is one body callback with `end_of_stream = true`; there are no trailers.
//! - Outgoing calls are answered by `env.responder` when they are made (an unknown cluster makes
//!   `proxy_http_call` return `BadArgument`); the response is delivered
//!   (`proxy_on_http_call_response`) after the request's headers and body callbacks, i.e. as if
//!   the request arrived in one read and the call took a network round trip.
//! - A local reply sent while the request is processed goes through the filter's own response
//!   callbacks (Envoy's `sendLocalReplyViaFilterChain`: the Wasm filter is also an encoder
//!   filter; Lua behaves the same). One sent from a response callback replaces the response
//!   without running the filter again (Envoy's `sendDirectLocalReply`).
//! - A request the filter pauses and never resumes gets Envoy's stream idle timeout reply
//!   (408 `stream timeout`, through the response callbacks; a warning is logged). A response
//!   paused forever, or a stream closed with `proxy_close_stream`, would be a reset connection
//!   in Envoy: there is no response to show, so `run` returns a `Runtime` [`FilterError`].
//! - Header maps follow Envoy's pointers: request headers are readable and writable from the
//!   request-headers callback until they are continued (headers callback returned `Continue`,
//!   or `proxy_continue_stream`), response headers likewise; in `proxy_on_log` both are
//!   read-only. Outside those windows, access is `BadArgument` (the Rust SDK then panics, as it
//!   does in Envoy).
//! - A trap or panic in any callback (`proc_exit` too) fails the VM as Envoy does with
//!   `fail_open: false`: the stream gets [`envoy::wasm_failure_reply`] (503, empty body; the
//!   upstream's view is kept when the request had already reached it), the trap is logged at
//!   `Critical`, and every later `run` on the VM gets the same 503 without calling the guest.
//!   A trap in `proxy_on_log`/`done`/`delete` leaves the already sent response as it is.
//! - Resource limits are harness limits, not Envoy's: the instruction budget
//!   (`Limits::instructions`, wasmtime fuel, per callback) and the linear-memory limit
//!   (`Limits::memory_bytes`, a `memory.grow` past it traps) make `run` (or `vm`) return a
//!   [`FilterError`] of kind `Budget` / `Memory`; the VM is then unusable and every later `run`
//!   returns the same error.
//! - `proxy_log` lines at or above the host log level (default `Info`, Envoy's `wasm:info`) go to
//!   `env.logs` as the plugin wrote them; stdout/stderr (`fd_write`) at info/error.

mod abi;
mod headers;
mod host;
mod memory;
mod properties;
mod wasi;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use wasmtime::{
    Config, Engine, ExternType, FuncType, Instance, InstancePre, Linker, Module, OptLevel, Store,
    Trap, TypedFunc, ValType, WasmBacktrace, WasmParams, WasmResults,
};

pub use abi::MetricKind;
pub use host::Metric;

use self::headers::HeaderMap;
use self::host::{Event, Host, LocalReply, MemoryLimitExceeded, ProcExit, Shared};
use super::{envoy, Env, Exchange, FailureKind, FilterError, FilterVm, LogLevel, Phase};
use crate::outcome::{Outcome, UpstreamSeen};

/// The proxy-wasm host functions (`env`) the host defines.
pub use host::ENV_FUNCTIONS;
/// The WASI preview1 functions the host defines.
pub use wasi::FUNCTIONS as WASI_FUNCTIONS;

/// Whether VMs count instructions (wasmtime fuel) to stop endless loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metering {
    /// `Limits::instructions` per callback (the default: verification, `filterbench run`).
    Fuel,
    /// No instruction counting, as in Envoy's V8: for benchmarks of filters already verified.
    /// `Limits::instructions` is ignored (the memory limit still holds).
    Off,
}

fn engine(metering: Metering) -> Result<&'static Engine, String> {
    static FUEL: OnceLock<Result<Engine, String>> = OnceLock::new();
    static OFF: OnceLock<Result<Engine, String>> = OnceLock::new();
    let cell = match metering {
        Metering::Fuel => &FUEL,
        Metering::Off => &OFF,
    };
    cell.get_or_init(|| Engine::new(&config(metering)).map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(Clone::clone)
}

/// The configuration of the engines of [`engine`].
fn config(metering: Metering) -> Config {
    let mut config = Config::new();
    config.consume_fuel(metering == Metering::Fuel);
    // A debug build of the harness (tests) runs an unoptimised Cranelift, for which
    // optimising the 12 modules takes minutes; the generated code does not matter there.
    config.cranelift_opt_level(if cfg!(debug_assertions) {
        OptLevel::None
    } else {
        OptLevel::Speed
    });
    config
}

fn error(name: &str, phase: Phase, kind: FailureKind, message: impl Into<String>) -> FilterError {
    FilterError {
        filter: name.to_string(),
        phase,
        kind,
        message: message.into(),
    }
}

/// Signatures of the callbacks the host calls (i = i32), checked when compiling.
const CALLBACKS: &[(&str, &str)] = &[
    ("_initialize", "->"),
    ("_start", "->"),
    ("main", "ii->i"),
    ("proxy_on_memory_allocate", "i->i"),
    ("malloc", "i->i"),
    ("proxy_on_context_create", "ii->"),
    ("proxy_on_vm_start", "ii->i"),
    ("proxy_on_configure", "ii->i"),
    ("proxy_on_tick", "i->"),
    ("proxy_on_request_headers", "iii->i"),
    ("proxy_on_request_body", "iii->i"),
    ("proxy_on_response_headers", "iii->i"),
    ("proxy_on_response_body", "iii->i"),
    ("proxy_on_http_call_response", "iiiii->"),
    ("proxy_on_queue_ready", "ii->"),
    ("proxy_on_log", "i->"),
    ("proxy_on_done", "i->i"),
    ("proxy_on_delete", "i->"),
];

fn signature(ty: &FuncType) -> String {
    let code = |v: ValType| match v {
        ValType::I32 => 'i',
        ValType::I64 => 'I',
        ValType::F32 => 'f',
        ValType::F64 => 'F',
        _ => '?',
    };
    let mut s: String = ty.params().map(code).collect();
    s.push_str("->");
    s.extend(ty.results().map(code));
    s
}

struct Compiled {
    name: Arc<str>,
    metering: Metering,
    module: Module,
    pre: InstancePre<Host>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A compiled Wasm filter: compile once, then make a VM per worker with [`WasmFilter::vm`].
#[derive(Debug, Clone)]
pub struct WasmFilter {
    compiled: Arc<Compiled>,
    allow_on_headers_stop_iteration: bool,
    log_level: LogLevel,
}

impl WasmFilter {
    /// Compiles `bytes` (a Wasm binary, or WAT text) for the filter `name`. Invalid bytes, a
    /// missing required export (`memory`, `proxy_on_memory_allocate`/`malloc`, the
    /// `proxy_abi_version_0_2_1` marker), a callback with a wrong signature, or an import the
    /// host does not provide are `Invalid` errors in phase `Load`.
    pub fn compile(name: &str, bytes: &[u8]) -> Result<WasmFilter, FilterError> {
        WasmFilter::compile_with(name, bytes, Metering::Fuel)
    }

    /// [`WasmFilter::compile`] with a choice of instruction metering.
    pub fn compile_with(
        name: &str,
        bytes: &[u8],
        metering: Metering,
    ) -> Result<WasmFilter, FilterError> {
        let invalid = |message: String| error(name, Phase::Load, FailureKind::Invalid, message);
        let engine =
            engine(metering).map_err(|e| invalid(format!("cannot create the Wasm engine: {e}")))?;
        let module = Module::new(engine, bytes).map_err(|e| {
            invalid(format!(
                "not a valid Wasm module: {}",
                crate::one_line(&format!("{e:#}"))
            ))
        })?;
        WasmFilter::from_module(name, engine, module, metering)
    }

    /// Compiles `bytes` as [`WasmFilter::compile_with`] does, but for this CPU without the
    /// Cranelift ISA features `without` (e.g. `has_avx512f`), and returns the serialised machine
    /// code for [`WasmFilter::deserialize`] in another process of this executable: the benches'
    /// callgrind child, which runs on valgrind's emulated CPU (no AVX-512) and would spend
    /// minutes compiling under valgrind.
    pub fn precompile_without(
        name: &str,
        bytes: &[u8],
        metering: Metering,
        without: &[String],
    ) -> Result<Vec<u8>, FilterError> {
        let invalid = |message: String| error(name, Phase::Load, FailureKind::Invalid, message);
        let mut config = config(metering);
        for flag in without {
            // SAFETY: turning a CPU feature off only keeps Cranelift from using it; the code
            // still runs on a CPU that has it.
            unsafe {
                config.cranelift_flag_set(flag, "false");
            }
        }
        let engine = Engine::new(&config).map_err(|e| {
            invalid(format!(
                "cannot create the Wasm engine without {without:?}: {e:#}"
            ))
        })?;
        engine.precompile_module(bytes).map_err(|e| {
            invalid(format!(
                "not a valid Wasm module: {}",
                crate::one_line(&format!("{e:#}"))
            ))
        })
    }

    /// A filter from [`WasmFilter::precompile_without`]'s bytes, checked as
    /// [`WasmFilter::compile_with`] checks a module (and by wasmtime: the CPU features the code
    /// uses must be present).
    ///
    /// # Safety
    ///
    /// `bytes` must come from [`WasmFilter::precompile_without`] of this same executable with
    /// the same `metering` (wasmtime runs the machine code in them; see `Module::deserialize`).
    pub unsafe fn deserialize(
        name: &str,
        bytes: &[u8],
        metering: Metering,
    ) -> Result<WasmFilter, FilterError> {
        let invalid = |message: String| error(name, Phase::Load, FailureKind::Invalid, message);
        let engine =
            engine(metering).map_err(|e| invalid(format!("cannot create the Wasm engine: {e}")))?;
        // SAFETY: the caller guarantees the bytes are this executable's own serialisation.
        let module = unsafe { Module::deserialize(engine, bytes) }.map_err(|e| {
            invalid(format!(
                "not a serialised module of this build: {}",
                crate::one_line(&format!("{e:#}"))
            ))
        })?;
        WasmFilter::from_module(name, engine, module, metering)
    }

    /// The checks of a module and its linking (see [`WasmFilter::compile`]).
    fn from_module(
        name: &str,
        engine: &Engine,
        module: Module,
        metering: Metering,
    ) -> Result<WasmFilter, FilterError> {
        let invalid = |message: String| error(name, Phase::Load, FailureKind::Invalid, message);
        let export = |n: &str| module.get_export(n);
        match export("memory") {
            Some(ExternType::Memory(_)) => {}
            _ => {
                return Err(invalid(
                    "the module does not export its linear memory `memory`".into(),
                ))
            }
        }
        if export("proxy_on_memory_allocate").is_none() && export("malloc").is_none() {
            return Err(invalid(
                "the module exports neither `proxy_on_memory_allocate` nor `malloc`: the host cannot hand it memory".into(),
            ));
        }
        if export("proxy_abi_version_0_2_1").is_none()
            && export("proxy_abi_version_0_2_0").is_none()
        {
            let why = if export("proxy_abi_version_0_1_0").is_some() {
                "the module targets proxy-wasm ABI 0.1.0, which this host does not support (0.2.0/0.2.1)"
            } else {
                "the module does not export a proxy-wasm ABI marker (`proxy_abi_version_0_2_1`)"
            };
            return Err(invalid(why.into()));
        }
        for (callback, want) in CALLBACKS {
            match export(callback) {
                None => {}
                Some(ExternType::Func(ty)) => {
                    let got = signature(&ty);
                    if got != *want {
                        return Err(invalid(format!(
                            "export `{callback}` has signature ({got}), the ABI wants ({want})"
                        )));
                    }
                }
                Some(_) => return Err(invalid(format!("export `{callback}` is not a function"))),
            }
        }

        let mut linker: Linker<Host> = Linker::new(engine);
        host::define(&mut linker)
            .and_then(|()| wasi::define(&mut linker))
            .map_err(|e| invalid(format!("cannot define the host functions: {e:#}")))?;
        let pre = linker.instantiate_pre(&module).map_err(|e| {
            invalid(format!(
                "cannot link the module: {}",
                crate::one_line(&format!("{e:#}"))
            ))
        })?;
        Ok(WasmFilter {
            compiled: Arc::new(Compiled {
                name: Arc::from(name),
                metering,
                module,
                pre,
                shared: Arc::new(Shared::default()),
            }),
            allow_on_headers_stop_iteration: true,
            log_level: LogLevel::Info,
        })
    }

    /// Envoy's plugin option `allow_on_headers_stop_iteration` (default here: `true`, as the
    /// bootstrap sets it). With `false`, `Pause` from a headers callback stops all iteration.
    pub fn allow_on_headers_stop_iteration(mut self, allow: bool) -> WasmFilter {
        self.allow_on_headers_stop_iteration = allow;
        self
    }

    /// The host log level (default `Info`): lower `proxy_log` lines are dropped, and
    /// `proxy_get_log_level` returns it.
    pub fn log_level(mut self, level: LogLevel) -> WasmFilter {
        self.log_level = level;
        self
    }

    pub fn name(&self) -> &str {
        &self.compiled.name
    }

    /// The module's imports, as `(module, name)`.
    pub fn imports(&self) -> Vec<(String, String)> {
        self.compiled
            .module
            .imports()
            .map(|i| (i.module().to_string(), i.name().to_string()))
            .collect()
    }

    /// Makes a VM: instantiates the module and starts and configures the plugin.
    pub fn vm(&self, env: Env) -> Result<WasmVm, FilterError> {
        let c = &self.compiled;
        let name = c.name.clone();
        let fuel = (c.metering == Metering::Fuel).then_some(env.limits.instructions);
        let host = Host::new(name.clone(), env, c.shared.clone(), self.log_level);
        let mut store = Store::new(c.module.engine(), host);
        store.limiter(|h| &mut h.limiter);
        if let Some(fuel) = fuel {
            store
                .set_fuel(fuel)
                .map_err(|e| error(&name, Phase::Start, FailureKind::Invalid, format!("{e:#}")))?;
        }
        let instance = match c.pre.instantiate(&mut store) {
            Ok(i) => i,
            Err(e) => {
                let trapped =
                    e.downcast_ref::<Trap>().is_some() || e.downcast_ref::<ProcExit>().is_some();
                return Err(match classify(&store, &e, Phase::Start, "instantiation") {
                    Stop::Fatal(f) => f,
                    Stop::Trap { message, .. } if trapped => error(
                        &name,
                        Phase::Start,
                        FailureKind::Runtime,
                        format!("the module's start function failed: {message}"),
                    ),
                    _ => error(
                        &name,
                        Phase::Start,
                        FailureKind::Invalid,
                        format!("cannot instantiate the module: {}", describe(&e)),
                    ),
                });
            }
        };
        let exports = Exports::find(&instance, &mut store)
            .map_err(|m| error(&name, Phase::Load, FailureKind::Invalid, m))?;
        store.data_mut().memory = Some(exports.memory);
        store.data_mut().alloc = Some(exports.alloc.clone());
        let mut vm = WasmVm {
            name,
            store,
            exports,
            fuel,
            allow_on_headers_stop_iteration: self.allow_on_headers_stop_iteration,
            state: VmState::Ready,
            last_tick_ns: 0,
            spare: Outcome::default(),
        };
        vm.start().map_err(|stop| vm.stop_to_error(stop))?;
        Ok(vm)
    }
}

/// `proxy_on_http_call_response(context, token, headers, body size, trailers)`.
type CallResponseFn = TypedFunc<(u32, u32, u32, u32, u32), ()>;

/// The guest's exports the host uses.
struct Exports {
    memory: wasmtime::Memory,
    alloc: TypedFunc<u32, u32>,
    initialize: Option<TypedFunc<(), ()>>,
    start: Option<TypedFunc<(), ()>>,
    main: Option<TypedFunc<(u32, u32), u32>>,
    context_create: Option<TypedFunc<(u32, u32), ()>>,
    vm_start: Option<TypedFunc<(u32, u32), u32>>,
    configure: Option<TypedFunc<(u32, u32), u32>>,
    tick: Option<TypedFunc<u32, ()>>,
    request_headers: Option<TypedFunc<(u32, u32, u32), u32>>,
    request_body: Option<TypedFunc<(u32, u32, u32), u32>>,
    response_headers: Option<TypedFunc<(u32, u32, u32), u32>>,
    response_body: Option<TypedFunc<(u32, u32, u32), u32>>,
    http_call_response: Option<CallResponseFn>,
    queue_ready: Option<TypedFunc<(u32, u32), ()>>,
    log: Option<TypedFunc<u32, ()>>,
    done: Option<TypedFunc<u32, u32>>,
    delete: Option<TypedFunc<u32, ()>>,
}

impl Exports {
    fn find(instance: &Instance, store: &mut Store<Host>) -> Result<Exports, String> {
        fn f<P: WasmParams, R: WasmResults>(
            instance: &Instance,
            store: &mut Store<Host>,
            name: &str,
        ) -> Result<Option<TypedFunc<P, R>>, String> {
            match instance.get_func(&mut *store, name) {
                None => Ok(None),
                Some(func) => func
                    .typed::<P, R>(&*store)
                    .map(Some)
                    .map_err(|e| format!("export `{name}`: {e:#}")),
            }
        }
        let memory = instance
            .get_memory(&mut *store, "memory")
            .ok_or("the module does not export its linear memory `memory`")?;
        let alloc = match f::<u32, u32>(instance, store, "proxy_on_memory_allocate")? {
            Some(a) => a,
            None => f::<u32, u32>(instance, store, "malloc")?
                .ok_or("the module exports neither `proxy_on_memory_allocate` nor `malloc`")?,
        };
        Ok(Exports {
            memory,
            alloc,
            initialize: f(instance, store, "_initialize")?,
            start: f(instance, store, "_start")?,
            main: f(instance, store, "main")?,
            context_create: f(instance, store, "proxy_on_context_create")?,
            vm_start: f(instance, store, "proxy_on_vm_start")?,
            configure: f(instance, store, "proxy_on_configure")?,
            tick: f(instance, store, "proxy_on_tick")?,
            request_headers: f(instance, store, "proxy_on_request_headers")?,
            request_body: f(instance, store, "proxy_on_request_body")?,
            response_headers: f(instance, store, "proxy_on_response_headers")?,
            response_body: f(instance, store, "proxy_on_response_body")?,
            http_call_response: f(instance, store, "proxy_on_http_call_response")?,
            queue_ready: f(instance, store, "proxy_on_queue_ready")?,
            log: f(instance, store, "proxy_on_log")?,
            done: f(instance, store, "proxy_on_done")?,
            delete: f(instance, store, "proxy_on_delete")?,
        })
    }
}

/// Why the processing of a stream (or of the VM start) stopped early.
#[derive(Debug)]
enum Stop {
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
fn describe(err: &wasmtime::Error) -> String {
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
        crate::one_line(&format!("{err:#}"))
    }
}

fn classify(store: &Store<Host>, err: &wasmtime::Error, phase: Phase, callback: &str) -> Stop {
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
    if err.downcast_ref::<Trap>() == Some(&Trap::OutOfFuel) {
        return Stop::Fatal(error(
            name,
            phase,
            FailureKind::Budget,
            format!(
                "instruction budget of {} exhausted in {callback} (an endless loop?)",
                store.data().env.limits.instructions
            ),
        ));
    }
    Stop::Trap {
        phase,
        message: format!("{} in {callback}", describe(err)),
    }
}

/// Calls an optional guest export with the instruction budget reset, as context `ctx`.
/// `Ok(None)` when the module does not export it.
fn call_guest<P: WasmParams, R: WasmResults>(
    store: &mut Store<Host>,
    fuel: Option<u64>,
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
    if let Some(Err(e)) = fuel.map(|fuel| store.set_fuel(fuel)) {
        return Err(Stop::Trap {
            phase,
            message: format!("cannot set the instruction budget: {e:#}"),
        });
    }
    match f.call(&mut *store, params) {
        Ok(r) => Ok(Some(r)),
        Err(e) => Err(classify(store, &e, phase, callback)),
    }
}

macro_rules! guest {
    ($vm:expr, $export:ident as $callback:expr, $ctx:expr, $params:expr, $phase:expr) => {
        call_guest(
            &mut $vm.store,
            $vm.fuel,
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

#[derive(Debug, Clone)]
enum VmState {
    Ready,
    /// A trap failed the VM: every stream gets Envoy's 503.
    Failed,
    /// Out of budget or memory.
    Fatal(FilterError),
}

/// What the filter-manager does with a headers callback's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadersStatus {
    Continue,
    StopIteration,
    StopAll,
}

/// One direction (request or response) of a stream through the filter.
#[derive(Debug, Default)]
struct Dir {
    headers_done: bool,
    /// The headers callback stopped all iteration: the body waits for a continue.
    stop_all: bool,
    /// There is a body the filter has not seen yet.
    body_pending: bool,
    /// The body callback paused (the body is buffered).
    body_paused: bool,
    body_done: bool,
}

impl Dir {
    fn new(has_body: bool) -> Dir {
        Dir {
            body_pending: has_body,
            body_done: !has_body,
            ..Dir::default()
        }
    }

    fn complete(&self) -> bool {
        self.headers_done && self.body_done
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Request,
    Response,
}

/// How the request side ended.
enum DecodeEnd {
    Upstream,
    /// A local reply; `request_complete`: Envoy had the whole request when it was sent.
    LocalReply {
        reply: LocalReply,
        request_complete: bool,
    },
    /// Paused and never resumed.
    Hung,
}

/// How the response side ended.
enum EncodeEnd {
    Done,
    /// A local reply from a response callback (sent directly, without the filter).
    Direct(LocalReply),
}

/// One Wasm VM (one Envoy worker's VM). State persists across [`FilterVm::run`] calls.
pub struct WasmVm {
    name: Arc<str>,
    store: Store<Host>,
    exports: Exports,
    /// The instruction budget per callback; `None` without metering.
    fuel: Option<u64>,
    allow_on_headers_stop_iteration: bool,
    state: VmState,
    last_tick_ns: u64,
    /// The previous outcome of [`FilterVm::run_into`], whose strings the next one overwrites.
    spare: Outcome,
}

impl std::fmt::Debug for WasmVm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmVm")
            .field("name", &self.name)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

fn failure_outcome(upstream: Option<UpstreamSeen>, request_complete: bool) -> Outcome {
    let (headers, body) = envoy::wasm_failure_reply(request_complete);
    envoy::client_outcome(&headers, &body, upstream)
}

fn local_reply_parts(lr: &LocalReply, request_complete: bool) -> (HeaderMap, Vec<u8>) {
    let headers: Vec<(String, String)> = lr
        .headers
        .iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect();
    let status = u16::try_from(lr.status).unwrap_or(500);
    let (h, b) = envoy::local_reply(status, &headers, &lr.body, request_complete);
    (HeaderMap::from_pairs(h), b)
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

    fn host(&mut self) -> &mut Host {
        self.store.data_mut()
    }

    fn stop_to_error(&mut self, stop: Stop) -> FilterError {
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

    /// `_initialize` (+ `main`) or `_start`, then the root context: create, start, configure.
    fn start(&mut self) -> Result<(), Stop> {
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
    fn deliver_root_events(&mut self) -> Result<(), Stop> {
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
    fn maybe_tick(&mut self) -> Result<(), Stop> {
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
        guest!(self, tick, root, root, Phase::Start)?;
        self.host().after = Default::default();
        self.deliver_root_events()
    }

    /// Delivers one event (an http call's response, a queue notification).
    fn deliver(&mut self, ev: Event) -> Result<(), Stop> {
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

    fn headers_status(&self, result: Option<u32>, stop_next: bool) -> HeadersStatus {
        match result.unwrap_or(abi::ACTION_CONTINUE) {
            _ if stop_next => HeadersStatus::StopAll,
            // 0 Continue, 2 ContinueAndEndStream.
            0 | 2 => HeadersStatus::Continue,
            abi::ACTION_PAUSE if self.allow_on_headers_stop_iteration => {
                HeadersStatus::StopIteration
            }
            _ => HeadersStatus::StopAll,
        }
    }

    /// Runs one exchange; see the module documentation.
    fn run_exchange(&mut self, ex: &Exchange) -> Result<Outcome, FilterError> {
        match &self.state {
            VmState::Ready => {}
            // The dead VM's 503 goes out as the request headers arrive.
            VmState::Failed => return Ok(failure_outcome(None, ex.body.is_empty())),
            VmState::Fatal(e) => return Err(e.clone()),
        }
        if let Err(stop) = self.maybe_tick() {
            return self.stopped(stop, None, !ex.body.is_empty());
        }
        let ctx = self.host().new_context_id();
        {
            let host = self.host();
            host.after = Default::default();
            let s = &mut host.stream;
            s.reset();
            s.id = ctx;
            s.start_ns = host.env.clock.now_ns();
            s.request_headers
                .refill(|h| envoy::fill_request_headers(ex, h));
            s.request_body.extend_from_slice(&ex.body);
            s.request_body_size = ex.body.len();
        }
        let mut upstream: Option<UpstreamSeen> = None;
        let result = self.drive(ctx, ex, &mut upstream);
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(stop) => return self.stopped(stop, upstream, !ex.body.is_empty()),
        };
        // The access log, then the end of the context.
        let finished = self.finish(ctx);
        self.end_stream();
        if let Err(stop) = finished {
            // The response is out already: only the VM is affected.
            let _ = self.stopped(stop, None, false);
        }
        Ok(outcome)
    }

    fn end_stream(&mut self) {
        let host = self.host();
        host.stream.reset();
        host.call_response = None;
        host.after = Default::default();
        // Envoy cancels the stream's outstanding calls when it is destroyed.
        let root = host.root_id;
        host.events
            .retain(|ev| !matches!(ev, Event::HttpCall { context, .. } if *context != root));
    }

    /// Turns an early stop into `run`'s result, failing the VM as Envoy does. `request_body`:
    /// the request has a body (a failure before Envoy read it closes the connection).
    fn stopped(
        &mut self,
        stop: Stop,
        upstream: Option<UpstreamSeen>,
        request_body: bool,
    ) -> Result<Outcome, FilterError> {
        self.end_stream();
        match stop {
            Stop::Trap { phase, message } => {
                let name = self.name.to_string();
                self.host()
                    .env
                    .log(LogLevel::Critical, format!("{name}: {phase}: {message}"));
                self.state = VmState::Failed;
                let before_body = matches!(
                    phase,
                    Phase::Start | Phase::Configure | Phase::RequestHeaders
                );
                Ok(failure_outcome(upstream, !(request_body && before_body)))
            }
            Stop::Fatal(e) => {
                self.state = VmState::Fatal(e.clone());
                Err(e)
            }
            Stop::NoResponse { phase, message } | Stop::Refused { phase, message } => {
                Err(error(&self.name, phase, FailureKind::Runtime, message))
            }
        }
    }

    /// The request side, the upstream, the response side. `upstream` is set once the request
    /// reached the upstream (kept in the outcome of a later failure).
    fn drive(
        &mut self,
        ctx: u32,
        ex: &Exchange,
        upstream: &mut Option<UpstreamSeen>,
    ) -> Result<Outcome, Stop> {
        let root = self.store.data().root_id;
        guest!(
            self,
            context_create,
            ctx,
            (ctx, root),
            Phase::RequestHeaders
        )?;
        match self.decode(ctx, ex)? {
            DecodeEnd::Upstream => {
                let mut seen = self.spare.upstream.take().unwrap_or_default();
                let (mut response, mut body) = {
                    let s = &mut self.host().stream;
                    let request_body = &s.request_body;
                    s.request_headers
                        .with_entries(|h| envoy::fill_upstream_seen(h, request_body, &mut seen));
                    // The response side is empty until now; its buffers are refilled in place.
                    (
                        std::mem::take(&mut s.response_headers),
                        std::mem::take(&mut s.response_body),
                    )
                };
                response.refill(|h| envoy::fill_upstream_response(&ex.upstream, h, &mut body));
                *upstream = Some(seen);
                match self.encode(ctx, response, body, true)? {
                    EncodeEnd::Done => Ok(self.response_outcome(upstream.take())),
                    EncodeEnd::Direct(lr) => {
                        let (h, b) = local_reply_parts(&lr, true);
                        let s = &mut self.host().stream;
                        s.response_headers = h;
                        s.response_body = b;
                        Ok(self.response_outcome(upstream.take()))
                    }
                }
            }
            DecodeEnd::LocalReply {
                reply,
                request_complete,
            } => {
                let (h, b) = local_reply_parts(&reply, request_complete);
                self.encode(ctx, h, b, false)?;
                Ok(self.response_outcome(None))
            }
            DecodeEnd::Hung => {
                let name = self.name.to_string();
                self.host().env.log(
                    LogLevel::Warn,
                    format!("{name}: the filter paused the request and never resumed it: Envoy answers at the stream idle timeout"),
                );
                let (h, b) = envoy::local_reply(408, &[], b"stream timeout", true);
                self.encode(ctx, HeaderMap::from_pairs(h), b, false)?;
                Ok(self.response_outcome(None))
            }
        }
    }

    fn response_outcome(&mut self, upstream: Option<UpstreamSeen>) -> Outcome {
        let mut out = std::mem::take(&mut self.spare);
        let s = &mut self.store.data_mut().stream;
        let body = &s.response_body;
        s.response_headers
            .with_entries(|h| envoy::fill_client_outcome(h, body, None, &mut out));
        out.upstream = upstream;
        out
    }

    /// Actions the last callback asked for, as Envoy runs them after the VM call. Returns how
    /// the direction ended, if it did.
    fn after_callback(
        &mut self,
        dir: &mut Dir,
        which: Direction,
        ctx: u32,
        phase: Phase,
    ) -> Result<Option<LocalReply>, Stop> {
        let after = std::mem::take(&mut self.host().after);
        if after.close {
            return Err(Stop::NoResponse {
                phase,
                message: "the filter closed the stream (proxy_close_stream): Envoy resets it, the client gets no response".into(),
            });
        }
        if let Some(lr) = after.local_reply {
            let s = &mut self.host().stream;
            if !s.local_reply_sent {
                s.local_reply_sent = true;
                return Ok(Some(lr));
            }
        }
        let resume = match which {
            Direction::Request => after.continue_request,
            Direction::Response => after.continue_response,
        };
        if resume {
            return self.resume(dir, which, ctx);
        }
        Ok(None)
    }

    /// `continueDecoding` / `continueEncoding`.
    fn resume(
        &mut self,
        dir: &mut Dir,
        which: Direction,
        ctx: u32,
    ) -> Result<Option<LocalReply>, Stop> {
        if !dir.headers_done {
            dir.headers_done = true;
            if dir.stop_all {
                dir.stop_all = false;
                if dir.body_pending {
                    // The body buffered in front of the filter is now delivered to it.
                    return self.deliver_body(dir, which, ctx);
                }
            }
        }
        if dir.body_paused {
            dir.body_paused = false;
            dir.body_done = true;
            let s = &mut self.host().stream;
            match which {
                Direction::Request => s.request_body_open = false,
                Direction::Response => s.response_body_open = false,
            }
        }
        Ok(None)
    }

    /// The body callback, the whole body at once with `end_of_stream = true`.
    fn deliver_body(
        &mut self,
        dir: &mut Dir,
        which: Direction,
        ctx: u32,
    ) -> Result<Option<LocalReply>, Stop> {
        dir.body_pending = false;
        let (result, phase) = match which {
            Direction::Request => {
                let s = &mut self.host().stream;
                s.request_body_open = true;
                let len = s.request_body.len() as u32;
                (
                    guest!(self, request_body, ctx, (ctx, len, 1), Phase::RequestBody)?,
                    Phase::RequestBody,
                )
            }
            Direction::Response => {
                let s = &mut self.host().stream;
                s.response_body_open = true;
                let len = s.response_body.len() as u32;
                (
                    guest!(self, response_body, ctx, (ctx, len, 1), Phase::ResponseBody)?,
                    Phase::ResponseBody,
                )
            }
        };
        let stop_next = self.store.data().after.stop_next_iteration;
        if !stop_next && result.unwrap_or(abi::ACTION_CONTINUE) == abi::ACTION_CONTINUE {
            // Continue also lets stopped headers go (Envoy's commonContinue).
            dir.body_done = true;
            dir.headers_done = true;
            let s = &mut self.host().stream;
            match which {
                Direction::Request => s.request_body_open = false,
                Direction::Response => s.response_body_open = false,
            }
        } else {
            dir.body_paused = true;
        }
        self.after_callback(dir, which, ctx, phase)
    }

    /// Delivers pending events (http call responses, queue notifications) until none is left
    /// or the direction ended with a local reply.
    fn pump(
        &mut self,
        dir: &mut Dir,
        which: Direction,
        ctx: u32,
    ) -> Result<Option<LocalReply>, Stop> {
        while let Some(ev) = self.host().events.pop_front() {
            self.deliver(ev)?;
            if let Some(lr) = self.after_callback(dir, which, ctx, Phase::HttpCallResponse)? {
                return Ok(Some(lr));
            }
        }
        Ok(None)
    }

    /// The request side: headers, body, events.
    fn decode(&mut self, ctx: u32, ex: &Exchange) -> Result<DecodeEnd, Stop> {
        let mut dir = Dir::new(!ex.body.is_empty());
        let (n, eos) = {
            let s = &mut self.host().stream;
            s.request_headers_open = true;
            (
                s.request_headers.len() as u32,
                u32::from(ex.body.is_empty()),
            )
        };
        let result = guest!(
            self,
            request_headers,
            ctx,
            (ctx, n, eos),
            Phase::RequestHeaders
        )?;
        let stop_next = self.store.data().after.stop_next_iteration;
        match self.headers_status(result, stop_next) {
            HeadersStatus::Continue => {
                dir.headers_done = true;
                self.host().stream.request_headers_open = false;
            }
            HeadersStatus::StopIteration => {}
            HeadersStatus::StopAll => dir.stop_all = true,
        }
        if let Some(lr) =
            self.after_callback(&mut dir, Direction::Request, ctx, Phase::RequestHeaders)?
        {
            // Sent while Envoy dispatched the request headers: a request body is still to come.
            return Ok(DecodeEnd::LocalReply {
                reply: lr,
                request_complete: ex.body.is_empty(),
            });
        }
        // From here on Envoy has read the whole request (the body callback has end_of_stream,
        // and a paused request's body arrives while the filter waits).
        if dir.body_pending && !dir.stop_all {
            if let Some(lr) = self.deliver_body(&mut dir, Direction::Request, ctx)? {
                return Ok(DecodeEnd::LocalReply {
                    reply: lr,
                    request_complete: true,
                });
            }
        }
        if let Some(lr) = self.pump(&mut dir, Direction::Request, ctx)? {
            return Ok(DecodeEnd::LocalReply {
                reply: lr,
                request_complete: true,
            });
        }
        // Envoy keeps `request_headers_` when the headers were paused and the body continued
        // them: the filter can still read them later. Nothing to close here.
        if dir.complete() {
            Ok(DecodeEnd::Upstream)
        } else {
            Ok(DecodeEnd::Hung)
        }
    }

    /// The response side: `headers`/`body` are the upstream's response or a local reply.
    fn encode(
        &mut self,
        ctx: u32,
        headers: HeaderMap,
        body: Vec<u8>,
        from_upstream: bool,
    ) -> Result<EncodeEnd, Stop> {
        let mut dir = Dir::new(!body.is_empty());
        let (n, eos) = {
            let s = &mut self.host().stream;
            s.response_headers = headers;
            s.response_headers_open = true;
            s.response_started = true;
            s.response_body = body;
            s.response_body_open = false;
            (
                s.response_headers.len() as u32,
                u32::from(s.response_body.is_empty()),
            )
        };
        let result = guest!(
            self,
            response_headers,
            ctx,
            (ctx, n, eos),
            Phase::ResponseHeaders
        )?;
        let stop_next = self.store.data().after.stop_next_iteration;
        match self.headers_status(result, stop_next) {
            HeadersStatus::Continue => {
                dir.headers_done = true;
                self.host().stream.response_headers_open = false;
            }
            HeadersStatus::StopIteration => {}
            HeadersStatus::StopAll => dir.stop_all = true,
        }
        let direct = |lr: LocalReply| {
            if from_upstream {
                Ok(EncodeEnd::Direct(lr))
            } else {
                // A local reply is being sent already: Envoy ignores another.
                Ok(EncodeEnd::Done)
            }
        };
        if let Some(lr) =
            self.after_callback(&mut dir, Direction::Response, ctx, Phase::ResponseHeaders)?
        {
            return direct(lr);
        }
        if dir.body_pending && !dir.stop_all {
            if let Some(lr) = self.deliver_body(&mut dir, Direction::Response, ctx)? {
                return direct(lr);
            }
        }
        if let Some(lr) = self.pump(&mut dir, Direction::Response, ctx)? {
            return direct(lr);
        }
        if !dir.complete() {
            return Err(Stop::NoResponse {
                phase: if dir.headers_done { Phase::ResponseBody } else { Phase::ResponseHeaders },
                message: "the filter paused the response and never resumed it: Envoy resets the stream at the stream idle timeout, the client gets no response".into(),
            });
        }
        let s = &mut self.host().stream;
        s.response_headers_open = false;
        s.response_body_open = false;
        Ok(EncodeEnd::Done)
    }

    /// `proxy_on_log` (headers readable, as in Envoy's access-log phase), `proxy_on_done`,
    /// `proxy_on_delete`.
    fn finish(&mut self, ctx: u32) -> Result<(), Stop> {
        {
            let s = &mut self.host().stream;
            s.access_log = true;
            s.request_headers_open = false;
            s.request_body_open = false;
            s.response_headers_open = false;
            s.response_body_open = false;
        }
        guest!(self, log, ctx, ctx, Phase::Log)?;
        self.host().stream.access_log = false;
        if guest!(self, done, ctx, ctx, Phase::Done)? == Some(0) {
            self.host().done_pending.push(ctx);
        }
        guest!(self, delete, ctx, ctx, Phase::Done)?;
        let host = self.host();
        host.done_pending.retain(|&c| c != ctx);
        host.after = Default::default();
        Ok(())
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
