//! "What is deployed is what was measured", with the real control plane: for one pair and one
//! Istio API, the generated manifests are served by istiod ([`crate::istiod`]: Istio's discovery
//! server built from `loadgen/istiod`, no Kubernetes) to two fresh Envoy 1.40 sidecars, one per
//! twin, and the pair's corpus is replayed through them exactly as [`crate::verify_deployed`]
//! does with the project's own translation: the twins must be equivalent, meet every expectation
//! and give the outcomes of the verified run.
//!
//! The config directory istiod reads holds, per twin, its manifest (generated with its own
//! namespace, `filterbench-lua` or `filterbench-wasm`, since both twins' manifests are the same
//! object) and its workload (`Sidecar` with one ingress port to the echo upstream,
//! `PeerAuthentication` `DISABLE`). What differs from a cluster, and why:
//!
//! - the Wasm URL is `file://` (the built module): istiod turns any other URL into a remote data
//!   source that only pilot-agent's fetcher resolves, and there is no agent here;
//! - the legacy `WasmPlugin` is translated into a `TrafficExtension` by the controller istiod's
//!   Kubernetes config path registers (`pilot/pkg/config/kube/extensions`), which
//!   `loadgen/istiod` wires in as Istio's tests do (a file-mode `pilot-discovery` ignores it);
//! - the clusters the filters call (`auth`, the call-script mocks) are static clusters of the
//!   Envoy bootstrap, as the own translation has them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use filterbench_model::equivalence::PairReport;
use filterbench_model::{Catalogue, Corpus, Pair, TwinKind};

use crate::envoy::{admin_get, Envoy, EnvoyOptions};
use crate::istiod::{ads_bootstrap, free_port, write_workload, Istiod, Workload, XDS_TIMEOUT};
use crate::k8s::crd::CrdSchemas;
use crate::k8s::{self, Api, ManifestOptions, WasmUrl};
use crate::verify::{replay_corpus, Rig};
use crate::{Error, Result};

/// The namespaces of the two sidecars.
pub const LUA_NAMESPACE: &str = "filterbench-lua";
pub const WASM_NAMESPACE: &str = "filterbench-wasm";

/// The istiod that serves the deployed checks: its binary and what it is.
#[derive(Debug, Clone)]
pub struct ControlPlane {
    pub bin: PathBuf,
    /// The version istiod was stamped with (`1.31-dev`).
    pub version: String,
    /// The `istio.io/istio` pseudo-version `loadgen/istiod/go.mod` pins.
    pub module_version: String,
}

impl ControlPlane {
    /// Builds istiod for the repository at `root` (`filterbench_build::istiod`; up to date after
    /// the first time) and reads what it is.
    pub fn build(root: &Path) -> Result<ControlPlane> {
        let bin = filterbench_build::istiod::build_istiod(root)
            .map_err(|e| Error::Envoy(format!("building istiod: {e}")))?;
        let version = crate::istiod::istiod_version(&bin)?;
        let go_mod_path = filterbench_build::istiod::istiod_module_dir(root).join("go.mod");
        let go_mod = std::fs::read_to_string(&go_mod_path)
            .map_err(|e| Error::Envoy(format!("{}: {e}", go_mod_path.display())))?;
        let module_version =
            filterbench_build::istiod::pinned_istio_version(&go_mod).ok_or_else(|| {
                Error::Envoy(format!(
                    "{}: no `istio.io/istio` requirement",
                    go_mod_path.display()
                ))
            })?;
        Ok(ControlPlane {
            bin,
            version,
            module_version,
        })
    }

    /// `istiod 1.31-dev (istio/istio eed52ebb66ad)`, for reports.
    pub fn describe(&self) -> String {
        let commit = filterbench_build::istiod::pseudo_version_commit(&self.module_version)
            .unwrap_or(&self.module_version);
        format!("istiod {} (istio/istio {commit})", self.version)
    }

    /// The `ISTIO_VERSION` the sidecars announce: istiod's own (`1.31-dev` gives `1.31.0`).
    fn proxy_version(&self) -> String {
        let numeric: String = self
            .version
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        match numeric.trim_end_matches('.').split('.').count() {
            2 => format!("{}.0", numeric.trim_end_matches('.')),
            _ => numeric.trim_end_matches('.').to_string(),
        }
    }
}

/// One twin's sidecar: its workload and the manifest istiod serves it.
#[derive(Debug, Clone)]
pub struct Served {
    pub workload: Workload,
    /// The manifest file in the config directory.
    pub manifest: PathBuf,
}

/// Writes what istiod reads for `pair` with `api` into `config_dir`: per twin its manifest
/// (validated against Istio's CRDs, as the API server would) and its workload. Answers the Lua
/// sidecar and the Wasm sidecar.
pub fn write_config(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    api: Api,
    crds: &CrdSchemas,
    config_dir: &Path,
) -> Result<(Served, Served)> {
    let k8s_error = |e: k8s::Error| Error::Envoy(format!("pair {} ({api}): {e}", pair.name));
    std::fs::create_dir_all(config_dir)?;
    let module = catalogue
        .checked_twin(&pair.name, TwinKind::Wasm)?
        .artefact
        .canonicalize()?;
    let url = WasmUrl::parse(&format!("file://{}", module.display()))
        .map_err(|e| Error::Envoy(format!("pair {} ({api}): {e}", pair.name)))?;
    let mut served = Vec::new();
    for (variant, namespace) in [("lua", LUA_NAMESPACE), ("wasm", WASM_NAMESPACE)] {
        let mut opts = ManifestOptions::new(&pair.name);
        opts.api = api;
        opts.namespace = Some(namespace.into());
        opts.wasm_url = Some(url.clone());
        let bundle = k8s::generate(catalogue, &opts).map_err(k8s_error)?;
        let (lua_yaml, wasm_yaml) = bundle.manifests();
        let (lua_file, wasm_file) = api.files();
        let (yaml, file) = if variant == "lua" {
            (lua_yaml, lua_file)
        } else {
            (wasm_yaml, wasm_file)
        };
        let manifest = config_dir.join(format!("{namespace}-{file}"));
        crds.validate_yaml(&manifest.display().to_string(), yaml)
            .map_err(k8s_error)?;
        std::fs::write(&manifest, yaml)
            .map_err(|e| Error::Envoy(format!("{}: {e}", manifest.display())))?;
        let workload = Workload {
            name: format!("filterbench-echo-{variant}"),
            namespace: namespace.into(),
            labels: bundle.target.selector.clone(),
            port: free_port()?,
        };
        write_workload(config_dir, &workload, rig.services().echo_port)?;
        served.push(Served { workload, manifest });
    }
    let wasm = served.pop().expect("two sidecars");
    let lua = served.pop().expect("two sidecars");
    Ok((lua, wasm))
}

/// Starts a sidecar Envoy for `served` with ADS from `istiod` and waits until its inbound
/// listener is active and nothing is warming (the extension has arrived: inline Lua in LDS, Wasm
/// by ECDS). Answers the Envoy and the listener's address.
pub fn start_sidecar(
    rig: &Rig,
    istiod: &mut Istiod,
    control_plane: &ControlPlane,
    served: &Served,
    call_ports: &BTreeMap<String, u16>,
) -> Result<(Envoy, SocketAddr)> {
    let bootstrap = ads_bootstrap(
        &served.workload,
        &control_plane.proxy_version(),
        istiod.grpc,
        rig.services(),
        call_ports,
    );
    let with_istiod = |istiod: &mut Istiod, e: Error| {
        let alive = istiod.check_alive().err();
        Error::Envoy(format!(
            "sidecar {} of istiod: {e}; istiod: {}",
            served.workload.node_id(),
            alive.map_or_else(|| istiod.log_tail(5), |e| e.to_string())
        ))
    };
    let mut envoy = match Envoy::start(&rig.envoy_bin, &bootstrap, &EnvoyOptions::default()) {
        Ok(envoy) => envoy,
        Err(e) => return Err(with_istiod(istiod, e)),
    };
    let deadline = Instant::now() + XDS_TIMEOUT;
    let port = served.workload.port;
    loop {
        envoy.check_alive().map_err(|e| with_istiod(istiod, e))?;
        istiod.check_alive()?;
        let listening = admin_get(envoy.admin, "/listeners?format=json")
            .ok()
            .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
            .and_then(|json| {
                json["listener_statuses"]
                    .as_array()?
                    .iter()
                    .find(|l| {
                        l["local_address"]["socket_address"]["port_value"].as_u64()
                            == Some(u64::from(port))
                    })
                    .map(|_| ())
            })
            .is_some();
        let warming = admin_get(
            envoy.admin,
            "/stats?filter=listener_manager.total_listeners_warming",
        )
        .ok()
        .map(|(_, body)| !body.contains("total_listeners_warming: 0"))
        .unwrap_or(true);
        if listening && !warming {
            return Ok((envoy, SocketAddr::from(([127, 0, 0, 1], port))));
        }
        if Instant::now() > deadline {
            return Err(with_istiod(
                istiod,
                Error::Envoy(format!(
                    "no active listener on 127.0.0.1:{port} from istiod after {XDS_TIMEOUT:?} \
                     (Envoy: {})",
                    envoy.log_tail(3)
                )),
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Runs `pair`'s corpus through its twins as istiod serves them from the `api` manifests and
/// compares with `verified` (the report of [`crate::verify::verify_pair`]). The report is named
/// `<pair> (<api>)`.
pub fn verify_deployed_istiod(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    api: Api,
    crds: &CrdSchemas,
    control_plane: &ControlPlane,
    verified: &PairReport,
) -> Result<PairReport> {
    let scratch = crate::scratch::Scratch::new("deployed")?;
    let config_dir = scratch.path().join("config");
    let (lua, wasm) = write_config(rig, catalogue, pair, api, crds, &config_dir)?;
    let mut istiod = Istiod::start(&control_plane.bin, &config_dir)
        .map_err(|e| Error::Envoy(format!("pair {} ({api}): {e}", pair.name)))?;
    let corpus = Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name)?;
    let ports = rig.call_ports(&corpus.call_clusters())?;
    let (lua_envoy, lua_addr) = start_sidecar(rig, &mut istiod, control_plane, &lua, &ports)?;
    let (wasm_envoy, wasm_addr) = start_sidecar(rig, &mut istiod, control_plane, &wasm, &ports)?;
    let mut envoys = [lua_envoy, wasm_envoy];
    let report = replay_corpus(
        rig,
        pair,
        &corpus,
        TwinKind::Wasm,
        &mut envoys,
        (0, lua_addr),
        (1, wasm_addr),
    )?;
    istiod.check_alive()?;
    for envoy in &mut envoys {
        envoy.stop();
    }
    istiod.stop();
    crate::verify_deployed::compare_with_verified(catalogue, pair, api, report, verified)
}
