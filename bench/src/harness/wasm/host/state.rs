//! The host state of one VM ([`Host`], the wasmtime store data): the stream in progress, what
//! Envoy does once a VM call returns ([`After`]), the events the loop delivers next, the limits.
//! The per-area semantics are `impl Host` blocks in the area files (`maps.rs`, `buffers.rs`, ...).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use wasmtime::{Memory, ResourceLimiter, TypedFunc};

use super::super::headers::HeaderMap;
use super::metrics::Metrics;
use super::shared::Shared;
use crate::harness::{Env, LogLevel};

/// A unique id per VM (for shared-queue ownership).
pub fn next_vm_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The linear-memory limit (`Limits::memory_bytes`).
#[derive(Debug)]
pub struct Limiter {
    pub max_bytes: usize,
    /// Set when the guest asked for more: (bytes asked, limit).
    pub exceeded: Option<usize>,
}

/// The error a `memory.grow` past the limit traps with.
#[derive(Debug, Clone, thiserror::Error)]
#[error("memory limit exceeded: the guest asked for {desired} bytes of linear memory, the limit is {limit} bytes")]
pub struct MemoryLimitExceeded {
    pub desired: usize,
    pub limit: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.exceeded = Some(desired);
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                desired,
                limit: self.max_bytes,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// The error a host function traps with when the bytes the host copies or keeps for the VM in
/// one unit of work (a request, a tick, the start) would pass the memory limit.
#[derive(Debug, Clone, thiserror::Error)]
#[error("host memory limit exceeded: the filter made the host hold {wanted} bytes ({what}), the limit is {limit} bytes")]
pub struct HostMemoryExceeded {
    pub wanted: usize,
    pub limit: usize,
    pub what: &'static str,
}

/// What one queued event (a call response, a queue notification) costs besides its bytes.
pub const EVENT_BYTES: usize = 128;

/// The error `proc_exit` traps with.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the module called WASI proc_exit({0}): a proxy-wasm plugin must not exit, and cannot end the harness")]
pub struct ProcExit(pub u32);

/// A local reply the filter asked for (`proxy_send_local_response`).
#[derive(Debug, Clone)]
pub struct LocalReply {
    pub status: u32,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// What Envoy does once the current VM call has returned.
#[derive(Debug, Default)]
pub struct After {
    /// `proxy_send_local_response` was called: the callback's result becomes "stop all".
    pub stop_next_iteration: bool,
    pub continue_request: bool,
    pub continue_response: bool,
    /// `proxy_close_stream` on the HTTP request or response.
    pub close: bool,
    pub local_reply: Option<LocalReply>,
}

/// Something the event loop delivers after the current callback.
#[derive(Debug)]
pub enum Event {
    HttpCall {
        context: u32,
        token: u32,
        headers: HeaderMap,
        body: Vec<u8>,
    },
    QueueReady {
        root: u32,
        queue: u32,
    },
}

/// An http call's response while `proxy_on_http_call_response` runs.
#[derive(Debug)]
pub struct CallResponse {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// The HTTP stream (one exchange) in progress.
#[derive(Debug, Default)]
pub struct Stream {
    /// The stream's context id; 0 when no stream is in progress.
    pub id: u32,
    pub request_headers: HeaderMap,
    /// Envoy's `request_headers_` is set: from the headers callback until they are continued.
    pub request_headers_open: bool,
    pub request_body: Vec<u8>,
    pub request_body_open: bool,
    pub response_headers: HeaderMap,
    pub response_headers_open: bool,
    pub response_started: bool,
    pub response_body: Vec<u8>,
    pub response_body_open: bool,
    /// `proxy_on_log` runs: headers are read-only and come from the access log.
    pub access_log: bool,
    pub local_reply_sent: bool,
    /// `proxy_set_property` values (Envoy: the stream's filter state).
    pub filter_state: Vec<(Vec<u8>, Vec<u8>)>,
    /// When the request started (ns since the epoch).
    pub start_ns: u64,
    pub request_body_size: usize,
}

impl Stream {
    pub fn reset(&mut self) {
        self.id = 0;
        self.request_headers.clear();
        self.request_headers_open = false;
        self.request_body.clear();
        self.request_body_open = false;
        self.response_headers.clear();
        self.response_headers_open = false;
        self.response_started = false;
        self.response_body.clear();
        self.response_body_open = false;
        self.access_log = false;
        self.local_reply_sent = false;
        self.filter_state.clear();
        self.start_ns = 0;
        self.request_body_size = 0;
    }
}

/// The store data of one VM.
pub struct Host {
    pub name: Arc<str>,
    pub env: Env,
    /// Messages below this level are dropped (Envoy's `wasm` logger level).
    pub log_level: LogLevel,
    pub limiter: Limiter,
    pub memory: Option<Memory>,
    pub alloc: Option<TypedFunc<u32, u32>>,
    pub shared: Arc<Shared>,
    pub vm_id: u64,
    pub root_id: u32,
    pub next_context_id: u32,
    pub next_token: u32,
    pub tick_period_ms: u32,
    pub vm_config: Vec<u8>,
    pub plugin_config: Vec<u8>,
    /// `proxy_on_configure` runs (the plugin configuration is readable).
    pub configuring: bool,
    pub metrics: Metrics,
    /// The context of the callback in progress, and the effective one
    /// (`proxy_set_effective_context`).
    pub current: u32,
    pub effective: u32,
    pub stream: Stream,
    pub call_response: Option<CallResponse>,
    pub events: VecDeque<Event>,
    pub after: After,
    /// `proxy_get_status`: code and message of the last http call / gRPC close.
    pub status: (u32, Vec<u8>),
    /// Contexts whose `proxy_on_done` returned false (they may call `proxy_done`).
    pub done_pending: Vec<u32>,
    /// Bytes the host copied or kept for the guest in the current unit of work (see
    /// [`Host::charge`]).
    pub copied: usize,
}

impl Host {
    pub fn new(name: Arc<str>, env: Env, shared: Arc<Shared>, log_level: LogLevel) -> Host {
        let plugin_config = match &env.config_raw {
            Some(raw) => raw.to_vec(),
            None => env.config.to_string().into_bytes(),
        };
        let max_bytes = env.limits.memory_bytes;
        Host {
            name,
            env,
            log_level,
            limiter: Limiter {
                max_bytes,
                exceeded: None,
            },
            memory: None,
            alloc: None,
            shared,
            vm_id: next_vm_id(),
            root_id: 0,
            next_context_id: 1,
            next_token: 1,
            tick_period_ms: 0,
            vm_config: Vec::new(),
            plugin_config,
            configuring: false,
            metrics: Metrics::default(),
            current: 0,
            effective: 0,
            stream: Stream::default(),
            call_response: None,
            events: VecDeque::new(),
            after: After::default(),
            status: (0, Vec::new()),
            done_pending: Vec::new(),
            copied: 0,
        }
    }

    /// Counts `n` bytes the host copies from the guest (logs, bodies, headers, calls, ...) in the
    /// current unit of work against the memory limit: linear memory is limited by wasmtime, but
    /// one cheap host call can make the host copy all of it, and a loop of them would get the
    /// harness killed. Past the limit the host function traps and the run fails with a
    /// `Memory` error naming the filter and phase.
    pub fn charge(&mut self, n: usize, what: &'static str) -> wasmtime::Result<()> {
        let wanted = self.copied.saturating_add(n);
        if wanted > self.limiter.max_bytes {
            return Err(wasmtime::Error::new(HostMemoryExceeded {
                wanted,
                limit: self.limiter.max_bytes,
                what,
            }));
        }
        self.copied = wanted;
        Ok(())
    }

    pub fn new_context_id(&mut self) -> u32 {
        let id = self.next_context_id;
        self.next_context_id = self.next_context_id.wrapping_add(1).max(1);
        id
    }

    pub fn log(&self, level: LogLevel, message: impl Into<String>) {
        if level >= self.log_level {
            self.env.log(level, message);
        }
    }

    /// The stream, when the effective context is the stream's.
    pub fn stream(&self) -> Option<&Stream> {
        (self.stream.id != 0 && self.effective == self.stream.id).then_some(&self.stream)
    }

    pub(super) fn stream_mut(&mut self) -> Option<&mut Stream> {
        (self.stream.id != 0 && self.effective == self.stream.id).then_some(&mut self.stream)
    }

    pub(super) fn in_access_log(&self) -> bool {
        self.stream().is_some_and(|s| s.access_log)
    }
}
