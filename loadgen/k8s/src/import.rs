//! The inline Lua of a user's own manifest, for `filterbench new NAME --from-manifest FILE`: the
//! reverse of [`super::envoyfilter`] and [`super::trafficextension`], for manifests anyone wrote.
//!
//! A (multi-document) YAML file is searched for the first document that holds Lua:
//!
//! - an `EnvoyFilter` (`networking.istio.io/*`) whose `configPatches` insert
//!   `envoy.filters.http.lua` (by name or by the Lua `@type`) with the script inline as
//!   `inlineCode` / `inline_code` (older Envoy API) or `defaultSourceCode.inlineString` /
//!   `default_source_code.inline_string`; its configuration is the route metadata a patch
//!   merges under `metadata.filter_metadata["envoy.filters.http.lua"]` (what the script reads
//!   with `handle:metadata()`);
//! - a `TrafficExtension` (`extensions.istio.io/*`, Istio 1.30) with `spec.lua.inlineCode`; it
//!   carries no route metadata, so no configuration is found there (a configuration prelude
//!   written by `loadgen k8s manifests` stays part of the script, which then carries its
//!   constants itself).
//!
//! The script is taken byte for byte; where it and its configuration came from is said in
//! [`ImportedLua::origin`] and [`ImportedLua::config_origin`].

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{envoyfilter, LUA_FILTER};

/// What was found in a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedLua {
    /// The Lua script, unchanged.
    pub code: String,
    /// The configuration (a JSON object; empty when none was found).
    pub config: serde_json::Map<String, Value>,
    /// Where the script came from, e.g. `EnvoyFilter default/my-lua, configPatches[0]
    /// defaultSourceCode.inlineString (document 1)`.
    pub origin: String,
    /// Where the configuration came from, when one was found.
    pub config_origin: Option<String>,
}

/// A manifest that cannot be used; names the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct ImportError {
    pub path: PathBuf,
    pub message: String,
}

/// The Lua of the manifest file at `path`.
pub fn lua_from_manifest_file(path: &Path) -> Result<ImportedLua, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|e| ImportError {
        path: path.to_path_buf(),
        message: format!("cannot read: {e}"),
    })?;
    lua_from_manifest(path, &text)
}

/// The Lua of a manifest's text (`path` names it in errors).
pub fn lua_from_manifest(path: &Path, text: &str) -> Result<ImportedLua, ImportError> {
    let fail = |message: String| ImportError {
        path: path.to_path_buf(),
        message,
    };
    let mut kinds = Vec::new();
    for (i, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value: Value = serde::Deserialize::deserialize(document).map_err(|e| {
            fail(format!(
                "YAML (document {}): {}",
                i + 1,
                filterbench_model::one_line(&e.to_string())
            ))
        })?;
        if value.is_null() {
            continue;
        }
        let kind = value["kind"].as_str().unwrap_or("").to_string();
        let api = value["apiVersion"].as_str().unwrap_or("");
        let name = format!(
            "{}/{}",
            value["metadata"]["namespace"].as_str().unwrap_or("default"),
            value["metadata"]["name"].as_str().unwrap_or("?")
        );
        let found = match kind.as_str() {
            "EnvoyFilter" if api.starts_with("networking.istio.io/") => {
                from_envoy_filter(&value, &name)
            }
            "TrafficExtension" if api.starts_with("extensions.istio.io/") => {
                from_traffic_extension(&value, &name)
            }
            _ => None,
        };
        if let Some(mut found) = found {
            found.origin = format!("{} (document {})", found.origin, i + 1);
            return Ok(found);
        }
        kinds.push(if kind.is_empty() {
            format!("document {} is not a Kubernetes object", i + 1)
        } else {
            format!("document {} is a {kind}", i + 1)
        });
    }
    Err(fail(format!(
        "no inline Lua found ({}; looked for an EnvoyFilter patch inserting {LUA_FILTER} with \
         inlineCode / inline_code / defaultSourceCode.inlineString, or a TrafficExtension with \
         spec.lua.inlineCode)",
        if kinds.is_empty() {
            "no documents".to_string()
        } else {
            kinds.join(", ")
        }
    )))
}

fn from_traffic_extension(manifest: &Value, name: &str) -> Option<ImportedLua> {
    let code = manifest["spec"]["lua"]["inlineCode"].as_str()?;
    Some(ImportedLua {
        code: code.to_string(),
        config: serde_json::Map::new(),
        origin: format!("TrafficExtension {name}, spec.lua.inlineCode"),
        config_origin: None,
    })
}

fn from_envoy_filter(manifest: &Value, name: &str) -> Option<ImportedLua> {
    let patches = manifest["spec"]["configPatches"].as_array()?;
    let mut script = None;
    for (i, patch) in patches.iter().enumerate() {
        let value = &patch["patch"]["value"];
        let typed = &value["typed_config"];
        let typed = if typed.is_null() {
            &value["typedConfig"]
        } else {
            typed
        };
        let is_lua = value["name"].as_str() == Some(LUA_FILTER)
            || typed["@type"].as_str() == Some(envoyfilter::LUA_TYPE_URL);
        if !is_lua || script.is_some() {
            continue;
        }
        for (field, code) in [
            ("inlineCode", &typed["inlineCode"]),
            ("inline_code", &typed["inline_code"]),
            (
                "defaultSourceCode.inlineString",
                &typed["defaultSourceCode"]["inlineString"],
            ),
            (
                "default_source_code.inline_string",
                &typed["default_source_code"]["inline_string"],
            ),
        ] {
            if let Some(code) = code.as_str() {
                script = Some((code.to_string(), format!("configPatches[{i}] {field}")));
                break;
            }
        }
    }
    let (code, at) = script?;
    // The configuration: route metadata under the Lua filter's name, from any patch.
    let mut config = serde_json::Map::new();
    let mut config_origin = None;
    for (i, patch) in patches.iter().enumerate() {
        let metadata = &patch["patch"]["value"]["metadata"];
        let filter_metadata = if metadata["filter_metadata"].is_null() {
            &metadata["filterMetadata"]
        } else {
            &metadata["filter_metadata"]
        };
        if let Some(object) = filter_metadata[LUA_FILTER].as_object() {
            config = object.clone();
            config_origin = Some(format!(
                "EnvoyFilter {name}, configPatches[{i}] ({}) metadata.filter_metadata[\"{LUA_FILTER}\"]",
                patch["applyTo"].as_str().unwrap_or("?")
            ));
            break;
        }
    }
    Some(ImportedLua {
        code,
        config,
        origin: format!("EnvoyFilter {name}, {at}"),
        config_origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envoy_filter_gives_its_script_and_route_metadata() {
        let yaml = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: unrelated}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: tagger, namespace: shop}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    match: {context: SIDECAR_INBOUND}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.lua
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
          inline_code: |
            function envoy_on_request(h) h:headers():add("x-tag", "1") end
  - applyTo: HTTP_ROUTE
    patch:
      operation: MERGE
      value:
        metadata:
          filter_metadata:
            envoy.filters.http.lua: {tag: blue, percent: 10}
"#;
        let found = lua_from_manifest(Path::new("m.yaml"), yaml).unwrap();
        assert_eq!(
            found.code,
            "function envoy_on_request(h) h:headers():add(\"x-tag\", \"1\") end\n"
        );
        assert_eq!(found.config["tag"], "blue");
        assert_eq!(found.config["percent"], 10);
        assert!(
            found.origin.contains("EnvoyFilter shop/tagger") && found.origin.contains("document 2"),
            "{}",
            found.origin
        );
        assert!(found.config_origin.unwrap().contains("HTTP_ROUTE"));
    }

    #[test]
    fn traffic_extension_gives_its_inline_code() {
        let yaml = "apiVersion: extensions.istio.io/v1alpha1\nkind: TrafficExtension\n\
                    metadata: {name: t}\nspec:\n  lua:\n    inlineCode: \"-- x\\n\"\n";
        let found = lua_from_manifest(Path::new("t.yaml"), yaml).unwrap();
        assert_eq!(found.code, "-- x\n");
        assert!(found.config.is_empty() && found.config_origin.is_none());
    }

    #[test]
    fn a_manifest_without_lua_is_one_line_naming_the_file() {
        let yaml =
            "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: w}\n";
        let e = lua_from_manifest(Path::new("/tmp/w.yaml"), yaml).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("/tmp/w.yaml: no inline Lua found"),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }
}
