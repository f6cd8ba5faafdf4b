//! The Kubernetes/Istio side of filterbench: one pair's twins as the objects a mesh operator
//! applies, for a kind cluster (or any cluster running Istio).
//!
//! `loadgen k8s manifests --pair NAME --out DIR` writes, for the pair `NAME` of
//! `bench/catalogue.toml`, by default (`--api trafficextension`) Istio 1.30's `TrafficExtension`
//! for each twin ([`trafficextension`]):
//!
//! - `DIR/trafficextension-lua.yaml`: the Lua twin, `spec.lua.inlineCode` = a generated prelude
//!   carrying the configuration ([`luaconfig`]) then `filters-lua/NAME.lua` byte for byte;
//! - `DIR/trafficextension-wasm.yaml`: the same object with `lua:` replaced by `wasm:`;
//! - `DIR/migration.diff`: the unified diff between the two: the migration as one resource edit;
//!
//! and with `--api legacy` the pre-1.30 pair of resources:
//!
//! - `DIR/envoyfilter.yaml`: the **Lua twin** as an Istio `EnvoyFilter` (`networking.istio.io/v1alpha3`):
//!   `envoy.filters.http.lua` inserted before the router with `filters-lua/NAME.lua` inline, byte
//!   for byte, plus an `HTTP_ROUTE` merge that puts the pair's configuration into the route
//!   metadata under `envoy.filters.http.lua`, where the script reads it with
//!   `handle:metadata():get(key)` ([`envoyfilter`]);
//! - `DIR/wasmplugin.yaml`: the **Wasm twin** as an Istio `WasmPlugin` (`extensions.istio.io/v1alpha1`)
//!   with the same configuration as `pluginConfig` ([`wasmplugin`]);
//!
//! and in both cases:
//!
//! - `DIR/oci/`: the built module `target/filters-wasm/.../NAME.wasm` packaged as an OCI image
//!   layout in the Wasm OCI artifact format Istio pulls ([`oci`]);
//! - `DIR/README.txt`: how to push the image and apply one variant at a time ([`readme`]).
//!
//! [`deployed`] translates any of these manifests into the Envoy HTTP filter Istio gives the
//! proxy, so that `filterbench verify --envoy --deployed` can serve exactly what is deployed.
//! [`import`] reads the inline Lua (and its configuration) out of a user's own `EnvoyFilter` or
//! `TrafficExtension`, for `filterbench new --from-manifest`.
//!
//! Every file is written atomically (a temporary file in the same directory, then a rename), so
//! an interrupted run never leaves a half-written manifest behind.
//!
//! [`crd`] validates manifests against the `openAPIV3Schema` of Istio's own CRDs (kept in
//! `loadgen/istio-crds/`), translated to JSON Schema with Kubernetes' structural rules (unknown
//! fields rejected, `nullable`, int-or-string), and evaluates the CRDs' CEL rules ([`cel`]): the
//! tests run every pair's manifests through it.
//!
//! The two variants are meant to be applied **one at a time** to the same workload: both at once
//! would run the filter twice.
//!
//! Modules: [`trafficextension`], [`envoyfilter`] and [`wasmplugin`] (the objects), [`luaconfig`]
//! (the Lua prelude carrying the configuration), [`diff`] (the migration diff), [`oci`] (the
//! image layout), [`deployed`] (manifests back to Envoy config), [`import`] (a user's manifest
//! to a Lua script and configuration), [`crd`] and [`cel`] (validation
//! against Istio's CRDs), and the private `readme` (README.txt), `url` ([`WasmUrl`]) and `write`
//! ([`write_atomic`]). The `loadgen k8s` command line that drives them is in the `loadgen`
//! binary; this crate has no CLI code.

pub mod cel;
pub mod crd;
pub mod deployed;
pub mod diff;
pub mod envoyfilter;
pub mod import;
pub mod luaconfig;
pub mod native;
pub mod oci;
mod readme;
pub mod trafficextension;
mod url;
pub mod wasmplugin;
mod write;

use std::fmt;
use std::path::{Path, PathBuf};

use filterbench_model::{Catalogue, Pair, TwinKind};
use serde_json::Value;

pub use url::{UrlError, WasmUrl};
pub use write::write_atomic;

/// Envoy's name of the Lua filter: the name the filter is inserted under, and so the key of its
/// route metadata (`handle:metadata()` reads `filter_metadata[<filter config name>]`).
pub const LUA_FILTER: &str = filterbench_model::catalogue::LUA_FILTER_NAME;

/// Labels every generated object carries, so `kubectl delete -l app.kubernetes.io/part-of=filterbench`
/// removes them all.
pub const PART_OF_LABEL: (&str, &str) = ("app.kubernetes.io/part-of", "filterbench");
/// Label with the pair's name.
pub const PAIR_LABEL: &str = "filterbench/pair";
/// Label with the variant (`lua` or `wasm`).
pub const VARIANT_LABEL: &str = "filterbench/variant";

/// Errors of the Kubernetes side. Each names the pair or the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] filterbench_model::Error),
    #[error("unknown pair {name:?} (known: {known})")]
    UnknownPair { name: String, known: String },
    #[error(
        "pair {pair}: built Wasm module {} is missing; build it with `cargo build -p filterbench-build` \
         (its build script builds every filters-wasm crate)",
        path.display()
    )]
    MissingModule { pair: String, path: PathBuf },
    #[error("pair {pair}: {message}")]
    Option { pair: String, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Crd { path: PathBuf, message: String },
    #[error("{what}: {violations}")]
    Invalid {
        what: String,
        violations: crd::Violations,
    },
    #[error("{what}: YAML: {message}")]
    Yaml { what: String, message: String },
    #[error("{what}: translating to Envoy's config: {message}")]
    Translate { what: String, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Where the filter runs: Istio's `EnvoyFilter` patch context, which also fixes the `WasmPlugin`
/// traffic selector, the default namespace and the default workload selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Context {
    /// The inbound side of a workload's sidecar (the application pod's istio-proxy).
    #[default]
    SidecarInbound,
    /// An Istio gateway, e.g. the ingress gateway a `--url` run drives.
    Gateway,
}

impl Context {
    /// The `EnvoyFilter` `match.context` value.
    pub fn istio_name(self) -> &'static str {
        match self {
            Context::SidecarInbound => "SIDECAR_INBOUND",
            Context::Gateway => "GATEWAY",
        }
    }

    /// Where the objects go when `--namespace` is not given: a gateway's proxy config comes from
    /// objects in the gateway's namespace.
    pub fn default_namespace(self) -> &'static str {
        match self {
            Context::SidecarInbound => "default",
            Context::Gateway => "istio-system",
        }
    }

    /// The workload selector when no `--selector` is given: the benchmark's echo workload, or
    /// the label Istio's default ingress gateway carries.
    pub fn default_selector(self) -> (&'static str, &'static str) {
        match self {
            Context::SidecarInbound => ("app", "filterbench-echo"),
            Context::Gateway => ("istio", "ingressgateway"),
        }
    }

    /// The `WasmPlugin` `match[].mode` that puts the plugin on the same traffic as the
    /// `EnvoyFilter`: `SERVER` is a sidecar's inbound side; gateways only have the `CLIENT` side.
    pub fn wasm_traffic_mode(self) -> &'static str {
        match self {
            Context::SidecarInbound => "SERVER",
            Context::Gateway => "CLIENT",
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.istio_name())
    }
}

/// Which Istio API the manifests use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Api {
    /// Istio 1.30's TrafficExtension for both twins (`lua:` or `wasm:`).
    #[default]
    TrafficExtension,
    /// EnvoyFilter (Lua, config in route metadata) and WasmPlugin (Wasm).
    Legacy,
}

impl Api {
    pub fn name(self) -> &'static str {
        match self {
            Api::TrafficExtension => "trafficextension",
            Api::Legacy => "legacy",
        }
    }

    /// The manifest file names of the Lua twin and the Wasm twin.
    pub fn files(self) -> (&'static str, &'static str) {
        match self {
            Api::TrafficExtension => (trafficextension::LUA_FILE, trafficextension::WASM_FILE),
            Api::Legacy => ("envoyfilter.yaml", "wasmplugin.yaml"),
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `WasmPlugin.spec.imagePullPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Pull once per (URL, sha256); with the pinned sha256 a rebuilt module is pulled again.
    #[default]
    IfNotPresent,
    /// Pull on every configuration push.
    Always,
}

impl PullPolicy {
    pub fn istio_name(self) -> &'static str {
        match self {
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Always => "Always",
        }
    }
}

/// What to generate for one pair.
#[derive(Debug, Clone)]
pub struct ManifestOptions {
    pub pair: String,
    /// The API of the manifests [`Bundle::write`] writes (both are always generated).
    pub api: Api,
    /// `metadata.namespace`; [`Context::default_namespace`] when `None`.
    pub namespace: Option<String>,
    /// Workload labels both objects select; [`Context::default_selector`] when empty.
    pub selector: Vec<(String, String)>,
    pub context: Context,
    /// [`WasmUrl::default_for`] the pair when `None`.
    pub wasm_url: Option<WasmUrl>,
    /// Where the Go Wasm twin is fetched from; [`WasmUrl::default_for`] `<pair>-go` when `None`.
    pub go_wasm_url: Option<WasmUrl>,
    /// The folder inside the proxy container holding the native twin's library;
    /// [`native::DEFAULT_DIR`] when `None`.
    pub native_dir: Option<String>,
    pub image_pull_policy: PullPolicy,
    /// Configuration keys replaced for both twins alike (e.g. `ext_authz_call`'s `cluster`, whose
    /// Envoy name in a mesh is `outbound|PORT||HOST`).
    pub config_overrides: Vec<(String, Value)>,
    /// Pin `WasmPlugin.spec.sha256` for `oci://` URLs to the manifest digest of the generated
    /// layout (what Istio compares for images). Off when a different build will be pushed.
    pub pin_oci_digest: bool,
}

impl ManifestOptions {
    /// Defaults for `pair`: sidecar inbound, default namespace, selector and URL.
    pub fn new(pair: impl Into<String>) -> Self {
        ManifestOptions {
            pair: pair.into(),
            api: Api::default(),
            namespace: None,
            selector: Vec::new(),
            context: Context::default(),
            wasm_url: None,
            go_wasm_url: None,
            native_dir: None,
            image_pull_policy: PullPolicy::default(),
            config_overrides: Vec::new(),
            pin_oci_digest: true,
        }
    }
}

/// Everything that is shared by the two manifests, resolved from the options and the catalogue.
#[derive(Debug, Clone)]
pub struct Target {
    pub pair: String,
    /// `metadata.name` of both objects: `filterbench-<pair with - for _>`.
    pub name: String,
    pub namespace: String,
    pub selector: Vec<(String, String)>,
    pub context: Context,
    /// The configuration both twins get.
    pub config: Value,
}

/// A generated bundle, not yet written.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub target: Target,
    /// What [`Bundle::write`] writes.
    pub api: Api,
    /// `envoyfilter.yaml` (with its header comment).
    pub envoy_filter_yaml: String,
    /// `wasmplugin.yaml` (with its header comment).
    pub wasm_plugin_yaml: String,
    /// `trafficextension-lua.yaml`.
    pub lua_traffic_extension_yaml: String,
    /// `trafficextension-wasm.yaml`.
    pub wasm_traffic_extension_yaml: String,
    /// `migration.diff`: from the Lua TrafficExtension to the Wasm one.
    pub migration_diff: String,
    pub wasm_url: WasmUrl,
    /// The `sha256` the WasmPlugin carries, if any.
    pub wasm_sha256: Option<String>,
    pub oci: oci::Layout,
    /// The pair's other twins (Go Wasm, native) whose artefacts are built, in
    /// [`TwinKind::ALL`]'s order.
    pub more_twins: Vec<TwinManifest>,
    /// The pair's other twins whose artefacts are not built, each with the reason (left out of
    /// the bundle, said in its README).
    pub missing_twins: Vec<(TwinKind, String)>,
    /// `README.txt`, with `@DIR@` standing for the output directory.
    readme_template: String,
}

/// A twin beside the Rust Wasm one (Go Wasm, native) in a bundle.
#[derive(Debug, Clone)]
pub struct TwinManifest {
    pub kind: TwinKind,
    /// Its manifest under `--api trafficextension`.
    pub traffic_extension_yaml: String,
    /// Its manifest under `--api legacy` (a native twin's is the same `EnvoyFilter`).
    pub legacy_yaml: String,
    pub payload: Payload,
}

/// What a twin's manifest loads, carried in the bundle.
#[derive(Debug, Clone)]
pub enum Payload {
    /// A proxy-wasm module: where Istio fetches it, the `sha256` the manifest pins, and the
    /// module as an OCI image layout (written to [`oci_dir`] of the kind).
    Module {
        url: WasmUrl,
        sha256: Option<String>,
        layout: Box<oci::Layout>,
    },
    /// A native library: its path inside the proxy container, its bytes and the Dockerfile that
    /// puts it there (written to [`native::DIR`]).
    Library {
        path: String,
        bytes: Vec<u8>,
        dockerfile: String,
    },
}

impl TwinManifest {
    /// The manifest's file name and YAML under `api`.
    pub fn manifest(&self, api: Api) -> (&'static str, &str) {
        let file = match (self.kind, api) {
            (TwinKind::Native, _) => native::FILE,
            (kind, Api::TrafficExtension) => trafficextension::file(kind.id()),
            (kind, Api::Legacy) => wasmplugin::file(kind),
        };
        let yaml = match api {
            Api::TrafficExtension => &self.traffic_extension_yaml,
            Api::Legacy => &self.legacy_yaml,
        };
        (file, yaml)
    }
}

/// The folder of a bundle holding a proxy-wasm kind's OCI image layout: `oci` (Rust, the
/// reference kind) or `oci-<kind>`.
pub fn oci_dir(kind: TwinKind) -> String {
    match kind {
        TwinKind::Wasm => "oci".to_string(),
        other => format!("oci-{}", other.id()),
    }
}

/// What [`Bundle::write`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub dir: PathBuf,
    pub api: Api,
    /// The Lua twin's manifest (`trafficextension-lua.yaml` or `envoyfilter.yaml`).
    pub lua: PathBuf,
    /// The Wasm twin's manifest (`trafficextension-wasm.yaml` or `wasmplugin.yaml`).
    pub wasm: PathBuf,
    /// `migration.diff` (TrafficExtension only).
    pub diff: Option<PathBuf>,
    pub oci_dir: PathBuf,
    /// The other twins' manifests (Go Wasm, native), with what each loads written beside them.
    pub more: Vec<(TwinKind, PathBuf)>,
    pub readme: PathBuf,
}

/// The catalogue of the project this binary belongs to (`FILTERBENCH_ROOT` overrides).
pub fn load_catalogue() -> Result<Catalogue> {
    Ok(Catalogue::load(&filterbench_model::project_root())?)
}

/// Finds a pair, or a one-line error listing the known ones.
pub fn find_pair<'c>(catalogue: &'c Catalogue, name: &str) -> Result<&'c Pair> {
    catalogue.get(name).ok_or_else(|| Error::UnknownPair {
        name: name.to_string(),
        known: catalogue
            .pairs
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// `metadata.name` for a pair: Kubernetes names are DNS subdomains (no `_`).
pub fn object_name(pair: &str) -> String {
    format!("filterbench-{}", pair.replace('_', "-"))
}

/// Generates the bundle of one pair (reads the Lua script and the built modules and libraries).
pub fn generate(catalogue: &Catalogue, opts: &ManifestOptions) -> Result<Bundle> {
    let pair = find_pair(catalogue, &opts.pair)?;
    let target = resolve_target(pair, opts)?;
    let lua = catalogue.lua_source(&pair.name)?;
    let wasm = read_module(catalogue, &pair.name)?;
    let wasm_url = opts
        .wasm_url
        .clone()
        .unwrap_or_else(|| WasmUrl::default_for(&pair.name));
    let (wasm_sha256, layout) = package_module(&pair.name, &wasm, &wasm_url, opts);
    let module_sha256 = oci::sha256_hex(&wasm);
    let source = wasmplugin::Source {
        kind: TwinKind::Wasm,
        url: &wasm_url,
        sha256: wasm_sha256.as_deref(),
        image_pull_policy: opts.image_pull_policy,
        module_sha256: &module_sha256,
        manifest_digest: layout.manifest_digest(),
    };
    let custom_metrics = pair.traits.custom_metrics;
    let envoy_filter_yaml = envoyfilter::render(&target, &lua)?;
    let wasm_plugin_yaml = wasmplugin::render(&target, custom_metrics, &source)?;
    let lua_traffic_extension_yaml = trafficextension::render_lua(&target, custom_metrics, &lua)?;
    let wasm_traffic_extension_yaml =
        trafficextension::render_wasm(&target, custom_metrics, &source)?;
    let migration_diff =
        trafficextension::migration_diff(&lua_traffic_extension_yaml, &wasm_traffic_extension_yaml);
    let (more_twins, missing_twins) = more_twins(catalogue, pair, &target, opts)?;
    let readme_template = readme::readme(
        &target,
        opts.api,
        &wasm_url,
        &layout,
        &more_twins,
        &missing_twins,
    );
    Ok(Bundle {
        target,
        api: opts.api,
        envoy_filter_yaml,
        wasm_plugin_yaml,
        lua_traffic_extension_yaml,
        wasm_traffic_extension_yaml,
        migration_diff,
        wasm_url,
        wasm_sha256,
        oci: layout,
        more_twins,
        missing_twins,
        readme_template,
    })
}

/// What every manifest of the pair shares: names, namespace, selector and the configuration
/// with `--set` applied, each option checked.
fn resolve_target(pair: &Pair, opts: &ManifestOptions) -> Result<Target> {
    let option_error = |message: String| Error::Option {
        pair: pair.name.clone(),
        message,
    };
    let mut config = pair.config_json();
    for (key, value) in &opts.config_overrides {
        match config.as_object_mut() {
            Some(map) => {
                map.insert(key.clone(), value.clone());
            }
            None => return Err(option_error("the catalogue config is not a table".into())),
        }
    }
    let selector = if opts.selector.is_empty() {
        let (k, v) = opts.context.default_selector();
        vec![(k.to_string(), v.to_string())]
    } else {
        opts.selector.clone()
    };
    for (key, value) in &selector {
        if key.is_empty() || key.contains('*') || value.contains('*') {
            return Err(option_error(format!(
                "--selector {key}={value}: label keys must be non-empty and neither may contain `*`"
            )));
        }
    }
    let namespace = opts
        .namespace
        .clone()
        .unwrap_or_else(|| opts.context.default_namespace().to_string());
    if !is_dns_label(&namespace) {
        return Err(option_error(format!(
            "--namespace {namespace:?} is not a Kubernetes namespace name (lowercase letters, digits, `-`, at most 63)"
        )));
    }
    Ok(Target {
        pair: pair.name.clone(),
        name: object_name(&pair.name),
        namespace,
        selector,
        context: opts.context,
        config,
    })
}

/// A proxy-wasm module fetched from `url`: the `sha256` its manifest pins (the module's for
/// `file://` and `http(s)://`, the image manifest's for an `oci://` URL without a digest unless
/// `--no-sha256`) and its OCI image layout.
fn package_module(
    pair: &str,
    module: &[u8],
    url: &WasmUrl,
    opts: &ManifestOptions,
) -> (Option<String>, oci::Layout) {
    let tag = match url {
        WasmUrl::Oci { tag, .. } => tag.clone(),
        _ => "latest".to_string(),
    };
    let layout = oci::Layout::package(pair, module, &tag);
    let sha256 = match url {
        WasmUrl::File { .. } | WasmUrl::Http { .. } => Some(oci::sha256_hex(module)),
        WasmUrl::Oci {
            digest: Some(_), ..
        } => None,
        WasmUrl::Oci { digest: None, .. } if opts.pin_oci_digest => {
            Some(layout.manifest_digest_hex().to_string())
        }
        WasmUrl::Oci { .. } => None,
    };
    (sha256, layout)
}

/// The pair's twins other than the Rust Wasm one, as manifests: those whose artefact is built,
/// and the others with the reason they are left out.
#[allow(clippy::type_complexity)]
fn more_twins(
    catalogue: &Catalogue,
    pair: &Pair,
    target: &Target,
    opts: &ManifestOptions,
) -> Result<(Vec<TwinManifest>, Vec<(TwinKind, String)>)> {
    let mut built = Vec::new();
    let mut missing = Vec::new();
    for twin in catalogue.twins(&pair.name) {
        if twin.kind == TwinKind::Wasm {
            continue;
        }
        let bytes = match catalogue.checked_twin(&pair.name, twin.kind) {
            Ok(twin) => std::fs::read(&twin.artefact).map_err(|e| Error::io(&twin.artefact, e))?,
            Err(e) => {
                missing.push((twin.kind, e.to_string()));
                continue;
            }
        };
        built.push(match twin.kind {
            TwinKind::Native => native_twin(target, opts, bytes)?,
            kind => wasm_twin(pair, target, opts, kind, &bytes)?,
        });
    }
    Ok((built, missing))
}

/// A proxy-wasm twin other than the Rust one (Go Wasm): a `TrafficExtension` and a `WasmPlugin`
/// like the Rust twin's, loading its own module from its own image.
fn wasm_twin(
    pair: &Pair,
    target: &Target,
    opts: &ManifestOptions,
    kind: TwinKind,
    module: &[u8],
) -> Result<TwinManifest> {
    let url = opts
        .go_wasm_url
        .clone()
        .unwrap_or_else(|| WasmUrl::default_for(&format!("{}-go", pair.name)));
    let (sha256, layout) = package_module(&pair.name, module, &url, opts);
    let module_sha256 = oci::sha256_hex(module);
    let source = wasmplugin::Source {
        kind,
        url: &url,
        sha256: sha256.as_deref(),
        image_pull_policy: opts.image_pull_policy,
        module_sha256: &module_sha256,
        manifest_digest: layout.manifest_digest(),
    };
    let custom_metrics = pair.traits.custom_metrics;
    Ok(TwinManifest {
        kind,
        traffic_extension_yaml: trafficextension::render_wasm(target, custom_metrics, &source)?,
        legacy_yaml: wasmplugin::render(target, custom_metrics, &source)?,
        payload: Payload::Module {
            url,
            sha256,
            layout: Box::new(layout),
        },
    })
}

/// The native twin: one `EnvoyFilter` for both APIs, loading the library from the proxy's file
/// system.
fn native_twin(target: &Target, opts: &ManifestOptions, bytes: Vec<u8>) -> Result<TwinManifest> {
    let dir = opts.native_dir.as_deref().unwrap_or(native::DEFAULT_DIR);
    if !dir.starts_with('/') || dir.chars().any(char::is_whitespace) {
        return Err(Error::Option {
            pair: target.pair.clone(),
            message: format!(
                "--native-dir {dir:?} must be an absolute path inside the proxy container, without spaces"
            ),
        });
    }
    let path = native::library_path(dir, &target.pair);
    let yaml = native::render(target, &path)?;
    Ok(TwinManifest {
        kind: TwinKind::Native,
        traffic_extension_yaml: yaml.clone(),
        legacy_yaml: yaml,
        payload: Payload::Library {
            dockerfile: native::dockerfile(target, &path),
            path,
            bytes,
        },
    })
}

fn read_module(catalogue: &Catalogue, pair: &str) -> Result<Vec<u8>> {
    let path = catalogue.wasm_module_path(pair);
    match catalogue.wasm_module(pair) {
        Ok(bytes) => Ok(bytes),
        Err(filterbench_model::Error::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Err(Error::MissingModule {
                pair: pair.to_string(),
                path,
            })
        }
        Err(e) => Err(e.into()),
    }
}

impl Bundle {
    /// `README.txt` for a bundle written to `dir`.
    pub fn readme(&self, dir: &Path) -> String {
        self.readme_template
            .replace("@DIR@", &dir.display().to_string())
    }

    /// The YAML of the Lua twin and of the Wasm twin in the bundle's API.
    pub fn manifests(&self) -> (&str, &str) {
        match self.api {
            Api::TrafficExtension => (
                &self.lua_traffic_extension_yaml,
                &self.wasm_traffic_extension_yaml,
            ),
            Api::Legacy => (&self.envoy_filter_yaml, &self.wasm_plugin_yaml),
        }
    }

    /// The file name and YAML of the twin of `kind` in the bundle's API, when the bundle has it.
    pub fn twin_manifest(&self, kind: TwinKind) -> Option<(&'static str, &str)> {
        match kind {
            TwinKind::Wasm => Some((self.api.files().1, self.manifests().1)),
            kind => self
                .more_twins
                .iter()
                .find(|t| t.kind == kind)
                .map(|t| t.manifest(self.api)),
        }
    }

    /// Writes the bundle into `dir` (created if needed), every file atomically. The OCI layout's
    /// `index.json` is written last, so it never names a blob that is not there.
    pub fn write(&self, dir: &Path) -> Result<Written> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let dir = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
        let (lua_file, wasm_file) = self.api.files();
        let (lua_yaml, wasm_yaml) = self.manifests();
        let lua = dir.join(lua_file);
        write_atomic(&lua, lua_yaml.as_bytes())?;
        let wasm = dir.join(wasm_file);
        write_atomic(&wasm, wasm_yaml.as_bytes())?;
        let diff = match self.api {
            Api::TrafficExtension => {
                let path = dir.join(trafficextension::DIFF_FILE);
                write_atomic(&path, self.migration_diff.as_bytes())?;
                Some(path)
            }
            Api::Legacy => None,
        };
        let oci_dir = dir.join("oci");
        self.oci.write(&oci_dir)?;
        let mut more = Vec::new();
        for twin in &self.more_twins {
            more.push((twin.kind, twin.write(self.api, &dir)?));
        }
        let readme = dir.join("README.txt");
        write_atomic(&readme, self.readme(&dir).as_bytes())?;
        Ok(Written {
            dir,
            api: self.api,
            lua,
            wasm,
            diff,
            oci_dir,
            more,
            readme,
        })
    }
}

impl TwinManifest {
    /// Writes the manifest of `api` into `dir` and what it loads beside it: the module's OCI
    /// layout (`oci-<kind>/`) or the library and its Dockerfile (`native/`). Answers the
    /// manifest's path.
    fn write(&self, api: Api, dir: &Path) -> Result<PathBuf> {
        let (file, yaml) = self.manifest(api);
        let path = dir.join(file);
        write_atomic(&path, yaml.as_bytes())?;
        match &self.payload {
            Payload::Module { layout, .. } => layout.write(&dir.join(oci_dir(self.kind)))?,
            Payload::Library {
                path: in_proxy,
                bytes,
                dockerfile,
            } => {
                let folder = dir.join(native::DIR);
                std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
                let name = Path::new(in_proxy)
                    .file_name()
                    .expect("a library path ends in its file name");
                write_atomic(&folder.join(name), bytes)?;
                write_atomic(&folder.join("Dockerfile"), dockerfile.as_bytes())?;
            }
        }
        Ok(path)
    }
}

/// Generates and writes one pair's bundle: what `loadgen k8s manifests` does.
pub fn write_manifests(opts: &ManifestOptions, out: &Path) -> Result<(Bundle, Written)> {
    let catalogue = load_catalogue()?;
    let bundle = generate(&catalogue, opts)?;
    let written = bundle.write(out)?;
    Ok((bundle, written))
}

/// A Kubernetes namespace name (RFC 1123 label).
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// `metadata` of a generated object.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Metadata {
    name: String,
    namespace: String,
    labels: std::collections::BTreeMap<String, String>,
}

/// The common `metadata` of both objects.
pub(crate) fn metadata(target: &Target, variant: &str) -> Metadata {
    Metadata {
        name: target.name.clone(),
        namespace: target.namespace.clone(),
        labels: [
            (PART_OF_LABEL.0, PART_OF_LABEL.1),
            (PAIR_LABEL, target.pair.as_str()),
            (VARIANT_LABEL, variant),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    }
}

/// A Kubernetes object as written: the fields in the order people expect to read them.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Object<S> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub spec: S,
}

/// The selector as a JSON map.
pub(crate) fn selector_map(target: &Target) -> Value {
    Value::Object(
        target
            .selector
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// YAML of a manifest, after a `#` comment block.
pub(crate) fn to_yaml(
    what: &str,
    comment: &str,
    manifest: &impl serde::Serialize,
) -> Result<String> {
    let body = serde_yaml_ng::to_string(manifest).map_err(|e| Error::Yaml {
        what: what.to_string(),
        message: e.to_string(),
    })?;
    let mut out = String::new();
    for line in comment.lines() {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_subdomains() {
        assert_eq!(object_name("jwt_auth"), "filterbench-jwt-auth");
        assert!(is_dns_label("istio-system"));
        assert!(!is_dns_label("Istio"));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_label(""));
    }
}
