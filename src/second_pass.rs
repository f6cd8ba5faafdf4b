//! `all`'s second pass: after the first pass over every pair, the rest of the measurement
//! budget (`[measurement] extra_budget_secs`) goes where it can still change something, instead
//! of the same time to every pair:
//!
//! 1. first to the pairs whose **answer is open**: the tree, re-run on resamples of the rounds,
//!    gives its answer on fewer than the policy's `min_share` of them ("too close to call").
//!    Rounds are added one at a time, the tree asked again after each, until the answer reaches
//!    the share or the pair's part of the budget ends;
//! 2. then to the pairs whose answer is settled but whose Wasm-minus-Lua interval (Lua minus the
//!    baseline in a Lua-only run) is still **wider than the target**, the nearest to it first (so
//!    that as many as possible reach it), until it does or the part ends.
//!
//! The open answers share the whole budget among themselves (each gets what is left divided by
//! the open ones still waiting, up to the policy's maximum of rounds); the intervals short of
//! their target share what the open ones leave, the same way, so what one leaves goes to the
//! next. A pass starts the pair's Envoys again (at 1 worker) and runs its rounds at the
//! first pass's rate, numbered on from its last: the rounds of both passes are paired the same
//! way and read as one series. Each pass is recorded in the run ([`LoadRun::extra`]: why, how
//! many rounds, how it ended) and the pair's page says so.

use std::path::PathBuf;
use std::time::Instant;

use filterbench_envoy::compare::{narrowed, Subject};
use filterbench_model::results::{results_dir, ExtraEnd, ExtraWhy, LoadRun, RoundMethod, Variant};
use filterbench_model::{Catalogue, Pair};
use filterbench_reports::decision::Policy;
use filterbench_reports::evidence::ResultSet;

use crate::all::Measured;

/// A pass gets at least this many seconds, or none: starting the Envoys again and warming them
/// up takes a few seconds (a Go Wasm twin's about four), and fewer than a few rounds after that
/// would change nothing.
pub const MIN_PASS_SECS: f64 = 10.0;

/// A run of the first pass, kept for the second.
pub struct Done {
    pub subject: Subject,
    /// How the output names it (`strip [admin]` for a configuration other than `default`).
    pub label: String,
    /// Its file.
    pub out: PathBuf,
    pub run: LoadRun,
}

/// A run waiting for more rounds, and why.
struct Waiting {
    index: usize,
    why: ExtraWhy,
    /// Rounds it would still need at its spread so far to reach the target (the order of the
    /// pairs short of it).
    need: f64,
}

/// Runs the second pass over `measured.runs` with `budget_secs`, printing a line per pass.
pub fn run(
    session: &crate::load::Session,
    catalogue: &Catalogue,
    pairs: &[&Pair],
    policy: &Policy,
    budget_secs: f64,
    measured: &mut Measured,
) -> anyhow::Result<()> {
    if budget_secs <= 0.0 {
        return Ok(());
    }
    let started = Instant::now();
    let names: Vec<&str> = pairs.iter().map(|p| p.name.as_str()).collect();
    let owned: Vec<Pair> = pairs.iter().map(|p| (*p).clone()).collect();
    let mut results =
        ResultSet::read(&results_dir(&catalogue.root), &names)?.with_configs(&owned)?;
    let waiting = waiting(&measured.runs, pairs, &results, policy);
    if waiting.is_empty() {
        println!(
            "  second pass: nothing to add (every answer settled, every interval at its target)"
        );
        return Ok(());
    }
    println!(
        "  second pass ({budget_secs:.0} s): {}",
        waiting
            .iter()
            .map(|w| format!(
                "{} ({})",
                measured.runs[w.index].label,
                match w.why {
                    ExtraWhy::OpenAnswer => "too close to call",
                    ExtraWhy::ShortOfTarget => "short of the target",
                }
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let open = waiting
        .iter()
        .filter(|w| w.why == ExtraWhy::OpenAnswer)
        .count();
    for (k, w) in waiting.iter().enumerate() {
        let left = budget_secs - started.elapsed().as_secs_f64();
        // The open answers share the whole budget among themselves (what they leave goes on to
        // the intervals short of their target); those share what is left.
        let waiting_like_it = if k < open {
            open - k
        } else {
            waiting.len() - k
        };
        let part = left / waiting_like_it as f64;
        let done = &mut measured.runs[w.index];
        if part < MIN_PASS_SECS {
            println!(
                "  {}: no second pass ({part:.0} s left for it, under {MIN_PASS_SECS:.0} s)",
                done.label
            );
            continue;
        }
        let pair = pairs.iter().find(|p| p.name == done.subject.name).copied();
        let config = done.subject.config().to_string();
        let lua_only = !done.run.variants.contains(&Variant::WASM);
        let target_met = |run: &LoadRun| {
            narrowed(&run.rounds, &run.plan, lua_only).is_some_and(|(i, t)| i.half_width() <= t)
        };
        let mut ended = |run: &LoadRun| -> Option<ExtraEnd> {
            match (w.why, pair) {
                (ExtraWhy::OpenAnswer, Some(pair)) => {
                    results.set_load(&pair.name, &config, run.clone());
                    results
                        .answer_share(pair, &config, policy)
                        .is_some_and(|s| s >= policy.confidence.min_share)
                        .then_some(ExtraEnd::Settled)
                }
                _ => target_met(run).then_some(ExtraEnd::TargetReached),
            }
        };
        let label = done.label.clone();
        let extended = session.extend(
            &done.subject,
            &mut done.run,
            w.why,
            part,
            &done.out,
            &mut ended,
            &mut |line| eprint!("\r\x1b[2K  {label}: {line}"),
        );
        eprint!("\r\x1b[2K");
        if let Some(pair) = pair {
            results.set_load(&pair.name, &config, done.run.clone());
        }
        match extended {
            Ok(()) => println!("  {}: {}", done.label, crate::load::one_line(&done.run)),
            Err(e) => {
                println!("  {}: second pass stopped: {e:#}", done.label);
                measured
                    .failed
                    .push(format!("{} (second pass)", done.label));
            }
        }
        if session.interrupted() {
            measured.interrupted = true;
            break;
        }
    }
    println!(
        "  second pass done ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The runs to give more rounds, in the order they get them: the open answers (catalogue
/// order), then the intervals short of their target (fewest rounds needed first).
fn waiting(runs: &[Done], pairs: &[&Pair], results: &ResultSet, policy: &Policy) -> Vec<Waiting> {
    let mut open = Vec::new();
    let mut short = Vec::new();
    for (index, d) in runs.iter().enumerate() {
        let run = &d.run;
        if run.partial || run.method != RoundMethod::Simultaneous {
            continue;
        }
        let pair = pairs.iter().find(|p| p.name == d.subject.name);
        let share = pair.and_then(|p| results.answer_share(p, d.subject.config(), policy));
        if share.is_some_and(|s| s < policy.confidence.min_share) {
            open.push(Waiting {
                index,
                why: ExtraWhy::OpenAnswer,
                need: 0.0,
            });
            continue;
        }
        let lua_only = !run.variants.contains(&Variant::WASM);
        if let Some((interval, target)) = narrowed(&run.rounds, &run.plan, lua_only) {
            if interval.half_width() > target && target > 0.0 {
                let n = interval.n as f64;
                short.push(Waiting {
                    index,
                    why: ExtraWhy::ShortOfTarget,
                    need: n * ((interval.half_width() / target).powi(2) - 1.0),
                });
            }
        }
    }
    order(open, short)
}

/// The open answers first (in their order), then the runs short of their target, the fewest
/// rounds needed first.
fn order(mut open: Vec<Waiting>, mut short: Vec<Waiting>) -> Vec<Waiting> {
    short.sort_by(|a, b| a.need.total_cmp(&b.need));
    open.extend(short);
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(index: usize, why: ExtraWhy, need: f64) -> Waiting {
        Waiting { index, why, need }
    }

    #[test]
    fn open_answers_come_first_then_the_nearest_to_their_target() {
        let open = vec![
            w(4, ExtraWhy::OpenAnswer, 0.0),
            w(1, ExtraWhy::OpenAnswer, 0.0),
        ];
        let short = vec![
            w(0, ExtraWhy::ShortOfTarget, 90.0),
            w(2, ExtraWhy::ShortOfTarget, 6.0),
            w(3, ExtraWhy::ShortOfTarget, 30.0),
        ];
        let got: Vec<usize> = order(open, short).iter().map(|w| w.index).collect();
        assert_eq!(got, [4, 1, 2, 3, 0]);
    }
}
