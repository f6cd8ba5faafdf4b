//! The reports of an equivalence run, whichever driver produced them (real Envoy or in-process):
//! per scenario, per pair, the summary line, and the readable failure lines.

use serde::{Deserialize, Serialize};

use crate::outcome::{DiffLine, Outcome};
use crate::twin::TwinKind;

/// The report on one scenario (or one `before` repetition of it).
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub scenario: String,
    /// Where the Lua and Wasm outcomes differ (after normalising).
    pub diff: Vec<DiffLine>,
    /// Expectations the Lua variant missed.
    pub lua_misses: Vec<String>,
    /// Expectations the twin (Wasm or another kind: [`PairReport::twin`]) missed.
    pub wasm_misses: Vec<String>,
    /// The raw outcomes (not normalised).
    #[serde(skip)]
    pub lua: Outcome,
    #[serde(skip)]
    pub wasm: Outcome,
}

impl ScenarioReport {
    pub fn passed(&self) -> bool {
        self.diff.is_empty() && self.lua_misses.is_empty() && self.wasm_misses.is_empty()
    }
}

/// The report on one pair.
#[derive(Debug, Clone, Serialize)]
pub struct PairReport {
    pub pair: String,
    /// The twin proven against the Lua filter (the `wasm` side of each scenario's report).
    pub twin: TwinKind,
    /// Scenarios in the corpus.
    pub scenarios: usize,
    /// Requests sent per variant (scenarios plus their `before` repetitions).
    pub requests: usize,
    pub equivalent: bool,
    /// Per configuration, what was proven; empty when the pair has only its `default`
    /// configuration (then every scenario ran under it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<ConfigProof>,
    /// Every scenario that did not pass.
    pub failures: Vec<ScenarioReport>,
    /// All results, passing ones included.
    #[serde(skip)]
    pub results: Vec<ScenarioReport>,
    /// For a deployed check: what turned the manifests into Envoy's configuration, when it was
    /// a control plane (`istiod 1.31-dev (istio/istio eed52ebb66ad)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served_by: Option<String>,
    /// What a reader must know beside the verdict (e.g. scenarios whose request istiod's
    /// connection manager changes before the filters, and the expectations set aside for them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl PairReport {
    pub fn new(
        pair: &str,
        scenarios: usize,
        requests: usize,
        results: Vec<ScenarioReport>,
    ) -> PairReport {
        let failures: Vec<ScenarioReport> =
            results.iter().filter(|r| !r.passed()).cloned().collect();
        PairReport {
            pair: pair.to_string(),
            twin: TwinKind::Wasm,
            scenarios,
            requests,
            equivalent: failures.is_empty(),
            configs: Vec::new(),
            failures,
            results,
            served_by: None,
            notes: Vec::new(),
        }
    }

    /// The reports of a pair's corpus parts, one per configuration
    /// ([`crate::corpus::Corpus::by_config`]), as one report: results in order, counts summed.
    /// With `several` (the pair has more configurations than `default`), each result's label
    /// names its configuration (`scenario [NAME]`) and [`PairReport::configs`] keeps the counts
    /// of each of `configurations` (the pair's, in order; one no scenario runs under counts 0).
    pub fn of_configs(
        pair: &str,
        configurations: &[&str],
        parts: Vec<(String, PairReport)>,
        several: bool,
    ) -> PairReport {
        if !several && parts.len() == 1 {
            return parts.into_iter().next().expect("one part").1;
        }
        let twin = parts.first().map_or(TwinKind::Wasm, |(_, r)| r.twin);
        let served_by = parts.first().and_then(|(_, r)| r.served_by.clone());
        let mut notes: Vec<String> = Vec::new();
        for note in parts.iter().flat_map(|(_, r)| r.notes.iter()) {
            if !notes.contains(note) {
                notes.push(note.clone());
            }
        }
        let mut configs: Vec<ConfigProof> = configurations
            .iter()
            .map(|name| ConfigProof {
                name: name.to_string(),
                ..ConfigProof::default()
            })
            .collect();
        let (mut scenarios, mut requests, mut results) = (0, 0, Vec::new());
        for (name, report) in parts {
            scenarios += report.scenarios;
            requests += report.requests;
            if let Some(proof) = configs.iter_mut().find(|c| c.name == name) {
                proof.scenarios = report.scenarios;
                proof.requests = report.requests;
                proof.failed = report.failures.len();
            }
            results.extend(report.results.into_iter().map(|mut r| {
                if several {
                    r.scenario = format!("{} [{name}]", r.scenario);
                }
                r
            }));
        }
        let mut report = PairReport::new(pair, scenarios, requests, results).of_twin(twin);
        report.served_by = served_by;
        report.notes = notes;
        if several {
            report.configs = configs;
        }
        report
    }

    /// `default 6, with_auth 5 (2 checks failed)`: the per-configuration counts, when kept.
    pub fn configs_line(&self) -> Option<String> {
        if self.configs.is_empty() {
            return None;
        }
        Some(configs_line(&self.configs))
    }

    /// This report as the proof of a twin of `kind` (a new report is of the Rust Wasm twin).
    pub fn of_twin(mut self, kind: TwinKind) -> PairReport {
        self.twin = kind;
        self
    }

    /// Human-readable lines for the failures: scenario, field, Lua value, twin value (the twin
    /// named by its kind's id: `wasm`, `go-wasm`, `native`).
    pub fn failure_lines(&self) -> Vec<String> {
        let twin = self.twin.id();
        let mut out = Vec::new();
        for f in &self.failures {
            for d in &f.diff {
                out.push(format!(
                    "  {} / {}: {}: lua {} | {twin} {}",
                    self.pair, f.scenario, d.field, d.left, d.right
                ));
            }
            for m in &f.lua_misses {
                out.push(format!("  {} / {}: lua: {m}", self.pair, f.scenario));
            }
            for m in &f.wasm_misses {
                out.push(format!("  {} / {}: {twin}: {m}", self.pair, f.scenario));
            }
        }
        out
    }
}

/// What was proven under one of a pair's configurations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigProof {
    /// The configuration's name.
    pub name: String,
    /// Scenarios that ran under it (0: none does, so it is not proven).
    pub scenarios: usize,
    /// Requests sent per variant under it.
    #[serde(default)]
    pub requests: usize,
    /// Checks that failed under it.
    pub failed: usize,
}

/// `default 6 scenarios, with_auth 5 scenarios (2 checks failed), other: no scenarios`.
pub fn configs_line(configs: &[ConfigProof]) -> String {
    configs
        .iter()
        .map(|c| match (c.scenarios, c.failed) {
            (0, _) => format!("{}: no scenarios (not proven)", c.name),
            (n, 0) => format!("{} {n} scenario(s)", c.name),
            (n, failed) => format!("{} {n} scenario(s) ({failed} check(s) failed)", c.name),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The totals over pairs, as printed on the summary line.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub pairs: usize,
    pub scenarios: usize,
    pub equivalent: usize,
    pub differ: usize,
}

impl Summary {
    pub fn of(reports: &[PairReport]) -> Summary {
        let equivalent = reports.iter().filter(|r| r.equivalent).count();
        Summary {
            pairs: reports.len(),
            scenarios: reports.iter().map(|r| r.scenarios).sum(),
            equivalent,
            differ: reports.len() - equivalent,
        }
    }

    /// `12 pairs, 295 scenarios: 12 equivalent, 0 differ`
    pub fn line(&self) -> String {
        format!(
            "{} pairs, {} scenarios: {} equivalent, {} differ",
            self.pairs, self.scenarios, self.equivalent, self.differ
        )
    }
}
