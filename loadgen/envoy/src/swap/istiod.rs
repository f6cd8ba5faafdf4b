//! The live switch with Istio's real push: the pair's `TrafficExtension` is served by istiod
//! ([`crate::istiod`]) to a sidecar Envoy; a switch rewrites the manifest in istiod's config
//! directory (`lua:` replaced by `wasm:`, the one edit a migration is) and asks istiod to read
//! the directory again (`POST /reload`, which applies the change to its config store as a
//! Kubernetes watch event would); istiod then pushes to the sidecar as it pushes in a cluster
//! (Lua inline in the listener, LDS; Wasm through ECDS). The last switch is to a manifest Istio's
//! validation rejects (neither `lua` nor `wasm`): istiod refuses it and the Lua twin must keep
//! serving.

use serde_json::Value;

use filterbench_model::{Catalogue, Pair, TwinKind};

use crate::envoy::{Envoy, EnvoyOptions};
use crate::istiod::{free_port, write_workload, Istiod, Workload};
use crate::k8s::crd::CrdSchemas;
use crate::k8s::{self, Api, ManifestOptions, WasmUrl};
use crate::verify::Rig;
use crate::verify_istiod::{start_sidecar, ControlPlane, Served};
use crate::{Error, Result};

use super::ecds::Twin;

/// The namespace of the switched workload.
const NAMESPACE: &str = "filterbench-swap";

/// istiod, its config directory and the three manifests a run switches between.
pub struct IstiodSlot {
    pub istiod: Istiod,
    served: Served,
    lua: String,
    wasm: String,
    invalid: String,
    /// What istiod answered to the last switch it refused (its validation message).
    pub refused: Option<String>,
    _scratch: crate::scratch::Scratch,
}

impl IstiodSlot {
    /// Writes the pair's TrafficExtension manifests (validated against Istio's CRDs; the invalid
    /// one is invalid by design) and its workload, starts istiod on the directory with the Lua
    /// manifest in place.
    pub fn new(
        rig: &Rig,
        catalogue: &Catalogue,
        pair: &Pair,
        control_plane: &ControlPlane,
    ) -> Result<IstiodSlot> {
        let k8s_error = |e: k8s::Error| Error::Envoy(format!("pair {}: {e}", pair.name));
        let scratch = crate::scratch::Scratch::new("istiod")?;
        let config_dir = scratch.path().join("config");
        std::fs::create_dir_all(&config_dir)?;
        let module = catalogue
            .checked_twin(&pair.name, TwinKind::Wasm)?
            .artefact
            .canonicalize()?;
        let mut opts = ManifestOptions::new(&pair.name);
        opts.api = Api::TrafficExtension;
        opts.namespace = Some(NAMESPACE.into());
        opts.wasm_url = Some(
            WasmUrl::parse(&format!("file://{}", module.display()))
                .map_err(|e| Error::Envoy(format!("pair {}: {e}", pair.name)))?,
        );
        let bundle = k8s::generate(catalogue, &opts).map_err(k8s_error)?;
        let (lua, wasm) = bundle.manifests();
        let crds = CrdSchemas::load_default().map_err(k8s_error)?;
        let lua_json = crds
            .validate_yaml("the Lua manifest", lua)
            .map_err(k8s_error)?;
        crds.validate_yaml("the Wasm manifest", wasm)
            .map_err(k8s_error)?;
        let invalid = invalid_manifest(&lua_json);
        let workload = Workload {
            name: "filterbench-swap".into(),
            namespace: NAMESPACE.into(),
            labels: bundle.target.selector.clone(),
            port: free_port()?,
        };
        write_workload(&config_dir, &workload, rig.services().echo_port)?;
        let manifest = config_dir.join("trafficextension.yaml");
        write_atomically(&manifest, lua)?;
        let istiod = Istiod::start(&control_plane.bin, &config_dir)
            .map_err(|e| Error::Envoy(format!("pair {}: {e}", pair.name)))?;
        Ok(IstiodSlot {
            istiod,
            served: Served { workload, manifest },
            lua: lua.to_string(),
            wasm: wasm.to_string(),
            invalid,
            refused: None,
            _scratch: scratch,
        })
    }

    /// Starts the sidecar istiod configures, with `options`; answers it and its inbound address.
    pub fn start_sidecar(
        &mut self,
        rig: &Rig,
        control_plane: &ControlPlane,
        options: &EnvoyOptions,
    ) -> Result<(Envoy, std::net::SocketAddr)> {
        let ports = Default::default();
        start_sidecar(
            rig,
            &mut self.istiod,
            control_plane,
            &self.served,
            &ports,
            options,
        )
    }

    /// Puts `twin`'s manifest in istiod's directory (written beside and renamed over) and asks
    /// istiod to apply it. A manifest istiod refuses sets [`IstiodSlot::refused`] to its message;
    /// the file is then put back as it was, as a rejected `kubectl apply` leaves the cluster.
    pub fn put(&mut self, twin: Twin) -> Result<()> {
        let (yaml, previous) = match twin {
            Twin::Lua => (&self.lua, None),
            Twin::Wasm => (&self.wasm, None),
            Twin::InvalidManifest => (
                &self.invalid,
                Some(std::fs::read_to_string(&self.served.manifest)?),
            ),
            Twin::CorruptWasm => {
                return Err(Error::Envoy(
                    "the istiod switch puts an invalid manifest, not a corrupt module".into(),
                ))
            }
        };
        write_atomically(&self.served.manifest, yaml)?;
        let (status, body) = self.istiod.reload()?;
        self.refused = None;
        if status != 200 {
            self.refused = Some(body.trim().to_string());
            if let Some(previous) = previous {
                write_atomically(&self.served.manifest, &previous)?;
            }
        }
        Ok(())
    }
}

/// The Lua manifest with neither `lua` nor `wasm`: Istio's validation says "exactly one of wasm
/// or lua must be set". JSON, which is YAML.
fn invalid_manifest(lua: &Value) -> String {
    let mut invalid = lua.clone();
    if let Some(spec) = invalid["spec"].as_object_mut() {
        spec.remove("lua");
    }
    serde_json::to_string_pretty(&invalid).expect("JSON")
}

fn write_atomically(path: &std::path::Path, text: &str) -> Result<()> {
    filterbench_model::results::write_atomically(path, text.as_bytes())
        .map_err(|e| Error::Envoy(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invalid_manifest_is_the_lua_one_without_its_filter() {
        let lua = serde_json::json!({
            "apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "TrafficExtension",
            "metadata": {"name": "x", "namespace": NAMESPACE},
            "spec": {"selector": {"matchLabels": {"app": "x"}}, "lua": {"inlineCode": "--"}},
        });
        let invalid: Value = serde_json::from_str(&invalid_manifest(&lua)).unwrap();
        assert!(invalid["spec"].get("lua").is_none());
        assert!(invalid["spec"].get("wasm").is_none());
        assert_eq!(invalid["metadata"], lua["metadata"]);
        assert_eq!(invalid["spec"]["selector"], lua["spec"]["selector"]);
    }
}
