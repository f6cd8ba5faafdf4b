//! The live switch in a real Envoy: header_auth's filter slot (ECDS from a file) switched
//! Lua -> Wasm -> Lua and then to a corrupt Wasm module under a small open-loop load (about four
//! seconds). Asserted: Envoy took the two good files and rejected the corrupt one (from its admin
//! stats), no request failed across the sequence, every corpus probe got the verified outcome, the
//! result survives the JSON round trip and renders with its timeline chart. No timing is
//! asserted: the convergence times and latencies are only required to exist.
//!
//! The same through istiod: header_auth's TrafficExtension rewritten from `lua:` to `wasm:` and
//! back in istiod's config directory, istiod pushing to a sidecar, then a manifest Istio's
//! validation rejects: nothing lost, the rejected manifest refused with Istio's message.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use filterbench_envoy::envoy::{find_envoy, live_envoys};
use filterbench_envoy::swap::{swap, SwapSpec};
use filterbench_envoy::verify::Rig;
use filterbench_model::results::swap::{read_swap, swap_path};
use filterbench_model::results::write_json_atomically;
use filterbench_model::{project_root, Catalogue};
use filterbench_reports::swap::render_section;

#[test]
fn lua_wasm_lua_under_load_loses_nothing_and_a_corrupt_module_is_rejected() {
    let catalogue = Catalogue::load(&project_root()).unwrap();
    let pair = catalogue.get("header_auth").unwrap();
    let rig = Rig::new(find_envoy().unwrap()).unwrap();
    let spec = SwapSpec {
        workers: vec![2],
        rate: Some(300.0),
        connections: 4,
        phase: Duration::from_millis(1000),
        ..SwapSpec::default()
    };
    let mut lines = Vec::new();
    let result = swap(
        &rig,
        &catalogue,
        pair,
        &spec,
        "test",
        None,
        Arc::new(AtomicBool::new(false)),
        &mut |l| lines.push(l.to_string()),
    )
    .unwrap();
    assert_eq!(live_envoys(), 0, "the swap's Envoy is reaped");
    assert!(!result.partial);
    let run = &result.by_workers[0];
    let path: Vec<(&str, &str, bool, bool)> = run
        .switches
        .iter()
        .map(|s| (s.from.as_str(), s.to.as_str(), s.accepted, s.rejected))
        .collect();
    assert_eq!(
        path,
        [
            ("lua", "wasm", true, false),
            ("wasm", "lua", true, false),
            ("lua", "corrupt_wasm", false, true),
        ],
        "{:#?}",
        run.switches
    );
    // Lua -> Wasm -> Lua: nothing lost, nothing failed, in the switch windows or anywhere.
    for s in &run.switches {
        assert_eq!(s.window.failed.total(), 0, "{s:#?}");
        assert!(s.window.requests > 0, "{s:#?}");
        assert!(s.reload_seen_ms.is_some(), "{s:#?}");
    }
    assert_eq!(run.failed.total(), 0, "{:#?}", run.failed);
    assert_eq!(run.requests, run.responses);
    // The Wasm twin really ran on the workers and was really dropped afterwards.
    let (to_wasm, to_lua) = (&run.switches[0], &run.switches[1]);
    assert!(to_wasm.converged_ms.is_some(), "{to_wasm:#?}");
    assert!(
        to_wasm.memory_after.wasm_vms > u64::from(run.workers),
        "{to_wasm:#?}"
    );
    assert!(to_lua.converged_ms.is_some(), "{to_lua:#?}");
    assert_eq!(to_lua.memory_after.wasm_vms, 0, "{to_lua:#?}");
    // The corrupt module: rejected, said so in the stats and the log, Lua kept serving.
    let corrupt = &run.switches[2];
    let fail = corrupt
        .stats_after
        .iter()
        .find(|(n, _)| n.ends_with(".config_fail"))
        .map(|(_, v)| *v);
    assert_eq!(fail, Some(1), "{corrupt:#?}");
    assert!(!corrupt.log.is_empty(), "{corrupt:#?}");
    assert_eq!(corrupt.memory_after.wasm_vms, 0, "{corrupt:#?}");
    // Every corpus probe, in every phase, got the verified outcome.
    let p = &run.probes;
    assert!(p.sent > 0 && p.as_expected == p.sent, "{p:#?}");
    assert!(p.by_phase.get("wasm").copied().unwrap_or(0) > 0, "{p:#?}");
    assert!(p.by_phase.get("lua").copied().unwrap_or(0) > 0, "{p:#?}");
    assert!(!run.timeline.is_empty());
    // The file round-trips and renders.
    let dir = tempfile::tempdir().unwrap();
    let file = swap_path(dir.path(), &result.pair);
    write_json_atomically(&file, &result).unwrap();
    let back = read_swap(&file).unwrap();
    assert_eq!(back, result);
    let html = render_section(Some(&back), &file).unwrap();
    assert!(html.contains("data-chart=\"swap-timeline-2\""), "{html}");
    assert!(html.contains("data-switch=\"lua-corrupt_wasm\""), "{html}");
}

#[test]
fn through_istiod_lua_wasm_lua_loses_nothing_and_an_invalid_manifest_is_refused() {
    let root = project_root();
    match filterbench_build::istiod::build_istiod(&root) {
        Err(filterbench_build::go::GoBuildError::Missing(why)) => {
            eprintln!("istiod not built ({why}): skipped");
            return;
        }
        Err(e) => panic!("istiod must build: {e}"),
        Ok(_) => {}
    }
    let cp = filterbench_envoy::verify_istiod::ControlPlane::build(&root).unwrap();
    let catalogue = Catalogue::load(&root).unwrap();
    let pair = catalogue.get("header_auth").unwrap();
    let rig = Rig::new(find_envoy().unwrap()).unwrap();
    let spec = SwapSpec {
        workers: vec![1],
        rate: Some(200.0),
        connections: 4,
        phase: Duration::from_millis(1500),
        ..SwapSpec::default()
    };
    let result = swap(
        &rig,
        &catalogue,
        pair,
        &spec,
        "test",
        Some(&cp),
        Arc::new(AtomicBool::new(false)),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(live_envoys(), 0, "the sidecar is reaped");
    assert!(result.mechanism.contains("istiod"), "{}", result.mechanism);
    let run = &result.by_workers[0];
    let path: Vec<(&str, &str, bool, bool)> = run
        .switches
        .iter()
        .map(|s| (s.from.as_str(), s.to.as_str(), s.accepted, s.rejected))
        .collect();
    assert_eq!(
        path,
        [
            ("lua", "wasm", true, false),
            ("wasm", "lua", true, false),
            ("lua", "invalid_manifest", false, true),
        ],
        "{:#?}",
        run.switches
    );
    assert_eq!(run.failed.total(), 0, "{:#?}", run.failed);
    assert_eq!(run.requests, run.responses);
    // istiod's push reached the workers: the Wasm twin's VMs came up.
    let to_wasm = &run.switches[0];
    assert!(to_wasm.memory_after.wasm_vms > 0, "{to_wasm:#?}");
    let refused = &run.switches[2];
    assert!(
        refused.log[0].contains("exactly one of wasm or lua must be set"),
        "{refused:#?}"
    );
    let p = &run.probes;
    assert!(p.sent > 0 && p.as_expected == p.sent, "{p:#?}");
}
