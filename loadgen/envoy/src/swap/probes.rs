//! Corpus probes during a live switch: the pair's standalone scenarios are replayed one after
//! another through the slot for the whole run (each on a fresh connection, with the corpus's
//! upstream reply scripted in the echo service), and every outcome is checked the way `verify`
//! checks it: normalised, it must equal the outcome the scenario had before any switch (the Lua
//! twin's, which `verify` proves equal to the Wasm twin's) and meet the corpus expectations. A
//! request served by no filter, by a half-configured slot, or by a broken twin shows as a
//! mismatch; each probe is also placed in the phase it was sent in (Lua, Wasm, or switching) from
//! the switch times and the convergence the stats showed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use filterbench_model::corpus::{Corpus, Scenario};
use filterbench_model::now_ms;
use filterbench_model::outcome::{check_expect, Outcome};
use filterbench_model::results::swap::{Probes, Switch};
use filterbench_model::{Diff, Pair};

use crate::verify::{replay, Rig};
use crate::{Error, Result};

/// At most this many scenarios are cycled.
const MAX_SCENARIOS: usize = 8;
/// Pause between probes.
const GAP: Duration = Duration::from_millis(40);
/// At most this many mismatches are kept in the result.
const MAX_MISMATCHES: usize = 10;

/// The scenarios and their reference outcomes.
pub struct ProbeSet<'a> {
    rig: &'a Rig,
    pair: &'a Pair,
    target: SocketAddr,
    scenarios: Vec<Scenario>,
    reference: Vec<Outcome>,
}

/// One probe sent.
struct Sent {
    at: Instant,
    scenario: usize,
    problem: Option<String>,
}

/// The probes of a run.
pub struct ProbeLog {
    names: Vec<String>,
    sent: Vec<Sent>,
}

impl<'a> ProbeSet<'a> {
    /// Picks the scenarios and records their outcome now (before any switch), checked against
    /// the corpus expectations.
    pub fn new(
        rig: &'a Rig,
        pair: &'a Pair,
        corpus: &Corpus,
        target: SocketAddr,
    ) -> Result<ProbeSet<'a>> {
        let scenarios: Vec<Scenario> = super::standalone(corpus)
            .into_iter()
            .filter(|s| s.expect.logs.is_empty())
            .take(MAX_SCENARIOS)
            .cloned()
            .collect();
        if scenarios.is_empty() {
            return Err(Error::Envoy(format!(
                "{}: no standalone scenario to replay during the switch",
                corpus.path.display()
            )));
        }
        let mut set = ProbeSet {
            rig,
            pair,
            target,
            scenarios,
            reference: Vec::new(),
        };
        for i in 0..set.scenarios.len() {
            let (outcome, misses) = set.send(i, "ref");
            if !misses.is_empty() {
                return Err(Error::Envoy(format!(
                    "{}: scenario {} does not meet its expectations through the ECDS slot before \
                     any switch: {}",
                    corpus.path.display(),
                    set.scenarios[i].name,
                    misses.join("; ")
                )));
            }
            set.reference.push(outcome);
        }
        Ok(set)
    }

    /// Replays scenario `i`: its normalised outcome and the corpus expectations it misses.
    fn send(&self, i: usize, tag: &str) -> (Outcome, Vec<String>) {
        let s = &self.scenarios[i];
        let id = format!("{}/{}@swap-{tag}", self.pair.name, s.name);
        let sent_at = now_ms();
        let outcome = replay(self.rig, self.target, &id, s);
        let misses = check_expect(&s.expect, &outcome, sent_at);
        (outcome.normalised(&self.pair.normalise, &s.headers), misses)
    }

    /// Probes until `deadline` (or `stop`).
    pub fn run_until(&self, deadline: Instant, stop: &Arc<AtomicBool>) -> ProbeLog {
        let mut sent = Vec::new();
        let mut n = 0usize;
        while Instant::now() + GAP < deadline && !stop.load(Ordering::Relaxed) {
            let i = n % self.scenarios.len();
            let at = Instant::now();
            let (outcome, misses) = self.send(i, &n.to_string());
            let diff = Diff::between(&self.reference[i], &outcome);
            let mut problems: Vec<String> = diff
                .lines
                .iter()
                .map(|l| {
                    format!(
                        "{}: {} before the switches, {} now",
                        l.field, l.left, l.right
                    )
                })
                .collect();
            problems.extend(misses);
            sent.push(Sent {
                at,
                scenario: i,
                problem: (!problems.is_empty()).then(|| problems.join("; ")),
            });
            n += 1;
            std::thread::sleep(GAP);
        }
        ProbeLog {
            names: self.scenarios.iter().map(|s| s.name.clone()).collect(),
            sent,
        }
    }
}

impl ProbeLog {
    /// Counts, phases by the switches' times, and the first mismatches.
    pub fn summarise(&self, switches: &[Switch], start: Instant) -> Probes {
        let mut by_phase: BTreeMap<String, u64> = BTreeMap::new();
        let mut mismatches = Vec::new();
        let mut as_expected = 0;
        for p in &self.sent {
            let t_ms = p.at.saturating_duration_since(start).as_secs_f64() * 1000.0;
            let phase = phase_at(switches, t_ms);
            *by_phase.entry(phase.clone()).or_default() += 1;
            match &p.problem {
                None => as_expected += 1,
                Some(problem) if mismatches.len() < MAX_MISMATCHES => mismatches.push(format!(
                    "{} at {:.0} ms ({phase}): {problem}",
                    self.names[p.scenario], t_ms
                )),
                Some(_) => {}
            }
        }
        Probes {
            scenarios: self.names.clone(),
            sent: self.sent.len() as u64,
            as_expected,
            by_phase,
            mismatches,
        }
    }
}

/// The twin the slot served at `t_ms`, or `switching` between a rename and its convergence.
pub fn phase_at(switches: &[Switch], t_ms: f64) -> String {
    let mut current = "lua".to_string();
    for s in switches {
        if t_ms < s.at_ms {
            break;
        }
        if s.rejected && !s.accepted {
            continue;
        }
        match s.converged_ms.or(s.reload_seen_ms) {
            Some(settle) if t_ms >= s.at_ms + settle && s.accepted => current = s.to.clone(),
            _ => return "switching".into(),
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use filterbench_model::results::swap::{MemoryPoint, Window};

    fn switch(to: &str, at_ms: f64, accepted: bool, settle: Option<f64>) -> Switch {
        Switch {
            from: String::new(),
            to: to.into(),
            expect_accepted: accepted,
            at_ms,
            accepted,
            rejected: !accepted,
            reload_seen_ms: Some(2.0),
            envoy_update_ms: None,
            converged_ms: settle,
            converged_by: String::new(),
            memory_before: MemoryPoint::default(),
            memory_after: MemoryPoint::default(),
            stats_after: BTreeMap::new(),
            log: Vec::new(),
            window: Window {
                from_ms: 0.0,
                to_ms: 0.0,
                requests: 0,
                failed: Default::default(),
                p99_us: 0,
                p99_before_us: 0,
                max_us: 0,
            },
        }
    }

    #[test]
    fn probes_are_placed_by_rename_and_convergence() {
        let s = [
            switch("wasm", 1000.0, true, Some(50.0)),
            switch("lua", 2000.0, true, Some(30.0)),
            switch("corrupt_wasm", 3000.0, false, None),
        ];
        assert_eq!(phase_at(&s, 999.0), "lua");
        assert_eq!(phase_at(&s, 1020.0), "switching");
        assert_eq!(phase_at(&s, 1100.0), "wasm");
        assert_eq!(phase_at(&s, 2010.0), "switching");
        assert_eq!(phase_at(&s, 2500.0), "lua");
        // A rejected file leaves the twin that was serving.
        assert_eq!(phase_at(&s, 3500.0), "lua");
        // An accepted switch that never converged stays "switching".
        let never = [switch("wasm", 1000.0, true, None)];
        assert_eq!(phase_at(&never, 1500.0), "wasm"); // reload_seen stands in
    }
}
