//! The real Istio control plane: istiod, built by the project's build step
//! (`filterbench_build::istiod`, Go, cached in `target/istiod`), serves the generated manifests
//! to sidecar Envoys over xDS.
//!
//! - add_header's TrafficExtension twins, served by istiod, pass the corpus with the outcomes of
//!   the verified twins, and every process is reaped afterwards;
//! - a TrafficExtension Istio's validation rejects (neither `lua` nor `wasm`) stops istiod with
//!   Istio's own message, in the error. (Both `lua` and `wasm` cannot reach Istio's Go
//!   validation: the two are a protobuf oneof, so decoding keeps one; in a cluster the CRD's CEL
//!   rule refuses it, and so does the project's CRD validation before istiod starts.)
//!
//! The first run builds istiod from scratch (minutes: the Go module graph is downloaded into
//! and compiled in `target/istiod/cache`); later runs find it up to date.

use std::sync::OnceLock;

use filterbench_envoy::envoy::find_envoy;
use filterbench_envoy::istiod::Istiod;
use filterbench_envoy::verify::{verify_pair, verify_twin, Rig};
use filterbench_envoy::verify_istiod::{
    verify_deployed_istiod, verify_deployed_istiod_all, ControlPlane, MeshReferences,
};
use filterbench_k8s::crd::CrdSchemas;
use filterbench_k8s::Api;
use filterbench_model::{Catalogue, TwinKind};

/// The tests of this module one at a time: each checks that no istiod child is left.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// istiod, built once per test binary; `None` (the test is skipped, saying why) only when there
/// is no Go toolchain, as for the Go twins. Any other build failure fails the test.
fn control_plane() -> Option<&'static ControlPlane> {
    static CP: OnceLock<Option<ControlPlane>> = OnceLock::new();
    CP.get_or_init(|| {
        let root = filterbench_model::project_root();
        match filterbench_build::istiod::build_istiod(&root) {
            Err(filterbench_build::go::GoBuildError::Missing(why)) => {
                eprintln!("istiod not built ({why}): skipped");
                return None;
            }
            Err(e) => panic!("istiod must build: {e}"),
            Ok(_) => {}
        }
        Some(ControlPlane::build(&root).unwrap_or_else(|e| panic!("istiod must build: {e}")))
    })
    .as_ref()
}

#[test]
fn add_header_served_by_istiod_passes_the_corpus() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cp) = control_plane() else {
        return;
    };
    assert!(cp.version.starts_with("1."), "{}", cp.version);
    let catalogue = Catalogue::load(&filterbench_model::project_root()).unwrap();
    let pair = catalogue.get("add_header").unwrap();
    let crds = CrdSchemas::load_default().unwrap();
    let rig = Rig::new(find_envoy().expect("Envoy 1.40")).unwrap();
    let verified = verify_pair(&rig, &catalogue, pair).unwrap();
    assert!(verified.equivalent, "{:?}", verified.failure_lines());
    let run = verify_deployed_istiod(
        &rig,
        &catalogue,
        pair,
        Api::TrafficExtension,
        &crds,
        cp,
        &verified,
    )
    .unwrap_or_else(|e| panic!("add_header (trafficextension) through istiod: {e}"));
    let report = &run.report;
    // istiod put the extension in the sidecar's inbound chain: the config comparison found it.
    assert!(
        !run.config_differences
            .iter()
            .any(|l| l.contains("has no lua filter") || l.contains("has no wasm filter")),
        "{:#?}",
        run.config_differences
    );
    assert_eq!(report.pair, "add_header (trafficextension)");
    assert_eq!(report.results.len(), verified.results.len());
    assert!(report.equivalent, "{}", report.failure_lines().join("\n"));
    // The sidecars saw the filter: add_header's request header reached the upstream.
    let first = &report.results[0];
    assert!(
        first
            .lua
            .upstream
            .as_ref()
            .is_some_and(|u| u.headers.iter().any(|(k, _)| k == "x-custom-header")),
        "{first:#?}"
    );
    assert_eq!(istiod_children(), 0, "istiod is stopped and reaped");
}

/// The native twin ships as an EnvoyFilter patch with Envoy's dynamic modules filter, the Go twin
/// as its own TrafficExtension: one istiod serves both twins (and the Lua manifest beside each,
/// every sidecar in its own namespace), puts each twin's filter in its sidecar's inbound chain
/// before the router, and the sidecars give the verified outcomes. The Go twin served again
/// under the legacy API re-uses its reference run behind istiod's connection manager.
#[test]
fn native_and_go_twins_served_by_one_istiod_pass_the_corpus() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cp) = control_plane() else {
        return;
    };
    let catalogue = Catalogue::load(&filterbench_model::project_root()).unwrap();
    let pair = catalogue.get("canary_tag").unwrap();
    let crds = CrdSchemas::load_default().unwrap();
    let rig = Rig::new(find_envoy().expect("Envoy 1.40")).unwrap();
    let kinds = [
        (TwinKind::Native, "envoy.filters.http.dynamic_modules"),
        (TwinKind::GoWasm, "wasm"),
    ];
    let verified: Vec<_> = kinds
        .iter()
        .map(|&(kind, _)| {
            let verified = verify_twin(&rig, &catalogue, pair, kind).unwrap();
            assert!(
                verified.equivalent,
                "{kind}: {:?}",
                verified.failure_lines()
            );
            verified
        })
        .collect();
    let twins: Vec<_> = verified.iter().map(|v| (pair, v)).collect();
    let mut references = MeshReferences::default();
    let mut told = Vec::new();
    let runs = verify_deployed_istiod_all(
        &rig,
        &catalogue,
        &twins,
        Api::TrafficExtension,
        &crds,
        cp,
        &mut references,
        &mut |run| told.push(run.report.pair.clone()),
    )
    .unwrap_or_else(|e| panic!("canary_tag (native, go-wasm) through one istiod: {e}"));
    assert_eq!(
        told,
        [
            "canary_tag (trafficextension, native)",
            "canary_tag (trafficextension, go-wasm)"
        ]
    );
    assert_eq!(runs.len(), 2);
    for ((kind, filter), (run, verified)) in kinds.into_iter().zip(runs.iter().zip(&verified)) {
        let report = &run.report;
        assert_eq!(
            report.pair,
            format!("canary_tag (trafficextension, {kind})")
        );
        assert_eq!(report.twin, kind);
        assert_eq!(report.results.len(), verified.results.len());
        assert!(
            report.equivalent,
            "{kind}: {}",
            report.failure_lines().join("\n")
        );
        // istiod's chain for the twin's sidecar holds the twin's filter right before the router
        // (the config comparison names the chain when it differs from the own listener's).
        let side = if kind == TwinKind::Native {
            "native"
        } else {
            "wasm"
        };
        let chain = run
            .config_differences
            .iter()
            .find(|l| l.starts_with(&format!("{side}: chain: istiod [")))
            .unwrap_or_else(|| panic!("{kind}: {:#?}", run.config_differences));
        assert!(
            chain.contains(filter) && chain.contains("envoy.filters.http.router] (the filter at"),
            "{chain}"
        );
        assert!(
            !run.config_differences.iter().any(|l| l.contains("has no")),
            "{:#?}",
            run.config_differences
        );
    }
    // istiod normalises paths: one reference run per twin so far.
    assert_eq!(references.len(), 2);
    let legacy = verify_deployed_istiod_all(
        &rig,
        &catalogue,
        &twins[1..],
        Api::Legacy,
        &crds,
        cp,
        &mut references,
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("canary_tag (legacy, go-wasm) through istiod: {e}"));
    assert!(
        legacy[0].report.equivalent,
        "{}",
        legacy[0].report.failure_lines().join("\n")
    );
    assert_eq!(references.len(), 2, "the Go twin's reference is re-used");
    assert_eq!(istiod_children(), 0, "istiod is stopped and reaped");
}

/// istiod's sidecars normalise paths (the mesh's default `pathNormalization`): path_regex's
/// `percent_encoded_digit` (`/api/v%31/`) reaches the filters as `/api/v1/`, so its corpus
/// expectation (no version header) cannot hold. The run is compared with the verified twins
/// replayed behind the same connection-manager settings, that scenario's expectation is set aside
/// and named, and every other scenario still meets its expectations.
#[test]
fn path_normalisation_by_istiod_is_compared_with_the_twins_behind_the_same_settings() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cp) = control_plane() else {
        return;
    };
    let catalogue = Catalogue::load(&filterbench_model::project_root()).unwrap();
    let pair = catalogue.get("path_regex").unwrap();
    let crds = CrdSchemas::load_default().unwrap();
    let rig = Rig::new(find_envoy().expect("Envoy 1.40")).unwrap();
    let verified = verify_pair(&rig, &catalogue, pair).unwrap();
    let run = verify_deployed_istiod(&rig, &catalogue, pair, Api::Legacy, &crds, cp, &verified)
        .unwrap_or_else(|e| panic!("path_regex (legacy) through istiod: {e}"));
    let mesh = run.mesh.as_ref().expect("istiod normalises paths");
    assert!(mesh.connection_manager.normalize_path);
    // Behind istiod's settings the twins still agree on every scenario; only the changed
    // scenario misses its expectation (written for `/api/v%31/`).
    assert!(
        mesh.reference.results.iter().all(|r| r.diff.is_empty()),
        "{:?}",
        mesh.reference.failure_lines()
    );
    let changed: Vec<&str> = mesh.changed.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(changed, ["percent_encoded_digit"], "{:#?}", mesh.changed);
    assert!(
        mesh.changed[0].1.contains("\"/api/v1/\""),
        "{:#?}",
        mesh.changed
    );
    assert!(
        !mesh.set_aside.is_empty()
            && mesh
                .set_aside
                .iter()
                .all(|m| m.starts_with("percent_encoded_digit: ")),
        "{:#?}",
        mesh.set_aside
    );
    let report = &run.report;
    assert!(report.equivalent, "{}", report.failure_lines().join("\n"));
    assert_eq!(istiod_children(), 0, "istiod is stopped and reaped");
}

/// Four Lua TrafficExtensions on one sidecar (AUTHN, AUTHZ, STATS with priority 10 and 1, named
/// so that name order is the reverse): istiod puts them in Envoy's chain, and they run, in the
/// order their manifests' phase and priority say.
#[test]
fn istiod_orders_extensions_by_phase_then_priority() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cp) = control_plane() else {
        return;
    };
    let crds = CrdSchemas::load_default().unwrap();
    let rig = Rig::new(find_envoy().expect("Envoy 1.40")).unwrap();
    let order = filterbench_envoy::phase_order::check(&rig, cp, &crds).unwrap();
    assert_eq!(
        order.expected,
        ["d-authn", "c-authz", "b-stats-high", "a-stats-low"]
    );
    assert_eq!(order.chain, order.expected, "{}", order.line());
    assert_eq!(order.ran, order.expected, "{}", order.line());
    assert!(order.holds());
    assert_eq!(istiod_children(), 0, "istiod is stopped and reaped");
}

#[test]
fn a_manifest_istio_rejects_fails_with_istios_message() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cp) = control_plane() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("neither.yaml"),
        "\
apiVersion: extensions.istio.io/v1alpha1
kind: TrafficExtension
metadata:
  name: neither
  namespace: default
spec:
  selector:
    matchLabels:
      app: filterbench-echo
",
    )
    .unwrap();
    let err = match Istiod::start(&cp.bin, dir.path()) {
        Ok(_) => panic!("istiod accepted a TrafficExtension with neither lua nor wasm"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("neither.yaml"), "{err}");
    // Istio's own message (pkg/config/validation's ValidateTrafficExtension).
    assert!(
        err.contains("exactly one of wasm or lua must be set"),
        "{err}"
    );
    assert_eq!(istiod_children(), 0, "istiod is reaped");
}

/// Child processes of this test binary that are istiod, running or not yet reaped (zombies).
fn istiod_children() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            // `pid (comm) state ppid ...`.
            let Some((head, rest)) = stat.rsplit_once(") ") else {
                return false;
            };
            let comm = head.split_once(" (").map_or("", |(_, c)| c);
            let ppid = rest.split_whitespace().nth(1).unwrap_or("");
            comm == "istiod" && ppid == me
        })
        .count()
}
