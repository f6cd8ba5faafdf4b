//! Bad input gives a one-line error that names the file and what is wrong, a non-zero exit, and
//! no hang; a broken behaviour in one twin gives a diff naming the scenario.

use std::ffi::OsStr;
use std::time::Duration;

use crate::support::{filterbench, text, ProjectCopy};

const LIMIT: Duration = Duration::from_secs(120);

/// Runs `verify --envoy` on a copy of the project; returns (exit code, stdout, stderr).
fn verify(copy: &ProjectCopy, pair: &str, extra_env: &[(&str, &OsStr)]) -> (i32, String, String) {
    let mut env = vec![("FILTERBENCH_ROOT", copy.root().as_os_str())];
    env.extend_from_slice(extra_env);
    let out = filterbench(&["verify", "--envoy", "--pair", pair], &env, LIMIT);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

fn assert_one_line_error(code: i32, stderr: &str, wanted: &[&str]) {
    assert_eq!(code, 2, "exit code; stderr: {stderr}");
    let lines: Vec<&str> = stderr
        .trim()
        .lines()
        .filter(|l| !l.starts_with("filterbench: installing"))
        .collect();
    assert_eq!(lines.len(), 1, "one line of error expected, got: {stderr}");
    for w in wanted {
        assert!(
            lines[0].contains(w),
            "error {:?} does not mention {w:?}",
            lines[0]
        );
    }
}

#[test]
fn lua_syntax_error_names_the_script() {
    let copy = ProjectCopy::new();
    copy.edit(
        "filters-lua/header_auth.lua",
        "function envoy_on_request",
        "function envoy_on_request(( broken",
    );
    let (code, _, stderr) = verify(&copy, "header_auth", &[]);
    assert_one_line_error(
        code,
        &stderr,
        &[
            "filters-lua/header_auth.lua",
            "Envoy rejected the Lua script",
        ],
    );
}

#[test]
fn a_module_that_is_not_wasm_is_named() {
    let copy = ProjectCopy::new();
    let modules = tempfile::tempdir().unwrap();
    std::fs::write(
        modules.path().join("bot_block.wasm"),
        b"#!/bin/sh\necho not wasm\n",
    )
    .unwrap();
    let (code, _, stderr) = verify(
        &copy,
        "bot_block",
        &[("FILTERBENCH_WASM_DIR", modules.path().as_os_str())],
    );
    assert_one_line_error(
        code,
        &stderr,
        &["bot_block.wasm", "not a WebAssembly module"],
    );
}

#[test]
fn a_wasm_module_envoy_cannot_load_is_named() {
    let copy = ProjectCopy::new();
    let modules = tempfile::tempdir().unwrap();
    std::fs::write(
        modules.path().join("bot_block.wasm"),
        b"\0asm\x01\0\0\0\x7fgarbage",
    )
    .unwrap();
    let (code, _, stderr) = verify(
        &copy,
        "bot_block",
        &[("FILTERBENCH_WASM_DIR", modules.path().as_os_str())],
    );
    assert_one_line_error(
        code,
        &stderr,
        &["bot_block.wasm", "Envoy rejected the Wasm module"],
    );
}

#[test]
fn a_corpus_field_nobody_knows_is_refused() {
    let copy = ProjectCopy::new();
    copy.edit(
        "bench/corpus/add_header.toml",
        "[scenario.expect]",
        "colour = \"red\"\n[scenario.expect]",
    );
    let (code, _, stderr) = verify(&copy, "add_header", &[]);
    assert_one_line_error(
        code,
        &stderr,
        &["bench/corpus/add_header.toml", "unknown field `colour`"],
    );
}

#[test]
fn a_pair_without_its_lua_twin_is_refused() {
    let copy = ProjectCopy::new();
    std::fs::remove_file(copy.path("filters-lua/path_log.lua")).unwrap();
    let (code, _, stderr) = verify(&copy, "add_header", &[]);
    assert_one_line_error(
        code,
        &stderr,
        &["filters-lua/path_log.lua", "missing Lua twin"],
    );
}

#[test]
fn a_pair_without_its_wasm_twin_is_refused() {
    let copy = ProjectCopy::new();
    std::fs::remove_dir_all(copy.path("filters-wasm/path_log")).unwrap();
    let (code, _, stderr) = verify(&copy, "add_header", &[]);
    assert_one_line_error(
        code,
        &stderr,
        &["filters-wasm/path_log", "missing Wasm twin"],
    );
}

#[test]
fn a_script_without_a_catalogue_entry_is_refused() {
    let copy = ProjectCopy::new();
    std::fs::write(copy.path("filters-lua/stray.lua"), "-- nobody's\n").unwrap();
    let (code, _, stderr) = verify(&copy, "add_header", &[]);
    assert_one_line_error(
        code,
        &stderr,
        &["filters-lua/stray.lua", "no catalogue entry"],
    );
}

#[test]
fn a_missing_envoy_is_reported_with_the_way_out() {
    let copy = ProjectCopy::new();
    let (code, _, stderr) = verify(
        &copy,
        "add_header",
        &[("ENVOY_BIN", OsStr::new("/nonexistent/envoy"))],
    );
    assert_one_line_error(
        code,
        &stderr,
        &["ENVOY_BIN=/nonexistent/envoy does not exist"],
    );
}

#[test]
fn an_unknown_pair_is_refused() {
    let copy = ProjectCopy::new();
    let (code, _, stderr) = verify(&copy, "no_such_pair", &[]);
    assert_one_line_error(
        code,
        &stderr,
        &["no pair named \"no_such_pair\"", "catalogue.toml"],
    );
}

#[test]
fn breaking_one_twin_fails_with_a_diff_naming_the_scenario() {
    let copy = ProjectCopy::new();
    // The Lua twin now also accepts `yes`: every scenario sending `allow: yes` must show up.
    copy.edit("filters-lua/header_auth.lua", "\"true\"", "\"yes\"");
    let (code, stdout, stderr) = verify(&copy, "header_auth", &[]);
    assert_eq!(code, 1, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("header_auth: DIFFER"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("header_auth / allow_true")
                && l.contains("status: lua 403 | wasm 200")),
        "no diff line for the allow_true scenario:\n{stdout}"
    );
    let last = stdout.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("1 pairs, ") && last.ends_with(": 0 equivalent, 1 differ"),
        "{last}"
    );
}

#[test]
fn a_lua_counter_that_miscounts_fails_the_counter_check() {
    let copy = ProjectCopy::new();
    copy.edit(
        "filters-lua/custom_metrics.lua",
        "local count = (counts[name] or 0) + 1",
        "local count = (counts[name] or 0) + (status == \"404\" and 2 or 1)",
    );
    let (code, stdout, stderr) = verify(&copy, "custom_metrics", &[]);
    assert_eq!(code, 1, "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("(counters after the corpus)")
                && l.contains(".404]: lua 2 | wasm 1")),
        "{stdout}"
    );
}
