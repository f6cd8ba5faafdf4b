//! The static report: `index.html` (one row per pair), `pairs/<pair>.html` (charts, equivalence,
//! the decision tree with the path taken), `claims.html` (the quoted operation table beside ours).
//!
//! Self-contained: inline CSS and SVG, no script, no network. Every chart comes from a measured
//! result file; where one is missing the page says which file (`<p class="missing">`). A corrupt
//! or wrong-version file fails the whole render with an error naming the file, and because the
//! site is rendered into a temporary directory next to the output and swapped in only when it is
//! complete, a failed render leaves the previous report untouched. The output directory is
//! replaced only when it is a site this tool wrote (the marker file
//! [`filterbench_model::keep::SITE_MARKER`] is in every site), is empty or is missing; anything
//! else is refused, or with `--force` moved to a named backup beside it.
//!
//! Hooks for a browser test: `<main data-page="index|pair|claims">`, `<svg class="chart"
//! data-chart="latency|overhead|throughput|cpu|memory|inprocess|claims|tree">`, index rows
//! `<tr data-pair="NAME" data-verdict="migrate|keep_lua|migrate_if_capability_needed|prove_twin|too_close_to_call">`,
//! a pair page's statement that its Wasm twin is not measured or not proven
//! `<p data-twin="lua_only|unproven">` and its Lua-only costs `<p data-lua-only="asked|not_equivalent">`,
//! tree nodes `<g data-node="ID" data-taken="true|false">`, claims rows
//! `<tr data-op="OP" data-claim="held|direction_only|not_held|cannot_judge">`.
//!
//! One file per page: `index.rs` (`index.html`), `pair.rs` (`pairs/<pair>.html`; its real-Envoy
//! section in `load.rs`), `claims.rs` (`claims.html`); this file reads the results, decides each
//! pair and writes the site.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::charts::ChartError;
use crate::configs::ByConfiguration;
use crate::decision::{decide, Leaf, Policy, Verdict};
use crate::evidence::{Missing, ResultSet};
use filterbench_model::catalogue::Pair;
use filterbench_model::keep::{back_up, site_dir, SiteDir, SITE_MARKER, SITE_MARKER_TEXT};
use filterbench_model::results::ReadError;

mod claims;
mod index;
mod load;
mod pair;

pub use load::{interval_words, method_words};

use claims::claims_page;
use index::{index_page, index_row};
use pair::pair_page;

/// Everything the CLI hands over.
#[derive(Debug, Clone)]
pub struct SiteInput {
    /// `reports/results` (see [`filterbench_model::results::results_dir`]).
    pub results_dir: PathBuf,
    /// How the pages name the results directory: relative to the project or workspace (for
    /// example `reports/results`), never a path of the machine the site was rendered on.
    pub results_shown: PathBuf,
    /// The pairs to report, in the order of the index; from the catalogue.
    pub pairs: Vec<Pair>,
    pub policy: Policy,
    /// Where the policy came from, shown on the pages (e.g. `reports/policy.toml`).
    pub policy_source: String,
    /// When the report is rendered, ms since the Unix epoch ([`filterbench_model::now_ms`]); passed
    /// in so a render is a function of its inputs.
    pub rendered_ms: u64,
}

/// What a render wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenderSummary {
    /// The output directory.
    pub out: PathBuf,
    /// Pages written, relative to `out`.
    pub pages: Vec<PathBuf>,
    pub pairs: Vec<PairOutcome>,
    /// Data missing for the site as a whole (the claims table).
    pub missing: Vec<Missing>,
    /// Where what was at `out` went (`--force` on a directory this tool did not write).
    pub backup: Option<PathBuf>,
}

/// One pair's result in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairOutcome {
    pub name: String,
    /// Its page, relative to the output directory.
    pub page: PathBuf,
    /// What the tree says on all rounds.
    pub verdict: Verdict,
    /// What the report says: the verdict, or too close to call.
    pub call: Verdict,
    /// Share of resamples of the rounds reaching `verdict` (`None` without load rounds).
    pub confidence: Option<f64>,
    /// The split over verdicts, e.g. `62% migrate to Wasm / 38% keep Lua`.
    pub split: Option<String>,
    /// Wasm minus Lua, Envoy CPU per request, with its interval, in words.
    pub wasm_minus_lua_cpu: String,
    /// The decision tree's leaf.
    pub leaf: Leaf,
    pub missing: Vec<Missing>,
    /// For a pair with several configurations whose measured answers differ: the flag in words
    /// (the headline above is `default`'s).
    pub configs_differ: Option<String>,
}

/// Why the report was not rendered; the previous report, if any, is untouched.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A result file exists but cannot be used (corrupt, wrong schema version, wrong pair).
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The caller's input is unusable (a pair name that cannot be a file name, duplicates).
    #[error("report input: {0}")]
    Input(String),
    #[error(transparent)]
    Chart(ChartError),
    /// The output directory holds something this tool did not write; nothing was written.
    #[error(
        "{}: not a report filterbench wrote ({what}); nothing written (--force moves it to a \
         named backup beside it and writes the report there)",
        path.display()
    )]
    NotOurs { path: PathBuf, what: String },
    /// Writing the site failed.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
}

impl From<ChartError> for RenderError {
    fn from(e: ChartError) -> Self {
        RenderError::Chart(e)
    }
}

/// `reports/site` under the project root: the default output directory.
pub fn default_out(root: &Path) -> PathBuf {
    root.join("reports").join("site")
}

/// The page file name of a pair: the name with anything but `[A-Za-z0-9_.-]` replaced by `_`.
pub fn page_slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a render may do with an output directory that is not a site this tool wrote
/// ([`filterbench_model::keep::site_dir`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overwrite {
    /// Refuse it ([`RenderError::NotOurs`]), leaving it untouched.
    #[default]
    Refuse,
    /// Move it to a named backup beside it (`DIR.bak-<UTC time>`), then write the site (`--force`).
    BackUp,
}

/// Whether a render to `out` would be refused; checked before anything is measured or written.
pub fn check_out(out: &Path, overwrite: Overwrite) -> Result<(), RenderError> {
    match site_dir(out).map_err(io_err(out))? {
        SiteDir::Foreign(what) if overwrite == Overwrite::Refuse => Err(RenderError::NotOurs {
            path: out.to_path_buf(),
            what,
        }),
        _ => Ok(()),
    }
}

/// Reads the results under `input.results_dir`, decides every pair and writes the site to `out`
/// (replacing what was there only once the new site is complete, and only when it is a site this
/// tool wrote: [`render_to`] with [`Overwrite::Refuse`]).
pub fn render(input: &SiteInput, out: &Path) -> Result<RenderSummary, RenderError> {
    render_to(input, out, Overwrite::Refuse)
}

/// [`render`], saying what to do with an `out` this tool did not write.
pub fn render_to(
    input: &SiteInput,
    out: &Path,
    overwrite: Overwrite,
) -> Result<RenderSummary, RenderError> {
    check_out(out, overwrite)?;
    check_names(&input.pairs)?;
    let names: Vec<&str> = input.pairs.iter().map(|p| p.name.as_str()).collect();
    let results = ResultSet::read(&input.results_dir, &names)?
        .with_configs(&input.pairs)?
        .shown_as(&input.results_shown);

    let mut pages: Vec<(PathBuf, String)> = Vec::new();
    let mut outcomes = Vec::new();
    let mut rows = Vec::new();
    for pair in &input.pairs {
        let ev = results.evidence(pair);
        let rec = decide(&ev.evidence, &input.policy);
        // A pair with several configurations: the tree under each (the headline is `default`'s).
        let by_config = ByConfiguration::of(&results, pair, &input.policy);
        let page = PathBuf::from("pairs").join(format!("{}.html", page_slug(&pair.name)));
        pages.push((
            page.clone(),
            pair_page(input, &results, pair, &ev, &rec, by_config.as_ref())?,
        ));
        rows.push(index_row(
            &results,
            pair,
            &ev,
            &rec,
            &page,
            &input.policy.memory,
            by_config.as_ref(),
        ));
        outcomes.push(PairOutcome {
            name: pair.name.clone(),
            page,
            verdict: rec.verdict,
            call: rec.call,
            confidence: rec.confidence.as_ref().map(|c| c.share),
            split: rec.confidence.as_ref().map(|c| c.split_words()),
            wasm_minus_lua_cpu: interval_words(
                rec.costs.as_ref().and_then(|c| c.wasm_minus_lua_cpu_us),
            ),
            leaf: rec.leaf,
            missing: ev.missing.clone(),
            configs_differ: by_config.and_then(|b| b.flag_words()),
        });
    }
    let (claims_page, missing) = claims_page(&results)?;
    pages.push((PathBuf::from("claims.html"), claims_page));
    pages.insert(
        0,
        (
            PathBuf::from("index.html"),
            index_page(input, &results, rows),
        ),
    );

    let backup = write_site(out, &pages, overwrite)?;
    Ok(RenderSummary {
        out: out.to_path_buf(),
        pages: pages.into_iter().map(|(p, _)| p).collect(),
        pairs: outcomes,
        missing,
        backup,
    })
}

fn check_names(pairs: &[Pair]) -> Result<(), RenderError> {
    let mut slugs = std::collections::BTreeMap::new();
    for p in pairs {
        let n = &p.name;
        if n.is_empty() || n == "." || n == ".." || n.contains(['/', '\\', '\0']) {
            return Err(RenderError::Input(format!(
                "pair name {n:?} cannot name a result file"
            )));
        }
        if let Some(other) = slugs.insert(page_slug(n), n) {
            return Err(RenderError::Input(format!(
                "pairs {other:?} and {n:?} would share the page {}.html",
                page_slug(n)
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Writing: into a temp dir beside `out`, then swapped in.

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> RenderError + '_ {
    move |error| RenderError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Writes the site (and [`SITE_MARKER`]) beside `out`, then swaps it in; what was at `out` is
/// deleted only when it is a site this tool wrote, else refused or (with [`Overwrite::BackUp`])
/// moved to the backup returned.
fn write_site(
    out: &Path,
    pages: &[(PathBuf, String)],
    overwrite: Overwrite,
) -> Result<Option<PathBuf>, RenderError> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .ok_or_else(|| RenderError::Input(format!("{}: not a directory name", out.display())))?
        .to_string_lossy()
        .into_owned();
    std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let stamp = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let tmp = parent.join(format!(".{name}.new-{stamp}"));
    let old = parent.join(format!(".{name}.old-{stamp}"));

    if let Err(e) = write_pages(&tmp, pages) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // Looked at again now the new site is ready: what is there is replaced only if it is ours.
    let state = match site_dir(out) {
        Ok(state) => state,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(io_err(out)(e));
        }
    };
    if let SiteDir::Foreign(what) = state {
        return replace_foreign(out, &tmp, what, overwrite).map(Some);
    }
    let had_old = out.exists();
    if had_old {
        if let Err(e) = std::fs::rename(out, &old) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(io_err(out)(e));
        }
    }
    if let Err(e) = std::fs::rename(&tmp, out) {
        if had_old {
            let _ = std::fs::rename(&old, out);
        }
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(io_err(out)(e));
    }
    if had_old {
        // The new site is in place; a leftover old copy is only clutter.
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(None)
}

/// The pages and [`SITE_MARKER`] written below `dir`.
fn write_pages(dir: &Path, pages: &[(PathBuf, String)]) -> Result<(), RenderError> {
    for (rel, text) in pages {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        std::fs::write(&path, text).map_err(io_err(&path))?;
    }
    let marker = dir.join(SITE_MARKER);
    std::fs::write(&marker, SITE_MARKER_TEXT).map_err(io_err(&marker))?;
    Ok(())
}

/// A site at `out` that this tool did not write: refused (the new one at `tmp` removed), or
/// (with [`Overwrite::BackUp`]) moved to the backup returned and the new one renamed into place.
fn replace_foreign(
    out: &Path,
    tmp: &Path,
    what: String,
    overwrite: Overwrite,
) -> Result<PathBuf, RenderError> {
    if overwrite == Overwrite::Refuse {
        let _ = std::fs::remove_dir_all(tmp);
        return Err(RenderError::NotOurs {
            path: out.to_path_buf(),
            what,
        });
    }
    let backup = match back_up(out) {
        Ok(backup) => backup,
        Err(e) => {
            let _ = std::fs::remove_dir_all(tmp);
            return Err(io_err(out)(e));
        }
    };
    if let Err(e) = std::fs::rename(tmp, out) {
        let _ = std::fs::rename(&backup, out);
        let _ = std::fs::remove_dir_all(tmp);
        return Err(io_err(out)(e));
    }
    Ok(backup)
}
