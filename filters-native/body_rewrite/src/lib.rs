//! body_rewrite: buffers the whole request body; when it parses as JSON (serde_json's grammar,
//! at most 127 nested arrays/objects) and is an object, sets `server_timestamp` (ms since the epoch)
//! and `request_id` (the value of `x-request-id`, else 32 random lowercase hex characters),
//! re-serialises it compactly with serde_json (`arbitrary_precision`: numbers keep their digits;
//! the default map keeps keys sorted) and replaces the body. Empty bodies, non-JSON and non-object
//! JSON pass unchanged.
//!
//! Framing, as the Wasm twin: the headers of a request with a body go on at once, without
//! `content-length` (Envoy then sends the body chunked), and the body is held until it is
//! complete.
//! Native twin (Envoy dynamic module) of `filters-lua/body_rewrite.lua`; behaviour contract in
//! `bench/catalogue.toml`.

use std::sync::Arc;

use filterbench_native_common::{random_hex, since_epoch};
use filterbench_native_sdk::{Body, ConfigSetup, Filter, FilterConfig, Headers, Http, Trailers};
use serde_json::Value;

struct BodyRewriteConfig;

impl FilterConfig for BodyRewriteConfig {
    type Filter = BodyRewrite;

    fn new(_config: &[u8], _setup: &mut ConfigSetup) -> Result<Self, String> {
        Ok(BodyRewriteConfig)
    }

    fn new_filter(_config: &Arc<Self>) -> BodyRewrite {
        BodyRewrite {
            request_id: None,
            done: false,
        }
    }
}

struct BodyRewrite {
    /// `x-request-id` as it was at the headers (they have gone on by the time the body is whole).
    request_id: Option<Vec<u8>>,
    /// The body was rewritten (or left alone) at its end.
    done: bool,
}

impl BodyRewrite {
    /// Rewrites the whole body once it is complete.
    fn rewrite(&mut self, http: &mut Http) {
        if self.done {
            return;
        }
        self.done = true;
        let body = http.request_body();
        if body.is_empty() {
            return;
        }
        let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(&body) else {
            return;
        };
        let now_ms = since_epoch().as_millis() as u64;
        let request_id = match &self.request_id {
            Some(value) => String::from_utf8_lossy(value).into_owned(),
            None => random_hex(),
        };
        object.insert("server_timestamp".to_string(), Value::from(now_ms));
        object.insert("request_id".to_string(), Value::String(request_id));
        let Ok(new_body) = serde_json::to_vec(&Value::Object(object)) else {
            return;
        };
        http.replace_request_body(&new_body);
    }
}

impl Filter for BodyRewrite {
    fn on_request_headers(&mut self, http: &mut Http, end_of_stream: bool) -> Headers {
        // A body follows: its length may change, and the headers do not wait for it.
        if !end_of_stream {
            self.request_id = http.request_header("x-request-id");
            http.remove_request_header("content-length");
        }
        Headers::Continue
    }

    fn on_request_body(&mut self, http: &mut Http, end_of_stream: bool) -> Body {
        if !end_of_stream {
            return Body::StopAndBuffer;
        }
        self.rewrite(http);
        Body::Continue
    }

    fn on_request_trailers(&mut self, http: &mut Http) -> Trailers {
        self.rewrite(http);
        Trailers::Continue
    }
}

filterbench_native_sdk::export_filter!("body_rewrite", BodyRewriteConfig);
