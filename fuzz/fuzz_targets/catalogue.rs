//! The catalogue (`bench/catalogue.toml`, a workspace's `filterbench.toml`): parsed and checked
//! as `Catalogue::load_workspace` does (its layout against an empty workspace directory), then
//! each pair's configuration turned into the JSON both twins get. Property: an error or a
//! catalogue.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use filterbench_model::catalogue::{Catalogue, Layout, WORKSPACE_CATALOGUE};
use libfuzzer_sys::fuzz_target;

/// An empty workspace directory, made once per process.
fn workspace() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().to_path_buf();
        (dir, path)
    })
    .1
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = workspace();
    let path = dir.join(WORKSPACE_CATALOGUE);
    let Ok(catalogue) = Catalogue::parse(dir, &path, text, Layout::workspace(dir)) else {
        return;
    };
    let _ = catalogue.check_layout();
    for pair in &catalogue.pairs {
        let _ = pair.config_json();
        let _ = pair.load_config_json();
        let _ = catalogue.prebuilt_module(pair);
        let _ = catalogue.select(Some(&pair.name));
    }
    let _ = catalogue.select(None);
});
