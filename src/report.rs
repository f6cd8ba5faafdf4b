//! `filterbench report`: re-render the HTML report from the result files under
//! `reports/results/`, without running anything (a workspace's: `DIR/reports/results/` to
//! `DIR/reports/site/`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use filterbench_model::equivalence::PairReport;
use filterbench_model::now_ms;
use filterbench_model::results::{
    read_result, results_dir, verify_path, write_json_atomically, VerifyPair, VerifyRecord,
    VERIFY_SCHEMA,
};
use filterbench_model::Catalogue;
use filterbench_reports::decision::Policy;
use filterbench_reports::site::{
    check_out, default_out, render_to, Overwrite, RenderSummary, SiteInput,
};

#[derive(clap::Args)]
pub struct ReportArgs {
    /// The migration policy (thresholds, team profile); default reports/policy.toml.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Where to write the site (default reports/site).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The results to render (default reports/results), for example the published run's
    /// reports/published/results.
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,
    /// Write the site even where `--out` names a directory this tool did not write: what is
    /// there is moved to a named backup beside it first (`DIR.bak-<UTC time>`), never deleted.
    #[arg(long)]
    pub force: bool,
}

/// The policy named on the command line, or `<root>/reports/policy.toml`; a workspace without
/// one of its own gets the repository's.
pub fn policy(root: &Path, path: Option<&Path>) -> anyhow::Result<(Policy, String)> {
    let path = path.map(Path::to_path_buf).unwrap_or_else(|| {
        let own = root.join("reports").join("policy.toml");
        if own.is_file() {
            own
        } else {
            filterbench_model::project_root()
                .join("reports")
                .join("policy.toml")
        }
    });
    let policy = Policy::load(&path)?;
    Ok((policy, shown_path(root, &path)))
}

/// `path` as the published pages show it: relative to the project (or workspace) `root` when it
/// lies inside it, else its file name alone. A page never shows the machine's own paths.
pub fn shown_path(root: &Path, path: &Path) -> String {
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let rel = path.strip_prefix(root).map(Path::to_path_buf).or_else(|_| {
        canonical(path)
            .strip_prefix(canonical(root))
            .map(Path::to_path_buf)
    });
    match rel {
        Ok(rel) => rel.display().to_string(),
        Err(_) => path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
    }
}

/// Renders the site; errors name the result file that could not be used.
pub fn render_site(
    root: &Path,
    catalogue: &Catalogue,
    policy_file: Option<&Path>,
    out: Option<&Path>,
    results: Option<&Path>,
    force: bool,
) -> anyhow::Result<RenderSummary> {
    let (policy, policy_source) = policy(root, policy_file)?;
    // A missing default folder is said on the page (nothing measured yet); a folder named on the
    // command line must exist.
    if let Some(named) = results.filter(|r| !r.is_dir()) {
        anyhow::bail!(
            "{}: no such results folder (`filterbench all` writes reports/results)",
            named.display()
        );
    }
    let results = results.map_or_else(|| results_dir(root), Path::to_path_buf);
    let input = SiteInput {
        results_shown: shown_path(root, &results).into(),
        results_dir: results,
        pairs: catalogue.pairs.clone(),
        policy,
        policy_source,
        rendered_ms: now_ms(),
    };
    let out = out.map_or_else(|| default_out(root), Path::to_path_buf);
    render_to(&input, &out, overwrite(force)).map_err(|e| anyhow::anyhow!("{e}"))
}

fn overwrite(force: bool) -> Overwrite {
    if force {
        Overwrite::BackUp
    } else {
        Overwrite::Refuse
    }
}

/// Refuses an output directory the render would refuse, before anything is measured.
pub fn check_site_out(root: &Path, out: Option<&Path>, force: bool) -> anyhow::Result<()> {
    let out = out.map_or_else(|| default_out(root), Path::to_path_buf);
    check_out(&out, overwrite(force)).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Prints what was rendered: the call per pair with its confidence and the Wasm-minus-Lua CPU
/// interval it rests on, and which data were missing.
pub fn print_summary(summary: &RenderSummary) {
    print_summary_of(summary, None);
}

/// [`print_summary`] with a line per pair of `only` (when given: the pairs a run was asked for),
/// then one line counting the site's other pairs instead of theirs.
pub fn print_summary_of(summary: &RenderSummary, only: Option<&[&str]>) {
    let shown = |name: &str| only.is_none_or(|o| o.contains(&name));
    for p in summary.pairs.iter().filter(|p| shown(&p.name)) {
        let missing = if p.missing.is_empty() {
            String::new()
        } else {
            let what: Vec<&str> = p.missing.iter().map(|m| m.what.as_str()).collect();
            format!("  (missing: {})", what.join("; "))
        };
        let confidence = match (&p.split, p.confidence) {
            (Some(split), _) if p.call != p.verdict => format!(" ({split})"),
            (_, Some(c)) => format!(" ({:.0}%)", c * 100.0),
            _ => String::new(),
        };
        println!(
            "  {:<16} {}{confidence}  Wasm - Lua CPU/req {} us{missing}",
            p.name,
            p.call.label(),
            p.wasm_minus_lua_cpu
        );
        if let Some(flag) = &p.configs_differ {
            println!("  {:<16} under `default`; {flag}", "");
        }
    }
    let others = summary.pairs.iter().filter(|p| !shown(&p.name)).count();
    if others > 0 {
        println!(
            "  and {others} other pair(s) on the site, not run now: each page shows its earlier \
             results or what is missing"
        );
    }
    for m in &summary.missing {
        println!("  missing: {} ({}): {}", m.what, m.path.display(), m.how);
    }
    if let Some(backup) = &summary.backup {
        println!(
            "kept what was at {} as {} (--force)",
            summary.out.display(),
            backup.display()
        );
    }
    println!("report: {}", summary.out.join("index.html").display());
}

pub fn report(workspace: Option<&Path>, args: ReportArgs) -> anyhow::Result<ExitCode> {
    let catalogue = crate::workspace::open(workspace)?;
    let root = &catalogue.root;
    let summary = render_site(
        root,
        &catalogue,
        args.policy.as_deref(),
        args.out.as_deref(),
        args.results.as_deref(),
        args.force,
    )?;
    print_summary(&summary);
    Ok(ExitCode::SUCCESS)
}

/// Saves an equivalence run where the report reads it (`reports/results/verify/<mode>.json`).
pub fn save_verify(
    root: &Path,
    mode: &str,
    envoy_version: Option<String>,
    reports: &[PairReport],
) -> anyhow::Result<PathBuf> {
    let path = verify_path(&results_dir(root), mode);
    let mut pairs: Vec<VerifyPair> = reports
        .iter()
        .map(|r| VerifyPair {
            pair: r.pair.clone(),
            twin: r.twin,
            scenarios: r.scenarios,
            equivalent: r.equivalent,
            configs: r.configs.clone(),
            failures: r.failure_lines(),
            served_by: r.served_by.clone(),
            notes: r.notes.clone(),
        })
        .collect();
    // A run of some pairs (or twin kinds) keeps the other pairs and twins of an earlier record
    // of the same mode (an unreadable earlier record is replaced).
    if let Ok(old) = read_result::<VerifyRecord>(&path, VERIFY_SCHEMA) {
        if old.mode == mode {
            let kept: Vec<VerifyPair> = old
                .pairs
                .into_iter()
                .filter(|o| !pairs.iter().any(|p| p.pair == o.pair && p.twin == o.twin))
                .collect();
            pairs.extend(kept);
        }
    }
    let record = VerifyRecord {
        schema_version: VERIFY_SCHEMA,
        mode: mode.into(),
        envoy_version,
        created_ms: now_ms(),
        pairs,
    };
    write_json_atomically(&path, &record)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(path)
}
