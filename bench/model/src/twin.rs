//! The kinds of twin a pair may have beside its Lua filter ([`TwinKind`]) and one twin of a pair
//! as the catalogue finds it ([`Twin`]: its kind and the artefact Envoy loads).
//!
//! A pair's twins are found by presence, one folder per kind named after the pair:
//! `filters-wasm/<pair>/` (Rust proxy-wasm crate), `filters-go/<pair>/` (Go proxy-wasm `main` package),
//! `filters-native/<pair>/` (Rust Envoy dynamic module, a cdylib for the host); or, in a
//! workspace, a prebuilt artefact named in the pair's entry (`wasm = `, `go_wasm = `,
//! `native = `). [`crate::Catalogue::twins`] lists them in [`TwinKind::ALL`]'s order.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A way out of Lua: what a twin is written in and how Envoy runs it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum TwinKind {
    /// Rust proxy-wasm (`filters-wasm/<pair>/`), the reference kind.
    #[default]
    #[serde(rename = "wasm")]
    Wasm,
    /// Standard Go proxy-wasm for `wasip1` (`filters-go/<pair>/`).
    #[serde(rename = "go-wasm")]
    GoWasm,
    /// A Rust Envoy dynamic module (`filters-native/<pair>/`): a shared library in Envoy's
    /// address space, no VM.
    #[serde(rename = "native")]
    Native,
}

impl TwinKind {
    /// Every kind, in the fixed order twins are listed, verified and measured.
    pub const ALL: [TwinKind; 3] = [TwinKind::Wasm, TwinKind::GoWasm, TwinKind::Native];

    /// The serde and CLI id: `wasm`, `go-wasm`, `native` (also the verify and load listener's
    /// name in the bootstrap).
    pub fn id(self) -> &'static str {
        match self {
            TwinKind::Wasm => "wasm",
            TwinKind::GoWasm => "go-wasm",
            TwinKind::Native => "native",
        }
    }

    /// For people: `Rust Wasm`, `Go Wasm`, `native module`.
    pub fn label(self) -> &'static str {
        match self {
            TwinKind::Wasm => "Rust Wasm",
            TwinKind::GoWasm => "Go Wasm",
            TwinKind::Native => "native module",
        }
    }

    /// Whether the in-process host can run this kind: the proxy-wasm kinds run on the wasmtime
    /// host; a native module runs in real Envoy only.
    pub fn runs_in_process(self) -> bool {
        match self {
            TwinKind::Wasm | TwinKind::GoWasm => true,
            TwinKind::Native => false,
        }
    }

    /// Whether Envoy loads this kind with its Wasm filter (proxy-wasm ABI).
    pub fn is_proxy_wasm(self) -> bool {
        self.runs_in_process()
    }

    /// The folder of a catalogue's twin sources of this kind: `filters-wasm`, `filters-go`,
    /// `filters-native`.
    pub fn source_folder(self) -> &'static str {
        match self {
            TwinKind::Wasm => "filters-wasm",
            TwinKind::GoWasm => "filters-go",
            TwinKind::Native => "filters-native",
        }
    }

    /// The file whose presence in `<source_folder>/<pair>/` makes the pair have a twin of this
    /// kind: `Cargo.toml` (Rust crates) or `main.go` (the pair's `main` package in the Go twins'
    /// one module, `filters-go/go.mod`).
    pub fn source_marker(self) -> &'static str {
        match self {
            TwinKind::Wasm | TwinKind::Native => "Cargo.toml",
            TwinKind::GoWasm => "main.go",
        }
    }

    /// The built artefact's file name of pair `name`: `<name>.wasm` or `<name>.so` (Envoy loads a
    /// native module by its path, `dynamic_module_config.module.local.filename`).
    pub fn artefact_name(self, name: &str) -> String {
        match self {
            TwinKind::Wasm | TwinKind::GoWasm => format!("{name}.wasm"),
            TwinKind::Native => format!("{name}.so"),
        }
    }
}

impl std::fmt::Display for TwinKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

impl std::str::FromStr for TwinKind {
    type Err = String;

    /// `wasm`, `go-wasm` (or `go`), `native`.
    fn from_str(s: &str) -> Result<TwinKind, String> {
        match s {
            "wasm" => Ok(TwinKind::Wasm),
            "go-wasm" | "go" => Ok(TwinKind::GoWasm),
            "native" => Ok(TwinKind::Native),
            other => Err(format!(
                "unknown twin kind {other:?} (known: wasm, go-wasm or go, native)"
            )),
        }
    }
}

/// One twin of a pair: its kind and the artefact Envoy loads (a `.wasm` module or a `.so`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Twin {
    pub kind: TwinKind,
    /// The module or library: prebuilt, or where the build puts it.
    pub artefact: PathBuf,
    /// The source folder it is built from; `None` for a prebuilt artefact.
    pub source: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_back_and_go_is_go_wasm() {
        for kind in TwinKind::ALL {
            assert_eq!(kind.id().parse::<TwinKind>().unwrap(), kind);
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.id())
            );
        }
        assert_eq!("go".parse::<TwinKind>().unwrap(), TwinKind::GoWasm);
        let e = "lua".parse::<TwinKind>().unwrap_err();
        assert!(e.contains("unknown twin kind \"lua\""), "{e}");
    }

    #[test]
    fn only_proxy_wasm_kinds_run_in_process() {
        assert!(TwinKind::Wasm.runs_in_process());
        assert!(TwinKind::GoWasm.runs_in_process());
        assert!(!TwinKind::Native.runs_in_process());
    }
}
