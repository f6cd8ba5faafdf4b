//! The pass-through filters (`load --pair passthrough`: Lua, Rust Wasm and the native module
//! `filters-native/passthrough/`, each doing nothing) in a real Envoy 1.40: every one loads and
//! passes requests and responses through unchanged, outcome for outcome equal to the baseline
//! listener's (router only). What the mechanism figures rest on: the pass-through variants
//! differ from the baseline by the mechanism alone.

use filterbench_envoy::bootstrap::bootstrap;
use filterbench_envoy::compare::{passthrough_native_module, Subject, PASSTHROUGH};
use filterbench_envoy::envoy::{find_envoy, Envoy, EnvoyOptions};
use filterbench_envoy::verify::{replay_request, Rig};
use filterbench_load::client::SendRequest;
use filterbench_model::catalogue::Normalise;
use filterbench_model::corpus::UpstreamReply;
use filterbench_model::outcome::Diff;
use filterbench_model::results::Variant;
use filterbench_model::TwinKind;

/// Requests that touch every callback: a bare GET, headers in both directions, a request body
/// and a response body, a non-200 upstream answer.
fn requests() -> Vec<(&'static str, SendRequest, UpstreamReply)> {
    let header = |n: &str, v: &str| (n.to_string(), v.to_string());
    vec![
        (
            "get",
            SendRequest {
                method: "GET".into(),
                path: "/passthrough".into(),
                headers: vec![],
                body: Vec::new(),
            },
            UpstreamReply::default(),
        ),
        (
            "headers_both_ways",
            SendRequest {
                method: "GET".into(),
                path: "/a/b?x=1&y=2".into(),
                headers: vec![
                    header("x-one", "1"),
                    header("x-two", "a"),
                    header("x-two", "b"),
                ],
                body: Vec::new(),
            },
            UpstreamReply {
                status: 201,
                headers: vec![header("x-from-upstream", "yes")],
                body: Some("created\n".into()),
            },
        ),
        (
            "bodies",
            SendRequest {
                method: "POST".into(),
                path: "/upload".into(),
                headers: vec![header("content-type", "application/json")],
                body: br#"{"k":"v","n":[1,2,3]}"#.repeat(200),
            },
            UpstreamReply {
                status: 503,
                headers: vec![header("content-type", "text/plain")],
                body: Some("upstream says no".repeat(100)),
            },
        ),
    ]
}

#[test]
fn every_pass_through_filter_loads_in_real_envoy_and_passes_requests_unchanged() {
    let subject = Subject::passthrough(&filterbench_model::project_root()).unwrap();
    assert_eq!(subject.name, PASSTHROUGH);
    let listeners = subject.listeners();
    let variants: Vec<Variant> = listeners.iter().map(|(v, _)| *v).collect();
    assert_eq!(
        variants,
        [
            Variant::Base,
            Variant::Lua,
            Variant::WASM,
            Variant::Twin(TwinKind::Native)
        ]
    );
    assert_eq!(subject.more_twins[0].artefact, passthrough_native_module());
    let specs: Vec<_> = listeners.into_iter().map(|(_, s)| s).collect();

    let rig = Rig::new(find_envoy().expect("Envoy 1.40 (installed on first use)"))
        .expect("the loopback rig");
    let mut envoy = Envoy::start(
        &rig.envoy_bin,
        &bootstrap(&specs, rig.services()),
        &EnvoyOptions::default(),
    )
    .unwrap_or_else(|e| panic!("Envoy refused the pass-through filters: {e}"));
    let mut differences = Vec::new();
    for (name, request, upstream) in requests() {
        let sent = request.headers.clone();
        let base_addr = envoy.listener(Variant::Base.id()).unwrap();
        let base = replay_request(
            &rig,
            base_addr,
            &format!("{name}@base"),
            request.clone(),
            upstream.clone(),
        );
        assert_eq!(base.status, upstream.status, "{name}: {base:?}");
        assert!(base.upstream.is_some(), "{name}: {base:?}");
        let base = base.normalised(&Normalise::default(), &sent);
        for v in &variants[1..] {
            let addr = envoy.listener(v.id()).unwrap();
            let outcome = replay_request(
                &rig,
                addr,
                &format!("{name}@{}", v.id()),
                request.clone(),
                upstream.clone(),
            );
            let diff = Diff::between(&base, &outcome.normalised(&Normalise::default(), &sent));
            for line in diff.lines {
                differences.push(format!(
                    "{name} {}: {}: base {} | {}",
                    v.id(),
                    line.field,
                    line.left,
                    line.right
                ));
            }
        }
        envoy.check_alive().unwrap();
    }
    envoy.stop();
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
