//! filterbench's own binding to Envoy 1.40.0's dynamic-module ABI, for the native twins
//! (`filters-native/<pair>/`): the raw ABI ([`abi`], only what the twins use), one safe layer
//! over it ([`Http`], [`ConfigSetup`], the [`FilterConfig`] and [`Filter`] traits), and the
//! event hooks ([`hooks`]) that [`export_filter!`] exports from a twin's `cdylib`.
//!
//! A twin is one filter: a configuration type (parsed once per filter configuration, shared by
//! every worker) and a filter type (one per HTTP stream):
//!
//! ```ignore
//! struct AddHeaderConfig;
//! impl FilterConfig for AddHeaderConfig {
//!     type Filter = AddHeader;
//!     fn new(_config: &[u8], _setup: &mut ConfigSetup) -> Result<Self, String> { Ok(AddHeaderConfig) }
//!     fn new_filter(_config: &Arc<Self>) -> AddHeader { AddHeader }
//! }
//! struct AddHeader;
//! impl Filter for AddHeader {
//!     fn on_request_headers(&mut self, http: &mut Http, _end: bool) -> Headers {
//!         http.add_request_header("x-custom-header", b"Hello from filter");
//!         Headers::Continue
//!     }
//! }
//! filterbench_native_sdk::export_filter!("add_header", AddHeaderConfig);
//! ```
//!
//! **Panics never cross into Envoy.** Every hook runs the twin's code under
//! `std::panic::catch_unwind` (the twins are built with `panic = "unwind"`, the workspace's
//! `native` profile). A panic is logged through Envoy's log (`<filter>: panicked in <hook>:
//! <message>`) and the stream is answered `500` `native filter panicked` when that is still
//! possible (request path, or response headers); the filter is then left alone for the rest of its
//! stream (every later hook continues), and the next stream gets a fresh filter. A panic while
//! configuring refuses the configuration (Envoy rejects it).
//!
//! The ABI version answered is [`abi::ABI_VERSION`] (with where that value comes from).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

pub mod abi;
pub mod hooks;

/// What a request or response headers hook tells Envoy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Headers {
    Continue,
    /// Stop the filter chain (after a local reply, or until [`Http::continue_request`]).
    StopIteration,
    /// Stop and buffer the body until the filter continues (body filters that wait for the whole
    /// body before deciding on the headers).
    StopAllAndBuffer,
}

impl Headers {
    fn status(self) -> abi::HeadersStatus {
        match self {
            Headers::Continue => 0,
            Headers::StopIteration => 1,
            Headers::StopAllAndBuffer => 3,
        }
    }
}

/// What a body hook tells Envoy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Continue,
    /// Keep buffering until the end of the body.
    StopAndBuffer,
}

impl Body {
    fn status(self) -> abi::BodyStatus {
        match self {
            Body::Continue => 0,
            Body::StopAndBuffer => 1,
        }
    }
}

/// What a trailers hook tells Envoy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trailers {
    Continue,
    StopIteration,
}

impl Trailers {
    fn status(self) -> abi::TrailersStatus {
        match self {
            Trailers::Continue => 0,
            Trailers::StopIteration => 1,
        }
    }
}

/// Envoy's log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    Critical = 5,
}

/// Logs `message` in Envoy's log (logger `dynamic_modules`) at `level`.
pub fn log(level: Level, message: &str) {
    // SAFETY: the buffer is valid for the call; Envoy copies it.
    unsafe {
        if abi::envoy_dynamic_module_callback_log_enabled(level as abi::LogLevel) {
            abi::envoy_dynamic_module_callback_log(
                level as abi::LogLevel,
                abi::ModuleBuffer::of(message.as_bytes()),
            );
        }
    }
}

/// A filter configuration: made once per Envoy filter configuration from its bytes, shared by
/// every worker; makes one [`Filter`] per HTTP stream.
pub trait FilterConfig: Sized + Send + Sync + 'static {
    type Filter: Filter;

    /// The configuration from `config` (the `filter_config` Envoy was given: the
    /// `StringValue`'s text, here the pair's JSON configuration). An error refuses the
    /// configuration; it is logged, naming the filter.
    fn new(config: &[u8], setup: &mut ConfigSetup) -> Result<Self, String>;

    /// The filter of a new HTTP stream.
    fn new_filter(config: &Arc<Self>) -> Self::Filter;
}

/// The HTTP filter of one stream. Every hook has a default that lets the stream through.
pub trait Filter: 'static {
    fn on_request_headers(&mut self, _http: &mut Http, _end_of_stream: bool) -> Headers {
        Headers::Continue
    }

    fn on_request_body(&mut self, _http: &mut Http, _end_of_stream: bool) -> Body {
        Body::Continue
    }

    /// The request trailers arrived (a body followed by trailers never sees `end_of_stream` in
    /// [`Filter::on_request_body`]).
    fn on_request_trailers(&mut self, _http: &mut Http) -> Trailers {
        Trailers::Continue
    }

    fn on_response_headers(&mut self, _http: &mut Http, _end_of_stream: bool) -> Headers {
        Headers::Continue
    }

    fn on_response_body(&mut self, _http: &mut Http, _end_of_stream: bool) -> Body {
        Body::Continue
    }

    /// The reply to [`Http::http_callout`] `id`: `Ok` with the response, `Err` when the call
    /// failed (reset, timeout, overflow).
    fn on_callout_done(
        &mut self,
        _http: &mut Http,
        _id: u64,
        _reply: Result<CalloutReply, CalloutFailure>,
    ) {
    }
}

/// What a configuration may ask Envoy for while it is made.
pub struct ConfigSetup {
    envoy: abi::ConfigEnvoyPtr,
}

/// A counter defined by a configuration ([`ConfigSetup::define_counter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterId(usize);

impl ConfigSetup {
    /// Defines counter `name` (no labels); Envoy shows it as `<name>` in `/stats` (the module
    /// namespace `dynamicmodulescustom.` is stripped from the output). Envoy 1.40 accepts
    /// definitions only while the configuration is made: a later one is refused (`Frozen`), so a
    /// twin defines every counter it may need here.
    pub fn define_counter(&mut self, name: &str) -> Result<CounterId, String> {
        let mut id = 0usize;
        // SAFETY: `envoy` is the configuration Envoy passed to this hook; buffers live for the call.
        let result = unsafe {
            abi::envoy_dynamic_module_callback_http_filter_config_define_counter(
                self.envoy,
                abi::ModuleBuffer::of(name.as_bytes()),
                std::ptr::null_mut(),
                0,
                &mut id,
            )
        };
        if result == 0 {
            Ok(CounterId(id))
        } else {
            Err(format!(
                "Envoy refused counter {name:?} (metrics result {result})"
            ))
        }
    }
}

/// The reply of an HTTP callout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalloutReply {
    /// Every header, `:status` included, in Envoy's order.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl CalloutReply {
    /// The `:status` pseudo-header as a number.
    pub fn status(&self) -> Option<u16> {
        self.header(":status")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse().ok())
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }
}

/// Why a callout has no reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalloutFailure {
    /// Reset: connection failure, timeout.
    Reset,
    /// The reply was larger than Envoy's buffer limit.
    TooLarge,
}

/// Envoy's view of one HTTP stream, for the duration of one hook.
pub struct Http {
    envoy: abi::FilterEnvoyPtr,
}

impl Http {
    /// The value of request header `name` as Envoy's Lua `headers():get()` returns it: `None`
    /// when absent, otherwise every value joined with `,` in arrival order.
    pub fn request_header(&self, name: &str) -> Option<Vec<u8>> {
        self.joined(abi::REQUEST_HEADER, name)
    }

    /// The value of response header `name`, like [`Http::request_header`].
    pub fn response_header(&self, name: &str) -> Option<Vec<u8>> {
        self.joined(abi::RESPONSE_HEADER, name)
    }

    /// Every request header, in order.
    pub fn request_headers(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.all(abi::REQUEST_HEADER)
    }

    /// Every response header, in order.
    pub fn response_headers(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.all(abi::RESPONSE_HEADER)
    }

    /// Appends a value to request header `name`.
    pub fn add_request_header(&mut self, name: &str, value: &[u8]) {
        self.add(abi::REQUEST_HEADER, name, value);
    }

    /// Replaces every value of request header `name`. An empty `value` removes the header:
    /// Envoy 1.40's ABI cannot give a header an empty value (`set_header` removes the header for
    /// an empty value, `add_header` refuses one), where Lua's `replace(name, "")` and proxy-wasm
    /// can.
    pub fn set_request_header(&mut self, name: &str, value: &[u8]) {
        self.set(abi::REQUEST_HEADER, name, Some(value));
    }

    /// Removes request header `name`.
    pub fn remove_request_header(&mut self, name: &str) {
        self.set(abi::REQUEST_HEADER, name, None);
    }

    /// Appends a value to response header `name`.
    pub fn add_response_header(&mut self, name: &str, value: &[u8]) {
        self.add(abi::RESPONSE_HEADER, name, value);
    }

    /// Replaces every value of response header `name`.
    pub fn set_response_header(&mut self, name: &str, value: &[u8]) {
        self.set(abi::RESPONSE_HEADER, name, Some(value));
    }

    /// A local reply: `status`, these headers, this body. The hook then returns
    /// [`Headers::StopIteration`] (or the body hook [`Body::StopAndBuffer`]).
    pub fn send_response(&mut self, status: u32, headers: &[(&str, &[u8])], body: &[u8]) {
        let mut raw: Vec<abi::ModuleHttpHeader> = headers
            .iter()
            .map(|(k, v)| abi::ModuleHttpHeader {
                key_ptr: k.as_ptr().cast(),
                key_length: k.len(),
                value_ptr: v.as_ptr().cast(),
                value_length: v.len(),
            })
            .collect();
        // SAFETY: every buffer lives until the call returns; Envoy copies them.
        unsafe {
            abi::envoy_dynamic_module_callback_http_send_response(
                self.envoy,
                status,
                raw.as_mut_ptr(),
                raw.len(),
                abi::ModuleBuffer::of(body),
                abi::ModuleBuffer::NULL,
            );
        }
    }

    /// The request body so far: what Envoy buffered while the filter stopped, then the chunk of
    /// the current body hook (outside a body hook, the buffered part only). At the end of the
    /// stream, after buffering, that is the whole body.
    pub fn request_body(&self) -> Vec<u8> {
        let mut body = self.body_of(abi::BUFFERED_REQUEST_BODY);
        body.extend_from_slice(&self.body_of(abi::RECEIVED_REQUEST_BODY));
        body
    }

    /// Replaces the request body ([`Http::request_body`]'s bytes) with `body`; the caller takes
    /// care of `content-length`.
    pub fn replace_request_body(&mut self, body: &[u8]) {
        // SAFETY: the pointer is the stream's; `body` lives for the call and Envoy copies it.
        unsafe {
            for ty in [abi::BUFFERED_REQUEST_BODY, abi::RECEIVED_REQUEST_BODY] {
                let size = abi::envoy_dynamic_module_callback_http_get_body_size(self.envoy, ty);
                if size > 0 {
                    abi::envoy_dynamic_module_callback_http_drain_body(self.envoy, ty, size);
                }
            }
            // The current chunk exists only in a body hook; Envoy appends it to the buffered body
            // when the filter continues. Outside a body hook, the buffered body is the body.
            let data = abi::ModuleBuffer::of(body);
            if !abi::envoy_dynamic_module_callback_http_append_body(
                self.envoy,
                abi::RECEIVED_REQUEST_BODY,
                data,
            ) {
                abi::envoy_dynamic_module_callback_http_append_body(
                    self.envoy,
                    abi::BUFFERED_REQUEST_BODY,
                    data,
                );
            }
        }
    }

    fn body_of(&self, ty: abi::BodyType) -> Vec<u8> {
        // SAFETY: the pointer is the stream's; the vector has the length Envoy reported, and the
        // chunks are copied before any setter runs.
        unsafe {
            let n = abi::envoy_dynamic_module_callback_http_get_body_chunks_size(self.envoy, ty);
            if n == 0 {
                return Vec::new();
            }
            let mut chunks = vec![abi::EnvoyBuffer::NULL; n];
            if !abi::envoy_dynamic_module_callback_http_get_body_chunks(
                self.envoy,
                ty,
                chunks.as_mut_ptr(),
            ) {
                return Vec::new();
            }
            let mut body = Vec::new();
            for chunk in chunks {
                body.extend_from_slice(chunk.as_slice());
            }
            body
        }
    }

    /// Starts an HTTP call to `cluster` (`headers` must hold `:method`, `:path` and `host`);
    /// its reply arrives in [`Filter::on_callout_done`] with the returned id.
    pub fn http_callout(
        &mut self,
        cluster: &str,
        headers: &[(&str, &[u8])],
        body: &[u8],
        timeout_ms: u64,
    ) -> Result<u64, String> {
        let mut raw: Vec<abi::ModuleHttpHeader> = headers
            .iter()
            .map(|(k, v)| abi::ModuleHttpHeader {
                key_ptr: k.as_ptr().cast(),
                key_length: k.len(),
                value_ptr: v.as_ptr().cast(),
                value_length: v.len(),
            })
            .collect();
        let mut id = 0u64;
        // SAFETY: every buffer lives until the call returns; Envoy copies them.
        let result = unsafe {
            abi::envoy_dynamic_module_callback_http_filter_http_callout(
                self.envoy,
                &mut id,
                abi::ModuleBuffer::of(cluster.as_bytes()),
                raw.as_mut_ptr(),
                raw.len(),
                abi::ModuleBuffer::of(body),
                timeout_ms,
            )
        };
        match result {
            0 => Ok(id),
            1 => Err("missing :method, :path or host".into()),
            2 => Err(format!("no cluster {cluster:?}")),
            3 => Err("duplicate callout id".into()),
            4 => Err(format!(
                "cannot create the request (no healthy host in {cluster:?}?)"
            )),
            other => Err(format!("callout refused ({other})")),
        }
    }

    /// Resumes the request after [`Headers::StopIteration`] (after a callout's reply).
    pub fn continue_request(&mut self) {
        // SAFETY: the pointer is the stream's.
        unsafe { abi::envoy_dynamic_module_callback_http_filter_continue_decoding(self.envoy) }
    }

    /// Adds `value` to a counter of this filter's configuration.
    pub fn increment_counter(&mut self, id: CounterId, value: u64) {
        // SAFETY: the pointer is the stream's; no labels.
        unsafe {
            abi::envoy_dynamic_module_callback_http_filter_increment_counter(
                self.envoy,
                id.0,
                std::ptr::null_mut(),
                0,
                value,
            );
        }
    }

    fn joined(&self, ty: abi::HeaderType, name: &str) -> Option<Vec<u8>> {
        let key = abi::ModuleBuffer::of(name.as_bytes());
        let mut count = 0usize;
        let mut value = abi::EnvoyBuffer::NULL;
        // SAFETY: the pointer is the stream's; the result buffers are local and the value is
        // copied before the next call.
        unsafe {
            if !abi::envoy_dynamic_module_callback_http_get_header(
                self.envoy, ty, key, &mut value, 0, &mut count,
            ) || count == 0
            {
                return None;
            }
            let mut joined = value.as_slice().to_vec();
            for index in 1..count {
                let mut value = abi::EnvoyBuffer::NULL;
                if abi::envoy_dynamic_module_callback_http_get_header(
                    self.envoy,
                    ty,
                    key,
                    &mut value,
                    index,
                    std::ptr::null_mut(),
                ) {
                    joined.push(b',');
                    joined.extend_from_slice(value.as_slice());
                }
            }
            Some(joined)
        }
    }

    fn all(&self, ty: abi::HeaderType) -> Vec<(Vec<u8>, Vec<u8>)> {
        // SAFETY: the vector has the length Envoy reported; the values are copied at once.
        unsafe {
            let n = abi::envoy_dynamic_module_callback_http_get_headers_size(self.envoy, ty);
            let empty = abi::EnvoyHttpHeader {
                key_ptr: std::ptr::null(),
                key_length: 0,
                value_ptr: std::ptr::null(),
                value_length: 0,
            };
            let mut raw = vec![empty; n];
            if n == 0
                || !abi::envoy_dynamic_module_callback_http_get_headers(
                    self.envoy,
                    ty,
                    raw.as_mut_ptr(),
                )
            {
                return Vec::new();
            }
            raw.iter().map(|h| envoy_header(h)).collect()
        }
    }

    fn add(&mut self, ty: abi::HeaderType, name: &str, value: &[u8]) {
        // SAFETY: buffers live for the call; Envoy copies them.
        unsafe {
            abi::envoy_dynamic_module_callback_http_add_header(
                self.envoy,
                ty,
                abi::ModuleBuffer::of(name.as_bytes()),
                abi::ModuleBuffer::of(value),
            );
        }
    }

    fn set(&mut self, ty: abi::HeaderType, name: &str, value: Option<&[u8]>) {
        let value = value.map_or(abi::ModuleBuffer::NULL, abi::ModuleBuffer::of);
        // SAFETY: buffers live for the call; Envoy copies them. A null value removes the header.
        unsafe {
            abi::envoy_dynamic_module_callback_http_set_header(
                self.envoy,
                ty,
                abi::ModuleBuffer::of(name.as_bytes()),
                value,
            );
        }
    }
}

/// A header Envoy owns, copied.
///
/// # Safety
/// Its pointers must be readable for their lengths (or null).
unsafe fn envoy_header(h: &abi::EnvoyHttpHeader) -> (Vec<u8>, Vec<u8>) {
    let bytes = |ptr: *const std::os::raw::c_char, len: usize| {
        // SAFETY: the caller's contract.
        unsafe { abi::EnvoyBuffer { ptr, length: len }.as_slice().to_vec() }
    };
    (
        bytes(h.key_ptr, h.key_length),
        bytes(h.value_ptr, h.value_length),
    )
}

/// Runs `f`, catching a panic: `Err(message)` then.
pub(crate) fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into())
    })
}

/// Exports the event hooks of a module whose one filter is `$config`'s, named `$name`
/// (Envoy's `filter_name`; a configuration of another name is refused).
#[macro_export]
macro_rules! export_filter {
    ($name:expr, $config:ty) => {
        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_program_init() -> *const ::std::os::raw::c_char {
            $crate::hooks::program_init($name)
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_config_new(
            envoy: $crate::abi::ConfigEnvoyPtr,
            name: $crate::abi::EnvoyBuffer,
            config: $crate::abi::EnvoyBuffer,
        ) -> $crate::abi::ConfigModulePtr {
            $crate::hooks::config_new::<$config>($name, envoy, name, config)
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_config_destroy(
            config: $crate::abi::ConfigModulePtr,
        ) {
            $crate::hooks::config_destroy::<$config>(config)
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_new(
            config: $crate::abi::ConfigModulePtr,
            envoy: $crate::abi::FilterEnvoyPtr,
        ) -> $crate::abi::FilterModulePtr {
            $crate::hooks::filter_new::<$config>($name, config, envoy)
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_request_headers(
            envoy: $crate::abi::FilterEnvoyPtr,
            filter: $crate::abi::FilterModulePtr,
            end_of_stream: bool,
        ) -> $crate::abi::HeadersStatus {
            $crate::hooks::request_headers::<$config>(envoy, filter, end_of_stream)
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_request_body(
            envoy: $crate::abi::FilterEnvoyPtr,
            filter: $crate::abi::FilterModulePtr,
            end_of_stream: bool,
        ) -> $crate::abi::BodyStatus {
            $crate::hooks::request_body::<$config>(envoy, filter, end_of_stream)
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_request_trailers(
            envoy: $crate::abi::FilterEnvoyPtr,
            filter: $crate::abi::FilterModulePtr,
        ) -> $crate::abi::TrailersStatus {
            $crate::hooks::request_trailers::<$config>(envoy, filter)
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_response_headers(
            envoy: $crate::abi::FilterEnvoyPtr,
            filter: $crate::abi::FilterModulePtr,
            end_of_stream: bool,
        ) -> $crate::abi::HeadersStatus {
            $crate::hooks::response_headers::<$config>(envoy, filter, end_of_stream)
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_response_body(
            envoy: $crate::abi::FilterEnvoyPtr,
            filter: $crate::abi::FilterModulePtr,
            end_of_stream: bool,
        ) -> $crate::abi::BodyStatus {
            $crate::hooks::response_body::<$config>(envoy, filter, end_of_stream)
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_response_trailers(
            _envoy: $crate::abi::FilterEnvoyPtr,
            _filter: $crate::abi::FilterModulePtr,
        ) -> $crate::abi::TrailersStatus {
            0
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_stream_complete(
            _envoy: $crate::abi::FilterEnvoyPtr,
            _filter: $crate::abi::FilterModulePtr,
        ) {
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_destroy(
            filter: $crate::abi::FilterModulePtr,
        ) {
            $crate::hooks::filter_destroy::<$config>(filter)
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_http_callout_done(
            envoy: $crate::abi::FilterEnvoyPtr,
            filter: $crate::abi::FilterModulePtr,
            callout_id: u64,
            result: $crate::abi::CalloutResult,
            headers: *mut $crate::abi::EnvoyHttpHeader,
            headers_size: usize,
            body_chunks: *mut $crate::abi::EnvoyBuffer,
            body_chunks_size: usize,
        ) {
            // SAFETY: Envoy passes its arrays of these lengths, valid for this hook.
            unsafe {
                $crate::hooks::callout_done::<$config>(
                    envoy,
                    filter,
                    callout_id,
                    result,
                    headers,
                    headers_size,
                    body_chunks,
                    body_chunks_size,
                )
            }
        }

        // The streamed-callout, scheduler and watermark hooks: Envoy 1.40 requires them; the
        // twins start no streams and schedule nothing.
        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_headers(
            _envoy: $crate::abi::FilterEnvoyPtr,
            _filter: $crate::abi::FilterModulePtr,
            _stream_id: u64,
            _headers: *mut $crate::abi::EnvoyHttpHeader,
            _headers_size: usize,
            _end_stream: bool,
        ) {
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_data(
            _envoy: $crate::abi::FilterEnvoyPtr,
            _filter: $crate::abi::FilterModulePtr,
            _stream_id: u64,
            _data: *const $crate::abi::EnvoyBuffer,
            _data_count: usize,
            _end_stream: bool,
        ) {
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_trailers(
            _envoy: $crate::abi::FilterEnvoyPtr,
            _filter: $crate::abi::FilterModulePtr,
            _stream_id: u64,
            _trailers: *mut $crate::abi::EnvoyHttpHeader,
            _trailers_size: usize,
        ) {
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_complete(
            _envoy: $crate::abi::FilterEnvoyPtr,
            _filter: $crate::abi::FilterModulePtr,
            _stream_id: u64,
        ) {
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_reset(
            _envoy: $crate::abi::FilterEnvoyPtr,
            _filter: $crate::abi::FilterModulePtr,
            _stream_id: u64,
            _reason: u32,
        ) {
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_scheduled(
            _envoy: $crate::abi::FilterEnvoyPtr,
            _filter: $crate::abi::FilterModulePtr,
            _event_id: u64,
        ) {
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(
            _envoy: $crate::abi::FilterEnvoyPtr,
            _filter: $crate::abi::FilterModulePtr,
        ) {
        }

        #[no_mangle]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // Envoy's entry points: the ABI is their contract.
        pub extern "C" fn envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(
            _envoy: $crate::abi::FilterEnvoyPtr,
            _filter: $crate::abi::FilterModulePtr,
        ) {
        }
    };
}
