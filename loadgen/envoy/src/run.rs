//! `filterbench run --envoy`: the user's own filter in a real Envoy, one listener, the same
//! requests in sequence (one worker, so one VM, as in-process), each request's upstream reply
//! from the echo upstream and its outgoing calls answered by the mock clusters of its call
//! scripts. The caller diffs these outcomes against the in-process ones.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use filterbench_model::corpus::{CallScript, UpstreamReply};
use filterbench_model::outcome::Outcome;
use filterbench_model::request::RunRequest;

use crate::bootstrap::{bootstrap_with_calls, wasm_http_filter, ListenerFilter, ListenerSpec};
use crate::envoy::{Envoy, EnvoyOptions};
use crate::verify::{replay_request, Rig};
use crate::{Error, Result};
use filterbench_load::client::SendRequest;

/// The filter under test.
#[derive(Debug, Clone)]
pub enum RunFilter {
    /// A Lua script (its file for errors, its source), the configuration as route metadata.
    Lua { file: PathBuf, source: String },
    /// A proxy-wasm module file and its plugin configuration, handed over as it is.
    Wasm {
        module: PathBuf,
        configuration: String,
    },
}

impl RunFilter {
    fn file(&self) -> &Path {
        match self {
            RunFilter::Lua { file, .. } => file,
            RunFilter::Wasm { module, .. } => module,
        }
    }
}

/// One request of the run: the request and the call scripts in force while it runs.
#[derive(Debug, Clone)]
pub struct RunStep {
    pub request: RunRequest,
    pub calls: Vec<CallScript>,
}

/// What Envoy did with one request.
#[derive(Debug, Clone)]
pub struct EnvoyResult {
    pub outcome: Outcome,
    /// The lines of the Lua or Wasm filter Envoy logged while serving it (those written by then).
    pub log: Vec<String>,
}

/// The listener's name (and the filter's `vm_id` / plugin name for Wasm).
const LISTENER: &str = "run";

/// Runs `steps` in order through one Envoy listener running `filter`; `metadata` is the Lua
/// filter's route metadata (JSON). Envoy rejecting the filter is an error naming its file.
pub fn run_in_envoy(
    rig: &Rig,
    filter: &RunFilter,
    metadata: &Value,
    steps: &[RunStep],
) -> Result<Vec<EnvoyResult>> {
    let clusters: BTreeSet<String> = steps
        .iter()
        .flat_map(|s| s.calls.iter().map(|c| c.cluster.clone()))
        .collect();
    let ports = rig.call_ports(&clusters)?;
    let listener_filter = match filter {
        RunFilter::Lua { source, .. } => ListenerFilter::Lua {
            source: source.clone(),
        },
        RunFilter::Wasm {
            module,
            configuration,
        } => ListenerFilter::Deployed {
            kind: "wasm",
            http_filter: wasm_http_filter(LISTENER, module, configuration),
            route_metadata: None,
        },
    };
    let spec = ListenerSpec {
        name: LISTENER.into(),
        pair: LISTENER.into(),
        config: metadata.clone(),
        filter: listener_filter,
    };
    let bootstrap = bootstrap_with_calls(std::slice::from_ref(&spec), rig.services(), &ports);
    let mut envoy = match Envoy::start(&rig.envoy_bin, &bootstrap, &EnvoyOptions::default()) {
        Ok(envoy) => envoy,
        Err(Error::EnvoyExited { log, .. }) => {
            return Err(Error::Envoy(format!(
                "{}: Envoy rejected the filter: {}",
                filter.file().display(),
                last_error_line(&log)
            )))
        }
        Err(e) => return Err(e),
    };
    let addr = envoy
        .listener(LISTENER)
        .ok_or_else(|| Error::Envoy("no run listener".into()))?;
    let mut results = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        rig.mock.set(&step.calls);
        let log_from = envoy.log().len();
        let request = SendRequest {
            method: step.request.method.clone(),
            path: step.request.path.clone(),
            headers: step.request.headers.clone(),
            body: step.request.body.clone().into_bytes(),
        };
        let upstream: UpstreamReply = step.request.upstream.clone().unwrap_or_default();
        let outcome = replay_request(rig, addr, &format!("run/{}", i + 1), request, upstream);
        let log = envoy
            .log()
            .get(log_from..)
            .unwrap_or("")
            .lines()
            .filter(|l| l.contains("[lua]") || l.contains("[wasm]"))
            .map(str::to_string)
            .collect();
        envoy.check_alive()?;
        results.push(EnvoyResult { outcome, log });
    }
    envoy.stop();
    Ok(results)
}

/// The last line of Envoy's log that reads like an error (or the last line).
fn last_error_line(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    lines
        .iter()
        .rev()
        .find(|l| l.contains("critical") || l.contains("error"))
        .or(lines.last())
        .map_or_else(String::new, |l| l.trim().to_string())
}
