//! The host side of one Wasm VM: its state (`Host`, the wasmtime store data) and every
//! proxy-wasm ABI 0.2.1 host function (module `env`), with Envoy's semantics. The WASI functions
//! are in `../wasi.rs`, guest memory access in `../memory.rs`.
//!
//! One table, [`host_functions!`] below, names every `env` function once and generates both
//! [`ENV_FUNCTIONS`] and [`define`] from it (as proxy-wasm-cpp-host's `FOR_ALL_HOST_FUNCTIONS`).
//! A table entry is `area::function`: the export name is the adapter's own name, so the two
//! cannot disagree. Each adapter only decodes the guest's arguments (pointers and lengths into
//! linear memory, return slots); what Envoy does with them is a method of the host state,
//! testable without a guest. One file per ABI area:
//!
//! - `state.rs`: the host state ([`Host`], the stream, deferred actions, events, limits)
//! - `logging.rs`: logging, the log level, the clock, the tick period
//! - `buffers.rs`: bodies, configurations, the call response body
//! - `maps.rs`: header maps
//! - `context.rs`: properties, the effective context, `proxy_done`, foreign functions
//! - `shared.rs`: shared data and shared queues ([`Shared`], per compiled filter)
//! - `stream.rs`: continuing and closing the stream, local replies
//! - `calls.rs`: http calls, the call status, gRPC (the harness has none)
//! - `metrics.rs`: metrics
//!
//! Host functions that act on a stream (headers, bodies, local replies, continue/close) only
//! record what Envoy would do; actions Envoy defers until the VM call returns
//! (`addAfterVmCallAction`: continue, local reply, close) are collected in [`After`] and carried
//! out by the exchange driver (`../exchange.rs`).

use wasmtime::Linker;

use super::abi::Status;

/// What every `env` host function returns to the guest: a `Status` code (a trap is an `Err`).
type R = wasmtime::Result<u32>;

fn ok(status: Status) -> R {
    Ok(status.code())
}

/// Copies `src` into `dst` (a block allocated for it). Should the guest's allocator have
/// changed the source meanwhile (it may call host functions), the copy is cut or zero-padded
/// rather than panicking.
fn fill(dst: &mut [u8], src: &[u8]) {
    let n = dst.len().min(src.len());
    dst[..n].copy_from_slice(&src[..n]);
    dst[n..].fill(0);
}

/// The guest memory and the host state, or `InvalidMemoryAccess` before the memory is known.
macro_rules! split_or_fault {
    ($caller:expr) => {
        match super::super::memory::split($caller) {
            Some(pair) => pair,
            None => return super::ok(super::super::abi::Status::InvalidMemoryAccess),
        }
    };
}

/// The value, or the `Status` of the error returned to the guest.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return super::ok(super::super::abi::Status::from(e)),
        }
    };
}

mod buffers;
mod calls;
mod context;
mod logging;
mod maps;
mod metrics;
mod shared;
mod state;
mod stream;

pub use metrics::Metric;
pub use shared::Shared;
pub use state::{
    CallResponse, Event, Host, HostMemoryExceeded, LocalReply, MemoryLimitExceeded, ProcExit,
    EVENT_BYTES,
};

/// The one list of host functions: emits [`ENV_FUNCTIONS`] (the names) and [`define`] (the
/// linker definitions) from the same `area::function` entries.
macro_rules! host_functions {
    ($($area:ident :: $name:ident),* $(,)?) => {
        /// The proxy-wasm ABI functions the host defines, in module `env` (for the report and
        /// tests).
        pub const ENV_FUNCTIONS: &[&str] = &[$(stringify!($name)),*];

        /// Defines every `env` host function in `linker`.
        pub fn define(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
            $(linker.func_wrap("env", stringify!($name), $area::$name)?;)*
            Ok(())
        }
    };
}

host_functions! {
    logging::proxy_log,
    logging::proxy_get_log_level,
    logging::proxy_get_current_time_nanoseconds,
    logging::proxy_set_tick_period_milliseconds,
    buffers::proxy_get_buffer_bytes,
    buffers::proxy_set_buffer_bytes,
    buffers::proxy_get_buffer_status,
    maps::proxy_get_header_map_pairs,
    maps::proxy_set_header_map_pairs,
    maps::proxy_get_header_map_size,
    maps::proxy_get_header_map_value,
    maps::proxy_add_header_map_value,
    maps::proxy_replace_header_map_value,
    maps::proxy_remove_header_map_value,
    context::proxy_get_property,
    context::proxy_set_property,
    shared::proxy_get_shared_data,
    shared::proxy_set_shared_data,
    shared::proxy_register_shared_queue,
    shared::proxy_resolve_shared_queue,
    shared::proxy_enqueue_shared_queue,
    shared::proxy_dequeue_shared_queue,
    stream::proxy_continue_stream,
    stream::proxy_close_stream,
    stream::proxy_continue_request,
    stream::proxy_continue_response,
    stream::proxy_send_local_response,
    calls::proxy_http_call,
    calls::proxy_get_status,
    calls::proxy_grpc_call,
    calls::proxy_grpc_stream,
    calls::proxy_grpc_send,
    calls::proxy_grpc_cancel,
    calls::proxy_grpc_close,
    context::proxy_set_effective_context,
    context::proxy_done,
    context::proxy_call_foreign_function,
    metrics::proxy_define_metric,
    metrics::proxy_increment_metric,
    metrics::proxy_record_metric,
    metrics::proxy_get_metric,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::LogLevel;

    #[test]
    fn the_function_list_names_each_function_once() {
        let mut names = ENV_FUNCTIONS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ENV_FUNCTIONS.len());
        assert_eq!(ENV_FUNCTIONS.len(), 41);
        assert!(ENV_FUNCTIONS.iter().all(|n| n.starts_with("proxy_")));
    }

    #[test]
    fn define_links_every_listed_function() {
        let engine = wasmtime::Engine::default();
        let mut linker = Linker::new(&engine);
        define(&mut linker).unwrap();
        let env = crate::harness::Env::new(serde_json::json!({}));
        let host = Host::new("t".into(), env, Default::default(), LogLevel::Info);
        let defined: Vec<String> = linker
            .iter(&mut wasmtime::Store::new(&engine, host))
            .map(|(module, name, _)| format!("{module}::{name}"))
            .collect();
        for name in ENV_FUNCTIONS {
            assert!(defined.contains(&format!("env::{name}")), "{name}");
        }
        assert_eq!(defined.len(), ENV_FUNCTIONS.len());
    }
}
