//! Failure strategy made visible: what a real Envoy does when an extension fails, for the Wasm
//! filter under each `failStrategy` of Istio's `TrafficExtension` (`FAIL_CLOSE`, `FAIL_OPEN`,
//! `FAIL_RELOAD`) and for a Lua filter (which has no such setting).
//!
//! The Wasm module ([`FAILING_MODULE`], WAT compiled with the `wat` crate) adds the request header
//! `x-filter-ran: wasm` and traps (as a Rust filter's panic does) when the request carries
//! `x-fail`; the Lua script ([`FAILING_SCRIPT`]) does the same with `error()`. Each is written as a
//! `TrafficExtension` manifest, validated against the CRD (schema and CEL rules) and translated by
//! [`crate::k8s::deployed`] into the filter Istio gives the proxy, so the strategies measured are
//! the ones the manifests deploy; each runs alone in a fresh Envoy (one worker) and gets
//! [`REQUESTS`] requests, the [`FAILING_REQUEST`]th with `x-fail`, the last after a pause of
//! [`LAST_PAUSE`] (longer than the 1 s default back-off of Envoy's `FAIL_RELOAD`). What each
//! request got is recorded, never assumed: [`filterbench_model::results::failure::FailureRecord`].

use std::path::Path;
use std::time::Duration;

use filterbench_model::corpus::Scenario;
use filterbench_model::results::failure::{
    FailureRecord, RequestResult, StrategyResult, FAILURE_SCHEMA,
};
use serde_json::{json, Value};

use crate::bootstrap::{bootstrap, ListenerFilter, ListenerSpec};
use crate::envoy::{envoy_version, Envoy, EnvoyOptions};
use crate::k8s::crd::CrdSchemas;
use crate::k8s::deployed::{translate, ModuleSource};
use crate::k8s::{self, luaconfig, oci, trafficextension};
use crate::verify::{replay, Rig};
use crate::{Error, Result};

/// Requests per filter and strategy.
pub const REQUESTS: u32 = 5;
/// The request (1-based) that carries `x-fail`.
pub const FAILING_REQUEST: u32 = 2;
/// The pause before the last request.
pub const LAST_PAUSE: Duration = Duration::from_millis(2500);
/// The header a filter adds when it ran.
pub const MARK: &str = "x-filter-ran";

/// A proxy-wasm module (ABI 0.2.1): adds `x-filter-ran: wasm` to the request, or traps when the
/// request has an `x-fail` header.
pub const FAILING_MODULE: &str = r#"(module
  (import "env" "proxy_get_header_map_value"
    (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value"
    (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 1024) "x-filter-ran")
  (data (i32.const 1040) "wasm")
  (data (i32.const 1056) "x-fail")
  (global $heap (mut i32) (i32.const 65536))
  (func (export "_initialize"))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.eqz (call $get (i32.const 0) (i32.const 1056) (i32.const 6)
                            (i32.const 2048) (i32.const 2052)))
      (then unreachable))
    (drop (call $add (i32.const 0) (i32.const 1024) (i32.const 12) (i32.const 1040) (i32.const 4)))
    (i32.const 0)))"#;

/// The Lua twin of [`FAILING_MODULE`]: a runtime error when the request has `x-fail`.
pub const FAILING_SCRIPT: &str = "function envoy_on_request(handle)\n\
  if handle:headers():get(\"x-fail\") ~= nil then\n\
    error(\"failure-strategy: raised on purpose\")\n\
  end\n\
  handle:headers():add(\"x-filter-ran\", \"lua\")\n\
end\n";

/// The module file for `file://` URLs, checked against `sha256` as istio-agent would.
struct LocalModule {
    path: std::path::PathBuf,
    sha256: String,
}

impl ModuleSource for LocalModule {
    fn module(&self, url: &str, sha256: Option<&str>) -> k8s::Result<std::path::PathBuf> {
        if url != format!("file://{}", self.path.display()) || sha256 != Some(&self.sha256) {
            return Err(k8s::Error::Translate {
                what: format!("url {url}"),
                message: format!(
                    "expected file://{} with sha256 {}",
                    self.path.display(),
                    self.sha256
                ),
            });
        }
        Ok(self.path.clone())
    }

    fn library(&self, path: &str) -> k8s::Result<std::path::PathBuf> {
        Err(k8s::Error::Translate {
            what: format!("library {path}"),
            message: "the failure-strategy check deploys no native library".into(),
        })
    }
}

fn manifest(spec_body: (&str, Value)) -> Value {
    json!({
        "apiVersion": trafficextension::API_VERSION,
        "kind": trafficextension::KIND,
        "metadata": { "name": "filterbench-failure-strategy", "namespace": "default" },
        "spec": {
            "selector": { "matchLabels": { "app": "filterbench-echo" } },
            "match": [ { "mode": "SERVER" } ],
            spec_body.0: spec_body.1,
        },
    })
}

/// Measures every strategy. `work` holds the module file while Envoy runs.
pub fn measure(rig: &Rig, crds: &CrdSchemas, work: &Path) -> Result<FailureRecord> {
    let binary = wat::parse_str(FAILING_MODULE).map_err(|e| {
        Error::Envoy(format!(
            "failure strategy: the WAT module does not compile: {e}"
        ))
    })?;
    let path = work.join("failing.wasm");
    std::fs::write(&path, &binary)?;
    let module = LocalModule {
        path: path.clone(),
        sha256: oci::sha256_hex(&binary),
    };
    let mut strategies = Vec::new();
    for (strategy, manifest) in cases(&module) {
        strategies.push(measure_one(rig, crds, &module, strategy, &manifest)?);
    }
    Ok(FailureRecord {
        schema_version: FAILURE_SCHEMA,
        envoy_version: envoy_version(&rig.envoy_bin)?,
        measured_at_ms: filterbench_model::now_ms(),
        failing_request: FAILING_REQUEST,
        strategies,
    })
}

/// The manifests measured: the failing Wasm module under each fail strategy, then the failing
/// Lua script (which has none).
fn cases(module: &LocalModule) -> Vec<(Option<&'static str>, Value)> {
    let mut cases: Vec<(Option<&str>, Value)> = ["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"]
        .into_iter()
        .map(|strategy| {
            (
                Some(strategy),
                manifest((
                    "wasm",
                    json!({
                        "url": format!("file://{}", module.path.display()),
                        "sha256": module.sha256,
                        "pluginName": "failure_strategy",
                        "failStrategy": strategy,
                        "type": "HTTP",
                    }),
                )),
            )
        })
        .collect();
    cases.push((
        None,
        manifest((
            "lua",
            json!({ "inlineCode": luaconfig::inline_code(&json!({}), FAILING_SCRIPT) }),
        )),
    ));
    cases
}

/// One manifest, validated, translated as Istio would, run in its own Envoy: what each request
/// met.
fn measure_one(
    rig: &Rig,
    crds: &CrdSchemas,
    module: &LocalModule,
    strategy: Option<&str>,
    manifest: &Value,
) -> Result<StrategyResult> {
    let what = strategy.unwrap_or("lua");
    crds.validate(manifest).map_err(|v| {
        Error::Envoy(format!(
            "failure strategy, {what}: the manifest is invalid: {v}"
        ))
    })?;
    let filter = translate(what, manifest, module)
        .map_err(|e: k8s::Error| Error::Envoy(format!("failure strategy, {what}: {e}")))?;
    let config = &filter.http_filter["typed_config"]["config"];
    let envoy_setting = match filter.variant {
        "wasm" => {
            let mut setting = serde_json::Map::new();
            for key in ["fail_open", "failure_policy"] {
                if let Some(v) = config.get(key) {
                    setting.insert(key.into(), v.clone());
                }
            }
            Value::Object(setting)
        }
        _ => json!({}),
    };
    let variant_name = filter.variant;
    let spec = ListenerSpec {
        name: "f".into(),
        pair: "failure_strategy".into(),
        config: json!({}),
        filter: ListenerFilter::from(filter),
    };
    let mut envoy = Envoy::start(
        &rig.envoy_bin,
        &bootstrap(std::slice::from_ref(&spec), rig.services()),
        &EnvoyOptions::default(),
    )
    .map_err(|e| Error::Envoy(format!("failure strategy, {what}: {e}")))?;
    let requests = send_requests(rig, &mut envoy, what)?;
    envoy.stop();
    Ok(StrategyResult {
        filter: variant_name.to_string(),
        fail_strategy: strategy.map(str::to_string),
        envoy_setting,
        what_happened: what_happened(&requests),
        requests,
    })
}

/// The `REQUESTS` requests, the `FAILING_REQUEST`th marked to fail, the last after a pause:
/// what each one met.
fn send_requests(rig: &Rig, envoy: &mut Envoy, what: &str) -> Result<Vec<RequestResult>> {
    let addr = envoy
        .listener("f")
        .ok_or_else(|| Error::Envoy("failure strategy: no listener".into()))?;
    let mut requests = Vec::new();
    for n in 1..=REQUESTS {
        if n == REQUESTS {
            std::thread::sleep(LAST_PAUSE);
        }
        let mut headers = vec![["x-request".to_string(), n.to_string()]];
        if n == FAILING_REQUEST {
            headers.push(["x-fail".into(), "1".into()]);
        }
        let scenario: Scenario = serde_json::from_value(json!({
            "name": format!("request {n}"),
            "path": "/failure-strategy",
            "headers": headers,
            "expect": { "status": 0, "upstream_reached": false },
        }))
        .map_err(|e| Error::Envoy(format!("failure strategy: a scenario: {e}")))?;
        let outcome = replay(rig, addr, &format!("failure/{what}/{n}"), &scenario);
        requests.push(RequestResult {
            n,
            status: outcome.status,
            reached_upstream: outcome.upstream.is_some(),
            filter_ran: outcome
                .upstream
                .as_ref()
                .is_some_and(|u| u.headers.iter().any(|(k, _)| k == MARK)),
        });
        envoy.check_alive()?;
    }
    Ok(requests)
}

/// One sentence on what happened from the failing request on, from the observations alone.
pub fn what_happened(requests: &[RequestResult]) -> String {
    let at = FAILING_REQUEST as usize - 1;
    let Some(failing) = requests.get(at) else {
        return "the failing request was not sent".into();
    };
    let failing_text = if failing.reached_upstream {
        format!(
            "the failing request went on unfiltered ({})",
            failing.status
        )
    } else {
        format!("the failing request was refused ({})", failing.status)
    };
    let after = &requests[at + 1..];
    let filtered = after.iter().filter(|r| r.filter_ran).count();
    let unfiltered = after
        .iter()
        .filter(|r| r.reached_upstream && !r.filter_ran)
        .count();
    let refused = after.iter().filter(|r| !r.reached_upstream).count();
    let later = match (filtered, unfiltered, refused) {
        (f, 0, 0) if f == after.len() => "every later request was filtered again".to_string(),
        (0, u, 0) if u == after.len() => {
            "every later request went on WITHOUT the filter".to_string()
        }
        (0, 0, r) if r == after.len() => "every later request was refused".to_string(),
        (f, u, r) => format!(
            "of {} later requests {f} filtered, {u} went on without the filter, {r} refused{}",
            after.len(),
            match after.iter().position(|r| r.filter_ran) {
                Some(i) => format!(" (filtered again from request {})", after[i].n),
                None => String::new(),
            }
        ),
    };
    format!("{failing_text}; {later}")
}
