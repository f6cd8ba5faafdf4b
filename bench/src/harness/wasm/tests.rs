//! Tests of the Wasm host: bad filters (tiny WAT modules), bounds checks, Envoy behaviours, the
//! whole scenario corpus through the 12 real modules.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::harness::{corpus_responder, CallReply, CallRequest, Clock, Limits, Random};
use filterbench_model::catalogue::Catalogue;
use filterbench_model::corpus::{Corpus, UpstreamReply};
use filterbench_model::outcome::check_expect;

/// Imports, memory, a bump allocator, the ABI marker, and `$expect` (a failed check logs a
/// message whose length is the check's number, at error level, then traps).
const PRELUDE: &str = r#"
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $get_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_set_header_map_pairs" (func $set_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_current_time_nanoseconds" (func $now (param i32) (result i32)))
  (import "env" "proxy_http_call" (func $http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $local_response (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
  (import "env" "proxy_close_stream" (func $close (param i32) (result i32)))
  (import "env" "proxy_get_property" (func $get_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define_metric (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $increment_metric (param i32 i64) (result i32)))
  (import "env" "proxy_call_foreign_function" (func $ffi (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_tick_period_milliseconds" (func $set_tick (param i32) (result i32)))
  (import "env" "proxy_get_shared_data" (func $get_shared (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $set_shared (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_register_shared_queue" (func $register_queue (param i32 i32 i32) (result i32)))
  (import "env" "proxy_resolve_shared_queue" (func $resolve_queue (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_enqueue_shared_queue" (func $enqueue (param i32 i32 i32) (result i32)))
  (import "env" "proxy_dequeue_shared_queue" (func $dequeue (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (global $step (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (local.get $p))
  (func $expect (param $got i32) (param $want i32)
    (global.set $step (i32.add (global.get $step) (i32.const 1)))
    (if (i32.ne (local.get $got) (local.get $want))
      (then
        (drop (call $log (i32.const 4) (i32.const 8192) (global.get $step)))
        unreachable)))
  (func $load (param $p i32) (result i32) (i32.load (local.get $p)))
  (data (i32.const 8192) "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
"#;

fn module(body: &str) -> String {
    format!(
        "(module {PRELUDE}\n  (func (export \"proxy_on_context_create\") (param i32 i32))\n{body})"
    )
}

/// A WAT data string (`"\hh..."`) for arbitrary bytes.
fn wat_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

fn env() -> Env {
    Env::new(serde_json::json!({}))
}

fn get(path: &str) -> Exchange {
    Exchange {
        method: "GET".into(),
        path: path.into(),
        headers: Vec::new(),
        body: Vec::new(),
        upstream: UpstreamReply {
            status: 200,
            headers: Vec::new(),
            body: None,
        },
    }
}

fn compile(name: &str, wat: &str) -> WasmFilter {
    WasmFilter::compile(name, wat.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    filterbench_model::outcome::values_of(headers, name)
}

fn assert_names(e: &FilterError, filter: &str, phase: Phase, kind: FailureKind) {
    assert_eq!(
        (e.filter.as_str(), e.phase, e.kind),
        (filter, phase, kind),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains(filter) && text.contains(&phase.to_string()),
        "{text}"
    );
}

// ---- bad filters ---------------------------------------------------------------------------

#[test]
fn invalid_bytes_are_a_load_error() {
    for bytes in [&b"not wasm at all"[..], b"\0asm\x01\0\0\0\xff\xff", b""] {
        let e = WasmFilter::compile("junk", bytes).unwrap_err();
        assert_names(&e, "junk", Phase::Load, FailureKind::Invalid);
    }
}

#[test]
fn missing_or_wrong_exports_are_load_errors() {
    let cases = [
        (
            "no_memory",
            r#"(module (func (export "proxy_abi_version_0_2_1"))
                 (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 0)))"#,
            "memory",
        ),
        (
            "no_allocator",
            r#"(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")))"#,
            "proxy_on_memory_allocate",
        ),
        (
            "no_abi",
            r#"(module (memory (export "memory") 1)
                 (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 0)))"#,
            "proxy_abi_version_0_2_1",
        ),
        (
            "old_abi",
            r#"(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_1_0"))
                 (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 0)))"#,
            "0.1.0",
        ),
        (
            "bad_signature",
            r#"(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1"))
                 (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 0))
                 (func (export "proxy_on_request_headers") (param i32 i32) (result i32) (i32.const 0)))"#,
            "proxy_on_request_headers",
        ),
        (
            "unknown_import",
            r#"(module (import "env" "proxy_frobnicate" (func (param i32) (result i32)))
                 (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1"))
                 (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 0)))"#,
            "proxy_frobnicate",
        ),
    ];
    for (name, wat, mention) in cases {
        let e = WasmFilter::compile(name, wat.as_bytes()).unwrap_err();
        assert_names(&e, name, Phase::Load, FailureKind::Invalid);
        assert!(e.message.contains(mention), "{name}: {e}");
    }
}

#[test]
fn configure_returning_false_is_a_configure_error() {
    let f = compile(
        "refuses",
        &module(
            r#"(func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 0))"#,
        ),
    );
    let e = f.vm(Env::new(serde_json::json!({"a": 1}))).unwrap_err();
    assert_names(&e, "refuses", Phase::Configure, FailureKind::Invalid);
    assert!(e.message.contains(r#"{"a":1}"#), "{e}");
}

#[test]
fn a_trap_gives_envoys_503_and_breaks_the_vm() {
    let f = compile(
        "trapper",
        &module(
            r#"(data (i32.const 1024) "in headers")
               (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
                 (drop (call $log (i32.const 2) (i32.const 1024) (i32.const 10)))
                 unreachable)"#,
        ),
    );
    let env = env();
    let logs = env.logs.clone();
    let mut vm = f.vm(env).unwrap();
    for _ in 0..3 {
        let o = vm.run(&get("/")).unwrap();
        assert_eq!(o.status, 503);
        assert_eq!(o.body, "");
        assert!(o.upstream.is_none());
        assert_eq!(header(&o.response_headers, "content-length"), ["0"]);
    }
    assert!(vm.is_failed());
    let logs = logs.lock().unwrap();
    let guest_lines = logs.iter().filter(|(_, m)| m == "in headers").count();
    assert_eq!(
        guest_lines, 1,
        "the guest is not called once the VM failed: {logs:?}"
    );
    let critical: Vec<_> = logs
        .iter()
        .filter(|(l, _)| *l == LogLevel::Critical)
        .collect();
    assert_eq!(critical.len(), 1, "{logs:?}");
    let msg = &critical[0].1;
    assert!(
        msg.contains("trapper") && msg.contains("request_headers") && msg.contains("unreachable"),
        "{msg}"
    );
}

#[test]
fn a_trap_in_the_response_keeps_the_upstream_view() {
    let f = compile(
        "late_trap",
        &module(
            r#"(func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) unreachable)"#,
        ),
    );
    let mut vm = f.vm(env()).unwrap();
    let o = vm.run(&get("/x")).unwrap();
    assert_eq!(o.status, 503);
    assert_eq!(o.upstream.as_ref().map(|u| u.path.as_str()), Some("/x"));
}

#[test]
fn proc_exit_fails_the_run_with_a_clear_message() {
    let f = compile(
        "exiter",
        &module(
            r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
                 (call $proc_exit (i32.const 3)) (i32.const 0))"#,
        ),
    );
    let mut vm = f.vm(env()).unwrap();
    let e = vm.run(&get("/")).unwrap_err();
    assert_names(&e, "exiter", Phase::RequestHeaders, FailureKind::Forbidden);
    assert!(e.message.contains("proc_exit(3)"), "{e}");
    // The VM stays unusable.
    assert_eq!(vm.run(&get("/")).unwrap_err(), e);
}

#[test]
fn an_endless_loop_runs_out_of_budget() {
    let f = compile(
        "spinner",
        &module(
            r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
                 (loop $l (br $l)) (i32.const 0))"#,
        ),
    );
    let mut env = env();
    env.limits = Limits {
        instructions: 2_000_000,
        ..Limits::default()
    };
    let mut vm = f.vm(env).unwrap();
    let started = Instant::now();
    let e = vm.run(&get("/")).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_names(&e, "spinner", Phase::RequestHeaders, FailureKind::Budget);
    assert!(e.message.contains("proxy_on_request_headers"), "{e}");
    // The VM stays unusable.
    assert_eq!(vm.run(&get("/")).unwrap_err(), e);
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let bomb = r#"(loop $l (drop (memory.grow (i32.const 16))) (br $l))"#;
    let mut env = env();
    env.limits = Limits {
        memory_bytes: 4 << 20,
        ..Limits::default()
    };
    let f = compile(
        "bomb",
        &module(&format!(
            r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) {bomb} (i32.const 0))"#
        )),
    );
    let mut vm = f.vm(env.clone()).unwrap();
    let e = vm.run(&get("/")).unwrap_err();
    assert_names(&e, "bomb", Phase::RequestHeaders, FailureKind::Memory);
    assert!(vm.memory_bytes() <= 4 << 20);

    let f = compile(
        "start_bomb",
        &module(&format!(r#"(func (export "_initialize") {bomb})"#)),
    );
    let e = f.vm(env).unwrap_err();
    assert_names(&e, "start_bomb", Phase::Start, FailureKind::Memory);
}

// ---- bounds checks and host-function statuses -------------------------------------------------

#[test]
fn bad_pointers_get_invalid_memory_access_never_a_panic() {
    let malformed = wat_bytes(&[5, 0, 0, 0, b'a', b'b', b'c']);
    let iovec_oob = wat_bytes(&[0xf0, 0xff, 0xff, 0xff, 0x10, 0, 0, 0]);
    let wat = module(&format!(
        r#"(data (i32.const 2048) ":path")
           (data (i32.const 2100) "nope")
           (data (i32.const 3000) "{malformed}")
           (data (i32.const 3100) "{iovec_oob}")
           (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             ;; 1-2: proxy_log: bad message pointer, bad level
             (call $expect (call $log (i32.const 2) (i32.const -16) (i32.const 100)) (i32.const 6))
             (call $expect (call $log (i32.const 9) (i32.const 2048) (i32.const 5)) (i32.const 2))
             ;; 3-6: get_header_map_value: bad return slot, bad key, bad map type, then a good one
             (call $expect (call $get_value (i32.const 0) (i32.const 2048) (i32.const 5) (i32.const -4) (i32.const 4100)) (i32.const 6))
             (call $expect (call $get_value (i32.const 0) (i32.const -2) (i32.const 100) (i32.const 4096) (i32.const 4100)) (i32.const 6))
             (call $expect (call $get_value (i32.const 99) (i32.const 2048) (i32.const 5) (i32.const 4096) (i32.const 4100)) (i32.const 2))
             (call $expect (call $get_value (i32.const 0) (i32.const 2048) (i32.const 5) (i32.const 4096) (i32.const 4100)) (i32.const 0))
             ;; 7: the value of :path is "/" (one byte)
             (call $expect (call $load (i32.const 4100)) (i32.const 1))
             ;; 8: absent header
             (call $expect (call $get_value (i32.const 0) (i32.const 2100) (i32.const 4) (i32.const 4096) (i32.const 4100)) (i32.const 1))
             ;; 9: add with a bad value pointer
             (call $expect (call $add_value (i32.const 0) (i32.const 2048) (i32.const 5) (i32.const -1) (i32.const 10)) (i32.const 6))
             ;; 10: buffer start+length overflow
             (call $expect (call $get_buffer (i32.const 0) (i32.const -1) (i32.const 10) (i32.const 4096) (i32.const 4100)) (i32.const 2))
             ;; 11: time into a bad pointer
             (call $expect (call $now (i32.const -4)) (i32.const 6))
             ;; 12: http call with a bad upstream name
             (call $expect (call $http_call (i32.const -8) (i32.const 100) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 100) (i32.const 4200)) (i32.const 6))
             ;; 13: malformed serialised pairs
             (call $expect (call $set_pairs (i32.const 0) (i32.const 3000) (i32.const 7)) (i32.const 2))
             ;; 14-15: properties: bad path pointer, unknown path
             (call $expect (call $get_property (i32.const -3) (i32.const 8) (i32.const 4096) (i32.const 4100)) (i32.const 6))
             (call $expect (call $get_property (i32.const 2100) (i32.const 4) (i32.const 4096) (i32.const 4100)) (i32.const 1))
             ;; 16: pairs into a bad return slot
             (call $expect (call $get_pairs (i32.const 0) (i32.const -4) (i32.const 4100)) (i32.const 6))
             ;; 17-20: WASI: iovec pointing outside memory, random into a bad buffer, unknown clock, bad time pointer
             (call $expect (call $fd_write (i32.const 1) (i32.const 3100) (i32.const 1) (i32.const 4096)) (i32.const 21))
             (call $expect (call $random_get (i32.const -8) (i32.const 16)) (i32.const 21))
             (call $expect (call $clock_time_get (i32.const 5) (i64.const 0) (i32.const 4096)) (i32.const 58))
             (call $expect (call $clock_time_get (i32.const 0) (i64.const 0) (i32.const -4)) (i32.const 21))
             ;; 21-22: metrics: unknown type, unknown id
             (call $expect (call $define_metric (i32.const 7) (i32.const 2048) (i32.const 5) (i32.const 4096)) (i32.const 2))
             (call $expect (call $increment_metric (i32.const 12345) (i64.const 1)) (i32.const 1))
             ;; 23: no foreign functions
             (call $expect (call $ffi (i32.const 2048) (i32.const 5) (i32.const 0) (i32.const 0) (i32.const 4096) (i32.const 4100)) (i32.const 1))
             ;; 24-25: unknown stream types
             (call $expect (call $continue (i32.const 9)) (i32.const 2))
             (call $expect (call $close (i32.const 9)) (i32.const 2))
             ;; 26: response headers are not available in the request phase
             (call $expect (call $add_value (i32.const 2) (i32.const 2048) (i32.const 5) (i32.const 2048) (i32.const 1)) (i32.const 2))
             (i32.const 0))"#
    ));
    let f = compile("bounds", &wat);
    let env = env();
    let logs = env.logs.clone();
    let mut vm = f.vm(env).unwrap();
    let o = vm.run(&get("/")).unwrap();
    let failed_step = logs
        .lock()
        .unwrap()
        .iter()
        .find(|(l, _)| *l == LogLevel::Error)
        .map(|(_, m)| m.len());
    assert_eq!(failed_step, None, "check number {failed_step:?} failed");
    assert_eq!(o.status, 200);
    assert!(!vm.is_failed());
}

// ---- Envoy behaviours ------------------------------------------------------------------------

#[test]
fn first_value_only_and_local_replies_run_the_response_callbacks() {
    let wat = module(
        r#"(data (i32.const 1024) "x-dup")
           (data (i32.const 1040) "x-first")
           (data (i32.const 1056) "x-from-response")
           (data (i32.const 1088) "yes")
           (data (i32.const 1100) "x-deny")
           (data (i32.const 1120) "no")
           (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (if (i32.eqz (call $get_value (i32.const 0) (i32.const 1100) (i32.const 6) (i32.const 4096) (i32.const 4100)))
               (then
                 (call $expect (call $local_response (i32.const 403) (i32.const 0) (i32.const 0)
                   (i32.const 1120) (i32.const 2) (i32.const 0) (i32.const 0) (i32.const -1)) (i32.const 0))
                 (return (i32.const 0))))
             (call $expect (call $get_value (i32.const 0) (i32.const 1024) (i32.const 5) (i32.const 4096) (i32.const 4100)) (i32.const 0))
             (call $expect (call $replace_value (i32.const 0) (i32.const 1040) (i32.const 7)
               (call $load (i32.const 4096)) (call $load (i32.const 4100))) (i32.const 0))
             (i32.const 0))
           (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
             (call $expect (call $add_value (i32.const 2) (i32.const 1056) (i32.const 15) (i32.const 1088) (i32.const 3)) (i32.const 0))
             (i32.const 0))"#,
    );
    let f = compile("behaviours", &wat);
    let mut vm = f.vm(env()).unwrap();

    let mut ex = get("/");
    ex.headers = vec![("x-dup".into(), "a".into()), ("X-Dup".into(), "b".into())];
    let o = vm.run(&ex).unwrap();
    let up = o.upstream.as_ref().unwrap();
    assert_eq!(header(&up.headers, "x-first"), ["a"]);
    assert_eq!(header(&o.response_headers, "x-from-response"), ["yes"]);

    // A local reply (returned with Continue: the reply still wins) goes through the response
    // callbacks of the same filter.
    let mut ex = get("/");
    ex.headers = vec![("x-deny".into(), "1".into())];
    let o = vm.run(&ex).unwrap();
    assert_eq!((o.status, o.body.as_str()), (403, "no"));
    assert!(o.upstream.is_none());
    assert_eq!(header(&o.response_headers, "content-type"), ["text/plain"]);
    assert_eq!(header(&o.response_headers, "x-from-response"), ["yes"]);
}

/// A module that calls cluster `auth` and answers with the call's `:status` as body.
fn caller_module() -> String {
    let call_headers = headers::serialize(&[
        (b":method", b"POST"),
        (b":path", b"/verify"),
        (b":authority", b"auth"),
    ]);
    module(&format!(
        r#"(data (i32.const 1024) "auth")
           (data (i32.const 1040) "{{\"token\":\"t\"}}")
           (data (i32.const 1100) ":status")
           (data (i32.const 1120) "unknown cluster")
           (data (i32.const 1200) "{headers}")
           (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (if (i32.eq (call $http_call (i32.const 1024) (i32.const 4) (i32.const 1200) (i32.const {hlen})
                   (i32.const 1040) (i32.const 13) (i32.const 0) (i32.const 0) (i32.const 100) (i32.const 4200))
                   (i32.const 2))
               (then
                 (drop (call $local_response (i32.const 500) (i32.const 0) (i32.const 0)
                   (i32.const 1120) (i32.const 15) (i32.const 0) (i32.const 0) (i32.const -1)))))
             (i32.const 1))
           (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
             (call $expect (call $get_value (i32.const 6) (i32.const 1100) (i32.const 7) (i32.const 4096) (i32.const 4100)) (i32.const 0))
             (drop (call $local_response (i32.const 200) (i32.const 0) (i32.const 0)
               (call $load (i32.const 4096)) (call $load (i32.const 4100)) (i32.const 0) (i32.const 0) (i32.const -1))))"#,
        headers = wat_bytes(&call_headers),
        hlen = call_headers.len(),
    ))
}

#[test]
fn http_calls_reach_the_responder_and_come_back() {
    let f = compile("caller", &caller_module());
    let seen: Arc<Mutex<Vec<CallRequest>>> = Arc::default();
    for (reply, status, body) in [
        (CallReply::Reset, 200, "503"),
        (CallReply::Timeout, 200, "504"),
        (
            CallReply::Response {
                status: 201,
                headers: vec![],
                body: b"{}".to_vec(),
            },
            200,
            "201",
        ),
        (CallReply::UnknownCluster, 500, "unknown cluster"),
    ] {
        let mut env = env();
        let s = seen.clone();
        env.responder = Arc::new(move |call: &CallRequest| {
            s.lock().unwrap().push(call.clone());
            reply.clone()
        });
        let mut vm = f.vm(env).unwrap();
        let o = vm.run(&get("/")).unwrap();
        assert_eq!((o.status, o.body.as_str()), (status, body));
        assert!(o.upstream.is_none());
    }
    let seen = seen.lock().unwrap();
    let call = &seen[0];
    assert_eq!(call.cluster, "auth");
    assert_eq!(call.timeout_ms, 100);
    assert_eq!(call.body, br#"{"token":"t"}"#);
    assert_eq!(header(&call.headers, ":path"), ["/verify"]);
    assert_eq!(header(&call.headers, "content-length"), ["13"]);
}

#[test]
fn shared_data_queues_ticks_and_properties() {
    let wat = module(
        r#"(data (i32.const 1024) "k")
           (data (i32.const 1030) "v1")
           (data (i32.const 1040) "v2")
           (data (i32.const 1050) "missing")
           (data (i32.const 1060) "q")
           (data (i32.const 1070) "item")
           (data (i32.const 1080) "other_vm")
           (data (i32.const 1100) "tick")
           (data (i32.const 1110) "ready")
           (data (i32.const 1120) "plugin_name")
           (data (i32.const 1140) "request\00path")
           (func (export "proxy_on_configure") (param i32 i32) (result i32)
             (call $expect (call $set_tick (i32.const 1000)) (i32.const 0))
             (call $expect (call $register_queue (i32.const 1060) (i32.const 1) (i32.const 4300)) (i32.const 0))
             (i32.const 1))
           (func (export "proxy_on_tick") (param i32)
             (drop (call $log (i32.const 2) (i32.const 1100) (i32.const 4))))
           (func (export "proxy_on_queue_ready") (param i32 i32)
             (call $expect (local.get 1) (call $load (i32.const 4300)))
             (drop (call $log (i32.const 2) (i32.const 1110) (i32.const 5))))
           (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             ;; 1-6: shared data with compare-and-swap
             (call $expect (call $set_shared (i32.const 1024) (i32.const 1) (i32.const 1030) (i32.const 2) (i32.const 0)) (i32.const 0))
             (call $expect (call $get_shared (i32.const 1024) (i32.const 1) (i32.const 4096) (i32.const 4100) (i32.const 4104)) (i32.const 0))
             (call $expect (call $load (i32.const 4100)) (i32.const 2))
             (call $expect (call $set_shared (i32.const 1024) (i32.const 1) (i32.const 1040) (i32.const 2)
               (i32.add (call $load (i32.const 4104)) (i32.const 1))) (i32.const 8))
             (call $expect (call $set_shared (i32.const 1024) (i32.const 1) (i32.const 1040) (i32.const 2)
               (call $load (i32.const 4104))) (i32.const 0))
             (call $expect (call $get_shared (i32.const 1050) (i32.const 7) (i32.const 4096) (i32.const 4100) (i32.const 4104)) (i32.const 1))
             ;; 7-13: queues
             (call $expect (call $enqueue (call $load (i32.const 4300)) (i32.const 1070) (i32.const 4)) (i32.const 0))
             (call $expect (call $dequeue (call $load (i32.const 4300)) (i32.const 4096) (i32.const 4100)) (i32.const 0))
             (call $expect (call $load (i32.const 4100)) (i32.const 4))
             (call $expect (call $dequeue (call $load (i32.const 4300)) (i32.const 4096) (i32.const 4100)) (i32.const 7))
             (call $expect (call $enqueue (i32.const 999) (i32.const 1070) (i32.const 4)) (i32.const 1))
             (call $expect (call $resolve_queue (i32.const 0) (i32.const 0) (i32.const 1060) (i32.const 1) (i32.const 4304)) (i32.const 0))
             (call $expect (call $resolve_queue (i32.const 1080) (i32.const 8) (i32.const 1060) (i32.const 1) (i32.const 4304)) (i32.const 1))
             ;; 14-17: properties
             (call $expect (call $get_property (i32.const 1120) (i32.const 11) (i32.const 4096) (i32.const 4100)) (i32.const 0))
             (call $expect (call $load (i32.const 4100)) (i32.const 5))
             (call $expect (call $get_property (i32.const 1140) (i32.const 12) (i32.const 4096) (i32.const 4100)) (i32.const 0))
             (call $expect (call $load (i32.const 4100)) (i32.const 3))
             (i32.const 0))"#,
    );
    let f = compile("state", &wat);
    let mut env = env();
    let t0 = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    env.clock = Clock::pinned(t0);
    let clock = env.clock.clone();
    let logs = env.logs.clone();
    let mut vm = f.vm(env).unwrap();
    assert_eq!(vm.tick_period_ms(), 1000);
    let lines = |logs: &Arc<Mutex<Vec<(LogLevel, String)>>>| -> Vec<String> {
        logs.lock()
            .unwrap()
            .iter()
            .map(|(_, m)| m.clone())
            .collect()
    };
    assert_eq!(
        vm.run(&get("/ab")).unwrap().status,
        200,
        "{:?}",
        lines(&logs)
    );
    assert_eq!(lines(&logs), ["ready"]);
    clock.advance(Duration::from_millis(1500));
    assert_eq!(
        vm.run(&get("/ab")).unwrap().status,
        200,
        "{:?}",
        lines(&logs)
    );
    assert_eq!(lines(&logs), ["ready", "tick", "ready"]);

    // Shared data belongs to the plugin (its vm_id), not to one VM.
    let data = f.compiled.shared.data.lock().unwrap();
    assert_eq!(
        data.get(&b"k"[..]).map(|(v, _)| v.as_slice()),
        Some(&b"v2"[..])
    );
}

#[test]
fn without_allow_on_headers_stop_iteration_a_pause_stops_the_body() {
    let catalogue = catalogue();
    let mut ex = get("/post");
    ex.method = "POST".into();
    ex.body = br#"{"a":1}"#.to_vec();

    // A filter that pauses its headers until the body is complete (and continues from the body
    // callback): with "stop all" the body callback never runs and the request hangs until
    // Envoy's stream idle timeout; with the option the body arrives and the request passes.
    let holder = compile(
        "holder",
        &module(
            r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32) (i32.const 0))"#,
        ),
    );
    let mut vm = holder.clone().vm(env()).unwrap();
    let o = vm.run(&ex).unwrap();
    assert_eq!(
        (o.status, o.upstream.unwrap().body.as_str()),
        (200, r#"{"a":1}"#)
    );
    let mut vm = holder
        .allow_on_headers_stop_iteration(false)
        .vm(env())
        .unwrap();
    let o = vm.run(&ex).unwrap();
    assert_eq!((o.status, o.body.as_str()), (408, "stream timeout"));

    // ext_authz_call resumes from its call response: the body is then delivered and passes.
    let pair = catalogue.get("ext_authz_call").unwrap();
    let f = real_filter(&catalogue, "ext_authz_call").allow_on_headers_stop_iteration(false);
    let mut env = Env::new(pair.config_json());
    env.responder = Arc::new(|_: &CallRequest| CallReply::Response {
        status: 200,
        headers: vec![],
        body: br#"{"valid":true,"user_id":"u"}"#.to_vec(),
    });
    let mut vm = f.vm(env).unwrap();
    let o = vm.run(&ex).unwrap();
    assert_eq!(o.status, 200);
    let up = o.upstream.unwrap();
    assert_eq!(up.body, r#"{"a":1}"#);
    assert_eq!(header(&up.headers, "x-user-id"), ["u"]);
}

#[test]
fn a_request_paused_forever_gets_the_idle_timeout_reply() {
    let f = compile(
        "pauser",
        &module(
            r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 1))"#,
        ),
    );
    let mut vm = f.vm(env()).unwrap();
    let o = vm.run(&get("/")).unwrap();
    assert_eq!((o.status, o.body.as_str()), (408, "stream timeout"));
}

// ---- the corpus through the real modules -------------------------------------------------------

fn catalogue() -> Catalogue {
    Catalogue::load(&filterbench_model::project_root()).expect("the catalogue loads")
}

/// The pair's built module, compiled once per test process (compiling is the slow part of
/// these tests in a debug build).
fn real_filter(catalogue: &Catalogue, name: &str) -> WasmFilter {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static CACHE: OnceLock<Mutex<HashMap<String, WasmFilter>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(f) = cache.lock().unwrap().get(name) {
        return f.clone();
    }
    let bytes = catalogue.wasm_module(name).expect("the built module");
    let f = WasmFilter::compile(name, &bytes).unwrap_or_else(|e| panic!("{e}"));
    cache.lock().unwrap().insert(name.to_string(), f.clone());
    f
}

#[test]
fn every_corpus_scenario_passes_through_the_wasm_twins() {
    let catalogue = catalogue();
    corpus_through(&catalogue, |name| real_filter(&catalogue, name));
}

/// The Go twins (`filters-go/<pair>/`, built to `target/filters-go/<pair>.wasm`): the Go wasip1
/// runtime's imports (poll_oneoff, fd_fdstat_set_flags, ... which no Rust twin imports) are all
/// provided, `_initialize` starts the runtime, and every corpus scenario passes, as for the Rust
/// twins. Without a Go toolchain the build script skipped them with a warning: this test then
/// says so and checks nothing.
#[test]
fn every_corpus_scenario_passes_through_the_go_twins() {
    let catalogue = catalogue();
    let dir = filterbench_model::go_wasm_dir();
    if !dir.join("add_header.wasm").is_file() {
        eprintln!(
            "no Go twins in {} (the build found no Go toolchain, see its warning): skipped",
            dir.display()
        );
        return;
    }
    corpus_through(&catalogue, |name| {
        let path = dir.join(format!("{name}.wasm"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let f = WasmFilter::compile(name, &bytes).unwrap_or_else(|e| panic!("{e}"));
        for (module, import) in f.imports() {
            let known = match module.as_str() {
                "env" => ENV_FUNCTIONS.contains(&import.as_str()),
                "wasi_snapshot_preview1" => WASI_FUNCTIONS.contains(&import.as_str()),
                _ => false,
            };
            assert!(known, "Go twin {name}: import {module}::{import}");
        }
        f
    });
}

/// Every pair's corpus through the module `filter_of(pair)` gives.
fn corpus_through(catalogue: &Catalogue, filter_of: impl Fn(&str) -> WasmFilter) {
    let mut failures = Vec::new();
    for pair in &catalogue.pairs {
        let corpus = Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name).expect("corpus");
        let filter = filter_of(&pair.name);
        let env = Env {
            clock: Clock::real(),
            random: Random::seeded(7),
            responder: corpus_responder(&corpus),
            logs: Arc::default(),
            limits: Limits::default(),
            config: pair.config_json(),
            config_raw: None,
        };
        let logs = env.logs.clone();
        let mut vm = filter.vm(env).unwrap_or_else(|e| panic!("{e}"));
        let mut passed = 0;
        let mut requests = 0u64;
        for scenario in &corpus.scenarios {
            let ex = Exchange::from_scenario(scenario);
            for _ in 0..scenario.before {
                let _ = vm.run(&ex);
                requests += 1;
            }
            let log_mark = logs.lock().unwrap().len();
            let now_ms = Clock::real().now_ms();
            requests += 1;
            let mut misses = match vm.run(&ex) {
                Ok(outcome) => check_expect(&scenario.expect, &outcome, now_ms),
                Err(e) => vec![format!("error: {e}")],
            };
            let emitted: Vec<String> = logs.lock().unwrap()[log_mark..]
                .iter()
                .map(|(_, m)| m.clone())
                .collect();
            for want in &scenario.expect.logs {
                if !emitted.iter().any(|m| m.contains(want.as_str())) {
                    misses.push(format!(
                        "logs: expected a line containing {want:?}, got {emitted:?}"
                    ));
                }
            }
            if misses.is_empty() {
                passed += 1;
            } else {
                failures.push(format!(
                    "{}/{}: {}",
                    pair.name,
                    scenario.name,
                    misses.join("; ")
                ));
            }
        }
        if pair.counters.is_some() {
            let counters = vm.counters();
            let total: u64 = counters.values().sum();
            if total != requests {
                failures.push(format!(
                    "{}: counters {counters:?} sum to {total}, expected {requests}",
                    pair.name
                ));
            }
        }
        println!(
            "{:<16} {passed}/{} scenarios pass",
            pair.name,
            corpus.scenarios.len()
        );
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn custom_metrics_counts_per_prefix_and_status() {
    let catalogue = catalogue();
    let pair = catalogue.get("custom_metrics").unwrap();
    let f = real_filter(&catalogue, &pair.name);
    let mut vm = f.vm(Env::new(pair.config_json())).unwrap();
    let mut ex = get("/api/users");
    vm.run(&ex).unwrap();
    vm.run(&ex).unwrap();
    ex.path = "/nothing/here".into();
    ex.upstream.status = 404;
    vm.run(&ex).unwrap();
    let counters = vm.counters();
    assert_eq!(counters.get("custom_metrics.requests.api.200"), Some(&2));
    assert_eq!(counters.get("custom_metrics.requests.other.404"), Some(&1));
}

#[test]
fn the_sdk_imports_are_all_provided() {
    let catalogue = catalogue();
    for pair in &catalogue.pairs {
        let f = real_filter(&catalogue, &pair.name);
        for (module, name) in f.imports() {
            let known = match module.as_str() {
                "env" => ENV_FUNCTIONS.contains(&name.as_str()),
                "wasi_snapshot_preview1" => WASI_FUNCTIONS.contains(&name.as_str()),
                _ => false,
            };
            assert!(known, "{}: import {module}::{name}", pair.name);
        }
    }
}
