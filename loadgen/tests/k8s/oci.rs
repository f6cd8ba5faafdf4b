//! The OCI image layout, read with plain JSON (not the generator's types): every reference
//! resolves to a blob with the right digest, size and media type, and the layer is the module.

use std::path::Path;

use filterbench_k8s::ManifestOptions;
use serde_json::{json, Value};

use super::support::{catalogue, generate, pair_names, read_json, sha256_hex};

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const WASM_CONFIG: &str = "application/vnd.module.wasm.config.v1+json";
const WASM_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";

/// The bytes of the blob a descriptor names, checked against its digest and size.
fn blob(oci: &Path, descriptor: &Value, what: &str) -> Vec<u8> {
    let digest = descriptor["digest"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no digest"));
    let hex = digest
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("{what}: digest {digest} is not sha256"));
    let path = oci.join("blobs").join("sha256").join(hex);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{what}: {}: {e}", path.display()));
    assert_eq!(sha256_hex(&bytes), hex, "{what}: digest");
    assert_eq!(descriptor["size"], json!(bytes.len()), "{what}: size");
    bytes
}

fn check_layout(name: &str, oci: &Path, tag: &str) {
    let layout: Value = read_json(&oci.join("oci-layout"));
    assert_eq!(
        layout,
        json!({"imageLayoutVersion": "1.0.0"}),
        "{name}: oci-layout"
    );

    let index = read_json(&oci.join("index.json"));
    assert_eq!(index["schemaVersion"], json!(2), "{name}");
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "{name}");
    let desc = &manifests[0];
    assert_eq!(desc["mediaType"], json!(MANIFEST), "{name}");
    assert_eq!(
        desc["annotations"]["org.opencontainers.image.ref.name"],
        json!(tag),
        "{name}"
    );
    let manifest: Value = serde_json::from_slice(&blob(oci, desc, "manifest")).unwrap();
    assert_eq!(manifest["schemaVersion"], json!(2), "{name}");
    assert_eq!(manifest["mediaType"], json!(MANIFEST), "{name}");

    assert_eq!(
        manifest["config"]["mediaType"],
        json!(WASM_CONFIG),
        "{name}"
    );
    let config: Value = serde_json::from_slice(&blob(oci, &manifest["config"], "config")).unwrap();
    assert_eq!(config["type"], json!("envoy_proxy"), "{name}");
    assert!(
        config["abiVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("proxy_abi_version_0_2_1")),
        "{name}: {config}"
    );
    assert_eq!(config["config"]["root_ids"], json!([name]), "{name}");

    // Istio's "oci" variant: exactly two layers, one of them the raw module.
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2, "{name}: {manifest}");
    assert_eq!(layers[0]["mediaType"], json!(WASM_CONFIG), "{name}");
    assert_eq!(
        blob(oci, &layers[0], "config layer"),
        blob(oci, &manifest["config"], "config")
    );
    assert_eq!(layers[1]["mediaType"], json!(WASM_LAYER), "{name}");
    assert_eq!(
        layers[1]["annotations"]["org.opencontainers.image.title"],
        json!(format!("{name}.wasm"))
    );
    let module = std::fs::read(catalogue().wasm_module_path(name)).unwrap();
    assert!(
        blob(oci, &layers[1], "wasm layer") == module,
        "{name}: the layer is not the built module"
    );

    // Every blob file is named by its sha256.
    let blobs = oci.join("blobs").join("sha256");
    let mut count = 0;
    for entry in std::fs::read_dir(&blobs).unwrap() {
        let entry = entry.unwrap();
        let bytes = std::fs::read(entry.path()).unwrap();
        assert_eq!(
            sha256_hex(&bytes),
            entry.file_name().to_string_lossy(),
            "{name}: {}",
            entry.path().display()
        );
        count += 1;
    }
    assert_eq!(count, 3, "{name}: config, module and manifest blobs");
}

#[test]
fn every_pair_has_a_valid_wasm_oci_layout() {
    for name in pair_names() {
        let g = generate(&ManifestOptions::new(&name));
        check_layout(&name, &g.written.oci_dir, "latest");
    }
}

#[test]
fn regenerating_gives_the_same_image_and_leaves_no_temporary_files() {
    let g = generate(&ManifestOptions::new("trace_id"));
    let first = read_json(&g.written.oci_dir.join("index.json"));
    let again = filterbench_k8s::generate(catalogue(), &ManifestOptions::new("trace_id")).unwrap();
    again.write(g.dir.path()).unwrap();
    assert_eq!(read_json(&g.written.oci_dir.join("index.json")), first);
    check_layout("trace_id", &g.written.oci_dir, "latest");
    for dir in [g.dir.path().to_path_buf(), g.written.oci_dir.clone()] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let file = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!file.ends_with(".tmp"), "left behind: {file}");
        }
    }
    let mut names: Vec<String> = std::fs::read_dir(g.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "README.txt",
            "envoyfilter-native.yaml",
            "migration.diff",
            "native",
            "oci",
            "oci-go-wasm",
            "trafficextension-go-wasm.yaml",
            "trafficextension-lua.yaml",
            "trafficextension-wasm.yaml"
        ]
    );
}

#[test]
fn the_readme_says_how_to_push_and_apply() {
    let g = generate(&ManifestOptions::new("rate_limit"));
    let readme = std::fs::read_to_string(&g.written.readme).unwrap();
    let oci = g.written.oci_dir.display().to_string();
    assert!(
        readme.contains(&format!(
            "oras cp --from-oci-layout {oci}:latest localhost:5000/filterbench/rate_limit:latest"
        )),
        "{readme}"
    );
    assert!(
        readme.contains(&format!(
            "skopeo copy --preserve-digests oci:{oci}:latest docker://localhost:5000/filterbench/rate_limit:latest"
        )),
        "{readme}"
    );
    assert!(readme.contains("kubectl apply -f"), "{readme}");
    assert!(readme.contains("migration.diff"), "{readme}");
    assert!(readme.contains("trafficextension-wasm.yaml"), "{readme}");
    let g = generate(&super::support::legacy("rate_limit"));
    let readme = std::fs::read_to_string(&g.written.readme).unwrap();
    assert!(readme.contains("ONE variant at a time"), "{readme}");
    assert!(readme.contains("wasmplugin.yaml"), "{readme}");
}
