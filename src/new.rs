//! `filterbench new NAME (--lua FILE | --from-manifest FILE) [--wasm FILE] [--force]
//! --workspace DIR`: scaffolds a pair of the user's own in a workspace (created when missing):
//!
//! - `DIR/filters-lua/NAME.lua`: the Lua script, unchanged (from the file, or the inline Lua of
//!   an Istio `EnvoyFilter` / `TrafficExtension` manifest, `filterbench_k8s::import`);
//! - a `[[pair]]` entry in `DIR/filterbench.toml` (created with its `schema_version` when
//!   missing): placeholders saying what to write for `summary` and `behaviour`, the traits
//!   defaulted and explained, the configuration (from the manifest's route metadata when it has
//!   some, said in a comment; every further route-metadata block a named configuration,
//!   `[pair.configs.NAME]`);
//! - `DIR/corpus/NAME.toml`: an empty corpus (`filterbench record` fills it);
//! - `DIR/filters-wasm/NAME/`: a pass-through proxy-wasm 0.2 twin crate (its own `[workspace]`,
//!   a `[profile.release]` with lto and panic=abort, a `Cargo.lock` made offline when cargo's
//!   cache has the crates) that builds for `wasm32-wasip1`; or, with `--wasm FILE`, the prebuilt
//!   module copied to `DIR/filters-wasm/NAME.wasm` and named by the entry's `wasm` key; with
//!   `--no-wasm`, neither (the pair's twins are then those of `--go` and `--native`);
//! - with `--go`, `DIR/filters-go/NAME/main.go`, a pass-through Go twin, and with `--native`,
//!   `DIR/filters-native/NAME/`, a pass-through native twin crate, each with the project code it
//!   needs copied into the workspace once (`crate::new_twins`).
//!
//! The script must load in the in-process Lua host. A pair that exists already (an entry, or
//! any of its files) is refused and nothing is written, unless `--force`, which replaces it and
//! keeps what it replaced beside it, named in the output: the script, corpus, twin crate or module
//! moved to `PATH.bak-<UTC time>`, the catalogue copied there before its entry is replaced. The
//! catalogue's entry is found by parsing (`toml_edit`), so comments and the other entries stay.
//! A pair name that is not `[a-z0-9_]+` or is reserved (`passthrough`; in a workspace also
//! `proxywasm` and `sdk`, the shared folders of the Go and native twins) is refused.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context;

use filterbench_bench::harness::lua::LuaFilter;
use filterbench_model::catalogue::{check_wasm_magic, name_problem, WORKSPACE_CATALOGUE};
use filterbench_model::Catalogue;

use crate::new_twins::{self, SHARED_FOLDER_NAMES};

#[derive(clap::Args)]
pub struct NewArgs {
    /// The pair's name: [a-z0-9_]+.
    pub name: String,
    /// The Lua filter, as Envoy's Lua filter loads it.
    #[arg(long, value_name = "FILE", required_unless_present = "from_manifest")]
    pub lua: Option<PathBuf>,
    /// An Istio EnvoyFilter or TrafficExtension (YAML, several documents allowed) whose inline
    /// Lua (and route-metadata configuration) becomes the pair's.
    #[arg(long, value_name = "FILE", conflicts_with = "lua")]
    pub from_manifest: Option<PathBuf>,
    /// A prebuilt proxy-wasm module as the twin (any language), instead of a Rust crate.
    #[arg(long, value_name = "FILE")]
    pub wasm: Option<PathBuf>,
    /// Also a pass-through Go twin: filters-go/NAME/main.go (standard Go for wasip1, built at
    /// run time into target/filters-go/), with the project's proxy-wasm ABI layer copied to
    /// filters-go/proxywasm/ when the workspace has none.
    #[arg(long)]
    pub go: bool,
    /// Also a pass-through native twin: the crate filters-native/NAME/ (an Envoy dynamic module,
    /// built at run time for the host into target/filters-native/NAME.so), with the project's
    /// SDK crate copied to filters-native/sdk/ when the workspace has none.
    #[arg(long)]
    pub native: bool,
    /// No Rust Wasm twin (neither a crate nor --wasm): only the twins --go and --native ask for.
    #[arg(long, conflicts_with = "wasm")]
    pub no_wasm: bool,
    /// Replace a pair of this name that exists already (what is replaced is kept beside it as
    /// `PATH.bak-<UTC time>`, named in the output).
    #[arg(long)]
    pub force: bool,
}

/// Where the script and its configuration came from.
struct Source {
    code: String,
    config: serde_json::Map<String, serde_json::Value>,
    /// The file (named in errors about the script).
    file: PathBuf,
    origin: String,
    config_origin: Option<String>,
    /// The manifest's other route-metadata blocks: more named configurations.
    more_configs: Vec<filterbench_k8s::import::ImportedConfig>,
}

/// Where a pair's files go in a workspace.
struct PairFiles {
    catalogue: PathBuf,
    lua: PathBuf,
    corpus: PathBuf,
    crate_dir: PathBuf,
    module: PathBuf,
    go_dir: PathBuf,
    native_dir: PathBuf,
}

impl PairFiles {
    fn in_workspace(dir: &Path, name: &str) -> Self {
        PairFiles {
            catalogue: dir.join(WORKSPACE_CATALOGUE),
            lua: dir.join("filters-lua").join(format!("{name}.lua")),
            corpus: dir.join("corpus").join(format!("{name}.toml")),
            crate_dir: dir.join("filters-wasm").join(name),
            module: dir.join("filters-wasm").join(format!("{name}.wasm")),
            go_dir: dir.join("filters-go").join(name),
            native_dir: dir.join("filters-native").join(name),
        }
    }

    /// The pair's files (not the catalogue) that exist already.
    fn existing(&self) -> Vec<&Path> {
        [
            &self.lua,
            &self.corpus,
            &self.crate_dir,
            &self.module,
            &self.go_dir,
            &self.native_dir,
        ]
        .into_iter()
        .map(PathBuf::as_path)
        .filter(|p| p.exists())
        .collect()
    }
}

pub fn new(workspace: Option<&Path>, args: NewArgs) -> anyhow::Result<ExitCode> {
    let Some(dir) = workspace else {
        anyhow::bail!(
            "new: --workspace DIR is required (the directory of your own pairs, created when missing; \
             the built-in pairs are edited in the repository)"
        );
    };
    let dir = std::path::absolute(dir).with_context(|| format!("{}", dir.display()))?;
    let name = &args.name;
    check_name_and_twins(&args)?;
    let source = read_source(&args)?;
    // The script must compile; it is not run: a manifest's Lua is someone else's code, and its
    // top level would run as the user before anyone has read it.
    let shown = source.file.display().to_string();
    LuaFilter::load(&shown, &source.code).map_err(|e| anyhow::anyhow!("{e}"))?;
    let module = args.wasm.as_deref().map(read_module).transpose()?;

    let files = PairFiles::in_workspace(&dir, name);
    // The other twins' files, read from the project before anything is written.
    let more_twins = more_twins(&dir, &args)?;
    let old_catalogue = read_catalogue(&files.catalogue)?;
    let listed = match &old_catalogue {
        Some(text) => pair_names(&files.catalogue, text)?.contains(name),
        None => false,
    };
    let existing = files.existing();
    if (listed || !existing.is_empty()) && !args.force {
        anyhow::bail!(exists_already(&files.catalogue, name, listed, &existing));
    }
    let catalogue_text = new_catalogue(
        &files.catalogue,
        old_catalogue.as_deref(),
        name,
        &source,
        module.is_some(),
    )?;
    // Everything is prepared: now write. What `--force` replaces is kept beside it, named.
    if args.force {
        let mut replaced: Vec<&Path> = existing.clone();
        if listed {
            replaced.push(files.catalogue.as_path());
        }
        keep_replaced(&replaced, &files.catalogue)?;
    }
    let wasm = match module {
        Some(bytes) => WasmTwin::Module(bytes),
        None if args.no_wasm => WasmTwin::None,
        None => WasmTwin::Crate,
    };
    let (mut written, mut notes) = write_pair(&files, name, &source, wasm, &catalogue_text)?;
    let (paths, more_notes) = write_more_twins(&files, more_twins)?;
    // The catalogue (last of `written`) stays last.
    written.splice(written.len() - 1..written.len() - 1, paths);
    notes.extend(more_notes);
    // The workspace as the other commands will see it.
    Catalogue::load_workspace(&dir)?;
    print_done(&dir, name, &source, &written, &notes);
    print_next(&dir, &files, name, &args);
    Ok(ExitCode::SUCCESS)
}

/// Refuses a name `new` may not give (invalid, reserved, a shared folder's) and `--no-wasm`
/// without another twin.
fn check_name_and_twins(args: &NewArgs) -> anyhow::Result<()> {
    let name = &args.name;
    if let Some(problem) = name_problem(name) {
        anyhow::bail!("new: {problem}");
    }
    if let Some((_, what)) = SHARED_FOLDER_NAMES.iter().find(|(n, _)| n == name) {
        anyhow::bail!(
            "new: pair name {name:?} is taken in a workspace: it names {what}; choose another"
        );
    }
    if args.no_wasm && !args.go && !args.native {
        anyhow::bail!(
            "new: --no-wasm leaves pair {name:?} without a twin: give --go, --native or both"
        );
    }
    Ok(())
}

/// The Go and native twins `--go` and `--native` ask for: their files, read from the project.
fn more_twins(dir: &Path, args: &NewArgs) -> anyhow::Result<Vec<MoreTwin>> {
    let project = filterbench_model::project_root();
    let mut more = Vec::new();
    if args.go {
        let (files, shared) = new_twins::go_twin(&project, dir, &args.name)?;
        more.push(MoreTwin {
            native: false,
            files,
            shared,
        });
    }
    if args.native {
        let (files, shared) = new_twins::native_twin(&project, dir, &args.name)?;
        more.push(MoreTwin {
            native: true,
            files,
            shared,
        });
    }
    Ok(more)
}

/// A Go or native twin to write.
struct MoreTwin {
    native: bool,
    files: Vec<new_twins::Written>,
    shared: new_twins::SharedUse,
}

/// Writes the Go and native twins (a native crate's `Cargo.lock` made offline); answers the
/// paths to name and the notes.
fn write_more_twins(
    files: &PairFiles,
    more: Vec<MoreTwin>,
) -> anyhow::Result<(Vec<PathBuf>, Vec<String>)> {
    let mut written = Vec::new();
    let mut notes = Vec::new();
    for twin in more {
        let native = twin.native;
        let (paths, note) = write_twin(twin, files)?;
        written.extend(paths);
        notes.extend(note);
        if native {
            if let Err(e) = lockfile(&files.native_dir) {
                notes.push(format!(
                    "no Cargo.lock in {} yet ({e}); the first build makes one",
                    files.native_dir.display()
                ));
            }
        }
    }
    Ok((written, notes))
}

/// What `new` wrote, the manifest's configurations and the notes.
fn print_done(dir: &Path, name: &str, source: &Source, written: &[PathBuf], notes: &[String]) {
    println!(
        "new pair {name} in {} (Lua: {})",
        dir.display(),
        source.origin
    );
    for path in written {
        println!("  wrote {}", path.display());
    }
    if !source.more_configs.is_empty() {
        let names: Vec<&str> = std::iter::once("default")
            .chain(source.more_configs.iter().map(|c| c.name.as_str()))
            .collect();
        println!(
            "  configurations: {} (one per route-metadata block of the manifest; record under one \
             with `record --config NAME`)",
            names.join(", ")
        );
    }
    for note in notes {
        println!("  note: {note}");
    }
}

/// The error for a pair that exists already (without `--force`).
fn exists_already(catalogue: &Path, name: &str, listed: bool, existing: &[&Path]) -> String {
    let what = if listed {
        "lists".to_string()
    } else {
        format!("has files of ({})", shown_all(existing))
    };
    format!(
        "{}: a pair named {name:?} exists already (the workspace {what} it); nothing written \
         (--force replaces it)",
        catalogue.display()
    )
}

/// A prebuilt module of `--wasm`, checked to be Wasm.
fn read_module(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    check_wasm_magic(path, &bytes)?;
    Ok(bytes)
}

/// The workspace's catalogue text; none when there is no catalogue yet.
fn read_catalogue(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => anyhow::bail!("{}: {e}", path.display()),
    }
}

/// The catalogue as it will be with the pair's entry (added, or replacing its old one), checked
/// to parse and to list the pair once.
fn new_catalogue(
    path: &Path,
    old: Option<&str>,
    name: &str,
    source: &Source,
    prebuilt: bool,
) -> anyhow::Result<String> {
    // A name from a manifest lands in a catalogue comment: a control character would make a
    // catalogue that no longer parses.
    if let Some(c) = source.origin.chars().find(|c| c.is_control()) {
        anyhow::bail!(
            "{}: the names it gives hold the control character {c:?}; nothing written",
            source.file.display()
        );
    }
    let entry = catalogue_entry(name, source, prebuilt)?;
    let text = match old {
        Some(text) => replace_entry(path, text, name, &entry)?,
        None => format!("{CATALOGUE_HEADER}{entry}"),
    };
    let names = pair_names(path, &text).map_err(|e| {
        anyhow::anyhow!("{e} (in the catalogue `new` would write; nothing written)")
    })?;
    if names.iter().filter(|n| *n == name).count() != 1 {
        anyhow::bail!(
            "{}: the edited catalogue would not list {name:?} once; nothing written",
            path.display()
        );
    }
    Ok(text)
}

/// Keeps what `--force` replaces beside it, named in the output: files are moved to their
/// backup; the catalogue, edited in place (other pairs stay), is copied.
fn keep_replaced(replaced: &[&Path], catalogue: &Path) -> anyhow::Result<()> {
    for &old in replaced {
        let kept = if old == catalogue {
            let to = filterbench_model::keep::backup_path(old);
            std::fs::copy(old, &to).map(|_| to)
        } else {
            filterbench_model::keep::back_up(old)
        }
        .with_context(|| format!("{}: cannot keep a backup", old.display()))?;
        println!("  kept {} as {} (--force)", old.display(), kept.display());
    }
    Ok(())
}

/// The pair's Rust Wasm twin: a prebuilt module, a pass-through crate, or none (`--no-wasm`).
enum WasmTwin {
    Module(Vec<u8>),
    Crate,
    None,
}

/// Writes the script, the empty corpus, the Rust Wasm twin (the prebuilt module, or a
/// pass-through crate) and the catalogue (last in the answer); answers what it wrote and notes
/// for the user.
fn write_pair(
    files: &PairFiles,
    name: &str,
    source: &Source,
    wasm: WasmTwin,
    catalogue_text: &str,
) -> anyhow::Result<(Vec<PathBuf>, Vec<String>)> {
    write(&files.lua, source.code.as_bytes())?;
    write(&files.corpus, empty_corpus(name).as_bytes())?;
    let mut written = vec![files.lua.clone(), files.corpus.clone()];
    let mut notes = Vec::new();
    match wasm {
        WasmTwin::None => {}
        WasmTwin::Module(bytes) => {
            write(&files.module, &bytes)?;
            written.push(files.module.clone());
        }
        WasmTwin::Crate => {
            let crate_dir = &files.crate_dir;
            write(&crate_dir.join("Cargo.toml"), cargo_toml(name).as_bytes())?;
            write(
                &crate_dir.join("src").join("lib.rs"),
                lib_rs(name).as_bytes(),
            )?;
            if let Err(e) = lockfile(crate_dir) {
                notes.push(format!(
                    "no Cargo.lock yet ({e}); the first build makes one (it needs the network or \
                     cargo's cache)"
                ));
            }
            written.push(crate_dir.clone());
        }
    }
    write(&files.catalogue, catalogue_text.as_bytes())?;
    written.push(files.catalogue.clone());
    Ok((written, notes))
}

/// Writes a Go or native twin's files; answers the paths to name (the pair's folder, the shared
/// folder when copied now) and a note on a shared folder the workspace had already.
fn write_twin(twin: MoreTwin, files: &PairFiles) -> anyhow::Result<(Vec<PathBuf>, Option<String>)> {
    for file in &twin.files {
        write(&file.path, &file.bytes)?;
    }
    let (kind, folder) = if twin.native {
        ("native", files.native_dir.clone())
    } else {
        ("Go", files.go_dir.clone())
    };
    Ok(match twin.shared {
        new_twins::SharedUse::Copied(path) => (vec![folder, path], None),
        new_twins::SharedUse::Existing(path) => (
            vec![folder],
            Some(format!(
                "the {kind} twin uses the workspace's {} as it is (copied by an earlier `new`; \
                 not replaced)",
                path.display()
            )),
        ),
    })
}

/// What to do next with the new pair.
fn print_next(dir: &Path, files: &PairFiles, name: &str, args: &NewArgs) {
    let twin_crate = args.wasm.is_none() && !args.no_wasm;
    let ws = dir.display();
    println!("next:");
    println!(
        "  1. describe the filter in {} (summary, behaviour, traits)",
        files.catalogue.display()
    );
    println!(
        "  2. record scenarios: filterbench record --workspace {ws} --pair {name} --requests FILE"
    );
    let mut twins = Vec::new();
    if twin_crate {
        twins.push(files.crate_dir.join("src").join("lib.rs"));
    }
    if args.go {
        twins.push(files.go_dir.join("main.go"));
    }
    if args.native {
        twins.push(files.native_dir.join("src").join("lib.rs"));
    }
    if !twins.is_empty() {
        let shown: Vec<&Path> = twins.iter().map(PathBuf::as_path).collect();
        let what = if twins.len() == 1 {
            "the twin"
        } else {
            "the twins"
        };
        println!("  3. write {what} in {}", shown_all(&shown));
    }
    if args.native {
        // A native twin runs in real Envoy only.
        println!("  4. filterbench verify --envoy --twin all --workspace {ws} --pair {name}");
    } else {
        println!("  4. filterbench verify --in-process --twin all --workspace {ws} --pair {name}");
    }
}

fn read_source(args: &NewArgs) -> anyhow::Result<Source> {
    if let Some(path) = &args.from_manifest {
        let found = filterbench_k8s::import::lua_from_manifest_file(path)?;
        return Ok(Source {
            code: found.code,
            config: found.config,
            file: path.clone(),
            origin: format!("{}: {}", path.display(), found.origin),
            config_origin: found.config_origin,
            more_configs: found.more_configs,
        });
    }
    let path = args
        .lua
        .as_ref()
        .expect("clap requires --lua or --from-manifest");
    let code = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read the Lua filter: {e}", path.display()))?;
    Ok(Source {
        code,
        config: serde_json::Map::new(),
        file: path.clone(),
        origin: path.display().to_string(),
        config_origin: None,
        more_configs: Vec::new(),
    })
}

fn shown_all(paths: &[&Path]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("{}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("{}: cannot write", path.display()))
}

const CATALOGUE_HEADER: &str = "\
# The catalogue of this filterbench workspace: one [[pair]] per filter, the same schema as the
# repository's bench/catalogue.toml. A pair NAME is filters-lua/NAME.lua (the Lua filter),
# filters-wasm/NAME/ (its Wasm twin crate, built for wasm32-wasip1 into target/) or a prebuilt
# module named by `wasm = \"...\"`, filters-go/NAME/main.go (a Go twin) and filters-native/NAME/
# (a native twin crate) when it has them, and corpus/NAME.toml (its scenarios).
schema_version = 1
";

/// The `[[pair]]` entry, comments saying what to fill in.
fn catalogue_entry(name: &str, source: &Source, prebuilt: bool) -> anyhow::Result<String> {
    let quoted = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut out = String::new();
    out.push_str("\n[[pair]]\n");
    out.push_str(&format!(
        "# Written by `filterbench new` from {}.\n",
        one_comment_line(&source.origin)
    ));
    out.push_str(&format!("name = {}\n", quoted(name)));
    out.push_str("# One sentence: what the filter does (the report shows it).\n");
    out.push_str(&format!(
        "summary = {}\n",
        quoted(&format!("TODO: one sentence saying what {name} does."))
    ));
    out.push_str(
        "# The behaviour contract in words: what the filter does to each request and response\n\
         # (headers, local replies, body, calls out); the twin must do exactly the same.\n",
    );
    out.push_str(&format!(
        "behaviour = \"\"\"\nTODO: describe what filters-lua/{name}.lua does to requests and responses.\"\"\"\n"
    ));
    out.push_str(&config_lines(source)?);
    if prebuilt {
        out.push_str("# The Wasm twin: a prebuilt module (verified and measured as it is).\n");
        out.push_str(&format!(
            "wasm = {}\n",
            quoted(&format!("filters-wasm/{name}.wasm"))
        ));
    }
    out.push_str(TRAITS_LINES);
    for more in &source.more_configs {
        out.push_str(&more_config_lines(source, more)?);
    }
    Ok(out)
}

/// The entry's `config` and the comments saying where it came from.
fn config_lines(source: &Source) -> anyhow::Result<String> {
    let config = toml::Value::try_from(&source.config).map_err(|e| {
        anyhow::anyhow!(
            "{}: the configuration cannot be written as TOML: {e}",
            source.file.display()
        )
    })?;
    let config_from = match &source.config_origin {
        Some(origin) => format!("taken from {origin}"),
        None => format!(
            "none found in {}; add the keys the script reads",
            source.origin
        ),
    };
    Ok(format!(
        "# Configuration, the same values for both twins: the Wasm twin gets it as JSON plugin\n\
         # configuration, the Lua filter as route metadata under \"envoy.filters.http.lua\"\n\
         # (handle:metadata():get(key)).\n\
         # Configuration: {}.\n\
         config = {config}\n",
        one_comment_line(&config_from)
    ))
}

/// The entry's traits, defaulted, and the comments explaining them.
const TRAITS_LINES: &str = "\
# Decision-tree inputs, defaulted: set each to what the filter does.
#   external_call: it calls another service (httpCall); data_processing: it parses or
#   transforms data (JSON, JWT, regex); custom_metrics: it keeps counters of its own;
#   state: it keeps state across requests; change_frequency: how often its logic changes
#   (low | medium | high).
traits = { external_call = false, data_processing = false, custom_metrics = false, \
state = false, change_frequency = \"medium\" }
";

/// One more route-metadata block of the manifest as a named configuration,
/// `[pair.configs.NAME]`.
fn more_config_lines(
    source: &Source,
    more: &filterbench_k8s::import::ImportedConfig,
) -> anyhow::Result<String> {
    let table = crate::configs::json_to_table(&serde_json::Value::Object(more.config.clone()))
        .with_context(|| format!("{}: configuration {}", source.file.display(), more.name))?;
    let body = toml::to_string(&table).map_err(|e| {
        anyhow::anyhow!(
            "{}: configuration {} cannot be written as TOML: {e}",
            source.file.display(),
            more.name
        )
    })?;
    Ok(format!(
        "# Configuration {}: taken from {}. A scenario runs under it with config = \"{}\".\n\
         [pair.configs.{}]\n{body}",
        more.name,
        one_comment_line(&more.origin),
        more.name,
        more.name
    ))
}

fn one_comment_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// The pair names a catalogue text lists.
fn pair_names(path: &Path, text: &str) -> anyhow::Result<Vec<String>> {
    let value: toml::Table = toml::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "{}: {}",
            path.display(),
            filterbench_model::one_line(e.message())
        )
    })?;
    Ok(value
        .get("pair")
        .and_then(|p| p.as_array())
        .map(|pairs| {
            pairs
                .iter()
                .filter_map(|p| p.get("name").and_then(|n| n.as_str()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

/// `text` with the `[[pair]]` entry named `name` replaced by `entry` (in its place; the other
/// entries, and every comment outside the replaced entry, as they were), or `entry` appended when
/// there is none. Entries are found by parsing, whatever their header line looks like.
fn replace_entry(path: &Path, text: &str, name: &str, entry: &str) -> anyhow::Result<String> {
    let mut doc = crate::configs::catalogue_document(path, text)?;
    let not_entries = || {
        anyhow::anyhow!(
            "{}: `pair` is not a list of [[pair]] entries",
            path.display()
        )
    };
    let at = match doc.get("pair") {
        None => None,
        Some(item) => item
            .as_array_of_tables()
            .ok_or_else(not_entries)?
            .iter()
            .position(|t| t.get("name").and_then(|n| n.as_str()) == Some(name)),
    };
    let Some(at) = at else {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(entry);
        return Ok(out);
    };
    let entry_doc = crate::configs::catalogue_document(path, entry)?;
    let mut new_table = entry_doc
        .get("pair")
        .and_then(|p| p.as_array_of_tables())
        .and_then(|a| a.get(0))
        .cloned()
        .ok_or_else(not_entries)?;
    let entries = doc
        .get_mut("pair")
        .and_then(|p| p.as_array_of_tables_mut())
        .ok_or_else(not_entries)?;
    let mut tables: Vec<toml_edit::Table> = entries.iter().cloned().collect();
    if let Some(position) = tables[at].position() {
        new_table.set_position(position);
    }
    tables[at] = new_table;
    entries.clear();
    for t in tables {
        entries.push(t);
    }
    Ok(doc.to_string())
}

fn empty_corpus(name: &str) -> String {
    format!(
        "# The scenarios of pair {name}: each request, what the upstream (and any called service)\n\
         # answers, and what must come out. Empty until you record some with\n\
         #   filterbench record --workspace DIR --pair {name} --requests FILE\n\
         # or write [[scenario]] entries (the format: bench/corpus/README.md in the repository).\n\
         pair = \"{name}\"\n"
    )
}

fn cargo_toml(name: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false
description = "Wasm twin of filters-lua/{name}.lua (a filterbench workspace pair)"

[lib]
crate-type = ["cdylib"]

[dependencies]
proxy-wasm = "0.2"
# Log lines: `log::info!(...)` is what Lua's `handle:logInfo(...)` is (proxy-wasm installs the logger).
log = "0.4"

# A workspace of its own: this crate is built alone, by `filterbench` (into the workspace's
# target/), for wasm32-wasip1.
[workspace]

# What Envoy loads: small and fast, no unwinding (Envoy cannot unwind a Wasm panic anyway).
[profile.release]
lto = true
codegen-units = 1
panic = "abort"
opt-level = 3
strip = "debuginfo"
"#
    )
}

fn lib_rs(name: &str) -> String {
    format!(
        r#"//! {name}: the Wasm twin of `filters-lua/{name}.lua`, scaffolded by `filterbench new`.
//!
//! As written it passes every request and response through unchanged. Fill in what the Lua
//! script does, callback by callback (`envoy_on_request` -> `on_http_request_headers` /
//! `on_http_request_body`, `envoy_on_response` -> `on_http_response_headers` / `_body`), then
//! `filterbench verify --in-process --workspace DIR --pair {name}` names every scenario, field and
//! value where the twins differ. The pair's `config` (filterbench.toml) arrives in `on_configure`
//! as JSON; the Lua filter reads the same values with `handle:metadata():get(key)`. Lua's
//! `handle:logInfo(msg)` is `log::info!("{{msg}}")` here.

use proxy_wasm::traits::{{Context, HttpContext, RootContext}};
use proxy_wasm::types::{{Action, ContextType, LogLevel}};

proxy_wasm::main! {{{{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {{ Box::new(Root::default()) }});
}}}}

/// One per plugin: holds the configuration.
#[derive(Default)]
struct Root {{
    /// The plugin configuration: the pair's `config` as JSON bytes.
    config: Vec<u8>,
}}

impl Context for Root {{}}

impl RootContext for Root {{
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {{
        self.config = self.get_plugin_configuration().unwrap_or_default();
        true
    }}

    fn get_type(&self) -> Option<ContextType> {{
        Some(ContextType::HttpContext)
    }}

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {{
        Some(Box::new(Filter {{
            config: self.config.clone(),
        }}))
    }}
}}

/// One per request.
struct Filter {{
    /// Parse it where the filter needs it (e.g. with serde_json, added to Cargo.toml).
    #[allow(dead_code)]
    config: Vec<u8>,
}}

impl Context for Filter {{}}

impl HttpContext for Filter {{
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {{
        // For example: self.add_http_request_header("x-name", "value");
        // or a local reply: self.send_http_response(403, vec![("content-type", "text/plain")],
        // Some(b"Forbidden")); return Action::Pause;
        Action::Continue
    }}

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {{
        Action::Continue
    }}
}}
"#
    )
}

/// `cargo generate-lockfile`, offline first (cargo's cache), then online.
fn lockfile(crate_dir: &Path) -> anyhow::Result<()> {
    let manifest = crate_dir.join("Cargo.toml");
    let mut last = String::new();
    for offline in [true, false] {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.arg("generate-lockfile")
            .arg("--manifest-path")
            .arg(&manifest);
        if offline {
            cmd.arg("--offline");
        }
        filterbench_build::toolchain::clean_env(&mut cmd);
        filterbench_model::child::die_with_parent(&mut cmd);
        let output = cmd.output().context("running cargo generate-lockfile")?;
        if output.status.success() {
            return Ok(());
        }
        last = filterbench_build::wasm::first_error(&String::from_utf8_lossy(&output.stderr));
    }
    anyhow::bail!("cargo generate-lockfile failed: {last}")
}
