//! The decision tree as data: the verdicts, the leaves ([`Leaf`], an enum), the questions and
//! their answers, and [`TREE`] itself, the one value that `super::decide` walks and
//! `crate::charts` draws. Every question's text and every leaf's meaning is written here once.

use serde::{Deserialize, Serialize};

/// The answers a recommendation can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Migrate,
    KeepLua,
    MigrateIfCapabilityNeeded,
    /// The Lua filter costs enough to matter, but there is no Wasm twin proven equivalent to
    /// weigh: write it (or fix it) and prove it before the tree can go on.
    ProveTwin,
    /// Resampling the rounds reaches different verdicts too often (see [`super::Confidence`]).
    TooCloseToCall,
}

impl Verdict {
    /// Stable id, the serde name.
    pub fn id(self) -> &'static str {
        match self {
            Verdict::Migrate => "migrate",
            Verdict::KeepLua => "keep_lua",
            Verdict::MigrateIfCapabilityNeeded => "migrate_if_capability_needed",
            Verdict::ProveTwin => "prove_twin",
            Verdict::TooCloseToCall => "too_close_to_call",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Migrate => "migrate to Wasm",
            Verdict::KeepLua => "keep Lua",
            Verdict::MigrateIfCapabilityNeeded => "migrate only if a capability is needed",
            Verdict::ProveTwin => "write the Wasm twin and prove it equivalent first",
            Verdict::TooCloseToCall => "too close to call",
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
    CheaperFits,
    CheaperMemory,
    CheaperMemoryUnknown,
    CheaperNoRust,
    NotCheaperComplex,
    NotCheaperSimple,
}

impl Leaf {
    pub const ALL: [Leaf; 15] = [
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
        Leaf::CheaperMemory,
        Leaf::CheaperMemoryUnknown,
        Leaf::CheaperNoRust,
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
            Leaf::CheaperMemory => "cheaper_memory",
            Leaf::CheaperMemoryUnknown => "cheaper_memory_unknown",
            Leaf::CheaperNoRust => "cheaper_no_rust",
            Leaf::NotCheaperComplex => "not_cheaper_complex",
            Leaf::NotCheaperSimple => "not_cheaper_simple",
        }
    }

    pub fn verdict(self) -> Verdict {
        match self {
            Leaf::CapabilityRust | Leaf::CheaperFits => Verdict::Migrate,
            Leaf::CapabilityNoRust | Leaf::NotCheaperComplex => Verdict::MigrateIfCapabilityNeeded,
            Leaf::TwinNeeded => Verdict::ProveTwin,
            Leaf::LuaCostUnclear => Verdict::TooCloseToCall,
            Leaf::Unproven
            | Leaf::LuaCheapWithoutTwin
            | Leaf::NoMeasurements
            | Leaf::LuaCheap
            | Leaf::NoWasmMeasurements
            | Leaf::CheaperMemory
            | Leaf::CheaperMemoryUnknown
            | Leaf::CheaperNoRust
            | Leaf::NotCheaperSimple => Verdict::KeepLua,
        }
    }

    /// What reaching this leaf means, in words.
    pub fn meaning(self) -> &'static str {
        match self {
            Leaf::Unproven => "the Wasm twin is not proven equivalent",
            Leaf::LuaCheapWithoutTwin => {
                "the Lua filter costs too little for a migration to save much: settled without a twin"
            }
            Leaf::TwinNeeded => {
                "the Lua filter costs enough to matter: write the Wasm twin and prove it equivalent before the tree can go on"
            }
            Leaf::LuaCostUnclear => {
                "the interval of what the Lua filter costs straddles the policy's bar"
            }
            Leaf::CapabilityRust => "needs a capability Lua lacks; the team knows Rust",
            Leaf::CapabilityNoRust => "needs a capability Lua lacks; the team does not know Rust",
            Leaf::NoMeasurements => "no real-Envoy measurements of the Lua filter",
            Leaf::LuaCheap => "the Lua filter costs too little for a migration to save much",
            Leaf::NoWasmMeasurements => "no real-Envoy measurements of a Wasm twin",
            Leaf::CheaperFits => "Wasm is measurably cheaper, its memory fits, the team knows Rust",
            Leaf::CheaperMemory => "Wasm is measurably cheaper but costs too much memory per worker",
            Leaf::CheaperMemoryUnknown => {
                "Wasm is measurably cheaper but its memory per worker was not measured"
            }
            Leaf::CheaperNoRust => "Wasm is measurably cheaper but the team does not know Rust",
            Leaf::NotCheaperComplex => {
                "Wasm is not measurably cheaper; the filter processes data (Lua carries hand-written libraries)"
            }
            Leaf::NotCheaperSimple => "Wasm is not measurably cheaper and the filter is simple",
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
    WasmCheaper,
    Memory,
    Rust,
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
            Question::WasmCheaper => "wasm_cheaper",
            Question::Memory => "memory",
            Question::Rust => "rust",
            Question::DataProcessing => "data_processing",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Question::Equivalent => "Is the Wasm twin proven equivalent?",
            Question::Capability => "Does the filter need a capability Lua lacks?",
            Question::RustForCapability | Question::Rust => "Does the team know Rust?",
            Question::LuaMatters => "Does the Lua filter cost enough to matter?",
            Question::LuaMattersWithoutTwin => {
                "Does the Lua filter cost enough to matter? (no proven twin: the Lua side alone)"
            }
            Question::WasmCheaper => {
                "Does Wasm cost measurably less Envoy CPU per request than Lua?"
            }
            Question::Memory => "Does Wasm's memory per worker fit the budget?",
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

/// A node of the tree: a question whose answers lead on, or a leaf.
#[derive(Debug)]
pub enum TreeNode {
    Ask(Question, &'static [Branch]),
    Leaf(Leaf),
}

/// The answers that lead to one child.
pub type Branch = (&'static [Answer], TreeNode);

use Answer::{No, NoMeasurableDifference as Same, Unknown, Yes};

const fn leaf(l: Leaf) -> TreeNode {
    TreeNode::Leaf(l)
}

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
                                (
                                    &[Yes],
                                    TreeNode::Ask(
                                        Question::WasmCheaper,
                                        &[
                                            (&[Unknown], leaf(Leaf::NoWasmMeasurements)),
                                            (
                                                &[Yes],
                                                TreeNode::Ask(
                                                    Question::Memory,
                                                    &[
                                                        (&[No], leaf(Leaf::CheaperMemory)),
                                                        (
                                                            &[Unknown],
                                                            leaf(Leaf::CheaperMemoryUnknown),
                                                        ),
                                                        (
                                                            &[Yes],
                                                            TreeNode::Ask(
                                                                Question::Rust,
                                                                &[
                                                                    (
                                                                        &[Yes],
                                                                        leaf(Leaf::CheaperFits),
                                                                    ),
                                                                    (
                                                                        &[No],
                                                                        leaf(Leaf::CheaperNoRust),
                                                                    ),
                                                                ],
                                                            ),
                                                        ),
                                                    ],
                                                ),
                                            ),
                                            (
                                                &[No, Same],
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
            TreeNode::Leaf(l) => l.id(),
        }
    }

    pub fn branches(&self) -> &'static [Branch] {
        match self {
            TreeNode::Ask(_, b) => b,
            TreeNode::Leaf(_) => &[],
        }
    }

    /// Every leaf under this node, in drawing order.
    pub fn leaves(&self) -> Vec<Leaf> {
        match self {
            TreeNode::Leaf(l) => vec![*l],
            TreeNode::Ask(_, b) => b.iter().flat_map(|(_, n)| n.leaves()).collect(),
        }
    }
}
