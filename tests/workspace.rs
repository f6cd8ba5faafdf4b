//! A user's own workspace in a temporary directory outside the repository: `filterbench new`
//! (from a Lua file, an EnvoyFilter, a TrafficExtension, with a prebuilt module), its refusals,
//! the twin crate built at run time (and a compile error shown), and `verify --workspace`
//! in-process and in real Envoy, then `report --workspace`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{filterbench, text};

/// Building a twin crate the first time compiles proxy-wasm: minutes on a busy 2-core machine.
const LIMIT: Duration = Duration::from_secs(600);

/// Runs `filterbench ARGS --workspace WS`: (exit code, stdout, stderr).
fn run(ws: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--workspace");
    all.push(ws.to_str().unwrap());
    let out = filterbench(&all, &[], LIMIT);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

fn assert_one_line_error(code: i32, stderr: &str, wanted: &[&str]) {
    assert_eq!(code, 2, "exit code; stderr: {stderr}");
    // Progress lines of the twin's build are not errors.
    let lines: Vec<&str> = stderr
        .trim()
        .lines()
        .filter(|l| {
            !l.starts_with("building the Wasm twin ") && !l.starts_with("built the Wasm twin ")
        })
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

/// A workspace directory (not created: `new` creates it) and a scratch directory for inputs.
struct Dirs {
    _tmp: tempfile::TempDir,
    ws: PathBuf,
    inputs: PathBuf,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    Dirs {
        ws: tmp.path().join("ws"),
        inputs,
        _tmp: tmp,
    }
}

const TAG_LUA: &str = "-- adds a tag the upstream sees\n\
function envoy_on_request(handle)\n  handle:headers():add(\"x-tag\", \"blue\")\nend\n";

pub(crate) const TAG_CORPUS: &str = r#"pair = "tag"

[[scenario]]
name = "adds_tag"
path = "/x"

[scenario.expect]
status = 200
upstream_reached = true
request_headers = [["x-tag", "blue"]]
"#;

#[test]
fn new_scaffolds_a_pair_whose_pass_through_twin_builds_and_differs() {
    let d = dirs();
    let lua = d.inputs.join("tag.lua");
    std::fs::write(&lua, TAG_LUA).unwrap();
    let (code, stdout, stderr) = run(&d.ws, &["new", "tag", "--lua", lua.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        std::fs::read_to_string(d.ws.join("filters-lua/tag.lua")).unwrap(),
        TAG_LUA
    );
    let catalogue = std::fs::read_to_string(d.ws.join("filterbench.toml")).unwrap();
    assert!(catalogue.contains("name = \"tag\""), "{catalogue}");
    assert!(catalogue.contains("TODO"), "{catalogue}");
    let corpus = std::fs::read_to_string(d.ws.join("corpus/tag.toml")).unwrap();
    assert!(corpus.contains("pair = \"tag\""), "{corpus}");
    assert!(
        !corpus.lines().any(|l| l.starts_with("[[scenario]]")),
        "{corpus}"
    );
    for file in ["Cargo.toml", "Cargo.lock", "src/lib.rs"] {
        assert!(d.ws.join("filters-wasm/tag").join(file).is_file(), "{file}");
    }

    // An empty corpus is said, naming the file and the way to fill it.
    let (code, _, stderr) = run(&d.ws, &["verify", "--in-process"]);
    assert_one_line_error(code, &stderr, &["corpus/tag.toml", "filterbench record"]);

    // With a scenario, the pass-through twin (built now) differs from the Lua filter.
    std::fs::write(d.ws.join("corpus/tag.toml"), TAG_CORPUS).unwrap();
    let (code, stdout, stderr) = run(&d.ws, &["verify", "--in-process", "--pair", "tag"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        d.ws.join("target/wasm32-wasip1/release/tag.wasm").is_file(),
        "{stderr}"
    );
    assert!(
        stdout.contains("tag / adds_tag: upstream.header[x-tag]: lua \"blue\" | wasm (absent)"),
        "{stdout}"
    );
    assert!(
        stdout
            .trim_end()
            .ends_with("1 pairs, 1 scenarios: 0 equivalent, 1 differ"),
        "{stdout}"
    );

    // A twin crate that does not compile: the compiler's first error, naming the crate.
    let lib = d.ws.join("filters-wasm/tag/src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        source.replace(
            "        Action::Continue\n    }\n\n    fn on_http_response_headers",
            "        let broken: u32 = \"not a number\";\n        Action::Continue\n    }\n\n    fn on_http_response_headers",
        ),
    )
    .unwrap();
    let (code, _, stderr) = run(&d.ws, &["verify", "--in-process"]);
    assert_one_line_error(
        code,
        &stderr,
        &[
            "filters-wasm/tag/Cargo.toml",
            "does not build",
            "error[E0308]",
            "(the whole output: cargo build --release --target wasm32-wasip1 --manifest-path ",
        ],
    );
    assert!(
        stderr.starts_with("building the Wasm twin tag (cargo build"),
        "the build is said before it runs: {stderr}"
    );
}

#[test]
fn new_refuses_an_existing_pair_unless_forced() {
    let d = dirs();
    let first = d.inputs.join("first.lua");
    let second = d.inputs.join("second.lua");
    std::fs::write(&first, "-- first\n").unwrap();
    std::fs::write(&second, "-- second\n").unwrap();
    let module = filterbench_model::wasm_dir().join("add_header.wasm");
    let new = |lua: &Path, force: bool| {
        let mut args = vec![
            "new",
            "mine",
            "--lua",
            lua.to_str().unwrap(),
            "--wasm",
            module.to_str().unwrap(),
        ];
        if force {
            args.push("--force");
        }
        run(&d.ws, &args)
    };
    let (code, stdout, stderr) = new(&first, false);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, _, stderr) = new(&second, false);
    assert_one_line_error(
        code,
        &stderr,
        &["filterbench.toml", "\"mine\" exists already", "--force"],
    );
    let lua = d.ws.join("filters-lua/mine.lua");
    assert_eq!(std::fs::read_to_string(&lua).unwrap(), "-- first\n");
    let (code, stdout, stderr) = new(&second, true);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(std::fs::read_to_string(&lua).unwrap(), "-- second\n");
    let catalogue = std::fs::read_to_string(d.ws.join("filterbench.toml")).unwrap();
    assert_eq!(
        catalogue.matches("name = \"mine\"").count(),
        1,
        "{catalogue}"
    );

    // Other bad input: one line each.
    let (code, _, stderr) = run(
        &d.ws,
        &["new", "Bad-Name", "--lua", first.to_str().unwrap()],
    );
    assert_one_line_error(code, &stderr, &["Bad-Name", "[a-z0-9_]+"]);
    let missing = d.inputs.join("missing.lua");
    let (code, _, stderr) = run(&d.ws, &["new", "other", "--lua", missing.to_str().unwrap()]);
    assert_one_line_error(code, &stderr, &["missing.lua", "cannot read"]);
    let broken = d.inputs.join("broken.lua");
    std::fs::write(&broken, "function envoy_on_request(h)\n  h:headers(\nend\n").unwrap();
    let (code, _, stderr) = run(&d.ws, &["new", "other", "--lua", broken.to_str().unwrap()]);
    assert_one_line_error(code, &stderr, &["broken.lua", "load"]);
    assert!(!d.ws.join("filters-lua/other.lua").exists());
}

pub(crate) const ENVOY_FILTER: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: tagger
  namespace: shop
spec:
  workloadSelector:
    labels: {app: shop}
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      listener:
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter: {name: envoy.filters.http.router}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.lua
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
          defaultSourceCode:
            inlineString: |
              function envoy_on_request(handle)
                handle:headers():add("x-tag", handle:metadata():get("tag") or "none")
              end
  - applyTo: HTTP_ROUTE
    match: {context: SIDECAR_INBOUND}
    patch:
      operation: MERGE
      value:
        metadata:
          filter_metadata:
            envoy.filters.http.lua: {tag: blue}
"#;

const TRAFFIC_EXTENSION: &str = r#"apiVersion: extensions.istio.io/v1alpha1
kind: TrafficExtension
metadata:
  name: hello
spec:
  selector:
    matchLabels: {app: shop}
  lua:
    inlineCode: |
      function envoy_on_response(handle)
        handle:headers():add("hello", "world")
      end
"#;

#[test]
fn new_from_manifest_takes_the_inline_lua_and_its_configuration() {
    let d = dirs();
    let module = filterbench_model::wasm_dir().join("add_header.wasm");
    let module = module.to_str().unwrap();
    let ef = d.inputs.join("envoyfilter.yaml");
    std::fs::write(&ef, ENVOY_FILTER).unwrap();
    let (code, stdout, stderr) = run(
        &d.ws,
        &[
            "new",
            "tagger",
            "--from-manifest",
            ef.to_str().unwrap(),
            "--wasm",
            module,
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let lua = std::fs::read_to_string(d.ws.join("filters-lua/tagger.lua")).unwrap();
    assert!(
        lua.starts_with("function envoy_on_request(handle)\n"),
        "{lua}"
    );
    assert!(lua.contains("handle:metadata():get(\"tag\")"), "{lua}");
    let catalogue = std::fs::read_to_string(d.ws.join("filterbench.toml")).unwrap();
    assert!(
        catalogue.contains("config = { tag = \"blue\" }"),
        "{catalogue}"
    );
    assert!(catalogue.contains("EnvoyFilter shop/tagger"), "{catalogue}");
    // The workspace loads with the configuration as the catalogue gives it to both twins.
    let loaded = filterbench_model::Catalogue::load_workspace(&d.ws).unwrap();
    assert_eq!(
        loaded.get("tagger").unwrap().config_json(),
        serde_json::json!({"tag": "blue"})
    );

    let te = d.inputs.join("trafficextension.yaml");
    std::fs::write(&te, TRAFFIC_EXTENSION).unwrap();
    let (code, stdout, stderr) = run(
        &d.ws,
        &[
            "new",
            "hello",
            "--from-manifest",
            te.to_str().unwrap(),
            "--wasm",
            module,
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        std::fs::read_to_string(d.ws.join("filters-lua/hello.lua")).unwrap(),
        "function envoy_on_response(handle)\n  handle:headers():add(\"hello\", \"world\")\nend\n"
    );

    let nolua = d.inputs.join("wasmplugin.yaml");
    std::fs::write(
        &nolua,
        "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: w}\nspec: {url: oci://x}\n",
    )
    .unwrap();
    let (code, _, stderr) = run(
        &d.ws,
        &["new", "nolua", "--from-manifest", nolua.to_str().unwrap()],
    );
    assert_one_line_error(code, &stderr, &["wasmplugin.yaml", "no inline Lua found"]);
}

#[test]
fn a_prebuilt_module_twin_verifies_as_it_is_in_process_and_in_envoy() {
    let d = dirs();
    let root = filterbench_model::project_root();
    let module = d.inputs.join("twin.wasm");
    std::fs::copy(
        filterbench_model::wasm_dir().join("add_header.wasm"),
        &module,
    )
    .unwrap();
    let lua = d.inputs.join("mine.lua");
    std::fs::copy(root.join("filters-lua/add_header.lua"), &lua).unwrap();
    let (code, stdout, stderr) = run(
        &d.ws,
        &[
            "new",
            "mine",
            "--lua",
            lua.to_str().unwrap(),
            "--wasm",
            module.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        !d.ws.join("filters-wasm/mine").exists(),
        "no crate for a prebuilt twin"
    );
    let corpus = std::fs::read_to_string(root.join("bench/corpus/add_header.toml")).unwrap();
    let corpus = corpus.replace("pair = \"add_header\"", "pair = \"mine\"");
    std::fs::write(d.ws.join("corpus/mine.toml"), &corpus).unwrap();
    let n = corpus.matches("[[scenario]]").count();
    let line = format!("1 pairs, {n} scenarios: 1 equivalent, 0 differ");

    for mode in ["--in-process", "--envoy"] {
        let (code, stdout, stderr) = run(&d.ws, &["verify", mode, "--save"]);
        assert_eq!(code, 0, "{mode}: {stdout}{stderr}");
        assert!(stdout.trim_end().ends_with(&line), "{mode}: {stdout}");
    }
    let results = d.ws.join("reports/results/verify");
    assert!(results.join("in_process.json").is_file());
    assert!(results.join("envoy.json").is_file());

    // The report renders the workspace's pair from the workspace's results.
    let (code, stdout, stderr) = run(&d.ws, &["report"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let index = std::fs::read_to_string(d.ws.join("reports/site/index.html")).unwrap();
    assert!(index.contains("mine"), "{index}");
    assert!(d.ws.join("reports/site/pairs/mine.html").is_file());
}

/// `new --force` keeps what it replaces (the twin crate, the recorded corpus, the script, the
/// catalogue) beside it under names it prints, and replaces only its own catalogue entry, whatever
/// the entries' header lines look like.
#[test]
fn new_force_keeps_named_backups_and_replaces_only_its_own_entry() {
    let d = dirs();
    let first = d.inputs.join("first.lua");
    std::fs::write(&first, "-- first\n").unwrap();
    let second = d.inputs.join("second.lua");
    std::fs::write(&second, "-- second\n").unwrap();
    let module = filterbench_model::wasm_dir().join("add_header.wasm");
    let (code, stdout, stderr) = run(
        &d.ws,
        &[
            "new",
            "other",
            "--lua",
            first.to_str().unwrap(),
            "--wasm",
            module.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, stderr) = run(&d.ws, &["new", "mine", "--lua", first.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // The user's own work: a twin written, scenarios recorded, a note on the entry's header.
    let lib = d.ws.join("filters-wasm/mine/src/lib.rs");
    std::fs::write(&lib, "// my twin\n").unwrap();
    let corpus = d.ws.join("corpus/mine.toml");
    let recorded = "pair = \"mine\"\n\n[[scenario]]\nname = \"recorded\"\n[scenario.expect]\nstatus = 200\nupstream_reached = true\n";
    std::fs::write(&corpus, recorded).unwrap();
    let catalogue_path = d.ws.join("filterbench.toml");
    let catalogue = std::fs::read_to_string(&catalogue_path).unwrap();
    let at = catalogue.rfind("[[pair]]").unwrap();
    let noted = format!(
        "{}[[pair]]  # note: mine{}",
        &catalogue[..at],
        &catalogue[at + "[[pair]]".len()..]
    );
    std::fs::write(&catalogue_path, &noted).unwrap();

    let (code, stdout, stderr) = run(
        &d.ws,
        &["new", "mine", "--lua", second.to_str().unwrap(), "--force"],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let kept = |path: &Path| -> PathBuf {
        let prefix = format!("  kept {} as ", path.display());
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no backup of {} named in {stdout}", path.display()));
        PathBuf::from(line.strip_suffix(" (--force)").unwrap())
    };
    let crate_backup = kept(&d.ws.join("filters-wasm/mine"));
    assert_eq!(
        std::fs::read_to_string(crate_backup.join("src/lib.rs")).unwrap(),
        "// my twin\n"
    );
    assert_eq!(std::fs::read_to_string(kept(&corpus)).unwrap(), recorded);
    assert_eq!(
        std::fs::read_to_string(kept(&d.ws.join("filters-lua/mine.lua"))).unwrap(),
        "-- first\n"
    );
    assert_eq!(
        std::fs::read_to_string(kept(&catalogue_path)).unwrap(),
        noted
    );
    // The neighbour's entry is still there, and the workspace (backups beside) still loads.
    let loaded = filterbench_model::Catalogue::load_workspace(&d.ws).unwrap();
    let names: Vec<&str> = loaded.pairs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["other", "mine"]);
    assert_eq!(
        std::fs::read_to_string(d.ws.join("filters-lua/mine.lua")).unwrap(),
        "-- second\n"
    );
}

/// A manifest whose names hold a control character would make a catalogue that no longer
/// parses: refused before anything is written.
#[test]
fn new_refuses_a_manifest_name_with_a_control_character() {
    let d = dirs();
    let module = filterbench_model::wasm_dir().join("add_header.wasm");
    let ef = d.inputs.join("envoyfilter.yaml");
    std::fs::write(
        &ef,
        ENVOY_FILTER.replace("  name: tagger\n", "  name: \"tag\\u0007ger\"\n"),
    )
    .unwrap();
    let (code, _, stderr) = run(
        &d.ws,
        &[
            "new",
            "tagger",
            "--from-manifest",
            ef.to_str().unwrap(),
            "--wasm",
            module.to_str().unwrap(),
        ],
    );
    assert_one_line_error(code, &stderr, &["envoyfilter.yaml", "control character"]);
    assert!(!d.ws.join("filterbench.toml").exists());
    assert!(!d.ws.join("filters-lua/tagger.lua").exists());
}

/// `passthrough` names the built-in pass-through measurement: no pair may take it, neither
/// through `new` nor in a catalogue written by hand.
#[test]
fn a_pair_named_passthrough_is_refused() {
    let d = dirs();
    let lua = d.inputs.join("tag.lua");
    std::fs::write(&lua, TAG_LUA).unwrap();
    let module = filterbench_model::wasm_dir().join("add_header.wasm");
    let module = module.to_str().unwrap();
    let (code, _, stderr) = run(
        &d.ws,
        &[
            "new",
            "passthrough",
            "--lua",
            lua.to_str().unwrap(),
            "--wasm",
            module,
        ],
    );
    assert_one_line_error(code, &stderr, &["\"passthrough\"", "reserved"]);
    assert!(!d.ws.exists());

    let (code, stdout, stderr) = run(
        &d.ws,
        &[
            "new",
            "tag",
            "--lua",
            lua.to_str().unwrap(),
            "--wasm",
            module,
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    for (from, to) in [
        ("filters-lua/tag.lua", "filters-lua/passthrough.lua"),
        ("corpus/tag.toml", "corpus/passthrough.toml"),
    ] {
        std::fs::rename(d.ws.join(from), d.ws.join(to)).unwrap();
    }
    let catalogue = d.ws.join("filterbench.toml");
    let text = std::fs::read_to_string(&catalogue).unwrap();
    std::fs::write(
        &catalogue,
        text.replace("name = \"tag\"", "name = \"passthrough\""),
    )
    .unwrap();
    let corpus = d.ws.join("corpus/passthrough.toml");
    let text = std::fs::read_to_string(&corpus).unwrap();
    std::fs::write(
        &corpus,
        text.replace("pair = \"tag\"", "pair = \"passthrough\""),
    )
    .unwrap();
    let (code, _, stderr) = run(&d.ws, &["verify", "--in-process"]);
    assert_one_line_error(
        code,
        &stderr,
        &["filterbench.toml", "\"passthrough\"", "reserved"],
    );
}
