//! The Wasm host ABI (`bench/src/harness/wasm/host`, the WASI calls beside it): one guest that
//! imports every host function and, in every callback, interprets its plugin configuration (the
//! fuzzer's input, handed over as raw bytes by `proxy_on_configure`) as a sequence of host calls
//! with fuzzer-chosen arguments. A VM is started, configured and runs two requests (with an
//! outgoing call answered, timed out, reset or refused, by the cluster name's length), as
//! `verify --in-process` runs a twin. Property: every run ends in an outcome or a
//! `FilterError`; no panic, no hang, bounded memory.
//!
//! The program: an opcode byte picks a host function (modulo their count plus one); its
//! arguments follow, each a byte below 0x80 (the value) or 0x80..=0xFE and four little-endian
//! bytes (the value), i64 arguments likewise with eight bytes. Pointer arguments are relative
//! to the program's own address (so they can point at the program's bytes), except after a
//! 0xFF byte (four bytes, absolute). The extra opcode ends the callback, returning the next
//! argument as its result. Each callback goes on where the previous one stopped; when the
//! program is spent, callbacks return their usual results.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use filterbench_bench::harness::wasm::{Metering, WasmFilter};
use filterbench_bench::harness::{CallReply, Clock, Env, Exchange, FilterVm, Limits};
use filterbench_model::corpus::UpstreamReply;
use libfuzzer_sys::fuzz_target;

/// Every host function the guest imports: module, name, arguments (`p` pointer, `v` i32
/// value, `I` i64 value), whether it returns an i32.
const IMPORTS: &[(&str, &str, &str, bool)] = &[
    ("env", "proxy_log", "vpv", true),
    ("env", "proxy_get_log_level", "p", true),
    ("env", "proxy_get_current_time_nanoseconds", "p", true),
    ("env", "proxy_set_tick_period_milliseconds", "v", true),
    ("env", "proxy_get_buffer_bytes", "vvvpp", true),
    ("env", "proxy_set_buffer_bytes", "vvvpv", true),
    ("env", "proxy_get_buffer_status", "vpp", true),
    ("env", "proxy_get_header_map_pairs", "vpp", true),
    ("env", "proxy_set_header_map_pairs", "vpv", true),
    ("env", "proxy_get_header_map_size", "vp", true),
    ("env", "proxy_get_header_map_value", "vpvpp", true),
    ("env", "proxy_add_header_map_value", "vpvpv", true),
    ("env", "proxy_replace_header_map_value", "vpvpv", true),
    ("env", "proxy_remove_header_map_value", "vpv", true),
    ("env", "proxy_get_property", "pvpp", true),
    ("env", "proxy_set_property", "pvpv", true),
    ("env", "proxy_get_shared_data", "pvppp", true),
    ("env", "proxy_set_shared_data", "pvpvv", true),
    ("env", "proxy_register_shared_queue", "pvp", true),
    ("env", "proxy_resolve_shared_queue", "pvpvp", true),
    ("env", "proxy_enqueue_shared_queue", "vpv", true),
    ("env", "proxy_dequeue_shared_queue", "vpp", true),
    ("env", "proxy_continue_stream", "v", true),
    ("env", "proxy_close_stream", "v", true),
    ("env", "proxy_continue_request", "", true),
    ("env", "proxy_continue_response", "", true),
    ("env", "proxy_send_local_response", "vpvpvpvv", true),
    ("env", "proxy_http_call", "pvpvpvpvvp", true),
    ("env", "proxy_get_status", "ppp", true),
    ("env", "proxy_grpc_call", "pvpvpvpvpvvp", true),
    ("env", "proxy_grpc_stream", "pvpvpvpvp", true),
    ("env", "proxy_grpc_send", "vpvv", true),
    ("env", "proxy_grpc_cancel", "v", true),
    ("env", "proxy_grpc_close", "v", true),
    ("env", "proxy_set_effective_context", "v", true),
    ("env", "proxy_done", "", true),
    ("env", "proxy_call_foreign_function", "pvpvpp", true),
    ("env", "proxy_define_metric", "vpvp", true),
    ("env", "proxy_increment_metric", "vI", true),
    ("env", "proxy_record_metric", "vI", true),
    ("env", "proxy_get_metric", "vp", true),
    ("wasi_snapshot_preview1", "fd_write", "vpvp", true),
    ("wasi_snapshot_preview1", "fd_read", "vpvp", true),
    ("wasi_snapshot_preview1", "fd_close", "v", true),
    ("wasi_snapshot_preview1", "fd_seek", "vIvp", true),
    ("wasi_snapshot_preview1", "fd_fdstat_get", "vp", true),
    ("wasi_snapshot_preview1", "fd_prestat_get", "vp", true),
    ("wasi_snapshot_preview1", "fd_prestat_dir_name", "vpv", true),
    ("wasi_snapshot_preview1", "clock_time_get", "vIp", true),
    ("wasi_snapshot_preview1", "clock_res_get", "vp", true),
    ("wasi_snapshot_preview1", "random_get", "pv", true),
    ("wasi_snapshot_preview1", "environ_get", "pp", true),
    ("wasi_snapshot_preview1", "environ_sizes_get", "pp", true),
    ("wasi_snapshot_preview1", "args_get", "pp", true),
    ("wasi_snapshot_preview1", "args_sizes_get", "pp", true),
    ("wasi_snapshot_preview1", "proc_exit", "v", false),
    ("wasi_snapshot_preview1", "sched_yield", "", true),
];

/// The callbacks the guest exports: name, parameter count, the result when the program is
/// spent (`None`: no result).
const CALLBACKS: &[(&str, usize, Option<i32>)] = &[
    ("proxy_on_context_create", 2, None),
    ("proxy_on_request_headers", 3, Some(0)),
    ("proxy_on_request_body", 3, Some(0)),
    ("proxy_on_response_headers", 3, Some(0)),
    ("proxy_on_response_body", 3, Some(0)),
    ("proxy_on_http_call_response", 5, None),
    ("proxy_on_queue_ready", 2, None),
    ("proxy_on_tick", 1, None),
    ("proxy_on_log", 1, None),
    ("proxy_on_done", 1, Some(1)),
    ("proxy_on_delete", 1, None),
];

/// The guest, in WAT.
fn guest() -> String {
    let mut w = String::from("(module\n");
    for (i, (module, name, args, result)) in IMPORTS.iter().enumerate() {
        let params: String = args
            .chars()
            .map(|c| if c == 'I' { " i64" } else { " i32" })
            .collect();
        let result = if *result { " (result i32)" } else { "" };
        w.push_str(&format!(
            "  (import \"{module}\" \"{name}\" (func $f{i} (param{params}){result}))\n"
        ));
    }
    w.push_str(
        r#"  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 1024))
  (global $base (mut i32) (i32.const 0))
  (global $pc (mut i32) (i32.const 0))
  (global $end (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  ;; A bump allocator; 0 when memory cannot grow.
  (func $malloc (export "proxy_on_memory_allocate") (param $n i32) (result i32)
    (local $at i32) (local $need i64) (local $have i64)
    (local.set $at (global.get $heap))
    (local.set $need (i64.add (i64.extend_i32_u (local.get $at)) (i64.extend_i32_u (local.get $n))))
    (local.set $have (i64.mul (i64.extend_i32_u (memory.size)) (i64.const 65536)))
    (if (i64.gt_u (local.get $need) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.wrap_i64 (i64.div_u
                (i64.add (i64.sub (local.get $need) (local.get $have)) (i64.const 65535))
                (i64.const 65536))))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (i32.wrap_i64 (local.get $need)))
    (local.get $at))
  (func $byte (result i32)
    (local $b i32)
    (if (i32.ge_u (global.get $pc) (global.get $end)) (then (return (i32.const 0))))
    (local.set $b (i32.load8_u (global.get $pc)))
    (global.set $pc (i32.add (global.get $pc) (i32.const 1)))
    (local.get $b))
  (func $u32 (result i32)
    (i32.or (i32.or (call $byte) (i32.shl (call $byte) (i32.const 8)))
            (i32.or (i32.shl (call $byte) (i32.const 16)) (i32.shl (call $byte) (i32.const 24)))))
  (func $v (result i32)
    (local $b i32)
    (local.set $b (call $byte))
    (if (result i32) (i32.lt_u (local.get $b) (i32.const 128))
      (then (local.get $b))
      (else (call $u32))))
  (func $p (result i32)
    (local $b i32)
    (local.set $b (call $byte))
    (if (i32.eq (local.get $b) (i32.const 255)) (then (return (call $u32))))
    (if (result i32) (i32.lt_u (local.get $b) (i32.const 128))
      (then (i32.add (global.get $base) (local.get $b)))
      (else (i32.add (global.get $base) (call $u32)))))
  (func $I (result i64)
    (local $b i32)
    (local.set $b (call $byte))
    (if (result i64) (i32.lt_u (local.get $b) (i32.const 128))
      (then (i64.extend_i32_u (local.get $b)))
      (else (i64.or (i64.extend_i32_u (call $u32)) (i64.shl (i64.extend_i32_u (call $u32)) (i64.const 32))))))
  ;; Runs the program until the end of this callback's part; `$spent` when it is spent.
  (func $run (param $spent i32) (result i32)
    (loop $next
      (if (i32.ge_u (global.get $pc) (global.get $end)) (then (return (local.get $spent))))
"#,
    );
    let n = IMPORTS.len();
    w.push_str("      (block $stop\n");
    for i in (0..n).rev() {
        w.push_str(&format!("      (block $c{i}\n"));
    }
    let labels: String = (0..n).map(|i| format!(" $c{i}")).collect();
    w.push_str(&format!(
        "        (br_table{labels} $stop (i32.rem_u (call $byte) (i32.const {})))\n",
        n + 1
    ));
    for (i, (_, _, args, result)) in IMPORTS.iter().enumerate() {
        w.push_str("      )\n");
        let call_args: String = args
            .chars()
            .map(|c| match c {
                'p' => " (call $p)",
                'I' => " (call $I)",
                _ => " (call $v)",
            })
            .collect();
        let call = format!("(call $f{i}{call_args})");
        if *result {
            w.push_str(&format!("      (drop {call})\n"));
        } else {
            w.push_str(&format!("      {call}\n"));
        }
        w.push_str("      (br $next)\n");
    }
    w.push_str("      )\n      (return (call $v)))\n    (local.get $spent))\n");
    // The plugin configuration is the program.
    w.push_str(
        r#"  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
    (if (i32.eqz (call $f4 (i32.const 7) (i32.const 0) (local.get $size) (i32.const 0) (i32.const 4)))
      (then
        (global.set $base (i32.load (i32.const 0)))
        (global.set $pc (global.get $base))
        (global.set $end (i32.add (global.get $base) (i32.load (i32.const 4))))))
    (call $run (i32.const 1)))
"#,
    );
    for (name, params, spent) in CALLBACKS {
        let params = " i32".repeat(*params);
        match spent {
            Some(v) => w.push_str(&format!(
                "  (func (export \"{name}\") (param{params}) (result i32) (call $run (i32.const {v})))\n"
            )),
            None => w.push_str(&format!(
                "  (func (export \"{name}\") (param{params}) (drop (call $run (i32.const 0))))\n"
            )),
        }
    }
    w.push_str(")\n");
    w
}

/// The guest compiled once; each input gets a filter of its own (deserialised from these
/// bytes), so that shared data and queues do not carry over from one input to the next.
fn compiled() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        WasmFilter::precompile_without("fuzz_guest", guest().as_bytes(), Metering::Fuel, &[])
            .unwrap_or_else(|e| panic!("the fuzz guest does not compile: {e}\n{}", guest()))
    })
}

fn exchange() -> Exchange {
    Exchange {
        method: "POST".into(),
        path: "/api/v1/items?q=1".into(),
        headers: vec![
            ("host".into(), "example.com".into()),
            ("x-user-id".into(), "u1".into()),
            ("content-type".into(), "application/json".into()),
        ],
        body: br#"{"a":1}"#.to_vec(),
        upstream: UpstreamReply {
            status: 200,
            headers: vec![("x-up".into(), "1".into())],
            body: Some("upstream ok".into()),
        },
    }
}

fuzz_target!(|data: &[u8]| {
    // SAFETY: the bytes are this executable's own serialisation, with the same metering.
    let filter = unsafe { WasmFilter::deserialize("fuzz_guest", compiled(), Metering::Fuel) }
        .expect("the fuzz guest deserialises");
    let mut env = Env::new(serde_json::json!({}));
    env.config_raw = Some(Arc::from(data));
    env.clock = Clock::pinned(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    env.limits = Limits {
        instructions: 1_000_000,
        memory_bytes: 4 << 20,
        ..Limits::default()
    };
    env.responder = Arc::new(|call| match call.cluster.len() % 4 {
        0 => CallReply::Response {
            status: 200,
            headers: vec![("x-call".into(), "1".into())],
            body: b"{\"valid\":true}".to_vec(),
        },
        1 => CallReply::Timeout,
        2 => CallReply::Reset,
        _ => CallReply::UnknownCluster,
    });
    let Ok(mut vm) = filter.vm(env) else {
        return;
    };
    for _ in 0..2 {
        if vm.run(&exchange()).is_err() {
            break;
        }
    }
});
