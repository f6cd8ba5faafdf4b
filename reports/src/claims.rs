//! Did the widely quoted Lua-vs-Wasm operation table hold on this machine?
//!
//! The rule, also printed on `claims.html`: a claim is about a *ratio*, Lua time / Wasm time
//! (how many times faster Wasm is said to be), because absolute nanoseconds depend on the machine.
//! - claimed direction: Wasm faster when the claimed Lua time is larger, Lua faster when smaller;
//! - measured direction: Wasm faster only when Wasm's whole 95% confidence interval lies below
//!   Lua's, Lua faster only when the reverse holds; overlapping intervals mean no clear
//!   difference;
//! - **held**: same direction, and the measured ratio within a factor of [`HELD_FACTOR`] of the
//!   claimed one (either way);
//! - **direction only**: same direction, magnitude off by more than that factor;
//! - **did not hold**: another direction (including "no clear difference" against a claimed
//!   difference).

use serde::Serialize;

use crate::results::OperationBench;

/// How far (as a factor, either way) the measured ratio may be from the claimed one and the claim
/// still count as held.
pub const HELD_FACTOR: f64 = 2.0;

/// Which side is faster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Faster {
    Lua,
    Wasm,
    /// Equal claims, or overlapping confidence intervals.
    Neither,
}

impl Faster {
    pub fn words(self) -> &'static str {
        match self {
            Faster::Lua => "Lua faster",
            Faster::Wasm => "Wasm faster",
            Faster::Neither => "no clear difference",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Held,
    DirectionOnly,
    NotHeld,
    /// A time that is zero or negative: no ratio to compare.
    CannotJudge,
}

impl Outcome {
    pub fn id(self) -> &'static str {
        match self {
            Outcome::Held => "held",
            Outcome::DirectionOnly => "direction_only",
            Outcome::NotHeld => "not_held",
            Outcome::CannotJudge => "cannot_judge",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Outcome::Held => "held",
            Outcome::DirectionOnly => "direction only",
            Outcome::NotHeld => "did not hold",
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
    /// Measured Lua median / Wasm median.
    pub measured_ratio: Option<f64>,
    pub claimed: Faster,
    pub measured: Faster,
    pub outcome: Outcome,
    /// The reason, in words.
    pub why: String,
}

fn ratio(lua: f64, wasm: f64) -> Option<f64> {
    (lua > 0.0 && wasm > 0.0 && lua.is_finite() && wasm.is_finite()).then(|| lua / wasm)
}

/// Judges one operation by the rule in the module docs.
pub fn judge(op: &OperationBench) -> ClaimCheck {
    let claimed_ratio = ratio(op.claimed_lua_ns, op.claimed_wasm_ns);
    let measured_ratio = ratio(op.lua.median_ns, op.wasm.median_ns);
    let claimed = if op.claimed_lua_ns > op.claimed_wasm_ns {
        Faster::Wasm
    } else if op.claimed_lua_ns < op.claimed_wasm_ns {
        Faster::Lua
    } else {
        Faster::Neither
    };
    let measured = if op.wasm.ci_high_ns < op.lua.ci_low_ns {
        Faster::Wasm
    } else if op.lua.ci_high_ns < op.wasm.ci_low_ns {
        Faster::Lua
    } else {
        Faster::Neither
    };
    let (outcome, why) = match (claimed_ratio, measured_ratio) {
        (Some(c), Some(m)) => {
            let off = (m / c).max(c / m);
            if claimed != measured {
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
            "a time is zero or negative, so there is no ratio".into(),
        ),
    };
    ClaimCheck {
        op: op.op.clone(),
        claimed_ratio,
        measured_ratio,
        claimed,
        measured,
        outcome,
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Estimate;

    fn op(claimed: (f64, f64), lua: (f64, f64, f64), wasm: (f64, f64, f64)) -> OperationBench {
        let est = |(m, l, h)| Estimate {
            median_ns: m,
            ci_low_ns: l,
            ci_high_ns: h,
        };
        OperationBench {
            op: "json_parse".into(),
            description: "parse".into(),
            claimed_lua_ns: claimed.0,
            claimed_wasm_ns: claimed.1,
            lua: est(lua),
            wasm: est(wasm),
        }
    }

    #[test]
    fn the_rule() {
        // Claimed 4x, measured 3x: held.
        let c = judge(&op(
            (400.0, 100.0),
            (300.0, 290.0, 310.0),
            (100.0, 95.0, 105.0),
        ));
        assert_eq!(
            (c.claimed, c.measured, c.outcome),
            (Faster::Wasm, Faster::Wasm, Outcome::Held)
        );
        // Claimed 6x, measured 1.5x: direction only.
        let c = judge(&op(
            (600.0, 100.0),
            (150.0, 145.0, 155.0),
            (100.0, 95.0, 105.0),
        ));
        assert_eq!(c.outcome, Outcome::DirectionOnly);
        assert!(c.why.contains("4.0x away"), "{}", c.why);
        // Claimed Wasm faster, measured Lua faster: not held.
        let c = judge(&op(
            (400.0, 100.0),
            (80.0, 78.0, 82.0),
            (100.0, 95.0, 105.0),
        ));
        assert_eq!((c.measured, c.outcome), (Faster::Lua, Outcome::NotHeld));
        // Overlapping intervals against a claimed difference: not held.
        let c = judge(&op(
            (400.0, 100.0),
            (100.0, 90.0, 110.0),
            (98.0, 95.0, 105.0),
        ));
        assert_eq!((c.measured, c.outcome), (Faster::Neither, Outcome::NotHeld));
        // No ratio.
        assert_eq!(
            judge(&op((0.0, 100.0), (1.0, 1.0, 1.0), (1.0, 1.0, 1.0))).outcome,
            Outcome::CannotJudge
        );
    }
}
