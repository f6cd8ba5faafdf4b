//! The migration decision tree: the widely quoted questions (capability Lua lacks? does the
//! filter cost enough to matter? is Wasm cheaper? memory? team knows Rust? complex data
//! processing?) answered from measurements **with their intervals** and the pair's catalogue
//! traits, with thresholds from a policy file (`reports/policy.toml`).
//!
//! Without a Wasm twin proven equivalent (none written yet, or one that differs; its load run is
//! then usually Lua-only) the tree asks only whether the Lua filter costs enough to matter, from
//! what Lua adds over the baseline: the whole interval below the bar keeps Lua (settled without
//! a twin), wholly above it says to write and prove the twin first, straddling it is too close
//! to call. No Wasm figure is made up for it.
//!
//! The tree is one data structure, [`TREE`]: [`decide`] walks it (each [`Question`] is answered
//! by one function, the answer picks the branch) and the report draws the same value, so the
//! drawing cannot drift from the decision. Leaves are a [`Leaf`] enum.
//!
//! A measured difference only decides when its whole 95% interval lies beyond the policy's
//! threshold; otherwise the answer is "no measurable difference" and the tree goes on as for
//! "not cheaper" (the status quo: keep Lua, unless a capability or the data-processing branch
//! says otherwise). [`decide`] also resamples the load rounds ([`filterbench_model::stats::resamples`]) and
//! re-runs the tree on each resample: the share that reaches the same verdict is the verdict's
//! confidence, and below the policy's minimum the call is "too close to call".

use serde::{Deserialize, Serialize};

use filterbench_model::catalogue::{ChangeFrequency, Traits};
use filterbench_model::results::MeasurementPolicy;
use filterbench_model::stats::{paired, resamples, Interval};

mod tree;

pub use tree::{Answer, Branch, Leaf, Question, TreeNode, Verdict, TREE};
use Answer::{No, NoMeasurableDifference as Same, Unknown, Yes};

/// Thresholds and team profile (`reports/policy.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub lua_cost: LuaCostPolicy,
    pub saving: SavingPolicy,
    pub memory: MemoryPolicy,
    pub confidence: ConfidencePolicy,
    pub measurement: MeasurementPolicy,
    pub team: TeamPolicy,
}

/// "Does the Lua filter cost enough to matter?": below both, a migration can save at most that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LuaCostPolicy {
    /// Envoy CPU per request the Lua filter adds over the baseline, microseconds.
    pub min_cpu_us: f64,
    /// Latency the Lua filter adds at p50 (open loop), microseconds.
    pub min_latency_us: f64,
}

/// "Does Wasm cost measurably less than Lua?"
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavingPolicy {
    /// The saving (Lua minus Wasm, Envoy CPU per request) must exceed this, microseconds...
    pub min_cpu_us: f64,
    /// ...and this share of the Lua filter's added cost, percent.
    pub min_pct: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryPolicy {
    pub max_extra_mib_per_worker: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfidencePolicy {
    /// Resamples of the rounds the tree is re-run on.
    pub resamples: usize,
    /// Below this share reaching the same verdict, the call is "too close to call".
    pub min_share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamPolicy {
    pub knows_rust: bool,
}

impl Policy {
    /// The documented defaults (the shipped `reports/policy.toml`).
    pub fn default_policy() -> Policy {
        toml::from_str(include_str!("../policy.toml")).expect("the shipped policy parses")
    }

    pub fn load(path: &std::path::Path) -> Result<Policy, crate::Error> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::Error::Policy {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let policy: Policy = toml::from_str(&text).map_err(|e| crate::Error::Policy {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
        policy.check().map_err(|message| crate::Error::Policy {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(policy)
    }

    /// Values a run can act on: counts and durations that end (a million resamples would keep
    /// the report busy for hours; a budget of 1e300 s never ends), shares that are shares.
    pub fn check(&self) -> Result<(), String> {
        let c = &self.confidence;
        let m = &self.measurement;
        let finite = |name: &str, v: f64, lo: f64, hi: f64| {
            if v.is_finite() && v >= lo && v <= hi {
                Ok(())
            } else {
                Err(format!(
                    "{name} = {v} is out of range (between {lo} and {hi})"
                ))
            }
        };
        let count = |name: &str, v: usize, lo: usize, hi: usize| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(format!(
                    "{name} = {v} is out of range (between {lo} and {hi})"
                ))
            }
        };
        count("confidence.resamples", c.resamples, 1, 100_000)?;
        finite("confidence.min_share", c.min_share, 0.0, 1.0)?;
        count("measurement.min_rounds", m.min_rounds, 1, 10_000)?;
        count("measurement.max_rounds", m.max_rounds, 1, 10_000)?;
        finite(
            "measurement.pair_budget_secs",
            m.pair_budget_secs,
            1.0,
            86_400.0,
        )?;
        finite(
            "measurement.target_half_width_us",
            m.target_half_width_us,
            0.0,
            1e6,
        )?;
        finite(
            "measurement.target_half_width_pct",
            m.target_half_width_pct,
            0.0,
            100.0,
        )?;
        finite("lua_cost.min_cpu_us", self.lua_cost.min_cpu_us, 0.0, 1e9)?;
        finite(
            "lua_cost.min_latency_us",
            self.lua_cost.min_latency_us,
            0.0,
            1e9,
        )?;
        finite("saving.min_cpu_us", self.saving.min_cpu_us, 0.0, 1e9)?;
        finite("saving.min_pct", self.saving.min_pct, 0.0, 100.0)?;
        finite(
            "memory.max_extra_mib_per_worker",
            self.memory.max_extra_mib_per_worker,
            0.0,
            1e9,
        )?;
        Ok(())
    }
}

/// One measure of one round for the three variants; `None` where a variant was not measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Triple {
    pub base: Option<f64>,
    pub lua: Option<f64>,
    pub wasm: Option<f64>,
}

/// The paired open-loop rounds of a pair in real Envoy (one worker, all variants at one rate).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairedRounds {
    /// The fixed request rate of every round, requests per second.
    pub rate_rps: f64,
    /// Envoy CPU time per request, microseconds, one entry per round.
    pub cpu_us: Vec<Triple>,
    pub p50_us: Vec<Triple>,
    pub p90_us: Vec<Triple>,
    pub p99_us: Vec<Triple>,
}

impl PairedRounds {
    pub fn len(&self) -> usize {
        self.cpu_us.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cpu_us.is_empty()
    }

    /// The rounds at `indices` (a bootstrap resample).
    pub fn select(&self, indices: &[usize]) -> PairedRounds {
        let pick = |v: &Vec<Triple>| indices.iter().filter_map(|&i| v.get(i).copied()).collect();
        PairedRounds {
            rate_rps: self.rate_rps,
            cpu_us: pick(&self.cpu_us),
            p50_us: pick(&self.p50_us),
            p90_us: pick(&self.p90_us),
            p99_us: pick(&self.p99_us),
        }
    }
}

fn side(v: &[Triple], f: fn(&Triple) -> Option<f64>) -> Vec<Option<f64>> {
    v.iter().map(f).collect()
}

/// Which paired difference of one measure: which variant minus which (the outcome diff is
/// `filterbench_model::outcome::Diff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairedDifference {
    LuaOverBase,
    WasmOverBase,
    WasmMinusLua,
}

impl PairedDifference {
    /// The median of the per-round differences and its interval; `None` without paired rounds.
    pub fn of(self, rounds: &[Triple]) -> Option<Interval> {
        let (a, b) = match self {
            PairedDifference::LuaOverBase => (side(rounds, |t| t.lua), side(rounds, |t| t.base)),
            PairedDifference::WasmOverBase => (side(rounds, |t| t.wasm), side(rounds, |t| t.base)),
            PairedDifference::WasmMinusLua => (side(rounds, |t| t.wasm), side(rounds, |t| t.lua)),
        };
        Interval::of_median(&paired(&a, &b))
    }
}

/// Every difference the report shows for a pair, each with its interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Costs {
    pub rounds: usize,
    pub rate_rps: f64,
    pub lua_cpu_us: Option<Interval>,
    pub wasm_cpu_us: Option<Interval>,
    pub wasm_minus_lua_cpu_us: Option<Interval>,
    /// Added latency over the baseline at p50, p90, p99 (open loop).
    pub lua_latency_us: [Option<Interval>; 3],
    pub wasm_latency_us: [Option<Interval>; 3],
    pub wasm_minus_lua_latency_us: [Option<Interval>; 3],
}

impl Costs {
    pub fn of(r: &PairedRounds) -> Costs {
        let lat = |d: PairedDifference| [d.of(&r.p50_us), d.of(&r.p90_us), d.of(&r.p99_us)];
        Costs {
            rounds: r.len(),
            rate_rps: r.rate_rps,
            lua_cpu_us: PairedDifference::LuaOverBase.of(&r.cpu_us),
            wasm_cpu_us: PairedDifference::WasmOverBase.of(&r.cpu_us),
            wasm_minus_lua_cpu_us: PairedDifference::WasmMinusLua.of(&r.cpu_us),
            lua_latency_us: lat(PairedDifference::LuaOverBase),
            wasm_latency_us: lat(PairedDifference::WasmOverBase),
            wasm_minus_lua_latency_us: lat(PairedDifference::WasmMinusLua),
        }
    }
}

/// Everything the tree looks at for one pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Equivalence of the twins, if it was checked.
    pub equivalent: Option<bool>,
    /// Where equivalence was checked (`real Envoy`, `in-process`), said on the path.
    #[serde(default)]
    pub equivalence_source: Option<String>,
    /// The paired open-loop rounds in real Envoy, if measured.
    pub rounds: Option<PairedRounds>,
    /// Extra resident memory of the Wasm variant over the Lua variant per worker, MiB.
    pub wasm_extra_mib_per_worker: Option<f64>,
    /// What the catalogue says the filter needs (its traits).
    pub traits: Traits,
    /// A capability Envoy's Lua lacks (custom metrics, shared data across workers, ...), if any:
    /// the catalogue's `capability_gap`.
    pub capability_gap: Option<String>,
}

/// One question on the path, its answer and the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Stable id of the question (the report draws the tree with it).
    pub id: String,
    pub question: String,
    pub answer: String,
    pub evidence: String,
}

/// How stable a verdict is: the tree re-run on resamples of the rounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confidence {
    pub resamples: usize,
    /// Share of resamples reaching each verdict, largest first.
    pub shares: Vec<(Verdict, f64)>,
    /// Share reaching the verdict of all rounds.
    pub share: f64,
}

impl Confidence {
    /// `62% migrate / 38% keep Lua`.
    pub fn split_words(&self) -> String {
        self.shares
            .iter()
            .map(|(v, s)| format!("{:.0}% {}", s * 100.0, v.label()))
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

/// The tree's output for one pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// What the tree says on all rounds.
    pub verdict: Verdict,
    /// What the report says: `verdict`, or [`Verdict::TooCloseToCall`] when its confidence is
    /// below the policy's minimum.
    pub call: Verdict,
    pub leaf: Leaf,
    pub path: Vec<Step>,
    pub reasons: Vec<String>,
    /// `None` when no load rounds were measured (nothing to resample).
    pub confidence: Option<Confidence>,
    /// The paired differences behind the path.
    pub costs: Option<Costs>,
}

fn yes_no(b: bool) -> Answer {
    if b {
        Yes
    } else {
        No
    }
}

/// The answer to one question and the words saying why.
fn answer(q: Question, e: &Evidence, policy: &Policy) -> (Answer, String) {
    let rounds = e.rounds.as_ref().filter(|r| !r.is_empty());
    let method = |r: &PairedRounds| {
        format!(
            "median over {} paired open-loop rounds at {:.0} req/s, [95% bootstrap interval]",
            r.len(),
            r.rate_rps
        )
    };
    match q {
        Question::Equivalent => {
            let source = e
                .equivalence_source
                .as_deref()
                .unwrap_or("where not stated");
            match e.equivalent {
                Some(true) => (Yes, format!("every scenario equal ({source})")),
                Some(false) => (No, format!("some scenario differs ({source})")),
                None => (Unknown, "equivalence not checked".into()),
            }
        }
        Question::Capability => (
            yes_no(e.capability_gap.is_some()),
            e.capability_gap
                .clone()
                .unwrap_or_else(|| "none in the catalogue".into()),
        ),
        Question::RustForCapability | Question::Rust => (
            yes_no(policy.team.knows_rust),
            "policy: team.knows_rust".into(),
        ),
        Question::LuaMatters | Question::LuaMattersWithoutTwin => {
            let Some(r) = rounds else {
                return (
                    Unknown,
                    if q == Question::LuaMatters {
                        "no real-Envoy load rounds (run `filterbench load`)".into()
                    } else {
                        "no real-Envoy load rounds (run `filterbench load --lua-only`)".into()
                    },
                );
            };
            let (Some(cpu), Some(p50)) = (
                PairedDifference::LuaOverBase.of(&r.cpu_us),
                PairedDifference::LuaOverBase.of(&r.p50_us),
            ) else {
                return (Unknown, "no paired baseline and Lua rounds".into());
            };
            let p = &policy.lua_cost;
            let small = cpu.below(p.min_cpu_us) && p50.below(p.min_latency_us);
            let numbers = format!(
                "Lua adds {} us of Envoy CPU per request and {} us at p50 ({})",
                cpu.signed(1),
                p50.signed(0),
                method(r),
            );
            if q == Question::LuaMatters {
                return (
                    yes_no(!small),
                    format!(
                        "{numbers}; it matters unless both whole intervals lie below {} us CPU \
                         and {} us latency",
                        p.min_cpu_us, p.min_latency_us
                    ),
                );
            }
            // Without a twin the answer settles the verdict, so it must be clear either way: no
            // when both whole intervals lie below the bar, yes when one lies wholly above it.
            let large = cpu.above(p.min_cpu_us) || p50.above(p.min_latency_us);
            let (answer, said) = if small {
                (No, "both whole intervals lie below the bar")
            } else if large {
                (Yes, "a whole interval lies above the bar")
            } else {
                (Same, "the intervals reach across the bar")
            };
            (
                answer,
                format!(
                    "{numbers}; bar: {} us CPU and {} us latency: {said}",
                    p.min_cpu_us, p.min_latency_us
                ),
            )
        }
        Question::WasmCheaper => {
            let Some(r) = rounds else {
                return (Unknown, "no real-Envoy load rounds".into());
            };
            let (Some(lua), Some(diff)) = (
                PairedDifference::LuaOverBase.of(&r.cpu_us),
                PairedDifference::WasmMinusLua.of(&r.cpu_us),
            ) else {
                return (Unknown, "no paired Lua and Wasm rounds".into());
            };
            let s = &policy.saving;
            let threshold = s.min_cpu_us.max(s.min_pct / 100.0 * lua.median.max(0.0));
            // The saving is Lua minus Wasm: the negated difference.
            let answer = if diff.below(-threshold) {
                Yes
            } else if diff.above(threshold) {
                No
            } else {
                Same
            };
            let said = match answer {
                Yes => "Wasm is cheaper: the whole interval lies below -threshold",
                No => "Lua is cheaper: the whole interval lies above +threshold",
                _ => "the interval reaches inside ±threshold",
            };
            (
                answer,
                format!(
                    "Wasm minus Lua: {} us of Envoy CPU per request ({}); threshold {threshold:.1} us \
                     (the larger of {} us and {}% of Lua's added {:.1} us): {said}",
                    diff.signed(1),
                    method(r),
                    s.min_cpu_us,
                    s.min_pct,
                    lua.median
                ),
            )
        }
        Question::Memory => match e.wasm_extra_mib_per_worker {
            Some(x) => (
                yes_no(x <= policy.memory.max_extra_mib_per_worker),
                format!(
                    "{x:+.1} MiB per worker over Lua; budget {:.1} MiB",
                    policy.memory.max_extra_mib_per_worker
                ),
            ),
            None => (Unknown, "memory per worker not measured".into()),
        },
        Question::DataProcessing => (
            yes_no(e.traits.data_processing),
            "catalogue trait data_processing".into(),
        ),
    }
}

/// Walks [`TREE`] on `evidence`: the leaf and the path.
fn walk(evidence: &Evidence, policy: &Policy) -> (Leaf, Vec<Step>) {
    let mut node = &TREE;
    let mut path = Vec::new();
    loop {
        match node {
            TreeNode::Leaf(l) => return (*l, path),
            TreeNode::Ask(q, branches) => {
                let (a, words) = answer(*q, evidence, policy);
                path.push(Step {
                    id: q.id().into(),
                    question: q.text().into(),
                    answer: a.label().into(),
                    evidence: words,
                });
                node = &branches
                    .iter()
                    .find(|(answers, _)| answers.contains(&a))
                    .unwrap_or_else(|| panic!("{}: no branch for {a:?}", q.id()))
                    .1;
            }
        }
    }
}

fn reasons(leaf: Leaf, e: &Evidence) -> Vec<String> {
    let mut r = vec![format!("{}: {}.", leaf.verdict().label(), leaf.meaning())];
    match leaf {
        Leaf::Unproven => r.push(
            "Fix the twin until `filterbench verify` passes before weighing a migration.".into(),
        ),
        Leaf::LuaCheapWithoutTwin => r.push(
            "A migration can save at most what the Lua filter adds, and the whole interval of that \
             is below the policy's bar: no Wasm twin needs to be written."
                .into(),
        ),
        Leaf::TwinNeeded => r.push(
            "The Lua filter's cost is clearly above the policy's bar, so a migration could save \
             something; whether Wasm does is unknown until a twin passes `filterbench verify` and \
             is measured (`filterbench load`)."
                .into(),
        ),
        Leaf::LuaCostUnclear => r.push(
            "Too close to call: the measurements cannot tell whether the Lua filter costs more or \
             less than the policy's bar (more rounds, `filterbench load --lua-only --full`, may \
             settle it)."
                .into(),
        ),
        Leaf::CapabilityRust | Leaf::CapabilityNoRust => {
            if let Some(gap) = &e.capability_gap {
                r.push(format!("Lua cannot do it: {gap}"));
            }
        }
        Leaf::NoMeasurements | Leaf::NoWasmMeasurements => {
            r.push("Without numbers there is no performance case for migrating.".into())
        }
        Leaf::LuaCheap => r.push(
            "A migration can save at most what the Lua filter adds, and that is below the policy's bar."
                .into(),
        ),
        Leaf::CheaperMemory => {
            r.push("The CPU saving is paid for with memory on every worker.".into())
        }
        Leaf::CheaperFits if e.traits.change_frequency == ChangeFrequency::High => r.push(
            "The filter changes often: every change becomes a build and a module push.".into(),
        ),
        Leaf::CheaperNoRust => {
            r.push("The gain does not pay for a new language and toolchain.".into())
        }
        Leaf::NotCheaperComplex => r.push(
            "Rust's libraries would replace hand-written Lua code, but the numbers do not call for it."
                .into(),
        ),
        Leaf::NotCheaperSimple => r.push("The measurements do not favour Wasm.".into()),
        _ => {}
    }
    r
}

/// Walks the tree on all rounds, then on resamples of them for the verdict's confidence.
pub fn decide(evidence: &Evidence, policy: &Policy) -> Recommendation {
    let (leaf, path) = walk(evidence, policy);
    let verdict = leaf.verdict();
    let rounds = evidence.rounds.as_ref().filter(|r| !r.is_empty());
    let confidence = rounds.map(|r| {
        let count = policy.confidence.resamples.max(1);
        let mut tally: Vec<(Verdict, usize)> = Vec::new();
        for indices in resamples(r.len(), count, r.len() as u64) {
            let resampled = Evidence {
                rounds: Some(r.select(&indices)),
                ..evidence.clone()
            };
            let v = walk(&resampled, policy).0.verdict();
            match tally.iter_mut().find(|(t, _)| *t == v) {
                Some((_, n)) => *n += 1,
                None => tally.push((v, 1)),
            }
        }
        tally.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let shares: Vec<(Verdict, f64)> = tally
            .into_iter()
            .map(|(v, n)| (v, n as f64 / count as f64))
            .collect();
        let share = shares
            .iter()
            .find(|(v, _)| *v == verdict)
            .map_or(0.0, |(_, s)| *s);
        Confidence {
            resamples: count,
            shares,
            share,
        }
    });
    let call = match &confidence {
        Some(c) if c.share < policy.confidence.min_share => Verdict::TooCloseToCall,
        _ => verdict,
    };
    let mut reasons = reasons(leaf, evidence);
    if let (Verdict::TooCloseToCall, Some(c)) = (call, &confidence) {
        reasons.insert(
            0,
            format!(
                "Too close to call: on resamples of the rounds the tree answers {} (needs {:.0}% for one answer).",
                c.split_words(),
                policy.confidence.min_share * 100.0
            ),
        );
    }
    Recommendation {
        verdict,
        call,
        leaf,
        path,
        reasons,
        confidence,
        costs: rounds.map(Costs::of),
    }
}

#[cfg(test)]
mod tests;
