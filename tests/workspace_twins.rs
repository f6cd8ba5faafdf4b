//! A workspace pair with twins of every kind: `filterbench new --go --native` scaffolds a Go
//! twin and a native twin crate beside the Rust one, with the project's Go ABI layer and native
//! SDK copied in (naming their source commit); the twins are built at run time and proven
//! equivalent to a pass-through Lua filter in real Envoy; a twin that does not build is one error
//! naming the pair and the command; without Go only the Go twins are skipped, said; `--force`
//! keeps the Go and native folders as named backups.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{filterbench, text};

/// A fresh workspace builds three twins from cold (proxy-wasm, the Go runtime for wasip1, the
/// native SDK): minutes on a busy 2-core machine.
const LIMIT: Duration = Duration::from_secs(900);

/// Runs `filterbench ARGS --workspace WS` with `env`: (exit code, stdout, stderr).
fn run_env(ws: &Path, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> (i32, String, String) {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--workspace");
    all.push(ws.to_str().unwrap());
    let out = filterbench(&all, env, LIMIT);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

fn run(ws: &Path, args: &[&str]) -> (i32, String, String) {
    run_env(ws, args, &[])
}

/// The error lines of stderr: the twins' build progress lines left out.
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| !l.starts_with("building the ") && !l.starts_with("built the "))
        .collect()
}

/// Exit code 2 and one error line holding every `wanted`.
fn assert_one_line_error(code: i32, stderr: &str, wanted: &[&str]) {
    assert_eq!(code, 2, "exit code; stderr: {stderr}");
    let lines = error_lines(stderr);
    assert_eq!(lines.len(), 1, "one line of error expected, got: {stderr}");
    for w in wanted {
        assert!(
            lines[0].contains(w),
            "error {:?} does not name {w:?}",
            lines[0]
        );
    }
}

const PASS_LUA: &str = "-- changes nothing\n\
function envoy_on_request(handle)\nend\n\
function envoy_on_response(handle)\nend\n";

/// Three scenarios a pass-through filter must leave alone: headers, a body, an upstream error.
const PASS_CORPUS: &str = r#"pair = "pt"

[[scenario]]
name = "get_passes"
path = "/get"
headers = [["x-client", "a"]]

[scenario.expect]
status = 200
upstream_reached = true
request_headers = [["x-client", "a"]]

[[scenario]]
name = "post_body_passes"
method = "POST"
path = "/post?q=1"
body = "hello body"

[scenario.expect]
status = 200
upstream_reached = true
upstream_body = "hello body"

[[scenario]]
name = "upstream_error_passes"
path = "/missing"
upstream = { status = 404, headers = [["x-up", "1"]] }

[scenario.expect]
status = 404
upstream_reached = true
response_headers = [["x-up", "1"]]
"#;

fn dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    let ws = tmp.path().join("ws");
    (tmp, ws, inputs)
}

/// Replaces `from` (which must be there) with `to` in a file.
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// The first line of a file copied from the project names its source and the project commit.
fn assert_copied_from(path: &Path, source: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.contains(&format!("Copied by `filterbench new` from {source}"))
            && first.contains("of the filterbench project, commit "),
        "{}: {first}",
        path.display()
    );
}

#[test]
fn new_go_native_twins_build_and_are_proven_equivalent_in_envoy() {
    let (_tmp, ws, inputs) = dirs();
    let lua = inputs.join("pt.lua");
    std::fs::write(&lua, PASS_LUA).unwrap();
    let (code, stdout, stderr) = run(
        &ws,
        &[
            "new",
            "pt",
            "--lua",
            lua.to_str().unwrap(),
            "--go",
            "--native",
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    for file in [
        "filters-wasm/pt/Cargo.toml",
        "filters-go/go.mod",
        "filters-go/pt/main.go",
        "filters-native/pt/Cargo.toml",
        "filters-native/pt/src/lib.rs",
        "filters-native/sdk/Cargo.toml",
    ] {
        assert!(ws.join(file).is_file(), "{file} not written: {stdout}");
    }
    for folder in [
        "filters-go/pt",
        "filters-go/proxywasm",
        "filters-native/sdk",
    ] {
        assert!(
            stdout.contains(&format!("  wrote {}\n", ws.join(folder).display())),
            "{folder} not named: {stdout}"
        );
    }
    assert_copied_from(
        &ws.join("filters-go/proxywasm/host.go"),
        "filters-go/proxywasm/host.go",
    );
    assert_copied_from(
        &ws.join("filters-native/sdk/src/lib.rs"),
        "filters-native/sdk/src/lib.rs",
    );
    std::fs::write(ws.join("corpus/pt.toml"), PASS_CORPUS).unwrap();

    // Every twin built from its source now, each proven in real Envoy.
    let (code, stdout, stderr) = run(&ws, &["verify", "--envoy", "--twin", "all"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for kind in ["wasm", "go-wasm", "native"] {
        let line = format!("{kind}: 1 pairs, 3 scenarios: 1 equivalent, 0 differ");
        assert!(stdout.contains(&line), "no {line:?} in {stdout}");
    }
    assert!(ws.join("target/filters-go/pt.wasm").is_file(), "{stderr}");
    assert!(ws.join("target/filters-native/pt.so").is_file(), "{stderr}");

    // The Go twin that runs is the one its source says: rebuilt after an edit, it differs.
    let main_go = ws.join("filters-go/pt/main.go");
    edit(
        &main_go,
        "// For example: proxywasm.AddHttpRequestHeader(\"x-name\", []byte(\"value\"))",
        "proxywasm.AddHttpRequestHeader(\"x-go\", []byte(\"1\"))",
    );
    let (code, stdout, stderr) = run(&ws, &["verify", "--in-process", "--twin", "go"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("pt / get_passes: upstream.header[x-go]: lua (absent) | go-wasm \"1\""),
        "{stdout}"
    );

    // A native twin that does not compile: one error naming the crate, the pair and the command.
    let lib_rs = ws.join("filters-native/pt/src/lib.rs");
    let good_lib = std::fs::read_to_string(&lib_rs).unwrap();
    edit(
        &lib_rs,
        "// For example: http.add_request_header(\"x-name\", b\"value\");",
        "let broken: u32 = \"not a number\";",
    );
    let (code, _, stderr) = run(&ws, &["verify", "--in-process", "--twin", "wasm"]);
    assert_one_line_error(
        code,
        &stderr,
        &[
            "filters-native/pt/Cargo.toml",
            "the native twin of \"pt\" does not build",
            "mismatched types",
            "cargo build --release --manifest-path",
        ],
    );
    std::fs::write(&lib_rs, good_lib).unwrap();

    // A Go twin that does not compile: one error naming the pair, the compiler's error and the
    // command to run by hand.
    edit(
        &main_go,
        "proxywasm.AddHttpRequestHeader(\"x-go\", []byte(\"1\"))",
        "nope()",
    );
    let (code, _, stderr) = run(&ws, &["verify", "--in-process", "--twin", "go"]);
    assert_one_line_error(
        code,
        &stderr,
        &[
            "filters-go/pt/main.go",
            "the Go twin of \"pt\" does not build",
            "undefined: nope",
            "GOOS=wasip1 GOARCH=wasm",
            "go build -buildmode=c-shared",
            "./pt",
        ],
    );

    // Without Go, only the Go twins are skipped, said with what is missing; the module built
    // before the broken edit is older than its source and removed, never run in its place.
    let (code, stdout, stderr) = run_env(
        &ws,
        &["verify", "--in-process", "--twin", "wasm"],
        &[("GO", std::ffi::OsStr::new("/nonexistent/bin/go"))],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "skipping the Go twins of pt (not built): the Go toolchain is missing: \
             `/nonexistent/bin/go` could not be run"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("removed ") && !ws.join("target/filters-go/pt.wasm").exists(),
        "{stderr}"
    );
    assert!(
        stdout.contains("1 pairs, 3 scenarios: 1 equivalent, 0 differ"),
        "{stdout}"
    );
    // A command that needs the Go twin then says it is not built, naming it.
    let (code, _, stderr) = run_env(
        &ws,
        &["verify", "--in-process", "--twin", "go"],
        &[("GO", std::ffi::OsStr::new("/nonexistent/bin/go"))],
    );
    assert_eq!(code, 2, "{stderr}");
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains("target/filters-go/pt.wasm")
            && last.contains("the Go Wasm twin of pair \"pt\" is not built from"),
        "{stderr}"
    );
}

/// `new --force` keeps the Go and native twin folders it replaces as named backups; the shared
/// folders (the Go ABI layer, the native SDK, possibly changed by the user) stay as they are.
/// Nothing here builds a twin.
#[test]
fn new_force_keeps_the_go_and_native_twins_as_named_backups() {
    let (_tmp, ws, inputs) = dirs();
    let first = inputs.join("first.lua");
    std::fs::write(&first, "-- first\n").unwrap();
    let second = inputs.join("second.lua");
    std::fs::write(&second, "-- second\n").unwrap();

    // Names of the shared folders and a pair with no twin at all are refused.
    let (code, _, stderr) = run(
        &ws,
        &["new", "sdk", "--lua", first.to_str().unwrap(), "--native"],
    );
    assert_one_line_error(code, &stderr, &["\"sdk\"", "filters-native/sdk/"]);
    let (code, _, stderr) = run(
        &ws,
        &["new", "mine", "--lua", first.to_str().unwrap(), "--no-wasm"],
    );
    assert_one_line_error(code, &stderr, &["--no-wasm", "--go", "--native"]);
    assert!(!ws.join("filterbench.toml").exists());

    let new = |lua: &Path, force: bool| {
        let mut args = vec![
            "new",
            "mine",
            "--lua",
            lua.to_str().unwrap(),
            "--no-wasm",
            "--go",
            "--native",
        ];
        if force {
            args.push("--force");
        }
        run(&ws, &args)
    };
    let (code, stdout, stderr) = new(&first, false);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        !ws.join("filters-wasm/mine").exists(),
        "--no-wasm: {stdout}"
    );
    // The user's own work in the twins and in the shared ABI layer.
    let main_go = ws.join("filters-go/mine/main.go");
    std::fs::write(&main_go, "// my Go twin\n").unwrap();
    let lib_rs = ws.join("filters-native/mine/src/lib.rs");
    std::fs::write(&lib_rs, "// my native twin\n").unwrap();
    let host_go = ws.join("filters-go/proxywasm/host.go");
    let mut host = std::fs::read_to_string(&host_go).unwrap();
    host.push_str("\n// my change\n");
    std::fs::write(&host_go, &host).unwrap();

    // Without --force: refused, naming the pair; nothing changed.
    let (code, _, stderr) = new(&second, false);
    assert_one_line_error(code, &stderr, &["\"mine\" exists already", "--force"]);
    assert_eq!(
        std::fs::read_to_string(&main_go).unwrap(),
        "// my Go twin\n"
    );

    let (code, stdout, stderr) = new(&second, true);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let kept = |path: &Path| -> PathBuf {
        let prefix = format!("  kept {} as ", path.display());
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no backup of {} named in {stdout}", path.display()));
        PathBuf::from(line.strip_suffix(" (--force)").unwrap())
    };
    let go_backup = kept(&ws.join("filters-go/mine"));
    assert_eq!(
        std::fs::read_to_string(go_backup.join("main.go")).unwrap(),
        "// my Go twin\n"
    );
    let native_backup = kept(&ws.join("filters-native/mine"));
    assert_eq!(
        std::fs::read_to_string(native_backup.join("src/lib.rs")).unwrap(),
        "// my native twin\n"
    );
    // Fresh pass-through twins in their place; the shared layer as the user left it, said.
    assert!(std::fs::read_to_string(&main_go)
        .unwrap()
        .contains("passes every request and response through"));
    assert_eq!(std::fs::read_to_string(&host_go).unwrap(), host);
    assert!(
        stdout.contains(&format!(
            "note: the Go twin uses the workspace's {} as it is",
            ws.join("filters-go/proxywasm").display()
        )),
        "{stdout}"
    );
    // From a manifest too: a second pair's Go twin in the same Go module, the ABI layer shared.
    let ef = inputs.join("envoyfilter.yaml");
    std::fs::write(&ef, crate::workspace::ENVOY_FILTER).unwrap();
    let (code, stdout, stderr) = run(
        &ws,
        &[
            "new",
            "tagger",
            "--from-manifest",
            ef.to_str().unwrap(),
            "--go",
            "--no-wasm",
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(ws.join("filters-go/tagger/main.go").is_file(), "{stdout}");
    assert!(!ws.join("filters-wasm/tagger").exists(), "{stdout}");
    assert!(!ws.join("filters-native/tagger").exists(), "{stdout}");
    // The workspace (backups beside) loads, each pair with the twins asked for only.
    let loaded = filterbench_model::Catalogue::load_workspace(&ws).unwrap();
    let kinds =
        |pair: &str| -> Vec<&str> { loaded.twins(pair).iter().map(|t| t.kind.id()).collect() };
    assert_eq!(kinds("mine"), ["go-wasm", "native"]);
    assert_eq!(kinds("tagger"), ["go-wasm"]);
}
