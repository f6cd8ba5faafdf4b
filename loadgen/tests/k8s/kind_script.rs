//! `scripts/kind-run.sh`: the kind runbook cannot run on a machine without a container engine, so
//! what can be checked is: shellcheck finds nothing (when shellcheck is installed; the test says
//! when it is not), and its argument handling: no PAIR is a usage error, an unknown pair is an
//! error naming the known ones, `--help` prints the usage. None of these reach a tool check.

use std::path::PathBuf;
use std::process::{Command, Output};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scripts")
        .join("kind-run.sh")
}

fn run(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(script())
        .args(args)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("bash runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn shellcheck_finds_nothing() {
    let Ok(out) = Command::new("shellcheck").arg(script()).output() else {
        eprintln!("shellcheck is not installed: skipped (apt-get install -y shellcheck)");
        return;
    };
    assert!(
        out.status.success(),
        "shellcheck:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}

#[test]
fn no_pair_is_a_usage_error() {
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("usage: scripts/kind-run.sh PAIR"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unknown_pair_is_an_error_listing_the_pairs() {
    let out = run(&["no_such_pair"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("unknown pair \"no_such_pair\""), "{err}");
    assert!(
        err.contains("jwt_auth") && err.contains("add_header"),
        "{err}"
    );
}

#[test]
fn options_and_extra_arguments_are_refused_and_help_is_usage() {
    let out = run(&["--bogus"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown option --bogus"),
        "{}",
        stderr(&out)
    );
    let out = run(&["add_header", "jwt_auth"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("TrafficExtension"));
}

#[test]
fn a_known_pair_gets_past_the_arguments_to_the_tool_check() {
    // With a PATH that has no kind/istioctl, a known pair fails at the tool check, not earlier.
    let out = run(&["add_header"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not installed"),
        "{}",
        stderr(&out)
    );
}
