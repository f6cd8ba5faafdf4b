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
