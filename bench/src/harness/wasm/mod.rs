//! The proxy-wasm ABI 0.2.1 host on wasmtime: runs a pair's Wasm twin in-process the way Envoy
//! (1.40, `envoy.filters.http.wasm`, as configured by `loadgen::bootstrap`) runs it.
//!
//! - [`WasmFilter::compile`] compiles a module once (one process-wide engine with fuel
//!   metering, the module, a linker with every host function, `instantiate_pre`).
//! - [`WasmFilter::vm`] makes one VM (one Envoy worker's VM): a store, the instance,
//!   `_initialize` (or `_start`), `proxy_on_context_create(root, 0)`, `proxy_on_vm_start`,
//!   `proxy_on_configure` with the plugin configuration (`env.config_raw` as it is, else
//!   `env.config` as compact JSON). The order is proxy-wasm-cpp-host's (`ContextBase::onStart`): the root context is created before
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
//! - WASI `proc_exit` is a harness error of kind `Forbidden` (a plugin must not exit; Envoy 1.40
//!   logs it and lets the request go on, see `bench/hostile/README.md`).
//! - A trap or panic in any callback fails the VM as Envoy does with
//!   `fail_open: false`: the stream gets [`envoy::wasm_failure_reply`] (503, empty body; the
//!   upstream's view is kept when the request had already reached it), the trap is logged at
//!   `Critical`, and every later `run` on the VM gets the same 503 without calling the guest.
//!   A trap in `proxy_on_log`/`done`/`delete` leaves the already sent response as it is.
//! - Resource limits are harness limits, not Envoy's: the instruction budget
//!   (`Limits::instructions`, wasmtime fuel, per request whatever chain of callbacks it takes,
//!   and at most `vm::MAX_EVENTS` call responses / queue notifications per request), the
//!   linear-memory limit (`Limits::memory_bytes`, a `memory.grow` past it traps) and the same
//!   limit on the bytes the host copies for the VM in one request (logs, bodies, headers, calls,
//!   properties, metrics samples) and holds for the filter (shared data and queues) make `run`
//!   (or `vm`) return a [`FilterError`] of kind `Budget` / `Memory`; the VM is then unusable and
//!   every later `run` returns the same error.
//! - `proxy_log` lines at or above the host log level (default `Info`, Envoy's `wasm:info`) go to
//!   `env.logs` as the plugin wrote them; stdout/stderr (`fd_write`) at info/error.

mod abi;
mod compile;
mod exchange;
mod headers;
mod host;
mod memory;
mod properties;
mod vm;
mod wasi;

#[cfg(test)]
mod tests;

pub use abi::MetricKind;
pub use compile::WasmFilter;
pub use host::Metric;
pub use vm::WasmVm;

use super::{FailureKind, FilterError, Phase};

#[cfg(test)]
use super::{Env, Exchange, FilterVm, LogLevel};

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

fn error(name: &str, phase: Phase, kind: FailureKind, message: impl Into<String>) -> FilterError {
    FilterError {
        filter: name.to_string(),
        phase,
        kind,
        message: message.into(),
    }
}
