//! The decision tree as data: the verdicts, the leaves ([`Leaf`], an enum), the questions and
//! their answers, and [`TREE`] itself, the one value that `super::decide` walks and
//! `crate::charts` draws. Every question's text and every leaf's meaning is written here once.
//!
//! Where the Lua filter costs enough to matter, the tree asks the questions of [`WAY`] of each
//! proven twin kind (each ends in a [`Fate`]: out for a reason, or a candidate) and then
//! [`CHOICE`] among the candidates: migrate to one, too close to call between two, or keep Lua.

use serde::{Deserialize, Serialize};

use filterbench_model::TwinKind;

/// The answers a recommendation can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Move the filter to this way out (twin kind).
    Migrate(TwinKind),
    KeepLua,
    MigrateIfCapabilityNeeded,
    /// The Lua filter costs enough to matter, but there is no twin proven equivalent to weigh:
    /// write it (or fix it) and prove it before the tree can go on.
    ProveTwin,
    /// Resampling the rounds reaches different verdicts too often (see [`super::Confidence`]),
    /// or the interval of what the Lua filter costs straddles the bar.
    TooCloseToCall,
    /// Two ways out both save measurably and are allowed, but the interval of their difference
    /// does not say which costs less (kinds in [`TwinKind::ALL`]'s order).
    TooCloseBetween(TwinKind, TwinKind),
}

impl Verdict {
    /// Stable id: `migrate` for every way out (its kind is [`Verdict::way`]), `too_close_to_call`
    /// for both kinds of close call (the index's `data-verdict` and the CSS class).
    pub fn id(self) -> &'static str {
        match self {
            Verdict::Migrate(_) => "migrate",
            Verdict::KeepLua => "keep_lua",
            Verdict::MigrateIfCapabilityNeeded => "migrate_if_capability_needed",
            Verdict::ProveTwin => "prove_twin",
            Verdict::TooCloseToCall | Verdict::TooCloseBetween(..) => "too_close_to_call",
        }
    }

    /// The way out a migration chooses.
    pub fn way(self) -> Option<TwinKind> {
        match self {
            Verdict::Migrate(k) => Some(k),
            _ => None,
        }
    }

    /// `migrate to Wasm` (the Rust Wasm twin, the reference kind, keeps its old words), `migrate
    /// to Go Wasm`, `migrate to a native module`, `too close to call between Rust Wasm and
    /// native module`, ...
    pub fn label(self) -> String {
        match self {
            Verdict::Migrate(TwinKind::Wasm) => "migrate to Wasm".into(),
            Verdict::Migrate(TwinKind::GoWasm) => "migrate to Go Wasm".into(),
            Verdict::Migrate(TwinKind::Native) => "migrate to a native module".into(),
            Verdict::KeepLua => "keep Lua".into(),
            Verdict::MigrateIfCapabilityNeeded => "migrate only if a capability is needed".into(),
            Verdict::ProveTwin => "write the Wasm twin and prove it equivalent first".into(),
            Verdict::TooCloseToCall => "too close to call".into(),
            Verdict::TooCloseBetween(a, b) => {
                format!("too close to call between {} and {}", a.label(), b.label())
            }
        }
    }
}

/// Where the tree ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Leaf {
    Unproven,
    /// Without a proven twin: the whole interval of Lua's cost lies below the policy's bar.
    LuaCheapWithoutTwin,
    /// Without a proven twin: Lua's cost lies wholly above the bar; a twin is needed to go on.
    TwinNeeded,
    /// Without a proven twin: the interval of Lua's cost straddles the bar.
    LuaCostUnclear,
    CapabilityRust,
    CapabilityNoRust,
    NoMeasurements,
    LuaCheap,
    NoWasmMeasurements,
    /// One way out remains and is measurably the cheapest of those that remain.
    CheaperFits,
    /// Two remaining ways out whose difference is inside its interval.
    CloseBetween,
    /// Some way out is measurably cheaper than Lua, but policy rules out every such way
    /// (memory, language, platform, isolation): each one's reason is on the path.
    CheaperExcluded,
    NotCheaperComplex,
    NotCheaperSimple,
}

impl Leaf {
    pub const ALL: [Leaf; 14] = [
        Leaf::Unproven,
        Leaf::LuaCheapWithoutTwin,
        Leaf::TwinNeeded,
        Leaf::LuaCostUnclear,
        Leaf::CapabilityRust,
        Leaf::CapabilityNoRust,
        Leaf::NoMeasurements,
        Leaf::LuaCheap,
        Leaf::NoWasmMeasurements,
        Leaf::CheaperFits,
        Leaf::CloseBetween,
        Leaf::CheaperExcluded,
        Leaf::NotCheaperComplex,
        Leaf::NotCheaperSimple,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Leaf::Unproven => "unproven",
            Leaf::LuaCheapWithoutTwin => "lua_cheap_without_twin",
            Leaf::TwinNeeded => "twin_needed",
            Leaf::LuaCostUnclear => "lua_cost_unclear",
            Leaf::CapabilityRust => "capability_rust",
            Leaf::CapabilityNoRust => "capability_no_rust",
            Leaf::NoMeasurements => "no_measurements",
            Leaf::LuaCheap => "lua_cheap",
            Leaf::NoWasmMeasurements => "no_wasm_measurements",
            Leaf::CheaperFits => "cheaper_fits",
            Leaf::CloseBetween => "close_between",
            Leaf::CheaperExcluded => "cheaper_excluded",
            Leaf::NotCheaperComplex => "not_cheaper_complex",
            Leaf::NotCheaperSimple => "not_cheaper_simple",
        }
    }

    /// The verdict of this leaf; `ways` are the kinds the walk chose: one for a migration, two
    /// for a close call between ways (ignored by the other leaves).
    pub fn verdict(self, ways: &[TwinKind]) -> Verdict {
        let first = ways.first().copied().unwrap_or_default();
        match self {
            Leaf::CapabilityRust | Leaf::CheaperFits => Verdict::Migrate(first),
            Leaf::CloseBetween => {
                let second = ways.get(1).copied().unwrap_or(first);
                Verdict::TooCloseBetween(first.min(second), first.max(second))
            }
            Leaf::CapabilityNoRust | Leaf::NotCheaperComplex => Verdict::MigrateIfCapabilityNeeded,
            Leaf::TwinNeeded => Verdict::ProveTwin,
            Leaf::LuaCostUnclear => Verdict::TooCloseToCall,
            Leaf::Unproven
            | Leaf::LuaCheapWithoutTwin
            | Leaf::NoMeasurements
            | Leaf::LuaCheap
            | Leaf::NoWasmMeasurements
            | Leaf::CheaperExcluded
            | Leaf::NotCheaperSimple => Verdict::KeepLua,
        }
    }

    /// The verdict in words without its kinds, for the drawing: `MIGRATE TO IT`, `KEEP LUA`, ...
    pub fn outcome_words(self) -> &'static str {
        match self {
            Leaf::CapabilityRust | Leaf::CheaperFits => "migrate to it",
            Leaf::CloseBetween => "too close to call between them",
            other => match other.verdict(&[]) {
                Verdict::KeepLua => "keep Lua",
                Verdict::MigrateIfCapabilityNeeded => "migrate only if a capability is needed",
                Verdict::ProveTwin => "write the twin and prove it equivalent first",
                _ => "too close to call",
            },
        }
    }

    /// What reaching this leaf means, in words.
    pub fn meaning(self) -> &'static str {
        match self {
            Leaf::Unproven => "no twin is proven equivalent",
            Leaf::LuaCheapWithoutTwin => {
                "the Lua filter costs too little for a migration to save much: settled without a twin"
            }
            Leaf::TwinNeeded => {
                "the Lua filter costs enough to matter: write a twin and prove it equivalent before the tree can go on"
            }
            Leaf::LuaCostUnclear => {
                "the interval of what the Lua filter costs straddles the policy's bar"
            }
            Leaf::CapabilityRust => {
                "needs a capability Lua lacks; the team can maintain and deploy a proven twin"
            }
            Leaf::CapabilityNoRust => {
                "needs a capability Lua lacks; no proven twin is one the team can maintain and deploy"
            }
            Leaf::NoMeasurements => "no real-Envoy measurements of the Lua filter",
            Leaf::LuaCheap => "the Lua filter costs too little for a migration to save much",
            Leaf::NoWasmMeasurements => "no real-Envoy measurements of a proven twin",
            Leaf::CheaperFits => {
                "one way out is measurably the cheapest; it fits, the team maintains it, it deploys"
            }
            Leaf::CloseBetween => {
                "two ways out save and are allowed, but do not differ measurably"
            }
            Leaf::CheaperExcluded => {
                "a way out is measurably cheaper, but policy rules out every such way"
            }
            Leaf::NotCheaperComplex => {
                "no way out is measurably cheaper; the filter processes data (Lua carries hand-written libraries)"
            }
            Leaf::NotCheaperSimple => "no way out is measurably cheaper and the filter is simple",
        }
    }
}

/// Where one way out (one proven twin kind) ends in the per-twin part of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// No paired rounds with this twin.
    NotMeasured,
    /// Not measurably cheaper than Lua (or dearer).
    NotCheaper,
    /// Its memory per proxy is over the budget (its whole interval).
    Memory,
    /// Its memory per proxy was not measured, or its interval holds the budget.
    MemoryUnknown,
    /// Written in a language the team does not list.
    Language,
    /// Cannot be deployed on the policy's platform.
    Platform,
    /// Policy requires isolation it lacks.
    Isolation,
    /// Saves measurably and policy allows it: a candidate for the choice.
    Candidate,
}

impl Fate {
    pub const ALL: [Fate; 8] = [
        Fate::NotMeasured,
        Fate::NotCheaper,
        Fate::Memory,
        Fate::MemoryUnknown,
        Fate::Language,
        Fate::Platform,
        Fate::Isolation,
        Fate::Candidate,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Fate::NotMeasured => "way_not_measured",
            Fate::NotCheaper => "way_not_cheaper",
            Fate::Memory => "way_memory",
            Fate::MemoryUnknown => "way_memory_unknown",
            Fate::Language => "way_language",
            Fate::Platform => "way_platform",
            Fate::Isolation => "way_isolation",
            Fate::Candidate => "way_candidate",
        }
    }

    /// In one or two words, for the index: `not cheaper`, `isolation`, ...
    pub fn short(self) -> &'static str {
        match self {
            Fate::NotMeasured => "not measured",
            Fate::NotCheaper => "not cheaper",
            Fate::Memory => "out: memory",
            Fate::MemoryUnknown => "out: memory unknown",
            Fate::Language => "out: language",
            Fate::Platform => "out: platform",
            Fate::Isolation => "out: isolation",
            Fate::Candidate => "allowed",
        }
    }

    /// In words: `not measurably cheaper than Lua`, `no sandbox; policy requires isolation`, ...
    pub fn words(self) -> &'static str {
        match self {
            Fate::NotMeasured => "not measured",
            Fate::NotCheaper => "not measurably cheaper than Lua",
            Fate::Memory => "memory over budget",
            Fate::MemoryUnknown => {
                "memory not known to fit (not measured, or too close to the budget)"
            }
            Fate::Language => "not a language the team knows",
            Fate::Platform => "not deployable on the platform",
            Fate::Isolation => "no sandbox; policy requires isolation",
            Fate::Candidate => "saves measurably, allowed",
        }
    }
}

/// The questions of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    Equivalent,
    /// "Does the Lua filter cost enough to matter?" asked without a proven twin, from the Lua
    /// side alone: yes, no, or no measurable difference (the interval straddles the bar).
    LuaMattersWithoutTwin,
    Capability,
    RustForCapability,
    LuaMatters,
    /// Asked of each proven twin: does it cost measurably less than Lua?
    WayCheaper,
    /// Asked of each: does its memory per worker fit?
    WayMemory,
    /// Asked of each: is it written in a language the team knows?
    WayLanguage,
    /// Asked of each: can it be deployed on the policy's platform?
    WayPlatform,
    /// Asked of each: does it meet the policy's isolation requirement?
    WayIsolation,
    /// After every twin: does a way out remain?
    WaysRemain,
    /// Of the remaining: is one measurably cheaper than every other?
    Cheapest,
    /// None remains: was any way out measurably cheaper than Lua?
    AnyCheaper,
    DataProcessing,
}

impl Question {
    /// Stable id (the drawing marks nodes with it).
    pub fn id(self) -> &'static str {
        match self {
            Question::Equivalent => "equivalent",
            Question::LuaMattersWithoutTwin => "lua_matters_without_twin",
            Question::Capability => "capability",
            Question::RustForCapability => "rust_for_capability",
            Question::LuaMatters => "lua_matters",
            Question::WayCheaper => "way_cheaper",
            Question::WayMemory => "way_memory_fits",
            Question::WayLanguage => "way_team",
            Question::WayPlatform => "way_deployable",
            Question::WayIsolation => "way_isolated",
            Question::WaysRemain => "ways_remain",
            Question::Cheapest => "cheapest",
            Question::AnyCheaper => "any_cheaper",
            Question::DataProcessing => "data_processing",
        }
    }

    /// Whether the question is asked of each proven twin (its steps name the twin).
    pub fn per_twin(self) -> bool {
        matches!(
            self,
            Question::WayCheaper
                | Question::WayMemory
                | Question::WayLanguage
                | Question::WayPlatform
                | Question::WayIsolation
        )
    }

    pub fn text(self) -> &'static str {
        match self {
            Question::Equivalent => "Is a twin proven equivalent?",
            Question::Capability => "Does the filter need a capability Lua lacks?",
            Question::RustForCapability => {
                "Can the team maintain and deploy one of the proven twins?"
            }
            Question::LuaMatters => "Does the Lua filter cost enough to matter?",
            Question::LuaMattersWithoutTwin => {
                "Does the Lua filter cost enough to matter? (no proven twin: the Lua side alone)"
            }
            Question::WayCheaper => "Does it cost measurably less Envoy CPU per request than Lua?",
            Question::WayMemory => "Does its memory per worker fit the budget?",
            Question::WayLanguage => "Is it written in a language the team maintains?",
            Question::WayPlatform => "Can it be deployed where the filters run?",
            Question::WayIsolation => "Does it meet the policy's isolation requirement?",
            Question::WaysRemain => "Does a way out remain?",
            Question::Cheapest => "Is one of them measurably cheaper than every other?",
            Question::AnyCheaper => "Was any way out measurably cheaper than Lua?",
            Question::DataProcessing => "Does the filter process data (JSON, JWT, regex)?",
        }
    }
}

/// An answer to a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// The interval straddles the threshold.
    NoMeasurableDifference,
    Unknown,
}

impl Answer {
    pub fn label(self) -> &'static str {
        match self {
            Answer::Yes => "yes",
            Answer::No => "no",
            Answer::NoMeasurableDifference => "no measurable difference",
            Answer::Unknown => "not measured",
        }
    }
}

/// A node of the tree: a question whose answers lead on, the per-twin part, or an end.
#[derive(Debug)]
pub enum TreeNode {
    Ask(Question, &'static [Branch]),
    /// Asks the questions of the first node of each proven twin (its ends are [`Fate`]s), then
    /// goes on with the second.
    EachWay(&'static TreeNode, &'static TreeNode),
    Leaf(Leaf),
    /// Where one twin ends in the per-twin part.
    Fate(Fate),
}

/// The answers that lead to one child.
pub type Branch = (&'static [Answer], TreeNode);

use Answer::{No, NoMeasurableDifference as Same, Unknown, Yes};

const fn leaf(l: Leaf) -> TreeNode {
    TreeNode::Leaf(l)
}

const fn fate(f: Fate) -> TreeNode {
    TreeNode::Fate(f)
}

/// The questions asked of each proven twin, in order: a way out that is not measurably cheaper
/// than Lua is out at once; then memory, the team's languages, the platform, isolation.
pub const WAY: TreeNode = TreeNode::Ask(
    Question::WayCheaper,
    &[
        (&[Unknown], fate(Fate::NotMeasured)),
        (&[No, Same], fate(Fate::NotCheaper)),
        (
            &[Yes],
            TreeNode::Ask(
                Question::WayMemory,
                &[
                    (&[No], fate(Fate::Memory)),
                    (&[Unknown], fate(Fate::MemoryUnknown)),
                    (
                        &[Yes],
                        TreeNode::Ask(
                            Question::WayLanguage,
                            &[
                                (&[No], fate(Fate::Language)),
                                (
                                    &[Yes],
                                    TreeNode::Ask(
                                        Question::WayPlatform,
                                        &[
                                            (&[No], fate(Fate::Platform)),
                                            (
                                                &[Yes],
                                                TreeNode::Ask(
                                                    Question::WayIsolation,
                                                    &[
                                                        (&[No], fate(Fate::Isolation)),
                                                        (&[Yes], fate(Fate::Candidate)),
                                                    ],
                                                ),
                                            ),
                                        ],
                                    ),
                                ),
                            ],
                        ),
                    ),
                ],
            ),
        ),
    ],
);

/// After every proven twin has been asked [`WAY`]: the choice among those that remain.
pub const CHOICE: TreeNode = TreeNode::Ask(
    Question::WaysRemain,
    &[
        (
            &[Yes],
            TreeNode::Ask(
                Question::Cheapest,
                &[
                    (&[Yes], leaf(Leaf::CheaperFits)),
                    (&[Same], leaf(Leaf::CloseBetween)),
                ],
            ),
        ),
        (
            &[No],
            TreeNode::Ask(
                Question::AnyCheaper,
                &[
                    (&[Unknown], leaf(Leaf::NoWasmMeasurements)),
                    (&[Yes], leaf(Leaf::CheaperExcluded)),
                    (
                        &[No],
                        TreeNode::Ask(
                            Question::DataProcessing,
                            &[
                                (&[Yes], leaf(Leaf::NotCheaperComplex)),
                                (&[No], leaf(Leaf::NotCheaperSimple)),
                            ],
                        ),
                    ),
                ],
            ),
        ),
    ],
);

/// The tree. [`super::decide`] walks it; the report draws it (`crate::charts`).
pub const TREE: TreeNode = TreeNode::Ask(
    Question::Equivalent,
    &[
        (
            &[No, Unknown],
            TreeNode::Ask(
                Question::LuaMattersWithoutTwin,
                &[
                    (&[Unknown], leaf(Leaf::Unproven)),
                    (&[No], leaf(Leaf::LuaCheapWithoutTwin)),
                    (&[Yes], leaf(Leaf::TwinNeeded)),
                    (&[Same], leaf(Leaf::LuaCostUnclear)),
                ],
            ),
        ),
        (
            &[Yes],
            TreeNode::Ask(
                Question::Capability,
                &[
                    (
                        &[Yes],
                        TreeNode::Ask(
                            Question::RustForCapability,
                            &[
                                (&[Yes], leaf(Leaf::CapabilityRust)),
                                (&[No], leaf(Leaf::CapabilityNoRust)),
                            ],
                        ),
                    ),
                    (
                        &[No],
                        TreeNode::Ask(
                            Question::LuaMatters,
                            &[
                                (&[Unknown], leaf(Leaf::NoMeasurements)),
                                (&[No], leaf(Leaf::LuaCheap)),
                                (&[Yes], TreeNode::EachWay(&WAY, &CHOICE)),
                            ],
                        ),
                    ),
                ],
            ),
        ),
    ],
);

impl TreeNode {
    /// Stable id: the question's or the leaf's.
    pub fn id(&self) -> &'static str {
        match self {
            TreeNode::Ask(q, _) => q.id(),
            TreeNode::EachWay(..) => "each_way",
            TreeNode::Leaf(l) => l.id(),
            TreeNode::Fate(f) => f.id(),
        }
    }

    /// The answers' branches of a question; none for the other nodes.
    pub fn branches(&self) -> &'static [Branch] {
        match self {
            TreeNode::Ask(_, b) => b,
            _ => &[],
        }
    }

    /// Every leaf under this node, in drawing order.
    pub fn leaves(&self) -> Vec<Leaf> {
        match self {
            TreeNode::Leaf(l) => vec![*l],
            TreeNode::Fate(_) => vec![],
            TreeNode::EachWay(each, then) => {
                each.leaves().into_iter().chain(then.leaves()).collect()
            }
            TreeNode::Ask(_, b) => b.iter().flat_map(|(_, n)| n.leaves()).collect(),
        }
    }

    /// Every per-twin end under this node, in drawing order.
    pub fn fates(&self) -> Vec<Fate> {
        match self {
            TreeNode::Fate(f) => vec![*f],
            TreeNode::Leaf(_) => vec![],
            TreeNode::EachWay(each, then) => each.fates().into_iter().chain(then.fates()).collect(),
            TreeNode::Ask(_, b) => b.iter().flat_map(|(_, n)| n.fates()).collect(),
        }
    }
}
