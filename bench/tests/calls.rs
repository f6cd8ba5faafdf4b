//! A corpus whose scenarios script the filters' outgoing calls (`calls`) verifies in-process:
//! the test-only twins `bench/guests/test_callout.lua` and `bench/guests/test_callout` (Wasm),
//! one VM each for the whole corpus, each scenario's scripts in force while it runs.

use filterbench_bench::harness::driver::{in_process_report, LoadedPair};
use filterbench_bench::harness::lua::LuaFilter;
use filterbench_bench::harness::wasm::WasmFilter;
use filterbench_model::{project_root, wasm_dir, Corpus, Pair};

const PAIR: &str = r#"
name = "test_callout"
summary = "Test-only: calls out, copies a field of the reply into a request header."
behaviour = "See bench/guests/test_callout.lua."
config = {}
traits = { external_call = true, data_processing = true, custom_metrics = false, state = false, change_frequency = "low" }
"#;

#[test]
fn a_corpus_with_scripted_calls_verifies_in_process() {
    let corpus_path = project_root().join("bench/guests/test_callout.toml");
    let corpus = Corpus::load(&corpus_path, "test_callout").unwrap();
    assert_eq!(corpus.call_clusters().len(), 1);
    let pair: Pair = toml::from_str(PAIR).unwrap();
    let lua_source =
        std::fs::read_to_string(project_root().join("bench/guests/test_callout.lua")).unwrap();
    let module = std::fs::read(wasm_dir().join("test_callout.wasm")).unwrap();
    let loaded = LoadedPair {
        lua: LuaFilter::load("test_callout.lua", &lua_source).unwrap(),
        wasm: WasmFilter::compile("test_callout.wasm", &module).unwrap(),
        pair,
        twin: filterbench_model::TwinKind::Wasm,
    };
    let report = in_process_report(&loaded, &corpus).unwrap();
    assert!(report.equivalent, "{}", report.failure_lines().join("\n"));
    assert_eq!(report.scenarios, 5);
}

#[test]
fn a_bad_call_script_in_a_corpus_names_the_file_and_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test_callout.toml");
    let corpus = std::fs::read_to_string(project_root().join("bench/guests/test_callout.toml"));
    let bad = corpus
        .unwrap()
        .replace("path = \"/users/ann\"", "path = \"users/ann\"");
    std::fs::write(&path, bad).unwrap();
    let e = Corpus::load(&path, "test_callout").unwrap_err().to_string();
    assert!(e.starts_with(&path.display().to_string()), "{e}");
    assert!(
        e.contains("scenario \"reply_field_reaches_upstream\""),
        "{e}"
    );
    assert!(e.contains("must start with '/'"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}
