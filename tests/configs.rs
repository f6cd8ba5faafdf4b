//! Issue 25's walkthrough with a filter of the project's own that has a configured branch: the
//! test-only `bench/guests/test_strip_session.lua` (strips the session cookie; with
//! `strip_authorization = true` also a Pomerium `authorization`) and its Rust Wasm twin (the
//! guest `test_strip_session`, built by the build script and given to `new --wasm`, so no crate
//! is compiled here). `new --from-manifest` takes an EnvoyFilter with two route-metadata blocks
//! (two configurations); `record` records requests under each; `verify --in-process`,
//! `verify --envoy` and `verify --generated 1000` run each scenario under its configuration; no
//! hand-written diff anywhere. Then the configurations matter: a recorded configuration replaced
//! (`record --replace-config`, the old catalogue kept) makes its scenarios fail; and a twin that
//! differs under one configuration only is caught by generated sequences, which name it.

use std::path::Path;
use std::time::Duration;

use crate::support::{filterbench, text};

/// Envoy runs, 2,000 generated sequences in a debug build: a minute or two on a busy machine.
const LIMIT: Duration = Duration::from_secs(600);

fn run(ws: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--workspace", ws.to_str().unwrap()]);
    let out = filterbench(&all, &[], LIMIT);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// The manifest a team would have: the Lua inline, its configuration as route metadata on two
/// routes (the admin route also strips Pomerium tokens).
fn manifest() -> String {
    manifest_of(&strip_session_lua())
}

fn strip_session_lua() -> String {
    std::fs::read_to_string(
        filterbench_model::project_root().join("bench/guests/test_strip_session.lua"),
    )
    .unwrap()
}

/// [`manifest`] with `lua` inline.
fn manifest_of(lua: &str) -> String {
    let code: String = lua.lines().map(|l| format!("            {l}\n")).collect();
    let route = |name: &str, strip: bool| {
        format!(
            "  - applyTo: HTTP_ROUTE\n    match:\n      context: SIDECAR_INBOUND\n      \
             routeConfiguration:\n        vhost:\n          route: {{name: {name}}}\n    patch:\n      \
             operation: MERGE\n      value:\n        metadata:\n          filter_metadata:\n            \
             envoy.filters.http.lua: {{strip_authorization: {strip}}}\n"
        )
    };
    format!(
        "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {{name: strip-session, namespace: shop}}\n\
         spec:\n  configPatches:\n  - applyTo: HTTP_FILTER\n    match: {{context: SIDECAR_INBOUND}}\n    patch:\n      \
         operation: INSERT_BEFORE\n      value:\n        name: envoy.filters.http.lua\n        typed_config:\n          \
         \"@type\": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua\n          inline_code: |\n{code}{}{}",
        route("web", false),
        route("admin", true)
    )
}

#[test]
fn two_configurations_from_a_manifest_recorded_and_proven_under_each() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    let file = |name: &str, body: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, body).unwrap();
        path.to_str().unwrap().to_string()
    };
    let manifest = file("strip-session.yaml", &manifest());
    let module = filterbench_model::wasm_dir().join("test_strip_session.wasm");
    let (code, stdout, stderr) = run(
        &ws,
        &[
            "new",
            "strip",
            "--from-manifest",
            &manifest,
            "--wasm",
            module.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("configurations: default, admin"),
        "{stdout}"
    );
    let catalogue = filterbench_model::Catalogue::load_workspace(&ws).unwrap();
    let pair = catalogue.get("strip").unwrap();
    assert_eq!(pair.configurations(), ["default", "admin"]);
    assert_eq!(
        pair.config_json_of("admin").unwrap(),
        serde_json::json!({"strip_authorization": true})
    );

    // Under `default`: the session cookie goes, a Pomerium token stays; two `cookie` headers
    // leak the session (worth a look).
    let web = file(
        "web.jsonl",
        "{\"name\": \"strips_session\", \"path\": \"/\", \"headers\": [[\"cookie\", \"a=1; session=s; b=2\"]]}\n\
         {\"name\": \"keeps_pomerium_on_web\", \"path\": \"/\", \"headers\": [[\"authorization\", \"Pomerium t\"]]}\n\
         {\"name\": \"two_cookie_headers\", \"path\": \"/\", \"headers\": [[\"cookie\", \"a=1\"], [\"cookie\", \"session=s\"]]}\n",
    );
    let (code, stdout, stderr) = run(&ws, &["record", "--pair", "strip", "--requests", &web]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("configuration default"), "{stdout}");
    assert!(stdout.contains("worth a look: with `cookie`"), "{stdout}");

    // An unknown configuration, or new content for one that exists, is refused before Envoy runs.
    let admin = file(
        "admin.jsonl",
        "{\"name\": \"strips_pomerium\", \"path\": \"/admin\", \"headers\": [[\"authorization\", \"Pomerium t\"], [\"cookie\", \"session=s\"]]}\n\
         {\"name\": \"keeps_bearer\", \"path\": \"/admin\", \"headers\": [[\"authorization\", \"Bearer t\"]]}\n",
    );
    let (code, _, stderr) = run(
        &ws,
        &[
            "record",
            "--pair",
            "strip",
            "--requests",
            &admin,
            "--config",
            "nope",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no configuration \"nope\" (known: default, admin)"),
        "{stderr}"
    );
    let (code, _, stderr) = run(
        &ws,
        &[
            "record",
            "--pair",
            "strip",
            "--requests",
            &admin,
            "--config",
            "admin",
            "--config-value",
            "strip_authorization: false",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("exists with other content"), "{stderr}");

    // Under `admin` (the same content given again is no change).
    let (code, stdout, stderr) = run(
        &ws,
        &[
            "record",
            "--pair",
            "strip",
            "--requests",
            &admin,
            "--config",
            "admin",
            "--config-value",
            "{\"strip_authorization\": true}",
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("configuration admin"), "{stdout}");
    let corpus = std::fs::read_to_string(ws.join("corpus/strip.toml")).unwrap();
    assert_eq!(corpus.matches("config = \"admin\"").count(), 2, "{corpus}");

    // Every proof runs each scenario under its configuration.
    let by_config = "by configuration: default 3 scenario(s), admin 2 scenario(s)";
    for mode in ["--in-process", "--envoy"] {
        let (code, stdout, stderr) = run(&ws, &["verify", mode, "--pair", "strip", "--save"]);
        assert_eq!(code, 0, "{mode}: {stdout}{stderr}");
        assert!(stdout.contains(by_config), "{mode}: {stdout}");
        assert!(
            stdout
                .trim_end()
                .ends_with("1 pairs, 5 scenarios: 1 equivalent, 0 differ"),
            "{mode}: {stdout}"
        );
    }
    let (code, stdout, stderr) = run(&ws, &["verify", "--in-process", "--generated", "1000"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout
            .contains("strip: all 1000 agree under each of its 2 configurations (default, admin)"),
        "{stdout}"
    );

    // `run --pair` runs both twins under the configuration named, `default` when none is.
    let request = file(
        "request.json",
        "{\"path\": \"/\", \"headers\": [[\"authorization\", \"Pomerium t\"]]}",
    );
    let upstream_has_authorization = |config: &[&str]| {
        let mut args = vec!["run", "--pair", "strip", "--request", &request];
        args.extend_from_slice(config);
        let (code, stdout, stderr) = run(&ws, &args);
        assert_eq!(code, 0, "{stdout}{stderr}");
        let out: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let named = if config.is_empty() {
            "default"
        } else {
            config[1]
        };
        assert_eq!(out["configuration_name"], named, "{stdout}");
        let headers = &out["requests"][0]["lua"]["outcome"]["upstream"]["headers"];
        headers
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h[0] == "authorization")
    };
    assert!(upstream_has_authorization(&[]));
    assert!(!upstream_has_authorization(&["--config", "admin"]));

    // The report shows the configurations and what was proven under each.
    let (code, stdout, stderr) = run(&ws, &["report"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let page = std::fs::read_to_string(ws.join("reports/site/pairs/strip.html")).unwrap();
    assert!(page.contains("Configurations"), "{page}");
    assert!(page.contains("strip_authorization"), "{page}");

    // The configuration is what the admin scenarios were proven under: replaced (asked for,
    // the old catalogue kept), they fail on both sides.
    let one = file(
        "one.jsonl",
        "{\"name\": \"admin_plain\", \"path\": \"/admin\"}\n",
    );
    let (code, stdout, stderr) = run(
        &ws,
        &[
            "record",
            "--pair",
            "strip",
            "--requests",
            &one,
            "--config",
            "admin",
            "--config-value",
            "strip_authorization: false",
            "--replace-config",
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let kept = stdout
        .lines()
        .find_map(|l| l.split("the old catalogue kept as ").nth(1))
        .unwrap_or_else(|| panic!("no backup named: {stdout}"));
    let kept = kept.trim_end_matches(", --replace-config)");
    assert!(
        std::fs::read_to_string(kept)
            .unwrap()
            .contains("strip_authorization = true"),
        "{kept}"
    );
    let (code, stdout, stderr) = run(&ws, &["verify", "--in-process", "--pair", "strip"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("strip / strips_pomerium [admin]: lua:"),
        "{stdout}"
    );
}

/// A twin that agrees with the Lua filter under one configuration and not under the other:
/// generated sequences run under each configuration, and the disagreement names it, saved where
/// `record --config` takes it back.
#[test]
fn generated_sequences_run_under_each_configuration_and_name_the_one_that_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    // The Lua filter reads another key than its twin: under `default` (neither strips) they
    // agree, under `admin` (the twin strips Pomerium tokens, the Lua filter does not) they differ.
    let lua = strip_session_lua().replace("get(\"strip_authorization\")", "get(\"strip_auth\")");
    let manifest = tmp.path().join("m.yaml");
    std::fs::write(&manifest, manifest_of(&lua)).unwrap();
    let module = filterbench_model::wasm_dir().join("test_strip_session.wasm");
    let (code, stdout, stderr) = run(
        &ws,
        &[
            "new",
            "strip",
            "--from-manifest",
            manifest.to_str().unwrap(),
            "--wasm",
            module.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    std::fs::write(
        ws.join("corpus/strip.toml"),
        "pair = \"strip\"\n[[scenario]]\nname = \"pomerium\"\nheaders = [[\"authorization\", \"Pomerium t\"]]\n\
         [scenario.expect]\nstatus = 200\nupstream_reached = true\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(&ws, &["verify", "--in-process", "--generated", "200"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("strip: DIFFERS under configuration admin on a generated sequence"),
        "{stdout}"
    );
    let saved = ws.join("reports/results/verify/generated/strip.config-admin.jsonl");
    assert!(saved.is_file(), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "--pair strip --config admin --requests {}",
            saved.display()
        )),
        "{stdout}"
    );
}

/// `all --workspace` on a pair with two configurations measures both, each its own paired run
/// (the pair's time budget shared between them), files each one's result where old readers find
/// `default`'s, and the report shows the answer under each. The load runs are kept tiny by the
/// policy given (the minimum of rounds, a 2-second budget); loopback only.
#[test]
fn all_on_a_workspace_measures_every_configuration_and_the_report_shows_each() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    let manifest_file = tmp.path().join("m.yaml");
    std::fs::write(&manifest_file, manifest()).unwrap();
    let module = filterbench_model::wasm_dir().join("test_strip_session.wasm");
    let (code, stdout, stderr) = run(
        &ws,
        &[
            "new",
            "strip",
            "--from-manifest",
            manifest_file.to_str().unwrap(),
            "--wasm",
            module.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    // One forwarded request under each configuration: each is its configuration's load mix.
    std::fs::write(
        ws.join("corpus/strip.toml"),
        "pair = \"strip\"\n\
         [[scenario]]\nname = \"web\"\npath = \"/\"\nheaders = [[\"cookie\", \"a=1; session=s\"]]\n\
         [scenario.expect]\nstatus = 200\nupstream_reached = true\n\
         [[scenario]]\nname = \"admin\"\nconfig = \"admin\"\npath = \"/admin\"\n\
         headers = [[\"authorization\", \"Pomerium t\"]]\n\
         [scenario.expect]\nstatus = 200\nupstream_reached = true\n",
    )
    .unwrap();
    // A configuration the pair lacks is refused before anything runs.
    let (code, _, stderr) = run(&ws, &["load", "--pair", "strip", "--config", "nope"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no configuration \"nope\" (known: default, admin)"),
        "{stderr}"
    );
    // One `--out` file cannot hold two configurations' runs.
    let out = tmp.path().join("out.json");
    let (code, _, stderr) = run(
        &ws,
        &["load", "--pair", "strip", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "--out names one file, and pair \"strip\" has 2 configurations to measure \
             (default, admin): add --config NAME"
        ),
        "{stderr}"
    );
    // `load` measures each configuration named (here both), each its own run and table, then a
    // line per configuration. Tiny: one worker count, two short rounds.
    let (code, stdout, stderr) = run(
        &ws,
        &[
            "load",
            "--pair",
            "strip",
            "--config",
            "default,admin",
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
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("strip: measured under 2 of its 2 configurations (default, admin)"),
        "{stderr}"
    );
    assert!(
        stdout.contains("under configuration `admin` ({\"strip_authorization\":true})"),
        "{stdout}"
    );
    assert!(stdout.contains("strip.config-admin.json"), "{stdout}");
    let by = stdout
        .split_once("\nby configuration:\n")
        .unwrap_or_else(|| panic!("{stdout}"))
        .1;
    assert!(
        by.contains("  default: Lua adds ") && by.contains("  admin: Lua adds "),
        "{by}"
    );
    let policy = tmp.path().join("policy.toml");
    let project_policy =
        std::fs::read_to_string(filterbench_model::project_root().join("reports/policy.toml"))
            .unwrap();
    let tiny = project_policy
        .replace("min_rounds = 6", "min_rounds = 2")
        .replace("max_rounds = 80", "max_rounds = 2")
        .replace("pair_budget_secs = 12.0", "pair_budget_secs = 2.0")
        .replace("extra_budget_secs = 150.0", "extra_budget_secs = 0.0");
    for key in [
        "max_rounds = 2",
        "pair_budget_secs = 2.0",
        "extra_budget_secs = 0.0",
    ] {
        assert!(
            tiny.contains(key),
            "the policy's [measurement] keys moved: {key}"
        );
    }
    std::fs::write(&policy, tiny).unwrap();

    let (code, stdout, stderr) = run(&ws, &["all", "--policy", policy.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "strip: measured under 2 of its 2 configurations (default, admin), each its own \
             paired run; the pair's time budget shared: 1 s of rounds each"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("  strip: Lua adds "), "{stdout}");
    assert!(stdout.contains("  strip [admin]: Lua adds "), "{stdout}");

    // `default` where every reader finds it (no configuration field); `admin` beside it.
    let results = filterbench_model::results::results_dir(&ws);
    let read = |config: &str| -> filterbench_model::results::LoadRun {
        let path = filterbench_model::results::load_path_of(&results, "strip", config);
        filterbench_model::results::read_result(&path, filterbench_model::results::LOAD_SCHEMA)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let (default, admin) = (read("default"), read("admin"));
    assert_eq!(default.config, None);
    assert_eq!(admin.config.as_deref(), Some("admin"));
    for run in [&default, &admin] {
        assert!(run.has_wasm() && !run.partial, "{:?}", run.config);
        assert_eq!(run.requests_in_mix, 1, "one scenario under each");
        assert_eq!(run.plan.budget_secs, Some(1.0), "the budget shared");
        assert_eq!(run.round_count(), 2);
    }
    let text =
        std::fs::read_to_string(filterbench_model::results::load_path(&results, "strip")).unwrap();
    assert!(!text.contains("\"config\""), "{text}");

    // The report: the answer under each configuration, each from its own rounds.
    let page = std::fs::read_to_string(ws.join("reports/site/pairs/strip.html")).unwrap();
    assert!(page.contains("Measured under each configuration"), "{page}");
    for config in ["default", "admin"] {
        let start = page
            .find(&format!("<tr data-config=\"{config}\">"))
            .unwrap_or_else(|| panic!("no row for {config}: {page}"));
        let tr = &page[start..start + page[start..].find("</tr>").unwrap()];
        assert!(!tr.contains("not measured"), "{tr}");
    }
}
