//! `--workspace DIR` (a global option of every command): the user's own pairs instead of the
//! built-in ones. A workspace is a directory anywhere (layout in
//! `filterbench_model::catalogue`): `filterbench.toml`, `filters-lua/`, `filters-wasm/`,
//! `corpus/`, and what the commands write, `reports/results/` and `reports/site/`. Its twin crates
//! are built at run time into `DIR/target` (`Catalogue::build_twins`).

use std::path::Path;

use filterbench_bench::{project_root, Catalogue, Pair};
use filterbench_model::catalogue::WORKSPACE_ENV;

/// The catalogue the commands work on: the workspace's when one is given, else the built-in
/// pairs. A workspace is also announced to this process's children (the benches' callgrind
/// child loads the same catalogue) through `FILTERBENCH_WORKSPACE`.
pub fn open(workspace: Option<&Path>) -> anyhow::Result<Catalogue> {
    match workspace {
        None => Ok(Catalogue::load(&project_root())?),
        Some(dir) => {
            let catalogue = Catalogue::load_workspace(dir)?;
            // Single-threaded here (before any runtime or worker starts).
            std::env::set_var(WORKSPACE_ENV, &catalogue.root);
            Ok(catalogue)
        }
    }
}

/// The pairs selected by `--pair` (all when none), their twin crates built when they are a
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
        catalogue.build_twins(&pairs)?;
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
