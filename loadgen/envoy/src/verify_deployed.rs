//! "What is deployed is what was measured": for one pair and one Istio API, the manifests
//! `loadgen k8s manifests` writes are validated against Istio's CRDs (OpenAPI schema and CEL
//! rules), translated into the Envoy HTTP filters Istio gives the proxy ([`crate::k8s::deployed`]:
//! the Lua source with its configuration prelude or its route metadata, the Wasm module fetched
//! from the bundle's OCI layout with every digest checked, `pluginConfig` as the JSON
//! configuration string, V8, `fail_open` from `failStrategy`), and a fresh Envoy serves exactly
//! those. The pair's corpus then runs through them as in [`crate::verify`]: the deployed Lua and
//! Wasm twins must be equivalent and meet every expectation, and each deployed outcome must equal
//! the outcome of the same twin in the verified run (the project's own Lua/Wasm listeners).

use std::path::Path;

use filterbench_model::equivalence::PairReport;
use filterbench_model::outcome::DiffLine;
use filterbench_model::{Catalogue, Diff, Pair};

use crate::bootstrap::ListenerSpec;
use crate::k8s::crd::CrdSchemas;
use crate::k8s::{self, deployed, Api, ManifestOptions};
use crate::verify::{verify_listeners, Rig};
use crate::{Error, Result};

/// The two twins of `pair` as deployed with `api`: the bundle is written to `dir`, its manifests
/// validated with `crds` and translated.
pub fn deployed_listeners(
    catalogue: &Catalogue,
    pair: &Pair,
    api: Api,
    crds: &CrdSchemas,
    dir: &Path,
) -> Result<Vec<ListenerSpec>> {
    let k8s_error = |e: k8s::Error| Error::Envoy(format!("pair {} ({api}): {e}", pair.name));
    let mut opts = ManifestOptions::new(&pair.name);
    opts.api = api;
    let bundle = k8s::generate(catalogue, &opts).map_err(k8s_error)?;
    let written = bundle.write(dir).map_err(k8s_error)?;
    for path in [&written.lua, &written.wasm] {
        let text = std::fs::read_to_string(path)?;
        crds.validate_yaml(&path.display().to_string(), &text)
            .map_err(k8s_error)?;
    }
    let (lua_file, wasm_file) = api.files();
    let (lua, wasm) = deployed::translate_bundle(
        &written.dir,
        lua_file,
        wasm_file,
        &written.dir.join("modules"),
    )
    .map_err(k8s_error)?;
    if lua.variant != "lua" || wasm.variant != "wasm" {
        return Err(Error::Envoy(format!(
            "pair {} ({api}): {lua_file} translated to a {} filter and {wasm_file} to a {} filter",
            pair.name, lua.variant, wasm.variant
        )));
    }
    let config = bundle.target.config.clone();
    Ok(vec![
        ListenerSpec {
            name: "lua".into(),
            pair: pair.name.clone(),
            config: config.clone(),
            filter: lua.into(),
        },
        ListenerSpec {
            name: "wasm".into(),
            pair: pair.name.clone(),
            config,
            filter: wasm.into(),
        },
    ])
}

/// Runs the pair's corpus through its deployed twins (`api`) and compares with `verified`, the
/// report of [`crate::verify::verify_pair`] for the same pair. The report's pair name is
/// `<pair> (<api>)`; a scenario fails when the deployed twins differ from each other, miss an
/// expectation, or differ from the verified run.
pub fn verify_deployed(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    api: Api,
    crds: &CrdSchemas,
    verified: &PairReport,
) -> Result<PairReport> {
    let dir = crate::scratch::Scratch::new("deployed")?;
    let listeners = deployed_listeners(catalogue, pair, api, crds, dir.path())?;
    let report = verify_listeners(rig, catalogue, pair, &listeners)?;
    compare_with_verified(catalogue, pair, api, report, verified)
}

/// `report` (a deployed run of `pair` with `api`) with, on each scenario, the differences of
/// each deployed twin from the same twin in `verified`; named `<pair> (<api>)`.
pub(crate) fn compare_with_verified(
    catalogue: &Catalogue,
    pair: &Pair,
    api: Api,
    mut report: PairReport,
    verified: &PairReport,
) -> Result<PairReport> {
    let differences = outcome_differences(catalogue, pair, verified, &report)
        .map_err(|e| Error::Envoy(format!("pair {} ({api}): {e}", pair.name)))?;
    for (deployed, lines) in report.results.iter_mut().zip(differences) {
        deployed
            .diff
            .extend(lines.into_iter().map(|(side, l)| DiffLine {
                field: format!("verified {side} vs deployed {side} ({api}): {}", l.field),
                left: l.left,
                right: l.right,
            }));
    }
    Ok(PairReport::new(
        &format!("{} ({api})", pair.name),
        report.scenarios,
        report.requests,
        report.results,
    ))
}

/// Per scenario of two runs of `pair`'s corpus (`a`, `b`: the same scenarios in the same order),
/// how each twin's normalised outcome in `b` differs from the same twin's in `a`, as
/// (`lua` or `wasm`, line); empty where they agree.
pub(crate) fn outcome_differences(
    catalogue: &Catalogue,
    pair: &Pair,
    a: &PairReport,
    b: &PairReport,
) -> Result<Vec<Vec<(&'static str, DiffLine)>>> {
    let corpus = filterbench_model::Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name)?;
    if a.results.len() != b.results.len() {
        return Err(Error::Envoy(format!(
            "{} results against {}",
            b.results.len(),
            a.results.len()
        )));
    }
    let mut differences = Vec::new();
    for (a, b) in a.results.iter().zip(&b.results) {
        if a.scenario != b.scenario {
            return Err(Error::Envoy(format!(
                "scenario order differs: {} vs {}",
                b.scenario, a.scenario
            )));
        }
        let name = b.scenario.split('#').next().unwrap_or_default();
        let headers = corpus
            .scenarios
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.headers.clone())
            .unwrap_or_default();
        let mut lines = Vec::new();
        for (side, a, b) in [("lua", &a.lua, &b.lua), ("wasm", &a.wasm, &b.wasm)] {
            let diff = Diff::between(
                &a.normalised(&pair.normalise, &headers),
                &b.normalised(&pair.normalise, &headers),
            );
            lines.extend(diff.lines.into_iter().map(|l| (side, l)));
        }
        differences.push(lines);
    }
    Ok(differences)
}
