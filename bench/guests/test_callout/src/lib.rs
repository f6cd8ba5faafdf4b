//! test_callout: a proxy-wasm filter written for `filterbench run --envoy`'s tests, not a twin.
//! On request headers it calls cluster `x-cluster` (default `users`) at `/users/<x-user>` with a
//! 500 ms timeout; a 200 reply's JSON field `name` goes into the request header `x-user-name`
//! and the request goes on; any other reply (a 404, Envoy's 503 for a reset, 504 for a
//! timeout) is answered locally with 502 `call failed: status <s>`, and a call Envoy refuses
//! (an unknown cluster) with 500 `dispatch failed: <status>`.
//! Built by `bench/build/build.rs` like the bench guests.

use std::time::Duration;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root) });
}}

struct Root;

impl Context for Root {}

impl RootContext for Root {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Callout))
    }
}

struct Callout;

impl Context for Callout {
    fn on_http_call_response(&mut self, _token: u32, _headers: usize, body_size: usize, _t: usize) {
        let status = self
            .get_http_call_response_header(":status")
            .unwrap_or_default();
        if status != "200" {
            let body = format!("call failed: status {status}");
            self.send_http_response(
                502,
                vec![("content-type", "text/plain")],
                Some(body.as_bytes()),
            );
            return;
        }
        let body = self
            .get_http_call_response_body(0, body_size)
            .unwrap_or_default();
        let name = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_string))
            .unwrap_or_else(|| "(none)".to_string());
        proxy_wasm::hostcalls::log(LogLevel::Info, &format!("test_callout: name {name}")).ok();
        self.set_http_request_header("x-user-name", Some(&name));
        self.resume_http_request();
    }
}

impl HttpContext for Callout {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let cluster = self
            .get_http_request_header("x-cluster")
            .unwrap_or_else(|| "users".to_string());
        let user = self
            .get_http_request_header("x-user")
            .unwrap_or_else(|| "anonymous".to_string());
        let path = format!("/users/{user}");
        match self.dispatch_http_call(
            &cluster,
            vec![
                (":method", "GET"),
                (":path", &path),
                (":authority", "users.test"),
            ],
            None,
            vec![],
            Duration::from_millis(500),
        ) {
            Ok(_) => Action::Pause,
            Err(status) => {
                let body = format!("dispatch failed: {status:?}");
                self.send_http_response(
                    500,
                    vec![("content-type", "text/plain")],
                    Some(body.as_bytes()),
                );
                Action::Pause
            }
        }
    }
}
