//! `filterbench verify --envoy --deployed` and `--failure-strategy`: the real-Envoy checks of what
//! Istio deploys.
//!
//! `--deployed` generates every selected pair's manifests (TrafficExtension and/or the legacy
//! EnvoyFilter + WasmPlugin), validates them against Istio's CRDs (schema and CEL rules),
//! translates them into the Envoy filters Istio gives the proxy and replays the corpus through
//! them: each deployed twin must equal the verified twin, outcome for outcome
//! (`filterbench_envoy::verify_deployed`). With `--control-plane istiod` the real Istio control
//! plane does the translation: istiod, built by the project from the Istio commit
//! `loadgen/istiod/go.mod` pins, serves the manifests to a sidecar Envoy per twin
//! (`filterbench_envoy::verify_istiod`). `--failure-strategy` measures what Envoy does when a
//! Wasm filter traps (per failStrategy) or a Lua filter raises, and writes
//! `reports/results/failure/strategy.json` (`filterbench_envoy::failure`).

use std::process::ExitCode;

use anyhow::Context as _;
use filterbench_envoy::verify::{verify_pair, Rig};
use filterbench_envoy::verify_deployed::verify_deployed;
use filterbench_envoy::verify_istiod::{verify_deployed_istiod, ControlPlane};
use filterbench_k8s::crd::CrdSchemas;
use filterbench_k8s::Api;
use filterbench_model::equivalence::PairReport;
use filterbench_model::results::failure::{failure_path, FailureRecord};
use filterbench_model::results::{results_dir, write_json_atomically};
use filterbench_model::{project_root, Catalogue, Pair};
use filterbench_reports::failure::describe;

/// Which APIs `--deployed` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ApiChoice {
    /// TrafficExtension and legacy.
    #[default]
    Both,
    Trafficextension,
    Legacy,
}

impl ApiChoice {
    fn apis(self) -> Vec<Api> {
        match self {
            ApiChoice::Both => vec![Api::TrafficExtension, Api::Legacy],
            ApiChoice::Trafficextension => vec![Api::TrafficExtension],
            ApiChoice::Legacy => vec![Api::Legacy],
        }
    }
}

/// Who turns the manifests into Envoy configuration for `--deployed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ControlPlaneChoice {
    /// The project's own translation (`filterbench_k8s::deployed`, after pilot's extensions.go):
    /// no Go needed.
    Own,
    /// The real Istio control plane: istiod (Istio's discovery server, `loadgen/istiod`, built from the Istio commit
    /// `loadgen/istiod/go.mod` pins) serves the manifests over xDS to a sidecar Envoy per twin.
    #[default]
    Istiod,
}

impl ControlPlaneChoice {
    /// For `all`: istiod when a usable Go toolchain is there to build it, else the own
    /// translation and the reason (exactly what is missing), which `all` prints.
    pub fn istiod_if_go() -> (ControlPlaneChoice, Option<String>) {
        match filterbench_build::go::check_go(&filterbench_build::go::go_command()) {
            Ok(_) => (ControlPlaneChoice::Istiod, None),
            Err(e) => (ControlPlaneChoice::Own, Some(e.to_string())),
        }
    }
}

/// Every selected pair: the verified run (taken from `verified` when it holds the pair, as in
/// `filterbench all`, else run here), then one deployed run per API, its manifests turned into
/// Envoy configuration by `control_plane`. Reports of the deployed runs are named
/// `<pair> (<api>)`. Answers the reports and, with istiod, what served them
/// (`istiod <version> (istio/istio <commit>)`).
#[allow(clippy::too_many_arguments)]
pub fn deployed_reports(
    rig: &Rig,
    version: &str,
    catalogue: &Catalogue,
    pairs: &[&Pair],
    verified: &[PairReport],
    apis: ApiChoice,
    control_plane: ControlPlaneChoice,
    print: bool,
) -> anyhow::Result<(Vec<PairReport>, Option<String>)> {
    let crds = CrdSchemas::load_default().context("loading Istio's CRDs")?;
    let istiod = match control_plane {
        ControlPlaneChoice::Own => None,
        ControlPlaneChoice::Istiod => {
            if print {
                println!(
                    "istiod (loadgen/istiod, Go): building it, or checking it is up to date, in \
                     target/istiod (a machine's first build takes minutes)"
                );
            }
            Some(ControlPlane::build(&catalogue.root).context(
                "the real control plane (`--control-plane own` uses the project's own \
                 translation, no Go needed)",
            )?)
        }
    };
    let served_by = match &istiod {
        Some(cp) => format!("{}, served by {}", version, cp.describe()),
        None => format!("{version}, the project's own translation"),
    };
    if print {
        println!(
            "verifying what is deployed for {} pair(s) ({}) in Envoy {served_by} ({})",
            pairs.len(),
            apis.apis()
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", "),
            rig.envoy_bin.display()
        );
    }
    if let Some(cp) = &istiod {
        let order = filterbench_envoy::phase_order::check(rig, cp, &crds)
            .context("phase and priority through istiod")?;
        if print || !order.holds() {
            println!("{}", order.line());
        }
        if !order.holds() {
            anyhow::bail!("istiod did not order the TrafficExtensions as their manifests say");
        }
    }
    let mut reports = Vec::new();
    for pair in pairs {
        let run_here;
        let verified = match verified.iter().find(|r| r.pair == pair.name) {
            Some(r) => r,
            None => {
                run_here = verify_pair(rig, catalogue, pair)
                    .with_context(|| format!("pair {}: the verified run", pair.name))?;
                &run_here
            }
        };
        for api in apis.apis() {
            let context = || format!("pair {}: the deployed run ({api})", pair.name);
            let (report, notes) = match &istiod {
                None => (
                    verify_deployed(rig, catalogue, pair, api, &crds, verified)
                        .with_context(context)?,
                    Vec::new(),
                ),
                Some(cp) => {
                    let run =
                        verify_deployed_istiod(rig, catalogue, pair, api, &crds, cp, verified)
                            .with_context(context)?;
                    let notes = istiod_notes(&run);
                    (run.report, notes)
                }
            };
            if print {
                crate::print_pair(&report);
                for line in &notes {
                    println!("  {line}");
                }
            }
            reports.push(report);
        }
    }
    Ok((reports, istiod.as_ref().map(ControlPlane::describe)))
}

/// What an istiod run adds below its summary line: how istiod's config differs from the own
/// translation and the run's notes (what its connection manager changes, and what that sets
/// aside).
fn istiod_notes(run: &filterbench_envoy::verify_istiod::IstiodRun) -> Vec<String> {
    let mut notes: Vec<String> = run
        .config_differences
        .iter()
        .map(|line| format!("istiod vs own translation: {line}"))
        .collect();
    notes.extend(run.report.notes.iter().cloned());
    notes
}

/// Measures what Envoy does with a failing filter per failure strategy and saves it where the
/// report reads it (`reports/results/failure/strategy.json`).
pub fn measure_failure_strategies(
    rig: &Rig,
    root: &std::path::Path,
) -> anyhow::Result<(FailureRecord, std::path::PathBuf)> {
    let crds = CrdSchemas::load_default().context("loading Istio's CRDs")?;
    let work = tempfile::tempdir().context("a temporary directory for the failing module")?;
    let record = filterbench_envoy::failure::measure(rig, &crds, work.path())?;
    let path = failure_path(&results_dir(root));
    write_json_atomically(&path, &record).with_context(|| format!("writing {}", path.display()))?;
    Ok((record, path))
}

/// `filterbench verify --envoy --failure-strategy`.
pub fn failure_strategy(json: bool) -> anyhow::Result<ExitCode> {
    let (rig, _) = crate::envoy_rig()?;
    let (record, path) = measure_failure_strategies(&rig, &project_root())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else {
        println!(
            "Envoy {}: request {} makes the filter fail",
            record.envoy_version, record.failing_request
        );
        for s in &record.strategies {
            let requests: Vec<String> = s.requests.iter().map(describe).collect();
            println!(
                "{} {} {}: {} => {}",
                s.filter,
                s.fail_strategy.as_deref().unwrap_or("(Lua)"),
                s.envoy_setting,
                requests.join(" | "),
                s.what_happened
            );
        }
        println!("saved {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
