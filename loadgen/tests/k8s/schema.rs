//! The validator rejects what the API server would: each case breaks one thing in a manifest that
//! validates, so a validator that passes everything fails here.

use filterbench_k8s::crd::CrdSchemas;
use serde_json::{json, Value};

use super::support::{assert_invalid, assert_valid, generate, legacy, read_yaml};

/// A valid WasmPlugin and EnvoyFilter (jwt_auth: a pair with configuration), checked valid first.
fn valid() -> (Value, Value) {
    let g = generate(&legacy("jwt_auth"));
    let ef = read_yaml(&g.written.lua);
    let wp = read_yaml(&g.written.wasm);
    assert_valid("jwt_auth envoyfilter.yaml", &ef);
    assert_valid("jwt_auth wasmplugin.yaml", &wp);
    (ef, wp)
}

/// `manifest` with the value at JSON pointer `ptr` replaced (or removed for `None`).
pub fn with(manifest: &Value, ptr: &str, value: Option<Value>) -> Value {
    let mut m = manifest.clone();
    let (parent, key) = ptr.rsplit_once('/').unwrap();
    let target = m
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent} in the manifest"));
    match (target, value) {
        (Value::Object(map), Some(v)) => {
            map.insert(key.to_string(), v);
        }
        (Value::Object(map), None) => {
            map.remove(key);
        }
        (Value::Array(items), Some(v)) => items[key.parse::<usize>().unwrap()] = v,
        (other, _) => panic!("{parent} is {other}"),
    }
    m
}

pub fn rejected(manifest: &Value, ptr: &str, value: Option<Value>, expect_in_message: &str) {
    let bad = with(manifest, ptr, value.clone());
    let message = assert_invalid(&format!("{ptr} = {value:?}"), &bad);
    assert!(
        message.contains(expect_in_message),
        "{ptr} = {value:?}: message {message:?} should mention {expect_in_message:?}"
    );
}

#[test]
fn wasm_plugin_violations_are_rejected() {
    let (_, wp) = valid();
    // Enum values.
    rejected(
        &wp,
        "/spec/failStrategy",
        Some(json!("FAIL_SOMETIMES")),
        "/spec/failStrategy",
    );
    rejected(
        &wp,
        "/spec/phase",
        Some(json!("AUTHENTICATION")),
        "/spec/phase",
    );
    rejected(
        &wp,
        "/spec/imagePullPolicy",
        Some(json!("Never")),
        "/spec/imagePullPolicy",
    );
    rejected(&wp, "/spec/type", Some(json!("TCP")), "/spec/type");
    rejected(
        &wp,
        "/spec/match/0/mode",
        Some(json!("INBOUND")),
        "/spec/match/0/mode",
    );
    // Types.
    rejected(&wp, "/spec/url", Some(json!(42)), "/spec/url");
    rejected(&wp, "/spec/priority", Some(json!("high")), "/spec/priority");
    rejected(
        &wp,
        "/spec/pluginConfig",
        Some(json!("not an object")),
        "/spec/pluginConfig",
    );
    rejected(
        &wp,
        "/spec/selector/matchLabels/app",
        Some(json!(7)),
        "/spec/selector/matchLabels/app",
    );
    // Bounds and patterns.
    rejected(
        &wp,
        "/spec/priority",
        Some(json!(4_294_967_296u64)),
        "/spec/priority",
    );
    rejected(
        &wp,
        "/spec/sha256",
        Some(json!("not-a-digest")),
        "/spec/sha256",
    );
    rejected(&wp, "/spec/url", Some(json!("")), "/spec/url");
    // Required fields.
    rejected(&wp, "/spec/url", None, "url");
    rejected(&wp, "/metadata/name", None, "name");
    // Unknown (misspelt) fields.
    rejected(&wp, "/spec/pluginconfig", Some(json!({})), "pluginconfig");
    rejected(
        &wp,
        "/spec/selector/labels",
        Some(json!({"a": "b"})),
        "labels",
    );
    // CEL rules (evaluated by the cel crate).
    rejected(
        &wp,
        "/spec/url",
        Some(json!("ftp://h/x.wasm")),
        "url must have schema",
    );
    rejected(
        &wp,
        "/spec/targetRefs",
        Some(json!([{"kind": "Gateway", "name": "gw"}])),
        "only one of targetRefs or selector",
    );
    rejected(
        &wp,
        "/spec/selector/matchLabels/app",
        Some(json!("filterbench-*")),
        "wildcard not allowed",
    );
    // Kubernetes object rules.
    rejected(
        &wp,
        "/metadata/name",
        Some(json!("jwt_auth")),
        "/metadata/name",
    );
    rejected(
        &wp,
        "/metadata/namespace",
        Some(json!("Default")),
        "/metadata/namespace",
    );
    rejected(
        &wp,
        "/apiVersion",
        Some(json!("extensions.istio.io/v1beta9")),
        "no CRD schema",
    );
    rejected(&wp, "/kind", Some(json!("WasmPlugins")), "no CRD schema");
}

#[test]
fn envoy_filter_violations_are_rejected() {
    let (ef, _) = valid();
    rejected(
        &ef,
        "/spec/configPatches/0/applyTo",
        Some(json!("HTTP_FILTERS")),
        "applyTo",
    );
    rejected(
        &ef,
        "/spec/configPatches/0/patch/operation",
        Some(json!("INSERT")),
        "operation",
    );
    rejected(
        &ef,
        "/spec/configPatches/0/match/context",
        Some(json!("SIDECAR")),
        "context",
    );
    rejected(
        &ef,
        "/spec/configPatches",
        Some(json!({"not": "a list"})),
        "/spec/configPatches",
    );
    rejected(
        &ef,
        "/spec/workloadSelector/labels/app",
        Some(json!(1)),
        "/spec/workloadSelector/labels/app",
    );
    rejected(
        &ef,
        "/spec/configPatches/0/patch/value",
        Some(json!([1, 2])),
        "value",
    );
    rejected(
        &ef,
        "/spec/configPatches/0/patch/filtrClass",
        Some(json!("AUTHN")),
        "filtrClass",
    );
    rejected(
        &ef,
        "/spec/configPatches/0/match/listener/portNumber",
        Some(json!(-1)),
        "portNumber",
    );
    // match: listener, routeConfiguration and cluster are mutually exclusive (oneOf).
    let both = with(
        &ef,
        "/spec/configPatches/0/match/routeConfiguration",
        Some(json!({"vhost": {"name": "x"}})),
    );
    assert_invalid("listener and routeConfiguration", &both);
    rejected(
        &ef,
        "/spec/targetRefs",
        Some(json!([{"kind": "Gateway", "name": "gw"}])),
        "only one of targetRefs or workloadSelector",
    );
}

#[test]
fn manifests_without_api_version_are_rejected() {
    let (_, wp) = valid();
    let mut bad = wp.clone();
    bad.as_object_mut().unwrap().remove("apiVersion");
    let message = assert_invalid("no apiVersion", &bad);
    assert!(message.contains("apiVersion"), "{message}");
}

#[test]
fn a_crd_directory_without_crds_is_an_error() {
    let empty = tempfile::tempdir().unwrap();
    let err = CrdSchemas::load_dir(empty.path()).unwrap_err().to_string();
    assert!(err.contains("no CustomResourceDefinition"), "{err}");
    let missing = empty.path().join("istio-crds");
    let err = CrdSchemas::load_dir(&missing).unwrap_err().to_string();
    assert!(err.contains("Istio CRD directory not found"), "{err}");
}
