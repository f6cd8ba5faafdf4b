//! The five rows of the widely quoted Lua-vs-Wasm operation table, and how each is measured.
//!
//! Both sides run a dedicated bench-only filter: `bench/guests/ops.lua` (Envoy's Lua API) and
//! `bench/guests/bench_ops` (proxy-wasm host calls). Its configuration names the operation and a
//! count N; the request-headers callback performs the operation N times, then sets
//! `x-bench-result` to what the last repetition produced. A request costs the harness's
//! per-request work plus N operations, so the per-operation cost is isolated as
//!
//! ```text
//! per_op = (t(N) - t(0)) / N
//! ```
//!
//! where t(N) and t(0) are the times of one full request with N and with 0 repetitions on the
//! same filter (same script, same request, same configuration but N), taken in the same round of
//! the paired measurement (see [`super::paired`]: the four arms Lua 0, Lua N, Wasm 0, Wasm N are
//! interleaved), so each round gives a per-op time of each side, and the summary their medians
//! and the paired ratio with bootstrap intervals. Instructions per op under callgrind are
//! (count(N) - count(0)) / N likewise ([`super::callgrind`]).

/// One operation of the claimed table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Op {
    /// Stable id, also the `op` of the filters' configuration.
    pub id: &'static str,
    /// Repetitions per request in the measured run.
    pub n: u32,
    /// The claimed cost per operation, ns.
    pub claimed_lua_ns: f64,
    pub claimed_wasm_ns: f64,
    /// What one repetition does on each side.
    pub description: &'static str,
}

/// The header `header_read` reads; the ops request carries it with [`READ_VALUE`].
pub const READ_HEADER: &str = "x-bench-read";
pub const READ_VALUE: &str = "bench-value";
/// The header `header_set` replaces, and its value.
pub const SET_HEADER: &str = "x-bench-set";
pub const SET_VALUE: &str = "set-by-ops";
/// Where both filters put what the last repetition produced.
pub const RESULT_HEADER: &str = "x-bench-result";
/// The request path (`regex_match` and `string_concat` work on it).
pub const PATH: &str = "/api/v1/items";
/// The document `json_parse` parses: a JWT-like payload of 187 bytes (strings, numbers, a
/// boolean, an array, a nested object).
pub const JSON_DOC: &str = r#"{"sub":"user-42","name":"Ada Lovelace","email":"ada@example.com","admin":false,"iat":1700000000,"exp":1900000000,"roles":["reader","writer"],"meta":{"tenant":"acme","region":"eu-west-1"}}"#;
/// The `sub` of [`JSON_DOC`].
pub const JSON_SUB: &str = "user-42";
/// The operands `string_concat` appends in turn (repetition i uses `VARIANTS[i % 4]`).
pub const VARIANTS: [&str; 4] = ["1", "22", "333", "4444"];

/// The claimed table's rows, in its order.
pub const OPS: [Op; 5] = [
    Op {
        id: "header_read",
        n: 100,
        claimed_lua_ns: 200.0,
        claimed_wasm_ns: 100.0,
        description: "read one request header by name: Lua `headers:get(\"x-bench-read\")`; Wasm \
            `get_http_request_header` (proxy_get_header_map_value, the value copied into guest \
            memory). Per op = (request with N=100 reads - request with N=0) / 100.",
    },
    Op {
        id: "header_set",
        n: 100,
        claimed_lua_ns: 250.0,
        claimed_wasm_ns: 120.0,
        description: "replace one request header: Lua `headers:replace(\"x-bench-set\", v)`; \
            Wasm `set_http_request_header` (proxy_replace_header_map_value). Per op = (N=100 - \
            N=0) / 100.",
    },
    Op {
        id: "json_parse",
        n: 20,
        claimed_lua_ns: 3000.0,
        claimed_wasm_ns: 500.0,
        description: "parse a 187-byte JSON object (JWT-like payload with an array and a nested \
            object) into a document tree: Lua with the pure-Lua decoder of jwt_auth.lua (Envoy's \
            Lua has no JSON library); Wasm `serde_json::from_str::<Value>`. Per op = (N=20 - N=0) \
            / 20.",
    },
    Op {
        id: "regex_match",
        n: 100,
        claimed_lua_ns: 5000.0,
        claimed_wasm_ns: 1000.0,
        description: "match `^/api/v([0-9]+)/` against the path and take the capture: Lua with a \
            Lua pattern, `path:match(\"^/api/v([0-9]+)/\")` (Envoy's Lua has no regex library); \
            Wasm the `regex` crate, compiled once at configure time. Per op = (N=100 - N=0) / \
            100.",
    },
    Op {
        id: "string_concat",
        n: 100,
        claimed_lua_ns: 300.0,
        claimed_wasm_ns: 50.0,
        description: "build a new string from three parts, path .. \"?v=\" .. one of four short \
            operands (varied so LuaJIT cannot hoist a loop-invariant concatenation): Lua `..`; \
            Wasm `[a, b, c].concat()`. Per op = (N=100 - N=0) / 100.",
    },
];

/// The plugin configuration / route metadata of the ops filters for `op` with `n` repetitions.
pub fn config(op: &Op, n: u32) -> serde_json::Value {
    serde_json::json!({ "op": op.id, "n": n, "json": JSON_DOC })
}

/// What `x-bench-result` must say after a request with `n` repetitions of `op`.
pub fn expected_result(op: &Op, n: u32) -> String {
    if n == 0 {
        return "none".into();
    }
    match op.id {
        "header_read" => READ_VALUE.into(),
        "header_set" => format!("set {n}"),
        "json_parse" => JSON_SUB.into(),
        "regex_match" => "1".into(),
        "string_concat" => format!("{PATH}?v={}", VARIANTS[(n % 4) as usize]),
        other => format!("(unknown op {other})"),
    }
}
