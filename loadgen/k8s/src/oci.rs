//! A pair's Wasm module as an OCI image layout directory, in the Wasm OCI artifact format that
//! Istio's agent pulls for `WasmPlugin` `oci://` URLs.
//!
//! Istio's image fetcher (`pkg/wasm/imagefetcher.go`) accepts three shapes: a Docker image whose
//! last layer is a tar.gz holding `plugin.wasm`, the same with the OCI tar+gzip layer type (the
//! "compat" variant), and the **"oci" variant** of the Wasm image spec (solo-io/wasm
//! `spec/spec.md`), which it recognises by **exactly two layers**, one of them of media type
//! `application/vnd.module.wasm.content.layer.v1+wasm` holding the raw module. We build the
//! "oci" variant:
//!
//! ```text
//! oci/oci-layout                 {"imageLayoutVersion":"1.0.0"}
//! oci/index.json                 one manifest, annotated org.opencontainers.image.ref.name=<tag>
//! oci/blobs/sha256/<manifest>    application/vnd.oci.image.manifest.v1+json
//!   config  -> <runtime config>  application/vnd.module.wasm.config.v1+json
//!   layers[0] -> <runtime config> application/vnd.module.wasm.config.v1+json   (runtime-config.json)
//!   layers[1] -> <module>         application/vnd.module.wasm.content.layer.v1+wasm (<pair>.wasm)
//! ```
//!
//! The runtime config (`{"type":"envoy_proxy","abiVersions":[..],"config":{"root_ids":[<pair>]}}`)
//! is both the manifest's config and the first layer, as the spec's two-layer format has it; it
//! is one blob. Nothing time-dependent goes in, so the same module always gives the same digests
//! (and `WasmPlugin.spec.sha256`, which Istio compares with the image's manifest digest, stays
//! valid across regenerations).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{write_atomic, Error, Result};

/// `index.json`'s media type.
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// The image manifest's media type.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The Wasm runtime config (manifest config and first layer).
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.module.wasm.config.v1+json";
/// The raw Wasm module layer.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/vnd.module.wasm.content.layer.v1+wasm";
/// The content of `oci-layout`.
pub const OCI_LAYOUT: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;
/// The annotation naming an image in `index.json` (what `oci:DIR:TAG` refers to).
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
/// The annotation naming a layer's file (what `oras pull` writes it as).
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    /// `sha256:<hex>` of the blob.
    pub digest: String,
    /// The blob's size in bytes.
    pub size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    fn of(media_type: &str, bytes: &[u8], annotations: &[(&str, &str)]) -> Self {
        Descriptor {
            media_type: media_type.to_string(),
            digest: digest(bytes),
            size: bytes.len() as u64,
            annotations: annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

/// An OCI image manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image index (`index.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    pub media_type: String,
    pub manifests: Vec<Descriptor>,
}

/// The Wasm image spec's runtime config for Envoy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeConfig {
    #[serde(rename = "type")]
    pub kind: String,
    /// The proxy-wasm ABI versions the module exports (`proxy_abi_version_0_2_1`, ...).
    pub abi_versions: Vec<String>,
    pub config: RootIds,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootIds {
    pub root_ids: Vec<String>,
}

/// A packaged module: every blob, ready to write.
#[derive(Debug, Clone)]
pub struct Layout {
    tag: String,
    index: Vec<u8>,
    manifest: Manifest,
    manifest_digest: String,
    /// `(digest, bytes)`, each blob once.
    blobs: Vec<(String, Vec<u8>)>,
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The proxy-wasm ABI versions a module exports (`proxy_abi_version_X_Y_Z` functions), found by
/// their names in the export section's bytes.
pub fn abi_versions(wasm: &[u8]) -> Vec<String> {
    const PREFIX: &[u8] = b"proxy_abi_version_";
    let mut found = std::collections::BTreeSet::new();
    let mut at = 0;
    while let Some(pos) = find(&wasm[at..], PREFIX) {
        let start = at + pos;
        let mut end = start + PREFIX.len();
        while end < wasm.len() && (wasm[end].is_ascii_digit() || wasm[end] == b'_') {
            end += 1;
        }
        if end > start + PREFIX.len() {
            found.insert(String::from_utf8_lossy(&wasm[start..end]).into_owned());
        }
        at = end;
    }
    found.into_iter().collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl Layout {
    /// Packages `wasm` (the module of `pair`) as an image tagged `tag`.
    pub fn package(pair: &str, wasm: &[u8], tag: &str) -> Layout {
        let runtime = RuntimeConfig {
            kind: "envoy_proxy".to_string(),
            abi_versions: abi_versions(wasm),
            config: RootIds {
                root_ids: vec![pair.to_string()],
            },
        };
        let config = serde_json::to_vec(&runtime).expect("a runtime config serialises");
        let wasm_title = format!("{pair}.wasm");
        let manifest = Manifest {
            schema_version: 2,
            media_type: MANIFEST_MEDIA_TYPE.to_string(),
            config: Descriptor::of(WASM_CONFIG_MEDIA_TYPE, &config, &[]),
            layers: vec![
                Descriptor::of(
                    WASM_CONFIG_MEDIA_TYPE,
                    &config,
                    &[(TITLE_ANNOTATION, "runtime-config.json")],
                ),
                Descriptor::of(
                    WASM_LAYER_MEDIA_TYPE,
                    wasm,
                    &[(TITLE_ANNOTATION, wasm_title.as_str())],
                ),
            ],
            annotations: [
                (TITLE_ANNOTATION.to_string(), format!("filterbench/{pair}")),
                (
                    "org.opencontainers.image.description".to_string(),
                    format!("Wasm twin of the filterbench pair {pair} (proxy-wasm, wasm32-wasip1)"),
                ),
            ]
            .into_iter()
            .collect(),
        };
        let manifest_bytes = serde_json::to_vec(&manifest).expect("a manifest serialises");
        let manifest_desc = Descriptor::of(
            MANIFEST_MEDIA_TYPE,
            &manifest_bytes,
            &[(REF_NAME_ANNOTATION, tag)],
        );
        let index = Index {
            schema_version: 2,
            media_type: INDEX_MEDIA_TYPE.to_string(),
            manifests: vec![manifest_desc.clone()],
        };
        let index = serde_json::to_vec(&index).expect("an index serialises");
        Layout {
            tag: tag.to_string(),
            index,
            manifest,
            manifest_digest: manifest_desc.digest.clone(),
            blobs: vec![
                (digest(&config), config),
                (digest(wasm), wasm.to_vec()),
                (manifest_desc.digest, manifest_bytes),
            ],
        }
    }

    /// The tag the image is known by in `index.json`.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// `sha256:<hex>` of the manifest: the image digest a registry reports after a push that keeps
    /// digests, and what Istio compares `WasmPlugin.spec.sha256` with for `oci://` URLs.
    pub fn manifest_digest(&self) -> &str {
        &self.manifest_digest
    }

    /// The manifest digest without `sha256:`.
    pub fn manifest_digest_hex(&self) -> &str {
        self.manifest_digest.trim_start_matches("sha256:")
    }

    /// `sha256:<hex>` of the module layer.
    pub fn wasm_digest(&self) -> &str {
        &self.manifest.layers[1].digest
    }

    /// Writes the layout into `dir`: `oci-layout`, the blobs, then `index.json`, each atomically.
    /// Blobs of earlier runs stay (unreferenced blobs are allowed in a layout).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let blobs = dir.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs).map_err(|e| Error::io(&blobs, e))?;
        write_atomic(&dir.join("oci-layout"), OCI_LAYOUT.as_bytes())?;
        for (digest, bytes) in &self.blobs {
            let hex = digest.trim_start_matches("sha256:");
            write_atomic(&blobs.join(hex), bytes)?;
        }
        write_atomic(&dir.join("index.json"), &self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty_input() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn finds_abi_versions() {
        let bytes = b"\0asm\x01\0\0\0..proxy_abi_version_0_2_1\x00..proxy_abi_version_0_1_0x";
        assert_eq!(
            abi_versions(bytes),
            vec!["proxy_abi_version_0_1_0", "proxy_abi_version_0_2_1"]
        );
        assert!(abi_versions(b"\0asm").is_empty());
    }

    #[test]
    fn packaging_is_deterministic_and_two_layered() {
        let wasm = b"\0asm\x01\0\0\0proxy_abi_version_0_2_1";
        let a = Layout::package("p", wasm, "latest");
        let b = Layout::package("p", wasm, "latest");
        assert_eq!(a.manifest_digest(), b.manifest_digest());
        assert_eq!(a.manifest().layers.len(), 2);
        assert_eq!(a.manifest().layers[1].media_type, WASM_LAYER_MEDIA_TYPE);
        assert_eq!(a.wasm_digest(), digest(wasm));
        // The tag lives in index.json only: retagging keeps the image digest (and sha256 pins).
        assert_eq!(
            a.manifest_digest(),
            Layout::package("p", wasm, "v2").manifest_digest()
        );
    }
}
