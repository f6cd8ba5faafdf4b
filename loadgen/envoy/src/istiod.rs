//! The real Istio control plane on loopback: Istio's discovery server (the xDS server, config
//! generators and push of the `istio.io/istio` commit `loadgen/istiod/go.mod` pins, built by
//! `filterbench_build::istiod`) with no Kubernetes, serving plaintext ADS to the Envoy under test.
//! The program (`loadgen/istiod/main.go`) wires it as Istio's own tests do without a cluster,
//! because the stock `pilot-discovery discovery --registries= --configDir=DIR` of Istio 1.30 and
//! later panics at start-up without Kubernetes (its ServiceEntry controller asks the absent
//! multicluster controller for namespaces) and its file store ignores WasmPlugin.
//!
//! - [`Istiod::start`]: `istiod --configDir DIR --meshConfig FILE` (every `.yaml` under DIR,
//!   validated with Istio's own validation: an object it rejects stops it with Istio's message),
//!   both addresses on 127.0.0.1 port 0 (it logs the ports it got), istio-proxy-only filters off
//!   (`PILOT_ENABLE_METADATA_EXCHANGE=false`, `PILOT_ENABLE_ALPN_FILTER=false`, no metrics
//!   provider in the mesh config). A bounded wait for `/ready` on its HTTP port; a child that
//!   dies with us (`PR_SET_PDEATHSIG`, the signal handler of [`crate::envoy`], kill and reap on
//!   drop); its log kept in a private scratch directory and its last lines in every error.
//! - [`write_workload`]: what istiod needs besides the extensions to give a plain Envoy (no
//!   pilot-agent) an inbound HTTP listener: a `Sidecar` with one explicit ingress port (bound to
//!   127.0.0.1, `defaultEndpoint` the echo upstream) and a `PeerAuthentication` with mTLS
//!   `DISABLE` (a plain Envoy has no certificates), one namespace per workload.
//! - [`ads_bootstrap`]: an Envoy bootstrap whose ADS points at istiod, with the node id and
//!   metadata istio-agent would send (`sidecar~127.0.0.1~NAME.NS~NS.svc.cluster.local`,
//!   `NAMESPACE`, `LABELS`, `ISTIO_VERSION`, `CLUSTER_ID`, `INTERCEPTION_MODE: NONE`) and the
//!   project's loopback clusters (`auth`, the call-script mocks) as static clusters.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bootstrap::Services;
use crate::{Error, Result};

/// How long istiod may take to become ready (it reads the config directory and starts its
/// servers; about a second on an idle machine).
pub const ISTIOD_READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long Envoy may take to get its listeners from istiod.
pub const XDS_TIMEOUT: Duration = Duration::from_secs(30);
/// The Kubernetes cluster id istiod and the proxies agree on.
pub const CLUSTER_ID: &str = "Kubernetes";
/// Istio's root namespace: mesh-wide policy (the PeerAuthentication) lives there.
pub const ROOT_NAMESPACE: &str = "istio-system";

/// The mesh config istiod runs with: no tracing, no access log, no default metrics provider (its
/// `istio.stats` filter exists only in istio-proxy), plaintext discovery, and the proxy headers
/// Istio adds on its own (a generated `x-request-id`, `x-envoy-attempt-count`, `server:
/// istio-envoy`, Envoy's debug headers) switched off with the mesh's documented
/// `defaultConfig.proxyHeaders`, so that the upstream and the client see what the filter did and
/// nothing the mesh adds, as with the project's own listeners.
pub const MESH_CONFIG: &str = "\
rootNamespace: istio-system
trustDomain: cluster.local
enableTracing: false
accessLogFile: \"\"
enablePrometheusMerge: false
defaultProviders:
  metrics: []
  accessLogging: []
  tracing: []
defaultConfig:
  discoveryAddress: 127.0.0.1:15010
  proxyHeaders:
    requestId:
      disabled: true
    attemptCount:
      disabled: true
    server:
      disabled: true
    envoyDebugHeaders:
      disabled: true
";

/// A running istiod; killed and reaped on drop.
pub struct Istiod {
    child: Option<Child>,
    /// Plaintext ADS (`--grpcAddr`).
    pub grpc: SocketAddr,
    /// Debug and readiness (`--httpAddr`: `/ready`, `/debug/...`).
    pub http: SocketAddr,
    pub log_path: PathBuf,
    /// The binary's `version` line (`version.BuildInfo{...}`), for reports.
    pub version: String,
    /// Its private directory (mesh config, log); removed when it stops.
    pub dir: crate::scratch::Scratch,
}

impl Istiod {
    /// Starts `bin` on the manifests under `config_dir` and waits until `/ready` answers 200. A
    /// directory Istio refuses (an object its validation rejects) makes istiod exit: the error
    /// carries its log's warnings, where Istio's own message is.
    pub fn start(bin: &Path, config_dir: &Path) -> Result<Istiod> {
        crate::envoy::install_signal_handler();
        let dir = crate::scratch::Scratch::new("istiod")
            .map_err(|e| Error::Envoy(format!("istiod: cannot create a temp dir: {e}")))?;
        let mesh = dir.path().join("mesh.yaml");
        std::fs::write(&mesh, MESH_CONFIG)
            .map_err(|e| Error::Envoy(format!("{}: {e}", mesh.display())))?;
        let log_path = dir.path().join("istiod.log");
        let log = std::fs::File::create(&log_path)
            .map_err(|e| Error::Envoy(format!("{}: {e}", log_path.display())))?;
        let version = istiod_version(bin)?;
        let mut cmd = Command::new(bin);
        cmd.current_dir(dir.path())
            .arg(format!("--configDir={}", config_dir.display()))
            .arg(format!("--meshConfig={}", mesh.display()))
            .args(["--grpcAddr=127.0.0.1:0", "--httpAddr=127.0.0.1:0"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TMPDIR", dir.path())
            .env("POD_NAMESPACE", ROOT_NAMESPACE)
            .env("PILOT_ENABLE_METADATA_EXCHANGE", "false")
            .env("PILOT_ENABLE_ALPN_FILTER", "false")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| Error::Envoy(format!("cannot start istiod {}: {e}", bin.display())))?;
        crate::envoy::register(child.id() as i32);
        let unbound = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut istiod = Istiod {
            child: Some(child),
            grpc: unbound,
            http: unbound,
            log_path,
            version,
            dir,
        };
        istiod.wait_ready()?;
        Ok(istiod)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + ISTIOD_READY_TIMEOUT;
        loop {
            self.check_alive()?;
            let log = self.log();
            if self.grpc.port() == 0 {
                if let Some(addr) = logged_address(&log, "starting gRPC discovery service at ") {
                    self.grpc = addr;
                }
            }
            if self.http.port() == 0 {
                if let Some(addr) = logged_address(&log, "starting HTTP service at ") {
                    self.http = addr;
                }
            }
            if self.grpc.port() != 0 && self.http.port() != 0 {
                if let Ok((200, _)) = crate::envoy::admin_get(self.http, "/ready") {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(Error::Envoy(format!(
                    "istiod was not ready after {ISTIOD_READY_TIMEOUT:?}; its log: {}",
                    self.log_tail(8)
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Errors (with istiod's last words) if the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        let child = self.child.as_mut().expect("running");
        if let Ok(Some(status)) = child.try_wait() {
            crate::envoy::unregister(child.id() as i32);
            self.child = None;
            return Err(Error::Envoy(format!(
                "istiod exited ({status}): {}",
                self.log_tail(8)
            )));
        }
        Ok(())
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The last `n` warning or error lines of the log (all lines when there are none), on one
    /// line, without their timestamps.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let mut lines: Vec<&str> = log
            .lines()
            .filter(|l| {
                let level = l.split('\t').nth(1).unwrap_or("");
                matches!(level, "warn" | "error" | "fatal")
            })
            .collect();
        if lines.is_empty() {
            lines = log.lines().collect();
        }
        let start = lines.len().saturating_sub(n);
        let text = lines[start..]
            .iter()
            .map(|l| match l.split_once('\t') {
                Some((time, rest)) if time.starts_with("20") => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join(" | ");
        if text.is_empty() {
            "(empty)".into()
        } else {
            text
        }
    }

    /// `POST /reload`: istiod reads its config directory again and applies what changed (see
    /// `loadgen/istiod/main.go`). Answers its status (200, or 400 with Istio's validation
    /// message when it refused the directory) and body.
    pub fn reload(&mut self) -> Result<(u16, String)> {
        self.check_alive()?;
        crate::envoy::admin_post(self.http, "/reload")
    }

    /// A GET on istiod's HTTP (debug) port.
    pub fn get(&self, path: &str) -> Result<(u16, String)> {
        crate::envoy::admin_get(self.http, path)
    }

    /// Stops istiod and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id() as i32;
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    crate::envoy::unregister(pid);
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
            crate::envoy::unregister(pid);
        }
    }
}

impl Drop for Istiod {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The version istiod was stamped with (`1.31-dev`), bounded.
pub fn istiod_version(bin: &Path) -> Result<String> {
    let mut cmd = Command::new(bin);
    cmd.arg("--version");
    match filterbench_build::go::run_bounded(&mut cmd, Duration::from_secs(30)) {
        Ok((true, out, _)) => Ok(out
            .trim()
            .rsplit(": ")
            .next()
            .unwrap_or_default()
            .to_string()),
        Ok((false, out, err)) => Err(Error::Envoy(format!(
            "`{} version` failed: {} {}",
            bin.display(),
            out.trim(),
            err.trim()
        ))),
        Err(e) => Err(Error::Envoy(format!("istiod {}: {e}", bin.display()))),
    }
}

/// The address after `marker` in istiod's log (`starting gRPC discovery service at 127.0.0.1:N`).
fn logged_address(log: &str, marker: &str) -> Option<SocketAddr> {
    log.lines().find_map(|line| {
        let (_, rest) = line.split_once(marker)?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// One workload of the mesh: a proxy in its own namespace with one inbound HTTP port.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Pod name (the node id's `NAME`).
    pub name: String,
    pub namespace: String,
    pub labels: Vec<(String, String)>,
    /// The Sidecar's ingress port: Envoy's inbound listener binds 127.0.0.1 on it.
    pub port: u16,
}

impl Workload {
    /// The node id istio-agent would give this proxy.
    pub fn node_id(&self) -> String {
        format!(
            "sidecar~127.0.0.1~{}.{}~{}.svc.cluster.local",
            self.name, self.namespace, self.namespace
        )
    }
}

/// Writes `<dir>/<namespace>-workload.yaml`: the workload's `Sidecar` (one ingress port,
/// 127.0.0.1, to the echo upstream on `echo_port`) and `PeerAuthentication` (mTLS `DISABLE`).
pub fn write_workload(dir: &Path, workload: &Workload, echo_port: u16) -> Result<PathBuf> {
    let labels: String = workload
        .labels
        .iter()
        .map(|(k, v)| format!("      {k}: {v}\n"))
        .collect();
    let yaml = format!(
        "\
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: {name}
  namespace: {ns}
spec:
  workloadSelector:
    labels:
{labels}  ingress:
  - port:
      number: {port}
      protocol: HTTP
      name: http
    bind: 127.0.0.1
    defaultEndpoint: 127.0.0.1:{echo_port}
  egress:
  - hosts:
    - \"./*\"
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: {name}
  namespace: {ns}
spec:
  mtls:
    mode: DISABLE
",
        name = workload.name,
        ns = workload.namespace,
        port = workload.port,
    );
    let path = dir.join(format!("{}-workload.yaml", workload.namespace));
    std::fs::write(&path, yaml).map_err(|e| Error::Envoy(format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// A free loopback port (bound and released; the Sidecar's ingress port must be known before
/// istiod starts).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The bootstrap of a plain Envoy that is `workload`'s sidecar: ADS from istiod at `xds`, the
/// project's loopback `auth` service and the call-script mocks (`call_clusters`) as static
/// clusters (what a mesh would reach as `outbound|...` clusters of ServiceEntries; the pairs'
/// configuration names them so).
pub fn ads_bootstrap(
    workload: &Workload,
    istio_version: &str,
    xds: SocketAddr,
    services: Services,
    call_clusters: &BTreeMap<String, u16>,
) -> Value {
    let labels: serde_json::Map<String, Value> = workload
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let mut clusters = vec![json!({
        "name": "xds-grpc",
        "type": "STATIC",
        "connect_timeout": "1s",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": { "http2_protocol_options": {} },
            },
        },
        "load_assignment": {
            "cluster_name": "xds-grpc",
            "endpoints": [ { "lb_endpoints": [ { "endpoint": { "address": socket(xds.ip().to_string(), xds.port()) } } ] } ],
        },
    })];
    if !call_clusters.contains_key("auth") {
        clusters.push(static_cluster("auth", services.auth_port));
    }
    clusters.extend(
        call_clusters
            .iter()
            .filter(|(name, _)| name.as_str() != "echo")
            .map(|(name, port)| static_cluster(name, *port)),
    );
    let ads = json!({ "ads": {}, "resource_api_version": "V3", "initial_fetch_timeout": "0s" });
    json!({
        "node": {
            "id": workload.node_id(),
            "cluster": format!("{}.{}", workload.name, workload.namespace),
            "metadata": {
                "NAME": workload.name,
                "NAMESPACE": workload.namespace,
                "LABELS": labels,
                "ISTIO_VERSION": istio_version,
                "CLUSTER_ID": CLUSTER_ID,
                "INTERCEPTION_MODE": "NONE",
                "INSTANCE_IPS": "127.0.0.1",
                "MESH_ID": "cluster.local",
                "WORKLOAD_NAME": workload.name,
            },
        },
        "admin": { "address": socket("127.0.0.1".into(), 0) },
        "dynamic_resources": {
            "ads_config": {
                "api_type": "GRPC",
                "transport_api_version": "V3",
                "grpc_services": [ { "envoy_grpc": { "cluster_name": "xds-grpc" } } ],
                "set_node_on_first_message_only": true,
            },
            "lds_config": ads,
            "cds_config": ads,
        },
        "static_resources": { "clusters": clusters },
        "layered_runtime": { "layers": [ { "name": "static", "static_layer": {} } ] },
    })
}

fn socket(address: String, port: u16) -> Value {
    json!({ "socket_address": { "address": address, "port_value": port } })
}

fn static_cluster(name: &str, port: u16) -> Value {
    json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [ { "lb_endpoints": [ { "endpoint": { "address": socket("127.0.0.1".into(), port) } } ] } ],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_read_from_istiods_log() {
        let log = "2026-12-07T04:30:00.000000Z\tinfo\tstarting gRPC discovery service at 127.0.0.1:41234\n\
                   2026-12-07T04:30:00.000000Z\tinfo\tstarting HTTP service at 127.0.0.1:41235\n";
        assert_eq!(
            logged_address(log, "starting gRPC discovery service at "),
            Some("127.0.0.1:41234".parse().unwrap())
        );
        assert_eq!(
            logged_address(log, "starting HTTP service at "),
            Some("127.0.0.1:41235".parse().unwrap())
        );
        assert_eq!(logged_address(log, "starting webhook service at "), None);
    }

    #[test]
    fn the_node_says_what_istio_agent_would() {
        let w = Workload {
            name: "echo-lua".into(),
            namespace: "filterbench-lua".into(),
            labels: vec![("app".into(), "filterbench-echo".into())],
            port: 15100,
        };
        assert_eq!(
            w.node_id(),
            "sidecar~127.0.0.1~echo-lua.filterbench-lua~filterbench-lua.svc.cluster.local"
        );
        let b = ads_bootstrap(
            &w,
            "1.31.0",
            "127.0.0.1:15010".parse().unwrap(),
            Services {
                echo_port: 1,
                auth_port: 2,
            },
            &BTreeMap::new(),
        );
        let meta = &b["node"]["metadata"];
        assert_eq!(meta["NAMESPACE"], "filterbench-lua");
        assert_eq!(meta["LABELS"]["app"], "filterbench-echo");
        assert_eq!(meta["INTERCEPTION_MODE"], "NONE");
        let clusters = b["static_resources"]["clusters"].as_array().unwrap();
        assert!(clusters.iter().any(|c| c["name"] == "auth"));
        assert_eq!(
            b["dynamic_resources"]["ads_config"]["grpc_services"][0]["envoy_grpc"]["cluster_name"],
            "xds-grpc"
        );
    }
}
