//! The migration decision tree: the widely quoted questions (capability Lua lacks? faster?
//! memory? team knows Rust? complex data processing?) answered from measurements and the pair's
//! catalogue traits, with thresholds from a policy file. Output: a recommendation, the path
//! taken with the numbers on each branch, and the reasons in words. Missing measurements are said
//! to be missing; no number is made up.

use serde::{Deserialize, Serialize};

/// Thresholds and team profile (`reports/policy.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub performance: PerformancePolicy,
    pub memory: MemoryPolicy,
    pub team: TeamPolicy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerformancePolicy {
    pub min_overhead_reduction_pct: f64,
    pub min_inprocess_speedup: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryPolicy {
    pub max_extra_mib_per_worker: f64,
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

    pub fn load(path: &std::path::Path) -> Result<Policy, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))
    }
}

/// What the catalogue says the filter needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Needs {
    /// A capability Envoy's Lua lacks (custom metrics, shared data across workers, ...), if any.
    pub capability_gap: Option<String>,
    pub data_processing: bool,
    pub external_call: bool,
    pub frequent_changes: bool,
}

/// Latency and memory of the three variants in real Envoy at one worker count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvoyEvidence {
    pub base_p50_us: f64,
    pub lua_p50_us: f64,
    pub wasm_p50_us: f64,
    pub base_p99_us: f64,
    pub lua_p99_us: f64,
    pub wasm_p99_us: f64,
    /// Extra resident memory of the Wasm variant over the Lua variant per worker, MiB (from
    /// the worker-count series when there is one).
    pub wasm_extra_mib_per_worker: Option<f64>,
}

/// In-process cost of one request, nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct InProcessEvidence {
    pub lua_ns: f64,
    pub wasm_ns: f64,
}

/// Everything the tree looks at for one pair.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Equivalence of the twins, if it was checked.
    pub equivalent: Option<bool>,
    /// Where equivalence was checked (`real Envoy`, `in-process`), said on the path.
    #[serde(default)]
    pub equivalence_source: Option<String>,
    pub envoy: Option<EnvoyEvidence>,
    pub in_process: Option<InProcessEvidence>,
    pub needs: Needs,
}

/// The three answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Migrate,
    KeepLua,
    MigrateIfCapabilityNeeded,
}

impl Verdict {
    /// Stable id, the serde name: `migrate`, `keep_lua`, `migrate_if_capability_needed`.
    pub fn id(self) -> &'static str {
        match self {
            Verdict::Migrate => "migrate",
            Verdict::KeepLua => "keep_lua",
            Verdict::MigrateIfCapabilityNeeded => "migrate_if_capability_needed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Migrate => "migrate to Wasm",
            Verdict::KeepLua => "keep Lua",
            Verdict::MigrateIfCapabilityNeeded => "migrate only if a capability is needed",
        }
    }
}

/// One question on the path, its answer and the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Stable id of the question (the report draws the tree with it).
    pub id: String,
    pub question: String,
    pub answer: String,
    pub evidence: String,
}

/// The tree's output for one pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub verdict: Verdict,
    /// Stable id of the leaf reached.
    pub leaf: String,
    pub path: Vec<Step>,
    pub reasons: Vec<String>,
}

/// How much Wasm cuts the overhead a filter adds over the baseline, percent; `None` when the
/// Lua filter adds no measurable overhead (nothing to cut).
pub fn overhead_reduction_pct(base: f64, lua: f64, wasm: f64) -> Option<f64> {
    let lua_over = lua - base;
    if lua_over <= 0.0 {
        return None;
    }
    Some((lua_over - (wasm - base)) / lua_over * 100.0)
}

fn pct(v: Option<f64>) -> String {
    v.map_or("n/a (Lua adds no measurable overhead)".into(), |p| {
        format!("{p:+.1}%")
    })
}

/// Every leaf the tree can reach, with what it means (the report draws them all).
pub const LEAVES: &[(&str, Verdict, &str)] = &[
    (
        "unproven",
        Verdict::KeepLua,
        "the Wasm twin is not proven equivalent",
    ),
    (
        "capability_rust",
        Verdict::Migrate,
        "needs a capability Lua lacks; the team knows Rust",
    ),
    (
        "capability_no_rust",
        Verdict::MigrateIfCapabilityNeeded,
        "needs a capability Lua lacks; the team does not know Rust",
    ),
    (
        "no_measurements",
        Verdict::KeepLua,
        "no performance measurements",
    ),
    (
        "faster_fits",
        Verdict::Migrate,
        "Wasm is faster, its memory fits, the team knows Rust",
    ),
    (
        "faster_memory",
        Verdict::KeepLua,
        "Wasm is faster but costs too much memory per worker",
    ),
    (
        "faster_no_rust",
        Verdict::KeepLua,
        "Wasm is faster but the team does not know Rust",
    ),
    (
        "slower_complex",
        Verdict::MigrateIfCapabilityNeeded,
        "Wasm is not faster; the filter processes data (Lua carries hand-written libraries)",
    ),
    (
        "slower_simple",
        Verdict::KeepLua,
        "Wasm is not faster and the filter is simple",
    ),
];

/// The tree's shape, for drawing: a question with its answers, or a leaf (an id of [`LEAVES`],
/// no branches). Node ids and answers are the ones [`decide`] puts on its path (a test walks this
/// shape along `decide`'s paths to every leaf).
#[derive(Debug)]
pub struct TreeNode {
    pub id: &'static str,
    /// The question, short; empty for a leaf.
    pub question: &'static str,
    pub branches: &'static [(&'static str, TreeNode)],
}

const fn leaf_node(id: &'static str) -> TreeNode {
    TreeNode {
        id,
        question: "",
        branches: &[],
    }
}

pub const TREE: TreeNode = TreeNode {
    id: "equivalent",
    question: "Is the Wasm twin proven equivalent?",
    branches: &[
        ("no", leaf_node("unproven")),
        (
            "yes",
            TreeNode {
                id: "capability",
                question: "Does the filter need a capability Lua lacks?",
                branches: &[
                    (
                        "yes",
                        TreeNode {
                            id: "rust_for_capability",
                            question: "Does the team know Rust?",
                            branches: &[
                                ("yes", leaf_node("capability_rust")),
                                ("no", leaf_node("capability_no_rust")),
                            ],
                        },
                    ),
                    (
                        "no",
                        TreeNode {
                            id: "faster",
                            question: "Is Wasm faster by the policy's threshold?",
                            branches: &[
                                ("unknown", leaf_node("no_measurements")),
                                (
                                    "yes",
                                    TreeNode {
                                        id: "memory",
                                        question: "Does Wasm's memory per worker fit the budget?",
                                        branches: &[
                                            ("no", leaf_node("faster_memory")),
                                            (
                                                "yes",
                                                TreeNode {
                                                    id: "rust",
                                                    question: "Does the team know Rust?",
                                                    branches: &[
                                                        ("yes", leaf_node("faster_fits")),
                                                        ("no", leaf_node("faster_no_rust")),
                                                    ],
                                                },
                                            ),
                                        ],
                                    },
                                ),
                                (
                                    "no",
                                    TreeNode {
                                        id: "data_processing",
                                        question:
                                            "Does the filter process data (JSON, JWT, regex)?",
                                        branches: &[
                                            ("yes", leaf_node("slower_complex")),
                                            ("no", leaf_node("slower_simple")),
                                        ],
                                    },
                                ),
                            ],
                        },
                    ),
                ],
            },
        ),
    ],
};

impl TreeNode {
    pub fn is_leaf(&self) -> bool {
        self.branches.is_empty()
    }

    /// Follows a path of steps from this node; the node reached, or `None` when a step does not
    /// match the shape.
    pub fn follow(&self, path: &[Step]) -> Option<&TreeNode> {
        let mut node = self;
        for step in path {
            if node.id != step.id {
                return None;
            }
            node = &node.branches.iter().find(|(a, _)| *a == step.answer)?.1;
        }
        Some(node)
    }
}

/// Walks the tree.
pub fn decide(evidence: &Evidence, policy: &Policy) -> Recommendation {
    let mut path = Vec::new();
    let mut step = |id: &str, question: &str, answer: &str, ev: String| {
        path.push(Step {
            id: id.into(),
            question: question.into(),
            answer: answer.into(),
            evidence: ev,
        })
    };
    let finish = |leaf: &str, path: Vec<Step>, mut reasons: Vec<String>| {
        let (_, verdict, meaning) = LEAVES
            .iter()
            .find(|(id, _, _)| *id == leaf)
            .expect("known leaf");
        reasons.insert(0, format!("{}: {meaning}.", verdict.label()));
        Recommendation {
            verdict: *verdict,
            leaf: leaf.into(),
            path,
            reasons,
        }
    };

    // 1. Is there anything to migrate to?
    let proven = evidence.equivalent == Some(true);
    step(
        "equivalent",
        "Is the Wasm twin proven equivalent?",
        if proven { "yes" } else { "no" },
        match evidence.equivalent {
            Some(true) => format!(
                "every scenario equal ({})",
                evidence
                    .equivalence_source
                    .as_deref()
                    .unwrap_or("where not stated")
            ),
            Some(false) => format!(
                "some scenario differs ({})",
                evidence
                    .equivalence_source
                    .as_deref()
                    .unwrap_or("where not stated")
            ),
            None => "equivalence not checked".into(),
        },
    );
    if !proven {
        return finish(
            "unproven",
            path,
            vec![
                "Fix the twin until `filterbench verify` passes before weighing a migration."
                    .into(),
            ],
        );
    }

    // 2. A capability Lua cannot give settles it.
    let gap = evidence.needs.capability_gap.clone();
    step(
        "capability",
        "Does the filter need a capability Lua lacks?",
        if gap.is_some() { "yes" } else { "no" },
        gap.clone()
            .unwrap_or_else(|| "none in the catalogue".into()),
    );
    if let Some(gap) = gap {
        let knows = policy.team.knows_rust;
        step(
            "rust_for_capability",
            "Does the team know Rust?",
            if knows { "yes" } else { "no" },
            "policy: team.knows_rust".into(),
        );
        return if knows {
            finish(
                "capability_rust",
                path,
                vec![format!("Lua cannot do it: {gap}")],
            )
        } else {
            finish(
                "capability_no_rust",
                path,
                vec![
                    format!("Lua cannot do it: {gap}"),
                    "Weigh the capability against owning a Rust build.".into(),
                ],
            )
        };
    }

    // 3. Is Wasm faster, by the numbers?
    let faster = if let Some(e) = &evidence.envoy {
        let p50 = overhead_reduction_pct(e.base_p50_us, e.lua_p50_us, e.wasm_p50_us);
        let p99 = overhead_reduction_pct(e.base_p99_us, e.lua_p99_us, e.wasm_p99_us);
        let min = policy.performance.min_overhead_reduction_pct;
        let faster = p50.is_some_and(|p| p >= min) && p99.is_some_and(|p| p >= min);
        step(
            "faster",
            "Does Wasm cut the filter's overhead enough (real Envoy, p50 and p99)?",
            if faster { "yes" } else { "no" },
            format!(
                "overhead over baseline p50: Lua {:.0} us, Wasm {:.0} us ({}); p99: Lua {:.0} us, Wasm {:.0} us ({}); threshold {min:.0}%",
                e.lua_p50_us - e.base_p50_us,
                e.wasm_p50_us - e.base_p50_us,
                pct(p50),
                e.lua_p99_us - e.base_p99_us,
                e.wasm_p99_us - e.base_p99_us,
                pct(p99)
            ),
        );
        faster
    } else if let Some(ip) = &evidence.in_process {
        let speedup = ip.lua_ns / ip.wasm_ns.max(1e-9);
        let faster = speedup >= policy.performance.min_inprocess_speedup;
        step(
            "faster",
            "Is Wasm faster in-process (no Envoy measurements)?",
            if faster { "yes" } else { "no" },
            format!(
                "Lua {:.0} ns, Wasm {:.0} ns per request: {speedup:.2}x; threshold {:.2}x",
                ip.lua_ns, ip.wasm_ns, policy.performance.min_inprocess_speedup
            ),
        );
        faster
    } else {
        step(
            "faster",
            "Is Wasm faster?",
            "unknown",
            "no measurements (run `filterbench load` and `cargo bench`)".into(),
        );
        return finish(
            "no_measurements",
            path,
            vec!["Without numbers there is no performance case for migrating.".into()],
        );
    };

    if faster {
        // 4. What does it cost in memory?
        let extra = evidence.envoy.and_then(|e| e.wasm_extra_mib_per_worker);
        let fits = extra.is_none_or(|x| x <= policy.memory.max_extra_mib_per_worker);
        step(
            "memory",
            "Does the Wasm VM's memory per worker fit the budget?",
            if fits { "yes" } else { "no" },
            match extra {
                Some(x) => format!(
                    "{x:+.1} MiB per worker over Lua; budget {:.1} MiB",
                    policy.memory.max_extra_mib_per_worker
                ),
                None => "not measured".into(),
            },
        );
        if !fits {
            return finish(
                "faster_memory",
                path,
                vec!["The latency gain is paid for with memory on every worker.".into()],
            );
        }
        let knows = policy.team.knows_rust;
        step(
            "rust",
            "Does the team know Rust?",
            if knows { "yes" } else { "no" },
            "policy: team.knows_rust".into(),
        );
        let mut reasons = Vec::new();
        if evidence.needs.frequent_changes {
            reasons.push(
                "The filter changes often: every change becomes a build and a module push.".into(),
            );
        }
        return if knows {
            finish("faster_fits", path, reasons)
        } else {
            reasons.push("The gain does not pay for a new language and toolchain.".into());
            finish("faster_no_rust", path, reasons)
        };
    }

    // 5. Not faster: only a data-processing filter has a reason left to move.
    let complex = evidence.needs.data_processing;
    step(
        "data_processing",
        "Does the filter process data (JSON, JWT, regex)?",
        if complex { "yes" } else { "no" },
        "catalogue trait data_processing".into(),
    );
    if complex {
        finish(
            "slower_complex",
            path,
            vec!["Rust's libraries would replace hand-written Lua code, but the numbers do not call for it.".into()],
        )
    } else {
        finish(
            "slower_simple",
            path,
            vec!["The measurements do not favour Wasm.".into()],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envoy(lua_over: f64, wasm_over: f64, extra_mib: Option<f64>) -> EnvoyEvidence {
        EnvoyEvidence {
            base_p50_us: 100.0,
            lua_p50_us: 100.0 + lua_over,
            wasm_p50_us: 100.0 + wasm_over,
            base_p99_us: 400.0,
            lua_p99_us: 400.0 + 2.0 * lua_over,
            wasm_p99_us: 400.0 + 2.0 * wasm_over,
            wasm_extra_mib_per_worker: extra_mib,
        }
    }

    fn evidence(envoy: Option<EnvoyEvidence>) -> Evidence {
        Evidence {
            equivalent: Some(true),
            equivalence_source: Some("real Envoy".into()),
            envoy,
            in_process: None,
            needs: Needs::default(),
        }
    }

    fn policy(knows_rust: bool) -> Policy {
        let mut p = Policy::default_policy();
        p.team.knows_rust = knows_rust;
        p
    }

    fn leaf(e: &Evidence, p: &Policy) -> String {
        decide(e, p).leaf
    }

    #[test]
    fn the_shipped_policy_parses() {
        let p = Policy::default_policy();
        assert!(p.performance.min_overhead_reduction_pct > 0.0);
    }

    #[test]
    fn an_unproven_twin_keeps_lua() {
        let mut e = evidence(Some(envoy(50.0, 10.0, Some(1.0))));
        e.equivalent = Some(false);
        assert_eq!(leaf(&e, &policy(true)), "unproven");
        e.equivalent = None;
        let r = decide(&e, &policy(true));
        assert_eq!((r.leaf.as_str(), r.verdict), ("unproven", Verdict::KeepLua));
    }

    #[test]
    fn a_capability_gap_migrates_when_the_team_knows_rust() {
        let mut e = evidence(None);
        e.needs.capability_gap = Some("no stats API".into());
        assert_eq!(decide(&e, &policy(true)).verdict, Verdict::Migrate);
        assert_eq!(leaf(&e, &policy(true)), "capability_rust");
        let r = decide(&e, &policy(false));
        assert_eq!(
            (r.leaf.as_str(), r.verdict),
            ("capability_no_rust", Verdict::MigrateIfCapabilityNeeded)
        );
    }

    #[test]
    fn no_numbers_no_migration() {
        let r = decide(&evidence(None), &policy(true));
        assert_eq!(
            (r.leaf.as_str(), r.verdict),
            ("no_measurements", Verdict::KeepLua)
        );
        assert_eq!(r.path.last().unwrap().answer, "unknown");
    }

    #[test]
    fn faster_and_small_migrates() {
        let r = decide(&evidence(Some(envoy(50.0, 10.0, Some(2.0)))), &policy(true));
        assert_eq!(
            (r.leaf.as_str(), r.verdict),
            ("faster_fits", Verdict::Migrate)
        );
        assert!(
            r.path
                .iter()
                .any(|s| s.id == "faster" && s.evidence.contains("+80.0%")),
            "{:?}",
            r.path
        );
    }

    #[test]
    fn faster_but_memory_hungry_keeps_lua() {
        let r = decide(
            &evidence(Some(envoy(50.0, 10.0, Some(40.0)))),
            &policy(true),
        );
        assert_eq!(
            (r.leaf.as_str(), r.verdict),
            ("faster_memory", Verdict::KeepLua)
        );
    }

    #[test]
    fn faster_without_rust_keeps_lua() {
        let r = decide(&evidence(Some(envoy(50.0, 10.0, None))), &policy(false));
        assert_eq!(
            (r.leaf.as_str(), r.verdict),
            ("faster_no_rust", Verdict::KeepLua)
        );
    }

    #[test]
    fn slower_wasm_keeps_lua_for_simple_filters() {
        // The probe's shape: Wasm adds more overhead than Lua.
        let r = decide(&evidence(Some(envoy(10.0, 18.0, Some(1.0)))), &policy(true));
        assert_eq!(
            (r.leaf.as_str(), r.verdict),
            ("slower_simple", Verdict::KeepLua)
        );
        assert!(
            r.path.iter().any(|s| s.evidence.contains("-80.0%")),
            "{:?}",
            r.path
        );
    }

    #[test]
    fn slower_wasm_for_data_processing_migrates_only_for_a_capability() {
        let mut e = evidence(Some(envoy(10.0, 9.0, Some(1.0))));
        e.needs.data_processing = true;
        let r = decide(&e, &policy(true));
        assert_eq!(
            (r.leaf.as_str(), r.verdict),
            ("slower_complex", Verdict::MigrateIfCapabilityNeeded)
        );
    }

    #[test]
    fn p99_must_improve_too() {
        let mut e = envoy(50.0, 10.0, Some(1.0));
        e.wasm_p99_us = e.lua_p99_us; // p99 no better
        let r = decide(&evidence(Some(e)), &policy(true));
        assert_eq!(r.leaf, "slower_simple");
    }

    #[test]
    fn in_process_numbers_decide_when_envoy_ones_are_missing() {
        let mut e = evidence(None);
        e.in_process = Some(InProcessEvidence {
            lua_ns: 3000.0,
            wasm_ns: 1000.0,
        });
        assert_eq!(leaf(&e, &policy(true)), "faster_fits");
        e.in_process = Some(InProcessEvidence {
            lua_ns: 1000.0,
            wasm_ns: 900.0,
        });
        assert_eq!(leaf(&e, &policy(true)), "slower_simple");
    }

    #[test]
    fn no_lua_overhead_means_nothing_to_cut() {
        assert_eq!(overhead_reduction_pct(100.0, 100.0, 90.0), None);
        let r = decide(&evidence(Some(envoy(0.0, -5.0, Some(1.0)))), &policy(true));
        assert_eq!(r.leaf, "slower_simple");
    }

    #[test]
    fn every_leaf_is_reachable_by_these_tests() {
        // Keep this list in step with the tests above: each leaf has a test that reaches it.
        let reached = [
            "unproven",
            "capability_rust",
            "capability_no_rust",
            "no_measurements",
            "faster_fits",
            "faster_memory",
            "faster_no_rust",
            "slower_complex",
            "slower_simple",
        ];
        let all: Vec<&str> = LEAVES.iter().map(|(id, _, _)| *id).collect();
        assert_eq!(all, reached);
    }

    #[test]
    fn the_drawn_tree_follows_every_path_decide_takes() {
        let mut cases = vec![];
        let mut e = evidence(Some(envoy(50.0, 10.0, Some(1.0))));
        e.equivalent = Some(false);
        cases.push((e, policy(true)));
        let mut e = evidence(None);
        e.needs.capability_gap = Some("no stats API".into());
        cases.push((e.clone(), policy(true)));
        cases.push((e, policy(false)));
        cases.push((evidence(None), policy(true)));
        cases.push((evidence(Some(envoy(50.0, 10.0, Some(2.0)))), policy(true)));
        cases.push((evidence(Some(envoy(50.0, 10.0, Some(40.0)))), policy(true)));
        cases.push((evidence(Some(envoy(50.0, 10.0, None))), policy(false)));
        let mut e = evidence(Some(envoy(10.0, 9.0, Some(1.0))));
        e.needs.data_processing = true;
        cases.push((e, policy(true)));
        cases.push((evidence(Some(envoy(10.0, 18.0, Some(1.0)))), policy(true)));
        let mut leaves = std::collections::BTreeSet::new();
        for (e, p) in &cases {
            let r = decide(e, p);
            let reached = TREE.follow(&r.path).expect("path fits the tree");
            assert!(reached.is_leaf(), "{:?}", r.path);
            assert_eq!(reached.id, r.leaf);
            leaves.insert(r.leaf);
        }
        assert_eq!(leaves.len(), LEAVES.len());
    }

    #[test]
    fn verdict_ids_are_the_serde_names() {
        for (_, v, _) in LEAVES {
            assert_eq!(serde_json::to_value(v).unwrap(), v.id());
        }
    }
}
