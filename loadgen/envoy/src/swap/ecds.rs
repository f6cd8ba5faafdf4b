//! The swappable filter slot: an HTTP filter whose configuration Envoy discovers through ECDS
//! from a file (`config_discovery` with a `path_config_source` and a `watched_directory`), the
//! file holding a `DiscoveryResponse` with one `TypedExtensionConfig` (the Lua twin's or the Wasm
//! twin's filter configuration, both type URLs allowed in the slot's `type_urls`). Switching twins
//! is writing the next file beside the watched one and renaming it over it: Envoy only reacts to
//! moves in the watched directory, and a rename is atomic, so Envoy never reads half a file.
//!
//! The twins' filter configurations are taken from the project's generated bootstrap
//! ([`crate::bootstrap`]) so the slot runs exactly what the load comparison measures. Admin
//! `/stats` readings ([`SlotStats`]) say what Envoy did with each file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::{json, Value};

use filterbench_model::catalogue::LUA_FILTER_NAME;

use crate::bootstrap::{bootstrap, ListenerFilter, ListenerSpec, Services};
use crate::envoy::admin_get;
use crate::{Error, Result};

/// The slot's filter name: ECDS's resource name, and the `extension_config_discovery` stats'.
pub const SLOT: &str = "filterbench.swap";
/// The listener's name (and the HTTP connection manager's stat prefix).
pub const LISTENER: &str = "swap";
pub const LUA_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua";
pub const WASM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const SLOT_FILE: &str = "slot.json";

/// What the slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Twin {
    Lua,
    Wasm,
    /// The Wasm twin's configuration pointing at a truncated copy of its module.
    CorruptWasm,
    /// Through istiod: the pair's TrafficExtension with neither `lua` nor `wasm`, which Istio's
    /// validation rejects.
    InvalidManifest,
}

impl Twin {
    pub fn name(self) -> &'static str {
        match self {
            Twin::Lua => "lua",
            Twin::Wasm => "wasm",
            Twin::CorruptWasm => "corrupt_wasm",
            Twin::InvalidManifest => "invalid_manifest",
        }
    }
}

/// The directory Envoy watches and the twins' filter configurations.
pub struct Slot {
    pub dir: crate::scratch::Scratch,
    lua: Value,
    wasm: Value,
    corrupt: Value,
    /// Bumped for every file written (the `version_info`).
    version: u64,
}

impl Slot {
    /// A slot for the pair of these listener specs (one Lua, one Wasm), holding `first`.
    pub fn new(specs: &[ListenerSpec], first: Twin) -> Result<Slot> {
        let dir = crate::scratch::Scratch::new("ecds")
            .map_err(|e| Error::Envoy(format!("cannot create the ECDS directory: {e}")))?;
        let typed = |kind: &str| -> Result<(Value, Option<PathBuf>)> {
            let spec = specs
                .iter()
                .find(|s| s.filter.kind() == kind)
                .ok_or_else(|| Error::Envoy(format!("no {kind} twin to put in the slot")))?;
            let module = match &spec.filter {
                ListenerFilter::Wasm { module } => Some(module.clone()),
                _ => None,
            };
            let b = bootstrap(
                std::slice::from_ref(spec),
                Services {
                    echo_port: 1,
                    auth_port: 1,
                },
            );
            Ok((http_filters(&b)[0]["typed_config"].clone(), module))
        };
        let (lua, _) = typed("lua")?;
        let (wasm, module) = typed("wasm")?;
        let module = module.expect("a Wasm spec has a module");
        let bytes = std::fs::read(&module)
            .map_err(|e| Error::Envoy(format!("{}: {e}", module.display())))?;
        // Valid magic and version, then cut off mid-section: what a botched copy would leave.
        let broken = dir.path().join("corrupt.wasm");
        std::fs::write(&broken, &bytes[..(bytes.len() / 2).max(8)])
            .map_err(|e| Error::Envoy(format!("{}: {e}", broken.display())))?;
        let mut corrupt = wasm.clone();
        corrupt["config"]["vm_config"]["code"]["local"]["filename"] =
            broken.display().to_string().into();
        corrupt["config"]["vm_config"]["vm_id"] = "corrupt".into();
        let mut slot = Slot {
            dir,
            lua,
            wasm,
            corrupt,
            version: 0,
        };
        slot.put(first)?;
        Ok(slot)
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join(SLOT_FILE)
    }

    /// Writes the twin's configuration beside the slot file and renames it over the slot file.
    pub fn put(&mut self, twin: Twin) -> Result<()> {
        self.version += 1;
        let typed_config = match twin {
            Twin::Lua => &self.lua,
            Twin::Wasm => &self.wasm,
            Twin::CorruptWasm => &self.corrupt,
            Twin::InvalidManifest => {
                return Err(Error::Envoy(
                    "the file slot puts a corrupt module, not a manifest".into(),
                ))
            }
        };
        let response = json!({
            "version_info": self.version.to_string(),
            "resources": [ {
                "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
                "name": SLOT,
                "typed_config": typed_config,
            } ],
        });
        let tmp = self
            .dir
            .path()
            .join(format!(".{SLOT_FILE}.{}", self.version));
        std::fs::write(&tmp, serde_json::to_vec_pretty(&response).expect("JSON"))
            .map_err(|e| Error::Envoy(format!("{}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, self.path()).map_err(|e| {
            Error::Envoy(format!(
                "renaming {} to {}: {e}",
                tmp.display(),
                self.path().display()
            ))
        })
    }
}

fn http_filters(bootstrap: &Value) -> &Value {
    &bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        ["http_filters"]
}

/// The bootstrap: the project's listener for the Lua twin, its filter replaced by the ECDS slot
/// (the pair's configuration stays in the route metadata, also under the slot's name, which is
/// the filter name the Lua twin looks its metadata up under), and the `node` ECDS requires.
pub fn slot_bootstrap(lua_spec: &ListenerSpec, slot: &Slot, services: Services) -> Value {
    let mut spec = lua_spec.clone();
    spec.name = LISTENER.into();
    let mut b = bootstrap(std::slice::from_ref(&spec), services);
    b["node"] = json!({ "id": "filterbench-swap", "cluster": "filterbench" });
    let hcm = &mut b["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"];
    hcm["http_filters"][0] = json!({
        "name": SLOT,
        "config_discovery": {
            "config_source": {
                "path_config_source": {
                    "path": slot.path().display().to_string(),
                    "watched_directory": { "path": slot.dir.path().display().to_string() },
                },
                "resource_api_version": "V3",
            },
            "type_urls": [LUA_TYPE, WASM_TYPE],
        },
    });
    let metadata =
        &mut hcm["route_config"]["virtual_hosts"][0]["routes"][0]["metadata"]["filter_metadata"];
    let config = metadata[LUA_FILTER_NAME].clone();
    metadata[SLOT] = config;
    b
}

/// The admin `/stats` lines about the slot's discovery and the Wasm VMs, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlotStats(pub BTreeMap<String, u64>);

impl SlotStats {
    pub fn read(admin: SocketAddr) -> Result<SlotStats> {
        let (status, body) = admin_get(
            admin,
            "/stats?filter=extension_config_discovery|wasm|listener_manager.lds|filter_chains_draining",
        )?;
        if status != 200 {
            return Err(Error::Envoy(format!("admin /stats answered {status}")));
        }
        Ok(SlotStats(
            body.lines()
                .filter_map(|l| l.split_once(": "))
                .filter_map(|(n, v)| Some((n.to_string(), v.trim().parse().ok()?)))
                .collect(),
        ))
    }

    /// The slot's `extension_config_discovery` counter `what` (config_reload, config_fail, ...).
    pub fn ecds(&self, what: &str) -> u64 {
        self.0
            .iter()
            .find(|(n, _)| {
                n.starts_with("extension_config_discovery.")
                    && n.contains(SLOT)
                    && n.ends_with(&format!(".{what}"))
            })
            .map_or(0, |(_, v)| *v)
    }

    /// The listener discovery counter `what` (`update_success`, `update_rejected`, ...): how
    /// istiod's pushes of a listener (a Lua filter is inline in it) reached Envoy.
    pub fn lds(&self, what: &str) -> u64 {
        self.0
            .get(&format!("listener_manager.lds.{what}"))
            .copied()
            .unwrap_or(0)
    }

    /// Live Wasm VMs (`wasm.envoy.wasm.runtime.v8.active`).
    pub fn wasm_vms(&self) -> u64 {
        self.0
            .get("wasm.envoy.wasm.runtime.v8.active")
            .copied()
            .unwrap_or(0)
    }

    /// Everything read (the discovery counters of every filter, the listener discovery
    /// counters and the Wasm VMs), for the result file of a switch through istiod.
    pub fn all(&self) -> BTreeMap<String, u64> {
        self.0.clone()
    }

    /// The slot's ECDS stats only, for the result file.
    pub fn slot_only(&self) -> BTreeMap<String, u64> {
        self.0
            .iter()
            .filter(|(n, _)| n.contains(SLOT) || n.starts_with("wasm."))
            .map(|(n, v)| (n.clone(), *v))
            .collect()
    }
}
