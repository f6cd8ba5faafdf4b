//! The `loadgen k8s ...` subcommands (clap derive), kept here so `main.rs` stays a thin
//! dispatcher over `filterbench-k8s` (which has no CLI code: the clap value enums below mirror
//! its [`Api`], [`Context`] and [`PullPolicy`]).

use std::fmt;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use filterbench_k8s::{
    write_manifests, Api, Context, ManifestOptions, Payload, PullPolicy, WasmUrl,
};

/// Which Istio API the manifests use ([`Api`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiArg {
    /// Istio 1.30's TrafficExtension for both twins (`lua:` or `wasm:`).
    #[value(name = "trafficextension", alias = "TrafficExtension")]
    TrafficExtension,
    /// EnvoyFilter (Lua, config in route metadata) and WasmPlugin (Wasm).
    #[value(name = "legacy")]
    Legacy,
}

impl From<ApiArg> for Api {
    fn from(a: ApiArg) -> Api {
        match a {
            ApiArg::TrafficExtension => Api::TrafficExtension,
            ApiArg::Legacy => Api::Legacy,
        }
    }
}

/// Where the filter runs ([`Context`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ContextArg {
    /// The inbound side of a workload's sidecar (the application pod's istio-proxy).
    #[value(alias = "SIDECAR_INBOUND")]
    SidecarInbound,
    /// An Istio gateway, e.g. the ingress gateway a `--url` run drives.
    #[value(alias = "GATEWAY")]
    Gateway,
}

impl From<ContextArg> for Context {
    fn from(c: ContextArg) -> Context {
        match c {
            ContextArg::SidecarInbound => Context::SidecarInbound,
            ContextArg::Gateway => Context::Gateway,
        }
    }
}

/// `WasmPlugin.spec.imagePullPolicy` ([`PullPolicy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PullPolicyArg {
    /// Pull once per (URL, sha256); with the pinned sha256 a rebuilt module is pulled again.
    #[value(name = "IfNotPresent", alias = "if-not-present")]
    IfNotPresent,
    /// Pull on every configuration push.
    #[value(name = "Always", alias = "always")]
    Always,
}

impl From<PullPolicyArg> for PullPolicy {
    fn from(p: PullPolicyArg) -> PullPolicy {
        match p {
            PullPolicyArg::IfNotPresent => PullPolicy::IfNotPresent,
            PullPolicyArg::Always => PullPolicy::Always,
        }
    }
}

// Defaults are shown the way the library's types display them (as before the mirror enums).
impl fmt::Display for ApiArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Api::from(*self).fmt(f)
    }
}

impl fmt::Display for ContextArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Context::from(*self).fmt(f)
    }
}

impl fmt::Display for PullPolicyArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PullPolicy::from(*self).istio_name())
    }
}

/// `loadgen k8s <command>`.
#[derive(Debug, Subcommand)]
pub enum K8sCommand {
    /// Write one pair's Istio manifests: by default TrafficExtension for each twin
    /// (trafficextension-lua.yaml, trafficextension-wasm.yaml, migration.diff), with --api legacy
    /// envoyfilter.yaml (Lua) and wasmplugin.yaml (Wasm); the module as an OCI image layout (oci/)
    /// and README.txt with the push/apply commands.
    Manifests(ManifestsArgs),
}

/// `loadgen k8s manifests`.
#[derive(Debug, Args)]
pub struct ManifestsArgs {
    /// The pair (a name from bench/catalogue.toml, e.g. add_header).
    #[arg(long, value_name = "NAME")]
    pub pair: String,

    /// The directory to write into (created if missing; existing files are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// The Istio API: TrafficExtension (Istio 1.30+) for both twins, or the legacy EnvoyFilter
    /// (Lua) + WasmPlugin (Wasm).
    #[arg(long, value_enum, default_value_t = ApiArg::TrafficExtension)]
    pub api: ApiArg,

    /// metadata.namespace of both objects [default: `default`, or `istio-system` for --context gateway].
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,

    /// A workload label both objects select, KEY=VALUE; repeat for several [default:
    /// app=filterbench-echo, or istio=ingressgateway for --context gateway].
    #[arg(long = "selector", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub selector: Vec<(String, String)>,

    /// Where the filter runs: a sidecar's inbound side or a gateway.
    #[arg(long, value_enum, default_value_t = ContextArg::SidecarInbound)]
    pub context: ContextArg,

    /// Where Istio fetches the module: oci://REGISTRY/REPO:TAG, file:///path or https://...
    /// [default: oci://localhost:5000/filterbench/<pair>:latest].
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    pub wasm_url: Option<WasmUrl>,

    /// Where Istio fetches the Go Wasm twin's module (pairs with a Go twin)
    /// [default: oci://localhost:5000/filterbench/<pair>-go:latest].
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    pub go_wasm_url: Option<WasmUrl>,

    /// The folder inside the proxy container that holds the native twin's library, <pair>.so
    /// (pairs with a native twin) [default: /usr/local/lib/filterbench].
    #[arg(long, value_name = "DIR")]
    pub native_dir: Option<String>,

    /// WasmPlugin imagePullPolicy.
    #[arg(long, value_enum, default_value_t = PullPolicyArg::IfNotPresent)]
    pub image_pull_policy: PullPolicyArg,

    /// Replace one configuration key for both twins, KEY=VALUE (VALUE as JSON, else a string),
    /// e.g. --set 'cluster=outbound|9000||auth.default.svc.cluster.local' for ext_authz_call.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, Value)>,

    /// Do not pin WasmPlugin sha256 to the generated image's manifest digest (for oci:// URLs
    /// that will serve a different build).
    #[arg(long)]
    pub no_sha256: bool,
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

fn parse_url(s: &str) -> Result<WasmUrl, filterbench_k8s::UrlError> {
    WasmUrl::parse(s)
}

fn parse_set(s: &str) -> Result<(String, Value), String> {
    let (k, v) = s
        .split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))?;
    let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
    Ok((k.to_string(), value))
}

impl ManifestsArgs {
    pub fn options(&self) -> ManifestOptions {
        ManifestOptions {
            pair: self.pair.clone(),
            api: self.api.into(),
            namespace: self.namespace.clone(),
            selector: self.selector.clone(),
            context: self.context.into(),
            wasm_url: self.wasm_url.clone(),
            go_wasm_url: self.go_wasm_url.clone(),
            native_dir: self.native_dir.clone(),
            image_pull_policy: self.image_pull_policy.into(),
            config_overrides: self.set.clone(),
            pin_oci_digest: !self.no_sha256,
        }
    }
}

/// Runs a `loadgen k8s` command, printing what it wrote.
pub fn run(command: &K8sCommand) -> anyhow::Result<()> {
    match command {
        K8sCommand::Manifests(args) => {
            let (bundle, written) = write_manifests(&args.options(), &args.out)
                .with_context(|| format!("k8s manifests --pair {}", args.pair))?;
            let t = &bundle.target;
            let (lua_kind, wasm_kind) = match written.api {
                Api::TrafficExtension => ("TrafficExtension", "TrafficExtension"),
                Api::Legacy => ("EnvoyFilter", "WasmPlugin"),
            };
            println!(
                "{}: Lua twin, {lua_kind} {}/{} ({}, {})",
                written.lua.display(),
                t.namespace,
                t.name,
                t.context,
                selector_text(&t.selector)
            );
            println!(
                "{}: Wasm twin, {wasm_kind} {}/{} ({}{})",
                written.wasm.display(),
                t.namespace,
                t.name,
                bundle.wasm_url.as_str(),
                bundle
                    .wasm_sha256
                    .as_deref()
                    .map(|s| format!(", sha256 {s}"))
                    .unwrap_or_default()
            );
            println!(
                "{}: OCI image layout, tag {}, manifest {}",
                written.oci_dir.display(),
                bundle.oci.tag(),
                bundle.oci.manifest_digest()
            );
            for ((kind, path), twin) in written.more.iter().zip(&bundle.more_twins) {
                let loads = match &twin.payload {
                    Payload::Module { url, sha256, .. } => format!(
                        "{}{}",
                        url.as_str(),
                        sha256
                            .as_deref()
                            .map(|s| format!(", sha256 {s}"))
                            .unwrap_or_default()
                    ),
                    Payload::Library { path, .. } => {
                        format!("EnvoyFilter, library {path} in the proxy")
                    }
                };
                println!("{}: {} twin, {loads}", path.display(), kind.label());
            }
            for (kind, why) in &bundle.missing_twins {
                println!("no {} twin in the bundle: {why}", kind.label());
            }
            if let Some(diff) = &written.diff {
                println!(
                    "{}: the migration, Lua to Wasm, as one resource edit",
                    diff.display()
                );
            }
            println!(
                "{}: how to push and apply (one variant at a time)",
                written.readme.display()
            );
            Ok(())
        }
    }
}

fn selector_text(selector: &[(String, String)]) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values_are_json_or_strings() {
        assert_eq!(parse_set("n=5").unwrap(), ("n".into(), Value::from(5)));
        assert_eq!(
            parse_set("cluster=outbound|9000||auth").unwrap(),
            ("cluster".into(), Value::from("outbound|9000||auth"))
        );
        assert!(parse_set("=5").is_err());
        assert!(parse_label("app").is_err());
        assert_eq!(
            parse_label("app=x=y").unwrap(),
            ("app".into(), "x=y".into())
        );
    }
}
