//! The benchmark bodies, run once without timing (no timing is ever asserted): every pair's
//! representative request passes its scenario on both twins, the pass-through filters pass the
//! request on unchanged, and the ops filters really perform their operation (the set header is
//! visible upstream, the JSON `sub`, the regex capture and the concatenation come back in
//! `x-bench-result`).

use filterbench_bench::harness::driver::Side;
use filterbench_bench::perf::{self, ops, paired};
use filterbench_model::{project_root, Catalogue, TwinKind};

#[test]
fn every_bench_body_runs_once_and_does_what_it_measures() {
    // Pair set-up checks its scenario on both twins before and after; ops and baseline check
    // their outcomes (see perf::subjects::check_op).
    // The Go Wasm twins run beside them where the build made them (all 12 with a Go toolchain;
    // without one the build warned and they are skipped here too).
    let catalogue = Catalogue::load(&project_root()).unwrap();
    let memory = perf::smoke(&catalogue, None, 20).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(memory.len(), 12, "one memory reading per pair");
    let mut with_go = 0;
    for m in &memory {
        assert!(m.wasm_after_start_bytes > 0, "{m:?}");
        assert!(m.lua_after_start_bytes > 0, "{m:?}");
        assert!(
            m.wasm_after_requests_bytes >= m.wasm_after_start_bytes,
            "linear memory never shrinks: {m:?}"
        );
        let built = catalogue
            .twin(&m.pair, TwinKind::GoWasm)
            .is_some_and(|t| t.artefact.exists());
        match (m.go_after_start_bytes, m.go_after_requests_bytes) {
            (Some(start), Some(after)) => {
                assert!(built, "{m:?}");
                assert!(start > 0 && after >= start, "Go linear memory: {m:?}");
                with_go += 1;
            }
            (None, None) => assert!(!built, "the built Go twin was not run: {m:?}"),
            _ => panic!("one Go memory reading without the other: {m:?}"),
        }
    }
    if with_go == 0 {
        eprintln!("no Go twins built (no Go toolchain at build time): only Lua and Rust Wasm ran");
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
fn per_op_subtracts_the_empty_run_round_by_round() {
    let per = paired::per_op(&[12_000.0, 13_000.0], &[2_000.0, 2_500.0], 100);
    assert_eq!(per, vec![100.0, 105.0]);
    assert_eq!(Side::Lua.name(), "lua");
}

/// Deterministic noise in [-1, 1) (a fixed LCG), so the tests do not depend on a clock.
fn noise(seed: u64, n: usize) -> Vec<f64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn equal_sides_inside_noise_give_an_interval_that_contains_one() {
    // Both sides 1000 ns +- 15% noise, and a drift the pairing cancels: the machine slows
    // down 3x over the run, on both sides alike.
    let n = 200;
    let drift = |i: usize| 1.0 + 2.0 * i as f64 / n as f64;
    let lua: Vec<f64> = noise(1, n)
        .iter()
        .enumerate()
        .map(|(i, e)| 1000.0 * drift(i) * (1.0 + 0.15 * e))
        .collect();
    let wasm: Vec<f64> = noise(2, n)
        .iter()
        .enumerate()
        .map(|(i, e)| 1000.0 * drift(i) * (1.0 + 0.15 * e))
        .collect();
    let c = paired::compare(&lua, &wasm, 2_000).unwrap();
    let r = c.wasm_over_lua;
    assert!(r.low < 1.0 && 1.0 < r.high, "{r:?}");
    assert_eq!(r.side_of(1.0), None, "no measurable difference: {r:?}");
    assert_eq!(c.wasm_minus_lua_ns.side_of(0.0), None, "{c:?}");
    assert_eq!(c.rounds, 200);
}

#[test]
fn a_clear_separation_gives_the_direction() {
    // Wasm 20% faster than Lua in every round, +-5% noise each, and a slow phase in the middle
    // (rounds 80..120 at 4x) that hits both sides of a round.
    let n = 200;
    let phase = |i: usize| if (80..120).contains(&i) { 4.0 } else { 1.0 };
    let lua: Vec<f64> = noise(3, n)
        .iter()
        .enumerate()
        .map(|(i, e)| 1000.0 * phase(i) * (1.0 + 0.05 * e))
        .collect();
    let wasm: Vec<f64> = noise(4, n)
        .iter()
        .enumerate()
        .map(|(i, e)| 800.0 * phase(i) * (1.0 + 0.05 * e))
        .collect();
    let c = paired::compare(&lua, &wasm, 2_000).unwrap();
    let r = c.wasm_over_lua;
    assert_eq!(r.side_of(1.0), Some(true), "Wasm faster: {r:?}");
    assert!((0.75..0.85).contains(&r.median), "{r:?}");
    assert!(r.low > 0.7 && r.high < 0.9, "{r:?}");
    assert_eq!(c.wasm_minus_lua_ns.side_of(0.0), Some(true), "{c:?}");
    // And the other way round: Lua faster.
    let c = paired::compare(&wasm, &lua, 2_000).unwrap();
    assert_eq!(c.wasm_over_lua.side_of(1.0), Some(false), "{c:?}");
}

#[test]
fn the_interval_narrows_with_more_rounds_and_ignores_outlier_rounds() {
    let make = |n: usize, seed: u64, base: f64| -> Vec<f64> {
        noise(seed, n)
            .iter()
            .map(|e| base * (1.0 + 0.2 * e))
            .collect()
    };
    let width = |c: &paired::Comparison| c.wasm_over_lua.high - c.wasm_over_lua.low;
    let short = paired::compare(&make(40, 5, 1000.0), &make(40, 6, 900.0), 2_000).unwrap();
    let long = paired::compare(&make(400, 5, 1000.0), &make(400, 6, 900.0), 2_000).unwrap();
    assert!(width(&long) < width(&short), "{short:?} vs {long:?}");
    // A context switch in 5 of 200 rounds (one side 50x slower) barely moves the median.
    let lua = make(200, 7, 1000.0);
    let mut wasm = make(200, 8, 900.0);
    let clean = paired::compare(&lua, &wasm, 2_000).unwrap();
    for i in [3, 50, 90, 140, 199] {
        wasm[i] *= 50.0;
    }
    let hit = paired::compare(&lua, &wasm, 2_000).unwrap();
    assert!(
        (hit.wasm_over_lua.median - clean.wasm_over_lua.median).abs() < 0.05,
        "{hit:?}"
    );
}

#[test]
fn blocks_that_disagree_widen_the_interval() {
    // 8 blocks of 24 rounds, each tight (+-2% noise), but the blocks' ratios spread from 0.85 to
    // 1.15 (fresh VMs laid out differently, another phase of the machine's load). Pooled as one
    // block the rounds look decisive; kept as blocks they do not.
    let ratios = [0.85, 0.9, 0.95, 1.0, 1.0, 1.05, 1.1, 1.15];
    let blocks: Vec<paired::Block> = ratios
        .iter()
        .enumerate()
        .map(|(b, r)| paired::Block {
            lua: noise(10 + b as u64, 24)
                .iter()
                .map(|e| 1000.0 * (1.0 + 0.02 * e))
                .collect(),
            wasm: noise(20 + b as u64, 24)
                .iter()
                .map(|e| 1000.0 * r * (1.0 + 0.02 * e))
                .collect(),
        })
        .collect();
    let kept = paired::compare_blocks(&blocks, 2_000).unwrap();
    assert_eq!((kept.blocks, kept.rounds), (8, 192));
    assert_eq!(kept.wasm_over_lua.side_of(1.0), None, "{kept:?}");
    let width = |c: &paired::Comparison| c.wasm_over_lua.high - c.wasm_over_lua.low;
    let pooled = paired::compare(
        &blocks
            .iter()
            .flat_map(|b| b.lua.clone())
            .collect::<Vec<_>>(),
        &blocks
            .iter()
            .flat_map(|b| b.wasm.clone())
            .collect::<Vec<_>>(),
        2_000,
    )
    .unwrap();
    assert_eq!(pooled.wasm_over_lua.median, kept.wasm_over_lua.median);
    assert!(
        width(&kept) > 1.5 * width(&pooled),
        "{kept:?} vs {pooled:?}"
    );
    // Blocks that agree keep a clear direction.
    let agree: Vec<paired::Block> = (0..8)
        .map(|b| paired::Block {
            lua: noise(30 + b, 24)
                .iter()
                .map(|e| 1000.0 * (1.0 + 0.05 * e))
                .collect(),
            wasm: noise(40 + b, 24)
                .iter()
                .map(|e| 700.0 * (1.0 + 0.05 * e))
                .collect(),
        })
        .collect();
    let c = paired::compare_blocks(&agree, 2_000).unwrap();
    assert_eq!(c.wasm_over_lua.side_of(1.0), Some(true), "{c:?}");
    // A block whose sides have different numbers of rounds is refused.
    let mut bad = agree.clone();
    bad[3].wasm.pop();
    assert!(paired::compare_blocks(&bad, 100).is_none());
}
