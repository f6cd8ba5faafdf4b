//! bench_ops: the Wasm side of the per-operation benchmarks (`bench/src/perf/ops.rs`). The plugin
//! configuration names one operation and a count N; the request-headers callback performs that
//! operation N times through the same proxy-wasm host calls a filter would use, then sets
//! `x-bench-result` to what the last repetition produced (so tests can see the operation really
//! ran). The bench times a request with N repetitions and one with N = 0 and divides the
//! difference by N. Twin of `bench/guests/ops.lua`. Bench-only (no catalogue entry).
//!
//! Configuration: `{"op": "header_read" | "header_set" | "json_parse" | "regex_match" |
//! "string_concat", "n": <integer>, "json": <the document json_parse parses>}`.

use std::hint::black_box;
use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use regex::Regex;

/// The header `header_read` reads (the bench's request carries it).
const READ_HEADER: &str = "x-bench-read";
/// The header `header_set` replaces, and its value.
const SET_HEADER: &str = "x-bench-set";
const SET_VALUE: &str = "set-by-ops";
/// Where the result of the last repetition goes.
const RESULT_HEADER: &str = "x-bench-result";
/// path_regex's expression (`filters-wasm/path_regex`).
const API_VERSION: &str = r"^/api/v([0-9]+)/";
/// The varying tail of `string_concat`: a different operand each repetition, as in the Lua twin
/// (there it keeps LuaJIT from hoisting a loop-invariant concatenation out of the loop).
const VARIANTS: [&str; 4] = ["1", "22", "333", "4444"];

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(OpsRoot { config: None }) });
}}

#[derive(Clone, Copy)]
enum Op {
    HeaderRead,
    HeaderSet,
    JsonParse,
    RegexMatch,
    StringConcat,
}

struct Config {
    op: Op,
    n: u32,
    json: String,
    regex: Regex,
}

struct OpsRoot {
    config: Option<Rc<Config>>,
}

impl Context for OpsRoot {}

fn parse_config(bytes: &[u8]) -> Result<Config, String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let op = match v.get("op").and_then(|o| o.as_str()) {
        Some("header_read") => Op::HeaderRead,
        Some("header_set") => Op::HeaderSet,
        Some("json_parse") => Op::JsonParse,
        Some("regex_match") => Op::RegexMatch,
        Some("string_concat") => Op::StringConcat,
        other => return Err(format!("unknown op {other:?}")),
    };
    let n = v
        .get("n")
        .and_then(|n| n.as_u64())
        .and_then(|n| u32::try_from(n).ok())
        .ok_or("`n` must be a non-negative integer")?;
    let json = v
        .get("json")
        .and_then(|j| j.as_str())
        .unwrap_or_default()
        .to_string();
    let regex = Regex::new(API_VERSION).map_err(|e| e.to_string())?;
    Ok(Config { op, n, json, regex })
}

impl RootContext for OpsRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match parse_config(&bytes) {
            Ok(config) => {
                self.config = Some(Rc::new(config));
                true
            }
            Err(e) => {
                let _ = hostcalls::log(LogLevel::Error, &format!("bench_ops: {e}"));
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let config = self.config.clone()?;
        Some(Box::new(Ops { config }))
    }
}

struct Ops {
    config: Rc<Config>,
}

impl Context for Ops {}

impl Ops {
    /// The operation, `n` times; returns what the last repetition produced ("none" for n = 0).
    fn perform(&self) -> String {
        let c = &*self.config;
        let none = || "none".to_string();
        match c.op {
            Op::HeaderRead => {
                let mut last = None;
                for _ in 0..c.n {
                    last = black_box(self.get_http_request_header(black_box(READ_HEADER)));
                }
                last.unwrap_or_else(none)
            }
            Op::HeaderSet => {
                for _ in 0..c.n {
                    self.set_http_request_header(black_box(SET_HEADER), Some(SET_VALUE));
                }
                if c.n == 0 {
                    none()
                } else {
                    format!("set {}", c.n)
                }
            }
            Op::JsonParse => {
                let mut last = None;
                for _ in 0..c.n {
                    last = Some(serde_json::from_str::<serde_json::Value>(black_box(
                        &c.json,
                    )));
                }
                match last {
                    None => none(),
                    Some(Ok(v)) => v
                        .get("sub")
                        .and_then(|s| s.as_str())
                        .unwrap_or("no sub")
                        .to_string(),
                    Some(Err(_)) => "invalid".to_string(),
                }
            }
            Op::RegexMatch => {
                let path = self.get_http_request_header(":path").unwrap_or_default();
                let mut last = None;
                for _ in 0..c.n {
                    last = c
                        .regex
                        .captures(black_box(&path))
                        .and_then(|m| m.get(1))
                        .map(|m| m.as_str());
                    black_box(&last);
                }
                last.map_or_else(none, str::to_string)
            }
            Op::StringConcat => {
                let path = self.get_http_request_header(":path").unwrap_or_default();
                let mut last = None;
                for i in 1..=c.n {
                    let s = [path.as_str(), "?v=", VARIANTS[(i % 4) as usize]].concat();
                    last = Some(black_box(s));
                }
                last.unwrap_or_else(none)
            }
        }
    }
}

impl HttpContext for Ops {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let result = self.perform();
        self.set_http_request_header(RESULT_HEADER, Some(&result));
        Action::Continue
    }
}
