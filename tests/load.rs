//! The compare runner against real Envoys: every variant and worker count measured, with CPU
//! and memory figures that come from the processes (no timing is asserted, only that the
//! figures exist and are consistent).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use filterbench_bench::{project_root, Catalogue};
use filterbench_loadgen::compare::{compare, write_json_atomically, CompareResult, CompareSpec};
use filterbench_loadgen::envoy::find_envoy;
use filterbench_loadgen::load::Mode;
use filterbench_loadgen::verify::Rig;

#[test]
fn compare_measures_every_variant_at_every_worker_count() {
    let catalogue = Catalogue::load(&project_root()).unwrap();
    let pair = catalogue.get("header_auth").unwrap();
    let rig = Rig::new(find_envoy().unwrap()).unwrap();
    let spec = CompareSpec {
        workers: vec![1, 2],
        rounds: 2,
        round_secs: 0.3,
        warmup_secs: 0.1,
        connections: 4,
        mode: Mode::Closed,
    };
    let mut seen = Vec::new();
    let result = compare(
        &rig,
        &catalogue,
        pair,
        &spec,
        "test",
        Arc::new(AtomicBool::new(false)),
        &mut |m| seen.push(m.to_string()),
    )
    .unwrap();
    assert!(!result.partial);
    assert_eq!(seen.len(), 2 * 2 * 3, "{seen:?}");
    assert_eq!(
        result
            .by_workers
            .iter()
            .map(|w| w.workers)
            .collect::<Vec<_>>(),
        [1, 2]
    );
    for w in &result.by_workers {
        let names: Vec<&str> = w.variants.iter().map(|v| v.variant.as_str()).collect();
        assert_eq!(names, ["base", "lua", "wasm"]);
        assert_eq!(w.rounds.len(), 6);
        for v in &w.variants {
            assert!(v.throughput_rps > 0.0, "{v:?}");
            assert!(v.p50_us > 0.0 && v.p50_us <= v.max_us, "{v:?}");
            assert!(v.envoy_cpu_us_per_request > 0.0, "{v:?}");
            assert!(
                v.memory.rss_bytes > 0 && v.memory.peak_rss_bytes >= v.memory.rss_bytes,
                "{v:?}"
            );
            assert!(v.memory.allocated_bytes > 0, "{v:?}");
            assert_eq!(v.errors, 0, "{v:?}");
        }
        // One Wasm VM per worker (plus the main thread's), none without the Wasm filter.
        let vms = |name: &str| {
            w.variants
                .iter()
                .find(|v| v.variant == name)
                .unwrap()
                .memory
                .wasm_vms
        };
        assert_eq!(vms("base"), 0);
        assert!(
            vms("wasm") >= u64::from(w.workers),
            "{} workers, {} VMs",
            w.workers,
            vms("wasm")
        );
        // header_auth's mix has refused requests: the filters answered 403 where the baseline did not.
        let non_2xx = |name: &str| {
            w.variants
                .iter()
                .find(|v| v.variant == name)
                .unwrap()
                .non_2xx
        };
        assert_eq!(non_2xx("base"), 0);
        assert!(non_2xx("lua") > 0 && non_2xx("wasm") > 0);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results/header_auth.json");
    write_json_atomically(&path, &result).unwrap();
    let back: CompareResult = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(back.by_workers.len(), 2);
}
