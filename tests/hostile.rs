//! The hostile-filter suite through the binary: every filter of `bench/hostile/` (Lua and WAT)
//! given to `filterbench run` ends within a bound with a one-line error naming the filter and the
//! phase, and an exit code that is never 0 (a filter's `os.exit(0)` used to end the harness with
//! exit 0, the "all equivalent" code, and no summary). `new --from-manifest` only parses the
//! manifest's Lua, never runs it. The harness-level suite is `bench/src/harness/hostile.rs`;
//! Envoy's behaviour for the same filters is in `bench/hostile/README.md`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{filterbench, text};

fn hostile_dir() -> PathBuf {
    filterbench_model::project_root().join("bench/hostile")
}

/// Each filter's phase as the error line names it (`<file>: <phase>: ...`).
const PHASES: &[(&str, &str)] = &[
    ("lua/os_exit.lua", "request_headers"),
    ("lua/os_exit_top.lua", "start"),
    ("lua/os_exit_pcall.lua", "request_headers"),
    ("lua/sethook_loop.lua", "request_headers"),
    ("lua/endless_loop.lua", "request_headers"),
    ("lua/memory_bomb.lua", "request_headers"),
    ("lua/read_file.lua", "request_headers"),
    ("lua/run_command.lua", "request_headers"),
    ("lua/popen.lua", "request_headers"),
    ("lua/ffi_socket.lua", "request_headers"),
    ("lua/require_socket.lua", "start"),
    ("lua/loadlib.lua", "request_headers"),
    ("lua/getenv.lua", "request_headers"),
    ("lua/bytecode.lua", "request_headers"),
    ("lua/gc_loop.lua", "start"),
    ("lua/backtrack.lua", "request_headers"),
    ("wasm/queue_loop.wat", "http_call_response"),
    ("wasm/call_retry.wat", "http_call_response"),
    ("wasm/fd_write_iovecs.wat", "request_headers"),
    ("wasm/log_flood.wat", "request_headers"),
    ("wasm/body_append.wat", "request_body"),
    ("wasm/shared_data_flood.wat", "request_headers"),
    ("wasm/endless_loop.wat", "request_headers"),
    ("wasm/memory_grow.wat", "request_headers"),
    ("wasm/proc_exit.wat", "request_headers"),
];

/// The bound of the done-when checks (the `debug.sethook` loop, the Wasm queue loop); the others
/// get more room on a loaded machine, still a bound enforced by killing the run.
fn bound(file: &str) -> Duration {
    match file {
        "lua/sethook_loop.lua" | "wasm/queue_loop.wat" | "lua/os_exit.lua" => {
            Duration::from_secs(10)
        }
        _ => Duration::from_secs(60),
    }
}

#[test]
fn run_never_exits_0_on_a_hostile_filter() {
    let scratch = tempfile::tempdir().unwrap();
    let request = scratch.path().join("request.json");
    std::fs::write(&request, r#"{"method": "POST", "path": "/h", "body": "x"}"#).unwrap();
    let calls = scratch.path().join("calls.json");
    std::fs::write(
        &calls,
        r#"[{"cluster": "auth", "path": "/verify", "status": 503}]"#,
    )
    .unwrap();
    let marker = Path::new("/tmp/filterbench-hostile-ran");
    let _ = std::fs::remove_file(marker);

    let mut listed = 0;
    for sub in ["lua", "wasm"] {
        for entry in std::fs::read_dir(hostile_dir().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let rel = format!("{sub}/{}", path.file_name().unwrap().to_string_lossy());
            if !(rel.ends_with(".lua") || rel.ends_with(".wat")) {
                continue;
            }
            let phase = PHASES
                .iter()
                .find(|(f, _)| *f == rel)
                .unwrap_or_else(|| panic!("{rel}: no phase listed"))
                .1;
            listed += 1;
            let kind = if sub == "lua" { "--lua" } else { "--wasm" };
            let file = path.to_str().unwrap();
            let out = filterbench(
                &[
                    "run",
                    kind,
                    file,
                    "--request",
                    request.to_str().unwrap(),
                    "--calls",
                    calls.to_str().unwrap(),
                ],
                &[],
                bound(&rel),
            );
            let stderr = text(&out.stderr);
            let code = out.status.code();
            assert_ne!(code, Some(0), "{rel}: exit 0; stderr: {stderr}");
            assert_eq!(code, Some(2), "{rel}: stderr: {stderr}");
            let lines: Vec<&str> = stderr.trim().lines().collect();
            assert_eq!(lines.len(), 1, "{rel}: one line expected: {stderr}");
            assert!(
                lines[0].contains(&format!("{file}: {phase}: ")),
                "{rel}: the error names the filter and the phase {phase}: {}",
                lines[0]
            );
        }
    }
    assert_eq!(listed, PHASES.len(), "every listed filter exists");
    assert!(!marker.exists(), "a hostile filter ran a command");
}

/// An EnvoyFilter whose top level would write files and run a command as the user.
const HOSTILE_MANIFEST: &str = r#"apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: sneaky
  namespace: shop
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.lua
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
          defaultSourceCode:
            inlineString: |
              local f = io.open("MARKER_DIR/written", "w")
              if f then f:write("ran") f:close() end
              os.execute("touch MARKER_DIR/executed")
              function envoy_on_request(handle)
                handle:headers():add("x-sneaky", "1")
              end
"#;

#[test]
fn new_from_manifest_parses_the_lua_and_never_runs_it() {
    let scratch = tempfile::tempdir().unwrap();
    let markers = scratch.path().join("markers");
    std::fs::create_dir(&markers).unwrap();
    let manifest = scratch.path().join("sneaky.yaml");
    std::fs::write(
        &manifest,
        HOSTILE_MANIFEST.replace("MARKER_DIR", markers.to_str().unwrap()),
    )
    .unwrap();
    let ws = scratch.path().join("ws");
    let module = filterbench_model::wasm_dir().join("add_header.wasm");
    let out = filterbench(
        &[
            "--workspace",
            ws.to_str().unwrap(),
            "new",
            "sneaky",
            "--from-manifest",
            manifest.to_str().unwrap(),
            "--wasm",
            module.to_str().unwrap(),
        ],
        &[],
        Duration::from_secs(60),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "the script compiles: {stderr}");
    assert!(
        !markers.join("written").exists(),
        "new ran the top level (io)"
    );
    assert!(
        !markers.join("executed").exists(),
        "new ran the top level (os.execute)"
    );
    let lua = std::fs::read_to_string(ws.join("filters-lua/sneaky.lua")).unwrap();
    assert!(
        lua.contains("os.execute"),
        "the script is kept as it is: {lua}"
    );

    // A syntax error is still caught, with its line.
    let broken = scratch.path().join("broken.yaml");
    std::fs::write(
        &broken,
        HOSTILE_MANIFEST
            .replace("MARKER_DIR", markers.to_str().unwrap())
            .replace(
                "function envoy_on_request(handle)",
                "function envoy_on_request(handle",
            ),
    )
    .unwrap();
    let out = filterbench(
        &[
            "--workspace",
            ws.to_str().unwrap(),
            "new",
            "broken",
            "--from-manifest",
            broken.to_str().unwrap(),
            "--wasm",
            module.to_str().unwrap(),
        ],
        &[],
        Duration::from_secs(60),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("broken.yaml") && stderr.contains("expected"),
        "names the file and the syntax error: {stderr}"
    );
    assert!(!markers.join("executed").exists());
}

/// Measures what Envoy 1.40 does with every hostile filter (one request each, through
/// `filterbench_envoy::run`, the engine of `filterbench run --envoy`) and prints one line per
/// filter: the table of `bench/hostile/README.md` comes from this. Ignored: it starts an Envoy
/// per filter and some of them hang an Envoy worker until the client gives up. Run it with
/// `cargo test --test tests hostile::envoy_behaviour -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement for bench/hostile/README.md"]
fn envoy_behaviour_on_hostile_filters() {
    use filterbench_envoy::run::{run_in_envoy, RunFilter, RunStep};
    use filterbench_envoy::verify::Rig;

    crate::support::ensure_envoy();
    let rig = Rig::new(filterbench_envoy::envoy::find_envoy().unwrap()).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let request: filterbench_model::request::RunRequest =
        serde_json::from_str(r#"{"method": "POST", "path": "/h", "body": "x"}"#).unwrap();
    let calls: Vec<filterbench_model::corpus::CallScript> =
        serde_json::from_str(r#"[{"cluster": "auth", "path": "/verify", "status": 503}]"#).unwrap();
    let marker = Path::new("/tmp/filterbench-hostile-ran");
    for (rel, _) in PHASES {
        let _ = std::fs::remove_file(marker);
        let path = hostile_dir().join(rel);
        let filter = if rel.ends_with(".lua") {
            RunFilter::Lua {
                file: path.clone(),
                source: std::fs::read_to_string(&path).unwrap(),
            }
        } else {
            let module = scratch.path().join(rel.replace('/', "_") + ".wasm");
            std::fs::write(&module, wat::parse_file(&path).unwrap()).unwrap();
            RunFilter::Wasm {
                module,
                configuration: "{}".into(),
            }
        };
        let started = std::time::Instant::now();
        let steps = [RunStep {
            request: request.clone(),
            calls: calls.clone(),
        }];
        let result = run_in_envoy(&rig, &filter, &serde_json::json!({}), &steps);
        let took = started.elapsed().as_secs_f64();
        let ran = if marker.exists() {
            " [the command ran]"
        } else {
            ""
        };
        match result {
            Ok(r) => {
                let o = &r[0].outcome;
                let log: Vec<&str> = r[0]
                    .log
                    .iter()
                    .map(|l| l.rsplit("] ").next().unwrap_or(l))
                    .collect();
                println!(
                    "{rel} | status {} body {:?} upstream reached: {} | log: {:?} | {took:.1} s{ran}",
                    o.status,
                    o.body.chars().take(60).collect::<String>(),
                    o.upstream.is_some(),
                    log
                );
            }
            Err(e) => println!(
                "{rel} | error: {} | {took:.1} s{ran}",
                filterbench_model::one_line(&e.to_string())
            ),
        }
    }
    let _ = std::fs::remove_file(marker);
}
