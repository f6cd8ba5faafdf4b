//! Did the widely quoted Lua-vs-Wasm operation table hold on this machine?
//!
//! The rule, also printed on `claims.html` ([`RULE`]): a claim is about a *ratio* (how many
//! times faster Wasm is said to be), because absolute nanoseconds depend on the machine. The
//! measured ratio is the paired one ([`Paired::wasm_over_lua`]: Lua and Wasm timed in
//! interleaved batches, median of the per-round ratios Wasm/Lua, 95% bootstrap interval), so a
//! noisy phase of the machine cannot favour one side.
//! - claimed direction: Wasm faster when the claimed Lua time is larger, Lua faster when smaller;
//! - measured direction: Wasm faster only when the whole interval of Wasm/Lua lies below 1, Lua
//!   faster only when it lies above 1; an interval containing 1 is **no measurable difference**,
//!   neither held nor refuted (the measurement cannot tell);
//! - **held**: the measured direction is the claimed one and the measured ratio (its median, as
//!   Lua/Wasm) within a factor of [`HELD_FACTOR`] of the claimed one (either way);
//! - **direction only**: same direction, magnitude off by more than that factor;
//! - **did not hold**: the whole interval lies on the other side of 1.
//!
//! Callgrind's instruction counts ([`Instructions`]) are shown beside as a repeatable
//! cross-check; they do not enter the rule (instructions are not time, and wasmtime is not V8).

use serde::Serialize;

use filterbench_model::results::{Instructions, OperationBench, Paired};

/// How far (as a factor, either way) the measured ratio may be from the claimed one and the claim
/// still count as held.
pub const HELD_FACTOR: f64 = 2.0;

/// The rule in words, one sentence per item, for the claims page.
pub const RULE: [&str; 5] = [
    "A claim is about the ratio Lua time ÷ Wasm time (how many times faster Wasm is said to be); \
     absolute nanoseconds depend on the machine.",
    "The measured ratio is paired: Lua and Wasm timed in alternating batches (ABBA order, so a \
     slow phase of the machine hits both), the median of the per-round ratios Wasm ÷ Lua with a \
     95% bootstrap interval. Wasm is measurably faster only when that whole interval lies below \
     1, Lua only when it lies above 1; an interval containing 1 is no measurable difference.",
    "Held: the measured direction is the claimed one and the measured ratio is within a factor \
     of 2 of the claimed ratio (either way).",
    "Direction only: the direction is right, the size is off by more than a factor of 2.",
    "Did not hold: the whole interval lies on the other side. No measurable difference: the \
     interval contains 1, so the measurement neither confirms nor refutes the claim.",
];

/// What the instruction counts beside the table are (and are not).
pub const INSTRUCTIONS_NOTE: &str = "Instructions per operation, counted under valgrind's \
    callgrind ((count with N repetitions - count with 0) / N, steady state), are shown beside as \
    a repeatable cross-check: they are the same on every run, but callgrind counts instructions, \
    not time (a cache miss or a mispredicted branch costs one instruction there), and the Wasm \
    count is of wasmtime's Cranelift code, while Envoy runs Wasm on V8.";

/// Which side is faster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Faster {
    Lua,
    Wasm,
    /// Equal claims, or a paired interval that contains 1.
    Neither,
}

impl Faster {
    pub fn words(self) -> &'static str {
        match self {
            Faster::Lua => "Lua faster",
            Faster::Wasm => "Wasm faster",
            Faster::Neither => "no measurable difference",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Held,
    DirectionOnly,
    NotHeld,
    /// The paired interval contains 1: the measurement cannot tell.
    NoMeasurableDifference,
    /// A claimed time that is zero or negative, or a measured ratio that is not positive.
    CannotJudge,
}

impl Outcome {
    pub fn id(self) -> &'static str {
        match self {
            Outcome::Held => "held",
            Outcome::DirectionOnly => "direction_only",
            Outcome::NotHeld => "not_held",
            Outcome::NoMeasurableDifference => "no_measurable_difference",
            Outcome::CannotJudge => "cannot_judge",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Outcome::Held => "held",
            Outcome::DirectionOnly => "direction only",
            Outcome::NotHeld => "did not hold",
            Outcome::NoMeasurableDifference => "no measurable difference",
            Outcome::CannotJudge => "cannot judge",
        }
    }
}

/// One row of the claims table, judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaimCheck {
    pub op: String,
    /// Claimed Lua ns / claimed Wasm ns.
    pub claimed_ratio: Option<f64>,
    /// Measured Lua / Wasm: the inverse of the paired median Wasm/Lua.
    pub measured_ratio: Option<f64>,
    /// The paired interval as Lua / Wasm, (low, high).
    pub measured_interval: Option<(f64, f64)>,
    pub claimed: Faster,
    pub measured: Faster,
    pub outcome: Outcome,
    /// The reason, in words, with the paired interval and the instruction counts.
    pub why: String,
}

fn ratio(lua: f64, wasm: f64) -> Option<f64> {
    (lua > 0.0 && wasm > 0.0 && lua.is_finite() && wasm.is_finite()).then(|| lua / wasm)
}

/// The paired measurement in words: `Wasm/Lua 0.42 [0.40 – 0.45] (paired, 200 rounds)`.
pub fn paired_words(p: &Paired) -> String {
    let r = p.wasm_over_lua;
    format!(
        "paired Wasm/Lua {:.2} [{:.2} – {:.2}] (median of {} interleaved rounds in {} blocks on \
         fresh VMs, 95% bootstrap interval)",
        r.median, r.low, r.high, p.rounds, p.blocks
    )
}

/// Instruction counts in words, or `None` when there are none.
pub fn instructions_words(i: &Option<Instructions>, unit: &str) -> Option<String> {
    let i = i.as_ref()?;
    let side = |n: Option<f64>| n.map_or("n/a".to_string(), |n| format!("{n:.0}"));
    let ratio = match (i.lua, i.wasm) {
        (Some(l), Some(w)) if l > 0.0 => format!(", Wasm/Lua {:.2}", w / l),
        _ => String::new(),
    };
    Some(format!(
        "callgrind: Lua {}, Wasm {} instructions per {unit}{ratio}",
        side(i.lua),
        side(i.wasm)
    ))
}

/// Judges one operation by the rule in the module docs.
pub fn judge(op: &OperationBench) -> ClaimCheck {
    let claimed_ratio = ratio(op.claimed_lua_ns, op.claimed_wasm_ns);
    let w = op.paired.wasm_over_lua;
    let positive = w.median > 0.0 && w.low > 0.0 && w.high.is_finite();
    let measured_ratio = (positive).then(|| 1.0 / w.median);
    let measured_interval = positive.then(|| (1.0 / w.high, 1.0 / w.low));
    let claimed = if op.claimed_lua_ns > op.claimed_wasm_ns {
        Faster::Wasm
    } else if op.claimed_lua_ns < op.claimed_wasm_ns {
        Faster::Lua
    } else {
        Faster::Neither
    };
    let measured = match w.side_of(1.0) {
        Some(true) => Faster::Wasm,
        Some(false) => Faster::Lua,
        None => Faster::Neither,
    };
    let (outcome, mut why) = match (claimed_ratio, measured_ratio) {
        (Some(c), Some(m)) => {
            let off = (m / c).max(c / m);
            if measured == Faster::Neither && claimed != Faster::Neither {
                (
                    Outcome::NoMeasurableDifference,
                    format!(
                        "claimed {}; the paired interval contains 1, so this measurement cannot \
                         tell",
                        claimed.words()
                    ),
                )
            } else if claimed != measured {
                (
                    Outcome::NotHeld,
                    format!("claimed {}, measured {}", claimed.words(), measured.words()),
                )
            } else if off <= HELD_FACTOR {
                (
                    Outcome::Held,
                    format!(
                        "{}; measured ratio {m:.2}x is within {HELD_FACTOR}x of the claimed {c:.2}x",
                        measured.words()
                    ),
                )
            } else {
                (
                    Outcome::DirectionOnly,
                    format!(
                        "{}, but the measured ratio {m:.2}x is {off:.1}x away from the claimed {c:.2}x",
                        measured.words()
                    ),
                )
            }
        }
        _ => (
            Outcome::CannotJudge,
            "a claimed time is zero or negative, or the paired ratio is not positive, so there \
             is no ratio to compare"
                .into(),
        ),
    };
    why.push_str(&format!(" ({})", paired_words(&op.paired)));
    if let Some(i) = instructions_words(&op.instructions, "op") {
        why.push_str(&format!("; {i}"));
    }
    ClaimCheck {
        op: op.op.clone(),
        claimed_ratio,
        measured_ratio,
        measured_interval,
        claimed,
        measured,
        outcome,
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use filterbench_model::results::Estimate;
    use filterbench_model::stats::Interval;

    /// An op with claimed (Lua, Wasm) ns and a paired Wasm/Lua (median, low, high).
    fn op(claimed: (f64, f64), wasm_over_lua: (f64, f64, f64)) -> OperationBench {
        let est = Estimate {
            median_ns: 100.0,
            ci_low_ns: 90.0,
            ci_high_ns: 110.0,
        };
        OperationBench {
            op: "json_parse".into(),
            description: "parse".into(),
            claimed_lua_ns: claimed.0,
            claimed_wasm_ns: claimed.1,
            lua: est,
            wasm: est,
            paired: Paired {
                wasm_over_lua: Interval {
                    median: wasm_over_lua.0,
                    low: wasm_over_lua.1,
                    high: wasm_over_lua.2,
                    n: 100,
                },
                wasm_minus_lua_ns: Interval {
                    median: 0.0,
                    low: -1.0,
                    high: 1.0,
                    n: 100,
                },
                rounds: 200,
                blocks: 8,
                lua_batch_iterations: 10,
                wasm_batch_iterations: 10,
            },
            instructions: Some(Instructions {
                lua: Some(900.0),
                wasm: Some(300.0),
                go: None,
            }),
        }
    }

    #[test]
    fn the_rule() {
        // Claimed 4x (Wasm/Lua 0.25), measured Wasm/Lua 0.33 [0.31, 0.35] = 3x: held.
        let c = judge(&op((400.0, 100.0), (0.33, 0.31, 0.35)));
        assert_eq!(
            (c.claimed, c.measured, c.outcome),
            (Faster::Wasm, Faster::Wasm, Outcome::Held)
        );
        assert!((c.measured_ratio.unwrap() - 1.0 / 0.33).abs() < 1e-9);
        assert!(
            c.why.contains("paired Wasm/Lua 0.33 [0.31 – 0.35]"),
            "{}",
            c.why
        );
        assert!(
            c.why
                .contains("callgrind: Lua 900, Wasm 300 instructions per op"),
            "{}",
            c.why
        );
        // Claimed 6x, measured 1.5x (Wasm/Lua 0.667): direction only.
        let c = judge(&op((600.0, 100.0), (1.0 / 1.5, 0.6, 0.7)));
        assert_eq!(c.outcome, Outcome::DirectionOnly);
        assert!(c.why.contains("4.0x away"), "{}", c.why);
        // Claimed Wasm faster, the whole interval above 1: not held.
        let c = judge(&op((400.0, 100.0), (1.25, 1.2, 1.3)));
        assert_eq!((c.measured, c.outcome), (Faster::Lua, Outcome::NotHeld));
        // The interval contains 1, even with a median far from it: neither held nor refuted.
        let c = judge(&op((400.0, 100.0), (0.5, 0.2, 1.05)));
        assert_eq!(
            (c.measured, c.outcome),
            (Faster::Neither, Outcome::NoMeasurableDifference)
        );
        assert_eq!(c.outcome.id(), "no_measurable_difference");
        // Touching 1 from below is not below 1.
        let c = judge(&op((400.0, 100.0), (0.5, 0.2, 1.0)));
        assert_eq!(c.outcome, Outcome::NoMeasurableDifference);
        // Claimed Lua faster, interval above 1 and the size right: held.
        let c = judge(&op((100.0, 200.0), (1.8, 1.7, 1.9)));
        assert_eq!((c.claimed, c.outcome), (Faster::Lua, Outcome::Held));
        // No ratio: a zero claim, or a per-op time that came out negative in the median.
        assert_eq!(
            judge(&op((0.0, 100.0), (1.0, 0.9, 1.1))).outcome,
            Outcome::CannotJudge
        );
        assert_eq!(
            judge(&op((400.0, 100.0), (-0.5, -1.0, 0.2))).outcome,
            Outcome::CannotJudge
        );
    }

    #[test]
    fn missing_counts_are_left_out_not_invented() {
        let mut o = op((400.0, 100.0), (0.33, 0.31, 0.35));
        o.instructions = None;
        let c = judge(&o);
        assert!(!c.why.contains("callgrind"), "{}", c.why);
        o.instructions = Some(Instructions {
            lua: None,
            wasm: Some(300.0),
            go: None,
        });
        let c = judge(&o);
        assert!(c.why.contains("Lua n/a, Wasm 300"), "{}", c.why);
    }
}
