//! Compiling a module once ([`WasmFilter`]: one process-wide engine per metering mode, the
//! module checked against the ABI, a linker with every host function, `instantiate_pre`) and
//! making VMs from it ([`WasmFilter::vm`]); the guest exports the host calls ([`Exports`]).

use std::sync::{Arc, OnceLock};

use wasmtime::{
    Config, Engine, ExternType, FuncType, Instance, InstancePre, Linker, Module, OptLevel, Store,
    Trap, TypedFunc, ValType, WasmParams, WasmResults,
};

use super::host::{self, Host, ProcExit, Shared};
use super::vm::{classify, describe, Stop, VmState, WasmVm};
use super::{error, wasi, Metering};
use crate::harness::{Env, FailureKind, FilterError, LogLevel, Phase};
use filterbench_model::outcome::Outcome;

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

pub(super) struct Compiled {
    name: Arc<str>,
    metering: Metering,
    module: Module,
    pre: InstancePre<Host>,
    pub(super) shared: Arc<Shared>,
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
    pub(super) compiled: Arc<Compiled>,
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
                filterbench_model::one_line(&format!("{e:#}"))
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
                filterbench_model::one_line(&format!("{e:#}"))
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
                filterbench_model::one_line(&format!("{e:#}"))
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
                filterbench_model::one_line(&format!("{e:#}"))
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
            events_delivered: 0,
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
pub(super) struct Exports {
    pub(super) memory: wasmtime::Memory,
    pub(super) alloc: TypedFunc<u32, u32>,
    pub(super) initialize: Option<TypedFunc<(), ()>>,
    pub(super) start: Option<TypedFunc<(), ()>>,
    pub(super) main: Option<TypedFunc<(u32, u32), u32>>,
    pub(super) context_create: Option<TypedFunc<(u32, u32), ()>>,
    pub(super) vm_start: Option<TypedFunc<(u32, u32), u32>>,
    pub(super) configure: Option<TypedFunc<(u32, u32), u32>>,
    pub(super) tick: Option<TypedFunc<u32, ()>>,
    pub(super) request_headers: Option<TypedFunc<(u32, u32, u32), u32>>,
    pub(super) request_body: Option<TypedFunc<(u32, u32, u32), u32>>,
    pub(super) response_headers: Option<TypedFunc<(u32, u32, u32), u32>>,
    pub(super) response_body: Option<TypedFunc<(u32, u32, u32), u32>>,
    pub(super) http_call_response: Option<CallResponseFn>,
    pub(super) queue_ready: Option<TypedFunc<(u32, u32), ()>>,
    pub(super) log: Option<TypedFunc<u32, ()>>,
    pub(super) done: Option<TypedFunc<u32, u32>>,
    pub(super) delete: Option<TypedFunc<u32, ()>>,
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
