//! bench_passthrough: a proxy-wasm HTTP filter that does nothing. Every callback is the SDK's
//! default (`Continue`), so a request through it costs exactly what the host and the SDK's
//! dispatch cost: the in-process harness's baseline. Twin of `bench/guests/passthrough.lua`.
//! Bench-only (no catalogue entry): built by `bench/build/build.rs` like the filters.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(PassthroughRoot) });
}}

struct PassthroughRoot;

impl Context for PassthroughRoot {}

impl RootContext for PassthroughRoot {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Passthrough))
    }
}

struct Passthrough;

impl Context for Passthrough {}

impl HttpContext for Passthrough {}
