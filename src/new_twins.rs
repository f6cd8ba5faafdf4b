//! The Go and native twins `filterbench new --go / --native` scaffolds in a workspace, and the
//! project code they need, copied in so that the workspace stands alone:
//!
//! - `--go`: `DIR/filters-go/NAME/main.go`, a pass-through `main` package of the workspace's one
//!   Go module (`DIR/filters-go/go.mod`, module `filterbench/filters-go` like the project's, so a
//!   twin moves between them unchanged) on the project's proxy-wasm ABI layer, copied to
//!   `DIR/filters-go/proxywasm/` from the project's `filters-go/proxywasm/`;
//! - `--native`: `DIR/filters-native/NAME/`, a pass-through Rust `cdylib` (crate `NAME-native`,
//!   its own `[workspace]`, `[profile.release]` with `panic = "unwind"`) on the project's binding
//!   to Envoy 1.40's dynamic-module ABI, copied to `DIR/filters-native/sdk/` from the project's
//!   `filters-native/sdk/`.
//!
//! Each copied file's first line names its source and the project commit (`git rev-parse HEAD`
//! of the project, "with uncommitted changes" when the copied folder has some). The shared
//! folders are copied once, when missing: a later `new` (or `--force`) leaves them as they are,
//! since they may hold the user's own changes; the output says which it used.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// The project's Go ABI layer, copied into a workspace (relative to the project root and to the
/// workspace).
pub const GO_LAYER: &str = "filters-go/proxywasm";
/// The project's native SDK crate, copied into a workspace.
pub const NATIVE_SDK: &str = "filters-native/sdk";

/// Names a pair may not take in a workspace because the shared folders the twins need have them.
pub const SHARED_FOLDER_NAMES: &[(&str, &str)] = &[
    (
        "proxywasm",
        "the Go twins' ABI layer (filters-go/proxywasm/)",
    ),
    ("sdk", "the native twins' SDK crate (filters-native/sdk/)"),
];

/// One file to write: where, and its content.
pub struct Written {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// The files of a pass-through Go twin of pair `name` in workspace `dir`, and of the shared Go
/// module when the workspace has none yet (`shared` says which shared folder is used).
pub fn go_twin(
    project: &Path,
    dir: &Path,
    name: &str,
) -> anyhow::Result<(Vec<Written>, SharedUse)> {
    let module = dir.join("filters-go");
    let mut files = vec![Written {
        path: module.join(name).join("main.go"),
        bytes: go_main(name).into_bytes(),
    }];
    let shared = shared_use(dir, GO_LAYER);
    if let SharedUse::Copied(_) = shared {
        let origin = origin(project, GO_LAYER);
        if !module.join("go.mod").exists() {
            files.push(Written {
                path: module.join("go.mod"),
                bytes: go_mod(&origin).into_bytes(),
            });
        }
        for (file, text) in read_sources(project, GO_LAYER, "go")? {
            if file.ends_with("_test.go") {
                continue;
            }
            files.push(Written {
                path: dir.join(GO_LAYER).join(&file),
                bytes: format!(
                    "// Copied by `filterbench new` from {GO_LAYER}/{file} of the filterbench project, {origin}.\n\n{text}"
                )
                .into_bytes(),
            });
        }
    }
    Ok((files, shared))
}

/// The files of a pass-through native twin crate of pair `name` in workspace `dir`, and of the
/// SDK crate when the workspace has none yet.
pub fn native_twin(
    project: &Path,
    dir: &Path,
    name: &str,
) -> anyhow::Result<(Vec<Written>, SharedUse)> {
    let crate_dir = dir.join("filters-native").join(name);
    let mut files = vec![
        Written {
            path: crate_dir.join("Cargo.toml"),
            bytes: native_cargo_toml(name).into_bytes(),
        },
        Written {
            path: crate_dir.join("src").join("lib.rs"),
            bytes: native_lib_rs(name).into_bytes(),
        },
    ];
    let shared = shared_use(dir, NATIVE_SDK);
    if let SharedUse::Copied(_) = shared {
        let origin = origin(project, NATIVE_SDK);
        files.push(Written {
            path: dir.join(NATIVE_SDK).join("Cargo.toml"),
            bytes: sdk_cargo_toml(&origin).into_bytes(),
        });
        for (file, text) in read_sources(project, &format!("{NATIVE_SDK}/src"), "rs")? {
            files.push(Written {
                path: dir.join(NATIVE_SDK).join("src").join(&file),
                bytes: format!(
                    "// Copied by `filterbench new` from {NATIVE_SDK}/src/{file} of the filterbench project, {origin}.\n{text}"
                )
                .into_bytes(),
            });
        }
    }
    Ok((files, shared))
}

/// Whether a shared folder is copied now or was there already.
#[derive(Debug, Clone)]
pub enum SharedUse {
    Copied(PathBuf),
    Existing(PathBuf),
}

fn shared_use(dir: &Path, folder: &str) -> SharedUse {
    let path = dir.join(folder);
    if path.exists() {
        SharedUse::Existing(path)
    } else {
        SharedUse::Copied(path)
    }
}

/// The sorted `(file name, text)` of the files with extension `ext` in `project/sub`.
fn read_sources(project: &Path, sub: &str, ext: &str) -> anyhow::Result<Vec<(String, String)>> {
    let from = project.join(sub);
    let mut out = Vec::new();
    let entries = std::fs::read_dir(&from).with_context(|| {
        format!(
            "{}: cannot read the project's {sub} to copy it into the workspace",
            from.display()
        )
    })?;
    for entry in entries {
        let path = entry.with_context(|| format!("{}", from.display()))?.path();
        if path.extension().is_some_and(|e| e == ext) && path.is_file() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            let file = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            out.push((file, text));
        }
    }
    out.sort();
    if out.is_empty() {
        anyhow::bail!(
            "{}: no .{ext} files to copy into the workspace",
            from.display()
        );
    }
    Ok(out)
}

/// `at commit <hash>` of the project (with uncommitted changes to `sub` when there are), or why
/// it is not known.
fn origin(project: &Path, sub: &str) -> String {
    let git = |args: &[&str]| {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(project).args(args);
        filterbench_model::child::die_with_parent(&mut cmd);
        cmd.output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "HEAD"]) {
        Some(commit) if !commit.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--", sub]).is_some_and(|s| !s.is_empty());
            if dirty {
                format!("commit {commit} with uncommitted changes")
            } else {
                format!("commit {commit}")
            }
        }
        _ => "commit unknown (the project is not a git checkout)".to_string(),
    }
}

fn go_mod(origin: &str) -> String {
    format!(
        "// The workspace's Go twins: one package per pair (NAME/main.go), built by filterbench\n\
         // for wasip1 (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared) into target/filters-go/.\n\
         // proxywasm/ is the filterbench project's proxy-wasm ABI layer, copied by `filterbench new`\n\
         // from filters-go/proxywasm of the project, {origin}.\n\
         module filterbench/filters-go\n\ngo 1.24\n"
    )
}

fn go_main(name: &str) -> String {
    format!(
        r#"// {name}: the Go twin of filters-lua/{name}.lua, scaffolded by `filterbench new --go`.
//
// As written it passes every request and response through unchanged. Fill in what the Lua
// script does, callback by callback (envoy_on_request -> OnHttpRequestHeaders /
// OnHttpRequestBody, envoy_on_response -> OnHttpResponseHeaders / OnHttpResponseBody), then
// `filterbench verify --in-process --twin go --workspace DIR --pair {name}` names every scenario,
// field and value where the twins differ. The pair's `config` (filterbench.toml) arrives in
// OnPluginStart as JSON (proxywasm.GetPluginConfiguration()); the Lua filter reads the same
// values with handle:metadata():get(key). Lua's handle:logInfo(msg) is proxywasm.LogInfo(msg).
// The ABI layer's calls are in ../proxywasm (host.go).
package main

import "filterbench/filters-go/proxywasm"

func main() {{}}

func init() {{ proxywasm.SetVMContext(&vmContext{{}}) }}

type vmContext struct{{ proxywasm.DefaultVMContext }}

func (*vmContext) NewPluginContext(uint32) proxywasm.PluginContext {{ return &pluginContext{{}} }}

// One per plugin: holds the configuration.
type pluginContext struct {{
	proxywasm.DefaultPluginContext
	// The plugin configuration: the pair's `config` as JSON bytes (parse it with encoding/json
	// where the filter needs it).
	config []byte
}}

func (p *pluginContext) OnPluginStart(int) bool {{
	p.config = proxywasm.GetPluginConfiguration()
	return true
}}

func (p *pluginContext) NewHttpContext(uint32) proxywasm.HttpContext {{
	return &filter{{config: p.config}}
}}

// One per request.
type filter struct {{
	proxywasm.DefaultHttpContext
	config []byte
}}

func (*filter) OnHttpRequestHeaders(int, bool) proxywasm.Action {{
	// For example: proxywasm.AddHttpRequestHeader("x-name", []byte("value"))
	return proxywasm.ActionContinue
}}

func (*filter) OnHttpResponseHeaders(int, bool) proxywasm.Action {{
	return proxywasm.ActionContinue
}}
"#
    )
}

fn native_cargo_toml(name: &str) -> String {
    format!(
        r#"[package]
name = "{name}-native"
version = "0.1.0"
edition = "2021"
publish = false
description = "Native twin (Envoy dynamic module) of filters-lua/{name}.lua (a filterbench workspace pair)"

[lib]
crate-type = ["cdylib"]

[dependencies]
# The filterbench project's binding to Envoy 1.40's dynamic-module ABI, copied into the workspace.
filterbench-native-sdk = {{ path = "../sdk" }}

# A workspace of its own: this crate is built alone, by `filterbench` (into the workspace's
# target/), for the host; the library is copied to target/filters-native/{name}.so.
[workspace]

# What Envoy loads: optimised, and unwinding, so that the SDK catches a panic at the ABI
# boundary (a panic never unwinds into Envoy).
[profile.release]
lto = true
codegen-units = 1
panic = "unwind"
opt-level = 3
strip = "debuginfo"
"#
    )
}

fn native_lib_rs(name: &str) -> String {
    format!(
        r#"//! {name}: the native twin (an Envoy dynamic module) of `filters-lua/{name}.lua`,
//! scaffolded by `filterbench new --native`.
//!
//! As written it passes every request and response through unchanged. Fill in what the Lua
//! script does, hook by hook (`envoy_on_request` -> `on_request_headers` / `on_request_body`,
//! `envoy_on_response` -> `on_response_headers` / `on_response_body`), then
//! `filterbench verify --envoy --twin native --workspace DIR --pair {name}` names every scenario,
//! field and value where the twins differ (native twins run in real Envoy only). The pair's
//! `config` (filterbench.toml) arrives in `FilterConfig::new` as JSON; the Lua filter reads the
//! same values with `handle:metadata():get(key)`. The SDK's calls are in `../sdk/src/lib.rs`.

use std::sync::Arc;

use filterbench_native_sdk::{{ConfigSetup, Filter, FilterConfig, Headers, Http}};

/// Once per filter configuration, shared by every worker.
struct Config {{
    /// The pair's `config` as JSON bytes (parse it where the filter needs it, e.g. with
    /// serde_json, added to Cargo.toml).
    #[allow(dead_code)]
    json: Vec<u8>,
}}

impl FilterConfig for Config {{
    type Filter = PassThrough;

    fn new(config: &[u8], _setup: &mut ConfigSetup) -> Result<Self, String> {{
        Ok(Config {{
            json: config.to_vec(),
        }})
    }}

    fn new_filter(_config: &Arc<Self>) -> PassThrough {{
        PassThrough
    }}
}}

/// One per request.
struct PassThrough;

impl Filter for PassThrough {{
    fn on_request_headers(&mut self, _http: &mut Http, _end_of_stream: bool) -> Headers {{
        // For example: http.add_request_header("x-name", b"value");
        Headers::Continue
    }}

    fn on_response_headers(&mut self, _http: &mut Http, _end_of_stream: bool) -> Headers {{
        Headers::Continue
    }}
}}

filterbench_native_sdk::export_filter!("{name}", Config);
"#
    )
}

fn sdk_cargo_toml(origin: &str) -> String {
    format!(
        r#"# Copied by `filterbench new` from filters-native/sdk of the filterbench project, {origin}
# (its Cargo.toml rewritten to stand alone): the project's own binding to Envoy 1.40.0's
# dynamic-module ABI, a path dependency of the workspace's native twins (filters-native/NAME/).
[package]
name = "filterbench-native-sdk"
version = "0.1.0"
edition = "2021"
publish = false
description = "filterbench's own binding to Envoy 1.40.0's dynamic-module ABI, for the native twins"

[lib]
test = false
doctest = false
"#
    )
}
