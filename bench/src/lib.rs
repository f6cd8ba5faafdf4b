//! The heart of filterbench: what a filter pair is and how we decide that its two twins behave the
//! same.
//!
//! - [`catalogue`]: the pairs (`bench/catalogue.toml`), their configuration and traits, and where
//!   each twin lives on disk;
//! - [`corpus`]: the hand-written scenarios of each pair (`bench/corpus/<pair>.toml`);
//! - [`outcome`]: the normalised outcome of one request, the Lua-vs-Wasm diff and the check of an
//!   outcome against a scenario's expectations;
//! - [`perf`]: the in-process benchmarks (criterion), run by `cargo bench` and the CLI.
//!
//! The crate's build script builds every `filters-wasm/<pair>` crate for `wasm32-wasip1` (profile
//! `filter`) into `target/filters-wasm`, installing the target with rustup when it is missing, so
//! that `cargo build`/`cargo test` on a fresh machine yields loadable modules.

pub mod catalogue;
pub mod corpus;
pub mod harness;
pub mod outcome;
pub mod perf;
pub mod verdict;

pub use catalogue::{Catalogue, Pair};
pub use corpus::{Corpus, Scenario};
pub use outcome::{Diff, Outcome};

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
    pub(crate) fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The workspace root: `FILTERBENCH_ROOT` when set, else the directory this crate was built from.
pub fn project_root() -> PathBuf {
    match std::env::var_os("FILTERBENCH_ROOT") {
        Some(root) => PathBuf::from(root),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("bench/ has a parent")
            .to_path_buf(),
    }
}

/// Where the build script put the `<pair>.wasm` modules.
pub fn wasm_dir() -> PathBuf {
    match std::env::var_os("FILTERBENCH_WASM_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("FILTERBENCH_WASM_DIR")),
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

/// One line, for error messages: the first line of a possibly multi-line text, trimmed.
pub fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}
