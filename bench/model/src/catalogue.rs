//! The pair catalogue: `bench/catalogue.toml` read into typed entries, with the on-disk layout
//! (`filters-lua/<name>.lua`, `filters-wasm/<name>/`, `bench/corpus/<name>.toml`) checked.
//!
//! Two layouts ([`Layout`]): the built-in pairs of this repository ([`Catalogue::load`]), whose
//! modules `filterbench-build`'s build script builds, and a user's own **workspace**
//! ([`Catalogue::load_workspace`]), a directory anywhere:
//!
//! ```text
//! DIR/filterbench.toml        the catalogue ([[pair]] entries, this schema)
//! DIR/filters-lua/NAME.lua    the Lua filter
//! DIR/filters-wasm/NAME/      the Wasm twin crate (built at run time, see filterbench-build)
//! DIR/filters-go/NAME/        a Go proxy-wasm twin (main.go of a package), when the pair has one
//! DIR/filters-native/NAME/    a native (Envoy dynamic module) twin crate, when the pair has one
//! DIR/corpus/NAME.toml        the scenarios
//! DIR/reports/results/, DIR/reports/site/
//! ```
//!
//! A pair may name a prebuilt module instead of a crate: `wasm = "path/to/twin.wasm"` (relative
//! to the catalogue's directory, or absolute; any language, kind `wasm` unless `kind = "go-wasm"`
//! says otherwise), `go_wasm = "x.wasm"`, `native = "libx.so"`: verified and measured as it is.
//!
//! A pair's twins, one per kind ([`TwinKind`]), are found by presence ([`Catalogue::twins`]):
//! `filters-wasm/NAME/Cargo.toml`, `filters-go/NAME/main.go`, `filters-native/NAME/Cargo.toml`, or
//! the prebuilt artefacts above. The built-in pairs all have a Rust Wasm twin (the reference kind);
//! a workspace's pair needs at least one twin of some kind.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::artefacts::{NATIVE_MEASUREMENT_CRATES, TWIN_HELPER_CRATES};
use crate::twin::{Twin, TwinKind};
use crate::{Error, Result};

/// Envoy's name for the Lua filter; the Lua side reads its configuration from route metadata
/// under this key.
pub const LUA_FILTER_NAME: &str = "envoy.filters.http.lua";

/// Names no pair may have, with why: `passthrough` is the built-in pass-through measurement
/// (`filterbench load --pair passthrough`, `reports/results/load/passthrough.json`), which a pair
/// of that name would overwrite and be mistaken for.
pub const RESERVED_NAMES: &[(&str, &str)] = &[(
    "passthrough",
    "the built-in pass-through measurement (`load --pair passthrough`)",
)];

/// Why `name` cannot name a pair, if it cannot: not `[a-z0-9_]+`, or reserved.
pub fn name_problem(name: &str) -> Option<String> {
    if !valid_name(name) {
        return Some(format!("pair name {name:?} must be [a-z0-9_]+"));
    }
    RESERVED_NAMES
        .iter()
        .find(|(reserved, _)| *reserved == name)
        .map(|(_, what)| format!("pair name {name:?} is reserved: it names {what}; choose another"))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    schema_version: u32,
    #[serde(rename = "pair")]
    pairs: Vec<Pair>,
}

/// How often a filter is expected to change; a decision-tree input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeFrequency {
    Low,
    Medium,
    High,
}

/// What a filter needs; the decision tree's non-measured inputs.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Traits {
    /// Calls another service (http_call / httpCall).
    pub external_call: bool,
    /// Parses or transforms data (JSON, JWT, regex).
    pub data_processing: bool,
    /// Needs counters/histograms of its own.
    pub custom_metrics: bool,
    /// Keeps state across requests.
    pub state: bool,
    /// How often the filter's logic is expected to change.
    pub change_frequency: ChangeFrequency,
}

/// How to normalise outcomes of this pair before comparing the twins.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Normalise {
    /// Headers whose value a twin may generate (random ids): a value the client did not send is
    /// compared by length only.
    #[serde(default)]
    pub generated_headers: Vec<String>,
    /// Top-level fields of a JSON upstream body that a twin generates (ids, timestamps): a value
    /// the client did not send in a header is compared by its JSON type and length only.
    #[serde(default)]
    pub generated_json_fields: Vec<String>,
}

/// One Lua/Wasm pair.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pair {
    /// The name that finds the pair everywhere.
    pub name: String,
    /// One sentence.
    pub summary: String,
    /// The behaviour contract, in words.
    pub behaviour: String,
    /// Configuration, the same values for both twins: the configuration named `default`
    /// ([`DEFAULT_CONFIG`]), the one a scenario runs under unless it names another.
    pub config: toml::Table,
    /// More named configurations (`[pair.configs.NAME]`, NAME `[a-z0-9_]+`, not `default`): a
    /// scenario runs under one with `config = "NAME"`; every proof runs each scenario under its
    /// configuration ([`Pair::configurations`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, toml::Table>,
    pub traits: Traits,
    #[serde(default)]
    pub normalise: Normalise,
    /// A capability the Lua side cannot provide, when there is one.
    #[serde(default)]
    pub capability_gap: Option<String>,
    /// Counters the pair keeps, by name prefix: the Wasm twin as proxy-wasm counters (Envoy shows
    /// them as `wasmcustom.<name>`), the Lua twin as `<name> = <count>` log lines. At the end of a
    /// corpus run both must report the same counts.
    #[serde(default)]
    pub counters: Option<String>,
    /// Keys that replace `config`'s for load runs (real-Envoy comparisons), so that the load mix
    /// takes the path it was chosen for: e.g. rate_limit's limit raised so the forwarded mix is
    /// not turned into local 429s that would make the filter look cheaper than no filter.
    #[serde(default)]
    pub load_config: Option<toml::Table>,
    /// A prebuilt Wasm module as the twin (any language), relative to the catalogue's directory
    /// or absolute; no crate is built then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasm: Option<PathBuf>,
    /// The kind of the prebuilt `wasm` module when it is not `wasm` (Rust): `go-wasm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TwinKind>,
    /// A prebuilt Go proxy-wasm module as the pair's `go-wasm` twin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_wasm: Option<PathBuf>,
    /// A prebuilt native module (an Envoy dynamic module, `.so`) as the pair's `native` twin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<PathBuf>,
}

/// The name of a pair's own `config`, the configuration a scenario runs under unless it names
/// another.
pub const DEFAULT_CONFIG: &str = "default";

impl Pair {
    /// The `default` configuration as JSON: the Wasm plugin configuration and the Lua route
    /// metadata.
    pub fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.config).expect("TOML tables are valid JSON")
    }

    /// The names of the pair's configurations: `default` first, then the others by name.
    pub fn configurations(&self) -> Vec<&str> {
        std::iter::once(DEFAULT_CONFIG)
            .chain(self.configs.keys().map(String::as_str))
            .collect()
    }

    /// More than the `default` configuration.
    pub fn has_several_configs(&self) -> bool {
        !self.configs.is_empty()
    }

    /// The configuration named `name`, as a table.
    pub fn config_table(&self, name: &str) -> Option<&toml::Table> {
        if name == DEFAULT_CONFIG {
            Some(&self.config)
        } else {
            self.configs.get(name)
        }
    }

    /// The configuration named `name` as JSON (what [`Pair::config_json`] is for `default`).
    pub fn config_json_of(&self, name: &str) -> Option<serde_json::Value> {
        self.config_table(name)
            .map(|t| serde_json::to_value(t).expect("TOML tables are valid JSON"))
    }

    /// `name` as one of the pair's configurations, or a one-line problem naming the known ones.
    pub fn config_problem(&self, name: &str) -> Option<String> {
        if self.config_table(name).is_some() {
            return None;
        }
        Some(format!(
            "pair {:?} has no configuration {name:?} (known: {})",
            self.name,
            self.configurations().join(", ")
        ))
    }

    /// The prebuilt artefact this entry names for `kind`, as written (unresolved).
    pub fn prebuilt(&self, kind: TwinKind) -> Option<&Path> {
        let wasm_kind = self.kind.unwrap_or(TwinKind::Wasm);
        match kind {
            TwinKind::Wasm if wasm_kind == TwinKind::Wasm => self.wasm.as_deref(),
            TwinKind::Wasm => None,
            TwinKind::GoWasm => self.go_wasm.as_deref().or(self
                .wasm
                .as_deref()
                .filter(|_| wasm_kind == TwinKind::GoWasm)),
            TwinKind::Native => self.native.as_deref(),
        }
    }

    /// The configuration for load runs: `config` with `load_config`'s keys replaced.
    pub fn load_config_json(&self) -> serde_json::Value {
        self.load_config_json_of(DEFAULT_CONFIG)
            .expect("the default configuration exists")
    }

    /// The configuration named `name` for load runs: its table with `load_config`'s keys
    /// replaced (the same keys in every configuration); `None` for a name the pair lacks.
    pub fn load_config_json_of(&self, name: &str) -> Option<serde_json::Value> {
        let mut config = self.config_table(name)?.clone();
        if let Some(over) = &self.load_config {
            config.extend(over.clone());
        }
        Some(serde_json::to_value(&config).expect("TOML tables are valid JSON"))
    }
}

/// The catalogue file of a workspace.
pub const WORKSPACE_CATALOGUE: &str = "filterbench.toml";

/// Where a catalogue's pairs live on disk: the few paths that differ between the built-in pairs
/// and a user's workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `<name>.lua`.
    pub lua_dir: PathBuf,
    /// `<name>/`: the twin crates (and, in a workspace, prebuilt modules).
    pub wasm_crates_dir: PathBuf,
    /// `<name>/`: the Go twin modules.
    pub go_dir: PathBuf,
    /// `<name>/`: the native twin crates.
    pub native_crates_dir: PathBuf,
    /// `<name>.toml`.
    pub corpus_dir: PathBuf,
    /// Where the built modules are (`<name>.wasm`).
    pub modules_dir: PathBuf,
    /// Where the built Go modules are (`<name>.wasm`).
    pub go_modules_dir: PathBuf,
    /// Where the built native modules are (`<name>.so`).
    pub native_modules_dir: PathBuf,
    /// A user's workspace (twins built at run time by `filterbench_build::build_twins`), not the
    /// repository's built-in pairs.
    pub workspace: bool,
}

impl Layout {
    /// The repository's own pairs; modules built by `filterbench-build`'s build script
    /// into [`crate::wasm_dir`].
    pub fn built_in(root: &Path) -> Layout {
        Layout {
            lua_dir: root.join("filters-lua"),
            wasm_crates_dir: root.join(TwinKind::Wasm.source_folder()),
            go_dir: root.join(TwinKind::GoWasm.source_folder()),
            native_crates_dir: root.join(TwinKind::Native.source_folder()),
            corpus_dir: root.join("bench").join("corpus"),
            modules_dir: crate::wasm_dir(),
            go_modules_dir: crate::go_wasm_dir(),
            native_modules_dir: crate::native_dir(),
            workspace: false,
        }
    }

    /// A user's workspace at `dir`; crates are built into `dir/target`.
    pub fn workspace(dir: &Path) -> Layout {
        let target = dir.join("target");
        Layout {
            lua_dir: dir.join("filters-lua"),
            wasm_crates_dir: dir.join(TwinKind::Wasm.source_folder()),
            go_dir: dir.join(TwinKind::GoWasm.source_folder()),
            native_crates_dir: dir.join(TwinKind::Native.source_folder()),
            corpus_dir: dir.join("corpus"),
            modules_dir: crate::artefacts::workspace_wasm_dir(&target),
            go_modules_dir: target.join(TwinKind::GoWasm.source_folder()),
            native_modules_dir: target.join(TwinKind::Native.source_folder()),
            workspace: true,
        }
    }

    /// Where the twin sources of `kind` are (`<dir>/<name>/`).
    pub fn source_dir(&self, kind: TwinKind) -> &Path {
        match kind {
            TwinKind::Wasm => &self.wasm_crates_dir,
            TwinKind::GoWasm => &self.go_dir,
            TwinKind::Native => &self.native_crates_dir,
        }
    }

    /// Where the built artefacts of `kind` are.
    pub fn artefact_dir(&self, kind: TwinKind) -> &Path {
        match kind {
            TwinKind::Wasm => &self.modules_dir,
            TwinKind::GoWasm => &self.go_modules_dir,
            TwinKind::Native => &self.native_modules_dir,
        }
    }
}

/// The whole catalogue, with its pairs located on disk.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// The project root, or the workspace directory; results go to `<root>/reports/results`.
    pub root: PathBuf,
    pub path: PathBuf,
    pub pairs: Vec<Pair>,
    pub layout: Layout,
}

impl Catalogue {
    /// The catalogue of the project at `root` (`<root>/bench/catalogue.toml`).
    pub fn load(root: &Path) -> Result<Self> {
        Self::load_file(root, &root.join("bench").join("catalogue.toml"))
    }

    /// The catalogue of the user's workspace at `dir` (`<dir>/filterbench.toml`).
    pub fn load_workspace(dir: &Path) -> Result<Self> {
        let dir = std::path::absolute(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        if !dir.is_dir() {
            return Err(Error::invalid(
                &dir,
                "no such workspace directory (create one with `filterbench new NAME --lua FILE --workspace DIR`)",
            ));
        }
        let path = dir.join(WORKSPACE_CATALOGUE);
        if !path.is_file() {
            return Err(Error::invalid(
                &path,
                "no workspace catalogue here (create it with `filterbench new NAME --lua FILE --workspace DIR`)",
            ));
        }
        Self::load_with(&dir, &path, Layout::workspace(&dir))
    }

    /// A catalogue file whose pairs live under the project at `root`.
    pub fn load_file(root: &Path, path: &Path) -> Result<Self> {
        Self::load_with(root, path, Layout::built_in(root))
    }

    fn load_with(root: &Path, path: &Path, layout: Layout) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let catalogue = Self::parse(root, path, &text, layout)?;
        catalogue.check_layout()?;
        Ok(catalogue)
    }

    /// A catalogue text (`path` names it in errors), its entries checked but not yet their
    /// files on disk ([`Catalogue::check_layout`]); what the fuzzer (`fuzz/`) feeds.
    pub fn parse(root: &Path, path: &Path, text: &str, layout: Layout) -> Result<Self> {
        let file: CatalogueFile = toml::from_str(text).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            message: crate::toml_error(text, &e),
        })?;
        if file.schema_version != 1 {
            return Err(Error::invalid(
                path,
                format!(
                    "schema_version {} is not supported (expected 1)",
                    file.schema_version
                ),
            ));
        }
        let mut seen = BTreeSet::new();
        for pair in &file.pairs {
            if let Some(problem) = name_problem(&pair.name) {
                return Err(Error::invalid(path, problem));
            }
            if !seen.insert(pair.name.clone()) {
                return Err(Error::invalid(
                    path,
                    format!("pair {:?} is listed twice", pair.name),
                ));
            }
            for config in pair.configs.keys() {
                if config == DEFAULT_CONFIG {
                    return Err(Error::invalid(
                        path,
                        format!(
                            "pair {:?}: configs.default: the configuration named `default` is \
                             the pair's `config`; give it there",
                            pair.name
                        ),
                    ));
                }
                if !valid_name(config) {
                    return Err(Error::invalid(
                        path,
                        format!(
                            "pair {:?}: configuration name {config:?} must be [a-z0-9_]+",
                            pair.name
                        ),
                    ));
                }
            }
        }
        Ok(Catalogue {
            root: root.to_path_buf(),
            path: path.to_path_buf(),
            pairs: file.pairs,
            layout,
        })
    }

    /// Every pair has its Lua filter, a twin (the built-in pairs: their Rust Wasm twin) and a
    /// corpus; every prebuilt artefact named exists; every twin on disk has a catalogue entry.
    pub fn check_layout(&self) -> Result<()> {
        for pair in &self.pairs {
            self.check_pair_files(pair)?;
        }
        let known: BTreeSet<&str> = self.pairs.iter().map(|p| p.name.as_str()).collect();
        self.check_lua_scripts_listed(&known)?;
        for kind in TwinKind::ALL {
            self.check_twins_listed(kind, &known)?;
        }
        Ok(())
    }

    /// One pair's files: its Lua filter, its prebuilt twins, a twin it needs, its corpus.
    fn check_pair_files(&self, pair: &Pair) -> Result<()> {
        let lua = self.lua_path(&pair.name);
        if !lua.is_file() {
            return Err(Error::invalid(
                &lua,
                format!(
                    "missing Lua twin of pair {:?} (catalogue {})",
                    pair.name,
                    self.path.display()
                ),
            ));
        }
        self.check_prebuilt(pair)?;
        // The built-in pairs are measured and benched against their Rust Wasm twin; a
        // workspace's pair needs a twin of some kind.
        let required = !self.layout.workspace || self.twins(&pair.name).is_empty();
        if required && self.twin(&pair.name, TwinKind::Wasm).is_none() {
            let wasm = self.wasm_crate_dir(&pair.name).join("Cargo.toml");
            return Err(Error::invalid(
                &wasm,
                format!(
                    "missing Wasm twin of pair {:?} (catalogue {})",
                    pair.name,
                    self.path.display()
                ),
            ));
        }
        check_corpus_file(self, pair)
    }

    /// A pair's `kind` goes with a prebuilt Wasm module; every prebuilt artefact named exists.
    fn check_prebuilt(&self, pair: &Pair) -> Result<()> {
        if let Some(kind) = pair.kind {
            if pair.wasm.is_none() || !kind.is_proxy_wasm() || pair.go_wasm.is_some() {
                return Err(Error::invalid(
                    &self.path,
                    format!(
                        "pair {:?}: `kind = \"{kind}\"` names the kind of the prebuilt `wasm` module: \
                         it needs `wasm = \"...\"`, a Wasm kind (wasm or go-wasm) and no `go_wasm`",
                        pair.name
                    ),
                ));
            }
        }
        for kind in TwinKind::ALL {
            if let Some(module) = self.prebuilt(pair, kind) {
                if !module.is_file() {
                    return Err(Error::invalid(
                        &module,
                        format!(
                            "missing prebuilt {} twin of pair {:?} (catalogue {})",
                            kind.label(),
                            pair.name,
                            self.path.display()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A workspace may not have made its directories yet.
    fn may_be_missing(&self, dir: &Path) -> bool {
        self.layout.workspace && !dir.exists()
    }

    /// Every Lua script in the Lua folder is a listed pair's.
    fn check_lua_scripts_listed(&self, known: &BTreeSet<&str>) -> Result<()> {
        let lua_dir = &self.layout.lua_dir;
        let lua_entries = if self.may_be_missing(lua_dir) {
            Vec::new()
        } else {
            read_dir_sorted(lua_dir)?
        };
        for entry in lua_entries {
            if let Some(stem) = entry
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".lua"))
            {
                if !known.contains(stem) {
                    return Err(Error::invalid(
                        &entry,
                        format!(
                            "Lua script has no catalogue entry in {}",
                            self.path.display()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every twin source folder of `kind` is a listed pair's (or a helper crate, or a twin
    /// `new --force` kept aside).
    fn check_twins_listed(&self, kind: TwinKind, known: &BTreeSet<&str>) -> Result<()> {
        let dir = self.layout.source_dir(kind);
        // Only the Rust Wasm folder is part of every catalogue; the others are optional.
        let entries = if self.may_be_missing(dir) || (kind != TwinKind::Wasm && !dir.exists()) {
            Vec::new()
        } else {
            read_dir_sorted(dir)?
        };
        for entry in entries {
            if entry.join(kind.source_marker()).is_file() {
                let name = entry
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                // A twin `new --force` kept aside (`NAME.bak-<time>`) is the user's, not a pair;
                // the built-in native pass-through is the suite's measurement, not a pair.
                let measurement = kind == TwinKind::Native
                    && !self.layout.workspace
                    && NATIVE_MEASUREMENT_CRATES.contains(&name);
                if !known.contains(name)
                    && !TWIN_HELPER_CRATES.contains(&name)
                    && !measurement
                    && !crate::keep::is_backup_name(name)
                {
                    let what = match kind {
                        TwinKind::Wasm => "Wasm crate",
                        TwinKind::GoWasm => "Go module",
                        TwinKind::Native => "native crate",
                    };
                    return Err(Error::invalid(
                        &entry,
                        format!("{what} has no catalogue entry in {}", self.path.display()),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The twins of pair `name`, one per kind it has, in [`TwinKind::ALL`]'s order: a prebuilt
    /// artefact named in its entry, else a source folder `<kind folder>/<name>/` with its
    /// marker file (the artefact then is where the build puts it).
    pub fn twins(&self, name: &str) -> Vec<Twin> {
        TwinKind::ALL
            .into_iter()
            .filter_map(|kind| self.twin(name, kind))
            .collect()
    }

    /// The twin of pair `name` of `kind`, when it has one.
    pub fn twin(&self, name: &str, kind: TwinKind) -> Option<Twin> {
        let pair = self.get(name)?;
        if let Some(artefact) = self.prebuilt(pair, kind) {
            return Some(Twin {
                kind,
                artefact,
                source: None,
            });
        }
        let source = self.layout.source_dir(kind).join(name);
        if !source.join(kind.source_marker()).is_file() {
            return None;
        }
        Some(Twin {
            kind,
            artefact: self
                .layout
                .artefact_dir(kind)
                .join(kind.artefact_name(name)),
            source: Some(source),
        })
    }

    /// The prebuilt artefact of `kind` a pair names, resolved against the catalogue's directory.
    pub fn prebuilt(&self, pair: &Pair, kind: TwinKind) -> Option<PathBuf> {
        let path = pair.prebuilt(kind)?;
        let base = self.path.parent().unwrap_or(&self.root);
        Some(base.join(path))
    }

    pub fn get(&self, name: &str) -> Option<&Pair> {
        self.pairs.iter().find(|p| p.name == name)
    }

    /// The pairs selected by an optional `--pair NAME`.
    pub fn select(&self, name: Option<&str>) -> Result<Vec<&Pair>> {
        match name {
            None => Ok(self.pairs.iter().collect()),
            Some(name) => self.get(name).map(|p| vec![p]).ok_or_else(|| {
                Error::invalid(
                    &self.path,
                    format!(
                        "no pair named {name:?} (known: {})",
                        self.pairs
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            }),
        }
    }

    pub fn lua_path(&self, name: &str) -> PathBuf {
        self.layout.lua_dir.join(format!("{name}.lua"))
    }

    pub fn wasm_crate_dir(&self, name: &str) -> PathBuf {
        self.layout.wasm_crates_dir.join(name)
    }

    pub fn corpus_path(&self, name: &str) -> PathBuf {
        self.layout.corpus_dir.join(format!("{name}.toml"))
    }

    /// Where a pair's results, and the report, go: `<root>/reports/results`.
    pub fn results_dir(&self) -> PathBuf {
        crate::results::results_dir(&self.root)
    }

    /// The prebuilt Rust Wasm module a pair names (`wasm = "..."`), resolved against the
    /// catalogue's directory.
    pub fn prebuilt_module(&self, pair: &Pair) -> Option<PathBuf> {
        self.prebuilt(pair, TwinKind::Wasm)
    }

    /// The module of a pair: its prebuilt module, or the one built from its crate (by
    /// `filterbench-build`: its build script for the built-in pairs, `build_twins` in a workspace).
    pub fn wasm_module_path(&self, name: &str) -> PathBuf {
        if let Some(module) = self.get(name).and_then(|p| self.prebuilt_module(p)) {
            return module;
        }
        self.layout.modules_dir.join(format!("{name}.wasm"))
    }

    /// The Lua twin's source, exactly what Envoy loads.
    pub fn lua_source(&self, name: &str) -> Result<String> {
        let path = self.lua_path(name);
        std::fs::read_to_string(&path).map_err(|source| Error::Io { path, source })
    }

    /// The Wasm twin's module bytes, checked to be a Wasm binary.
    pub fn wasm_module(&self, name: &str) -> Result<Vec<u8>> {
        let path = self.wasm_module_path(name);
        let bytes = std::fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        check_wasm_magic(&path, &bytes)?;
        Ok(bytes)
    }

    /// The twin of `kind` of pair `name`, its artefact checked to be there (and, for the Wasm
    /// kinds, to be a Wasm binary; for a native module, an ELF shared object): a clear error
    /// naming the pair when it has no such twin or the artefact is missing or not built.
    pub fn checked_twin(&self, name: &str, kind: TwinKind) -> Result<Twin> {
        let twin = self.twin(name, kind).ok_or_else(|| {
            Error::invalid(
                self.layout.source_dir(kind).join(name),
                format!(
                    "pair {name:?} has no {} twin (no {}/{name}/{} and no prebuilt one in {})",
                    kind.label(),
                    kind.source_folder(),
                    kind.source_marker(),
                    self.path.display()
                ),
            )
        })?;
        let path = &twin.artefact;
        if let (Some(source), false) = (&twin.source, path.exists()) {
            return Err(Error::invalid(
                path,
                format!(
                    "the {} twin of pair {name:?} is not built from {} (its build was skipped or \
                     failed; the build said why)",
                    kind.label(),
                    source.display()
                ),
            ));
        }
        let head = read_head(path)?;
        if kind.is_proxy_wasm() {
            check_wasm_magic(path, &head)?;
        } else if !head.starts_with(b"\x7fELF") {
            return Err(Error::invalid(
                path,
                format!("the native twin of pair {name:?} is not an ELF shared object"),
            ));
        }
        Ok(twin)
    }
}

/// The first bytes of a file (enough for its magic number).
fn read_head(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut head = Vec::with_capacity(8);
    std::fs::File::open(path)
        .map_err(io)?
        .take(8)
        .read_to_end(&mut head)
        .map_err(io)?;
    Ok(head)
}

/// Every pair must have its scenario corpus file (it may be empty in a workspace).
fn check_corpus_file(catalogue: &Catalogue, pair: &Pair) -> Result<()> {
    let corpus = catalogue.corpus_path(&pair.name);
    if !corpus.is_file() {
        return Err(Error::invalid(
            &corpus,
            format!("missing scenario corpus of pair {:?}", pair.name),
        ));
    }
    Ok(())
}

/// A Wasm binary starts with `\0asm` and version 1.
pub fn check_wasm_magic(path: &Path, bytes: &[u8]) -> Result<()> {
    if bytes.len() < 8 || &bytes[0..4] != b"\0asm" {
        return Err(Error::invalid(
            path,
            "not a WebAssembly module (no \\0asm magic)",
        ));
    }
    if bytes[4..8] != [1, 0, 0, 0] {
        return Err(Error::invalid(
            path,
            "not a WebAssembly core module (version is not 1)",
        ));
    }
    Ok(())
}

pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace with pair `p` (Lua filter and corpus) and whatever `files` add.
    fn workspace(entry: &str, files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            WORKSPACE_CATALOGUE,
            &format!(
                "schema_version = 1\n[[pair]]\nname = \"p\"\nsummary = \"s\"\nbehaviour = \"b\"\n\
                 config = {{}}\ntraits = {{ external_call = false, data_processing = false, \
                 custom_metrics = false, state = false, change_frequency = \"low\" }}\n{entry}"
            ),
        );
        write("filters-lua/p.lua", "-- p\n");
        write("corpus/p.toml", "");
        for file in files {
            write(file, "");
        }
        dir
    }

    #[test]
    fn twins_are_found_by_presence_in_kind_order() {
        let ws = workspace(
            "",
            &[
                "filters-native/p/Cargo.toml",
                "filters-go/p/main.go",
                "filters-wasm/p/Cargo.toml",
            ],
        );
        let catalogue = Catalogue::load_workspace(ws.path()).unwrap();
        let twins = catalogue.twins("p");
        let kinds: Vec<TwinKind> = twins.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, TwinKind::ALL);
        let target = catalogue.root.join("target");
        assert_eq!(twins[1].artefact, target.join("filters-go").join("p.wasm"));
        assert_eq!(
            twins[2].artefact,
            target.join("filters-native").join("p.so")
        );
        assert_eq!(
            twins[2].source.as_deref(),
            Some(catalogue.root.join("filters-native").join("p").as_path())
        );
    }

    #[test]
    fn every_built_in_pair_has_a_twin_of_every_kind_in_kind_order() {
        let catalogue = Catalogue::load(&crate::project_root()).unwrap();
        for pair in &catalogue.pairs {
            let twins = catalogue.twins(&pair.name);
            let kinds: Vec<TwinKind> = twins.iter().map(|t| t.kind).collect();
            assert_eq!(kinds, TwinKind::ALL, "{}", pair.name);
            let sources: Vec<PathBuf> = twins.iter().filter_map(|t| t.source.clone()).collect();
            assert_eq!(
                sources,
                [
                    catalogue.root.join("filters-wasm").join(&pair.name),
                    catalogue.root.join("filters-go").join(&pair.name),
                    catalogue.root.join("filters-native").join(&pair.name),
                ],
                "{}",
                pair.name
            );
        }
    }

    #[test]
    fn a_workspace_pair_may_have_only_a_native_twin_but_needs_one() {
        let ws = workspace("", &["filters-native/p/Cargo.toml"]);
        let catalogue = Catalogue::load_workspace(ws.path()).unwrap();
        let kinds: Vec<TwinKind> = catalogue.twins("p").iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [TwinKind::Native]);
        let e = catalogue.checked_twin("p", TwinKind::Wasm).unwrap_err();
        assert!(e.to_string().contains("has no Rust Wasm twin"), "{e}");

        let none = workspace("", &[]);
        let e = Catalogue::load_workspace(none.path()).unwrap_err();
        assert!(
            e.to_string().contains("missing Wasm twin of pair \"p\""),
            "{e}"
        );
    }

    #[test]
    fn prebuilt_artefacts_name_their_kind() {
        let ws = workspace(
            "wasm = \"m.wasm\"\nkind = \"go-wasm\"\nnative = \"libp.so\"\n",
            &["m.wasm", "libp.so"],
        );
        let catalogue = Catalogue::load_workspace(ws.path()).unwrap();
        let twins = catalogue.twins("p");
        assert_eq!(twins.len(), 2);
        assert_eq!(twins[0].kind, TwinKind::GoWasm);
        assert_eq!(twins[0].artefact, catalogue.root.join("m.wasm"));
        assert_eq!(twins[0].source, None);
        assert_eq!(twins[1].kind, TwinKind::Native);
        // Not a Wasm binary: the check names the file.
        let e = catalogue.checked_twin("p", TwinKind::GoWasm).unwrap_err();
        assert!(e.to_string().contains("m.wasm"), "{e}");
        let e = catalogue.checked_twin("p", TwinKind::Native).unwrap_err();
        assert!(e.to_string().contains("not an ELF shared object"), "{e}");

        let bad = workspace("kind = \"native\"\nwasm = \"m.wasm\"\n", &["m.wasm"]);
        let e = Catalogue::load_workspace(bad.path()).unwrap_err();
        assert!(e.to_string().contains("`kind = \"native\"`"), "{e}");
    }

    /// `config` is the configuration named `default`; `[pair.configs.NAME]` adds more, which
    /// may not be named `default` or anything but `[a-z0-9_]+`.
    #[test]
    fn a_pair_has_named_configurations_default_first() {
        let ws = workspace(
            "[pair.configs.with_auth]\nstrip_auth = true\n[pair.configs.b]\nx = 1\n",
            &["filters-wasm/p/Cargo.toml"],
        );
        let catalogue = Catalogue::load_workspace(ws.path()).unwrap();
        let pair = catalogue.get("p").unwrap();
        assert_eq!(pair.configurations(), ["default", "b", "with_auth"]);
        assert!(pair.has_several_configs());
        assert_eq!(
            pair.config_json_of("with_auth").unwrap(),
            serde_json::json!({"strip_auth": true})
        );
        assert_eq!(pair.config_json_of("default").unwrap(), pair.config_json());
        assert_eq!(
            pair.config_problem("nope").unwrap(),
            "pair \"p\" has no configuration \"nope\" (known: default, b, with_auth)"
        );

        let one = workspace("", &["filters-wasm/p/Cargo.toml"]);
        let catalogue = Catalogue::load_workspace(one.path()).unwrap();
        assert_eq!(catalogue.get("p").unwrap().configurations(), ["default"]);

        for (entry, said) in [
            ("[pair.configs.default]\nx = 1\n", "is the pair's `config`"),
            ("[pair.configs.Bad]\nx = 1\n", "\"Bad\" must be [a-z0-9_]+"),
        ] {
            let bad = workspace(entry, &["filters-wasm/p/Cargo.toml"]);
            let e = Catalogue::load_workspace(bad.path())
                .unwrap_err()
                .to_string();
            assert!(e.contains(said) && e.contains(WORKSPACE_CATALOGUE), "{e}");
        }
    }

    /// The built-in native pass-through (`filters-native/passthrough/`) is the suite's
    /// measurement: the built-in catalogue loads with it and does not make it a pair; in a
    /// workspace the same folder is a stray crate like any other.
    #[test]
    fn the_native_pass_through_is_not_a_pair() {
        let root = crate::project_root();
        assert!(root.join("filters-native/passthrough/Cargo.toml").is_file());
        let catalogue = Catalogue::load(&root).unwrap();
        assert!(catalogue.get("passthrough").is_none());
        assert!(catalogue.pairs.iter().all(|p| p.name != "passthrough"));

        let ws = workspace(
            "",
            &[
                "filters-wasm/p/Cargo.toml",
                "filters-native/passthrough/Cargo.toml",
            ],
        );
        let e = Catalogue::load_workspace(ws.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("native crate has no catalogue entry") && e.contains("passthrough"),
            "{e}"
        );
    }

    #[test]
    fn a_stray_native_crate_is_refused() {
        let ws = workspace(
            "",
            &["filters-wasm/p/Cargo.toml", "filters-native/q/Cargo.toml"],
        );
        let e = Catalogue::load_workspace(ws.path()).unwrap_err();
        assert!(
            e.to_string()
                .contains("native crate has no catalogue entry"),
            "{e}"
        );
    }
}
