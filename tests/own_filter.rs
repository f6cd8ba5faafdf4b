//! The "your own filter" walkthrough of README.md, end to end, in a workspace outside the
//! repository (a temp dir): `new` from the example EnvoyFilter manifest -> `record` the Lua filter
//! in real Envoy -> a deliberately wrong Wasm twin, which `verify` refuses naming the scenario, the
//! field and both values -> the fixed twin, equivalent in-process and in Envoy -> `load` of the Lua
//! side alone -> `report --workspace` renders the pair's page.

use std::path::Path;
use std::time::Duration;

use filterbench_model::project_root;

use crate::support::{filterbench, text};

const PAIR: &str = "tenant_tag";
/// The line of the example twin that keeps the API key away from the application.
const REMOVES_KEY: &str = "self.set_http_request_header(\"x-api-key\", None);";

fn example(name: &str) -> String {
    project_root()
        .join("examples/own-filter")
        .join(name)
        .display()
        .to_string()
}

fn run_ok(args: &[&str], limit: Duration) -> String {
    let run = filterbench(args, &[], limit);
    let stdout = text(&run.stdout);
    assert!(
        run.status.success(),
        "filterbench {args:?} failed: {stdout}\n{}",
        text(&run.stderr)
    );
    stdout
}

fn write_twin(workspace: &Path, source: &str) {
    let lib = workspace.join("filters-wasm").join(PAIR).join("src/lib.rs");
    assert!(lib.is_file(), "new scaffolds {}", lib.display());
    std::fs::write(lib, source).unwrap();
}

#[test]
fn walkthrough_new_record_wrong_twin_fixed_twin_load_report() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("work");
    let w = ws.to_str().unwrap();
    let minute = Duration::from_secs(60);

    // new, from the EnvoyFilter manifest: the Lua script exactly as the manifest holds it.
    run_ok(
        &[
            "new",
            PAIR,
            "--from-manifest",
            &example("envoyfilter.yaml"),
            "--workspace",
            w,
        ],
        5 * minute,
    );
    let lua = std::fs::read_to_string(ws.join("filters-lua").join(format!("{PAIR}.lua"))).unwrap();
    assert!(lua.contains("string.match(key, \"^([a-z]+)%-\")"), "{lua}");

    // record: the Lua filter in real Envoy is the specification.
    let stdout = run_ok(
        &[
            "record",
            "--workspace",
            w,
            "--pair",
            PAIR,
            "--requests",
            &example("requests.jsonl"),
        ],
        5 * minute,
    );
    assert!(stdout.contains("recorded 7 scenario(s)"), "{stdout}");
    let corpus_path = ws.join("corpus").join(format!("{PAIR}.toml"));
    let corpus = filterbench_model::Corpus::load(&corpus_path, PAIR).unwrap();
    let scenario = |name: &str| {
        corpus
            .scenarios
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no scenario {name}"))
            .clone()
    };
    let valid = scenario("valid_key");
    assert_eq!(
        (valid.expect.status, valid.expect.upstream_reached),
        (200, true)
    );
    assert!(valid
        .expect
        .request_headers
        .contains(&("x-tenant".to_string(), "acme".to_string())));
    assert!(valid.expect.logs.contains(&"tenant acme".to_string()));
    assert!(valid
        .expect
        .request_headers_absent
        .contains(&"x-api-key".to_string()));
    let missing = scenario("missing_key");
    assert_eq!(missing.expect.status, 401);
    assert_eq!(missing.expect.body.as_deref(), Some("missing api key"));
    assert_eq!(scenario("repeated_keys").expect.status, 200);
    assert_eq!(scenario("upstream_error_passes_through").expect.status, 503);

    // A wrong twin: forgets to remove the API key. verify names scenario, field and both values.
    let fixed = std::fs::read_to_string(example("twin.rs")).unwrap();
    assert!(fixed.contains(REMOVES_KEY));
    write_twin(&ws, &fixed.replace(REMOVES_KEY, ""));
    let run = filterbench(
        &["verify", "--workspace", w, "--pair", PAIR, "--in-process"],
        &[],
        10 * minute,
    );
    let stdout = text(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&run.stderr)
    );
    assert!(stdout.contains("valid_key"), "{stdout}");
    assert!(stdout.contains("upstream.header[x-api-key]"), "{stdout}");
    assert!(stdout.contains("(absent)"), "{stdout}");
    assert!(stdout.contains("\"acme-s3cr3t\""), "{stdout}");

    // The fixed twin: equivalent in-process and in real Envoy.
    write_twin(&ws, &fixed);
    for driver in ["--in-process", "--envoy"] {
        let stdout = run_ok(
            &["verify", "--workspace", w, "--pair", PAIR, driver, "--save"],
            10 * minute,
        );
        assert!(
            stdout.contains("1 pairs, 7 scenarios: 1 equivalent, 0 differ"),
            "{driver}: {stdout}"
        );
    }

    // The fixed twin agrees with Lua on generated requests too (seeded from the corpus).
    let stdout = run_ok(
        &[
            "verify",
            "--workspace",
            w,
            "--pair",
            PAIR,
            "--in-process",
            "--generated",
            "1000",
        ],
        10 * minute,
    );
    assert!(
        stdout.contains("1 pairs, 1000 generated sequences each: 1 agree, 0 differ"),
        "{stdout}"
    );

    // A twin that reads only the first value of a repeated `x-api-key` (Lua's `get` joins them
    // with ","): the generated requests find it and name the shrunk request, saved for record.
    let joined = "let key = values.join(\",\");";
    assert!(fixed.contains(joined));
    write_twin(
        &ws,
        &fixed.replace(
            joined,
            "let key = self.get_http_request_header(\"x-api-key\").unwrap_or_default(); \
             let _ = values;",
        ),
    );
    let run = filterbench(
        &[
            "verify",
            "--workspace",
            w,
            "--pair",
            PAIR,
            "--in-process",
            "--generated",
            "1000",
        ],
        &[],
        10 * minute,
    );
    let stdout = text(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&run.stderr)
    );
    assert!(
        stdout.contains("DIFFERS on a generated sequence"),
        "{stdout}"
    );
    assert!(stdout.contains("generated_1"), "{stdout}");
    let saved = ws
        .join("reports/results/verify/generated")
        .join(format!("{PAIR}.jsonl"));
    let lines = std::fs::read_to_string(&saved).unwrap();
    assert!(
        lines.matches("x-api-key").count() >= 2,
        "the shrunk case repeats the header: {lines}"
    );
    write_twin(&ws, &fixed);

    // The Lua side alone under load: what the Lua filter costs, before any verdict on Wasm.
    run_ok(
        &[
            "load",
            "--workspace",
            w,
            "--pair",
            PAIR,
            "--lua-only",
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
        5 * minute,
    );
    let load = ws.join("reports/results/load").join(format!("{PAIR}.json"));
    assert!(load.is_file(), "load writes {}", load.display());

    // The report of the workspace: a page for the pair.
    run_ok(&["report", "--workspace", w], 5 * minute);
    let page = ws.join("reports/site/pairs").join(format!("{PAIR}.html"));
    let html = std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
    assert!(html.contains(PAIR), "{html}");
    let index = std::fs::read_to_string(ws.join("reports/site/index.html")).unwrap();
    assert!(index.contains(PAIR));
    assert!(!index.contains("add_header"), "only the workspace's pairs");
}
