//! Envoy's Lua filter (`envoy.filters.http.lua`, Envoy 1.40) on mlua/LuaJIT, LuaJIT being
//! Envoy's own engine: a [`LuaFilter`] is a checked script, a [`LuaVm`] one Lua state (one Envoy
//! worker) that runs exchanges through `envoy_on_request` / `envoy_on_response` exactly as the
//! filter would, building every outcome through [`super::envoy`].
//!
//! The stream handle API is split by part of Envoy's API, each a Rust module with the Lua half of
//! its methods next to it (`<part>.lua`): `handle` (the handle's scope model, `respond`, the
//! coroutine driver), `headers`, `body` (`body`, `bodyChunks`, `trailers`, buffers),
//! `http_call`, `metadata` (route metadata), `stream_info` (`streamInfo`,
//! `dynamicMetadata`, `connection`), `misc` (logs, time, base64, public keys), `stdlib`
//! (the standard library with clock and randomness following [`Env`]) and `sandbox` (what a
//! filter cannot reach: files, processes, the budget hook). The Lua halves form one
//! prelude chunk run before the script; it keeps per-stream flags and the objects' scope in Lua
//! (cheap), while headers and bodies live in Rust (`Stream`) and are reached through a few
//! primitives (the hot ones raw C functions on LuaJIT's API). Errors Envoy raises in the script
//! are raised in Lua, so they carry the script's line exactly as Envoy's do
//! (`[string "..."]:12: message`). Handles and their objects are Lua tables, not userdata.
//!
//! One exchange: `envoy_on_request(handle)` runs as a coroutine (Envoy's `start`); unless it
//! replied locally, the upstream receives what [`envoy::upstream_seen`] says and answers with
//! [`envoy::upstream_response`]; `envoy_on_response(handle)` runs on that response or on the
//! local reply (as observed in Envoy); the client's outcome is [`envoy::client_outcome`]. A
//! runtime error is logged at Error (the script's message, with its line) and the stream goes
//! on (fail-open, as Envoy 1.40 does); only a spent budget, the memory limit or a use of what
//! the [`sandbox`] takes away (files, processes, `os.exit`, the hook) make `run` fail.
//!
//! Limits: with a finite `env.limits.instructions` a count hook (every 1000 VM instructions)
//! enforces the budget per callback and the JIT is turned off (LuaJIT's compiled traces never
//! call hooks, so a hot endless loop would escape any budget); with `u64::MAX` there is no hook
//! and the JIT is on, as in Envoy (use that for benchmarks). The memory limit is
//! `env.limits.memory_bytes` through mlua's allocator.

mod body;
mod crypto;
mod handle;
mod headers;
mod http_call;
mod metadata;
mod misc;
mod sandbox;
mod stdlib;
mod stream_info;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use mlua::{Function, HookTriggers, Lua, LuaOptions, StdLib, Table, Value, VmState};

use filterbench_model::corpus::HeaderPair;
use filterbench_model::outcome::{Outcome, UpstreamSeen};

use super::watchdog::Watch;
use super::{envoy, Env, Exchange, FailureKind, FilterError, FilterVm, Phase};

/// The instruction budget that turns the budget off (and the JIT on).
pub const UNLIMITED_INSTRUCTIONS: u64 = u64::MAX;

/// The VM instructions between two calls of the budget hook.
const HOOK_EVERY: u32 = 1000;

/// The prelude: the Lua half of the handle API, then the driver. One chunk, shared locals.
const PRELUDE: &str = concat!(
    include_str!("handle.lua"),
    include_str!("headers.lua"),
    include_str!("body.lua"),
    include_str!("http_call.lua"),
    include_str!("metadata.lua"),
    include_str!("stream_info.lua"),
    include_str!("misc.lua"),
    include_str!("stdlib.lua"),
    include_str!("sandbox.lua"),
    include_str!("driver.lua"),
);

/// A Lua filter script, checked to compile.
#[derive(Debug, Clone)]
pub struct LuaFilter {
    name: String,
    source: Arc<str>,
}

impl LuaFilter {
    /// Checks that `source` compiles (a syntax error is `Invalid` at `Load`, with Lua's message
    /// and line number).
    pub fn load(name: &str, source: &str) -> Result<LuaFilter, FilterError> {
        let lua = Lua::new();
        lua.load(source)
            .set_name(chunk_name(name, source))
            .set_mode(mlua::chunk::ChunkMode::Text)
            .into_function()
            .map_err(|e| FilterError {
                filter: name.to_string(),
                phase: Phase::Load,
                kind: FailureKind::Invalid,
                message: error_message(&e),
            })?;
        Ok(LuaFilter {
            name: name.to_string(),
            source: source.into(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A fresh Lua state (one Envoy worker): the standard libraries `luaL_openlibs` opens, less
    /// what [`sandbox`] takes away, the handle API, then the script run once; its globals persist
    /// across the exchanges run on this VM.
    pub fn vm(&self, env: Env) -> Result<LuaVm, FilterError> {
        let fail = |kind: FailureKind, message: String| FilterError {
            filter: self.name.clone(),
            phase: Phase::Start,
            kind,
            message,
        };
        // Envoy opens every library (luaL_openlibs). The harness opens them all but ffi (which
        // reaches any C function of the process) and `sandbox.lua` then takes away what reaches
        // outside the state (files, processes, the hook): see `sandbox.rs`.
        // SAFETY: debug is opened (mlua calls it unsafe) for traceback/getinfo only; the
        // sandbox removes the rest of it before the script runs.
        let lua = unsafe { Lua::unsafe_new_with(StdLib::ALL ^ StdLib::FFI, LuaOptions::default()) };
        lua.set_memory_limit(env.limits.memory_bytes)
            .map_err(|e| fail(FailureKind::Runtime, error_message(&e)))?;
        let budgeted = env.limits.instructions != UNLIMITED_INSTRUCTIONS;
        let started_ns = env.clock.now_ns();
        let env_wall = env.limits.wall;
        let shared = Rc::new(Shared {
            filter: self.name.clone(),
            limit: env.limits.instructions,
            env,
            stream: RefCell::new(Stream::default()),
            used: Cell::new(0),
            budget_hit: Cell::new(false),
            memory_hit: Cell::new(false),
            forbidden: RefCell::new(None),
            started_ns,
            watch: budgeted.then(|| Watch::new(&self.name, env_wall)),
            prints: Cell::new(0),
        });
        let setup =
            handle_api(&lua, &shared, budgeted).map_err(|e| shared.failure(&e, Phase::Start))?;

        if budgeted {
            install_budget_hook(&lua, &shared)
                .map_err(|e| fail(FailureKind::Runtime, error_message(&e)))?;
        }

        shared.used.set(0);
        let watched = shared.watch.as_ref().map(|w| w.enter(Phase::Start));
        let top = lua
            .load(&*self.source)
            .set_name(chunk_name(&self.name, &self.source))
            .set_mode(mlua::chunk::ChunkMode::Text)
            .exec();
        if let Some((_, message)) = shared.forbidden.take() {
            return Err(fail(FailureKind::Forbidden, message));
        }
        top.map_err(|e| shared.failure(&e, Phase::Start))?;
        let globals = lua.globals();
        let on_request: Value = globals
            .raw_get("envoy_on_request")
            .map_err(|e| shared.failure(&e, Phase::Start))?;
        let on_response: Value = globals
            .raw_get("envoy_on_response")
            .map_err(|e| shared.failure(&e, Phase::Start))?;
        let run: Function = setup
            .call((on_request, on_response))
            .map_err(|e| shared.failure(&e, Phase::Start))?;
        drop(watched);
        Ok(LuaVm { lua, shared, run })
    }
}

/// The handle API registered (one module per part of Envoy's API) and the prelude run: the
/// function that, given the script's `envoy_on_request`/`envoy_on_response`, runs a stream.
fn handle_api(lua: &Lua, shared: &Rc<Shared>, budgeted: bool) -> mlua::Result<Function> {
    let p = lua.create_table()?;
    handle::register(lua, &p, shared)?;
    headers::register(lua, &p, shared)?;
    body::register(lua, &p, shared)?;
    http_call::register(lua, &p, shared)?;
    stream_info::register(lua, &p)?;
    misc::register(lua, &p, shared)?;
    stdlib::register(lua, &p, shared)?;
    sandbox::register(lua, &p, shared)?;
    let struct_mt = lua.create_table()?;
    let list_mt = lua.create_table()?;
    let null = lua.create_table()?;
    let config = metadata::config_table(lua, &shared.env.config, &struct_mt, &list_mt, &null)?;
    let prelude = lua
        .load(PRELUDE)
        .set_name("=envoy.lua.prelude")
        .into_function()?;
    prelude.call((p, struct_mt, list_mt, null, config, budgeted))
}

/// Envoy loads the script with `luaL_loadstring`, so the chunk is named by its own text and
/// errors read `[string "first line..."]:12: ...`. A script with a NUL byte cannot be a C
/// string name; it is named after the filter.
fn chunk_name(filter: &str, source: &str) -> String {
    if source.contains('\0') {
        format!("={filter}")
    } else {
        source.to_string()
    }
}

/// The message of a Lua error without mlua's decorations (callback wrappers, tracebacks).
pub(crate) fn error_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::RuntimeError(m) | mlua::Error::MemoryError(m) => m.clone(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::CallbackError { cause, .. } => error_message(cause),
        mlua::Error::WithContext { cause, .. } => error_message(cause),
        other => other.to_string(),
    }
}

fn is_memory_error(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => {
            is_memory_error(cause)
        }
        mlua::Error::RuntimeError(m) => m == LUA_OUT_OF_MEMORY,
        _ => false,
    }
}

/// The message LuaJIT raises when an allocation fails.
const LUA_OUT_OF_MEMORY: &str = "not enough memory";

/// The state of the exchange being run, shared by the primitives (index 0: the request side,
/// 1: the response side).
#[derive(Debug)]
pub(crate) struct Stream {
    /// The header maps the filter sees (pseudo-headers included).
    pub headers: [Vec<HeaderPair>; 2],
    /// The bodies (buffered or passing through: one chunk each).
    pub bodies: [Vec<u8>; 2],
    /// The headers as they were when they continued before the end of the callback (waiting for
    /// a body chunk or trailers): what went on the wire.
    pub sent: [Option<Vec<HeaderPair>>; 2],
    /// respond() was called: the response is the local reply.
    pub responded: bool,
    /// envoy_on_request waited (for the body, a chunk or a call): by then Envoy has read the
    /// whole request.
    pub request_waited: bool,
    /// What the upstream received, when `reached` (kept as a buffer between exchanges).
    pub upstream: UpstreamSeen,
    pub reached: bool,
    /// Where the filter is, for errors.
    pub phase: Phase,
}

impl Default for Stream {
    fn default() -> Self {
        Stream {
            headers: [Vec::new(), Vec::new()],
            bodies: [Vec::new(), Vec::new()],
            sent: [None, None],
            responded: false,
            request_waited: false,
            upstream: UpstreamSeen::default(),
            reached: false,
            phase: Phase::RequestHeaders,
        }
    }
}

/// What the primitives and the budget hook share.
pub(crate) struct Shared {
    pub filter: String,
    pub env: Env,
    pub stream: RefCell<Stream>,
    /// Instruction budget per callback (`u64::MAX`: none).
    pub limit: u64,
    /// Instructions used by the running callback, in steps of [`HOOK_EVERY`].
    pub used: Cell<u64>,
    pub budget_hit: Cell<bool>,
    pub memory_hit: Cell<bool>,
    /// The script used something the sandbox takes away: where, and the message (the first use).
    pub forbidden: RefCell<Option<(Phase, String)>>,
    /// env.clock when the state was made (os.clock() counts from here).
    pub started_ns: u64,
    /// The wall-clock watchdog (budgeted VMs only): see [`watchdog`](super::watchdog).
    pub watch: Option<Arc<Watch>>,
    /// Lines the script printed (`print`, shown on stderr up to a cap).
    pub prints: Cell<u32>,
}

impl Shared {
    /// The running call moved on to `phase` (the watchdog names it if the call never returns).
    pub fn entered(&self, phase: Phase) {
        if let Some(w) = &self.watch {
            w.phase(phase);
        }
    }
}

/// The budget hook: every [`HOOK_EVERY`] instructions it charges them to the running callback.
/// Once the budget is spent it raises, and from then on raises at every instruction: a script
/// that catches the error with pcall is stopped at the first instruction outside the pcall
/// (raising only every N instructions could always land inside a loop's pcall). The next
/// exchange puts the normal hook back.
fn install_budget_hook(lua: &Lua, shared: &Rc<Shared>) -> mlua::Result<()> {
    let budget = shared.clone();
    lua.set_global_hook(
        HookTriggers::new().every_nth_instruction(HOOK_EVERY),
        move |lua, _| {
            let used = budget.used.get().saturating_add(u64::from(HOOK_EVERY));
            budget.used.set(used);
            if used <= budget.limit {
                return Ok(VmState::Continue);
            }
            budget.budget_hit.set(true);
            let message = format!("instruction budget of {} exhausted", budget.limit);
            let again = message.clone();
            lua.set_global_hook(HookTriggers::new().every_nth_instruction(1), move |_, _| {
                Err(mlua::Error::runtime(again.clone()))
            })?;
            Err(mlua::Error::runtime(message))
        },
    )
}

impl Shared {
    /// The filter error for a Lua error that stops the VM's work.
    fn failure(&self, e: &mlua::Error, phase: Phase) -> FilterError {
        let (kind, message) = if self.budget_hit.get() {
            (
                FailureKind::Budget,
                format!(
                    "instruction budget of {} exhausted (endless loop?)",
                    self.limit
                ),
            )
        } else if self.memory_hit.get() || is_memory_error(e) {
            (
                FailureKind::Memory,
                format!(
                    "memory limit of {} bytes reached",
                    self.env.limits.memory_bytes
                ),
            )
        } else if matches!(e, mlua::Error::SyntaxError { .. }) {
            (FailureKind::Invalid, error_message(e))
        } else {
            (FailureKind::Runtime, error_message(e))
        };
        FilterError {
            filter: self.filter.clone(),
            phase,
            kind,
            message,
        }
    }
}

/// One Lua state running a filter, as one Envoy worker does.
pub struct LuaVm {
    lua: Lua,
    shared: Rc<Shared>,
    run: Function,
}

impl LuaVm {
    /// The Lua state, for tests and tools.
    pub fn lua(&self) -> &Lua {
        &self.lua
    }
}

impl FilterVm for LuaVm {
    fn run(&mut self, exchange: &Exchange) -> Result<Outcome, FilterError> {
        let mut out = Outcome::default();
        self.run_into(exchange, &mut out)?;
        Ok(out)
    }

    fn run_into(&mut self, exchange: &Exchange, out: &mut Outcome) -> Result<(), FilterError> {
        {
            let mut st = self.shared.stream.borrow_mut();
            envoy::fill_request_headers(exchange, &mut st.headers[0]);
            st.bodies[0].clone_from(&exchange.body);
            // The upstream's answer depends on the exchange only, so it is made now, in place
            // (re-using the strings), into the response side, which nothing reads before the
            // response callback: P.upstream hands it on unless respond() replaced it with the
            // local reply.
            let st = &mut *st;
            envoy::fill_upstream_response(
                &exchange.upstream,
                &mut st.headers[1],
                &mut st.bodies[1],
            );
            st.sent = [None, None];
            st.responded = false;
            st.request_waited = false;
            st.reached = false;
            st.phase = Phase::RequestHeaders;
        }
        let _current = Current::enter(&self.shared);
        if self.shared.budget_hit.replace(false) {
            install_budget_hook(&self.lua, &self.shared)
                .map_err(|e| self.shared.failure(&e, Phase::RequestHeaders))?;
        }
        self.shared.used.set(0);
        self.shared.memory_hit.set(false);
        self.shared.forbidden.take();
        let watched = self
            .shared
            .watch
            .as_ref()
            .map(|w| w.enter(Phase::RequestHeaders));
        let result = self.run.call::<()>(!exchange.body.is_empty());
        drop(watched);
        if let Some((phase, message)) = self.shared.forbidden.take() {
            return Err(FilterError {
                filter: self.shared.filter.clone(),
                phase,
                kind: FailureKind::Forbidden,
                message,
            });
        }
        let failed = match &result {
            Err(e) => Some(e.clone()),
            Ok(()) if self.shared.budget_hit.get() || self.shared.memory_hit.get() => {
                Some(mlua::Error::runtime("stopped"))
            }
            Ok(()) => None,
        };
        let st = self.shared.stream.borrow_mut();
        if let Some(e) = failed {
            return Err(self.shared.failure(&e, st.phase));
        }
        let headers = st.sent[1].as_deref().unwrap_or(&st.headers[1]);
        let upstream = st.reached.then_some(&st.upstream);
        envoy::fill_client_outcome(headers, &st.bodies[1], upstream, out);
        Ok(())
    }

    fn memory_bytes(&self) -> usize {
        self.lua.used_memory()
    }
}

/// A side index from Lua (0: request, 1: response).
fn side(i: usize) -> usize {
    i & 1
}

/// Sets `t[name] = f` for a primitive.
fn set_fn<A, R, F>(lua: &Lua, t: &Table, name: &str, f: F) -> mlua::Result<()>
where
    A: mlua::FromLuaMulti,
    R: mlua::IntoLuaMulti,
    F: Fn(&Lua, A) -> mlua::Result<R> + 'static,
{
    t.raw_set(name, lua.create_function(f)?)
}

// ---------------------------------------------------------------------------------------------
// Raw primitives: the hot ones (header and body access, logs, time) are plain C functions on
// LuaJIT's API rather than mlua callbacks. An mlua callback costs about 80 ns plus 40 ns per
// string argument, and returning a string costs some 250 ns once a memory limit is set (mlua then
// wraps every allocation in a protected call); Envoy's own C++ wrappers cost a few tens of ns,
// and the benchmark should not charge the Lua side for the harness. These functions take
// arguments already checked by the Lua half, reach the running VM's [`Shared`] through a
// thread-local set for the duration of [`LuaVm::run`], never panic into Lua (failures answer
// with no value), and push a string only when the memory limit leaves ample room (else they
// answer `false` and the Lua half calls the mlua version, whose allocation is protected).

thread_local! {
    static CURRENT: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

/// Makes `shared` the VM the raw primitives act on, until dropped.
struct Current(*const Shared);

impl Current {
    fn enter(shared: &Rc<Shared>) -> Current {
        Current(CURRENT.with(|c| c.replace(Rc::as_ptr(shared))))
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// Runs `f` on the running VM's state; no results when there is none or if `f` panics.
///
/// # Safety
/// `l` is the state calling a raw primitive.
unsafe fn raw<F>(l: *mut mlua::lua_State, f: F) -> std::os::raw::c_int
where
    F: FnOnce(*mut mlua::lua_State, &Shared) -> std::os::raw::c_int,
{
    let shared = CURRENT.with(|c| c.get());
    if shared.is_null() {
        return 0;
    }
    // SAFETY: CURRENT points at the Shared of the LuaVm whose run() is on the stack.
    let shared = unsafe { &*shared };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(l, shared))).unwrap_or(0)
}

/// Argument `i` as bytes (the Lua half passes strings); empty when it is not a string.
///
/// # Safety
/// `l` is a live state; the slice lives as long as the argument stays on the stack.
unsafe fn arg_bytes<'a>(l: *mut mlua::lua_State, i: std::os::raw::c_int) -> &'a [u8] {
    let mut len = 0usize;
    let p = unsafe { mlua::ffi::lua_tolstring(l, i, &mut len) };
    if p.is_null() {
        return &[];
    }
    unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) }
}

/// Argument `i` as a non-negative integer (0 when not a number).
///
/// # Safety
/// `l` is a live state.
unsafe fn arg_usize(l: *mut mlua::lua_State, i: std::os::raw::c_int) -> usize {
    let n = unsafe { mlua::ffi::lua_tonumber(l, i) };
    if n > 0.0 {
        n as usize
    } else {
        0
    }
}

/// Pushes a string when the memory limit leaves room for it (then no allocation can fail);
/// otherwise pushes `false` so the Lua half takes the protected path.
///
/// # Safety
/// `l` is a live state with a free stack slot.
unsafe fn push_bytes(
    l: *mut mlua::lua_State,
    shared: &Shared,
    bytes: &[u8],
) -> std::os::raw::c_int {
    let kb = unsafe { mlua::ffi::lua_gc(l, mlua::ffi::LUA_GCCOUNT, 0) } as usize;
    let used = kb.saturating_mul(1024);
    let need = used
        .saturating_add(bytes.len().saturating_mul(2))
        .saturating_add(RAW_HEADROOM);
    unsafe {
        if need > shared.env.limits.memory_bytes {
            mlua::ffi::lua_pushboolean(l, 0);
        } else {
            mlua::ffi::lua_pushlstring_(l, bytes.as_ptr().cast(), bytes.len());
        }
    }
    1
}

/// Room kept below the memory limit for a raw string push (string table growth, GC slack).
const RAW_HEADROOM: usize = 4 << 20;

/// Sets `t[name]` to a raw primitive.
fn set_raw(lua: &Lua, t: &Table, name: &str, f: mlua::lua_CFunction) -> mlua::Result<()> {
    // SAFETY: the raw primitives follow the contract above.
    t.raw_set(name, unsafe { lua.create_c_function(f)? })
}
