//! The compare runner against real Envoys: every variant and worker count measured, with CPU
//! and memory figures that come from the processes (no timing is asserted, only that the
//! figures exist and are consistent).

use filterbench_reports::results::{read_result, LoadView, LOAD_SCHEMA};
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
        // The mix is the requests header_auth lets through (the baseline does the same upstream
        // work): no variant answers anything but 2xx.
        for v in &w.variants {
            assert_eq!(v.non_2xx, 0, "{} workers, {}", w.workers, v.variant);
            assert_eq!(v.errors, 0, "{} workers, {}", w.workers, v.variant);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results/header_auth.json");
    write_json_atomically(&path, &result).unwrap();
    let back: CompareResult = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(back.by_workers.len(), 2);
    // What the report reads of it.
    let view: LoadView = read_result(&path, LOAD_SCHEMA).unwrap();
    assert_eq!(view.pair, "header_auth");
    assert_eq!(view.by_workers.len(), 2);
    assert_eq!(view.by_workers[0].variants.len(), 3);
}

#[test]
fn ctrl_c_during_a_load_run_writes_partial_results_and_reaps_envoy() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("add_header.json");
    crate::support::ensure_envoy();
    let mut child = crate::support::filterbench_command()
        .args([
            "load",
            "--pair",
            "add_header",
            "--workers",
            "1",
            "--rounds",
            "100",
            "--round-secs",
            "0.5",
        ])
        .args(["--warmup-secs", "0.1", "--connections", "2", "--out"])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first finished round, then interrupt.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let start = Instant::now();
    while !line.contains("round 1/100") {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 || start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no round finished; last line {line:?}");
        }
    }
    let envoys: Vec<u32> = crate::support::envoy_processes()
        .into_iter()
        .filter(|(_, ppid)| *ppid == child.id())
        .map(|(pid, _)| pid)
        .collect();
    assert_eq!(envoys.len(), 3, "base, lua and wasm Envoys");
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("filterbench load did not stop after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    let result: CompareResult = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(result.partial);
    assert!(!result.by_workers.is_empty() && !result.by_workers[0].rounds.is_empty());
    std::thread::sleep(Duration::from_millis(200));
    let left: Vec<(u32, u32)> = crate::support::envoy_processes()
        .into_iter()
        .filter(|(pid, _)| envoys.contains(pid))
        .collect();
    assert!(left.is_empty(), "Envoys left behind: {left:?}");
}
