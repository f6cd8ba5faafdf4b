//! ext_authz_call: asks an external auth service about each request. Calls cluster `cluster` with
//! `POST /verify` (`:authority: auth`, `content-type: application/json`), body
//! `{"token":"<value of authorization, or empty>"}`, timeout `timeout_ms`. A 200 reply whose body
//! is a JSON object with `valid` == true and a string `user_id` sets `x-user-id` and lets the
//! request continue; 200 with `valid` == false -> local 401 `Unauthorized`; anything else (other
//! status, call failure, timeout, other body) -> local 503 `Auth Service Unavailable`.
//! Configuration: `{"cluster": "<cluster name>", "timeout_ms": <integer>}`.
//! Wasm twin of `filters-lua/ext_authz_call.lua`; behaviour contract in `bench/catalogue.toml`.

use std::rc::Rc;
use std::time::Duration;

use filterbench_twin_common::{joined_header, parse_config};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde::Deserialize;
use serde_json::Value;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(ExtAuthzCallRoot { config: None })
    });
}}

#[derive(Deserialize)]
struct Config {
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

struct ExtAuthzCallRoot {
    config: Option<Rc<Config>>,
}

impl Context for ExtAuthzCallRoot {}

impl RootContext for ExtAuthzCallRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        let want = r#"{"cluster": <string>, "timeout_ms": <integer>}"#;
        let Some(config) = parse_config::<Config>(&raw, "ext_authz_call", want) else {
            return false;
        };
        self.config = Some(Rc::new(config));
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let config = self.config.clone()?;
        Some(Box::new(ExtAuthzCall {
            config,
            pending: false,
        }))
    }
}

struct ExtAuthzCall {
    config: Rc<Config>,
    /// The auth call is in flight. Envoy normally turns the headers callback's Pause into "stop
    /// all iteration" (no body callbacks until resumed), but with the plugin option
    /// `allow_on_headers_stop_iteration: true` body and trailer callbacks do arrive meanwhile, and
    /// returning Continue from them would let the request through before the verdict.
    pending: bool,
}

impl ExtAuthzCall {
    fn unavailable(&self) {
        self.send_http_response(
            503,
            vec![("content-type", "text/plain")],
            Some(b"Auth Service Unavailable"),
        );
    }
}

impl Context for ExtAuthzCall {
    fn on_http_call_response(
        &mut self,
        _token_id: u32,
        _num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        self.pending = false;
        let status = self.get_http_call_response_header_bytes(":status");
        let body = self
            .get_http_call_response_body(0, body_size)
            .unwrap_or_default();
        match verdict(status.as_deref(), &body) {
            Verdict::Allow(user_id) => {
                self.set_http_request_header("x-user-id", Some(&user_id));
                self.resume_http_request();
            }
            Verdict::Deny => self.send_http_response(
                401,
                vec![("content-type", "text/plain")],
                Some(b"Unauthorized"),
            ),
            Verdict::Unavailable => self.unavailable(),
        }
    }
}

impl HttpContext for ExtAuthzCall {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let headers = self.get_http_request_headers_bytes();
        let token = joined_header(&headers, "authorization").unwrap_or_default();
        let token = String::from_utf8_lossy(&token);
        let body = match serde_json::to_string(&token) {
            Ok(token) => format!("{{\"token\":{token}}}"),
            Err(_) => {
                self.unavailable();
                return Action::Pause;
            }
        };
        let dispatched = self.dispatch_http_call(
            &self.config.cluster,
            vec![
                (":method", "POST"),
                (":path", "/verify"),
                (":authority", "auth"),
                ("content-type", "application/json"),
            ],
            Some(body.as_bytes()),
            vec![],
            Duration::from_millis(self.config.timeout_ms),
        );
        match dispatched {
            Ok(_) => self.pending = true,
            Err(_) => self.unavailable(),
        }
        Action::Pause
    }

    fn on_http_request_body(&mut self, _body_size: usize, _end_of_stream: bool) -> Action {
        if self.pending {
            Action::Pause
        } else {
            Action::Continue
        }
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        if self.pending {
            Action::Pause
        } else {
            Action::Continue
        }
    }
}
