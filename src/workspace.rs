//! `--workspace DIR` (a global option of every command): the user's own pairs instead of the
//! built-in ones. A workspace is a directory anywhere (layout in
//! `filterbench_model::catalogue`): `filterbench.toml`, `filters-lua/`, `filters-wasm/` (and
//! `filters-go/`, `filters-native/` when its pairs have such twins), `corpus/`, and what the
//! commands write, `reports/results/` and `reports/site/`. Its twin sources (Rust Wasm crates,
//! Go twins, native crates) are built at run time into `DIR/target`
//! (`filterbench_build::build_twins`).

use std::path::Path;

use filterbench_model::{project_root, Catalogue, Pair};

/// The catalogue the commands work on: the workspace's when one is given, else the built-in
/// pairs.
pub fn open(workspace: Option<&Path>) -> anyhow::Result<Catalogue> {
    Ok(match workspace {
        None => Catalogue::load(&project_root())?,
        Some(dir) => Catalogue::load_workspace(dir)?,
    })
}

/// The pairs selected by `--pair` (all when none), their twins built from source when they are a
/// workspace's.
pub fn select_built<'c>(
    catalogue: &'c Catalogue,
    names: &[String],
) -> anyhow::Result<Vec<&'c Pair>> {
    let pairs = if names.is_empty() {
        catalogue.pairs.iter().collect::<Vec<_>>()
    } else {
        let mut v = Vec::new();
        for name in names {
            v.extend(catalogue.select(Some(name))?);
        }
        v
    };
    if catalogue.layout.workspace && !pairs.is_empty() {
        filterbench_build::build_twins(catalogue, &pairs)?;
    }
    Ok(pairs)
}

/// Refuses an option that only makes sense for the built-in pairs.
pub fn built_in_only(catalogue: &Catalogue, what: &str) -> anyhow::Result<()> {
    if catalogue.layout.workspace {
        anyhow::bail!(
            "{}: {what} is only for the built-in pairs (leave out --workspace)",
            catalogue.path.display()
        );
    }
    Ok(())
}
