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
use filterbench_envoy::verify::{verify_twin, Rig};
use filterbench_envoy::verify_deployed::{deployed_name, verify_deployed};
use filterbench_envoy::verify_istiod::{verify_deployed_istiod_all, ControlPlane, MeshReferences};
use filterbench_k8s::crd::CrdSchemas;
use filterbench_k8s::Api;
use filterbench_model::equivalence::PairReport;
use filterbench_model::results::failure::{failure_path, FailureRecord};
use filterbench_model::results::{results_dir, write_json_atomically};
use filterbench_model::{project_root, Catalogue, Pair, TwinKind};
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

/// Every selected pair and each of its twins of `kinds`: the verified run of that twin (taken
/// from `verified` when it holds it, as in `filterbench all`, else run here), then one deployed
/// run per API, its manifests turned into Envoy configuration by `control_plane`. A native
/// twin's manifest is the same `EnvoyFilter` under either API, so it is deployed once, beside
/// the first API's Lua manifest. Reports are named `<pair> (<api>)` (Rust Wasm) or
/// `<pair> (<api>, <kind>)`. Answers the reports and, with istiod, what served them
/// (`istiod <version> (istio/istio <commit>)`).
#[allow(clippy::too_many_arguments)]
pub fn deployed_reports(
    rig: &Rig,
    version: &str,
    catalogue: &Catalogue,
    pairs: &[&Pair],
    kinds: &[TwinKind],
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
    let deploy = Deploy {
        rig,
        catalogue,
        crds: &crds,
    };
    let mut twins: Vec<(&Pair, PairReport)> = Vec::new();
    for pair in pairs {
        for &kind in kinds {
            if catalogue.twin(&pair.name, kind).is_some() {
                twins.extend(
                    deploy
                        .verified(pair, kind, verified, print)?
                        .map(|v| (*pair, v)),
                );
            }
        }
    }
    let reports = match &istiod {
        None => deploy.own(&twins, apis, print)?,
        Some(cp) => deploy.served(&twins, apis, cp, print)?,
    };
    Ok((reports, istiod.as_ref().map(ControlPlane::describe)))
}

/// The APIs a twin of `kind` is deployed under: each of `apis`, but a native twin's manifest is
/// the same `EnvoyFilter` under either, so it is deployed under the first only.
fn apis_of(kind: TwinKind, apis: ApiChoice) -> Vec<Api> {
    let mut apis = apis.apis();
    if kind == TwinKind::Native {
        apis.truncate(1);
    }
    apis
}

/// What a deployed run needs: Envoy and the loopback services, the catalogue and Istio's CRDs.
struct Deploy<'a> {
    rig: &'a Rig,
    catalogue: &'a Catalogue,
    crds: &'a CrdSchemas,
}

impl Deploy<'_> {
    /// The verified run of `pair`'s twin of `kind` (taken from `verified` when it holds it,
    /// else run here); `None`, said with `print`, when the twin is not equivalent to the Lua
    /// filter: nothing proven to deploy.
    fn verified(
        &self,
        pair: &Pair,
        kind: TwinKind,
        verified: &[PairReport],
        print: bool,
    ) -> anyhow::Result<Option<PairReport>> {
        let report = match verified
            .iter()
            .find(|r| r.pair == pair.name && r.twin == kind)
        {
            Some(r) => r.clone(),
            None => verify_twin(self.rig, self.catalogue, pair, kind)
                .with_context(|| format!("pair {}: the verified {kind} run", pair.name))?,
        };
        if !report.equivalent {
            if print {
                println!(
                    "{}: its {} twin is not equivalent (verify --envoy --twin {kind}): its \
                     manifests are not checked",
                    pair.name,
                    kind.label()
                );
            }
            return Ok(None);
        }
        Ok(Some(report))
    }

    /// The deployed runs of `twins` (each a pair and its twin's verified run), in that order,
    /// each under its APIs ([`apis_of`]), translated by the project's own translation.
    fn own(
        &self,
        twins: &[(&Pair, PairReport)],
        apis: ApiChoice,
        print: bool,
    ) -> anyhow::Result<Vec<PairReport>> {
        let mut reports = Vec::new();
        for (pair, verified) in twins {
            for api in apis_of(verified.twin, apis) {
                let report = verify_deployed(
                    self.rig,
                    self.catalogue,
                    pair,
                    api,
                    verified.twin,
                    self.crds,
                    verified,
                )
                .with_context(|| {
                    format!(
                        "pair {}: the deployed run",
                        deployed_name(&pair.name, api, verified.twin)
                    )
                })?;
                if print {
                    crate::print_pair(&report);
                }
                reports.push(report);
            }
        }
        Ok(reports)
    }

    /// [`Deploy::own`] with istiod serving the manifests: one istiod per API for every twin
    /// deployed under it ([`verify_deployed_istiod_all`]), each run printed as it ends; the
    /// reports in the order of [`Deploy::own`].
    fn served(
        &self,
        twins: &[(&Pair, PairReport)],
        apis: ApiChoice,
        cp: &ControlPlane,
        print: bool,
    ) -> anyhow::Result<Vec<PairReport>> {
        let mut references = MeshReferences::default();
        let mut runs: Vec<(usize, usize, PairReport)> = Vec::new();
        for (a, api) in apis.apis().into_iter().enumerate() {
            let these: Vec<usize> = (0..twins.len())
                .filter(|&i| apis_of(twins[i].1.twin, apis).contains(&api))
                .collect();
            if these.is_empty() {
                continue;
            }
            let batch: Vec<(&Pair, &PairReport)> =
                these.iter().map(|&i| (twins[i].0, &twins[i].1)).collect();
            let served = verify_deployed_istiod_all(
                self.rig,
                self.catalogue,
                &batch,
                api,
                self.crds,
                cp,
                &mut references,
                &mut |run| {
                    if print {
                        crate::print_pair(&run.report);
                        for line in istiod_notes(run) {
                            println!("  {line}");
                        }
                    }
                },
            )
            .with_context(|| format!("the deployed runs ({api}) served by istiod"))?;
            runs.extend(
                these
                    .into_iter()
                    .zip(served)
                    .map(|(i, run)| (i, a, run.report)),
            );
        }
        runs.sort_by_key(|(i, a, _)| (*i, *a));
        Ok(runs.into_iter().map(|(_, _, report)| report).collect())
    }
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
