//! The walk through a pair's corpus that every equivalence check shares, in-process
//! (`filterbench_bench::harness::driver`) and in a real Envoy (`filterbench_envoy::verify`): each
//! scenario is sent `before` times unchecked (state that carries across requests warms up), then
//! once more with its expectations checked; each time the Lua and Wasm outcomes are diffed after
//! the pair's normalisation.

use crate::catalogue::Normalise;
use crate::corpus::{Corpus, Scenario};
use crate::outcome::{check_expect, Diff, Outcome};

/// One request of a corpus replay.
#[derive(Debug, Clone)]
pub struct Step<'a> {
    pub scenario: &'a Scenario,
    /// The scenario's name; `<name>#<k>` for its k-th warm-up repetition.
    pub label: String,
    /// The checked repetition (the last): expectations apply.
    pub last: bool,
}

/// Every request of the corpus, in order.
pub fn steps(corpus: &Corpus) -> impl Iterator<Item = Step<'_>> {
    corpus.scenarios.iter().flat_map(|scenario| {
        (0..=scenario.before).map(move |k| {
            let last = k == scenario.before;
            Step {
                scenario,
                label: if last {
                    scenario.name.clone()
                } else {
                    format!("{}#{}", scenario.name, k + 1)
                },
                last,
            }
        })
    })
}

impl Step<'_> {
    /// The expectations `outcome` (sent at `sent_at_ms`) misses; none before the last repetition.
    pub fn misses(&self, outcome: &Outcome, sent_at_ms: u64) -> Vec<String> {
        if self.last {
            check_expect(&self.scenario.expect, outcome, sent_at_ms)
        } else {
            Vec::new()
        }
    }

    /// The Lua-vs-Wasm difference of this request's two outcomes, both normalised by `rules`.
    pub fn diff(&self, rules: &Normalise, lua: &Outcome, wasm: &Outcome) -> Diff {
        Diff::between(
            &lua.normalised(rules, &self.scenario.headers),
            &wasm.normalised(rules, &self.scenario.headers),
        )
    }
}
