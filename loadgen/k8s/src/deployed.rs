//! What a generated manifest becomes in the proxy: the Envoy HTTP filter (and route metadata)
//! Istio gives the istio-proxy for it, so that a real Envoy can serve exactly what is deployed
//! (`filterbench verify --envoy --deployed`).
//!
//! - `EnvoyFilter` (legacy Lua twin): the `HTTP_FILTER` patch's `value` is the filter, verbatim
//!   (Istio inserts it as written); the `HTTP_ROUTE` `MERGE` patch's `metadata.filter_metadata`
//!   is the route metadata.
//! - `TrafficExtension` with `lua:`: `envoy.filters.http.lua` with `inlineCode` (the configuration
//!   prelude and the script) as `default_source_code.inline_string`, and **no** route metadata:
//!   the prelude alone must carry the configuration.
//! - `WasmPlugin`, or `TrafficExtension` with `wasm:`: `envoy.filters.http.wasm` with
//!   `config.name` `<namespace>.<name>`, `root_id` = `pluginName`, the V8 runtime
//!   (`envoy.wasm.runtime.v8`), `pluginConfig` serialised as the JSON `configuration` string
//!   (`google.protobuf.StringValue`; none when it is empty), `vmConfig.env` as environment
//!   variables, and `failStrategy` as `fail_open` (`FAIL_CLOSE` false, `FAIL_OPEN` true) or
//!   `failure_policy: FAIL_RELOAD`; as istio's `pilot/pkg/model/extensions.go` builds it, without
//!   `allow_on_headers_stop_iteration` (which Istio does not set, and the project's own Wasm
//!   listener does: a twin that pauses in its header callback to see the body needs it). The
//!   module is fetched as istio-agent does, from the bundle's OCI layout instead of a registry:
//!   the image (by tag or pinned digest) or the blob named by `sha256`, every digest checked,
//!   `spec.sha256` compared with the image manifest digest (`oci://`) or the module's
//!   (`file://`, `http(s)://`), then handed to Envoy as a local file ([`OciModules`]).
//! - `EnvoyFilter` with `envoy.filters.http.dynamic_modules` (the native twin): the patch's filter
//!   verbatim, the library's path in the proxy replaced by the file standing for it (the
//!   bundle's `native/`, which its Dockerfile copies into the proxy image).
//!
//! Phase and priority only order filters among themselves and Istio's own; a listener that runs
//! one extension before the router is not affected by them.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::oci::{self, Index, Manifest, REF_NAME_ANNOTATION, WASM_LAYER_MEDIA_TYPE};
use filterbench_model::TwinKind;

use super::{
    envoyfilter, native, oci_dir, trafficextension, wasmplugin, Error, Result, WasmUrl, LUA_FILTER,
};

/// The Wasm HTTP filter's configuration type.
pub const WASM_TYPE_URL: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
/// Envoy's V8 runtime, the one Istio configures.
pub const V8_RUNTIME: &str = "envoy.wasm.runtime.v8";

/// One manifest as the proxy receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployedFilter {
    /// `lua`, `wasm` (either proxy-wasm kind) or `native`.
    pub variant: &'static str,
    /// The HTTP filter (`name`, `typed_config`), inserted before the router.
    pub http_filter: Value,
    /// The route's `filter_metadata`, when the manifest sets one (the legacy EnvoyFilter).
    pub route_metadata: Option<Value>,
}

/// Where istio-agent would fetch a Wasm module from: gives the local file for a URL and sha256;
/// and where the proxy's file system holds a native twin's library.
pub trait ModuleSource {
    fn module(&self, url: &str, sha256: Option<&str>) -> Result<PathBuf>;
    /// The local file that is at `path` inside the proxy container.
    fn library(&self, path: &str) -> Result<PathBuf>;
}

/// Modules from a bundle's OCI image layout (`DIR/oci/`), written to `cache` as `<sha256>.wasm`;
/// native libraries from the bundle's `native/` folder, which its Dockerfile copies into the
/// proxy image.
#[derive(Debug, Clone)]
pub struct OciModules {
    pub layout: PathBuf,
    pub cache: PathBuf,
    /// The bundle's `native/` folder.
    pub libraries: PathBuf,
}

/// Translates one manifest (as JSON). `what` names it in errors (e.g. its file).
pub fn translate(
    what: &str,
    manifest: &Value,
    modules: &dyn ModuleSource,
) -> Result<DeployedFilter> {
    let fail = |message: String| Error::Translate {
        what: what.to_string(),
        message,
    };
    let api_version = manifest["apiVersion"].as_str().unwrap_or("");
    let kind = manifest["kind"].as_str().unwrap_or("");
    let spec = &manifest["spec"];
    let name = format!(
        "{}.{}",
        manifest["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default"),
        manifest["metadata"]["name"]
            .as_str()
            .ok_or_else(|| fail("metadata.name is missing".into()))?
    );
    match (api_version, kind) {
        (envoyfilter::API_VERSION, envoyfilter::KIND) => envoy_filter(spec, modules).map_err(fail),
        (trafficextension::API_VERSION, trafficextension::KIND) => {
            match (spec.get("lua"), spec.get("wasm")) {
                (Some(lua), None) => {
                    let code = lua["inlineCode"]
                        .as_str()
                        .ok_or_else(|| fail("spec.lua.inlineCode is not a string".into()))?;
                    Ok(DeployedFilter {
                        variant: "lua",
                        http_filter: json!({
                            "name": LUA_FILTER,
                            "typed_config": {
                                "@type": envoyfilter::LUA_TYPE_URL,
                                "default_source_code": { "inline_string": code },
                            },
                        }),
                        route_metadata: None,
                    })
                }
                (None, Some(wasm)) => wasm_filter(&name, wasm, modules).map_err(|e| match e {
                    Error::Translate { message, .. } => fail(message),
                    other => other,
                }),
                _ => Err(fail("spec needs exactly one of lua and wasm".into())),
            }
        }
        (wasmplugin::API_VERSION, wasmplugin::KIND) => {
            wasm_filter(&name, spec, modules).map_err(|e| match e {
                Error::Translate { message, .. } => fail(message),
                other => other,
            })
        }
        _ => Err(fail(format!(
            "no translation for apiVersion {api_version:?} kind {kind:?}"
        ))),
    }
}

fn envoy_filter(spec: &Value, modules: &dyn ModuleSource) -> Result<DeployedFilter, String> {
    let patches = spec["configPatches"]
        .as_array()
        .ok_or("spec.configPatches is missing")?;
    let mut filter = None;
    let mut route_metadata = None;
    for patch in patches {
        match (
            patch["applyTo"].as_str(),
            patch["patch"]["operation"].as_str(),
        ) {
            (Some("HTTP_FILTER"), Some("INSERT_BEFORE" | "INSERT_AFTER" | "INSERT_FIRST")) => {
                if filter.is_some() {
                    return Err("more than one HTTP_FILTER patch".into());
                }
                filter = Some(patch["patch"]["value"].clone());
            }
            (Some("HTTP_ROUTE"), Some("MERGE")) => {
                route_metadata = patch["patch"]["value"]["metadata"]
                    .get("filter_metadata")
                    .cloned();
            }
            (apply_to, operation) => {
                return Err(format!(
                    "no translation for a {apply_to:?} {operation:?} patch"
                ))
            }
        }
    }
    let filter = filter.ok_or("no HTTP_FILTER patch")?;
    let (variant, filter) = match filter["name"].as_str() {
        Some(LUA_FILTER) => ("lua", filter),
        Some("envoy.filters.http.wasm") => ("wasm", filter),
        Some(native::FILTER) => ("native", native_filter(filter, modules)?),
        other => {
            return Err(format!(
                "the patch inserts {other:?}, not a Lua, Wasm or dynamic modules filter"
            ))
        }
    };
    Ok(DeployedFilter {
        variant,
        http_filter: filter,
        route_metadata,
    })
}

/// The dynamic modules filter as the proxy runs it: verbatim, its library's path in the proxy
/// container replaced by the local file that stands for it ([`ModuleSource::library`]).
fn native_filter(mut filter: Value, modules: &dyn ModuleSource) -> Result<Value, String> {
    let module = &mut filter["typed_config"]["dynamic_module_config"]["module"];
    let path = module["local"]["filename"].as_str().ok_or(
        "dynamic_module_config.module.local.filename is missing (the library's path in the proxy)",
    )?;
    let local = modules.library(path).map_err(|e| e.to_string())?;
    module["local"]["filename"] = json!(local.display().to_string());
    Ok(filter)
}

/// `spec` (a WasmPlugin's) or `spec.wasm` (a TrafficExtension's): the same fields.
fn wasm_filter(name: &str, wasm: &Value, modules: &dyn ModuleSource) -> Result<DeployedFilter> {
    let fail = |message: String| Error::Translate {
        what: name.to_string(),
        message,
    };
    if let Some(t) = wasm["type"].as_str() {
        if t == "NETWORK" {
            return Err(fail("type NETWORK is not an HTTP filter".into()));
        }
    }
    let url = wasm["url"]
        .as_str()
        .ok_or_else(|| fail("url is missing".into()))?;
    let sha256 = wasm["sha256"].as_str().filter(|s| !s.is_empty());
    let module = modules.module(url, sha256)?;
    let mut config = json!({
        "name": name,
        "root_id": wasm["pluginName"].as_str().unwrap_or(""),
        "vm_config": {
            "runtime": V8_RUNTIME,
            "code": { "local": { "filename": module.display().to_string() } },
        },
    });
    // Istio passes pluginConfig as JSON in a StringValue, and nothing at all when it is empty.
    if let Some(plugin_config) = wasm
        .get("pluginConfig")
        .filter(|c| c.as_object().is_some_and(|m| !m.is_empty()))
    {
        config["configuration"] = json!({
            "@type": "type.googleapis.com/google.protobuf.StringValue",
            "value": plugin_config.to_string(),
        });
    }
    match wasm["failStrategy"].as_str().unwrap_or("FAIL_CLOSE") {
        "FAIL_CLOSE" => config["fail_open"] = json!(false),
        "FAIL_OPEN" => config["fail_open"] = json!(true),
        "FAIL_RELOAD" => config["failure_policy"] = json!("FAIL_RELOAD"),
        other => return Err(fail(format!("failStrategy {other:?} has no translation"))),
    }
    if let Some(env) = wasm["vmConfig"]["env"].as_array() {
        let mut host = Vec::new();
        let mut inline = serde_json::Map::new();
        for var in env {
            let key = var["name"].as_str().unwrap_or("").to_string();
            match var["valueFrom"].as_str().unwrap_or("INLINE") {
                "HOST" => host.push(json!(key)),
                _ => {
                    inline.insert(key, json!(var["value"].as_str().unwrap_or("")));
                }
            }
        }
        config["vm_config"]["environment_variables"] =
            json!({ "host_env_keys": host, "key_values": inline });
    }
    Ok(DeployedFilter {
        variant: "wasm",
        http_filter: json!({
            "name": "envoy.filters.http.wasm",
            "typed_config": { "@type": WASM_TYPE_URL, "config": config },
        }),
        route_metadata: None,
    })
}

impl OciModules {
    fn read_blob(&self, digest: &str) -> Result<Vec<u8>> {
        let hex = digest.trim_start_matches("sha256:");
        let path = self.layout.join("blobs").join("sha256").join(hex);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        if oci::sha256_hex(&bytes) != hex {
            return Err(Error::Translate {
                what: path.display().to_string(),
                message: format!("blob content does not match its digest {digest}"),
            });
        }
        Ok(bytes)
    }

    /// The Wasm layer of the image `manifest_digest`.
    fn image_module(&self, manifest_digest: &str) -> Result<Vec<u8>> {
        let bytes = self.read_blob(manifest_digest)?;
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| Error::Translate {
            what: format!("{} manifest {manifest_digest}", self.layout.display()),
            message: e.to_string(),
        })?;
        let layer = manifest
            .layers
            .iter()
            .find(|l| l.media_type == WASM_LAYER_MEDIA_TYPE)
            .ok_or_else(|| Error::Translate {
                what: format!("{} manifest {manifest_digest}", self.layout.display()),
                message: format!("no {WASM_LAYER_MEDIA_TYPE} layer"),
            })?;
        self.read_blob(&layer.digest)
    }

    fn cached(&self, module: &[u8]) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.cache).map_err(|e| Error::io(&self.cache, e))?;
        let path = self.cache.join(format!("{}.wasm", oci::sha256_hex(module)));
        super::write_atomic(&path, module)?;
        Ok(path)
    }
}

impl ModuleSource for OciModules {
    fn module(&self, url: &str, sha256: Option<&str>) -> Result<PathBuf> {
        let fail = |message: String| Error::Translate {
            what: format!("url {url}"),
            message,
        };
        let parsed = WasmUrl::parse(url).map_err(|e| fail(e.to_string()))?;
        let module = match parsed {
            WasmUrl::Oci { tag, digest, .. } => {
                let manifest_digest = match digest {
                    Some(hex) => format!("sha256:{hex}"),
                    None => {
                        let path = self.layout.join("index.json");
                        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
                        let index: Index =
                            serde_json::from_slice(&bytes).map_err(|e| Error::Translate {
                                what: path.display().to_string(),
                                message: e.to_string(),
                            })?;
                        index
                            .manifests
                            .iter()
                            .find(|m| {
                                m.annotations.get(REF_NAME_ANNOTATION).map(String::as_str)
                                    == Some(tag.as_str())
                            })
                            .map(|m| m.digest.clone())
                            .ok_or_else(|| fail(format!("no image tagged {tag:?} in the layout")))?
                    }
                };
                if let Some(want) = sha256 {
                    if manifest_digest.trim_start_matches("sha256:") != want {
                        return Err(fail(format!(
                            "sha256 {want} is not the image's manifest digest {manifest_digest}: \
                             Istio would refuse the module"
                        )));
                    }
                }
                self.image_module(&manifest_digest)?
            }
            WasmUrl::File { .. } | WasmUrl::Http { .. } => {
                let want = sha256.ok_or_else(|| {
                    fail("without sha256 the module cannot be found in the layout".into())
                })?;
                self.read_blob(want)?
            }
        };
        self.cached(&module)
    }

    fn library(&self, path: &str) -> Result<PathBuf> {
        let local = Path::new(path)
            .file_name()
            .map(|name| self.libraries.join(name))
            .filter(|local| local.is_file())
            .ok_or_else(|| Error::Translate {
                what: format!("library {path}"),
                message: format!(
                    "the bundle's {} has no such library for the proxy image",
                    self.libraries.display()
                ),
            })?;
        Ok(local)
    }
}

/// Two manifests of a written bundle directory, translated: (Lua twin, the twin of `kind`):
/// its module from the kind's OCI layout, or its library from `native/`.
pub fn translate_bundle(
    dir: &Path,
    lua_file: &str,
    twin_file: &str,
    kind: TwinKind,
    cache: &Path,
) -> Result<(DeployedFilter, DeployedFilter)> {
    let modules = OciModules {
        layout: dir.join(oci_dir(kind)),
        cache: cache.to_path_buf(),
        libraries: dir.join(native::DIR),
    };
    let read = |file: &str| -> Result<DeployedFilter> {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let what = path.display().to_string();
        let value = super::crd::yaml_to_json(&what, &text)?;
        translate(&what, &value, &modules)
    };
    Ok((read(lua_file)?, read(twin_file)?))
}
