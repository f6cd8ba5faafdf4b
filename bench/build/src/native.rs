//! Building a user's workspace's native twin crates at run time ([`build_crate`]; the built-in
//! pairs' are built by the build script): `cargo build --release` of the crate (its own
//! `[workspace]`, its own `[profile.release]` with `panic = "unwind"`, so that the binding catches
//! a panic at the ABI boundary) for the host into `<workspace>/target`, cargo deciding what is up
//! to date; the library `target/release/lib<crate>.so` is then copied to
//! `target/filters-native/<pair>.so`, where the catalogue finds it. A crate that does not build is
//! one error naming its `Cargo.toml`, the pair and the command, with the compiler's first error.

use std::path::{Path, PathBuf};

use filterbench_model::artefacts::native_cdylib_name;
use filterbench_model::{Error, Result};

use crate::wasm::build_twin_crate;

/// Builds the native twin crate at `crate_dir` (the pair's folder, `filters-native/<pair>/`)
/// into `target_dir` and copies its library to `<out_dir>/<pair>.so`; answers that path.
pub fn build_crate(crate_dir: &Path, target_dir: &Path, out_dir: &Path) -> Result<PathBuf> {
    let manifest = crate_dir.join("Cargo.toml");
    let pair = crate_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let text = std::fs::read_to_string(&manifest).map_err(|source| Error::Io {
        path: manifest.clone(),
        source,
    })?;
    let crate_name = super::toolchain::package_name(&text).ok_or_else(|| {
        Error::invalid(
            &manifest,
            format!("the native twin of {pair:?} has no `name = ` in its [package]"),
        )
    })?;
    build_twin_crate(&manifest, target_dir, None, "native", &pair)?;
    let library = target_dir
        .join("release")
        .join(native_cdylib_name(&crate_name));
    if !library.is_file() {
        return Err(Error::invalid(
            &manifest,
            format!(
                "built, but {} is missing: the native twin of {pair:?} must be a cdylib (crate-type = [\"cdylib\"])",
                library.display()
            ),
        ));
    }
    // Copied beside, then renamed over the old one: an Envoy that has the old library loaded
    // keeps its (unlinked) file.
    let to = out_dir.join(format!("{pair}.so"));
    let partial = out_dir.join(format!("{pair}.so.partial"));
    let copied = std::fs::create_dir_all(out_dir)
        .and_then(|_| std::fs::copy(&library, &partial))
        .and_then(|_| std::fs::rename(&partial, &to));
    copied.map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        Error::invalid(
            &manifest,
            format!(
                "the native twin of {pair:?} built, but copying {} to {} failed: {e}",
                library.display(),
                to.display()
            ),
        )
    })?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::super::toolchain::package_name;

    #[test]
    fn the_package_name_is_read_from_its_table() {
        let manifest = "[lib]\nname = \"not_this\"\n\n[package]\nversion = \"0.1.0\"\nname = \"mine-native\"\n";
        assert_eq!(package_name(manifest).as_deref(), Some("mine-native"));
        assert_eq!(package_name("[lib]\nname = \"x\"\n"), None);
    }
}
