//! A pair's answer under each of its configurations: the same decision tree ([`decide`]) on
//! the same proofs, fed by each configuration's own load run (`load/<pair>.json` for `default`,
//! `load/<pair>.config-<NAME>.json` for another, read by
//! [`ResultSet::with_configs`](crate::evidence::ResultSet::with_configs)).
//!
//! The pair's headline answer is `default`'s (the configuration its catalogue entry names
//! first); when another measured configuration gets a different call the answer depends on the
//! configuration, and the index and the pair page say so. A call is what the tree says after
//! its confidence check (too close to call when the resamples disagree), so no flag rests on a
//! difference inside its interval: the tree's own rule, not a copy of it.

use serde::Serialize;

use crate::decision::{decide, Costs, Policy, Recommendation, Verdict};
use crate::evidence::ResultSet;
use filterbench_model::catalogue::{Pair, DEFAULT_CONFIG};

/// The tree's answer under one configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigAnswer {
    /// The configuration's name.
    pub name: String,
    /// Its load run exists (the file for it was read).
    pub measured: bool,
    /// The tree on that configuration's rounds (the same proofs as the pair's).
    pub rec: Recommendation,
}

impl ConfigAnswer {
    /// The paired differences of its rounds, when it was measured.
    pub fn costs(&self) -> Option<&Costs> {
        self.rec.costs.as_ref().filter(|_| self.measured)
    }

    /// Its call when it has measured rounds to call from.
    pub fn measured_call(&self) -> Option<Verdict> {
        self.costs().map(|_| self.rec.call)
    }
}

/// A pair's answers under each of its configurations, `default` first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ByConfiguration {
    pub answers: Vec<ConfigAnswer>,
}

impl ByConfiguration {
    /// The answers of `pair` under each configuration; `None` for a pair with one.
    pub fn of(results: &ResultSet, pair: &Pair, policy: &Policy) -> Option<ByConfiguration> {
        if !pair.has_several_configs() {
            return None;
        }
        let answers = pair
            .configurations()
            .into_iter()
            .map(|name| {
                let ev = results.evidence_under(pair, name);
                ConfigAnswer {
                    name: name.to_string(),
                    measured: results.config_load(&pair.name, name).is_some(),
                    rec: decide(&ev.evidence, policy),
                }
            })
            .collect();
        Some(ByConfiguration { answers })
    }

    /// The configurations whose measured call differs from `default`'s (empty when `default`
    /// was not measured: there is no headline to differ from).
    pub fn differing(&self) -> Vec<&ConfigAnswer> {
        let Some(headline) = self
            .answers
            .iter()
            .find(|a| a.name == DEFAULT_CONFIG)
            .and_then(ConfigAnswer::measured_call)
        else {
            return Vec::new();
        };
        self.answers
            .iter()
            .filter(|a| a.measured_call().is_some_and(|c| c != headline))
            .collect()
    }

    /// Another measured configuration gets a different call than `default`: the answer
    /// depends on the configuration.
    pub fn depends(&self) -> bool {
        !self.differing().is_empty()
    }

    /// The flag in words, naming each differing configuration and its call; `None` when the
    /// answer does not depend on the configuration.
    pub fn flag_words(&self) -> Option<String> {
        let differing = self.differing();
        (!differing.is_empty()).then(|| {
            format!(
                "the answer depends on the configuration: {}",
                differing
                    .iter()
                    .map(|a| format!("{} under `{}`", a.rec.call.label(), a.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    /// Configurations without a load run, by name.
    pub fn unmeasured(&self) -> Vec<&str> {
        self.answers
            .iter()
            .filter(|a| !a.measured)
            .map(|a| a.name.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Leaf;
    use filterbench_model::TwinKind;

    fn answer(name: &str, measured: bool, call: Verdict) -> ConfigAnswer {
        ConfigAnswer {
            name: name.into(),
            measured,
            rec: Recommendation {
                verdict: call,
                call,
                leaf: Leaf::Unproven,
                path: Vec::new(),
                reasons: Vec::new(),
                confidence: None,
                costs: Some(Costs::default()),
                ways: Vec::new(),
                between: None,
                caveat: None,
                caveat_short: None,
            },
        }
    }

    fn by(answers: Vec<ConfigAnswer>) -> ByConfiguration {
        ByConfiguration { answers }
    }

    #[test]
    fn a_different_call_under_another_configuration_is_flagged_naming_it() {
        let b = by(vec![
            answer("default", true, Verdict::KeepLua),
            answer("admin", true, Verdict::Migrate(TwinKind::Wasm)),
            answer("web", true, Verdict::KeepLua),
        ]);
        assert!(b.depends());
        assert_eq!(
            b.flag_words().unwrap(),
            "the answer depends on the configuration: migrate to Wasm under `admin`"
        );
        // Too close to call is a different answer too: the headline does not hold there.
        let b = by(vec![
            answer("default", true, Verdict::Migrate(TwinKind::Wasm)),
            answer("admin", true, Verdict::TooCloseToCall),
        ]);
        assert_eq!(b.differing().len(), 1);
    }

    #[test]
    fn the_same_call_everywhere_or_nothing_measured_is_not_flagged() {
        let same = by(vec![
            answer("default", true, Verdict::KeepLua),
            answer("admin", true, Verdict::KeepLua),
        ]);
        assert!(!same.depends());
        assert_eq!(same.flag_words(), None);
        // An unmeasured configuration has no answer to differ with (its file is missing).
        let unmeasured = by(vec![
            answer("default", true, Verdict::KeepLua),
            answer("admin", false, Verdict::Migrate(TwinKind::Wasm)),
        ]);
        assert!(!unmeasured.depends());
        assert_eq!(unmeasured.unmeasured(), ["admin"]);
        // Nor does anything differ from an unmeasured `default`.
        let no_headline = by(vec![
            answer("default", false, Verdict::KeepLua),
            answer("admin", true, Verdict::Migrate(TwinKind::Wasm)),
        ]);
        assert!(!no_headline.depends());
    }
}
