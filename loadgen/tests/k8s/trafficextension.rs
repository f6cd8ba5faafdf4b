//! Istio 1.30 `TrafficExtension`: every pair's two manifests validate against the CRD (OpenAPI
//! schema and CEL rules), differ only where the twin differs, carry the script byte for byte after
//! the configuration prelude; and the CRD's rules reject what the API server would, each with the
//! rule's own message.

use filterbench_k8s::luaconfig::{script_of, PRELUDE_MARKER};
use filterbench_k8s::trafficextension::{DIFF_FILE, MAX_INLINE_CODE};
use filterbench_k8s::ManifestOptions;
use serde_json::{json, Value};

use super::schema::rejected;
use super::support::{assert_valid, catalogue, crds, generate, pair_names, read_yaml};

#[test]
fn the_crd_is_carried_by_the_project() {
    assert!(crds()
        .get("extensions.istio.io/v1alpha1", "TrafficExtension")
        .is_some());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("istio-crds");
    let text = std::fs::read_to_string(dir.join("trafficextension.crd.yaml")).unwrap();
    assert!(
        text.starts_with("# Source: istio/api"),
        "the first line names the source"
    );
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.contains("trafficextension.crd.yaml"), "{readme}");
}

#[test]
fn every_pair_validates_and_differs_only_where_the_twin_differs() {
    let names = pair_names();
    assert_eq!(names.len(), 12);
    for name in &names {
        let g = generate(&ManifestOptions::new(name));
        let lua = read_yaml(&g.written.lua);
        let wasm = read_yaml(&g.written.wasm);
        assert_valid(&format!("{name} trafficextension-lua.yaml"), &lua);
        assert_valid(&format!("{name} trafficextension-wasm.yaml"), &wasm);
        assert_eq!(lua["kind"], json!("TrafficExtension"));
        assert_eq!(
            lua["metadata"]["name"], wasm["metadata"]["name"],
            "{name}: one object"
        );

        // Everything but the twin itself (and its variant label) is the same.
        let strip = |m: &Value, variant: &str| {
            let mut m = m.clone();
            m["spec"].as_object_mut().unwrap().remove(variant);
            m["metadata"]["labels"]
                .as_object_mut()
                .unwrap()
                .remove("filterbench/variant");
            m
        };
        assert_eq!(strip(&lua, "lua"), strip(&wasm, "wasm"), "{name}");

        // The script, byte for byte, after the prelude.
        let code = lua["spec"]["lua"]["inlineCode"].as_str().unwrap();
        assert!(code.starts_with(PRELUDE_MARKER), "{name}");
        assert_eq!(
            script_of(code),
            Some(catalogue().lua_source(name).unwrap().as_str()),
            "{name}"
        );
        assert!(code.chars().count() <= MAX_INLINE_CODE, "{name}");
        let config = catalogue().get(name).unwrap().config_json();
        assert_eq!(wasm["spec"]["wasm"]["pluginConfig"], config, "{name}");
        assert_eq!(wasm["spec"]["wasm"]["failStrategy"], json!("FAIL_CLOSE"));

        // The diff in the bundle is the migration: only the twin, the label and the comment.
        let diff = std::fs::read_to_string(g.written.diff.as_ref().unwrap()).unwrap();
        assert_eq!(
            g.written.diff.as_ref().unwrap().file_name().unwrap(),
            DIFF_FILE
        );
        assert!(diff.contains("+  wasm:\n"), "{name}: {diff}");
        assert!(diff.contains("-  lua:\n"), "{name}: {diff}");
        for line in diff
            .lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        {
            let l = &line[1..];
            assert!(
                l.starts_with('#')
                    || l.contains("filterbench/variant")
                    || l.starts_with("  wasm:")
                    || l.starts_with("    "),
                "{name}: an added line outside the twin: {line:?}"
            );
        }
        let readme = std::fs::read_to_string(&g.written.readme).unwrap();
        assert!(
            readme.contains(DIFF_FILE),
            "{name}: README mentions the diff"
        );
    }
}

/// A valid pair of TrafficExtensions (jwt_auth: a pair with configuration).
fn valid() -> (Value, Value) {
    let g = generate(&ManifestOptions::new("jwt_auth"));
    let lua = read_yaml(&g.written.lua);
    let wasm = read_yaml(&g.written.wasm);
    assert_valid("jwt_auth trafficextension-lua.yaml", &lua);
    assert_valid("jwt_auth trafficextension-wasm.yaml", &wasm);
    (lua, wasm)
}

#[test]
fn cel_and_schema_violations_are_rejected_with_the_rules_message() {
    let (lua, wasm) = valid();
    // Both wasm and lua: the CEL rule (and the schema's oneOf).
    rejected(
        &lua,
        "/spec/wasm",
        Some(wasm["spec"]["wasm"].clone()),
        "exactly one of wasm or lua must be set",
    );
    // Neither.
    rejected(
        &lua,
        "/spec/lua",
        None,
        "exactly one of wasm or lua must be set",
    );
    // Both selector and targetRefs.
    rejected(
        &wasm,
        "/spec/targetRefs",
        Some(json!([{"kind": "Gateway", "name": "gw"}])),
        "only one of targetRefs or selector can be set",
    );
    // An inline script over 64 KiB.
    rejected(
        &lua,
        "/spec/lua/inlineCode",
        Some(json!("-".repeat(MAX_INLINE_CODE + 1))),
        "/spec/lua/inlineCode",
    );
    rejected(
        &lua,
        "/spec/lua/inlineCode",
        Some(json!("")),
        "/spec/lua/inlineCode",
    );
    // A URL scheme Istio does not fetch.
    for url in [
        "ftp://h/x.wasm",
        "s3://bucket/x.wasm",
        "localhost:5000/repo:tag",
    ] {
        rejected(
            &wasm,
            "/spec/wasm/url",
            Some(json!(url)),
            "url must have schema one of [http, https, file, oci]",
        );
    }
    // A malformed sha256.
    for sha in ["abc", &"A".repeat(64), &"g".repeat(64)] {
        rejected(
            &wasm,
            "/spec/wasm/sha256",
            Some(json!(sha)),
            "/spec/wasm/sha256",
        );
    }
    // A cross-namespace target (targetRefs without selector), a wildcard label value, a HOST
    // environment variable with a value.
    let mut by_ref = wasm.clone();
    by_ref["spec"].as_object_mut().unwrap().remove("selector");
    by_ref["spec"]["targetRefs"] = json!([{"kind": "Gateway", "name": "gw"}]);
    assert_valid("targetRefs instead of selector", &by_ref);
    rejected(
        &by_ref,
        "/spec/targetRefs/0/namespace",
        Some(json!("other")),
        "cross namespace referencing is not currently supported",
    );
    rejected(
        &wasm,
        "/spec/selector/matchLabels/app",
        Some(json!("filterbench-*")),
        "wildcard not allowed in label value match",
    );
    rejected(
        &wasm,
        "/spec/wasm/vmConfig",
        Some(json!({"env": [{"name": "A", "valueFrom": "HOST", "value": "x"}]})),
        "value may only be set when valueFrom is INLINE",
    );
}
