//! Envoy bootstrap generation: one listener per variant (baseline: router only; Lua; Wasm on V8;
//! a native twin as an Envoy dynamic module),
//! all with the same route to the echo upstream, the pair's configuration in the route metadata
//! (for Lua) and in the plugin configuration (for Wasm), and an `auth` cluster for filters that
//! call out, plus one cluster per name the call scripts give ([`bootstrap_with_calls`]; a scripted
//! `auth` replaces the built-in one). Everything binds 127.0.0.1, port 0 (Envoy picks; the admin API tells us which).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use filterbench_model::catalogue::LUA_FILTER_NAME;

/// What runs in a listener's filter chain before the router.
#[derive(Debug, Clone)]
pub enum ListenerFilter {
    /// No filter: the router only.
    Base,
    /// `envoy.filters.http.lua` with this script, inline, as Istio's EnvoyFilter would give it.
    Lua { source: String },
    /// `envoy.filters.http.wasm` on V8 with this module file (a Rust or a Go proxy-wasm twin).
    Wasm { module: PathBuf },
    /// `envoy.filters.http.dynamic_modules` with this shared library (a native twin).
    Native { module: PathBuf },
    /// An HTTP filter as Istio gives it to the proxy for a manifest
    /// ([`crate::k8s::deployed`]): the filter verbatim, and the route's `filter_metadata` only
    /// when the manifest sets one (the listener's `config` is then not used).
    Deployed {
        /// `lua` or `wasm`.
        kind: &'static str,
        http_filter: Value,
        route_metadata: Option<Value>,
    },
}

impl From<crate::k8s::deployed::DeployedFilter> for ListenerFilter {
    fn from(d: crate::k8s::deployed::DeployedFilter) -> ListenerFilter {
        ListenerFilter::Deployed {
            kind: d.variant,
            http_filter: d.http_filter,
            route_metadata: d.route_metadata,
        }
    }
}

impl ListenerFilter {
    pub fn kind(&self) -> &'static str {
        match self {
            ListenerFilter::Base => "base",
            ListenerFilter::Lua { .. } => "lua",
            ListenerFilter::Wasm { .. } => "wasm",
            ListenerFilter::Native { .. } => "native",
            ListenerFilter::Deployed { kind, .. } => kind,
        }
    }
}

/// What a control plane sets on every listener's HTTP connection manager that changes the
/// request a filter sees. The project's own listeners set none of it; istiod's sidecars
/// normalise paths (the mesh's default `pathNormalization: BASE` gives `normalize_path: true`),
/// so the corpus is also replayed under istiod's settings to know what the filters answer there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionManager {
    /// `normalize_path`: RFC 3986 normalisation of the path before any filter sees it.
    pub normalize_path: bool,
    /// `merge_slashes`: `//` becomes `/` before any filter sees it.
    pub merge_slashes: bool,
    /// `path_with_escaped_slashes_action`, when set (`UNESCAPE_AND_REDIRECT`, ...).
    pub escaped_slashes: Option<String>,
}

impl ConnectionManager {
    /// Read from an HTTP connection manager's `typed_config` as Envoy's config dump shows it.
    pub fn of(hcm: &Value) -> ConnectionManager {
        ConnectionManager {
            normalize_path: hcm["normalize_path"].as_bool() == Some(true),
            merge_slashes: hcm["merge_slashes"].as_bool() == Some(true),
            escaped_slashes: hcm["path_with_escaped_slashes_action"]
                .as_str()
                .filter(|a| *a != "IMPLEMENTATION_SPECIFIC_DEFAULT" && *a != "KEEP_UNCHANGED")
                .map(str::to_string),
        }
    }

    /// True when nothing is set (Envoy's defaults, the project's own listeners).
    pub fn is_plain(&self) -> bool {
        *self == ConnectionManager::default()
    }

    /// What is set, as the config spells it (`normalize_path: true, merge_slashes: true`).
    pub fn describe(&self) -> String {
        let mut set = Vec::new();
        if self.normalize_path {
            set.push("normalize_path: true".to_string());
        }
        if self.merge_slashes {
            set.push("merge_slashes: true".to_string());
        }
        if let Some(action) = &self.escaped_slashes {
            set.push(format!("path_with_escaped_slashes_action: {action}"));
        }
        if set.is_empty() {
            "Envoy's defaults".into()
        } else {
            set.join(", ")
        }
    }

    /// Sets these on every HTTP connection manager of `bootstrap`'s static listeners.
    pub fn apply(&self, bootstrap: &mut Value) {
        let Some(listeners) = bootstrap["static_resources"]["listeners"].as_array_mut() else {
            return;
        };
        let managers = listeners
            .iter_mut()
            .filter_map(|l| l["filter_chains"].as_array_mut())
            .flatten()
            .filter_map(|c| c["filters"].as_array_mut())
            .flatten()
            .filter(|f| f["name"] == "envoy.filters.network.http_connection_manager");
        for manager in managers {
            let config = &mut manager["typed_config"];
            if self.normalize_path {
                config["normalize_path"] = json!(true);
            }
            if self.merge_slashes {
                config["merge_slashes"] = json!(true);
            }
            if let Some(action) = &self.escaped_slashes {
                config["path_with_escaped_slashes_action"] = json!(action);
            }
        }
    }
}

/// One listener of the bootstrap.
#[derive(Debug, Clone)]
pub struct ListenerSpec {
    /// The listener's name (the admin API reports its port under it).
    pub name: String,
    /// The pair whose filter (and configuration) this listener runs.
    pub pair: String,
    pub config: Value,
    pub filter: ListenerFilter,
}

/// Where the project's loopback services listen.
#[derive(Debug, Clone, Copy)]
pub struct Services {
    pub echo_port: u16,
    pub auth_port: u16,
}

/// The bootstrap for these listeners.
pub fn bootstrap(listeners: &[ListenerSpec], services: Services) -> Value {
    bootstrap_with_calls(listeners, services, &BTreeMap::new())
}

/// [`bootstrap`] with a STATIC cluster per scripted call cluster, pointing at that cluster's
/// mock service port; a scripted `auth` replaces the built-in auth cluster.
pub fn bootstrap_with_calls(
    listeners: &[ListenerSpec],
    services: Services,
    call_clusters: &BTreeMap<String, u16>,
) -> Value {
    let mut clusters = vec![cluster("echo", services.echo_port)];
    if !call_clusters.contains_key("auth") {
        clusters.push(cluster("auth", services.auth_port));
    }
    clusters.extend(
        call_clusters
            .iter()
            .filter(|(name, _)| name.as_str() != "echo")
            .map(|(name, port)| cluster(name, *port)),
    );
    json!({
        "admin": { "address": socket(0) },
        "static_resources": {
            "listeners": listeners.iter().map(listener).collect::<Vec<_>>(),
            "clusters": clusters,
        },
        "layered_runtime": { "layers": [ { "name": "static", "static_layer": {} } ] },
    })
}

fn socket(port: u16) -> Value {
    json!({ "socket_address": { "address": "127.0.0.1", "port_value": port } })
}

fn cluster(name: &str, port: u16) -> Value {
    json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [ { "lb_endpoints": [ { "endpoint": { "address": socket(port) } } ] } ],
        },
    })
}

/// The `envoy.filters.http.wasm` filter (V8) running `module`, its plugin configuration the
/// `StringValue` `configuration`, handed to the module as it is.
pub fn wasm_http_filter(name: &str, module: &Path, configuration: &str) -> Value {
    json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": name,
                "root_id": "",
                "vm_config": {
                    "vm_id": name,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": { "local": { "filename": module.display().to_string() } },
                },
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": configuration,
                },
                "fail_open": false,
                // Without it Envoy turns a Pause from on_http_request_headers into "stop all
                // iteration" and the body callbacks never run (body_rewrite would hang).
                "allow_on_headers_stop_iteration": true,
            },
        },
    })
}

/// The `envoy.filters.http.dynamic_modules` filter running the filter `filter_name` of the
/// shared library `module` (loaded by its path), its configuration the `StringValue`
/// `configuration`, handed to the module's filter-config callback as it is.
pub fn native_http_filter(filter_name: &str, module: &Path, configuration: &str) -> Value {
    json!({
        "name": "envoy.filters.http.dynamic_modules",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter",
            "dynamic_module_config": {
                "module": { "local": { "filename": module.display().to_string() } },
            },
            "filter_name": filter_name,
            "filter_config": {
                "@type": "type.googleapis.com/google.protobuf.StringValue",
                "value": configuration,
            },
        },
    })
}

fn listener(spec: &ListenerSpec) -> Value {
    let mut http_filters = Vec::new();
    let route_metadata = match &spec.filter {
        ListenerFilter::Deployed { route_metadata, .. } => route_metadata.clone(),
        _ => Some(json!({ LUA_FILTER_NAME: spec.config })),
    };
    match &spec.filter {
        ListenerFilter::Base => {}
        ListenerFilter::Deployed { http_filter, .. } => http_filters.push(http_filter.clone()),
        ListenerFilter::Lua { source } => http_filters.push(json!({
            "name": LUA_FILTER_NAME,
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
                "default_source_code": { "inline_string": source },
            },
        })),
        ListenerFilter::Wasm { module } => http_filters.push(wasm_http_filter(
            &spec.pair,
            module,
            &spec.config.to_string(),
        )),
        ListenerFilter::Native { module } => http_filters.push(native_http_filter(
            &spec.pair,
            module,
            &spec.config.to_string(),
        )),
    }
    http_filters.push(json!({
        "name": "envoy.filters.http.router",
        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
    }));
    let mut route = json!({
        "match": { "prefix": "/" },
        "route": { "cluster": "echo", "timeout": "8s" },
    });
    if let Some(metadata) = route_metadata {
        route["metadata"] = json!({ "filter_metadata": metadata });
    }
    json!({
        "name": spec.name,
        "address": socket(0),
        "filter_chains": [ { "filters": [ {
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": spec.name,
                "codec_type": "AUTO",
                // The filters decide about request ids, not Envoy.
                "generate_request_id": false,
                "preserve_external_request_id": true,
                "route_config": {
                    "name": "routes",
                    "virtual_hosts": [ {
                        "name": "all",
                        "domains": ["*"],
                        "routes": [ route ],
                    } ],
                },
                "http_filters": http_filters,
            },
        } ] } ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_planes_connection_manager_settings_reach_every_listener() {
        let istiod = json!({
            "normalize_path": true,
            "path_with_escaped_slashes_action": "KEEP_UNCHANGED",
            "http_filters": [],
        });
        let cm = ConnectionManager::of(&istiod);
        assert_eq!(
            cm,
            ConnectionManager {
                normalize_path: true,
                ..ConnectionManager::default()
            }
        );
        assert_eq!(cm.describe(), "normalize_path: true");
        assert!(ConnectionManager::of(&json!({})).is_plain());
        let specs: Vec<ListenerSpec> = ["base", "lua"]
            .into_iter()
            .map(|name| ListenerSpec {
                name: name.into(),
                pair: "path_regex".into(),
                config: json!({}),
                filter: ListenerFilter::Base,
            })
            .collect();
        let services = Services {
            echo_port: 1,
            auth_port: 2,
        };
        let mut b = bootstrap(&specs, services);
        let plain = b.clone();
        ConnectionManager::default().apply(&mut b);
        assert_eq!(b, plain, "Envoy's defaults change nothing");
        cm.apply(&mut b);
        for listener in b["static_resources"]["listeners"].as_array().unwrap() {
            let hcm = &listener["filter_chains"][0]["filters"][0]["typed_config"];
            assert_eq!(hcm["normalize_path"], true);
            assert!(hcm.get("merge_slashes").is_none());
        }
    }

    #[test]
    fn every_variant_gets_the_same_route_and_its_own_filter() {
        let config = json!({"requests_per_window": 5});
        let specs: Vec<ListenerSpec> = [
            ListenerFilter::Base,
            ListenerFilter::Lua {
                source: "-- lua".into(),
            },
            ListenerFilter::Wasm {
                module: "/m.wasm".into(),
            },
            ListenerFilter::Native {
                module: "/m.so".into(),
            },
        ]
        .into_iter()
        .map(|filter| ListenerSpec {
            name: filter.kind().into(),
            pair: "rate_limit".into(),
            config: config.clone(),
            filter,
        })
        .collect();
        let b = bootstrap(
            &specs,
            Services {
                echo_port: 1,
                auth_port: 2,
            },
        );
        let listeners = b["static_resources"]["listeners"].as_array().unwrap();
        assert_eq!(listeners.len(), 4);
        let hcm = |i: usize| &listeners[i]["filter_chains"][0]["filters"][0]["typed_config"];
        for i in 0..4 {
            assert_eq!(hcm(i)["route_config"], hcm(0)["route_config"]);
        }
        let filters = |i: usize| hcm(i)["http_filters"].as_array().unwrap().clone();
        assert_eq!(filters(0).len(), 1);
        assert_eq!(
            filters(1)[0]["typed_config"]["default_source_code"]["inline_string"],
            "-- lua"
        );
        let wasm = &filters(2)[0]["typed_config"]["config"];
        assert_eq!(wasm["vm_config"]["runtime"], "envoy.wasm.runtime.v8");
        assert_eq!(
            wasm["configuration"]["value"],
            r#"{"requests_per_window":5}"#
        );
        let native = &filters(3)[0]["typed_config"];
        assert_eq!(
            native["dynamic_module_config"]["module"]["local"]["filename"],
            "/m.so"
        );
        assert_eq!(native["filter_name"], "rate_limit");
        assert_eq!(
            native["filter_config"]["value"],
            r#"{"requests_per_window":5}"#
        );
        assert_eq!(
            hcm(1)["route_config"]["virtual_hosts"][0]["routes"][0]["metadata"]["filter_metadata"]
                [LUA_FILTER_NAME],
            config
        );
    }
}
