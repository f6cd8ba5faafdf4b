//! The reports of an equivalence run, whichever driver produced them (real Envoy or in-process):
//! per scenario, per pair, the summary line, and the readable failure lines.

use serde::Serialize;

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
            failures,
            results,
            served_by: None,
            notes: Vec::new(),
        }
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
