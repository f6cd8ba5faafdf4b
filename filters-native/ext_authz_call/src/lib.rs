//! ext_authz_call: asks an external auth service about each request. Calls cluster `cluster` with
//! `POST /verify` (`:authority: auth`, `content-type: application/json`), body
//! `{"token":"<value of authorization, or empty>"}`, timeout `timeout_ms`. A 200 reply whose body
//! is a JSON object with `valid` == true and a string `user_id` sets `x-user-id` and lets the
//! request continue; 200 with `valid` == false -> local 401 `Unauthorized`; anything else (other
//! status, call failure, timeout, other body) -> local 503 `Auth Service Unavailable`.
//! Configuration: `{"cluster": "<cluster name>", "timeout_ms": <integer>}`.
//! Native twin (Envoy dynamic module) of `filters-lua/ext_authz_call.lua`; behaviour contract in
//! `bench/catalogue.toml`.

use std::sync::Arc;

use filterbench_native_common::parse_config;
use filterbench_native_sdk::{
    Body, CalloutFailure, CalloutReply, ConfigSetup, Filter, FilterConfig, Headers, Http, Trailers,
};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct ExtAuthzCallConfig {
    cluster: String,
    timeout_ms: u64,
}

/// What the auth service decided.
enum Verdict {
    Allow(String),
    Deny,
    Unavailable,
}

/// Reads the auth service's reply: status 200 and a JSON object body with `valid` == true and a
/// string `user_id` allows; 200 with `valid` == false denies; anything else is unavailable.
fn verdict(status: Option<&[u8]>, body: &[u8]) -> Verdict {
    if status != Some(b"200".as_slice()) {
        return Verdict::Unavailable;
    }
    let Ok(Value::Object(reply)) = serde_json::from_slice::<Value>(body) else {
        return Verdict::Unavailable;
    };
    match (reply.get("valid"), reply.get("user_id")) {
        (Some(Value::Bool(true)), Some(Value::String(user_id))) => Verdict::Allow(user_id.clone()),
        (Some(Value::Bool(false)), _) => Verdict::Deny,
        _ => Verdict::Unavailable,
    }
}

impl FilterConfig for ExtAuthzCallConfig {
    type Filter = ExtAuthzCall;

    fn new(config: &[u8], _setup: &mut ConfigSetup) -> Result<Self, String> {
        parse_config(config, r#"{"cluster": <string>, "timeout_ms": <integer>}"#)
    }

    fn new_filter(config: &Arc<Self>) -> ExtAuthzCall {
        ExtAuthzCall {
            config: Arc::clone(config),
            pending: false,
        }
    }
}

struct ExtAuthzCall {
    config: Arc<ExtAuthzCallConfig>,
    /// The auth call is in flight: body and trailers wait for the verdict.
    pending: bool,
}

fn unavailable(http: &mut Http) {
    http.send_response(
        503,
        &[("content-type", b"text/plain")],
        b"Auth Service Unavailable",
    );
}

impl Filter for ExtAuthzCall {
    fn on_request_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        let token = http.request_header("authorization").unwrap_or_default();
        let token = String::from_utf8_lossy(&token);
        let body = match serde_json::to_string(&token) {
            Ok(token) => format!("{{\"token\":{token}}}"),
            Err(_) => {
                unavailable(http);
                return Headers::StopIteration;
            }
        };
        let headers: [(&str, &[u8]); 4] = [
            (":method", b"POST"),
            (":path", b"/verify"),
            (":authority", b"auth"),
            ("content-type", b"application/json"),
        ];
        match http.http_callout(
            &self.config.cluster,
            &headers,
            body.as_bytes(),
            self.config.timeout_ms,
        ) {
            Ok(_) => self.pending = true,
            Err(_) => unavailable(http),
        }
        Headers::StopIteration
    }

    fn on_request_body(&mut self, _http: &mut Http, _end_of_stream: bool) -> Body {
        if self.pending {
            Body::StopAndBuffer
        } else {
            Body::Continue
        }
    }

    fn on_request_trailers(&mut self, _http: &mut Http) -> Trailers {
        if self.pending {
            Trailers::StopIteration
        } else {
            Trailers::Continue
        }
    }

    fn on_callout_done(
        &mut self,
        http: &mut Http,
        _id: u64,
        reply: Result<CalloutReply, CalloutFailure>,
    ) {
        self.pending = false;
        let verdict = match &reply {
            Ok(reply) => verdict(reply.header(":status"), &reply.body),
            Err(_) => Verdict::Unavailable,
        };
        match verdict {
            Verdict::Allow(user_id) => {
                http.set_request_header("x-user-id", user_id.as_bytes());
                http.continue_request();
            }
            Verdict::Deny => {
                http.send_response(401, &[("content-type", b"text/plain")], b"Unauthorized")
            }
            Verdict::Unavailable => unavailable(http),
        }
    }
}

filterbench_native_sdk::export_filter!("ext_authz_call", ExtAuthzCallConfig);
