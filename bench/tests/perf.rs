//! The benchmark bodies, run once without timing (no timing is ever asserted): every pair's
//! representative request passes its scenario on both twins, the pass-through filters pass the
//! request on unchanged, and the ops filters really perform their operation (the set header is
//! visible upstream, the JSON `sub`, the regex capture and the concatenation come back in
//! `x-bench-result`).

use filterbench_bench::harness::driver::Side;
use filterbench_bench::perf::{self, ops};

#[test]
fn every_bench_body_runs_once_and_does_what_it_measures() {
    // Pair set-up checks its scenario on both twins before and after; ops and baseline check
    // their outcomes (see perf::subjects::check_op).
    let memory = perf::smoke(None, 20).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(memory.len(), 12, "one memory reading per pair");
    for m in &memory {
        assert!(m.wasm_after_start_bytes > 0, "{m:?}");
        assert!(m.lua_after_start_bytes > 0, "{m:?}");
        assert!(
            m.wasm_after_requests_bytes >= m.wasm_after_start_bytes,
            "linear memory never shrinks: {m:?}"
        );
    }
}

#[test]
fn the_ops_filters_report_what_they_did() {
    let expected = [
        ("header_read", 100, ops::READ_VALUE.to_string()),
        ("header_set", 100, "set 100".to_string()),
        ("json_parse", 20, "user-42".to_string()),
        ("regex_match", 100, "1".to_string()),
        ("string_concat", 100, "/api/v1/items?v=1".to_string()),
    ];
    for (op, (id, n, result)) in ops::OPS.iter().zip(expected) {
        assert_eq!(op.id, id);
        assert_eq!(op.n, n);
        assert_eq!(ops::expected_result(op, n), result);
        assert_eq!(ops::expected_result(op, 0), "none");
    }
    // n = 3 gives another concatenation than n = 100: the last operand really varies.
    assert_eq!(
        ops::expected_result(&ops::OPS[4], 3),
        "/api/v1/items?v=4444"
    );
}

#[test]
fn per_op_subtracts_the_empty_run_and_widens_the_interval() {
    let e = |m, lo, hi| filterbench_reports::results::Estimate {
        median_ns: m,
        ci_low_ns: lo,
        ci_high_ns: hi,
    };
    let per = ops::per_op(
        &e(12_000.0, 11_900.0, 12_100.0),
        &e(2_000.0, 1_990.0, 2_010.0),
        100,
    );
    assert_eq!(per.median_ns, 100.0);
    assert_eq!(per.ci_low_ns, (11_900.0 - 2_010.0) / 100.0);
    assert_eq!(per.ci_high_ns, (12_100.0 - 1_990.0) / 100.0);
    assert_eq!(Side::Lua.name(), "lua");
}
