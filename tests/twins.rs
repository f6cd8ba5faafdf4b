//! Twins of several kinds in real Envoy: `verify --envoy --twin native` and `--twin go` prove a
//! pair's native (Envoy dynamic module) and Go proxy-wasm twins against its Lua filter, a native
//! twin that answers otherwise than the Lua filter is reported as differing (exit 1, the diff
//! naming the scenario and the kind), and a native twin is never run in-process.

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use crate::support::{filterbench, text};

const LIMIT: Duration = Duration::from_secs(180);

/// Runs `filterbench ARGS` with `env`: (exit code, stdout, stderr).
fn run(args: &[&str], env: &[(&str, &OsStr)]) -> (i32, String, String) {
    let out = filterbench(args, env, LIMIT);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

fn last_line(stdout: &str) -> &str {
    stdout.trim_end().lines().last().unwrap_or("")
}

#[test]
fn the_native_and_go_twins_of_add_header_are_equivalent_in_real_envoy() {
    for (kind, label) in [("native", "native module"), ("go", "Go Wasm")] {
        let (code, stdout, stderr) = run(
            &["verify", "--envoy", "--twin", kind, "--pair", "add_header"],
            &[],
        );
        assert_eq!(code, 0, "--twin {kind}: {stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!("{label} twins")),
            "--twin {kind}: {stdout}"
        );
        assert!(
            stdout.contains("add_header: equivalent"),
            "--twin {kind}: {stdout}"
        );
        let last = last_line(&stdout);
        // The summary line keeps its shape for every kind (no prefix: one kind was verified).
        assert!(
            last.starts_with("1 pairs, ") && last.ends_with(": 1 equivalent, 0 differ"),
            "--twin {kind}: {last}"
        );
    }
}

/// A workspace whose pair `add_header` has a prebuilt native twin (the built-in pair's library)
/// and a Lua filter that adds another value than the twin does.
fn workspace_with_prebuilt_native(dir: &Path) {
    let library = filterbench_model::native_dir().join("add_header.so");
    assert!(
        library.is_file(),
        "{} is missing: filterbench-build builds the native twins",
        library.display()
    );
    let write = |rel: &str, text: &str| {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "filterbench.toml",
        &format!(
            "schema_version = 1\n\n[[pair]]\nname = \"add_header\"\nsummary = \"s\"\n\
             behaviour = \"b\"\nconfig = {{}}\ntraits = {{ external_call = false, \
             data_processing = false, custom_metrics = false, state = false, \
             change_frequency = \"low\" }}\nnative = {:?}\n",
            library.display().to_string()
        ),
    );
    write(
        "filters-lua/add_header.lua",
        "function envoy_on_request(handle)\n  \
         handle:headers():add(\"x-custom-header\", \"Hello from Lua\")\nend\n",
    );
    write(
        "corpus/add_header.toml",
        "pair = \"add_header\"\n\n[[scenario]]\nname = \"adds\"\npath = \"/x\"\n\n\
         [scenario.expect]\nstatus = 200\nupstream_reached = true\n",
    );
}

#[test]
fn a_native_twin_that_answers_otherwise_is_reported_as_differing() {
    let tmp = tempfile::tempdir().unwrap();
    workspace_with_prebuilt_native(tmp.path());
    let ws = tmp.path().to_str().unwrap();
    let (code, stdout, stderr) = run(
        &["verify", "--envoy", "--twin", "native", "--workspace", ws],
        &[],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("add_header: DIFFER"), "{stdout}");
    assert!(
        stdout.contains(
            "add_header / adds: upstream.header[x-custom-header]: \
             lua \"Hello from Lua\" | native \"Hello from filter\""
        ),
        "{stdout}"
    );
    assert_eq!(
        last_line(&stdout),
        "1 pairs, 1 scenarios: 0 equivalent, 1 differ"
    );
}

#[test]
fn a_native_twin_runs_in_real_envoy_only() {
    let (code, stdout, stderr) = run(
        &[
            "verify",
            "--in-process",
            "--twin",
            "native",
            "--pair",
            "add_header",
        ],
        &[],
    );
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    let lines: Vec<&str> = stderr.trim().lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("runs in real Envoy only"), "{stderr}");
    assert!(
        lines[0].contains("filterbench verify --envoy --twin native"),
        "{stderr}"
    );
}

#[test]
fn a_load_run_measures_every_twin_the_pair_has_in_every_round() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("add_header.json");
    let (code, stdout, stderr) = run(
        &[
            "load",
            "--pair",
            "add_header",
            "--workers",
            "1",
            "--rounds",
            "2",
            "--round-secs",
            "0.3",
            "--warmup-secs",
            "0.1",
            "--connections",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    let all = ["base", "lua", "wasm", "go-wasm", "native"];
    assert_eq!(ids(&run["variants"]), all);
    for r in 0..2 {
        let mut in_round: Vec<String> = run["rounds"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["round"] == r)
            .map(|s| s["variant"].as_str().unwrap().to_string())
            .collect();
        in_round.sort();
        let mut want: Vec<String> = all.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(in_round, want, "round {r}");
    }
}

/// Runs a build command (rustc, cargo) to completion within `limit`, or kills it and fails.
fn build(mut cmd: std::process::Command, limit: Duration) {
    let child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let pid = child.id();
    let waiter = std::thread::spawn(move || child.wait_with_output());
    let start = std::time::Instant::now();
    while !waiter.is_finished() {
        if start.elapsed() > limit {
            // SAFETY: killing the child this test started.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            let _ = waiter.join();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = waiter.join().unwrap().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", text(&out.stderr));
}

/// A workspace with one pair, `add_header`, whose native twin is the prebuilt `library`, with
/// `lua` as its Lua filter and `corpus` as its scenarios.
fn workspace_with(dir: &Path, library: &Path, lua: &str, corpus: &str) {
    let write = |rel: &str, text: &str| {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "filterbench.toml",
        &format!(
            "schema_version = 1\n\n[[pair]]\nname = \"add_header\"\nsummary = \"s\"\n\
             behaviour = \"b\"\nconfig = {{}}\ntraits = {{ external_call = false, \
             data_processing = false, custom_metrics = false, state = false, \
             change_frequency = \"low\" }}\nnative = {:?}\n",
            library.display().to_string()
        ),
    );
    write("filters-lua/add_header.lua", lua);
    write("corpus/add_header.toml", corpus);
}

const ADD_HEADER_LUA: &str = "function envoy_on_request(handle)\n  \
    handle:headers():add(\"x-custom-header\", \"Hello from filter\")\nend\n";

const ONE_SCENARIO: &str = "pair = \"add_header\"\n\n[[scenario]]\nname = \"adds\"\n\
    path = \"/x\"\n\n[scenario.expect]\nstatus = 200\nupstream_reached = true\n";

/// A module built for the ABI before Envoy 1.40's (`v0.1.0`): it answers that version from
/// `envoy_dynamic_module_on_program_init` and has only the older ABI's HTTP filter hooks, not
/// those 1.40 resolves beside them (HTTP callouts and streams, scheduling, watermarks). Envoy
/// 1.40 only warns about the version string itself (`Dynamic module ABI version v0.1.0 is
/// deprecated`, see `filterbench_native_sdk::abi::ABI_VERSION`); what refuses such a module is
/// its missing hooks, and the user sees Envoy's own words.
#[test]
fn a_native_module_built_for_another_abi_is_refused_with_envoys_error() {
    let tmp = tempfile::tempdir().unwrap();
    let old: &[&str] = &[
        "config_new",
        "config_destroy",
        "new",
        "request_headers",
        "request_body",
        "request_trailers",
        "response_headers",
        "response_body",
        "response_trailers",
        "stream_complete",
        "destroy",
    ];
    let mut src = String::from(
        "//! A module of the older ABI.\n#[no_mangle]\npub extern \"C\" fn \
         envoy_dynamic_module_on_program_init() -> *const u8 {\n    b\"v0.1.0\\0\".as_ptr()\n}\n",
    );
    for hook in old {
        src.push_str(&format!(
            "#[no_mangle]\npub extern \"C\" fn envoy_dynamic_module_on_http_filter_{hook}() -> usize {{\n    0\n}}\n"
        ));
    }
    let lib_rs = tmp.path().join("old_abi.rs");
    std::fs::write(&lib_rs, src).unwrap();
    let library = tmp.path().join("old_abi.so");
    let mut rustc = std::process::Command::new("rustc");
    rustc
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "cdylib",
            "-C",
            "opt-level=0",
            "-o",
        ])
        .arg(&library)
        .arg(&lib_rs);
    build(rustc, Duration::from_secs(120));
    let ws = tmp.path().join("ws");
    workspace_with(&ws, &library, ADD_HEADER_LUA, ONE_SCENARIO);
    let (code, stdout, stderr) = run(
        &[
            "verify",
            "--envoy",
            "--twin",
            "native",
            "--workspace",
            ws.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    let lines: Vec<&str> = stderr.trim().lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    // The library named, and Envoy's own error: the first hook of 1.40's ABI it lacks.
    assert!(
        lines[0].contains(&library.display().to_string()),
        "{stderr}"
    );
    assert!(
        lines[0].contains(
            "Failed to resolve symbol envoy_dynamic_module_on_http_filter_http_callout_done"
        ),
        "{stderr}"
    );
}

/// A native twin that panics: the binding catches the panic at the boundary (it never unwinds
/// into Envoy), logs it and answers the stream `500` `native filter panicked`; Envoy stays up and
/// serves the next request. Pinned by proving the panicking twin equivalent to a Lua filter that
/// answers exactly that, scenario after scenario in one Envoy.
#[test]
fn a_native_twin_that_panics_answers_500_and_envoy_serves_the_next_request() {
    let tmp = tempfile::tempdir().unwrap();
    let krate = tmp.path().join("panicky");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("filters-native/sdk");
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"panicky\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
             publish = false\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\n\
             filterbench-native-sdk = {{ path = {:?} }}\n\n[workspace]\n",
            sdk.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(
        krate.join("src/lib.rs"),
        r#"//! Adds `x-custom-header`, or panics when the request carries `x-panic`.
use std::sync::Arc;

use filterbench_native_sdk::{ConfigSetup, Filter, FilterConfig, Headers, Http};

struct Config;

impl FilterConfig for Config {
    type Filter = Panicky;

    fn new(_config: &[u8], _setup: &mut ConfigSetup) -> Result<Self, String> {
        Ok(Config)
    }

    fn new_filter(_config: &Arc<Self>) -> Panicky {
        Panicky
    }
}

struct Panicky;

impl Filter for Panicky {
    fn on_request_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        if http.request_header("x-panic").is_some() {
            panic!("asked to panic");
        }
        http.add_request_header("x-custom-header", b"Hello from filter");
        Headers::Continue
    }
}

filterbench_native_sdk::export_filter!("add_header", Config);
"#,
    )
    .unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "--quiet", "--manifest-path"])
        .arg(krate.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(krate.join("target"))
        .env_remove("CARGO_TARGET_DIR");
    build(cmd, Duration::from_secs(300));
    let library = krate.join("target/debug/libpanicky.so");
    let lua = "function envoy_on_request(handle)\n  \
               if handle:headers():get(\"x-panic\") ~= nil then\n    \
               handle:respond({[\":status\"] = \"500\", [\"content-type\"] = \"text/plain\"}, \
               \"native filter panicked\")\n    return\n  end\n  \
               handle:headers():add(\"x-custom-header\", \"Hello from filter\")\nend\n";
    let corpus = "pair = \"add_header\"\n\n\
                  [[scenario]]\nname = \"panics\"\npath = \"/x\"\nheaders = [[\"x-panic\", \"1\"]]\n\n\
                  [scenario.expect]\nstatus = 500\nupstream_reached = false\n\
                  body = \"native filter panicked\"\n\n\
                  [[scenario]]\nname = \"next_is_served\"\npath = \"/x\"\n\n\
                  [scenario.expect]\nstatus = 200\nupstream_reached = true\n\
                  request_headers = [[\"x-custom-header\", \"Hello from filter\"]]\n";
    let ws = tmp.path().join("ws");
    workspace_with(&ws, &library, lua, corpus);
    let (code, stdout, stderr) = run(
        &[
            "verify",
            "--envoy",
            "--twin",
            "native",
            "--workspace",
            ws.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("add_header: equivalent (2 scenarios)"),
        "{stdout}"
    );
    assert_eq!(
        last_line(&stdout),
        "1 pairs, 2 scenarios: 1 equivalent, 0 differ"
    );
    // The same workspace with a Lua filter that lets the request through: the panicking twin
    // differs exactly on the panicking request (500 against the upstream's 200).
    std::fs::write(ws.join("filters-lua/add_header.lua"), ADD_HEADER_LUA).unwrap();
    let (code, stdout, stderr) = run(
        &[
            "verify",
            "--envoy",
            "--twin",
            "native",
            "--workspace",
            ws.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("add_header / panics:"), "{stdout}");
    assert!(!stdout.contains("add_header / next_is_served:"), "{stdout}");
}

/// `verify --in-process --generated N --twin go`: generated request sequences for the Go Wasm
/// twins, on two pairs (a header filter and the JSON body rewrite, where Go's encoder has to
/// follow serde_json's formatting rules), the summary line of the Rust Wasm twins' run.
#[test]
fn generated_sequences_run_the_go_twins_in_process() {
    for pair in ["add_header", "body_rewrite"] {
        let (code, stdout, stderr) = run(
            &[
                "verify",
                "--in-process",
                "--generated",
                "8",
                "--twin",
                "go",
                "--pair",
                pair,
            ],
            &[],
        );
        assert_eq!(code, 0, "{pair}: {stdout}\n{stderr}");
        assert!(
            stdout.contains("Lua vs the Go Wasm twin, in-process"),
            "{stdout}"
        );
        assert_eq!(
            last_line(&stdout),
            "1 pairs, 8 generated sequences each: 1 agree, 0 differ",
            "{pair}"
        );
    }
    // Native twins have no in-process host.
    let (code, _, stderr) = run(
        &[
            "verify",
            "--in-process",
            "--generated",
            "8",
            "--twin",
            "native",
        ],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("runs in real Envoy only"), "{stderr}");
}

/// The generated sequences catch a Go twin that does otherwise than its Lua filter, and save
/// the shrunk case beside the Rust Wasm twins' (`<pair>.go-wasm.jsonl`).
#[test]
fn generated_sequences_catch_a_go_twin_that_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let module = filterbench_model::go_wasm_dir().join("add_header.wasm");
    assert!(
        module.is_file(),
        "{} is missing: filterbench-build builds the Go twins",
        module.display()
    );
    let ws = tmp.path();
    let write = |rel: &str, text: &str| {
        let path = ws.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "filterbench.toml",
        &format!(
            "schema_version = 1\n\n[[pair]]\nname = \"add_header\"\nsummary = \"s\"\n\
             behaviour = \"b\"\nconfig = {{}}\ntraits = {{ external_call = false, \
             data_processing = false, custom_metrics = false, state = false, \
             change_frequency = \"low\" }}\ngo_wasm = {:?}\n",
            module.display().to_string()
        ),
    );
    write(
        "filters-lua/add_header.lua",
        "function envoy_on_request(handle)\n  \
         handle:headers():add(\"x-custom-header\", \"Hello from Lua\")\nend\n",
    );
    write("corpus/add_header.toml", ONE_SCENARIO);
    let (code, stdout, stderr) = run(
        &[
            "verify",
            "--in-process",
            "--generated",
            "8",
            "--twin",
            "go",
            "--workspace",
            ws.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("DIFFERS on a generated sequence"),
        "{stdout}"
    );
    assert!(
        stdout.contains("lua \"Hello from Lua\" | go-wasm \"Hello from filter\""),
        "{stdout}"
    );
    assert!(ws
        .join("reports/results/verify/generated/add_header.go-wasm.jsonl")
        .is_file());
}
