//! `filterbench report`: re-render the HTML report from the result files under
//! `reports/results/`, without running anything (a workspace's: `DIR/reports/results/` to
//! `DIR/reports/site/`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use filterbench_bench::catalogue::ChangeFrequency;
use filterbench_bench::verdict::PairReport;
use filterbench_bench::Catalogue;
use filterbench_reports::decision::{Needs, Policy};
use filterbench_reports::evidence::PairInput;
use filterbench_reports::results::{
    now_ms, read_result, results_dir, verify_path, write_json_atomically, VerifyPair, VerifyRecord,
    VERIFY_SCHEMA,
};
use filterbench_reports::site::{default_out, render, RenderSummary, SiteInput};

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
}

/// The policy named on the command line, or `<root>/reports/policy.toml`; a workspace without
/// one of its own gets the repository's.
pub fn policy(root: &Path, path: Option<&Path>) -> anyhow::Result<(Policy, String)> {
    let path = path.map(Path::to_path_buf).unwrap_or_else(|| {
        let own = root.join("reports").join("policy.toml");
        if own.is_file() {
            own
        } else {
            filterbench_bench::project_root()
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

/// What the report needs to know about each pair from the catalogue.
pub fn pair_inputs(catalogue: &Catalogue) -> Vec<PairInput> {
    catalogue
        .pairs
        .iter()
        .map(|p| {
            let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
            let frequency = match p.traits.change_frequency {
                ChangeFrequency::Low => "low",
                ChangeFrequency::Medium => "medium",
                ChangeFrequency::High => "high",
            };
            PairInput {
                name: p.name.clone(),
                description: p.summary.clone(),
                needs: Needs {
                    capability_gap: p.capability_gap.clone(),
                    data_processing: p.traits.data_processing,
                    external_call: p.traits.external_call,
                    frequent_changes: p.traits.change_frequency == ChangeFrequency::High,
                },
                traits: vec![
                    ("behaviour".into(), p.behaviour.clone()),
                    ("external call".into(), yes_no(p.traits.external_call)),
                    ("data processing".into(), yes_no(p.traits.data_processing)),
                    ("custom metrics".into(), yes_no(p.traits.custom_metrics)),
                    ("state across requests".into(), yes_no(p.traits.state)),
                    ("change frequency".into(), frequency.into()),
                ],
            }
        })
        .collect()
}

/// Renders the site; errors name the result file that could not be used.
pub fn render_site(
    root: &Path,
    catalogue: &Catalogue,
    policy_file: Option<&Path>,
    out: Option<&Path>,
    results: Option<&Path>,
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
        pairs: pair_inputs(catalogue),
        policy,
        policy_source,
        rendered_ms: now_ms(),
    };
    let out = out.map_or_else(|| default_out(root), Path::to_path_buf);
    render(&input, &out).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Prints what was rendered: the call per pair with its confidence and the Wasm-minus-Lua CPU
/// interval it rests on, and which data were missing.
pub fn print_summary(summary: &RenderSummary) {
    for p in &summary.pairs {
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
    }
    for m in &summary.missing {
        println!("  missing: {} ({}): {}", m.what, m.path.display(), m.how);
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
            failures: r.failure_lines(),
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
