//! The Wasm twin as an Istio `WasmPlugin` (`extensions.istio.io/v1alpha1`).
//!
//! - `url`: where istio-agent fetches the module (`oci://`, `file://`, `http(s)://`);
//! - `sha256`: for `file://` and `http(s)://` the module's sha256; for `oci://` Istio compares it
//!   with the **image manifest digest**, so it is the digest of the generated `oci/` layout (pushed
//!   with digests preserved), or absent when the URL pins a digest itself or pinning is turned off;
//! - `pluginConfig`: the pair's configuration from the catalogue, the same values the Lua twin
//!   reads from route metadata;
//! - `pluginName`: the pair's name, which Istio passes as the root id (the runtime config in the
//!   image lists it in `root_ids`);
//! - `phase` ([`phase`]): `AUTHN` for the pairs that authenticate requests, `STATS` for the one that
//!   keeps metrics, otherwise `UNSPECIFIED_PHASE`, which Istio places right before the router:
//!   exactly where the `EnvoyFilter` puts the Lua twin;
//! - `failStrategy: FAIL_CLOSE`: a module that cannot be loaded or crashes fails requests rather
//!   than letting them through unfiltered (an auth filter must not fail open, and a benchmark must
//!   not silently measure no filter);
//! - `match[].mode`: `SERVER` (a sidecar's inbound side) or `CLIENT` (a gateway), the traffic the
//!   `EnvoyFilter`'s context selects;
//! - `selector.matchLabels`, `imagePullPolicy`, `type: HTTP`.

use serde::Serialize;
use serde_json::{json, Value};

use filterbench_model::TwinKind;

use super::{metadata, selector_map, to_yaml, Object, PullPolicy, Result, Target, WasmUrl};

pub const API_VERSION: &str = "extensions.istio.io/v1alpha1";
pub const KIND: &str = "WasmPlugin";

/// Pairs that decide whether a request is authenticated: they run in Istio's `AUTHN` phase.
pub const AUTHN_PAIRS: &[&str] = &["header_auth", "jwt_auth", "ext_authz_call"];

/// The plugin phase of a pair: `AUTHN` for [`AUTHN_PAIRS`], `STATS` for a pair whose traits say it
/// keeps custom metrics, otherwise `UNSPECIFIED_PHASE` (right before the router, where the Lua
/// twin is).
pub fn phase(pair: &str, custom_metrics: bool) -> &'static str {
    if AUTHN_PAIRS.contains(&pair) {
        "AUTHN"
    } else if custom_metrics {
        "STATS"
    } else {
        "UNSPECIFIED_PHASE"
    }
}

/// Where the module comes from, and what the plugin pins.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// Which proxy-wasm twin the module is (Rust or Go): its label and file names.
    pub kind: TwinKind,
    pub url: &'a WasmUrl,
    /// `spec.sha256`, if pinned.
    pub sha256: Option<&'a str>,
    pub image_pull_policy: PullPolicy,
    /// The module's own sha256 (for the header comment).
    pub module_sha256: &'a str,
    /// The layout's manifest digest (for the header comment).
    pub manifest_digest: &'a str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    selector: Selector,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    image_pull_policy: &'static str,
    plugin_name: String,
    phase: &'static str,
    fail_strategy: &'static str,
    #[serde(rename = "type")]
    plugin_type: &'static str,
    #[serde(rename = "match")]
    matches: Value,
    plugin_config: Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    match_labels: Value,
}

/// The `WasmPlugin` object (as it is serialised).
pub fn manifest(
    target: &Target,
    phase: &'static str,
    source: &Source<'_>,
) -> impl Serialize + use<> {
    Object {
        api_version: API_VERSION,
        kind: KIND,
        metadata: metadata(target, source.kind.id()),
        spec: Spec {
            selector: Selector {
                match_labels: selector_map(target),
            },
            url: source.url.as_str().to_string(),
            sha256: source.sha256.map(str::to_string),
            image_pull_policy: source.image_pull_policy.istio_name(),
            plugin_name: target.pair.clone(),
            phase,
            fail_strategy: "FAIL_CLOSE",
            plugin_type: "HTTP",
            matches: json!([{ "mode": target.context.wasm_traffic_mode() }]),
            plugin_config: target.config.clone(),
        },
    }
}

/// `wasmplugin.yaml`: a comment saying what the object does, then the object.
pub fn render(target: &Target, custom_metrics: bool, source: &Source<'_>) -> Result<String> {
    let pair = &target.pair;
    let phase = phase(pair, custom_metrics);
    let why_phase = match phase {
        "AUTHN" => {
            "AUTHN: it authenticates requests, so it runs before Istio's authn/authz filters"
        }
        "STATS" => "STATS: it keeps metrics,\nso it runs before Istio's stats filter",
        _ => "UNSPECIFIED_PHASE: right before the router,\nwhere the EnvoyFilter puts the Lua twin",
    };
    let pin = match (source.url, source.sha256) {
        (WasmUrl::Oci { .. }, Some(_)) => format!(
            "sha256 pins the image manifest {}\n(the oci/ layout; push it with digests kept).",
            source.manifest_digest
        ),
        (
            WasmUrl::Oci {
                digest: Some(_), ..
            },
            None,
        ) => "the URL pins the image digest, so no sha256.".to_string(),
        (WasmUrl::Oci { .. }, None) => "sha256 is not pinned (--no-sha256).".to_string(),
        (_, _) => format!("sha256 is the module's:\n{}.", source.module_sha256),
    };
    let comment = format!(
        "WasmPlugin: the {label} twin of the filterbench pair `{pair}` ({folder}/{pair}, proxy-wasm).\n\
         Generated by `loadgen k8s manifests --pair {pair}`; regenerate rather than edit.\n\
         \n\
         Loads {url}\n\
         into the {context} side of the workloads labelled {selector} in namespace {ns};\n\
         {pin}\n\
         pluginConfig is the pair's configuration: the same values the Lua twin reads from route\n\
         metadata.\n\
         phase {why_phase}.\n\
         failStrategy FAIL_CLOSE: a module that fails to load or crashes fails requests instead of\n\
         letting them through unfiltered.\n\
         \n\
         The Lua twin is envoyfilter.yaml. Apply one of the two at a time.",
        url = source.url.as_str(),
        // The Rust twin is the reference kind: "the Wasm twin", as before other kinds came.
        label = match source.kind {
            TwinKind::Wasm => "Wasm",
            kind => kind.label(),
        },
        folder = source.kind.source_folder(),
        context = target.context,
        selector = target
            .selector
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
        ns = target.namespace,
    );
    to_yaml(
        file(source.kind),
        &comment,
        &manifest(target, phase, source),
    )
}

/// The legacy manifest file of a proxy-wasm twin: `wasmplugin.yaml` (Rust, the reference
/// kind) or `wasmplugin-go-wasm.yaml`.
pub fn file(kind: TwinKind) -> &'static str {
    match kind {
        TwinKind::GoWasm => "wasmplugin-go-wasm.yaml",
        _ => "wasmplugin.yaml",
    }
}

#[cfg(test)]
mod tests {
    use super::phase;

    #[test]
    fn phases() {
        assert_eq!(phase("jwt_auth", false), "AUTHN");
        assert_eq!(phase("ext_authz_call", false), "AUTHN");
        assert_eq!(phase("header_auth", false), "AUTHN");
        assert_eq!(phase("custom_metrics", true), "STATS");
        assert_eq!(phase("add_header", false), "UNSPECIFIED_PHASE");
    }
}
