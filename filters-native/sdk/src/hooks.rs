//! The event hooks behind [`crate::export_filter!`]: each turns Envoy's raw pointers into the safe
//! types, runs the twin's code under `catch_unwind` ([`crate::guarded`]) and turns the answer back
//! into the ABI's status. Generic over the twin's [`FilterConfig`], so every call is static.
//!
//! Ownership: a configuration is an `Arc<C>` boxed behind the module pointer Envoy keeps
//! (`config_new` to `config_destroy`); a filter is a boxed [`Stream`] (`filter_new` to
//! `filter_destroy`). Envoy destroys a configuration only after its filters.

use std::os::raw::c_char;
use std::sync::{Arc, Once};

use crate::abi::{
    self, ConfigEnvoyPtr, ConfigModulePtr, EnvoyBuffer, FilterEnvoyPtr, FilterModulePtr,
};
use crate::{
    guarded, log, CalloutFailure, CalloutReply, ConfigSetup, Filter, FilterConfig, Http, Level,
};

/// Status `Continue` of every hook.
const CONTINUE: u32 = 0;
/// Headers status `StopIteration`; body status `StopIterationAndBuffer`.
const STOP: u32 = 1;

/// A filter of one stream and whether it panicked (then it is not called again).
pub struct Stream<F> {
    filter: F,
    name: &'static str,
    panicked: bool,
}

static PANIC_HOOK: Once = Once::new();

/// `envoy_dynamic_module_on_program_init`: the ABI version (and the module's panic messages go
/// to Envoy's log instead of stderr).
pub fn program_init(name: &'static str) -> *const c_char {
    PANIC_HOOK.call_once(|| {
        std::panic::set_hook(Box::new(move |info| {
            log(Level::Error, &format!("{name}: panic: {info}"));
        }));
    });
    abi::ABI_VERSION_C.as_ptr().cast()
}

/// `envoy_dynamic_module_on_http_filter_config_new`: a configuration, or null (Envoy refuses it)
/// when the name is not this module's, the configuration does not parse, or making it panics.
pub fn config_new<C: FilterConfig>(
    name: &'static str,
    envoy: ConfigEnvoyPtr,
    filter_name: EnvoyBuffer,
    config: EnvoyBuffer,
) -> ConfigModulePtr {
    // SAFETY: Envoy passes buffers valid for this hook.
    let (filter_name, config) = unsafe { (filter_name.as_slice(), config.as_slice()) };
    if filter_name != name.as_bytes() {
        log(
            Level::Error,
            &format!(
                "{name}: this module has one filter, {name:?}; the configuration names {:?}",
                String::from_utf8_lossy(filter_name)
            ),
        );
        return std::ptr::null();
    }
    let mut setup = ConfigSetup { envoy };
    match guarded(|| C::new(config, &mut setup)) {
        Ok(Ok(config)) => Box::into_raw(Box::new(Arc::new(config))) as ConfigModulePtr,
        Ok(Err(e)) => {
            log(Level::Error, &format!("{name}: bad configuration: {e}"));
            std::ptr::null()
        }
        Err(panic) => {
            log(
                Level::Error,
                &format!("{name}: panicked while configuring: {panic}"),
            );
            std::ptr::null()
        }
    }
}

/// `envoy_dynamic_module_on_http_filter_config_destroy`.
pub fn config_destroy<C: FilterConfig>(config: ConfigModulePtr) {
    if !config.is_null() {
        // SAFETY: made by `config_new` as a `Box<Arc<C>>`, destroyed once by Envoy.
        drop(unsafe { Box::from_raw(config as *mut Arc<C>) });
    }
}

/// `envoy_dynamic_module_on_http_filter_new`: the stream's filter (null, closing the stream, if
/// making it panics).
pub fn filter_new<C: FilterConfig>(
    name: &'static str,
    config: ConfigModulePtr,
    _envoy: FilterEnvoyPtr,
) -> FilterModulePtr {
    // SAFETY: `config` is the `Box<Arc<C>>` of `config_new`, alive while its filters are.
    let config = unsafe { &*(config as *const Arc<C>) };
    match guarded(|| C::new_filter(config)) {
        Ok(filter) => Box::into_raw(Box::new(Stream {
            filter,
            name,
            panicked: false,
        })) as FilterModulePtr,
        Err(panic) => {
            log(
                Level::Error,
                &format!("{name}: panicked making a filter: {panic}"),
            );
            std::ptr::null()
        }
    }
}

/// `envoy_dynamic_module_on_http_filter_destroy`.
pub fn filter_destroy<C: FilterConfig>(filter: FilterModulePtr) {
    if !filter.is_null() {
        // SAFETY: made by `filter_new` as a `Box<Stream<_>>`, destroyed once by Envoy.
        drop(unsafe { Box::from_raw(filter as *mut Stream<C::Filter>) });
    }
}

/// Runs one hook of a stream's filter: a panic is logged, answered with a local reply when
/// `reply` says that is still possible, and the filter is not called again.
fn run<F: Filter>(
    envoy: FilterEnvoyPtr,
    filter: FilterModulePtr,
    hook: &str,
    reply: bool,
    f: impl FnOnce(&mut F, &mut Http) -> u32,
) -> u32 {
    if filter.is_null() {
        return CONTINUE;
    }
    // SAFETY: made by `filter_new`; Envoy calls a stream's hooks on one thread, one at a time.
    let stream = unsafe { &mut *(filter as *mut Stream<F>) };
    if stream.panicked {
        return CONTINUE;
    }
    let mut http = Http { envoy };
    match guarded(|| f(&mut stream.filter, &mut http)) {
        Ok(status) => status,
        Err(panic) => {
            stream.panicked = true;
            log(
                Level::Error,
                &format!("{}: panicked in {hook}: {panic}", stream.name),
            );
            if reply {
                let mut http = Http { envoy };
                http.send_response(
                    500,
                    &[("content-type", b"text/plain")],
                    b"native filter panicked",
                );
                STOP
            } else {
                CONTINUE
            }
        }
    }
}

pub fn request_headers<C: FilterConfig>(
    envoy: FilterEnvoyPtr,
    filter: FilterModulePtr,
    end_of_stream: bool,
) -> abi::HeadersStatus {
    run::<C::Filter>(envoy, filter, "request headers", true, |f, http| {
        f.on_request_headers(http, end_of_stream).status()
    })
}

pub fn request_body<C: FilterConfig>(
    envoy: FilterEnvoyPtr,
    filter: FilterModulePtr,
    end_of_stream: bool,
) -> abi::BodyStatus {
    run::<C::Filter>(envoy, filter, "request body", true, |f, http| {
        f.on_request_body(http, end_of_stream).status()
    })
}

pub fn request_trailers<C: FilterConfig>(
    envoy: FilterEnvoyPtr,
    filter: FilterModulePtr,
) -> abi::TrailersStatus {
    run::<C::Filter>(envoy, filter, "request trailers", true, |f, http| {
        f.on_request_trailers(http).status()
    })
}

pub fn response_headers<C: FilterConfig>(
    envoy: FilterEnvoyPtr,
    filter: FilterModulePtr,
    end_of_stream: bool,
) -> abi::HeadersStatus {
    run::<C::Filter>(envoy, filter, "response headers", true, |f, http| {
        f.on_response_headers(http, end_of_stream).status()
    })
}

pub fn response_body<C: FilterConfig>(
    envoy: FilterEnvoyPtr,
    filter: FilterModulePtr,
    end_of_stream: bool,
) -> abi::BodyStatus {
    // The response headers are on their way: no local reply any more.
    run::<C::Filter>(envoy, filter, "response body", false, |f, http| {
        f.on_response_body(http, end_of_stream).status()
    })
}

/// `envoy_dynamic_module_on_http_filter_http_callout_done`.
///
/// # Safety
/// `headers` and `body_chunks` are null or Envoy's arrays of `headers_size` and
/// `body_chunks_size` entries, valid for this call (the hook's contract).
#[allow(clippy::too_many_arguments)]
pub unsafe fn callout_done<C: FilterConfig>(
    envoy: FilterEnvoyPtr,
    filter: FilterModulePtr,
    id: u64,
    result: abi::CalloutResult,
    headers: *mut abi::EnvoyHttpHeader,
    headers_size: usize,
    body_chunks: *mut EnvoyBuffer,
    body_chunks_size: usize,
) {
    let reply = match result {
        0 => {
            // SAFETY: Envoy's arrays of these lengths, valid for this hook (or null).
            let headers = if headers.is_null() {
                Vec::new()
            } else {
                unsafe { std::slice::from_raw_parts(headers, headers_size) }
                    .iter()
                    .map(|h| unsafe { crate::envoy_header(h) })
                    .collect()
            };
            let mut body = Vec::new();
            if !body_chunks.is_null() {
                for chunk in unsafe { std::slice::from_raw_parts(body_chunks, body_chunks_size) } {
                    body.extend_from_slice(unsafe { chunk.as_slice() });
                }
            }
            Ok(CalloutReply { headers, body })
        }
        2 => Err(CalloutFailure::TooLarge),
        _ => Err(CalloutFailure::Reset),
    };
    run::<C::Filter>(envoy, filter, "callout reply", true, |f, http| {
        f.on_callout_done(http, id, reply);
        CONTINUE
    });
}
