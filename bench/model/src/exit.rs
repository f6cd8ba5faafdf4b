//! The exit codes both binaries (`filterbench`, `loadgen`) use, one meaning each.

use std::process::ExitCode;

/// Done: every selected pair equivalent, the run complete.
pub const OK: u8 = 0;
/// Some pair's twins differ (or miss their expectations).
pub const NOT_EQUIVALENT: u8 = 1;
/// Bad input or a broken environment; the one-line error names the file or the tool. Also
/// clap's code for a usage error.
pub const BAD_INPUT: u8 = 2;
/// Stopped by Ctrl-C; partial results are written, marked partial.
pub const INTERRUPTED: u8 = 130;

/// `code` as a process exit code.
pub fn code(code: u8) -> ExitCode {
    ExitCode::from(code)
}

/// [`OK`] when every pair is equivalent, else [`NOT_EQUIVALENT`].
pub fn equivalence(equivalent: bool) -> ExitCode {
    code(if equivalent { OK } else { NOT_EQUIVALENT })
}
