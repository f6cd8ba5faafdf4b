//! The `loadgen` binary: exit codes, what it writes, one-line errors.

use std::process::{Command, Output};

use serde_json::json;

use super::support::{assert_valid, read_yaml};

fn loadgen(args: &[&str], env: &[(&str, &std::path::Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("loadgen runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn manifests_for_add_header() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("add_header");
    let out = loadgen(
        &[
            "k8s",
            "manifests",
            "--pair",
            "add_header",
            "--out",
            out_dir.to_str().unwrap(),
            "--api",
            "legacy",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        stderr(&out)
    );
    for file in [
        "envoyfilter.yaml",
        "wasmplugin.yaml",
        "README.txt",
        "oci/index.json",
        "oci/oci-layout",
    ] {
        assert!(out_dir.join(file).is_file(), "{file} missing");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("envoyfilter.yaml") && stdout.contains("wasmplugin.yaml"),
        "{stdout}"
    );
    assert_valid(
        "add_header envoyfilter.yaml",
        &read_yaml(&out_dir.join("envoyfilter.yaml")),
    );
    assert_valid(
        "add_header wasmplugin.yaml",
        &read_yaml(&out_dir.join("wasmplugin.yaml")),
    );
}

#[test]
fn options_reach_the_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let out = loadgen(
        &[
            "k8s",
            "manifests",
            "--pair",
            "canary_tag",
            "--out",
            dir.path().to_str().unwrap(),
            "--context",
            "gateway",
            "--namespace",
            "edge",
            "--selector",
            "app=gw",
            "--selector",
            "tier=front",
            "--wasm-url",
            "oci://reg:5000/x/canary:v2",
            "--set",
            "canary_percent=25",
            "--image-pull-policy",
            "Always",
            "--api",
            "legacy",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let ef = read_yaml(&dir.path().join("envoyfilter.yaml"));
    let wp = read_yaml(&dir.path().join("wasmplugin.yaml"));
    assert_valid("canary_tag envoyfilter.yaml", &ef);
    assert_valid("canary_tag wasmplugin.yaml", &wp);
    assert_eq!(ef["metadata"]["namespace"], json!("edge"));
    assert_eq!(
        ef["spec"]["configPatches"][0]["match"]["context"],
        json!("GATEWAY")
    );
    assert_eq!(
        ef["spec"]["workloadSelector"]["labels"],
        json!({"app": "gw", "tier": "front"})
    );
    assert_eq!(wp["spec"]["url"], json!("oci://reg:5000/x/canary:v2"));
    assert_eq!(wp["spec"]["imagePullPolicy"], json!("Always"));
    assert_eq!(wp["spec"]["pluginConfig"], json!({"canary_percent": 25}));
    assert_eq!(
        ef["spec"]["configPatches"][1]["patch"]["value"]["metadata"]["filter_metadata"]
            ["envoy.filters.http.lua"],
        json!({"canary_percent": 25})
    );
}

#[test]
fn an_unknown_pair_is_a_one_line_error_listing_the_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let out = loadgen(
        &[
            "k8s",
            "manifests",
            "--pair",
            "no_such_pair",
            "--out",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("unknown pair \"no_such_pair\""), "{err}");
    assert!(
        err.contains("add_header") && err.contains("jwt_auth"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn a_missing_module_says_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = loadgen(
        &[
            "k8s",
            "manifests",
            "--pair",
            "jwt_auth",
            "--out",
            dir.path().to_str().unwrap(),
        ],
        &[("FILTERBENCH_WASM_DIR", empty.path())],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("jwt_auth") && err.contains("jwt_auth.wasm"),
        "{err}"
    );
    assert!(err.contains("cargo build -p filterbench-build"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = loadgen(
        &[
            "k8s",
            "manifests",
            "--pair",
            "add_header",
            "--out",
            dir.path().to_str().unwrap(),
            "--wasm-url",
            "ftp://example/x.wasm",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unsupported scheme"),
        "{}",
        stderr(&out)
    );
    let out = loadgen(
        &["k8s", "manifests", "--out", dir.path().to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
}
