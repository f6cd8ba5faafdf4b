//! Shared helpers: the CRD schemas (loaded once; a missing CRD directory fails the test with the
//! reason), the catalogue, and generating a pair's bundle into a temporary directory.

use std::path::Path;
use std::sync::OnceLock;

use filterbench_k8s::crd::CrdSchemas;
use filterbench_k8s::{self as k8s, Bundle, ManifestOptions, Written};
use filterbench_model::Catalogue;
use serde_json::Value;

/// Istio's CRD schemas. Panics (fails the test) with the loader's message when they are missing:
/// validation must never pass by having nothing to validate against.
pub fn crds() -> &'static CrdSchemas {
    static CRDS: OnceLock<CrdSchemas> = OnceLock::new();
    CRDS.get_or_init(|| match CrdSchemas::load_default() {
        Ok(crds) => crds,
        Err(e) => panic!("cannot validate manifests without Istio's CRD schemas: {e}"),
    })
}

pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| k8s::load_catalogue().expect("the project's catalogue loads"))
}

/// The names of every pair in the catalogue.
pub fn pair_names() -> Vec<String> {
    catalogue().pairs.iter().map(|p| p.name.clone()).collect()
}

/// Options for `pair` with the legacy API (EnvoyFilter + WasmPlugin).
pub fn legacy(pair: &str) -> ManifestOptions {
    let mut opts = ManifestOptions::new(pair);
    opts.api = k8s::Api::Legacy;
    opts
}

/// A bundle generated and written into a fresh temporary directory.
pub struct Generated {
    pub dir: tempfile::TempDir,
    pub bundle: Bundle,
    pub written: Written,
}

pub fn generate(opts: &ManifestOptions) -> Generated {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let bundle = k8s::generate(catalogue(), opts)
        .unwrap_or_else(|e| panic!("generating {}: {e}", opts.pair));
    let written = bundle
        .write(dir.path())
        .unwrap_or_else(|e| panic!("writing {}: {e}", opts.pair));
    Generated {
        dir,
        bundle,
        written,
    }
}

/// A YAML file as JSON.
pub fn read_yaml(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// A JSON file.
pub fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Validates a manifest, failing the test with every violation.
pub fn assert_valid(what: &str, manifest: &Value) {
    if let Err(violations) = crds().validate(manifest) {
        panic!("{what} violates its CRD schema: {violations}");
    }
}

/// Validates a manifest that must be rejected; returns the violations.
pub fn assert_invalid(what: &str, manifest: &Value) -> String {
    match crds().validate(manifest) {
        Ok(()) => panic!("{what}: the validator accepted an invalid manifest:\n{manifest:#}"),
        Err(violations) => violations.to_string(),
    }
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
