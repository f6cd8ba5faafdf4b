//! body_rewrite: buffers the whole request body; when it parses as JSON (serde_json's grammar,
//! at most 127 nested arrays/objects) and is an object, sets `server_timestamp` (ms since the epoch,
//! Envoy's clock) and `request_id` (the value of `x-request-id`, else 32 random lowercase hex
//! characters), re-serialises it compactly with serde_json (`arbitrary_precision`: numbers keep
//! their digits; the default map keeps keys sorted) and replaces the body. Empty bodies, non-JSON
//! and non-object JSON pass unchanged.
//!
//! Framing: the headers of a request with a body go on at once, without `content-length` (Envoy
//! then sends the body chunked), and the body is held until it is complete. Holding the headers
//! instead (Pause) would let the new length be set, but Envoy turns a Pause from the headers
//! callback into "stop all iteration" (the body callback never runs) unless the plugin
//! configuration sets `allow_on_headers_stop_iteration`, which Istio's WasmPlugin and
//! TrafficExtension do not: deployed that way, such a filter leaves every body request hanging.
//! Wasm twin of `filters-lua/body_rewrite.lua`; behaviour contract in `bench/catalogue.toml`.

use std::time::UNIX_EPOCH;

use filterbench_twin_common::{joined_header, random_hex};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

use serde_json::Value;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(BodyRewriteRoot) });
}}

struct BodyRewriteRoot;

impl Context for BodyRewriteRoot {}

impl RootContext for BodyRewriteRoot {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(BodyRewrite {
            body_size: 0,
            request_id: None,
        }))
    }
}

struct BodyRewrite {
    /// Size of the buffered body at the last body callback.
    body_size: usize,
    /// `x-request-id` as it was at the headers: once they have gone on, Envoy no longer lets the
    /// filter read them.
    request_id: Option<Vec<u8>>,
}

impl BodyRewrite {
    /// Rewrites the buffered body once it is complete (`content-length` went at the headers).
    fn rewrite(&self, body_size: usize) {
        if body_size == 0 {
            return;
        }
        let Some(body) = self.get_http_request_body(0, body_size) else {
            return;
        };
        let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(&body) else {
            return;
        };
        let now = self.get_current_time().duration_since(UNIX_EPOCH);
        let now_ms = now.as_ref().map_or(0, |d| d.as_millis() as u64);
        let request_id = match &self.request_id {
            Some(value) => String::from_utf8_lossy(value).into_owned(),
            None => random_hex(now.map_or(0, |d| d.as_nanos() as u64)),
        };
        object.insert("server_timestamp".to_string(), Value::from(now_ms));
        object.insert("request_id".to_string(), Value::String(request_id));
        let Ok(new_body) = serde_json::to_vec(&Value::Object(object)) else {
            return;
        };
        self.set_http_request_body(0, body_size, &new_body);
    }
}

impl Context for BodyRewrite {}

impl HttpContext for BodyRewrite {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        // A body follows: its length may change, and the headers cannot wait for it.
        if !end_of_stream {
            self.request_id = joined_header(&self.get_http_request_headers_bytes(), "x-request-id");
            self.set_http_request_header("content-length", None);
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.body_size = body_size;
        if !end_of_stream {
            return Action::Pause;
        }
        self.rewrite(body_size);
        Action::Continue
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        // A body followed by trailers never sees end_of_stream in the body callback.
        self.rewrite(self.body_size);
        Action::Continue
    }
}
