//! The raw C ABI of Envoy 1.40.0's dynamic modules, only the part the native twins use: the
//! types, the event hooks Envoy resolves in a module (their signatures, implemented in
//! [`crate::hooks`]), and the callbacks Envoy exports that the safe layer calls.
//!
//! Written from `source/extensions/dynamic_modules/abi/abi.h` of envoyproxy/envoy (the `v0.1.x`
//! header of the 1.39 line; 1.40's ABI is `v0.2.0`, whose loader accepts it as the next minor
//! version, and the callbacks declared here keep their 1.39 signatures), and checked against
//! what the Envoy 1.40.0 binary really has:
//!
//! - every callback declared below is exported by it (`nm -D --defined-only envoy`, names
//!   starting `envoy_dynamic_module_callback_`), and each native twin that uses them is proven
//!   against its Lua filter in that Envoy (`filterbench verify --envoy --twin native`);
//! - the event hooks it resolves when a module is loaded as an HTTP filter (and refuses the module
//!   with `Failed to resolve symbol <name>` when one is missing) are exactly
//!   [`REQUIRED_HTTP_HOOKS`]: found by loading a module with `envoy --mode validate` and adding
//!   the symbol Envoy named until it loaded; [`crate::hooks`] exports each of them.
//!
//! `envoy_dynamic_module_type_envoy_buffer` and `_module_buffer` are `{ptr, length}` structs passed
//! by value (two integer registers on x86-64 and aarch64).

use std::os::raw::c_char;

/// The ABI version this binding answers in `envoy_dynamic_module_on_program_init`.
///
/// Where it comes from: Envoy 1.40.0 (`envoy --version`:
/// `9e5580933739775e8bce696a57a2e1bc99368f23/1.40.0/Clean/RELEASE/BoringSSL`) logs
/// `Dynamic module ABI version v0.2.0 matched.` for a module answering `v0.2.0`, and
/// `Dynamic module ABI version v0.1.0 is deprecated. Please recompile the module against the SDK
/// with the exact Envoy version used by the main program.` for any other answer (checked by
/// loading a minimal module answering `v0.2.0`, `v0.1.0` and `v9.9.9`). The loader does not refuse
/// another version by itself.
pub const ABI_VERSION: &str = "v0.2.0";

/// The same, NUL-terminated, as Envoy reads it.
pub(crate) const ABI_VERSION_C: &[u8] = b"v0.2.0\0";

/// The event hooks Envoy 1.40.0 resolves when it loads a module for an HTTP filter; a module
/// without one of them is refused with `Failed to resolve symbol <name>`. (Found empirically, see
/// the module documentation; the others of the header, such as per-route configuration or
/// local-reply hooks, are optional.)
pub const REQUIRED_HTTP_HOOKS: &[&str] = &[
    "envoy_dynamic_module_on_program_init",
    "envoy_dynamic_module_on_http_filter_config_new",
    "envoy_dynamic_module_on_http_filter_config_destroy",
    "envoy_dynamic_module_on_http_filter_new",
    "envoy_dynamic_module_on_http_filter_request_headers",
    "envoy_dynamic_module_on_http_filter_request_body",
    "envoy_dynamic_module_on_http_filter_request_trailers",
    "envoy_dynamic_module_on_http_filter_response_headers",
    "envoy_dynamic_module_on_http_filter_response_body",
    "envoy_dynamic_module_on_http_filter_response_trailers",
    "envoy_dynamic_module_on_http_filter_stream_complete",
    "envoy_dynamic_module_on_http_filter_destroy",
    "envoy_dynamic_module_on_http_filter_http_callout_done",
    "envoy_dynamic_module_on_http_filter_http_stream_headers",
    "envoy_dynamic_module_on_http_filter_http_stream_data",
    "envoy_dynamic_module_on_http_filter_http_stream_trailers",
    "envoy_dynamic_module_on_http_filter_http_stream_complete",
    "envoy_dynamic_module_on_http_filter_http_stream_reset",
    "envoy_dynamic_module_on_http_filter_scheduled",
    "envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark",
    "envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark",
];

/// `envoy_dynamic_module_type_http_filter_config_envoy_ptr`: Envoy's filter configuration.
pub type ConfigEnvoyPtr = *mut std::ffi::c_void;
/// `envoy_dynamic_module_type_http_filter_config_module_ptr`: the module's configuration.
pub type ConfigModulePtr = *const std::ffi::c_void;
/// `envoy_dynamic_module_type_http_filter_envoy_ptr`: Envoy's filter of one stream.
pub type FilterEnvoyPtr = *mut std::ffi::c_void;
/// `envoy_dynamic_module_type_http_filter_module_ptr`: the module's filter of one stream.
pub type FilterModulePtr = *const std::ffi::c_void;

/// `envoy_dynamic_module_type_envoy_buffer`: bytes owned by Envoy.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct EnvoyBuffer {
    pub ptr: *const c_char,
    pub length: usize,
}

impl EnvoyBuffer {
    pub const NULL: EnvoyBuffer = EnvoyBuffer {
        ptr: std::ptr::null(),
        length: 0,
    };

    /// The bytes, valid while Envoy keeps them (the current hook, unless a setter ran).
    ///
    /// # Safety
    /// `ptr` must point to `length` readable bytes (or be null).
    pub unsafe fn as_slice<'a>(self) -> &'a [u8] {
        if self.ptr.is_null() || self.length == 0 {
            &[]
        } else {
            // SAFETY: the caller's contract.
            unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.length) }
        }
    }
}

/// `envoy_dynamic_module_type_module_buffer`: bytes owned by the module, copied by Envoy.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ModuleBuffer {
    pub ptr: *const c_char,
    pub length: usize,
}

impl ModuleBuffer {
    /// A view of `bytes` for the duration of one call.
    pub fn of(bytes: &[u8]) -> ModuleBuffer {
        ModuleBuffer {
            ptr: bytes.as_ptr().cast(),
            length: bytes.len(),
        }
    }

    /// The null buffer (`set_header` with it removes the header).
    pub const NULL: ModuleBuffer = ModuleBuffer {
        ptr: std::ptr::null(),
        length: 0,
    };
}

/// `envoy_dynamic_module_type_module_http_header`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ModuleHttpHeader {
    pub key_ptr: *const c_char,
    pub key_length: usize,
    pub value_ptr: *const c_char,
    pub value_length: usize,
}

/// `envoy_dynamic_module_type_envoy_http_header`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct EnvoyHttpHeader {
    pub key_ptr: *const c_char,
    pub key_length: usize,
    pub value_ptr: *const c_char,
    pub value_length: usize,
}

/// `envoy_dynamic_module_type_http_header_type`.
pub type HeaderType = u32;
pub const REQUEST_HEADER: HeaderType = 0;
pub const RESPONSE_HEADER: HeaderType = 2;

/// `envoy_dynamic_module_type_http_body_type`.
pub type BodyType = u32;
pub const RECEIVED_REQUEST_BODY: BodyType = 0;
pub const BUFFERED_REQUEST_BODY: BodyType = 1;

/// `envoy_dynamic_module_type_log_level`.
pub type LogLevel = u32;

/// `envoy_dynamic_module_type_on_http_filter_request_headers_status` and its response twin:
/// 0 Continue, 1 StopIteration, 3 StopAllIterationAndBuffer.
pub type HeadersStatus = u32;
/// `envoy_dynamic_module_type_on_http_filter_request_body_status` and its response twin:
/// 0 Continue, 1 StopIterationAndBuffer.
pub type BodyStatus = u32;
/// The trailers statuses: 0 Continue.
pub type TrailersStatus = u32;

/// `envoy_dynamic_module_type_http_callout_init_result`: 0 Success, 1 MissingRequiredHeaders,
/// 2 ClusterNotFound, 3 DuplicateCalloutId, 4 CannotCreateRequest.
pub type CalloutInitResult = u32;
/// `envoy_dynamic_module_type_http_callout_result`: 0 Success, 1 Reset,
/// 2 ExceedResponseBufferLimit.
pub type CalloutResult = u32;
/// `envoy_dynamic_module_type_metrics_result`: 0 Success.
pub type MetricsResult = u32;

// The callbacks Envoy exports that the safe layer uses (resolved when Envoy loads the module:
// the Envoy binary exports them).
extern "C" {
    pub fn envoy_dynamic_module_callback_log(level: LogLevel, message: ModuleBuffer);
    pub fn envoy_dynamic_module_callback_log_enabled(level: LogLevel) -> bool;

    pub fn envoy_dynamic_module_callback_http_get_header(
        filter: FilterEnvoyPtr,
        header_type: HeaderType,
        key: ModuleBuffer,
        result: *mut EnvoyBuffer,
        index: usize,
        optional_size: *mut usize,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_headers_size(
        filter: FilterEnvoyPtr,
        header_type: HeaderType,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_http_get_headers(
        filter: FilterEnvoyPtr,
        header_type: HeaderType,
        result_headers: *mut EnvoyHttpHeader,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_add_header(
        filter: FilterEnvoyPtr,
        header_type: HeaderType,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_set_header(
        filter: FilterEnvoyPtr,
        header_type: HeaderType,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;

    pub fn envoy_dynamic_module_callback_http_send_response(
        filter: FilterEnvoyPtr,
        status_code: u32,
        headers: *mut ModuleHttpHeader,
        headers_size: usize,
        body: ModuleBuffer,
        details: ModuleBuffer,
    );

    pub fn envoy_dynamic_module_callback_http_get_body_chunks_size(
        filter: FilterEnvoyPtr,
        body_type: BodyType,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_http_get_body_chunks(
        filter: FilterEnvoyPtr,
        body_type: BodyType,
        result: *mut EnvoyBuffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_body_size(
        filter: FilterEnvoyPtr,
        body_type: BodyType,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_http_append_body(
        filter: FilterEnvoyPtr,
        body_type: BodyType,
        data: ModuleBuffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_drain_body(
        filter: FilterEnvoyPtr,
        body_type: BodyType,
        number_of_bytes: usize,
    ) -> bool;

    pub fn envoy_dynamic_module_callback_http_filter_http_callout(
        filter: FilterEnvoyPtr,
        callout_id: *mut u64,
        cluster_name: ModuleBuffer,
        headers: *mut ModuleHttpHeader,
        headers_size: usize,
        body: ModuleBuffer,
        timeout_milliseconds: u64,
    ) -> CalloutInitResult;
    pub fn envoy_dynamic_module_callback_http_filter_continue_decoding(filter: FilterEnvoyPtr);

    pub fn envoy_dynamic_module_callback_http_filter_config_define_counter(
        config: ConfigEnvoyPtr,
        name: ModuleBuffer,
        label_names: *mut ModuleBuffer,
        label_names_length: usize,
        counter_id: *mut usize,
    ) -> MetricsResult;
    pub fn envoy_dynamic_module_callback_http_filter_increment_counter(
        filter: FilterEnvoyPtr,
        id: usize,
        label_values: *mut ModuleBuffer,
        label_values_length: usize,
        value: u64,
    ) -> MetricsResult;
}
