//! Every pair's EnvoyFilter and WasmPlugin, read back from disk, validate against Istio's CRDs and
//! carry what the twins need: the Lua script byte for byte, the same configuration on both sides.

use filterbench_k8s::{Context, WasmUrl};
use serde_json::{json, Value};

use super::support::{
    assert_valid, catalogue, crds, generate, legacy, pair_names, read_json, read_yaml, sha256_hex,
};

#[test]
fn the_crds_hold_both_kinds() {
    let crds = crds();
    assert!(crds
        .get("networking.istio.io/v1alpha3", "EnvoyFilter")
        .is_some());
    assert!(crds
        .get("extensions.istio.io/v1alpha1", "WasmPlugin")
        .is_some());
}

#[test]
fn every_pair_validates_in_both_contexts() {
    let names = pair_names();
    assert_eq!(names.len(), 12, "the catalogue has 12 pairs: {names:?}");
    for name in &names {
        for context in [Context::SidecarInbound, Context::Gateway] {
            let mut opts = legacy(name);
            opts.context = context;
            let g = generate(&opts);
            let ef = read_yaml(&g.written.lua);
            let wp = read_yaml(&g.written.wasm);
            assert_valid(&format!("{name} {context} envoyfilter.yaml"), &ef);
            assert_valid(&format!("{name} {context} wasmplugin.yaml"), &wp);
            assert!(
                g.bundle.missing_twins.is_empty(),
                "{name}: {:?}",
                g.bundle.missing_twins
            );
            for (kind, path) in &g.written.more {
                assert_valid(&format!("{name} {context} {kind}"), &read_yaml(path));
            }
        }
    }
}

#[test]
fn every_pair_has_a_native_and_a_go_twin_manifest_that_validates() {
    for name in &pair_names() {
        for opts in [filterbench_k8s::ManifestOptions::new(name), legacy(name)] {
            let g = generate(&opts);
            let kinds: Vec<_> = g.written.more.iter().map(|(k, _)| k.id()).collect();
            assert_eq!(kinds, ["go-wasm", "native"], "{name} {}", opts.api);
            for (kind, path) in &g.written.more {
                assert_valid(&format!("{name} {} {kind}", opts.api), &read_yaml(path));
            }
        }
    }
}

#[test]
fn the_native_twin_is_an_envoy_filter_loading_the_library_from_the_proxy_image() {
    let mut opts = legacy("canary_tag");
    opts.native_dir = Some("/opt/modules/".into());
    let g = generate(&opts);
    let (kind, path) = &g.written.more[1];
    assert_eq!(kind.id(), "native");
    let ef = read_yaml(path);
    assert_eq!(ef["kind"], json!("EnvoyFilter"));
    assert_eq!(
        ef["metadata"]["labels"]["filterbench/variant"],
        json!("native")
    );
    let patches = ef["spec"]["configPatches"].as_array().unwrap();
    assert_eq!(
        patches.len(),
        1,
        "no route metadata: the config is the filter's"
    );
    assert_eq!(patches[0]["applyTo"], json!("HTTP_FILTER"));
    assert_eq!(patches[0]["patch"]["operation"], json!("INSERT_BEFORE"));
    assert_eq!(
        patches[0]["match"]["listener"]["filterChain"]["filter"]["subFilter"]["name"],
        json!("envoy.filters.http.router")
    );
    let value = &patches[0]["patch"]["value"];
    assert_eq!(value["name"], json!("envoy.filters.http.dynamic_modules"));
    let typed = &value["typed_config"];
    assert_eq!(
        typed["dynamic_module_config"]["module"]["local"]["filename"],
        json!("/opt/modules/canary_tag.so")
    );
    assert_eq!(typed["filter_name"], json!("canary_tag"));
    assert_eq!(
        typed["filter_config"]["value"],
        json!(r#"{"canary_percent":10}"#)
    );
    let dir = &g.written.dir;
    let built = catalogue()
        .checked_twin("canary_tag", filterbench_model::TwinKind::Native)
        .unwrap()
        .artefact;
    assert_eq!(
        std::fs::read(dir.join("native/canary_tag.so")).unwrap(),
        std::fs::read(built).unwrap()
    );
    let dockerfile = std::fs::read_to_string(dir.join("native/Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("COPY canary_tag.so /opt/modules/canary_tag.so"),
        "{dockerfile}"
    );
    let readme = std::fs::read_to_string(dir.join("README.txt")).unwrap();
    assert!(readme.contains("envoyfilter-native.yaml"), "{readme}");
    assert!(readme.contains("sidecar.istio.io/proxyImage"), "{readme}");

    let mut bad = legacy("canary_tag");
    bad.native_dir = Some("relative/dir".into());
    let err = filterbench_k8s::generate(catalogue(), &bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("canary_tag") && err.contains("--native-dir"),
        "{err}"
    );
}

#[test]
fn the_go_twin_loads_its_own_module_from_its_own_image() {
    let g = generate(&filterbench_k8s::ManifestOptions::new("canary_tag"));
    let (kind, path) = &g.written.more[0];
    assert_eq!(kind.id(), "go-wasm");
    assert!(
        path.ends_with("trafficextension-go-wasm.yaml"),
        "{}",
        path.display()
    );
    let te = read_yaml(path);
    let rust = read_yaml(&g.written.wasm);
    assert_eq!(
        te["spec"]["wasm"]["url"],
        json!("oci://localhost:5000/filterbench/canary_tag-go:latest")
    );
    assert_eq!(
        te["metadata"]["name"], rust["metadata"]["name"],
        "the same object"
    );
    assert_eq!(
        te["metadata"]["labels"]["filterbench/variant"],
        json!("go-wasm")
    );
    assert_eq!(
        te["spec"]["wasm"]["pluginConfig"],
        rust["spec"]["wasm"]["pluginConfig"]
    );
    assert_ne!(te["spec"]["wasm"]["sha256"], rust["spec"]["wasm"]["sha256"]);
    assert!(g.written.dir.join("oci-go-wasm/index.json").is_file());
}

#[test]
fn envoy_filter_inserts_lua_before_the_router_with_the_config_in_route_metadata() {
    for name in pair_names() {
        let pair = catalogue().get(&name).unwrap();
        let g = generate(&legacy(&name));
        let ef = read_yaml(&g.written.lua);
        assert_eq!(
            ef["metadata"]["name"],
            json!(format!("filterbench-{}", name.replace('_', "-")))
        );
        assert_eq!(ef["metadata"]["namespace"], json!("default"));
        assert_eq!(
            ef["spec"]["workloadSelector"]["labels"],
            json!({"app": "filterbench-echo"})
        );
        let patches = ef["spec"]["configPatches"].as_array().unwrap();
        assert_eq!(patches.len(), 2, "{name}");

        let filter = &patches[0];
        assert_eq!(filter["applyTo"], json!("HTTP_FILTER"));
        assert_eq!(filter["match"]["context"], json!("SIDECAR_INBOUND"));
        assert_eq!(
            filter["match"]["listener"]["filterChain"]["filter"],
            json!({
                "name": "envoy.filters.network.http_connection_manager",
                "subFilter": {"name": "envoy.filters.http.router"},
            })
        );
        assert_eq!(filter["patch"]["operation"], json!("INSERT_BEFORE"));
        let value = &filter["patch"]["value"];
        assert_eq!(value["name"], json!("envoy.filters.http.lua"));
        assert_eq!(
            value["typed_config"]["@type"],
            json!("type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua")
        );

        let route = &patches[1];
        assert_eq!(route["applyTo"], json!("HTTP_ROUTE"));
        assert_eq!(route["match"]["context"], json!("SIDECAR_INBOUND"));
        assert_eq!(route["patch"]["operation"], json!("MERGE"));
        assert_eq!(
            route["patch"]["value"],
            json!({"metadata": {"filter_metadata": {"envoy.filters.http.lua": pair.config_json()}}}),
            "{name}: the Lua twin's configuration"
        );
    }
}

#[test]
fn the_inline_lua_is_the_script_byte_for_byte() {
    for name in pair_names() {
        let g = generate(&legacy(&name));
        let ef = read_yaml(&g.written.lua);
        let inline = ef["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]
            ["defaultSourceCode"]["inlineString"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no inlineString"));
        let path = catalogue().lua_path(&name);
        let file = std::fs::read(&path).unwrap();
        assert!(
            inline.as_bytes() == file.as_slice(),
            "{name}: inlineString differs from {}",
            path.display()
        );
    }
}

#[test]
fn the_yaml_files_open_with_a_comment_saying_what_they_do() {
    let g = generate(&legacy("canary_tag"));
    let ef = std::fs::read_to_string(&g.written.lua).unwrap();
    assert!(ef.starts_with("# EnvoyFilter: the Lua twin of the filterbench pair `canary_tag`"));
    assert!(ef.contains("# Patch 2 (HTTP_ROUTE, MERGE)"), "{ef}");
    assert!(ef.contains("handle:metadata():get(key)"), "{ef}");
    let wp = std::fs::read_to_string(&g.written.wasm).unwrap();
    assert!(wp.starts_with("# WasmPlugin: the Wasm twin of the filterbench pair `canary_tag`"));
    assert!(wp.contains("# phase UNSPECIFIED_PHASE"), "{wp}");
}

fn expected_phase(name: &str) -> &'static str {
    match name {
        "jwt_auth" | "ext_authz_call" | "header_auth" => "AUTHN",
        "custom_metrics" => "STATS",
        _ => "UNSPECIFIED_PHASE",
    }
}

#[test]
fn wasm_plugin_carries_the_same_config_and_pins_the_image() {
    for name in pair_names() {
        let pair = catalogue().get(&name).unwrap();
        let g = generate(&legacy(&name));
        let wp = read_yaml(&g.written.wasm);
        let spec = &wp["spec"];
        assert_eq!(spec["pluginConfig"], pair.config_json(), "{name}");
        assert_eq!(
            spec["url"],
            json!(format!("oci://localhost:5000/filterbench/{name}:latest"))
        );
        assert_eq!(spec["phase"], json!(expected_phase(&name)), "{name}");
        assert_eq!(spec["failStrategy"], json!("FAIL_CLOSE"));
        assert_eq!(spec["imagePullPolicy"], json!("IfNotPresent"));
        assert_eq!(
            spec["selector"]["matchLabels"],
            json!({"app": "filterbench-echo"})
        );
        assert_eq!(spec["match"], json!([{"mode": "SERVER"}]));
        assert_eq!(spec["pluginName"], json!(name));
        // Istio compares sha256 with the image's manifest digest for oci:// URLs.
        let index = read_json(&g.written.oci_dir.join("index.json"));
        let digest = index["manifests"][0]["digest"].as_str().unwrap();
        assert_eq!(
            spec["sha256"].as_str().map(|s| format!("sha256:{s}")),
            Some(digest.to_string()),
            "{name}"
        );
    }
}

#[test]
fn a_gateway_bundle_selects_the_ingress_gateway() {
    let mut opts = legacy("jwt_auth");
    opts.context = Context::Gateway;
    let g = generate(&opts);
    let ef = read_yaml(&g.written.lua);
    let wp = read_yaml(&g.written.wasm);
    for m in [&ef, &wp] {
        assert_eq!(m["metadata"]["namespace"], json!("istio-system"));
    }
    assert_eq!(
        ef["spec"]["workloadSelector"]["labels"],
        json!({"istio": "ingressgateway"})
    );
    assert_eq!(
        ef["spec"]["configPatches"][0]["match"]["context"],
        json!("GATEWAY")
    );
    assert_eq!(
        ef["spec"]["configPatches"][1]["match"]["context"],
        json!("GATEWAY")
    );
    assert_eq!(
        wp["spec"]["selector"]["matchLabels"],
        json!({"istio": "ingressgateway"})
    );
    assert_eq!(wp["spec"]["match"], json!([{"mode": "CLIENT"}]));
}

#[test]
fn a_file_url_pins_the_module_sha256() {
    let url = "file:///var/local/filterbench/path_log.wasm";
    let mut opts = legacy("path_log");
    opts.wasm_url = Some(WasmUrl::parse(url).unwrap());
    let g = generate(&opts);
    let wp = read_yaml(&g.written.wasm);
    assert_valid("path_log wasmplugin.yaml (file://)", &wp);
    let module = std::fs::read(catalogue().wasm_module_path("path_log")).unwrap();
    assert_eq!(wp["spec"]["url"], json!(url));
    assert_eq!(wp["spec"]["sha256"], json!(sha256_hex(&module)));
    assert_eq!(wp["spec"]["sha256"], json!(g.bundle.wasm_sha256));
}

#[test]
fn a_custom_oci_url_tags_the_layout_and_no_sha256_unpins() {
    let mut opts = legacy("bot_block");
    opts.wasm_url = Some(WasmUrl::parse("oci://kind-registry:5000/fb/bot_block:v7").unwrap());
    opts.pin_oci_digest = false;
    let g = generate(&opts);
    let wp = read_yaml(&g.written.wasm);
    assert_valid("bot_block wasmplugin.yaml (custom oci)", &wp);
    assert_eq!(
        wp["spec"]["url"],
        json!("oci://kind-registry:5000/fb/bot_block:v7")
    );
    assert_eq!(wp["spec"].get("sha256"), None);
    let index = read_json(&g.written.oci_dir.join("index.json"));
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        json!("v7")
    );
}

#[test]
fn selector_namespace_and_overrides_reach_both_twins() {
    let mut opts = legacy("ext_authz_call");
    opts.namespace = Some("bench".into());
    opts.selector = vec![
        ("app".into(), "echo".into()),
        ("version".into(), "v1".into()),
    ];
    let cluster = "outbound|9000||auth.bench.svc.cluster.local";
    opts.config_overrides = vec![("cluster".into(), Value::from(cluster))];
    let g = generate(&opts);
    let ef = read_yaml(&g.written.lua);
    let wp = read_yaml(&g.written.wasm);
    assert_valid("ext_authz_call envoyfilter.yaml", &ef);
    assert_valid("ext_authz_call wasmplugin.yaml", &wp);
    let labels = json!({"app": "echo", "version": "v1"});
    assert_eq!(ef["spec"]["workloadSelector"]["labels"], labels);
    assert_eq!(wp["spec"]["selector"]["matchLabels"], labels);
    let lua_config = &ef["spec"]["configPatches"][1]["patch"]["value"]["metadata"]
        ["filter_metadata"]["envoy.filters.http.lua"];
    assert_eq!(lua_config["cluster"], json!(cluster));
    assert_eq!(lua_config["timeout_ms"], json!(250));
    assert_eq!(&wp["spec"]["pluginConfig"], lua_config);
    for m in [&ef, &wp] {
        assert_eq!(m["metadata"]["namespace"], json!("bench"));
    }
}

#[test]
fn bad_options_are_one_line_errors_naming_the_pair() {
    let mut opts = legacy("add_header");
    opts.namespace = Some("Not_A_Namespace".into());
    let err = filterbench_k8s::generate(catalogue(), &opts)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("pair add_header: --namespace"), "{err}");

    let mut opts = legacy("add_header");
    opts.selector = vec![("app".into(), "*".into())];
    let err = filterbench_k8s::generate(catalogue(), &opts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--selector app=*"), "{err}");

    let err = filterbench_k8s::generate(catalogue(), &legacy("nope"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("unknown pair \"nope\" (known: "), "{err}");
    assert!(err.contains("add_header") && !err.contains('\n'), "{err}");
}
