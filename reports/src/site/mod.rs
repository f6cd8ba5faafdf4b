//! The static report: `index.html` (one row per pair), `pairs/<pair>.html` (charts, equivalence,
//! the decision tree with the path taken), `claims.html` (the quoted operation table beside ours).
//!
//! Self-contained: inline CSS and SVG, no script, no network. Every chart comes from a measured
//! result file; where one is missing the page says which file (`<p class="missing">`). A corrupt
//! or wrong-version file fails the whole render with an error naming the file, and because the
//! site is rendered into a temporary directory next to the output and swapped in only when it is
//! complete, a failed render leaves the previous report untouched.
//!
//! Hooks for a browser test: `<main data-page="index|pair|claims">`, `<svg class="chart"
//! data-chart="latency|overhead|throughput|cpu|memory|inprocess|claims|tree">`, index rows
//! `<tr data-pair="NAME" data-verdict="migrate|keep_lua|migrate_if_capability_needed|too_close_to_call">`,
//! tree nodes `<g data-node="ID" data-taken="true|false">`, claims rows
//! `<tr data-op="OP" data-claim="held|direction_only|not_held|cannot_judge">`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::charts::{self, Chart, ChartError, Series, BASE_COLOR, LUA_COLOR, WASM_COLOR};
use crate::claims;
use crate::decision::{decide, Leaf, Policy, Recommendation, Verdict};
use crate::evidence::{DataKind, Missing, PairEvidence, PairInput, ResultSet};
use crate::html::{self, esc, Cell, PageKind};
use crate::results::{bench_summary_path, load_path, ReadError};

mod load;

pub use load::{interval_words, method_words};

/// Everything the CLI hands over.
#[derive(Debug, Clone)]
pub struct SiteInput {
    /// `reports/results` (see [`crate::results::results_dir`]).
    pub results_dir: PathBuf,
    /// How the pages name the results directory: relative to the project or workspace (for
    /// example `reports/results`), never a path of the machine the site was rendered on.
    pub results_shown: PathBuf,
    /// The pairs to report, in the order of the index; from the catalogue.
    pub pairs: Vec<PairInput>,
    pub policy: Policy,
    /// Where the policy came from, shown on the pages (e.g. `reports/policy.toml`).
    pub policy_source: String,
    /// When the report is rendered, ms since the Unix epoch ([`crate::results::now_ms`]); passed
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
}

/// Why the report was not rendered; the previous report, if any, is untouched.
#[derive(Debug)]
pub enum RenderError {
    /// A result file exists but cannot be used (corrupt, wrong schema version, wrong pair).
    Read(ReadError),
    /// The caller's input is unusable (a pair name that cannot be a file name, duplicates).
    Input(String),
    Chart(ChartError),
    /// Writing the site failed.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenderError::Read(e) => write!(f, "{e}"),
            RenderError::Input(e) => write!(f, "report input: {e}"),
            RenderError::Chart(e) => write!(f, "{e}"),
            RenderError::Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for RenderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RenderError::Read(e) => Some(e),
            RenderError::Chart(e) => Some(e),
            RenderError::Io { error, .. } => Some(error),
            RenderError::Input(_) => None,
        }
    }
}

impl From<ReadError> for RenderError {
    fn from(e: ReadError) -> Self {
        RenderError::Read(e)
    }
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

/// Reads the results under `input.results_dir`, decides every pair and writes the site to `out`
/// (replacing what was there only once the new site is complete).
pub fn render(input: &SiteInput, out: &Path) -> Result<RenderSummary, RenderError> {
    check_names(&input.pairs)?;
    let names: Vec<&str> = input.pairs.iter().map(|p| p.name.as_str()).collect();
    let results = ResultSet::read(&input.results_dir, &names)?.shown_as(&input.results_shown);

    let mut pages: Vec<(PathBuf, String)> = Vec::new();
    let mut outcomes = Vec::new();
    let mut rows = Vec::new();
    for pair in &input.pairs {
        let ev = results.evidence(pair);
        let rec = decide(&ev.evidence, &input.policy);
        let page = PathBuf::from("pairs").join(format!("{}.html", page_slug(&pair.name)));
        pages.push((page.clone(), pair_page(input, &results, pair, &ev, &rec)?));
        rows.push(index_row(&results, pair, &ev, &rec, &page));
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

    write_site(out, &pages)?;
    Ok(RenderSummary {
        out: out.to_path_buf(),
        pages: pages.into_iter().map(|(p, _)| p).collect(),
        pairs: outcomes,
        missing,
    })
}

fn check_names(pairs: &[PairInput]) -> Result<(), RenderError> {
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
// index.html

fn verdict_html(v: Verdict) -> String {
    format!(
        "<span class=\"verdict-{}\">{}</span>",
        v.id(),
        esc(v.label())
    )
}

/// The call with its confidence: `keep Lua (97%)`, or `too close to call (62% migrate to Wasm /
/// 38% keep Lua)`.
fn call_html(rec: &Recommendation) -> String {
    let conf = match (&rec.confidence, rec.call) {
        (Some(c), Verdict::TooCloseToCall) => format!(" ({})", c.split_words()),
        (Some(c), _) => format!(" ({:.0}% of resamples)", c.share * 100.0),
        (None, _) => String::new(),
    };
    format!("{}{}", verdict_html(rec.call), esc(&conf))
}

fn equivalence_words(ev: &PairEvidence) -> String {
    match &ev.equivalence {
        None => "not checked".into(),
        Some(e) if e.result.equivalent => format!(
            "equivalent on {} scenarios ({})",
            e.result.scenarios,
            e.source.words()
        ),
        Some(e) => format!(
            "DIFFERS: {} difference line(s) over {} scenarios ({})",
            e.result.failures.len(),
            e.result.scenarios,
            e.source.words()
        ),
    }
}

fn index_row(
    results: &ResultSet,
    pair: &PairInput,
    ev: &PairEvidence,
    rec: &Recommendation,
    page: &Path,
) -> (String, Vec<Cell>) {
    let costs = rec.costs.as_ref();
    let cpu = |f: fn(&crate::decision::Costs) -> Option<crate::stats::Interval>| {
        interval_words(costs.and_then(f))
    };
    let memory = ev.memory.as_ref().map_or("n/a".to_string(), |m| {
        format!("{} MiB", html::signed(m.mib))
    });
    let in_process = results
        .pair_bench(&pair.name)
        .map_or("n/a".to_string(), |b| {
            format!(
                "{} / {}",
                html::num(b.lua.median_ns),
                html::num(b.wasm.median_ns)
            )
        });
    let link = format!(
        "<a href=\"{}\">{}</a>",
        esc(&page.to_string_lossy()),
        esc(&pair.name)
    );
    (
        format!(
            "data-pair=\"{}\" data-verdict=\"{}\"",
            esc(&pair.name),
            rec.call.id()
        ),
        vec![
            Cell::Html(link),
            Cell::Text(pair.description.clone()),
            Cell::Html(call_html(rec)),
            Cell::Num(cpu(|c| c.lua_cpu_us)),
            Cell::Num(cpu(|c| c.wasm_cpu_us)),
            Cell::Num(cpu(|c| c.wasm_minus_lua_cpu_us)),
            Cell::Num(cpu(|c| c.wasm_minus_lua_latency_us[0])),
            Cell::Num(memory),
            Cell::Num(in_process),
            Cell::Text(equivalence_words(ev)),
        ],
    )
}

fn index_page(input: &SiteInput, results: &ResultSet, rows: Vec<(String, Vec<Cell>)>) -> String {
    let mut b = String::new();
    b.push_str(&html::para(
        "Should each Envoy Lua filter become a Rust proxy-wasm plugin? Every pair below is a Lua \
         filter and its Wasm twin. The recommendation comes from the decision tree on each pair's \
         page, fed by the measurements and the thresholds of the policy.",
    ));
    b.push_str("<h2>Recommendations</h2>\n");
    b.push_str(&html::table(
        &[
            "pair",
            "what it does",
            "recommendation (confidence)",
            "Lua adds, Envoy CPU µs per request",
            "Wasm adds, Envoy CPU µs per request",
            "Wasm − Lua, CPU µs per request",
            "Wasm − Lua, p50 latency µs",
            "Wasm memory per worker over Lua",
            "in-process Lua / Wasm (ns per request)",
            "equivalence",
        ],
        &rows,
    ));
    b.push_str(&html::note(&format!(
        "Costs: real Envoy, 1 worker, median [95% interval] of what each filter adds over the \
         baseline Envoy (router only) in the same round. {} Confidence: the share of {} \
         bootstrap resamples of the rounds on which the decision tree reaches the same verdict; \
         below {:.0}% the verdict reads \"too close to call\" with the split. Memory per worker: \
         how much more resident memory each Envoy worker costs with the Wasm filter than with \
         the Lua one. In-process: one full request through each twin without Envoy (wasmtime \
         and LuaJIT, not Envoy's V8): see each pair's page for where the two disagree.",
        method_words(),
        input.policy.confidence.resamples,
        input.policy.confidence.min_share * 100.0
    )));
    b.push_str(&load::mechanism_section(
        results.passthrough.as_ref(),
        &load_path(&results.dir, crate::evidence::PASSTHROUGH),
    ));
    b.push_str("<h2>When a filter fails: Envoy's answer per failure strategy</h2>\n");
    match &results.failure {
        Some(record) => b.push_str(&crate::failure::render_table(record)),
        None => b.push_str(&html::para(
            "Not measured in this result set: `filterbench verify --envoy --failure-strategy` \
             measures what Envoy does when a Wasm module traps under FAIL_CLOSE, FAIL_OPEN and \
             FAIL_RELOAD, and when a Lua script raises.",
        )),
    }
    b.push_str(
        "<p>Also: <a href=\"claims.html\">the widely quoted Lua-vs-Wasm operation table, checked</a>.</p>\n",
    );

    b.push_str("<h2>Where and when the numbers come from</h2>\n");
    let mut src_rows = Vec::new();
    let path = |p: &Path| Cell::Html(format!("<code>{}</code>", esc(&p.display().to_string())));
    match &results.bench {
        Some(s) => src_rows.push((
            String::new(),
            vec![
                path(&bench_summary_path(&results.dir)),
                Cell::Text(format!("in-process benchmarks (profile {})", s.profile)),
                Cell::Text(html::utc(s.created_ms)),
                Cell::Text(machine_words(
                    &s.machine.cpu_model,
                    s.machine.cpus,
                    s.machine.memory_bytes,
                )),
                Cell::Text("no Envoy (LuaJIT and wasmtime hosts)".into()),
            ],
        )),
        None => b.push_str(&html::missing(&Missing {
            kind: DataKind::InProcess,
            path: bench_summary_path(&results.dir),
            what: "no in-process benchmark results".into(),
            how: "`filterbench bench`".into(),
        })),
    }
    for (mode, record) in [
        ("envoy", &results.verify_envoy),
        ("in_process", &results.verify_in_process),
    ] {
        if let Some(r) = record {
            src_rows.push((
                String::new(),
                vec![
                    path(&crate::results::verify_path(&results.dir, mode)),
                    Cell::Text(format!("equivalence ({} pairs)", r.pairs.len())),
                    Cell::Text(html::utc(r.created_ms)),
                    Cell::Text("—".into()),
                    Cell::Text(
                        r.envoy_version
                            .clone()
                            .map_or("no Envoy (in-process)".into(), |v| format!("Envoy {v}")),
                    ),
                ],
            ));
        }
    }
    if results.verify_envoy.is_none() && results.verify_in_process.is_none() {
        b.push_str(&html::missing(&Missing {
            kind: DataKind::Equivalence,
            path: crate::results::verify_path(&results.dir, "envoy"),
            what: "no equivalence results (nor in the in_process.json beside it)".into(),
            how: "`filterbench verify --envoy --save`".into(),
        }));
    }
    for (pair, load) in &results.loads {
        if let Some(l) = load {
            src_rows.push((
                String::new(),
                vec![
                    path(&load_path(&results.dir, pair)),
                    Cell::Text(format!(
                        "real-Envoy load{}",
                        if l.partial {
                            " (PARTIAL: the run was stopped early)"
                        } else {
                            ""
                        }
                    )),
                    Cell::Text(html::utc(l.started_ms)),
                    Cell::Text(machine_words(
                        &l.machine.cpu_model,
                        l.machine.cpus,
                        l.machine.memory_bytes,
                    )),
                    Cell::Text(format!("Envoy {}", l.envoy_version)),
                ],
            ));
        }
    }
    if !src_rows.is_empty() {
        b.push_str(&html::table(
            &["file", "what", "measured (UTC)", "machine", "versions"],
            &src_rows,
        ));
    }
    b.push_str(&policy_html(input));
    b.push_str(&html::note(&format!(
        "Rendered {} from {}.",
        html::utc(input.rendered_ms),
        input.results_shown.display()
    )));
    html::page(
        PageKind::Index,
        "Lua or Wasm? Recommendations per filter",
        "",
        &b,
    )
}

fn machine_words(cpu_model: &str, cpus: usize, memory_bytes: u64) -> String {
    format!(
        "{cpu_model}, {cpus} cores, {} memory",
        html::gib(memory_bytes)
    )
}

fn policy_html(input: &SiteInput) -> String {
    let p = &input.policy;
    let mut b = format!("<h2>Policy ({})</h2>\n", esc(&input.policy_source));
    let row = |k: &str, v: String| (String::new(), vec![Cell::Text(k.into()), Cell::Num(v)]);
    b.push_str(&html::table(
        &["threshold", "value"],
        &[
            row(
                "the Lua filter matters unless its added Envoy CPU per request (whole interval) is below",
                format!("{} µs", p.lua_cost.min_cpu_us),
            ),
            row(
                "... and its added p50 latency (whole interval) is below",
                format!("{} µs", p.lua_cost.min_latency_us),
            ),
            row(
                "Wasm is cheaper when the whole interval of the CPU saving exceeds the larger of",
                format!(
                    "{} µs and {}% of Lua's added cost",
                    p.saving.min_cpu_us, p.saving.min_pct
                ),
            ),
            row(
                "Wasm's extra memory per worker over Lua at most",
                format!("{} MiB", p.memory.max_extra_mib_per_worker),
            ),
            row(
                "a verdict needs this share of bootstrap resamples of the rounds",
                format!(
                    "{:.0}% of {}",
                    p.confidence.min_share * 100.0,
                    p.confidence.resamples
                ),
            ),
            row(
                "rounds: until the Wasm − Lua CPU interval's half-width is at most",
                format!(
                    "{} µs or {}% of the smaller added cost ({}-{} rounds, {} s per pair)",
                    p.measurement.target_half_width_us,
                    p.measurement.target_half_width_pct,
                    p.measurement.min_rounds,
                    p.measurement.max_rounds,
                    p.measurement.pair_budget_secs
                ),
            ),
            row(
                "the team knows Rust",
                if p.team.knows_rust { "yes" } else { "no" }.into(),
            ),
        ],
    ));
    b
}

// ---------------------------------------------------------------------------------------------
// pairs/<pair>.html

fn pair_page(
    input: &SiteInput,
    results: &ResultSet,
    pair: &PairInput,
    ev: &PairEvidence,
    rec: &Recommendation,
) -> Result<String, RenderError> {
    let name = &pair.name;
    let mut b = String::new();
    b.push_str(&html::para(&pair.description));
    let mut trait_rows: Vec<(String, Vec<Cell>)> = pair
        .traits
        .iter()
        .map(|(k, v)| {
            (
                String::new(),
                vec![Cell::Text(k.clone()), Cell::Text(v.clone())],
            )
        })
        .collect();
    trait_rows.push((
        String::new(),
        vec![
            Cell::Text("capability Lua lacks".into()),
            Cell::Text(
                pair.needs
                    .capability_gap
                    .clone()
                    .unwrap_or_else(|| "none".into()),
            ),
        ],
    ));
    b.push_str(&html::table(&["catalogue trait", "value"], &trait_rows));

    // The recommendation and the tree.
    let _ = write!(
        b,
        "<h2>Recommendation: {}</h2>\n<ul class=\"reasons\">\n",
        call_html(rec)
    );
    for r in &rec.reasons {
        let _ = writeln!(b, "<li>{}</li>", esc(r));
    }
    b.push_str("</ul>\n<h3>The path through the decision tree</h3>\n");
    b.push_str(&html::table(
        &["question", "answer", "the numbers behind it"],
        &rec.path
            .iter()
            .map(|s| {
                (
                    format!("data-step=\"{}\"", esc(&s.id)),
                    vec![
                        Cell::Text(s.question.clone()),
                        Cell::Text(s.answer.clone()),
                        Cell::Text(s.evidence.clone()),
                    ],
                )
            })
            .collect::<Vec<_>>(),
    ));
    b.push_str(&charts::tree(&rec.path, rec.leaf));
    b.push_str(&html::note(&format!(
        "Thresholds from {}; the highlighted boxes are the questions asked for this pair, with \
         the measured numbers under them.",
        input.policy_source
    )));

    // Equivalence.
    b.push_str("<h2>Equivalence of the twins</h2>\n");
    match &ev.equivalence {
        Some(e) => {
            b.push_str(&html::para(&format!(
                "{} (checked {}, {}{}).",
                equivalence_words(ev),
                html::utc(e.created_ms),
                e.source.words(),
                e.envoy_version
                    .as_ref()
                    .map_or(String::new(), |v| format!(", Envoy {v}"))
            )));
            if !e.result.failures.is_empty() {
                b.push_str("<ul class=\"failures\">\n");
                for f in &e.result.failures {
                    let _ = writeln!(b, "<li>{}</li>", esc(f));
                }
                b.push_str("</ul>\n");
            }
        }
        None => {
            for m in ev
                .missing
                .iter()
                .filter(|m| m.kind == DataKind::Equivalence)
            {
                b.push_str(&html::missing(m));
            }
        }
    }

    // Real Envoy.
    b.push_str("<h2>In real Envoy, under load</h2>\n");
    let load_file = load_path(&results.dir, name);
    match results.load(name) {
        None => {
            for m in ev.missing.iter().filter(|m| m.kind == DataKind::Load) {
                b.push_str(&html::missing(m));
            }
        }
        Some(l) => b.push_str(&load::load_section(l, ev, &load_file)?),
    }

    // The live switch, when it was measured for this pair (`filterbench swap`).
    let swap_file = crate::swap::swap_path(&input.results_dir, name);
    match crate::swap::read_swap(&swap_file) {
        Ok(r) => b.push_str(
            &crate::swap::render_section(Some(&r), &crate::swap::swap_path(&results.dir, name))
                .map_err(RenderError::Chart)?,
        ),
        Err(ReadError::Missing(_)) => {}
        Err(e) => return Err(RenderError::Read(e)),
    }

    // In-process.
    b.push_str("<h2>In-process, one request per iteration</h2>\n");
    b.push_str(&in_process_section(results, name)?);
    b.push_str(&drivers_side_by_side(results, name, rec));

    Ok(html::page(
        PageKind::Pair,
        &format!("{name}: Lua or Wasm?"),
        "../",
        &b,
    ))
}

/// Which way a difference points, only when its interval says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    WasmCheaper,
    LuaCheaper,
    Unclear,
}

impl Direction {
    fn words(self) -> &'static str {
        match self {
            Direction::WasmCheaper => "Wasm is cheaper",
            Direction::LuaCheaper => "Lua is cheaper",
            Direction::Unclear => "no measurable difference",
        }
    }
}

/// The in-process difference (wasmtime, LuaJIT) beside the real-Envoy one (V8, LuaJIT), and
/// whether their directions agree.
fn drivers_side_by_side(results: &ResultSet, name: &str, rec: &Recommendation) -> String {
    let envoy = rec
        .costs
        .as_ref()
        .and_then(|c| c.wasm_minus_lua_cpu_us)
        .map(|d| {
            let dir = if d.high < 0.0 {
                Direction::WasmCheaper
            } else if d.low > 0.0 {
                Direction::LuaCheaper
            } else {
                Direction::Unclear
            };
            (dir, format!("{} µs of Envoy CPU per request", d.signed(1)))
        });
    let in_process = results.pair_bench(name).map(|pb| {
        let d = &pb.paired.wasm_minus_lua_ns;
        let dir = if d.high < 0.0 {
            Direction::WasmCheaper
        } else if d.low > 0.0 {
            Direction::LuaCheaper
        } else {
            Direction::Unclear
        };
        (
            dir,
            format!(
                "{} [{}, {}] ns per request (paired, Wasm/Lua {:.2} [{:.2}, {:.2}])",
                html::signed(d.median),
                html::signed(d.low),
                html::signed(d.high),
                pb.paired.wasm_over_lua.median,
                pb.paired.wasm_over_lua.low,
                pb.paired.wasm_over_lua.high
            ),
        )
    });
    let mut b = String::from("<h2>The two drivers side by side</h2>\n");
    let (Some((e_dir, e_words)), Some((i_dir, i_words))) = (envoy, in_process) else {
        b.push_str(&html::para(
            "Needs both the real-Envoy rounds and the in-process benches (see the missing-data \
             notes above).",
        ));
        return b;
    };
    let verdict = if e_dir == i_dir {
        "The two agree.".to_string()
    } else {
        format!(
            "They DISAGREE: in-process {}, in Envoy {}. The in-process host runs Wasm on \
             wasmtime and none of Envoy's own work around a filter (coroutine per request for \
             Lua, context creation and ABI copies through V8 for Wasm); the decision uses the \
             real-Envoy figure.",
            i_dir.words(),
            e_dir.words()
        )
    };
    b.push_str(&html::para(&format!(
        "Wasm minus Lua in-process (wasmtime, LuaJIT): {i_words}: {}. In real Envoy (V8, \
         LuaJIT): {e_words}: {}. {verdict}",
        i_dir.words(),
        e_dir.words()
    )));
    b
}

fn in_process_section(results: &ResultSet, name: &str) -> Result<String, RenderError> {
    let file = bench_summary_path(&results.dir);
    let Some(summary) = &results.bench else {
        return Ok(html::missing(&Missing {
            kind: DataKind::InProcess,
            path: file,
            what: "no in-process benchmark results".into(),
            how: "`filterbench bench`".into(),
        }));
    };
    let Some(pb) = results.pair_bench(name) else {
        return Ok(html::missing(&Missing {
            kind: DataKind::InProcess,
            path: file,
            what: format!("no in-process numbers for `{name}`"),
            how: "`filterbench bench`".into(),
        }));
    };
    let mut b = String::new();
    let mut categories = vec![format!("{name} (full request)")];
    let mut rows = vec![pb];
    if let Some(base) = &summary.baseline {
        categories.push("pass-through filter (harness cost)".into());
        rows.push(base);
    }
    let series =
        |label: &str,
         color,
         pick: &dyn Fn(&crate::results::PairBench) -> crate::results::Estimate| {
            let mut s = Series::new(
                label,
                color,
                rows.iter().map(|r| Some(pick(r).median_ns)).collect(),
            );
            s.intervals = Some(
                rows.iter()
                    .map(|r| Some((pick(r).ci_low_ns, pick(r).ci_high_ns)))
                    .collect(),
            );
            s
        };
    b.push_str(&charts::bars(&Chart {
        id: "inprocess",
        title: "In-process time per request (median, 95% confidence interval)".into(),
        x_desc: "what is measured".into(),
        y_desc: "time per request, ns".into(),
        categories,
        x_positions: None,
        series: vec![
            series("Lua (LuaJIT)", LUA_COLOR, &|r| r.lua),
            series("Wasm (wasmtime)", WASM_COLOR, &|r| r.wasm),
        ],
        reference: None,
    })?);
    b.push_str(&html::para(&format!(
        "Lua {} ns [{} – {}], Wasm {} ns [{} – {}] per request: Wasm is {:.2}x {} in-process \
         (criterion, profile {}, {}).",
        html::num(pb.lua.median_ns),
        html::num(pb.lua.ci_low_ns),
        html::num(pb.lua.ci_high_ns),
        html::num(pb.wasm.median_ns),
        html::num(pb.wasm.ci_low_ns),
        html::num(pb.wasm.ci_high_ns),
        if pb.wasm.median_ns <= pb.lua.median_ns {
            pb.lua.median_ns / pb.wasm.median_ns.max(1e-9)
        } else {
            pb.wasm.median_ns / pb.lua.median_ns.max(1e-9)
        },
        if pb.wasm.median_ns <= pb.lua.median_ns {
            "faster"
        } else {
            "slower"
        },
        summary.profile,
        html::utc(summary.created_ms)
    )));
    let est =
        |e: &crate::results::Estimate| Cell::Num(format!("{} µs", html::num(e.median_ns / 1000.0)));
    if let Some(s) = summary.startup.iter().find(|s| s.pair == name) {
        b.push_str(&html::table(
            &["start-up step", "median"],
            &[
                (
                    String::new(),
                    vec![
                        Cell::Text("Lua: state + script load".into()),
                        est(&s.lua_load),
                    ],
                ),
                (
                    String::new(),
                    vec![
                        Cell::Text("Wasm: module compile (once per module)".into()),
                        est(&s.wasm_compile),
                    ],
                ),
                (
                    String::new(),
                    vec![
                        Cell::Text(
                            "Wasm: instantiate + start + configure (once per worker)".into(),
                        ),
                        est(&s.wasm_instantiate),
                    ],
                ),
            ],
        ));
    }
    if let Some(m) = summary.memory.iter().find(|m| m.pair == name) {
        let kib = |x: u64| Cell::Num(format!("{} KiB", html::num(x as f64 / 1024.0)));
        b.push_str(&html::table(
            &[
                "VM memory",
                "after start",
                &format!("after {} requests", m.requests),
            ],
            &[
                (
                    String::new(),
                    vec![
                        Cell::Text("Lua (used_memory)".into()),
                        kib(m.lua_after_start_bytes),
                        kib(m.lua_after_requests_bytes),
                    ],
                ),
                (
                    String::new(),
                    vec![
                        Cell::Text("Wasm (linear memory)".into()),
                        kib(m.wasm_after_start_bytes),
                        kib(m.wasm_after_requests_bytes),
                    ],
                ),
            ],
        ));
    }
    Ok(b)
}

// ---------------------------------------------------------------------------------------------
// claims.html

fn claims_page(results: &ResultSet) -> Result<(String, Vec<Missing>), RenderError> {
    let file = bench_summary_path(&results.dir);
    let mut b = String::new();
    b.push_str(&html::para(
        "Blog posts quote a table of Lua-vs-Wasm operation costs. Here it is beside the same \
         operations measured in-process on this machine (Lua and Wasm timed in alternating \
         batches, paired ratios with 95% bootstrap intervals).",
    ));
    b.push_str("<h2>The rule: when does a claim hold?</h2>\n<ul class=\"rule\">\n");
    for line in claims::RULE {
        let _ = writeln!(b, "<li>{}</li>", esc(line));
    }
    b.push_str("</ul>\n");
    b.push_str(&html::note(claims::INSTRUCTIONS_NOTE));
    let mut missing = Vec::new();
    let ops = results.bench.as_ref().map(|s| &s.operations);
    match ops {
        Some(ops) if !ops.is_empty() => {
            let checks: Vec<_> = ops.iter().map(claims::judge).collect();
            let rows: Vec<(String, Vec<Cell>)> = ops
                .iter()
                .zip(&checks)
                .map(|(o, c)| {
                    let ratio = |r: Option<f64>| r.map_or("n/a".into(), |r| format!("{r:.2}x"));
                    let ci = |e: &crate::results::Estimate| {
                        format!(
                            "{} [{} – {}]",
                            html::num(e.median_ns),
                            html::num(e.ci_low_ns),
                            html::num(e.ci_high_ns)
                        )
                    };
                    (
                        format!(
                            "data-op=\"{}\" data-claim=\"{}\"",
                            esc(&o.op),
                            c.outcome.id()
                        ),
                        vec![
                            Cell::Html(format!(
                                "<strong>{}</strong><br>{}",
                                esc(&o.op),
                                esc(&o.description)
                            )),
                            Cell::Num(html::num(o.claimed_lua_ns)),
                            Cell::Num(html::num(o.claimed_wasm_ns)),
                            Cell::Num(ratio(c.claimed_ratio)),
                            Cell::Num(ci(&o.lua)),
                            Cell::Num(ci(&o.wasm)),
                            Cell::Num(ratio(c.measured_ratio)),
                            Cell::Html(format!(
                                "<strong>{}</strong>: {}",
                                esc(c.outcome.words()),
                                esc(&c.why)
                            )),
                        ],
                    )
                })
                .collect();
            b.push_str("<h2>Claimed beside measured</h2>\n");
            b.push_str(&html::table(
                &[
                    "operation",
                    "claimed Lua, ns",
                    "claimed Wasm, ns",
                    "claimed ratio (Lua ÷ Wasm)",
                    "measured Lua, ns [95% CI]",
                    "measured Wasm, ns [95% CI]",
                    "measured ratio (Lua ÷ Wasm)",
                    "did the claim hold?",
                ],
                &rows,
            ));
            let held = checks
                .iter()
                .filter(|c| c.outcome == claims::Outcome::Held)
                .count();
            b.push_str(&html::para(&format!(
                "{held} of {} claims held by this rule.",
                checks.len()
            )));
            b.push_str(&charts::bars(&Chart {
                id: "claims",
                title: "How many times faster Wasm is than Lua, claimed vs measured".into(),
                x_desc: "operation".into(),
                y_desc: "Lua time ÷ Wasm time".into(),
                categories: ops.iter().map(|o| o.op.clone()).collect(),
                x_positions: None,
                series: vec![
                    Series::new(
                        "claimed",
                        BASE_COLOR,
                        checks.iter().map(|c| c.claimed_ratio).collect(),
                    ),
                    Series::new(
                        "measured",
                        WASM_COLOR,
                        checks.iter().map(|c| c.measured_ratio).collect(),
                    ),
                ],
                reference: Some((1.0, "1 = equal speed; above: Wasm faster")),
            })?);
            if let Some(s) = &results.bench {
                b.push_str(&html::note(&format!(
                    "Measured {} on {}, profile {}.",
                    html::utc(s.created_ms),
                    machine_words(&s.machine.cpu_model, s.machine.cpus, s.machine.memory_bytes),
                    s.profile
                )));
            }
        }
        _ => {
            let m = Missing {
                kind: DataKind::Operations,
                path: file,
                what: if results.bench.is_none() {
                    "no in-process benchmark results, so no measured operation table".into()
                } else {
                    "no operation measurements in this file".into()
                },
                how: "`filterbench bench`".into(),
            };
            b.push_str(&html::missing(&m));
            missing.push(m);
        }
    }
    Ok((
        html::page(
            PageKind::Claims,
            "The quoted Lua-vs-Wasm table, checked",
            "",
            &b,
        ),
        missing,
    ))
}

// ---------------------------------------------------------------------------------------------
// Writing: into a temp dir beside `out`, then swapped in.

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> RenderError + '_ {
    move |error| RenderError::Io {
        path: path.to_path_buf(),
        error,
    }
}

fn write_site(out: &Path, pages: &[(PathBuf, String)]) -> Result<(), RenderError> {
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

    let write_all = || -> Result<(), RenderError> {
        for (rel, text) in pages {
            let path = tmp.join(rel);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io_err(dir))?;
            }
            std::fs::write(&path, text).map_err(io_err(&path))?;
        }
        Ok(())
    };
    if let Err(e) = write_all() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
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
    Ok(())
}
