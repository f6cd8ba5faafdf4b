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
//! Every route-metadata block found is a configuration: the first the pair's `config`
//! (`default`), the others [`ImportedLua::more_configs`].
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
    /// Every other route-metadata block of the manifest (a filter configured differently on
    /// other routes), in patch order, each to become a named configuration of the pair; a block
    /// equal to one before it is left out.
    pub more_configs: Vec<ImportedConfig>,
}

/// A route-metadata block of a manifest beyond the first.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedConfig {
    /// A configuration name (`[a-z0-9_]+`, not `default`): the patch's route name made one when
    /// it has a route name not taken yet, else `config_<k>` for the k-th configuration.
    pub name: String,
    /// The configuration (a JSON object).
    pub config: serde_json::Map<String, Value>,
    /// Where it came from.
    pub origin: String,
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
        more_configs: Vec::new(),
    })
}

fn from_envoy_filter(manifest: &Value, name: &str) -> Option<ImportedLua> {
    let patches = manifest["spec"]["configPatches"].as_array()?;
    let (code, at) = patches.iter().enumerate().find_map(inline_lua)?;
    // The configurations: route metadata under the Lua filter's name, from every patch that
    // merges some (the first is the pair's `default`).
    let mut blocks = metadata_blocks(patches, name).into_iter();
    let (config, config_origin) = match blocks.next() {
        Some(block) => (block.config, Some(block.origin)),
        None => (serde_json::Map::new(), None),
    };
    Some(ImportedLua {
        code,
        config,
        origin: format!("EnvoyFilter {name}, {at}"),
        config_origin,
        more_configs: named_configs(blocks),
    })
}

/// Patch `i`'s inline Lua code and where it stands, when the patch inserts the Lua filter with
/// its code inline.
fn inline_lua((i, patch): (usize, &Value)) -> Option<(String, String)> {
    let value = &patch["patch"]["value"];
    let typed = &value["typed_config"];
    let typed = if typed.is_null() {
        &value["typedConfig"]
    } else {
        typed
    };
    let is_lua = value["name"].as_str() == Some(LUA_FILTER)
        || typed["@type"].as_str() == Some(envoyfilter::LUA_TYPE_URL);
    if !is_lua {
        return None;
    }
    [
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
    ]
    .into_iter()
    .find_map(|(field, code)| {
        code.as_str()
            .map(|code| (code.to_string(), format!("configPatches[{i}] {field}")))
    })
}

/// A route-metadata block for the Lua filter in an EnvoyFilter patch.
struct MetadataBlock {
    config: serde_json::Map<String, Value>,
    /// Which patch of which EnvoyFilter, for the catalogue's comment.
    origin: String,
    /// The route the patch matches, when it names one.
    route: Option<String>,
}

/// The patches' route metadata under the Lua filter's name, each distinct block once, in order.
fn metadata_blocks(patches: &[Value], name: &str) -> Vec<MetadataBlock> {
    let mut blocks: Vec<MetadataBlock> = Vec::new();
    for (i, patch) in patches.iter().enumerate() {
        let metadata = &patch["patch"]["value"]["metadata"];
        let filter_metadata = if metadata["filter_metadata"].is_null() {
            &metadata["filterMetadata"]
        } else {
            &metadata["filter_metadata"]
        };
        let Some(object) = filter_metadata[LUA_FILTER].as_object() else {
            continue;
        };
        if blocks.iter().any(|seen| &seen.config == object) {
            continue;
        }
        let origin = format!(
            "EnvoyFilter {name}, configPatches[{i}] ({}) metadata.filter_metadata[\"{LUA_FILTER}\"]",
            patch["applyTo"].as_str().unwrap_or("?")
        );
        let route = patch["match"]["routeConfiguration"]["vhost"]["route"]["name"]
            .as_str()
            .map(str::to_string);
        blocks.push(MetadataBlock {
            config: object.clone(),
            origin,
            route,
        });
    }
    blocks
}

/// The blocks after the first as named configurations: named after their route when it gives a
/// name not taken, else `config_<n>` (`n` from 2, the block's place).
fn named_configs(blocks: impl Iterator<Item = MetadataBlock>) -> Vec<ImportedConfig> {
    let mut taken = vec!["default".to_string()];
    let mut more_configs = Vec::new();
    for (k, block) in blocks.enumerate() {
        let from_route = block
            .route
            .map(|r| config_name(&r))
            .filter(|n| !taken.contains(n));
        let name = from_route.unwrap_or_else(|| {
            (k + 2..)
                .map(|n| format!("config_{n}"))
                .find(|n| !taken.contains(n))
                .expect("some name is free")
        });
        taken.push(name.clone());
        more_configs.push(ImportedConfig {
            name,
            config: block.config,
            origin: block.origin,
        });
    }
    more_configs
}

/// A route name as a configuration name: lower-cased, every byte but `[a-z0-9_]` made `_`.
fn config_name(route: &str) -> String {
    let name: String = route
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "_".to_string()
    } else {
        name
    }
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

    /// Every route-metadata block is a configuration: the first is `default`, the others named
    /// after their route (or `config_<k>`), a repeated block left out.
    #[test]
    fn every_route_metadata_block_is_a_configuration() {
        let block = |route: &str, metadata: &str| {
            format!(
                "  - applyTo: HTTP_ROUTE\n    match:\n      routeConfiguration:\n        vhost:\n          \
                 route: {{name: {route}}}\n    patch:\n      operation: MERGE\n      value:\n        \
                 metadata:\n          filter_metadata:\n            envoy.filters.http.lua: {metadata}\n"
            )
        };
        let yaml = format!(
            "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {{name: s}}\n\
             spec:\n  configPatches:\n  - applyTo: HTTP_FILTER\n    patch:\n      value:\n        \
             name: envoy.filters.http.lua\n        typed_config:\n          inline_code: \"-- x\"\n{}{}{}{}",
            block("web", "{strip_authorization: false}"),
            block("Admin-API", "{strip_authorization: true}"),
            block("again", "{strip_authorization: true}"),
            block("Admin-API", "{strip_authorization: true, x: 1}"),
        );
        let found = lua_from_manifest(Path::new("m.yaml"), &yaml).unwrap();
        assert_eq!(found.config["strip_authorization"], false);
        assert!(found.config_origin.unwrap().contains("configPatches[1]"));
        let names: Vec<&str> = found.more_configs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["admin_api", "config_3"]);
        assert_eq!(found.more_configs[0].config["strip_authorization"], true);
        assert!(found.more_configs[1].origin.contains("configPatches[4]"));
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
