//! The translation of manifests into the Envoy filters Istio gives the proxy (no Envoy needed):
//! what each API carries, and a module whose digest does not match is refused.

use filterbench_k8s::deployed::{translate, translate_bundle, OciModules, V8_RUNTIME};
use filterbench_k8s::{Api, ManifestOptions};
use filterbench_model::TwinKind;
use serde_json::json;

use super::support::{catalogue, generate, legacy, read_yaml};

#[test]
fn both_apis_translate_to_the_filters_the_twins_need() {
    let module = catalogue().wasm_module("canary_tag").unwrap();
    for opts in [ManifestOptions::new("canary_tag"), legacy("canary_tag")] {
        let g = generate(&opts);
        let (lua_file, wasm_file) = opts.api.files();
        let cache = g.dir.path().join("cache");
        let (lua, wasm) =
            translate_bundle(&g.written.dir, lua_file, wasm_file, TwinKind::Wasm, &cache)
                .unwrap_or_else(|e| panic!("{}: {e}", opts.api));
        assert_eq!(lua.variant, "lua");
        assert_eq!(lua.http_filter["name"], json!("envoy.filters.http.lua"));
        let source = &lua.http_filter["typed_config"];
        let code = source["default_source_code"]["inline_string"]
            .as_str()
            .or(source["defaultSourceCode"]["inlineString"].as_str())
            .unwrap();
        match opts.api {
            Api::TrafficExtension => {
                assert_eq!(
                    lua.route_metadata, None,
                    "no route metadata: the prelude carries it"
                );
                let manifest = read_yaml(&g.written.lua);
                assert_eq!(
                    code,
                    manifest["spec"]["lua"]["inlineCode"].as_str().unwrap()
                );
            }
            Api::Legacy => {
                assert_eq!(
                    lua.route_metadata,
                    Some(json!({"envoy.filters.http.lua": {"canary_percent": 10}}))
                );
                assert_eq!(code, catalogue().lua_source("canary_tag").unwrap());
            }
        }
        let config = &wasm.http_filter["typed_config"]["config"];
        assert_eq!(config["name"], json!("default.filterbench-canary-tag"));
        assert_eq!(config["root_id"], json!("canary_tag"));
        assert_eq!(config["vm_config"]["runtime"], json!(V8_RUNTIME));
        assert_eq!(
            config["configuration"]["value"],
            json!(r#"{"canary_percent":10}"#)
        );
        assert_eq!(config["fail_open"], json!(false));
        let file = config["vm_config"]["code"]["local"]["filename"]
            .as_str()
            .unwrap();
        assert_eq!(
            std::fs::read(file).unwrap(),
            module,
            "{}: the module from the layout",
            opts.api
        );
    }
}

#[test]
fn a_sha256_that_is_not_the_image_digest_is_refused() {
    let g = generate(&ManifestOptions::new("add_header"));
    let mut manifest = read_yaml(&g.written.wasm);
    manifest["spec"]["wasm"]["sha256"] = json!("0".repeat(64));
    let modules = OciModules {
        layout: g.written.oci_dir.clone(),
        cache: g.dir.path().join("cache"),
        libraries: g.written.dir.join("native"),
    };
    let err = translate("add_header wasm", &manifest, &modules)
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not the image's manifest digest"), "{err}");
    // FAIL_OPEN and FAIL_RELOAD reach the filter as Envoy spells them.
    manifest["spec"]["wasm"]
        .as_object_mut()
        .unwrap()
        .remove("sha256");
    manifest["spec"]["wasm"]["failStrategy"] = json!("FAIL_OPEN");
    let open = translate("w", &manifest, &modules).unwrap();
    assert_eq!(
        open.http_filter["typed_config"]["config"]["fail_open"],
        json!(true)
    );
    assert!(open.http_filter["typed_config"]["config"]
        .get("configuration")
        .is_none());
    manifest["spec"]["wasm"]["failStrategy"] = json!("FAIL_RELOAD");
    let reload = translate("w", &manifest, &modules).unwrap();
    let config = &reload.http_filter["typed_config"]["config"];
    assert_eq!(config["failure_policy"], json!("FAIL_RELOAD"));
    assert!(config.get("fail_open").is_none());
}

#[test]
fn the_go_and_native_twins_translate_to_their_own_modules() {
    let catalogue = catalogue();
    let go = std::fs::read(
        catalogue
            .checked_twin("canary_tag", TwinKind::GoWasm)
            .unwrap()
            .artefact,
    )
    .unwrap();
    let native = std::fs::read(
        catalogue
            .checked_twin("canary_tag", TwinKind::Native)
            .unwrap()
            .artefact,
    )
    .unwrap();
    for opts in [ManifestOptions::new("canary_tag"), legacy("canary_tag")] {
        let g = generate(&opts);
        let cache = g.dir.path().join("cache");
        let lua_file = opts.api.files().0;
        let (go_file, _) = g.bundle.twin_manifest(TwinKind::GoWasm).unwrap();
        let (_, twin) =
            translate_bundle(&g.written.dir, lua_file, go_file, TwinKind::GoWasm, &cache)
                .unwrap_or_else(|e| panic!("{} {go_file}: {e}", opts.api));
        assert_eq!(twin.variant, "wasm");
        let config = &twin.http_filter["typed_config"]["config"];
        let file = config["vm_config"]["code"]["local"]["filename"]
            .as_str()
            .unwrap();
        assert_eq!(std::fs::read(file).unwrap(), go, "{go_file}: the Go module");

        let (native_file, _) = g.bundle.twin_manifest(TwinKind::Native).unwrap();
        assert_eq!(native_file, "envoyfilter-native.yaml");
        let (_, twin) = translate_bundle(
            &g.written.dir,
            lua_file,
            native_file,
            TwinKind::Native,
            &cache,
        )
        .unwrap_or_else(|e| panic!("{} {native_file}: {e}", opts.api));
        assert_eq!(twin.variant, "native");
        let typed = &twin.http_filter["typed_config"];
        assert_eq!(typed["filter_name"], json!("canary_tag"));
        assert_eq!(
            typed["filter_config"]["value"],
            json!(r#"{"canary_percent":10}"#)
        );
        let library = typed["dynamic_module_config"]["module"]["local"]["filename"]
            .as_str()
            .unwrap();
        assert_eq!(
            std::fs::read(library).unwrap(),
            native,
            "the bundle's native/ library"
        );

        // Without the library in the bundle (an image built without it), the translation
        // says which file the proxy would miss.
        std::fs::remove_file(g.written.dir.join("native/canary_tag.so")).unwrap();
        let err = translate_bundle(
            &g.written.dir,
            lua_file,
            native_file,
            TwinKind::Native,
            &cache,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("/usr/local/lib/filterbench/canary_tag.so") && err.contains("native"),
            "{err}"
        );
    }
}
