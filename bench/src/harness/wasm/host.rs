//! The host side of one Wasm VM: its state (`Host`, the wasmtime store data) and every
//! proxy-wasm ABI 0.2.1 host function (module `env`), with Envoy's semantics. The WASI functions
//! are in `wasi.rs`, guest memory access in `memory.rs`.
//!
//! Host functions that act on a stream (headers, bodies, local replies, continue/close) only
//! record what Envoy would do; actions Envoy defers until the VM call returns
//! (`addAfterVmCallAction`: continue, local reply, close) are collected in [`After`] and carried
//! out by the exchange driver in `mod.rs`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use wasmtime::{Caller, Linker, Memory, ResourceLimiter, TypedFunc};

use super::abi::{self, buffer, map, stream, MetricKind, Status};
use super::headers::{self, HeaderMap};
use super::memory;
use super::properties;
use crate::harness::{envoy, CallReply, CallRequest, Env, LogLevel};

/// Shared data: key -> (value, compare-and-swap token).
type SharedData = HashMap<Vec<u8>, (Vec<u8>, u32)>;

/// State shared by every VM of one compiled filter (Envoy: per `vm_id`, across workers): shared
/// data and shared queues.
#[derive(Debug, Default)]
pub struct Shared {
    pub(super) data: Mutex<SharedData>,
    next_cas: AtomicU32,
    queues: Mutex<Queues>,
}

#[derive(Debug, Default)]
struct Queues {
    by_name: HashMap<Vec<u8>, u32>,
    queues: HashMap<u32, Queue>,
    next_id: u32,
}

#[derive(Debug)]
struct Queue {
    /// The VM that registered the queue and its root context: `proxy_on_queue_ready` goes there.
    owner_vm: u64,
    owner_root: u32,
    items: VecDeque<Vec<u8>>,
}

impl Shared {
    fn next_cas(&self) -> u32 {
        loop {
            let cas = self
                .next_cas
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_add(1);
            if cas != 0 {
                return cas;
            }
        }
    }
}

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

/// The error `proc_exit` traps with.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the module called WASI proc_exit({0}); a proxy-wasm plugin must not exit")]
pub struct ProcExit(pub u32);

/// One metric (`proxy_define_metric`); Envoy shows it as `wasmcustom.<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    pub kind: MetricKind,
    pub name: String,
    /// Counter or gauge value; for a histogram, the number of recorded values.
    pub value: i64,
    /// Recorded histogram values.
    pub samples: Vec<u64>,
}

/// The metrics of one VM. Ids follow Envoy: the low 2 bits are the type, ids step by 4; defining
/// a name twice gives a new id for the same metric.
#[derive(Debug, Default)]
pub struct Metrics {
    pub list: Vec<Metric>,
    by_name: HashMap<(MetricKind, String), usize>,
    by_id: HashMap<u32, usize>,
    next: [u32; 3],
}

impl Metrics {
    fn define(&mut self, kind: MetricKind, name: String) -> u32 {
        let idx = match self.by_name.get(&(kind, name.clone())) {
            Some(&idx) => idx,
            None => {
                self.list.push(Metric {
                    kind,
                    name: name.clone(),
                    value: 0,
                    samples: Vec::new(),
                });
                self.by_name.insert((kind, name), self.list.len() - 1);
                self.list.len() - 1
            }
        };
        let slot = kind as usize;
        let id = self.next[slot] * 4 + kind as u32;
        self.next[slot] += 1;
        self.by_id.insert(id, idx);
        id
    }

    fn get_mut(&mut self, id: u32) -> Option<&mut Metric> {
        let idx = *self.by_id.get(&id)?;
        self.list.get_mut(idx)
    }
}

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
}

impl Host {
    pub fn new(name: Arc<str>, env: Env, shared: Arc<Shared>, log_level: LogLevel) -> Host {
        let plugin_config = env.config.to_string().into_bytes();
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
        }
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

    fn stream_mut(&mut self) -> Option<&mut Stream> {
        (self.stream.id != 0 && self.effective == self.stream.id).then_some(&mut self.stream)
    }

    /// Envoy's `getConstMap`.
    fn read_map(&self, map_type: u32) -> MapRead<'_> {
        let s = self.stream();
        match map_type {
            map::HTTP_REQUEST_HEADERS => match s {
                Some(s) if s.access_log || s.request_headers_open => {
                    MapRead::Map(&s.request_headers)
                }
                _ => MapRead::Null,
            },
            map::HTTP_RESPONSE_HEADERS => match s {
                Some(s) if (s.access_log && s.response_started) || s.response_headers_open => {
                    MapRead::Map(&s.response_headers)
                }
                _ => MapRead::Null,
            },
            map::HTTP_CALL_RESPONSE_HEADERS => match &self.call_response {
                Some(r) => MapRead::Map(&r.headers),
                None => MapRead::Null,
            },
            map::HTTP_CALL_RESPONSE_TRAILERS => match &self.call_response {
                Some(_) => MapRead::Empty,
                None => MapRead::Null,
            },
            // No trailers in the model; no gRPC.
            map::HTTP_REQUEST_TRAILERS
            | map::HTTP_RESPONSE_TRAILERS
            | map::GRPC_CALL_INITIAL_METADATA
            | map::GRPC_CALL_TRAILING_METADATA => MapRead::Null,
            _ => MapRead::Unknown,
        }
    }

    fn in_access_log(&self) -> bool {
        self.stream().is_some_and(|s| s.access_log)
    }

    /// Envoy's `getMap` (mutable): request headers until they are continued, response headers
    /// until they are continued; nothing else can be modified.
    fn write_map(&mut self, map_type: u32) -> Option<&mut HeaderMap> {
        let s = self.stream_mut()?;
        if s.access_log {
            return None;
        }
        match map_type {
            map::HTTP_REQUEST_HEADERS if s.request_headers_open => Some(&mut s.request_headers),
            map::HTTP_RESPONSE_HEADERS if s.response_headers_open => Some(&mut s.response_headers),
            _ => None,
        }
    }

    /// Envoy's `getBuffer` for reading.
    fn read_buffer(&self, buffer_type: u32) -> Result<&[u8], Status> {
        match buffer_type {
            buffer::HTTP_REQUEST_BODY => match self.stream() {
                Some(s) if s.request_body_open => Ok(&s.request_body),
                Some(_) => Ok(&[]),
                None => Err(Status::NotFound),
            },
            buffer::HTTP_RESPONSE_BODY => match self.stream() {
                Some(s) if s.response_body_open => Ok(&s.response_body),
                Some(_) => Ok(&[]),
                None => Err(Status::NotFound),
            },
            buffer::HTTP_CALL_RESPONSE_BODY => match &self.call_response {
                Some(r) => Ok(&r.body),
                None => Err(Status::NotFound),
            },
            buffer::VM_CONFIGURATION => Ok(&self.vm_config),
            buffer::PLUGIN_CONFIGURATION if self.configuring => Ok(&self.plugin_config),
            buffer::PLUGIN_CONFIGURATION
            | buffer::DOWNSTREAM_DATA
            | buffer::UPSTREAM_DATA
            | buffer::GRPC_CALL_MESSAGE
            | buffer::FOREIGN_FUNCTION_ARGUMENTS => Err(Status::NotFound),
            _ => Err(Status::BadArgument),
        }
    }
}

enum MapRead<'a> {
    Map(&'a HeaderMap),
    /// The map exists and is empty.
    Empty,
    /// Envoy's map pointer is null (not available in this callback).
    Null,
    /// Not a map type.
    Unknown,
}

type R = wasmtime::Result<u32>;

/// Copies `src` into `dst` (a block allocated for it). Should the guest's allocator have
/// changed the source meanwhile (it may call host functions), the copy is cut or zero-padded
/// rather than panicking.
fn fill(dst: &mut [u8], src: &[u8]) {
    let n = dst.len().min(src.len());
    dst[..n].copy_from_slice(&src[..n]);
    dst[n..].fill(0);
}

fn ok(status: Status) -> R {
    Ok(status.code())
}

macro_rules! split_or_fault {
    ($caller:expr) => {
        match memory::split($caller) {
            Some(pair) => pair,
            None => return ok(Status::InvalidMemoryAccess),
        }
    };
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return ok(Status::from(e)),
        }
    };
}

// ---- logging, time, timers -----------------------------------------------------------------

fn proxy_log(mut caller: Caller<'_, Host>, level: u32, ptr: u32, len: u32) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let Some(level) = abi::log_level_from_u32(level) else {
        return ok(Status::BadArgument);
    };
    let message = tri!(memory::read(data, ptr, len));
    host.log(level, String::from_utf8_lossy(message));
    ok(Status::Ok)
}

fn proxy_get_log_level(mut caller: Caller<'_, Host>, ret: u32) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    tri!(memory::write_u32(
        data,
        ret,
        abi::log_level_to_u32(host.log_level)
    ));
    ok(Status::Ok)
}

fn proxy_get_current_time_nanoseconds(mut caller: Caller<'_, Host>, ret: u32) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    tri!(memory::write_u64(data, ret, host.env.clock.now_ns()));
    ok(Status::Ok)
}

fn proxy_set_tick_period_milliseconds(mut caller: Caller<'_, Host>, period: u32) -> R {
    caller.data_mut().tick_period_ms = period;
    ok(Status::Ok)
}

// ---- buffers -------------------------------------------------------------------------------

fn proxy_get_buffer_bytes(
    mut caller: Caller<'_, Host>,
    buffer_type: u32,
    start: u32,
    max_size: u32,
    ptr_ptr: u32,
    size_ptr: u32,
) -> R {
    let (start, len) = {
        let host = caller.data();
        let buf = match host.read_buffer(buffer_type) {
            Ok(b) => b,
            Err(s) => return ok(s),
        };
        if start.checked_add(max_size).is_none() || start as usize > buf.len() {
            return ok(Status::BadArgument);
        }
        let start = start as usize;
        (start, (max_size as usize).min(buf.len() - start))
    };
    if len == 0 {
        // Envoy returns Ok without touching the return slots.
        return ok(Status::Ok);
    }
    let status = memory::copy_out(&mut caller, len, ptr_ptr, size_ptr, |host, dst| {
        if let Ok(buf) = host.read_buffer(buffer_type) {
            fill(dst, buf.get(start..).unwrap_or_default());
        }
    })?;
    ok(status)
}

fn proxy_get_buffer_status(
    mut caller: Caller<'_, Host>,
    buffer_type: u32,
    size_ptr: u32,
    flags_ptr: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let size = match host.read_buffer(buffer_type) {
        Ok(b) => b.len(),
        Err(s) => return ok(s),
    };
    tri!(memory::check(data, flags_ptr, 4));
    tri!(memory::write_u32(data, size_ptr, size as u32));
    tri!(memory::write_u32(data, flags_ptr, 0));
    ok(Status::Ok)
}

/// Envoy's `Buffer::copyFrom`: `start == 0` drains `length` bytes and prepends the data
/// (so `(0, len)` replaces the whole buffer and `(0, 0)` prepends); `start >= size` appends;
/// anything else is `BadArgument`.
fn copy_from(buf: &mut Vec<u8>, start: usize, length: usize, data: &[u8]) -> Status {
    if start == 0 {
        let drain = length.min(buf.len());
        buf.splice(0..drain, data.iter().copied());
        Status::Ok
    } else if start >= buf.len() {
        buf.extend_from_slice(data);
        Status::Ok
    } else {
        Status::BadArgument
    }
}

fn proxy_set_buffer_bytes(
    mut caller: Caller<'_, Host>,
    buffer_type: u32,
    start: u32,
    length: u32,
    data_ptr: u32,
    data_size: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let value = tri!(memory::read(data, data_ptr, data_size));
    let (start, length) = (start as usize, length as usize);
    let status = match buffer_type {
        buffer::HTTP_REQUEST_BODY => match host.stream_mut() {
            Some(s) if s.request_body_open && !s.access_log => {
                copy_from(&mut s.request_body, start, length, value)
            }
            _ => Status::NotFound,
        },
        buffer::HTTP_RESPONSE_BODY => match host.stream_mut() {
            Some(s) if s.response_body_open && !s.access_log => {
                copy_from(&mut s.response_body, start, length, value)
            }
            _ => Status::NotFound,
        },
        // Read-only (Envoy's const buffers), or not there.
        buffer::HTTP_CALL_RESPONSE_BODY
        | buffer::VM_CONFIGURATION
        | buffer::PLUGIN_CONFIGURATION => Status::BadArgument,
        buffer::DOWNSTREAM_DATA
        | buffer::UPSTREAM_DATA
        | buffer::GRPC_CALL_MESSAGE
        | buffer::FOREIGN_FUNCTION_ARGUMENTS => Status::NotFound,
        _ => Status::BadArgument,
    };
    ok(status)
}

// ---- header maps ---------------------------------------------------------------------------

fn proxy_get_header_map_pairs(
    mut caller: Caller<'_, Host>,
    map_type: u32,
    ptr_ptr: u32,
    size_ptr: u32,
) -> R {
    let len = match caller.data().read_map(map_type) {
        MapRead::Unknown => return ok(Status::BadArgument),
        MapRead::Map(m) => m.serialized_len(),
        MapRead::Empty | MapRead::Null => 0,
    };
    let status = memory::copy_out(&mut caller, len, ptr_ptr, size_ptr, |host, dst| match host
        .read_map(map_type)
    {
        MapRead::Map(m) if m.serialized_len() == dst.len() => m.serialize_into(dst),
        _ => dst.fill(0),
    })?;
    ok(status)
}

fn proxy_set_header_map_pairs(
    mut caller: Caller<'_, Host>,
    map_type: u32,
    ptr: u32,
    size: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let bytes = tri!(memory::read(data, ptr, size));
    let Ok(pairs) = headers::parse(bytes) else {
        return ok(Status::BadArgument);
    };
    match host.write_map(map_type) {
        Some(m) => {
            m.set_all(&pairs);
            ok(Status::Ok)
        }
        None => ok(Status::BadArgument),
    }
}

fn proxy_get_header_map_size(mut caller: Caller<'_, Host>, map_type: u32, ret: u32) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let Some(size) = host.write_map(map_type).map(|m| m.byte_size()) else {
        return ok(Status::BadArgument);
    };
    tri!(memory::write_u32(data, ret, size as u32));
    ok(Status::Ok)
}

fn proxy_get_header_map_value(
    mut caller: Caller<'_, Host>,
    map_type: u32,
    key_ptr: u32,
    key_size: u32,
    ptr_ptr: u32,
    size_ptr: u32,
) -> R {
    let (key, len) = {
        let (data, host) = split_or_fault!(&mut caller);
        let key = tri!(memory::read(data, key_ptr, key_size));
        let len = match host.read_map(map_type) {
            MapRead::Unknown => return ok(Status::BadArgument),
            MapRead::Null if host.in_access_log() => return ok(Status::NotFound),
            MapRead::Null => return ok(Status::BadArgument),
            MapRead::Empty => return ok(Status::NotFound),
            MapRead::Map(m) => match m.get(key) {
                Some(v) => v.len(),
                None => return ok(Status::NotFound),
            },
        };
        (key.to_vec(), len)
    };
    let status = memory::copy_out(&mut caller, len, ptr_ptr, size_ptr, |host, dst| {
        if let MapRead::Map(m) = host.read_map(map_type) {
            fill(dst, m.get(&key).unwrap_or_default());
        }
    })?;
    ok(status)
}

/// Reads a key and a value from guest memory and applies `f` to the writable map.
fn modify_map(
    caller: &mut Caller<'_, Host>,
    map_type: u32,
    key: (u32, u32),
    value: Option<(u32, u32)>,
    f: impl FnOnce(&mut HeaderMap, &[u8], &[u8]),
) -> R {
    let (data, host) = split_or_fault!(caller);
    let k = tri!(memory::read(data, key.0, key.1));
    let v = match value {
        Some((p, l)) => tri!(memory::read(data, p, l)),
        None => &[],
    };
    if map_type > map::HTTP_CALL_RESPONSE_TRAILERS {
        return ok(Status::BadArgument);
    }
    match host.write_map(map_type) {
        Some(m) => {
            f(m, k, v);
            ok(Status::Ok)
        }
        None => ok(Status::BadArgument),
    }
}

fn proxy_add_header_map_value(
    mut caller: Caller<'_, Host>,
    map_type: u32,
    key_ptr: u32,
    key_size: u32,
    value_ptr: u32,
    value_size: u32,
) -> R {
    modify_map(
        &mut caller,
        map_type,
        (key_ptr, key_size),
        Some((value_ptr, value_size)),
        |m, k, v| m.add(k, v),
    )
}

fn proxy_replace_header_map_value(
    mut caller: Caller<'_, Host>,
    map_type: u32,
    key_ptr: u32,
    key_size: u32,
    value_ptr: u32,
    value_size: u32,
) -> R {
    modify_map(
        &mut caller,
        map_type,
        (key_ptr, key_size),
        Some((value_ptr, value_size)),
        |m, k, v| m.replace(k, v),
    )
}

fn proxy_remove_header_map_value(
    mut caller: Caller<'_, Host>,
    map_type: u32,
    key_ptr: u32,
    key_size: u32,
) -> R {
    modify_map(
        &mut caller,
        map_type,
        (key_ptr, key_size),
        None,
        |m, k, _| m.remove(k),
    )
}

// ---- properties ----------------------------------------------------------------------------

fn proxy_get_property(
    mut caller: Caller<'_, Host>,
    path_ptr: u32,
    path_size: u32,
    ptr_ptr: u32,
    size_ptr: u32,
) -> R {
    let value = {
        let (data, host) = split_or_fault!(&mut caller);
        let path = tri!(memory::read(data, path_ptr, path_size));
        match properties::get(host, path) {
            Some(v) => v,
            None => return ok(Status::NotFound),
        }
    };
    let status = memory::copy_out(&mut caller, value.len(), ptr_ptr, size_ptr, |_, dst| {
        fill(dst, &value)
    })?;
    ok(status)
}

fn proxy_set_property(
    mut caller: Caller<'_, Host>,
    path_ptr: u32,
    path_size: u32,
    value_ptr: u32,
    value_size: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let path = tri!(memory::read(data, path_ptr, path_size));
    let value = tri!(memory::read(data, value_ptr, value_size));
    ok(properties::set(host, path, value))
}

// ---- shared data and queues ----------------------------------------------------------------

fn proxy_get_shared_data(
    mut caller: Caller<'_, Host>,
    key_ptr: u32,
    key_size: u32,
    ptr_ptr: u32,
    size_ptr: u32,
    cas_ptr: u32,
) -> R {
    let (value, cas) = {
        let (data, host) = split_or_fault!(&mut caller);
        let key = tri!(memory::read(data, key_ptr, key_size));
        tri!(memory::check(data, cas_ptr, 4));
        let map = host.shared.data.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some((v, cas)) => (v.clone(), *cas),
            None => return ok(Status::NotFound),
        }
    };
    let status = memory::copy_out(&mut caller, value.len(), ptr_ptr, size_ptr, |_, dst| {
        fill(dst, &value)
    })?;
    if status != Status::Ok {
        return ok(status);
    }
    let (data, _) = split_or_fault!(&mut caller);
    tri!(memory::write_u32(data, cas_ptr, cas));
    ok(Status::Ok)
}

fn proxy_set_shared_data(
    mut caller: Caller<'_, Host>,
    key_ptr: u32,
    key_size: u32,
    value_ptr: u32,
    value_size: u32,
    cas: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let key = tri!(memory::read(data, key_ptr, key_size));
    let value = tri!(memory::read(data, value_ptr, value_size));
    let shared = &host.shared;
    let mut map = shared.data.lock().unwrap_or_else(|p| p.into_inner());
    match map.get_mut(key) {
        Some(entry) => {
            if cas != 0 && cas != entry.1 {
                return ok(Status::CasMismatch);
            }
            *entry = (value.to_vec(), shared.next_cas());
        }
        None => {
            map.insert(key.to_vec(), (value.to_vec(), shared.next_cas()));
        }
    }
    ok(Status::Ok)
}

fn proxy_register_shared_queue(
    mut caller: Caller<'_, Host>,
    name_ptr: u32,
    name_size: u32,
    id_ptr: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let name = tri!(memory::read(data, name_ptr, name_size)).to_vec();
    tri!(memory::check(data, id_ptr, 4));
    let id = {
        let mut q = host.shared.queues.lock().unwrap_or_else(|p| p.into_inner());
        match q.by_name.get(&name) {
            Some(&id) => {
                if let Some(queue) = q.queues.get_mut(&id) {
                    queue.owner_vm = host.vm_id;
                    queue.owner_root = host.root_id;
                }
                id
            }
            None => {
                q.next_id = q.next_id.wrapping_add(1).max(1);
                let id = q.next_id;
                q.by_name.insert(name, id);
                q.queues.insert(
                    id,
                    Queue {
                        owner_vm: host.vm_id,
                        owner_root: host.root_id,
                        items: VecDeque::new(),
                    },
                );
                id
            }
        }
    };
    tri!(memory::write_u32(data, id_ptr, id));
    ok(Status::Ok)
}

fn proxy_resolve_shared_queue(
    mut caller: Caller<'_, Host>,
    vm_id_ptr: u32,
    vm_id_size: u32,
    name_ptr: u32,
    name_size: u32,
    id_ptr: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let vm_id = tri!(memory::read(data, vm_id_ptr, vm_id_size));
    let name = tri!(memory::read(data, name_ptr, name_size));
    tri!(memory::check(data, id_ptr, 4));
    // Only this plugin's VM id is known to the harness.
    if !vm_id.is_empty() && vm_id != host.name.as_bytes() {
        return ok(Status::NotFound);
    }
    let id = {
        let q = host.shared.queues.lock().unwrap_or_else(|p| p.into_inner());
        match q.by_name.get(name) {
            Some(&id) => id,
            None => return ok(Status::NotFound),
        }
    };
    tri!(memory::write_u32(data, id_ptr, id));
    ok(Status::Ok)
}

fn proxy_enqueue_shared_queue(
    mut caller: Caller<'_, Host>,
    id: u32,
    value_ptr: u32,
    value_size: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let value = tri!(memory::read(data, value_ptr, value_size));
    let notify = {
        let mut q = host.shared.queues.lock().unwrap_or_else(|p| p.into_inner());
        let Some(queue) = q.queues.get_mut(&id) else {
            return ok(Status::NotFound);
        };
        queue.items.push_back(value.to_vec());
        (queue.owner_vm == host.vm_id).then_some(queue.owner_root)
    };
    if let Some(root) = notify {
        host.events.push_back(Event::QueueReady { root, queue: id });
    }
    ok(Status::Ok)
}

fn proxy_dequeue_shared_queue(
    mut caller: Caller<'_, Host>,
    id: u32,
    ptr_ptr: u32,
    size_ptr: u32,
) -> R {
    let item = {
        let host = caller.data();
        let mut q = host.shared.queues.lock().unwrap_or_else(|p| p.into_inner());
        let Some(queue) = q.queues.get_mut(&id) else {
            return ok(Status::NotFound);
        };
        match queue.items.pop_front() {
            Some(item) => item,
            None => return ok(Status::Empty),
        }
    };
    let status = memory::copy_out(&mut caller, item.len(), ptr_ptr, size_ptr, |_, dst| {
        fill(dst, &item)
    })?;
    ok(status)
}

// ---- stream control ------------------------------------------------------------------------

fn continue_stream(host: &mut Host, stream_type: u32) -> Status {
    match stream_type {
        stream::HTTP_REQUEST | stream::HTTP_RESPONSE => {
            if host.stream().is_none() {
                return Status::Ok;
            }
            if stream_type == stream::HTTP_REQUEST {
                host.after.continue_request = true;
            } else {
                host.after.continue_response = true;
            }
            // Envoy's continueStream forgets the request maps for either direction.
            let s = &mut host.stream;
            s.request_headers_open = false;
            s.request_body_open = false;
            Status::Ok
        }
        stream::DOWNSTREAM => Status::Ok,
        stream::UPSTREAM => Status::Unimplemented,
        _ => Status::BadArgument,
    }
}

fn proxy_continue_stream(mut caller: Caller<'_, Host>, stream_type: u32) -> R {
    ok(continue_stream(caller.data_mut(), stream_type))
}

fn proxy_continue_request(mut caller: Caller<'_, Host>) -> R {
    ok(continue_stream(caller.data_mut(), stream::HTTP_REQUEST))
}

fn proxy_continue_response(mut caller: Caller<'_, Host>) -> R {
    ok(continue_stream(caller.data_mut(), stream::HTTP_RESPONSE))
}

fn proxy_close_stream(mut caller: Caller<'_, Host>, stream_type: u32) -> R {
    let host = caller.data_mut();
    match stream_type {
        stream::HTTP_REQUEST | stream::HTTP_RESPONSE => {
            if host.stream().is_some() {
                host.after.close = true;
            }
            ok(Status::Ok)
        }
        stream::DOWNSTREAM | stream::UPSTREAM => ok(Status::Ok),
        _ => ok(Status::BadArgument),
    }
}

#[allow(clippy::too_many_arguments)]
fn proxy_send_local_response(
    mut caller: Caller<'_, Host>,
    status_code: u32,
    details_ptr: u32,
    details_size: u32,
    body_ptr: u32,
    body_size: u32,
    headers_ptr: u32,
    headers_size: u32,
    _grpc_status: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    // The details only name the reply in Envoy's access log.
    tri!(memory::check(data, details_ptr, details_size));
    let body = tri!(memory::read(data, body_ptr, body_size));
    let raw = tri!(memory::read(data, headers_ptr, headers_size));
    let Ok(pairs) = headers::parse(raw) else {
        return ok(Status::BadArgument);
    };
    if host.stream().is_none() {
        // Envoy: no decoder callbacks (a root context): nothing happens.
        return ok(Status::Ok);
    }
    if host.after.local_reply.is_none() {
        host.after.local_reply = Some(LocalReply {
            status: status_code,
            headers: pairs
                .iter()
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .collect(),
            body: body.to_vec(),
        });
    }
    host.after.stop_next_iteration = true;
    ok(Status::Ok)
}

// ---- http calls ----------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
fn proxy_http_call(
    mut caller: Caller<'_, Host>,
    upstream_ptr: u32,
    upstream_size: u32,
    headers_ptr: u32,
    headers_size: u32,
    body_ptr: u32,
    body_size: u32,
    trailers_ptr: u32,
    trailers_size: u32,
    timeout_ms: u32,
    token_ptr: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let cluster = tri!(memory::read(data, upstream_ptr, upstream_size));
    let raw_headers = tri!(memory::read(data, headers_ptr, headers_size));
    let body = tri!(memory::read(data, body_ptr, body_size));
    let raw_trailers = tri!(memory::read(data, trailers_ptr, trailers_size));
    tri!(memory::check(data, token_ptr, 4));
    if (timeout_ms as i32) < 0 {
        return ok(Status::BadArgument);
    }
    let (Ok(pairs), Ok(_trailers)) = (headers::parse(raw_headers), headers::parse(raw_trailers))
    else {
        return ok(Status::BadArgument);
    };
    let mut request_headers = HeaderMap::new();
    for (k, v) in &pairs {
        request_headers.add(k, v);
    }
    for required in [&b":path"[..], b":method", b":authority"] {
        if request_headers.get(required).is_none() {
            return ok(Status::BadArgument);
        }
    }
    if !body.is_empty() {
        request_headers.replace(b"content-length", body.len().to_string().as_bytes());
    }
    let request = CallRequest {
        cluster: String::from_utf8_lossy(cluster).into_owned(),
        headers: request_headers.to_pairs(),
        body: body.to_vec(),
        // Envoy: 0 means no timeout.
        timeout_ms: if timeout_ms == 0 {
            u64::MAX
        } else {
            u64::from(timeout_ms)
        },
    };
    let reply = (host.env.responder)(&request);
    let Some((headers, body)) = envoy::call_response(&reply) else {
        debug_assert!(matches!(reply, CallReply::UnknownCluster));
        return ok(Status::BadArgument);
    };
    let token = host.next_token;
    host.next_token = host.next_token.wrapping_add(1).max(1);
    host.events.push_back(Event::HttpCall {
        context: host.effective,
        token,
        headers: HeaderMap::from_pairs(headers),
        body,
    });
    tri!(memory::write_u32(data, token_ptr, token));
    ok(Status::Ok)
}

fn proxy_get_status(mut caller: Caller<'_, Host>, code_ptr: u32, ptr_ptr: u32, size_ptr: u32) -> R {
    let (code, message) = {
        let (data, host) = split_or_fault!(&mut caller);
        tri!(memory::check(data, code_ptr, 4));
        host.status.clone()
    };
    let status = memory::copy_out(&mut caller, message.len(), ptr_ptr, size_ptr, |_, dst| {
        fill(dst, &message)
    })?;
    if status != Status::Ok {
        return ok(status);
    }
    let (data, _) = split_or_fault!(&mut caller);
    tri!(memory::write_u32(data, code_ptr, code));
    ok(Status::Ok)
}

// ---- gRPC: the harness has no gRPC services --------------------------------------------------

#[allow(clippy::too_many_arguments)]
fn proxy_grpc_call(
    mut caller: Caller<'_, Host>,
    upstream_ptr: u32,
    upstream_size: u32,
    service_ptr: u32,
    service_size: u32,
    method_ptr: u32,
    method_size: u32,
    metadata_ptr: u32,
    metadata_size: u32,
    message_ptr: u32,
    message_size: u32,
    _timeout_ms: u32,
    token_ptr: u32,
) -> R {
    let (data, _) = split_or_fault!(&mut caller);
    for (p, l) in [
        (upstream_ptr, upstream_size),
        (service_ptr, service_size),
        (method_ptr, method_size),
        (metadata_ptr, metadata_size),
        (message_ptr, message_size),
        (token_ptr, 4),
    ] {
        tri!(memory::check(data, p, l));
    }
    // Envoy: an upstream that is neither a GrpcService nor a known cluster.
    ok(Status::ParseFailure)
}

#[allow(clippy::too_many_arguments)]
fn proxy_grpc_stream(
    mut caller: Caller<'_, Host>,
    upstream_ptr: u32,
    upstream_size: u32,
    service_ptr: u32,
    service_size: u32,
    method_ptr: u32,
    method_size: u32,
    metadata_ptr: u32,
    metadata_size: u32,
    token_ptr: u32,
) -> R {
    let (data, _) = split_or_fault!(&mut caller);
    for (p, l) in [
        (upstream_ptr, upstream_size),
        (service_ptr, service_size),
        (method_ptr, method_size),
        (metadata_ptr, metadata_size),
        (token_ptr, 4),
    ] {
        tri!(memory::check(data, p, l));
    }
    ok(Status::ParseFailure)
}

fn proxy_grpc_send(mut caller: Caller<'_, Host>, _token: u32, ptr: u32, size: u32, _end: u32) -> R {
    let (data, _) = split_or_fault!(&mut caller);
    tri!(memory::check(data, ptr, size));
    ok(Status::NotFound)
}

fn proxy_grpc_cancel(_caller: Caller<'_, Host>, _token: u32) -> R {
    ok(Status::NotFound)
}

fn proxy_grpc_close(_caller: Caller<'_, Host>, _token: u32) -> R {
    ok(Status::NotFound)
}

// ---- contexts, FFI -------------------------------------------------------------------------

fn proxy_set_effective_context(mut caller: Caller<'_, Host>, context_id: u32) -> R {
    let host = caller.data_mut();
    if context_id == host.root_id || (host.stream.id != 0 && context_id == host.stream.id) {
        host.effective = context_id;
        ok(Status::Ok)
    } else {
        ok(Status::BadArgument)
    }
}

fn proxy_done(mut caller: Caller<'_, Host>) -> R {
    let host = caller.data_mut();
    let ctx = host.effective;
    match host.done_pending.iter().position(|&c| c == ctx) {
        Some(i) => {
            host.done_pending.swap_remove(i);
            ok(Status::Ok)
        }
        None => ok(Status::NotFound),
    }
}

fn proxy_call_foreign_function(
    mut caller: Caller<'_, Host>,
    name_ptr: u32,
    name_size: u32,
    args_ptr: u32,
    args_size: u32,
    _ptr_ptr: u32,
    _size_ptr: u32,
) -> R {
    let (data, _) = split_or_fault!(&mut caller);
    tri!(memory::check(data, name_ptr, name_size));
    tri!(memory::check(data, args_ptr, args_size));
    // No foreign functions are registered in the harness.
    ok(Status::NotFound)
}

// ---- metrics -------------------------------------------------------------------------------

fn proxy_define_metric(
    mut caller: Caller<'_, Host>,
    metric_type: u32,
    name_ptr: u32,
    name_size: u32,
    id_ptr: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let Some(kind) = MetricKind::from_u32(metric_type) else {
        return ok(Status::BadArgument);
    };
    let name = String::from_utf8_lossy(tri!(memory::read(data, name_ptr, name_size))).into_owned();
    tri!(memory::check(data, id_ptr, 4));
    let id = host.metrics.define(kind, name);
    tri!(memory::write_u32(data, id_ptr, id));
    ok(Status::Ok)
}

fn proxy_increment_metric(mut caller: Caller<'_, Host>, id: u32, offset: i64) -> R {
    let Some(m) = caller.data_mut().metrics.get_mut(id) else {
        return ok(Status::NotFound);
    };
    match m.kind {
        // Envoy: a counter only goes up.
        MetricKind::Counter if offset > 0 => m.value = m.value.saturating_add(offset),
        MetricKind::Counter => return ok(Status::BadArgument),
        MetricKind::Gauge => m.value = m.value.saturating_add(offset),
        MetricKind::Histogram => return ok(Status::BadArgument),
    }
    ok(Status::Ok)
}

fn proxy_record_metric(mut caller: Caller<'_, Host>, id: u32, value: u64) -> R {
    let Some(m) = caller.data_mut().metrics.get_mut(id) else {
        return ok(Status::NotFound);
    };
    match m.kind {
        // Envoy adds the value to a counter.
        MetricKind::Counter => m.value = m.value.saturating_add(value.min(i64::MAX as u64) as i64),
        MetricKind::Gauge => m.value = value.min(i64::MAX as u64) as i64,
        MetricKind::Histogram => {
            m.samples.push(value);
            m.value += 1;
        }
    }
    ok(Status::Ok)
}

fn proxy_get_metric(mut caller: Caller<'_, Host>, id: u32, ret: u32) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let Some(m) = host.metrics.get_mut(id) else {
        return ok(Status::NotFound);
    };
    if m.kind == MetricKind::Histogram {
        return ok(Status::BadArgument);
    }
    let value = m.value as u64;
    tri!(memory::write_u64(data, ret, value));
    ok(Status::Ok)
}

/// The proxy-wasm ABI functions the host defines, in module `env` (for the report and tests).
pub const ENV_FUNCTIONS: &[&str] = &[
    "proxy_log",
    "proxy_get_log_level",
    "proxy_get_current_time_nanoseconds",
    "proxy_set_tick_period_milliseconds",
    "proxy_get_buffer_bytes",
    "proxy_set_buffer_bytes",
    "proxy_get_buffer_status",
    "proxy_get_header_map_pairs",
    "proxy_set_header_map_pairs",
    "proxy_get_header_map_size",
    "proxy_get_header_map_value",
    "proxy_add_header_map_value",
    "proxy_replace_header_map_value",
    "proxy_remove_header_map_value",
    "proxy_get_property",
    "proxy_set_property",
    "proxy_get_shared_data",
    "proxy_set_shared_data",
    "proxy_register_shared_queue",
    "proxy_resolve_shared_queue",
    "proxy_enqueue_shared_queue",
    "proxy_dequeue_shared_queue",
    "proxy_continue_stream",
    "proxy_close_stream",
    "proxy_continue_request",
    "proxy_continue_response",
    "proxy_send_local_response",
    "proxy_http_call",
    "proxy_get_status",
    "proxy_grpc_call",
    "proxy_grpc_stream",
    "proxy_grpc_send",
    "proxy_grpc_cancel",
    "proxy_grpc_close",
    "proxy_set_effective_context",
    "proxy_done",
    "proxy_call_foreign_function",
    "proxy_define_metric",
    "proxy_increment_metric",
    "proxy_record_metric",
    "proxy_get_metric",
];

/// Defines every `env` host function in `linker`.
pub fn define(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    let m = "env";
    linker.func_wrap(m, "proxy_log", proxy_log)?;
    linker.func_wrap(m, "proxy_get_log_level", proxy_get_log_level)?;
    linker.func_wrap(
        m,
        "proxy_get_current_time_nanoseconds",
        proxy_get_current_time_nanoseconds,
    )?;
    linker.func_wrap(
        m,
        "proxy_set_tick_period_milliseconds",
        proxy_set_tick_period_milliseconds,
    )?;
    linker.func_wrap(m, "proxy_get_buffer_bytes", proxy_get_buffer_bytes)?;
    linker.func_wrap(m, "proxy_set_buffer_bytes", proxy_set_buffer_bytes)?;
    linker.func_wrap(m, "proxy_get_buffer_status", proxy_get_buffer_status)?;
    linker.func_wrap(m, "proxy_get_header_map_pairs", proxy_get_header_map_pairs)?;
    linker.func_wrap(m, "proxy_set_header_map_pairs", proxy_set_header_map_pairs)?;
    linker.func_wrap(m, "proxy_get_header_map_size", proxy_get_header_map_size)?;
    linker.func_wrap(m, "proxy_get_header_map_value", proxy_get_header_map_value)?;
    linker.func_wrap(m, "proxy_add_header_map_value", proxy_add_header_map_value)?;
    linker.func_wrap(
        m,
        "proxy_replace_header_map_value",
        proxy_replace_header_map_value,
    )?;
    linker.func_wrap(
        m,
        "proxy_remove_header_map_value",
        proxy_remove_header_map_value,
    )?;
    linker.func_wrap(m, "proxy_get_property", proxy_get_property)?;
    linker.func_wrap(m, "proxy_set_property", proxy_set_property)?;
    linker.func_wrap(m, "proxy_get_shared_data", proxy_get_shared_data)?;
    linker.func_wrap(m, "proxy_set_shared_data", proxy_set_shared_data)?;
    linker.func_wrap(
        m,
        "proxy_register_shared_queue",
        proxy_register_shared_queue,
    )?;
    linker.func_wrap(m, "proxy_resolve_shared_queue", proxy_resolve_shared_queue)?;
    linker.func_wrap(m, "proxy_enqueue_shared_queue", proxy_enqueue_shared_queue)?;
    linker.func_wrap(m, "proxy_dequeue_shared_queue", proxy_dequeue_shared_queue)?;
    linker.func_wrap(m, "proxy_continue_stream", proxy_continue_stream)?;
    linker.func_wrap(m, "proxy_close_stream", proxy_close_stream)?;
    linker.func_wrap(m, "proxy_continue_request", proxy_continue_request)?;
    linker.func_wrap(m, "proxy_continue_response", proxy_continue_response)?;
    linker.func_wrap(m, "proxy_send_local_response", proxy_send_local_response)?;
    linker.func_wrap(m, "proxy_http_call", proxy_http_call)?;
    linker.func_wrap(m, "proxy_get_status", proxy_get_status)?;
    linker.func_wrap(m, "proxy_grpc_call", proxy_grpc_call)?;
    linker.func_wrap(m, "proxy_grpc_stream", proxy_grpc_stream)?;
    linker.func_wrap(m, "proxy_grpc_send", proxy_grpc_send)?;
    linker.func_wrap(m, "proxy_grpc_cancel", proxy_grpc_cancel)?;
    linker.func_wrap(m, "proxy_grpc_close", proxy_grpc_close)?;
    linker.func_wrap(
        m,
        "proxy_set_effective_context",
        proxy_set_effective_context,
    )?;
    linker.func_wrap(m, "proxy_done", proxy_done)?;
    linker.func_wrap(
        m,
        "proxy_call_foreign_function",
        proxy_call_foreign_function,
    )?;
    linker.func_wrap(m, "proxy_define_metric", proxy_define_metric)?;
    linker.func_wrap(m, "proxy_increment_metric", proxy_increment_metric)?;
    linker.func_wrap(m, "proxy_record_metric", proxy_record_metric)?;
    linker.func_wrap(m, "proxy_get_metric", proxy_get_metric)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_copy_from_follows_envoy() {
        let mut b = b"hello".to_vec();
        assert_eq!(copy_from(&mut b, 0, 0, b">"), Status::Ok);
        assert_eq!(b, b">hello");
        assert_eq!(copy_from(&mut b, 0, 6, b"new"), Status::Ok);
        assert_eq!(b, b"new");
        assert_eq!(copy_from(&mut b, 0, 100, b"all"), Status::Ok);
        assert_eq!(b, b"all");
        assert_eq!(copy_from(&mut b, 3, 0, b"+"), Status::Ok);
        assert_eq!(b, b"all+");
        assert_eq!(copy_from(&mut b, u32::MAX as usize, 0, b"!"), Status::Ok);
        assert_eq!(b, b"all+!");
        assert_eq!(copy_from(&mut b, 1, 1, b"x"), Status::BadArgument);
        assert_eq!(copy_from(&mut b, 0, 2, b"A"), Status::Ok);
        assert_eq!(b, b"Al+!");
    }

    #[test]
    fn metric_ids_follow_envoy() {
        let mut m = Metrics::default();
        let c0 = m.define(MetricKind::Counter, "a".into());
        let g0 = m.define(MetricKind::Gauge, "a".into());
        let c1 = m.define(MetricKind::Counter, "a".into());
        assert_eq!((c0, g0, c1), (0, 1, 4));
        m.get_mut(c0).unwrap().value += 2;
        assert_eq!(m.get_mut(c1).unwrap().value, 2, "same name, same counter");
        assert_eq!(m.list.len(), 2);
        assert!(m.get_mut(8).is_none());
    }
}
