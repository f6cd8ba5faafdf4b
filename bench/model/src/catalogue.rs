//! The pair catalogue: `bench/catalogue.toml` read into typed entries, with the on-disk layout
//! (`filters-lua/<name>.lua`, `filters-wasm/<name>/`, `bench/corpus/<name>.toml`) checked.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Envoy's name for the Lua filter; the Lua side reads its configuration from route metadata
/// under this key.
pub const LUA_FILTER_NAME: &str = "envoy.filters.http.lua";

/// Crates of `filters-wasm/` that are not a pair's twin: the twins' shared helper crate
/// (`filters-wasm/common`; bench/build.rs skips it too).
pub const TWIN_HELPER_CRATES: &[&str] = &["common"];

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
#[derive(Debug, Clone, Deserialize, Serialize)]
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
    /// Configuration, the same values for both twins.
    pub config: toml::Table,
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
}

impl Pair {
    /// The configuration as JSON: the Wasm plugin configuration and the Lua route metadata.
    pub fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.config).expect("TOML tables are valid JSON")
    }

    /// The configuration for load runs: `config` with `load_config`'s keys replaced.
    pub fn load_config_json(&self) -> serde_json::Value {
        let mut config = self.config.clone();
        if let Some(over) = &self.load_config {
            config.extend(over.clone());
        }
        serde_json::to_value(&config).expect("TOML tables are valid JSON")
    }
}

/// The whole catalogue, with its pairs located on disk.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub root: PathBuf,
    pub path: PathBuf,
    pub pairs: Vec<Pair>,
}

impl Catalogue {
    /// The catalogue of the project at `root` (`<root>/bench/catalogue.toml`).
    pub fn load(root: &Path) -> Result<Self> {
        Self::load_file(root, &root.join("bench").join("catalogue.toml"))
    }

    /// A catalogue file whose pairs live under the project at `root`.
    pub fn load_file(root: &Path, path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file: CatalogueFile = toml::from_str(&text).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            message: crate::toml_error(&text, &e),
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
            if !valid_name(&pair.name) {
                return Err(Error::invalid(
                    path,
                    format!("pair name {:?} must be [a-z0-9_]+", pair.name),
                ));
            }
            if !seen.insert(pair.name.clone()) {
                return Err(Error::invalid(
                    path,
                    format!("pair {:?} is listed twice", pair.name),
                ));
            }
        }
        let catalogue = Catalogue {
            root: root.to_path_buf(),
            path: path.to_path_buf(),
            pairs: file.pairs,
        };
        catalogue.check_layout()?;
        Ok(catalogue)
    }

    /// Every pair has both twins and a corpus; every twin on disk has a catalogue entry.
    fn check_layout(&self) -> Result<()> {
        for pair in &self.pairs {
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
            let wasm = self.wasm_crate_dir(&pair.name).join("Cargo.toml");
            if !wasm.is_file() {
                return Err(Error::invalid(
                    &wasm,
                    format!(
                        "missing Wasm twin of pair {:?} (catalogue {})",
                        pair.name,
                        self.path.display()
                    ),
                ));
            }
            let corpus = self.corpus_path(&pair.name);
            if !corpus.is_file() {
                return Err(Error::invalid(
                    &corpus,
                    format!("missing scenario corpus of pair {:?}", pair.name),
                ));
            }
        }
        let known: BTreeSet<&str> = self.pairs.iter().map(|p| p.name.as_str()).collect();
        let lua_dir = self.root.join("filters-lua");
        for entry in read_dir_sorted(&lua_dir)? {
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
        let wasm_dir = self.root.join("filters-wasm");
        for entry in read_dir_sorted(&wasm_dir)? {
            if entry.join("Cargo.toml").is_file() {
                let name = entry
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                if !known.contains(name) && !TWIN_HELPER_CRATES.contains(&name) {
                    return Err(Error::invalid(
                        &entry,
                        format!(
                            "Wasm crate has no catalogue entry in {}",
                            self.path.display()
                        ),
                    ));
                }
            }
        }
        Ok(())
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
        self.root.join("filters-lua").join(format!("{name}.lua"))
    }

    pub fn wasm_crate_dir(&self, name: &str) -> PathBuf {
        self.root.join("filters-wasm").join(name)
    }

    pub fn corpus_path(&self, name: &str) -> PathBuf {
        self.root
            .join("bench")
            .join("corpus")
            .join(format!("{name}.toml"))
    }

    /// The built module of a pair (see the build script).
    pub fn wasm_module_path(&self, name: &str) -> PathBuf {
        crate::wasm_dir().join(format!("{name}.wasm"))
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

pub(crate) fn valid_name(name: &str) -> bool {
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
