//! `filterbench new NAME --from-manifest FILE`: the inline Lua and its configuration found in
//! a (multi-document) YAML EnvoyFilter / TrafficExtension, then the configuration written as
//! TOML as `new` writes it into the catalogue. Property: an error or the script.
#![no_main]

use std::path::Path;

use filterbench_k8s::import::lua_from_manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(found) = lua_from_manifest(Path::new("manifest.yaml"), text) else {
        return;
    };
    if let Ok(config) = toml::Value::try_from(&found.config) {
        let _ = config.to_string();
    }
});
