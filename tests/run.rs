//! `filterbench run`: requests in sequence on one VM, scripted outgoing calls (`--calls`), a raw
//! plugin configuration (`--config-raw`), and `--envoy`, whose in-process and real-Envoy outcomes
//! must agree. The Wasm filters are the test-only guests `bench/guests/test_callout` and
//! `bench/guests/test_raw_config` (written for these tests, not twins of a pair).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::support::{filterbench, text};

fn guest(name: &str) -> PathBuf {
    filterbench_model::wasm_dir().join(format!("{name}.wasm"))
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

/// Runs `filterbench run ARGS`; returns the exit code and the JSON document it printed.
fn run(args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    let out = filterbench(&all, &[], Duration::from_secs(180));
    let stderr = text(&out.stderr);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\n{stderr}", text(&out.stdout)));
    (out.status.code().unwrap_or(-1), json, stderr)
}

fn header<'a>(headers: &'a Value, name: &str) -> Option<&'a str> {
    headers
        .as_array()?
        .iter()
        .find(|h| h[0].as_str() == Some(name))
        .and_then(|h| h[1].as_str())
}

/// Every request's in-process and Envoy outcome agree; returns the requests.
fn agreed(code: i32, json: &Value, stderr: &str) -> Vec<Value> {
    let requests = json["requests"].as_array().expect("requests").clone();
    for r in &requests {
        assert_eq!(
            r["diff"].as_array().map(Vec::len),
            Some(0),
            "request {} differs in-process vs Envoy: {}\n{stderr}",
            r["request"],
            serde_json::to_string_pretty(&r["diff"]).unwrap()
        );
    }
    assert_eq!(json["equivalent"], true);
    assert_eq!(code, 0, "{stderr}");
    requests
}

const CALLS: &str = r#"[
  {"cluster": "users", "path": "/users/ann", "headers": [["content-type", "application/json"]],
   "body": "{\"name\": \"Ann Example\"}"},
  {"cluster": "users", "path": "/users/bob", "reset": true},
  {"cluster": "users", "path": "/users/cid", "timeout": true},
  {"cluster": "users", "path": "/users/dan", "status": 200, "delay_ms": 2000}
]"#;

/// One request per line: a reply, a reset, a timeout, a delay past the call's timeout, no
/// script (404), and an unknown cluster.
const CALL_REQUESTS: &str = r#"{"path": "/a", "headers": [["x-user", "ann"]]}
{"path": "/b", "headers": [["x-user", "bob"]]}
{"path": "/c", "headers": [["x-user", "cid"]]}
{"path": "/d", "headers": [["x-user", "dan"]]}
{"path": "/e", "headers": [["x-user", "eve"]]}
{"path": "/f", "headers": [["x-user", "ann"], ["x-cluster", "nowhere"]]}
"#;

#[test]
fn a_module_that_calls_out_gets_the_scripted_replies_in_process_and_in_envoy() {
    let dir = tempfile::tempdir().unwrap();
    let calls = write(dir.path(), "calls.json", CALLS);
    let requests = write(dir.path(), "requests.jsonl", CALL_REQUESTS);
    let module = guest("test_callout");
    let (code, json, stderr) = run(&[
        "--wasm",
        module.to_str().unwrap(),
        "--request",
        &requests,
        "--calls",
        &calls,
        "--envoy",
    ]);
    let r = agreed(code, &json, &stderr);
    assert_eq!(r.len(), 6);
    let outcome = |i: usize| &r[i]["outcome"];
    // The reply's field reached the upstream as a request header.
    assert_eq!(outcome(0)["status"], 200);
    assert_eq!(
        header(&outcome(0)["upstream"]["headers"], "x-user-name"),
        Some("Ann Example")
    );
    // A reset: Envoy answers the call 503; a timeout (and a delay past it): 504.
    assert_eq!(outcome(1)["status"], 502);
    assert_eq!(outcome(1)["body"], "call failed: status 503");
    assert_eq!(outcome(2)["body"], "call failed: status 504");
    assert_eq!(outcome(3)["body"], "call failed: status 504");
    // A scripted cluster without a script for the path: 404.
    assert_eq!(outcome(4)["body"], "call failed: status 404");
    // A cluster no script names does not exist: Envoy refuses the call.
    assert_eq!(outcome(5)["status"], 500);
    assert!(
        outcome(5)["body"]
            .as_str()
            .unwrap()
            .starts_with("dispatch failed:"),
        "{}",
        outcome(5)
    );
}

#[test]
fn a_module_reading_a_plain_string_configuration_gets_it_unquoted() {
    let dir = tempfile::tempdir().unwrap();
    let requests = write(
        dir.path(),
        "requests.json",
        r#"[{"path": "/one"}, {"method": "POST", "path": "/two", "body": "hi"}]"#,
    );
    let module = guest("test_raw_config");
    let (code, json, stderr) = run(&[
        "--wasm",
        module.to_str().unwrap(),
        "--request",
        &requests,
        "--config-raw",
        "plain text, not JSON",
        "--envoy",
    ]);
    let r = agreed(code, &json, &stderr);
    assert_eq!(r.len(), 2);
    for request in &r {
        let outcome = &request["outcome"];
        assert_eq!(
            header(&outcome["upstream"]["headers"], "x-config"),
            Some("plain text, not JSON")
        );
        assert_eq!(
            header(&outcome["response_headers"], "x-config-bytes"),
            Some("20")
        );
    }
    // --config stays JSON: the module then sees the JSON text.
    let (code, json, stderr) = run(&[
        "--wasm",
        module.to_str().unwrap(),
        "--request",
        &requests,
        "--config",
        r#""quoted""#,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        header(
            &json["requests"][0]["outcome"]["upstream"]["headers"],
            "x-config"
        ),
        Some("\"quoted\"")
    );
}

const LUA_CALLOUT: &str = r#"
-- Test-only: counts requests on the VM, calls users at /users/<x-user>, copies the reply's
-- "name" into x-user-name; a failed call is answered 502.
local count = 0
function envoy_on_request(handle)
  count = count + 1
  handle:headers():replace("x-count", tostring(count))
  local user = handle:headers():get("x-user") or "anonymous"
  local cluster = handle:headers():get("x-cluster") or "users"
  local headers, body = handle:httpCall(cluster, {
    [":method"] = "GET",
    [":path"] = "/users/" .. user,
    [":authority"] = "users.test",
  }, nil, 500)
  if headers[":status"] ~= "200" then
    handle:respond({[":status"] = "502"}, "call failed: status " .. headers[":status"])
    return
  end
  local name = string.match(body or "", '"name"%s*:%s*"([^"]*)"') or "(none)"
  handle:logInfo("test_callout: name " .. name)
  handle:headers():replace("x-user-name", name)
end
"#;

#[test]
fn a_lua_script_that_calls_out_agrees_with_envoy_and_keeps_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "callout.lua", LUA_CALLOUT);
    let calls = write(dir.path(), "calls.json", CALLS);
    let first = write(
        dir.path(),
        "first.json",
        r#"{"path": "/a", "headers": [["x-user", "ann"]]}"#,
    );
    let rest = write(dir.path(), "rest.jsonl", CALL_REQUESTS);
    let (code, json, stderr) = run(&[
        "--lua",
        &script,
        "--request",
        &first,
        "--request",
        &rest,
        "--calls",
        &calls,
        "--envoy",
    ]);
    let r = agreed(code, &json, &stderr);
    assert_eq!(r.len(), 7);
    let upstream_header = |i: usize, name: &str| {
        header(&r[i]["outcome"]["upstream"]["headers"], name).map(str::to_string)
    };
    assert_eq!(
        upstream_header(0, "x-user-name").as_deref(),
        Some("Ann Example")
    );
    // One VM: the counter carries across requests (and across --request files).
    assert_eq!(upstream_header(0, "x-count").as_deref(), Some("1"));
    assert_eq!(upstream_header(1, "x-count").as_deref(), Some("2"));
    assert_eq!(r[2]["outcome"]["body"], "call failed: status 503");
    assert_eq!(r[3]["outcome"]["body"], "call failed: status 504");
    assert_eq!(r[5]["outcome"]["body"], "call failed: status 404");
    // An unknown cluster: httpCall raises, Envoy logs the script error and the request goes on.
    assert_eq!(r[6]["outcome"]["status"], 200);
    assert_eq!(upstream_header(6, "x-user-name"), None);
}

#[test]
fn lua_refuses_a_configuration_that_is_not_a_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "noop.lua", "function envoy_on_request(h) end\n");
    let request = write(dir.path(), "req.json", r#"{"path": "/"}"#);
    let out = filterbench(
        &[
            "run",
            "--lua",
            &script,
            "--request",
            &request,
            "--config-raw",
            "plain text, not JSON",
        ],
        &[],
        Duration::from_secs(60),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--config-raw"), "{stderr}");
    assert!(stderr.contains("JSON or YAML mapping"), "{stderr}");
    // YAML is fine.
    let (code, _, stderr) = run(&[
        "--lua",
        &script,
        "--request",
        &request,
        "--config-raw",
        "greeting: hello\ncount: 2\n",
    ]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_bad_calls_file_is_a_one_line_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "noop.lua", "function envoy_on_request(h) end\n");
    let request = write(dir.path(), "req.json", r#"{"path": "/"}"#);
    let calls = write(
        dir.path(),
        "calls.json",
        r#"[{"cluster": "users", "path": "/u", "reset": true, "timeout": true}]"#,
    );
    let out = filterbench(
        &[
            "run",
            "--lua",
            &script,
            "--request",
            &request,
            "--calls",
            &calls,
        ],
        &[],
        Duration::from_secs(60),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&calls), "{stderr}");
    assert!(stderr.contains("not both"), "{stderr}");
}

/// A project whose only pair is the test-only `test_callout` (its Lua twin, its Wasm guest's
/// manifest, its corpus of scripted calls), for `verify` through `FILTERBENCH_ROOT`. The module
/// is the one the build put beside the filters.
fn callout_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = filterbench_model::project_root();
    let to = dir.path();
    for sub in ["bench/corpus", "filters-lua", "filters-wasm/test_callout"] {
        std::fs::create_dir_all(to.join(sub)).unwrap();
    }
    let catalogue = std::fs::read_to_string(root.join("bench/catalogue.toml")).unwrap();
    let header: String = catalogue
        .lines()
        .take_while(|l| !l.starts_with("[[pair]]"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(
        to.join("bench/catalogue.toml"),
        format!(
            "{header}[[pair]]\nname = \"test_callout\"\nsummary = \"Test-only: calls out.\"\n\
             behaviour = \"See bench/guests/test_callout.lua.\"\nconfig = {{}}\n\
             traits = {{ external_call = true, data_processing = true, custom_metrics = false, \
             state = false, change_frequency = \"low\" }}\n"
        ),
    )
    .unwrap();
    for (from, to_rel) in [
        (
            "bench/guests/test_callout.lua",
            "filters-lua/test_callout.lua",
        ),
        (
            "bench/guests/test_callout.toml",
            "bench/corpus/test_callout.toml",
        ),
        (
            "bench/guests/test_callout/Cargo.toml",
            "filters-wasm/test_callout/Cargo.toml",
        ),
    ] {
        std::fs::copy(root.join(from), to.join(to_rel)).unwrap();
    }
    dir
}

#[test]
fn a_corpus_with_scripted_calls_verifies_in_envoy_and_in_process() {
    let project = callout_project();
    for mode in ["--envoy", "--in-process"] {
        let out = filterbench(
            &["verify", mode, "--json"],
            &[("FILTERBENCH_ROOT", project.path().as_os_str())],
            Duration::from_secs(180),
        );
        let stderr = text(&out.stderr);
        let json: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{mode}: {e}: {}\n{stderr}", text(&out.stdout)));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{mode}: {}\n{stderr}",
            serde_json::to_string_pretty(&json["pairs"]).unwrap()
        );
        assert_eq!(json["summary"]["equivalent"], 1, "{mode}");
        assert_eq!(json["pairs"][0]["scenarios"], 5, "{mode}");
    }
}

/// A request the client cannot send (a space in its path) is a one-line error naming the file
/// and the request, exit 2, never a panic (in-process and `--envoy`).
#[test]
fn a_path_with_a_space_is_a_one_line_error_naming_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "noop.lua", "function envoy_on_request(h) end\n");
    let request = write(
        dir.path(),
        "req.jsonl",
        "{\"path\": \"/\"}\n{\"name\": \"search\", \"path\": \"/search?q=a b\"}\n",
    );
    for extra in [&[][..], &["--envoy"][..]] {
        let mut args = vec!["run", "--lua", &script, "--request", &request];
        args.extend_from_slice(extra);
        let out = filterbench(&args, &[], Duration::from_secs(60));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(&request), "{stderr}");
        assert!(
            stderr.contains("request 2 \"search\": path \"/search?q=a b\" has a space"),
            "{stderr}"
        );
    }
}

/// `run --pair NAME`: the pair's Lua filter and its twin, each with the pair's configuration
/// (canary_tag's `canary_percent`), both outcomes and their diff; the same Lua run alone without
/// a configuration warns that it reads route metadata and got none.
#[test]
fn run_pair_runs_lua_and_the_twin_with_the_pairs_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let requests = write(
        dir.path(),
        "requests.jsonl",
        "{\"path\": \"/\", \"headers\": [[\"x-user-id\", \"alice\"]]}\n\
         {\"path\": \"/\", \"headers\": [[\"x-swimlane\", \"blue\"]]}\n",
    );
    let (code, json, stderr) = run(&["--pair", "canary_tag", "--request", &requests]);
    assert_eq!(code, 0, "{json}\n{stderr}");
    assert_eq!(json["equivalent"], true, "{json}");
    assert!(
        json["configuration"]["canary_percent"].is_number(),
        "{json}"
    );
    let first = &json["requests"][0];
    let lane = |side: &str| {
        header(&first[side]["outcome"]["upstream"]["headers"], "x-swimlane")
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{side}: no x-swimlane upstream: {first}"))
    };
    assert_eq!(lane("lua"), lane("wasm"));
    assert_eq!(first["diff"], serde_json::json!([]));

    // The Lua alone with no configuration: a warning, not silence.
    let lua = filterbench_model::project_root().join("filters-lua/canary_tag.lua");
    let out = filterbench(
        &[
            "run",
            "--lua",
            lua.to_str().unwrap(),
            "--request",
            &requests,
        ],
        &[],
        Duration::from_secs(180),
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("reads route metadata and no configuration was given"),
        "{stderr}"
    );
}

/// `print` in a Lua filter goes to stderr, named after the filter and capped, never into the JSON
/// `run` prints on stdout (Envoy writes it to its own stdout, outside any outcome).
#[test]
fn print_in_a_lua_filter_goes_to_stderr_not_into_the_results() {
    let dir = tempfile::tempdir().unwrap();
    let lua = write(
        dir.path(),
        "printer.lua",
        "function envoy_on_request(h)\n  for i = 1, 30 do print('line', i, nil) end\n  \
         h:headers():add('x-printed', 'yes')\nend\n",
    );
    let request = write(dir.path(), "r.json", r#"{"path": "/p"}"#);
    let (code, json, stderr) = run(&["--lua", &lua, "--request", &request]);
    assert_eq!(code, 0, "{stderr}");
    let upstream = &json["requests"][0]["outcome"]["upstream"];
    assert_eq!(
        header(&upstream["headers"], "x-printed"),
        Some("yes"),
        "{json}"
    );
    assert!(
        stderr.contains(&format!("{lua}: print: line\t1\tnil")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{lua}: print: line\t20\tnil")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("line\t21\t"),
        "capped at 20 lines: {stderr}"
    );
    assert!(
        stderr.contains("more print output of this filter is not shown"),
        "{stderr}"
    );
}
