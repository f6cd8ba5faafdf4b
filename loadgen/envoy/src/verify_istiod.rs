//! "What is deployed is what was measured", with the real control plane: for one pair and one
//! Istio API, the generated manifests are served by istiod ([`crate::istiod`]: Istio's discovery
//! server built from `loadgen/istiod`, no Kubernetes) to two fresh Envoy 1.40 sidecars, one per
//! twin, and the pair's corpus is replayed through them exactly as [`crate::verify_deployed`]
//! does with the project's own translation: the twins must be equivalent, meet every expectation
//! and give the outcomes of the verified run.
//!
//! One istiod per API serves every pair and twin of a check ([`verify_deployed_istiod_all`]),
//! as one control plane serves a cluster's workloads. The config directory it reads holds, per
//! sidecar, its manifest (generated in the sidecar's own namespace, [`sidecar_namespace`]:
//! every pair's manifests select the same workload labels and the twins' manifests are the same
//! object as the Lua one) and its workload (`Sidecar` with one ingress port to the echo upstream,
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

use crate::bootstrap::ConnectionManager;
use crate::envoy::{admin_get, Envoy, EnvoyOptions};
use crate::istiod::{ads_bootstrap, free_port, write_workload, Istiod, Workload, XDS_TIMEOUT};
use crate::k8s::crd::CrdSchemas;
use crate::k8s::{self, Api, ManifestOptions, WasmUrl};
use crate::verify::{replay_corpus, Rig};
use crate::{Error, Result};

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

/// Writes what istiod reads for `pair` with `api` into `config_dir`: per twin (the Lua one and
/// the one of `kind`) its manifest (validated against Istio's CRDs, as the API server would) and
/// its workload. Answers the Lua sidecar and the twin's sidecar.
pub fn write_config(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    api: Api,
    kind: TwinKind,
    crds: &CrdSchemas,
    config_dir: &Path,
) -> Result<(Served, Served)> {
    let what = crate::verify_deployed::deployed_name(&pair.name, api, kind);
    let k8s_error = |e: k8s::Error| Error::Envoy(format!("pair {what}: {e}"));
    std::fs::create_dir_all(config_dir)?;
    let opts_for = |namespace: &str| -> Result<ManifestOptions> {
        let mut opts = ManifestOptions::new(&pair.name);
        opts.api = api;
        opts.namespace = Some(namespace.into());
        served_from_this_machine(catalogue, pair, kind, &mut opts)
            .map_err(|e| Error::Envoy(format!("pair {what}: {e}")))?;
        Ok(opts)
    };
    let mut served = Vec::new();
    for variant in ["lua", kind.id()] {
        let namespace = sidecar_namespace(&pair.name, kind, variant == "lua");
        let namespace = namespace.as_str();
        let bundle = k8s::generate(catalogue, &opts_for(namespace)?).map_err(k8s_error)?;
        let (file, yaml) = if variant == "lua" {
            (api.files().0, bundle.manifests().0)
        } else {
            bundle.twin_manifest(kind).ok_or_else(|| {
                Error::Envoy(format!("pair {what}: no {} twin to serve", kind.label()))
            })?
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
    let twin = served.pop().expect("two sidecars");
    let lua = served.pop().expect("two sidecars");
    Ok((lua, twin))
}

/// The namespace of the sidecar of `pair`'s twin of `kind` (`filterbench-<pair>-<kind>`), or
/// with `lua` of the Lua sidecar it is compared with (`filterbench-<pair>-<kind>-lua`), as a DNS
/// label (`filterbench-add-header-go-wasm-lua`). Each sidecar has its own, so that one istiod
/// serves every pair and twin: each pair's manifests select the same `app: filterbench-echo`
/// labels, and a twin's manifest is the same object as the Lua one. A name past Kubernetes' 63
/// characters keeps its first 54 and a hash of the whole.
pub fn sidecar_namespace(pair: &str, kind: TwinKind, lua: bool) -> String {
    let lua = if lua { "-lua" } else { "" };
    let name: String = format!("filterbench-{pair}-{}{lua}", kind.id())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if name.len() <= 63 {
        return name;
    }
    // FNV-1a of the whole name: distinct long names stay distinct.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}-{:08x}", &name[..54], hash as u32)
}

/// Points `opts` at the twin's artefact on this machine, where the sidecars run: a `file://`
/// URL for a proxy-wasm module (istiod turns any other URL into a remote source only
/// pilot-agent resolves), the built library's own folder for a native twin (the sidecar loads
/// it from there, as from a proxy image).
fn served_from_this_machine(
    catalogue: &Catalogue,
    pair: &Pair,
    kind: TwinKind,
    opts: &mut ManifestOptions,
) -> Result<()> {
    let artefact = catalogue
        .checked_twin(&pair.name, kind)?
        .artefact
        .canonicalize()?;
    let file_url = || {
        WasmUrl::parse(&format!("file://{}", artefact.display()))
            .map_err(|e| Error::Envoy(e.to_string()))
    };
    match kind {
        TwinKind::Wasm => opts.wasm_url = Some(file_url()?),
        TwinKind::GoWasm => opts.go_wasm_url = Some(file_url()?),
        TwinKind::Native => {
            let expected = kind.artefact_name(&pair.name);
            if artefact.file_name() != Some(std::ffi::OsStr::new(&expected)) {
                return Err(Error::Envoy(format!(
                    "{}: the native library must be named {expected} for its manifest",
                    artefact.display()
                )));
            }
            let dir = artefact.parent().expect("a file has a folder");
            opts.native_dir = Some(dir.display().to_string());
        }
    }
    if kind != TwinKind::Wasm {
        // The bundle always carries the Rust twin too: keep its module local as well.
        let rust = catalogue
            .checked_twin(&pair.name, TwinKind::Wasm)?
            .artefact
            .canonicalize()?;
        opts.wasm_url = Some(
            WasmUrl::parse(&format!("file://{}", rust.display()))
                .map_err(|e| Error::Envoy(e.to_string()))?,
        );
    }
    Ok(())
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
    options: &EnvoyOptions,
) -> Result<(Envoy, SocketAddr)> {
    let mut started = start_sidecars(rig, istiod, control_plane, &[served], call_ports, options)?;
    Ok(started.pop().expect("one sidecar"))
}

/// [`start_sidecar`] for each of `served` at once ([`Envoy::start_each`]: one compiling its Wasm
/// module does not hold the other back), in that order. On an error every sidecar started is
/// stopped.
pub fn start_sidecars(
    rig: &Rig,
    istiod: &mut Istiod,
    control_plane: &ControlPlane,
    served: &[&Served],
    call_ports: &BTreeMap<String, u16>,
    options: &EnvoyOptions,
) -> Result<Vec<(Envoy, SocketAddr)>> {
    let bootstraps: Vec<serde_json::Value> = served
        .iter()
        .map(|served| {
            ads_bootstrap(
                &served.workload,
                &control_plane.proxy_version(),
                istiod.grpc,
                rig.services(),
                call_ports,
            )
        })
        .collect();
    let started = Envoy::start_each(&rig.envoy_bin, &bootstraps, options);
    let mut sidecars = Vec::new();
    for (served, envoy) in served.iter().zip(started) {
        let envoy = envoy.map_err(|e| with_istiod(istiod, served, e))?;
        sidecars.push(wait_for_listener(istiod, served, envoy)?);
    }
    Ok(sidecars)
}

/// `e`, a failure of `served`'s sidecar, with istiod's last words (or why it died).
fn with_istiod(istiod: &mut Istiod, served: &Served, e: Error) -> Error {
    let alive = istiod.check_alive().err();
    Error::Envoy(format!(
        "sidecar {} of istiod: {e}; istiod: {}",
        served.workload.node_id(),
        alive.map_or_else(|| istiod.log_tail(5), |e| e.to_string())
    ))
}

/// Waits until `envoy`, `served`'s sidecar, has its inbound listener active and nothing warming.
fn wait_for_listener(
    istiod: &mut Istiod,
    served: &Served,
    mut envoy: Envoy,
) -> Result<(Envoy, SocketAddr)> {
    let deadline = Instant::now() + XDS_TIMEOUT;
    let port = served.workload.port;
    loop {
        envoy
            .check_alive()
            .map_err(|e| with_istiod(istiod, served, e))?;
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
            let e = Error::Envoy(format!(
                "no active listener on 127.0.0.1:{port} from istiod after {XDS_TIMEOUT:?} \
                 (Envoy: {})",
                envoy.log_tail(3)
            ));
            return Err(with_istiod(istiod, served, e));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// One pair and API served by istiod.
#[derive(Debug, Clone)]
pub struct IstiodRun {
    /// The corpus through istiod's sidecars, compared with the verified run (or, when istiod's
    /// connection manager changes the request, with [`MeshReference::reference`]); named
    /// `<pair> (<api>)`.
    pub report: PairReport,
    /// How istiod's Envoy config for each twin differs from the project's own translation of the
    /// same manifest ([`config_differences_of`]); empty when they agree.
    pub config_differences: Vec<String>,
    /// When istiod's connection manager changes the request before any filter (path
    /// normalisation): the reference the run was compared with instead of the verified run.
    pub mesh: Option<MeshReference>,
}

/// Runs `pair`'s corpus through its Lua twin and its twin of `verified.twin` as istiod serves
/// them from the `api` manifests and compares with `verified` (the report of
/// [`crate::verify::verify_twin`]); beside it, how istiod's config for each twin differs from
/// the project's own translation. [`verify_deployed_istiod_all`] for one twin.
pub fn verify_deployed_istiod(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    api: Api,
    crds: &CrdSchemas,
    control_plane: &ControlPlane,
    verified: &PairReport,
) -> Result<IstiodRun> {
    let mut runs = verify_deployed_istiod_all(
        rig,
        catalogue,
        &[(pair, verified)],
        api,
        crds,
        control_plane,
        &mut MeshReferences::default(),
        &mut |_| {},
    )?;
    Ok(runs.pop().expect("one twin, one run"))
}

/// [`verify_deployed_istiod`] for every twin of `twins` (each a pair and its twin's verified
/// run) under `api`, all served by one istiod: every twin's manifest and the Lua one beside it,
/// each sidecar in its own namespace ([`sidecar_namespace`]), are in the config directory before
/// istiod starts, as in a cluster; then each twin in turn gets two fresh sidecars (filter state
/// starts empty for each replay), told to `on_run` when its run is done. The reference runs behind
/// istiod's connection manager come from `references` when an earlier API already made them.
#[allow(clippy::too_many_arguments)]
pub fn verify_deployed_istiod_all(
    rig: &Rig,
    catalogue: &Catalogue,
    twins: &[(&Pair, &PairReport)],
    api: Api,
    crds: &CrdSchemas,
    control_plane: &ControlPlane,
    references: &mut MeshReferences,
    on_run: &mut dyn FnMut(&IstiodRun),
) -> Result<Vec<IstiodRun>> {
    let scratch = crate::scratch::Scratch::new("deployed")?;
    let config_dir = scratch.path().join("config");
    let mut served = Vec::new();
    for (pair, verified) in twins {
        served.push(write_config(
            rig,
            catalogue,
            pair,
            api,
            verified.twin,
            crds,
            &config_dir,
        )?);
    }
    let what = match twins {
        [(pair, verified)] => format!(
            "pair {}",
            crate::verify_deployed::deployed_name(&pair.name, api, verified.twin)
        ),
        _ => format!("{} deployed twins ({api})", twins.len()),
    };
    let mut istiod = Istiod::start(&control_plane.bin, &config_dir)
        .map_err(|e| Error::Envoy(format!("{what}: {e}")))?;
    let mut runs = Vec::new();
    for ((pair, verified), sidecars) in twins.iter().zip(&served) {
        let run = served_run(
            rig,
            catalogue,
            pair,
            api,
            control_plane,
            &mut istiod,
            sidecars,
            verified,
            references,
        )
        .map_err(|e| {
            let name = crate::verify_deployed::deployed_name(&pair.name, api, verified.twin);
            Error::Envoy(format!("pair {name}: {e}"))
        })?;
        on_run(&run);
        runs.push(run);
    }
    istiod.check_alive()?;
    istiod.stop();
    Ok(runs)
}

/// The reference runs behind istiod's connection manager ([`MeshReference`]) already made, by
/// pair, twin kind and settings: istiod sets the same connection manager under either API, so
/// a twin's reference is replayed once per check, not once per API.
#[derive(Debug, Default)]
pub struct MeshReferences(Vec<(String, TwinKind, ConnectionManager, Option<MeshReference>)>);

impl MeshReferences {
    /// The reference runs made.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The reference of `verified`'s twin of `pair` behind `connection_manager`: made now
    /// ([`under_connection_manager`]) unless made before.
    fn of(
        &mut self,
        rig: &Rig,
        catalogue: &Catalogue,
        pair: &Pair,
        connection_manager: &ConnectionManager,
        verified: &PairReport,
    ) -> Result<Option<MeshReference>> {
        let made = self.0.iter().find(|(p, kind, cm, _)| {
            *p == pair.name && *kind == verified.twin && cm == connection_manager
        });
        if let Some((.., reference)) = made {
            return Ok(reference.clone());
        }
        let reference =
            under_connection_manager(rig, catalogue, pair, connection_manager, verified)?;
        self.0.push((
            pair.name.clone(),
            verified.twin,
            connection_manager.clone(),
            reference.clone(),
        ));
        Ok(reference)
    }
}

/// One twin's run in [`verify_deployed_istiod_all`]: its two sidecars, started from `istiod`,
/// the corpus through them, and the comparison with `verified`.
#[allow(clippy::too_many_arguments)]
fn served_run(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    api: Api,
    control_plane: &ControlPlane,
    istiod: &mut Istiod,
    (lua, wasm): &(Served, Served),
    verified: &PairReport,
    references: &mut MeshReferences,
) -> Result<IstiodRun> {
    let kind = verified.twin;
    let corpus = Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name)?;
    let ports = rig.call_ports(&corpus.call_clusters())?;
    let options = EnvoyOptions::default();
    let mut sidecars =
        start_sidecars(rig, istiod, control_plane, &[lua, wasm], &ports, &options)?.into_iter();
    let (lua_envoy, lua_addr) = sidecars.next().expect("two sidecars");
    let (wasm_envoy, wasm_addr) = sidecars.next().expect("two sidecars");
    let (config_differences, connection_manager) =
        compare_configs(pair, api, kind, [(lua, &lua_envoy), (wasm, &wasm_envoy)])?;
    let mut envoys = [lua_envoy, wasm_envoy];
    let report = replay_corpus(
        rig,
        pair,
        &corpus,
        kind,
        &mut envoys,
        (0, lua_addr),
        (1, wasm_addr),
    )?;
    istiod.check_alive()?;
    for envoy in &mut envoys {
        envoy.stop();
    }
    let mut mesh = references.of(rig, catalogue, pair, &connection_manager, verified)?;
    let mut report = report;
    if let Some(mesh) = &mut mesh {
        mesh.set_aside_expectations(&mut report);
    }
    let reference = mesh.as_ref().map_or(verified, |m| &m.reference);
    let mut report =
        crate::verify_deployed::compare_with_verified(catalogue, pair, api, report, reference)?;
    report.served_by = Some(control_plane.describe());
    report.notes = mesh.as_ref().map(MeshReference::notes).unwrap_or_default();
    Ok(IstiodRun {
        report,
        config_differences,
        mesh,
    })
}

/// What istiod gave the Lua sidecar and the twin's (`kind`) against the project's own
/// translation of the same manifests ([`config_differences_of`]), and the connection manager
/// istiod set (the same on both sidecars, else an error).
fn compare_configs(
    pair: &Pair,
    api: Api,
    kind: TwinKind,
    sidecars: [(&Served, &Envoy); 2],
) -> Result<(Vec<String>, ConnectionManager)> {
    let twin_variant = if kind.is_proxy_wasm() {
        "wasm"
    } else {
        "native"
    };
    let mut config_differences = Vec::new();
    let mut managers = Vec::new();
    for (variant, (served, envoy)) in ["lua", twin_variant].into_iter().zip(sidecars) {
        let what = served.manifest.display().to_string();
        let text = std::fs::read_to_string(&served.manifest)?;
        let manifest = crate::k8s::crd::yaml_to_json(&what, &text)
            .map_err(|e| Error::Envoy(format!("pair {} ({api}): {e}", pair.name)))?;
        let own = crate::k8s::deployed::translate(&what, &manifest, &FileModules)
            .map_err(|e| Error::Envoy(format!("pair {} ({api}): {e}", pair.name)))?;
        let got = istiod_filter(envoy, served.workload.port, variant)?;
        config_differences.extend(config_differences_of(variant, &got, &own.http_filter));
        managers.push(got.connection_manager);
    }
    if managers[0] != managers[1] {
        return Err(Error::Envoy(format!(
            "pair {} ({api}): istiod set the two sidecars' connection managers differently: \
             lua {}, wasm {}",
            pair.name,
            managers[0].describe(),
            managers[1].describe()
        )));
    }
    Ok((config_differences, managers.swap_remove(0)))
}

/// The verified run of `pair` again, its listeners' connection managers set as istiod set its
/// sidecars' (`connection_manager`), with the scenarios whose outcomes that changes; `None` when
/// istiod set nothing that changes the request (then the verified run is the reference).
fn under_connection_manager(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    connection_manager: &ConnectionManager,
    verified: &PairReport,
) -> Result<Option<MeshReference>> {
    if connection_manager.is_plain() {
        return Ok(None);
    }
    let reference =
        crate::verify::verify_twin_under(rig, catalogue, pair, verified.twin, connection_manager)?;
    let differences =
        crate::verify_deployed::outcome_differences(catalogue, pair, verified, &reference)?;
    let changed = reference
        .results
        .iter()
        .zip(differences)
        .filter(|(_, lines)| !lines.is_empty())
        .map(|(result, lines)| {
            let (side, line) = &lines[0];
            (
                result.scenario.clone(),
                format!("{side} {} {} -> {}", line.field, line.left, line.right),
            )
        })
        .collect();
    Ok(Some(MeshReference {
        connection_manager: connection_manager.clone(),
        reference,
        changed,
        set_aside: Vec::new(),
    }))
}

/// What the twins answer behind the connection manager istiod configures, when it changes the
/// request the filters see: the reference an istiod run is compared with.
#[derive(Debug, Clone)]
pub struct MeshReference {
    /// What istiod set ([`ConnectionManager::describe`]).
    pub connection_manager: ConnectionManager,
    /// The verified run replayed through the project's own listeners with those settings; its
    /// twins must be equivalent too.
    pub reference: PairReport,
    /// The scenarios whose outcome those settings change, each with its first difference
    /// (`lua field verified -> under the settings`).
    pub changed: Vec<(String, String)>,
    /// The corpus expectations an istiod run did not hold to, as `scenario: side: expectation`:
    /// those of the [`MeshReference::changed`] scenarios, written for the request as the client
    /// sends it, not as istiod's connection manager hands it to the filters. Those scenarios'
    /// outcomes must equal [`MeshReference::reference`]'s instead, which is checked.
    pub set_aside: Vec<String>,
}

impl MeshReference {
    /// What the run's reader must know, in lines: what istiod set, what it was compared with,
    /// the scenarios it changes, and the expectations set aside for them.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!(
            "istiod's connection manager sets {}: compared with the verified twins replayed \
             behind the same settings; {} scenario(s) answer otherwise than in plain Envoy",
            self.connection_manager.describe(),
            self.changed.len(),
        )];
        notes.extend(
            self.changed
                .iter()
                .map(|(scenario, change)| format!("{scenario}: {change}")),
        );
        notes.extend(self.set_aside.iter().map(|m| {
            format!("{m} (an expectation for the request as sent, set aside under istiod)")
        }));
        notes
    }

    /// Moves the expectation misses of the [`MeshReference::changed`] scenarios out of `report`
    /// (an istiod run) into [`MeshReference::set_aside`]; every other miss stays a failure.
    pub fn set_aside_expectations(&mut self, report: &mut PairReport) {
        for result in &mut report.results {
            if !self.changed.iter().any(|(s, _)| *s == result.scenario) {
                continue;
            }
            for (side, misses) in [
                ("lua", &mut result.lua_misses),
                ("wasm", &mut result.wasm_misses),
            ] {
                self.set_aside.extend(
                    misses
                        .drain(..)
                        .map(|m| format!("{}: {side}: {m}", result.scenario)),
                );
            }
        }
    }
}

/// A `file://` module is where it says it is (what pilot-agent would hand Envoy too).
struct FileModules;

impl crate::k8s::deployed::ModuleSource for FileModules {
    fn module(&self, url: &str, _sha256: Option<&str>) -> crate::k8s::Result<PathBuf> {
        url.strip_prefix("file://")
            .map(PathBuf::from)
            .ok_or_else(|| crate::k8s::Error::Translate {
                what: format!("url {url}"),
                message: "the istiod run serves file:// modules only".into(),
            })
    }

    /// The library's path in the sidecar is a local file: the sidecars run on this machine.
    fn library(&self, path: &str) -> crate::k8s::Result<PathBuf> {
        Some(PathBuf::from(path))
            .filter(|p| p.is_file())
            .ok_or_else(|| crate::k8s::Error::Translate {
                what: format!("library {path}"),
                message: "no such file for the sidecar to load".into(),
            })
    }
}

/// What istiod gave one sidecar for its twin, from Envoy's `/config_dump`: the HTTP filters of
/// the inbound listener on `port` in order, the connection manager's settings that change the
/// request the filters see (path normalisation), and the
/// twin's filter config (for Wasm the ECDS config the listener's `config_discovery` names).
#[derive(Debug, Clone, Default)]
pub struct IstiodFilter {
    pub chain: Vec<String>,
    pub connection_manager: ConnectionManager,
    /// The twin's filter: `name` and `typed_config` as Envoy holds them.
    pub filter: Option<serde_json::Value>,
}

/// Reads [`IstiodFilter`] for the twin `variant` (`lua`, `wasm` or `native`) from `envoy`.
pub fn istiod_filter(envoy: &Envoy, port: u16, variant: &str) -> Result<IstiodFilter> {
    let (status, body) = admin_get(envoy.admin, "/config_dump")?;
    if status != 200 {
        return Err(Error::Envoy(format!(
            "admin /config_dump answered {status}"
        )));
    }
    let dump: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| Error::Envoy(format!("admin /config_dump answered non-JSON: {e}")))?;
    let configs = dump["configs"].as_array().cloned().unwrap_or_default();
    let of_type = |suffix: &str| {
        configs
            .iter()
            .find(|c| c["@type"].as_str().is_some_and(|t| t.ends_with(suffix)))
            .cloned()
            .unwrap_or_default()
    };
    let listeners = of_type(".ListenersConfigDump");
    let ecds = of_type(".EcdsConfigDump");
    let mut found = IstiodFilter::default();
    let listener = listeners["dynamic_listeners"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| &l["active_state"]["listener"])
        .find(|l| l["address"]["socket_address"]["port_value"].as_u64() == Some(u64::from(port)));
    let Some(listener) = listener else {
        return Ok(found);
    };
    let hcm = listener["filter_chains"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["filters"].as_array().into_iter().flatten())
        .find(|f| f["name"] == "envoy.filters.network.http_connection_manager")
        .map(|f| f["typed_config"].clone())
        .unwrap_or_default();
    found.connection_manager = ConnectionManager::of(&hcm);
    let filters = hcm["http_filters"].as_array().cloned().unwrap_or_default();
    found.chain = filters
        .iter()
        .map(|f| f["name"].as_str().unwrap_or("?").to_string())
        .collect();
    let suffix = match variant {
        "lua" => ".lua.v3.Lua",
        "native" => ".dynamic_modules.v3.DynamicModuleFilter",
        _ => ".wasm.v3.Wasm",
    };
    let is_twin = |f: &serde_json::Value| {
        let ty = f["typed_config"]["@type"].as_str().unwrap_or("");
        let discovered = f["config_discovery"]["type_urls"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str())
            .any(|t| t.ends_with(suffix));
        discovered || ty.ends_with(suffix)
    };
    found.filter = filters.iter().find(|f| is_twin(f)).map(|f| {
        if f.get("config_discovery").is_some() {
            let name = f["name"].as_str().unwrap_or("");
            ecds["ecds_filters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| &e["ecds_filter"])
                .find(|e| e["name"] == name)
                .cloned()
                .unwrap_or_else(|| f.clone())
        } else {
            f.clone()
        }
    });
    Ok(found)
}

/// Lines saying how istiod's Envoy config for a twin differs from the project's own translation
/// of the same manifest (`own`: [`crate::k8s::deployed::DeployedFilter`]'s `http_filter`): the
/// filter's place in the chain, each differing leaf of its typed config, and the connection
/// manager's path normalisation (the own listener does none).
pub fn config_differences_of(
    variant: &str,
    istiod: &IstiodFilter,
    own: &serde_json::Value,
) -> Vec<String> {
    let mut lines = Vec::new();
    let Some(filter) = &istiod.filter else {
        return vec![format!(
            "{variant}: istiod's listener has no {variant} filter (chain: {})",
            istiod.chain.join(", ")
        )];
    };
    let name = filter["name"].as_str().unwrap_or("?");
    let at = istiod.chain.iter().position(|n| n == name);
    let own_chain = [
        own["name"].as_str().unwrap_or("?"),
        "envoy.filters.http.router",
    ];
    if istiod.chain != own_chain {
        lines.push(format!(
            "{variant}: chain: istiod [{}] (the filter {}), own [{}]",
            istiod.chain.join(", "),
            at.map_or("absent".into(), |i| format!("at {}", i + 1)),
            own_chain.join(", ")
        ));
    }
    let mut leaves = Vec::new();
    diff_json(
        "typed_config",
        &filter["typed_config"],
        &own["typed_config"],
        &mut leaves,
    );
    for (path, istiod_value, own_value) in leaves {
        lines.push(format!(
            "{variant}: {path}: istiod {istiod_value}, own {own_value}"
        ));
    }
    if !istiod.connection_manager.is_plain() {
        lines.push(format!(
            "{variant}: the connection manager sets {} (the mesh's default pathNormalization); \
             the own listener does not",
            istiod.connection_manager.describe()
        ));
    }
    lines
}

/// A JSON key as Envoy's config dump spells it: protobuf JSON accepts `defaultSourceCode` for
/// `default_source_code` (an EnvoyFilter patch is often written so), the dump always says the
/// latter.
fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() && !key.starts_with('@') {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The leaves where `a` and `b` differ, as (path, a, b); absent is `-`. Object keys are compared
/// in snake case ([`snake_case`]).
fn diff_json(
    path: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
    out: &mut Vec<(String, String, String)>,
) {
    use serde_json::Value;
    let show = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::String(s) if s.len() > 60 => format!(
            "{:?}... ({} bytes)",
            &s[..s.floor_char_boundary(40)],
            s.len()
        ),
        other => other.to_string(),
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let x: BTreeMap<String, &Value> = x.iter().map(|(k, v)| (snake_case(k), v)).collect();
            let y: BTreeMap<String, &Value> = y.iter().map(|(k, v)| (snake_case(k), v)).collect();
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let null = Value::Null;
                diff_json(
                    &format!("{path}.{k}"),
                    x.get(k).copied().unwrap_or(&null),
                    y.get(k).copied().unwrap_or(&null),
                    out,
                );
            }
        }
        _ if a != b => out.push((path.to_string(), show(a), show(b))),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use filterbench_model::equivalence::ScenarioReport;
    use serde_json::json;

    fn scenario(name: &str, miss: &str) -> ScenarioReport {
        ScenarioReport {
            scenario: name.into(),
            diff: Vec::new(),
            lua_misses: vec![miss.into()],
            wasm_misses: vec![miss.into()],
            lua: Default::default(),
            wasm: Default::default(),
        }
    }

    #[test]
    fn only_the_scenarios_the_connection_manager_changes_have_their_expectations_set_aside() {
        let miss = "upstream.header[x-api-version]: expected (absent), got \"1\"";
        let mut mesh = MeshReference {
            connection_manager: ConnectionManager {
                normalize_path: true,
                ..ConnectionManager::default()
            },
            reference: PairReport::new("path_regex", 0, 0, Vec::new()),
            changed: vec![(
                "percent_encoded_digit".into(),
                "lua upstream.path \"/api/v%31/\" -> \"/api/v1/\"".into(),
            )],
            set_aside: Vec::new(),
        };
        let mut report = PairReport::new(
            "path_regex (trafficextension)",
            2,
            2,
            vec![
                scenario("percent_encoded_digit", miss),
                scenario("plain_v2", miss),
            ],
        );
        mesh.set_aside_expectations(&mut report);
        assert_eq!(
            mesh.set_aside,
            vec![
                format!("percent_encoded_digit: lua: {miss}"),
                format!("percent_encoded_digit: wasm: {miss}"),
            ]
        );
        let report = PairReport::new("p", 2, 2, report.results);
        assert!(
            !report.equivalent,
            "the other scenario's misses stay failures"
        );
        assert_eq!(report.failures.len(), 1);
        assert_eq!(report.failures[0].scenario, "plain_v2");
    }

    #[test]
    fn sidecar_namespaces_are_dns_labels_one_per_pair_twin_and_side() {
        assert_eq!(
            sidecar_namespace("add_header", TwinKind::GoWasm, true),
            "filterbench-add-header-go-wasm-lua"
        );
        assert_eq!(
            sidecar_namespace("add_header", TwinKind::Wasm, false),
            "filterbench-add-header-wasm"
        );
        let a = sidecar_namespace(&"a".repeat(70), TwinKind::Native, true);
        let b = sidecar_namespace(&format!("{}b", "a".repeat(69)), TwinKind::Native, true);
        for name in [&a, &b] {
            assert_eq!(name.len(), 63, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
        }
        assert_ne!(a, b, "long names stay distinct");
    }

    #[test]
    fn config_differences_name_the_chain_the_leaves_and_path_normalisation() {
        let istiod = IstiodFilter {
            chain: vec![
                "envoy.filters.http.fault".into(),
                "envoy.filters.http.lua".into(),
                "envoy.filters.http.router".into(),
            ],
            connection_manager: ConnectionManager {
                normalize_path: true,
                ..ConnectionManager::default()
            },
            filter: Some(json!({
                "name": "envoy.filters.http.lua",
                "typed_config": { "@type": "t", "default_source_code": { "inline_string": "a" } },
            })),
        };
        // The own translation keeps the EnvoyFilter's camelCase: the same config.
        let same = json!({
            "name": "envoy.filters.http.lua",
            "typed_config": { "@type": "t", "defaultSourceCode": { "inlineString": "a" } },
        });
        let lines = config_differences_of("lua", &istiod, &same);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(lines[0].contains("(the filter at 2)"), "{lines:#?}");
        assert!(lines[1].contains("normalize_path: true"), "{lines:#?}");
        let other = json!({
            "name": "envoy.filters.http.lua",
            "typed_config": { "@type": "t", "default_source_code": { "inline_string": "b" } },
        });
        let lines = config_differences_of("lua", &istiod, &other);
        assert!(
            lines.iter().any(|l| l
                == "lua: typed_config.default_source_code.inline_string: istiod \"a\", own \"b\""),
            "{lines:#?}"
        );
    }
}
