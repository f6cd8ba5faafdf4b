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
use filterbench_model::{Catalogue, Diff, Pair, TwinKind};

use crate::bootstrap::ListenerSpec;
use crate::k8s::crd::CrdSchemas;
use crate::k8s::{self, deployed, Api, ManifestOptions};
use crate::verify::{verify_listeners_of, Rig};
use crate::{Error, Result};

/// The Lua twin and the twin of `kind` of `pair` as deployed with `api`: the bundle is written to
/// `dir`, both manifests validated with `crds` and translated.
pub fn deployed_listeners(
    catalogue: &Catalogue,
    pair: &Pair,
    api: Api,
    kind: TwinKind,
    crds: &CrdSchemas,
    dir: &Path,
) -> Result<Vec<ListenerSpec>> {
    let what = deployed_name(&pair.name, api, kind);
    let k8s_error = |e: k8s::Error| Error::Envoy(format!("pair {what}: {e}"));
    let mut opts = ManifestOptions::new(&pair.name);
    opts.api = api;
    let bundle = k8s::generate(catalogue, &opts).map_err(k8s_error)?;
    let written = bundle.write(dir).map_err(k8s_error)?;
    let (lua_file, _) = api.files();
    let (twin_file, _) = bundle.twin_manifest(kind).ok_or_else(|| {
        let why = bundle
            .missing_twins
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or_else(|| "the pair has none".to_string(), |(_, why)| why.clone());
        Error::Envoy(format!(
            "pair {what}: no {} twin to deploy: {why}",
            kind.label()
        ))
    })?;
    for file in [lua_file, twin_file] {
        let path = written.dir.join(file);
        let text = std::fs::read_to_string(&path)?;
        crds.validate_yaml(&path.display().to_string(), &text)
            .map_err(k8s_error)?;
    }
    let (lua, twin) = deployed::translate_bundle(
        &written.dir,
        lua_file,
        twin_file,
        kind,
        &written.dir.join("modules"),
    )
    .map_err(k8s_error)?;
    let twin_variant = if kind.is_proxy_wasm() {
        "wasm"
    } else {
        "native"
    };
    if lua.variant != "lua" || twin.variant != twin_variant {
        return Err(Error::Envoy(format!(
            "pair {what}: {lua_file} translated to a {} filter and {twin_file} to a {} filter",
            lua.variant, twin.variant
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
            name: kind.id().into(),
            pair: pair.name.clone(),
            config,
            filter: twin.into(),
        },
    ])
}

/// The name of a deployed run's report: `<pair> (<api>)` for the Rust Wasm twin (the name
/// scripts and the report read), `<pair> (<api>, <kind>)` for the other kinds.
pub fn deployed_name(pair: &str, api: Api, kind: TwinKind) -> String {
    match kind {
        TwinKind::Wasm => format!("{pair} ({api})"),
        kind => format!("{pair} ({api}, {kind})"),
    }
}

/// Runs the pair's corpus through its deployed Lua twin and twin of `kind` (`api`) and compares
/// with `verified`, the report of [`crate::verify::verify_twin`] for the same pair and kind.
/// The report is named by [`deployed_name`]; a scenario fails when the deployed twins differ
/// from each other, miss an expectation, or differ from the verified run.
pub fn verify_deployed(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    api: Api,
    kind: TwinKind,
    crds: &CrdSchemas,
    verified: &PairReport,
) -> Result<PairReport> {
    let dir = crate::scratch::Scratch::new("deployed")?;
    let listeners = deployed_listeners(catalogue, pair, api, kind, crds, dir.path())?;
    let report = verify_listeners_of(rig, catalogue, pair, &listeners, kind)?;
    compare_with_verified(catalogue, pair, api, report, verified)
}

/// `report` (a deployed run of `pair` with `api`) with, on each scenario, the differences of
/// each deployed twin from the same twin in `verified`; named by [`deployed_name`].
pub(crate) fn compare_with_verified(
    catalogue: &Catalogue,
    pair: &Pair,
    api: Api,
    mut report: PairReport,
    verified: &PairReport,
) -> Result<PairReport> {
    let kind = verified.twin;
    let name = deployed_name(&pair.name, api, kind);
    if report.twin != kind {
        return Err(Error::Envoy(format!(
            "pair {name}: a deployed {} run compared with a verified {} run",
            report.twin, kind
        )));
    }
    let differences = outcome_differences(catalogue, pair, verified, &report)
        .map_err(|e| Error::Envoy(format!("pair {name}: {e}")))?;
    for (deployed, lines) in report.results.iter_mut().zip(differences) {
        deployed
            .diff
            .extend(lines.into_iter().map(|(side, l)| DiffLine {
                field: format!("verified {side} vs deployed {side} ({api}): {}", l.field),
                left: l.left,
                right: l.right,
            }));
    }
    let mut named = PairReport::new(&name, report.scenarios, report.requests, report.results);
    named.twin = kind;
    Ok(named)
}

/// Per scenario of two runs of `pair`'s corpus (`a`, `b`: the same scenarios in the same order),
/// how each twin's normalised outcome in `b` differs from the same twin's in `a`, as
/// (`lua` or the twin's kind id, line); empty where they agree.
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
    let twin = b.twin.id();
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
        for (side, a, b) in [("lua", &a.lua, &b.lua), (twin, &a.wasm, &b.wasm)] {
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
