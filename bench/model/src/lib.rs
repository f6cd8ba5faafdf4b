//! filterbench's data, shared by every other crate: what a filter pair is, what its scenarios
//! expect, how two outcomes are compared, and the result files every measurement writes and the
//! report reads. No filter host, no measurement, no network, no CLI, no child process and no build
//! script in here: the twins are built by `filterbench-build` (`bench/build`).
//!
//! - [`artefacts`]: where built twins are (the target, the directories, the helper crates);
//! - [`calls`]: scripted replies to a filter's outgoing calls, decided the same way in-process and
//!   by the mock service behind real Envoy's scripted clusters; the `--calls` file reader;
//! - [`catalogue`]: the pairs (`bench/catalogue.toml`), their configuration and traits, and where
//!   each twin lives on disk ([`catalogue::Layout`]: the built-in pairs, or a user's workspace
//!   with its `filterbench.toml`);
//! - [`child`]: children (cargo, valgrind) die with us (`PR_SET_PDEATHSIG`);
//! - [`corpus`]: the hand-written scenarios of each pair (`bench/corpus/<pair>.toml`);
//! - [`exit`]: the exit codes of both binaries (0 ok, 1 not equivalent, 2 bad input, 130 Ctrl-C);
//! - [`keep`]: what a command may replace (a site this tool wrote, by its marker) and the
//!   named backups `--force` keeps (`PATH.bak-<UTC time>`);
//! - [`outcome`]: the normalised outcome of one request, the Lua-vs-Wasm diff and the check of an
//!   outcome against a scenario's expectations;
//! - [`record`]: `filterbench record`: requests (run format or HAR) in, scenarios whose
//!   expectations are the Lua filter's observed outcome out, appended to the corpus;
//! - [`request`]: the request format of `filterbench run --request` (one, an array, JSON lines);
//! - [`replay`]: the walk through a corpus that every equivalence check shares (each scenario
//!   after its `before` warm-up repetitions, the Lua and Wasm outcomes diffed);
//! - [`equivalence`]: a pair's equivalence report and the summary over pairs;
//! - [`results`]: the result files under `reports/results/` (bench summary, verify records, load
//!   comparisons), versioned, read and written atomically;
//! - [`stats`]: medians with bootstrap intervals ([`stats::Interval`], the one interval type);
//! - [`twin`]: the kinds of twin ([`TwinKind`]: Rust Wasm, Go Wasm, native module) and one twin
//!   of a pair as the catalogue finds it ([`Twin`]);
//!
//! The built-in modules are at [`wasm_dir`]; `filterbench-build`'s build script puts them there.

pub mod artefacts;
pub mod calls;
pub mod catalogue;
pub mod child;
pub mod corpus;
pub mod equivalence;
pub mod exit;
pub mod keep;
pub mod outcome;
pub mod record;
pub mod replay;
pub mod request;
pub mod results;
pub mod stats;
pub mod twin;

pub use catalogue::{Catalogue, Pair};
pub use corpus::{Corpus, Scenario};
pub use outcome::{Diff, Outcome};
pub use twin::{Twin, TwinKind};

use std::path::PathBuf;

/// Errors about the project's inputs. Each names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Error {
    pub fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The workspace root: `FILTERBENCH_ROOT` when set, else the workspace this crate was built in.
pub fn project_root() -> PathBuf {
    match std::env::var_os("FILTERBENCH_ROOT") {
        Some(root) => PathBuf::from(root),
        None => built_in_root(),
    }
}

/// Where the built-in pairs' `<pair>.wasm` modules and the bench guests are:
/// `FILTERBENCH_WASM_DIR` when set, else [`artefacts::built_in_wasm_dir`] of the workspace this
/// crate was built in (where `filterbench-build`'s build script builds them).
pub fn wasm_dir() -> PathBuf {
    match std::env::var_os("FILTERBENCH_WASM_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => artefacts::built_in_wasm_dir(&built_in_root()),
    }
}

/// The workspace this crate was built in.
fn built_in_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(|bench| bench.parent())
        .expect("bench/model/ has two parents")
        .to_path_buf()
}

/// Where the build script writes the Go twins (`<pair>.wasm`, built from `filters-go/<pair>/` by
/// `filterbench-build`): `FILTERBENCH_GO_WASM_DIR` when set, else
/// [`artefacts::built_in_go_dir`] of the workspace this crate was built in.
pub fn go_wasm_dir() -> PathBuf {
    match std::env::var_os("FILTERBENCH_GO_WASM_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => artefacts::built_in_go_dir(&built_in_root()),
    }
}

/// Where the build script writes the native twins (`<pair>.so`, built from
/// `filters-native/<pair>/` by `filterbench-build`): `FILTERBENCH_NATIVE_DIR` when set, else
/// [`artefacts::built_in_native_dir`] of the workspace this crate was built in.
pub fn native_dir() -> PathBuf {
    match std::env::var_os("FILTERBENCH_NATIVE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => artefacts::built_in_native_dir(&built_in_root()),
    }
}

/// A TOML error as one line: `line L, column C: message`.
pub(crate) fn toml_error(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            format!("line {line}, column {column}: {}", one_line(e.message()))
        }
        None => one_line(e.message()),
    }
}

/// One line, for error messages: the non-empty lines of a possibly multi-line text, trimmed and
/// joined with " | ".
pub fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Milliseconds since the Unix epoch (0 before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
