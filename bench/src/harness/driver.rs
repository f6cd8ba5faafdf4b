//! One driver for both hosts: load a pair's twins, run scenarios or generated exchanges through
//! them, and compare. This is what `filterbench verify --in-process`, `filterbench run`, the
//! equivalence tests and the benches use.

use filterbench_model::catalogue::{Catalogue, Pair};
use filterbench_model::corpus::Corpus;
use filterbench_model::outcome::{Diff, DiffLine, Outcome};
use filterbench_model::TwinKind;
use filterbench_model::{now_ms, replay};

use super::calls::CallBook;
use super::lua::LuaFilter;
use super::wasm::{Metering, WasmFilter};
use super::{Env, Exchange, FilterError, FilterVm, Phase};

/// Which twin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Lua,
    Wasm,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Lua => "lua",
            Side::Wasm => "wasm",
        }
    }
}

/// A pair's two twins, loaded (script checked, module compiled) once; VMs are made from them.
/// The `wasm` side is the Rust Wasm twin, or another proxy-wasm kind ([`LoadedPair::load_twin`]).
pub struct LoadedPair {
    pub pair: Pair,
    pub lua: LuaFilter,
    pub wasm: WasmFilter,
    /// The kind of the `wasm` side.
    pub twin: TwinKind,
}

impl LoadedPair {
    pub fn load(
        catalogue: &Catalogue,
        pair: &Pair,
    ) -> Result<LoadedPair, filterbench_model::Error> {
        LoadedPair::load_with(catalogue, pair, Metering::Fuel)
    }

    /// [`LoadedPair::load`] with a choice of Wasm instruction metering (benches: none).
    pub fn load_with(
        catalogue: &Catalogue,
        pair: &Pair,
        metering: Metering,
    ) -> Result<LoadedPair, filterbench_model::Error> {
        let wasm_path = catalogue.wasm_module_path(&pair.name);
        let bytes = catalogue.wasm_module(&pair.name)?;
        LoadedPair::load_module(
            catalogue,
            pair,
            TwinKind::Wasm,
            &wasm_path,
            &bytes,
            metering,
        )
    }

    /// The Lua filter and the pair's twin of `kind`, which must run in-process (a proxy-wasm
    /// kind); a clear error naming the pair otherwise.
    pub fn load_twin(
        catalogue: &Catalogue,
        pair: &Pair,
        kind: TwinKind,
    ) -> Result<LoadedPair, filterbench_model::Error> {
        if !kind.runs_in_process() {
            return Err(filterbench_model::Error::invalid(
                catalogue.layout.source_dir(kind).join(&pair.name),
                format!(
                    "pair {:?}: a {} twin runs in real Envoy only (use `verify --envoy`)",
                    pair.name,
                    kind.label()
                ),
            ));
        }
        let (path, bytes) = twin_module(catalogue, &pair.name, kind)?;
        LoadedPair::load_module(catalogue, pair, kind, &path, &bytes, Metering::Fuel)
    }

    fn load_module(
        catalogue: &Catalogue,
        pair: &Pair,
        twin: TwinKind,
        wasm_path: &std::path::Path,
        bytes: &[u8],
        metering: Metering,
    ) -> Result<LoadedPair, filterbench_model::Error> {
        let lua_path = catalogue.lua_path(&pair.name);
        let source = catalogue.lua_source(&pair.name)?;
        let lua = LuaFilter::load(&pair.name, &source)
            .map_err(|e| filterbench_model::Error::invalid(&lua_path, e.to_string()))?;
        let wasm = WasmFilter::compile_with(&pair.name, bytes, metering)
            .map_err(|e| filterbench_model::Error::invalid(wasm_path, e.to_string()))?;
        Ok(LoadedPair {
            pair: pair.clone(),
            lua,
            wasm,
            twin,
        })
    }

    /// A fresh VM of one twin.
    pub fn vm(&self, side: Side, env: Env) -> Result<Box<dyn FilterVm>, FilterError> {
        Ok(match side {
            Side::Lua => Box::new(self.lua.vm(env)?),
            Side::Wasm => Box::new(self.wasm.vm(env)?),
        })
    }

    /// The environment both twins get for a corpus run: the pair's config, the corpus' auth
    /// replies, the real clock (the corpus' `now_ms` checks want real time). Calls to the
    /// clusters of the corpus' call scripts get 404 until [`LoadedPair::corpus_env_with_calls`]'s
    /// book is given a scenario's scripts.
    pub fn corpus_env(&self, corpus: &Corpus) -> Env {
        self.corpus_env_with_calls(corpus).0
    }

    /// [`LoadedPair::corpus_env`] and the book whose scripts answer the calls (set per scenario).
    pub fn corpus_env_with_calls(&self, corpus: &Corpus) -> (Env, CallBook) {
        self.corpus_env_under(corpus, self.pair.config_json())
    }

    /// [`LoadedPair::corpus_env_with_calls`] under `config` (one of the pair's configurations,
    /// as JSON) instead of `default`.
    pub fn corpus_env_under(&self, corpus: &Corpus, config: serde_json::Value) -> (Env, CallBook) {
        let book = CallBook::for_corpus(corpus);
        let mut env = Env::new(config);
        env.responder = book.responder(corpus.auth_replies());
        (env, book)
    }
}

/// The built module of pair `name`'s twin of `kind` (a proxy-wasm kind): its path and bytes,
/// checked to be there and a Wasm binary ([`Catalogue::checked_twin`]).
pub fn twin_module(
    catalogue: &Catalogue,
    name: &str,
    kind: TwinKind,
) -> Result<(std::path::PathBuf, Vec<u8>), filterbench_model::Error> {
    let twin = catalogue.checked_twin(name, kind)?;
    let bytes = std::fs::read(&twin.artefact).map_err(|source| filterbench_model::Error::Io {
        path: twin.artefact.clone(),
        source,
    })?;
    Ok((twin.artefact, bytes))
}

/// One scenario's in-process result.
#[derive(Debug, Clone)]
pub struct InProcessResult {
    pub scenario: String,
    pub lua: Result<Outcome, FilterError>,
    pub wasm: Result<Outcome, FilterError>,
    pub diff: Vec<DiffLine>,
    pub lua_misses: Vec<String>,
    pub wasm_misses: Vec<String>,
}

impl InProcessResult {
    pub fn passed(&self) -> bool {
        self.lua.is_ok()
            && self.wasm.is_ok()
            && self.diff.is_empty()
            && self.lua_misses.is_empty()
            && self.wasm_misses.is_empty()
    }
}

fn error_outcome(e: &FilterError) -> Outcome {
    Outcome {
        status: 0,
        body: format!("(filter error: {e})"),
        ..Outcome::default()
    }
}

/// Runs the whole corpus, each configuration's scenarios ([`Corpus::by_config`]) through one Lua
/// VM and one Wasm VM configured with it (state carries across those scenarios, as in one Envoy
/// worker), comparing normalised outcomes and checking expectations.
pub fn run_corpus(
    loaded: &LoadedPair,
    corpus: &Corpus,
) -> Result<Vec<InProcessResult>, FilterError> {
    let parts = corpus
        .by_config(&loaded.pair)
        .map_err(|e| load_error(&loaded.pair.name, e.to_string()))?;
    let mut results = Vec::new();
    for part in parts {
        results.extend(run_part(loaded, &part.corpus, part.config)?);
    }
    Ok(results)
}

/// Every scenario of `corpus` through one Lua VM and one Wasm VM configured with `config`.
fn run_part(
    loaded: &LoadedPair,
    corpus: &Corpus,
    config: serde_json::Value,
) -> Result<Vec<InProcessResult>, FilterError> {
    let (env, book) = loaded.corpus_env_under(corpus, config);
    let mut lua = loaded.vm(Side::Lua, env.clone())?;
    let mut wasm = loaded.vm(Side::Wasm, env)?;
    let mut results = Vec::new();
    for step in replay::steps(corpus) {
        let exchange = Exchange::from_scenario(step.scenario);
        book.set(&step.scenario.calls);
        let sent = now_ms();
        let l = lua.run(&exchange);
        let w = wasm.run(&exchange);
        let (lo, wo) = (
            l.as_ref().cloned().unwrap_or_else(error_outcome),
            w.as_ref().cloned().unwrap_or_else(error_outcome),
        );
        let diff = step.diff(&loaded.pair.normalise, &lo, &wo);
        results.push(InProcessResult {
            lua_misses: step.misses(&lo, sent),
            wasm_misses: step.misses(&wo, sent),
            scenario: step.label,
            lua: l,
            wasm: w,
            diff: diff.lines,
        });
    }
    Ok(results)
}

/// Runs a sequence of exchanges through fresh VMs of both twins and returns the first
/// difference (index, diff lines), if any.
pub fn diff_sequence(
    loaded: &LoadedPair,
    env: &Env,
    exchanges: &[Exchange],
) -> Result<Option<(usize, Vec<DiffLine>)>, FilterError> {
    let mut lua = loaded.vm(Side::Lua, env.clone())?;
    let mut wasm = loaded.vm(Side::Wasm, env.clone())?;
    for (i, ex) in exchanges.iter().enumerate() {
        let lo = lua.run(ex).unwrap_or_else(|e| error_outcome(&e));
        let wo = wasm.run(ex).unwrap_or_else(|e| error_outcome(&e));
        let diff = Diff::between(
            &lo.normalised(&loaded.pair.normalise, &ex.headers),
            &wo.normalised(&loaded.pair.normalise, &ex.headers),
        );
        if !diff.is_empty() {
            return Ok(Some((i, diff.lines)));
        }
    }
    Ok(None)
}

/// A load-phase error for a filter given by path (`filterbench run --lua/--wasm`).
pub fn load_error(filter: &str, message: impl Into<String>) -> FilterError {
    FilterError {
        filter: filter.to_string(),
        phase: Phase::Load,
        kind: super::FailureKind::Invalid,
        message: message.into(),
    }
}

/// The in-process corpus run as an equivalence report, in the same shape as the real-Envoy one:
/// each configuration's scenarios under it, counted per configuration when the pair has several.
/// A filter error (the VM could not go on) counts as a miss on that side.
pub fn in_process_report(
    loaded: &LoadedPair,
    corpus: &Corpus,
) -> Result<filterbench_model::equivalence::PairReport, filterbench_model::Error> {
    let pair = &loaded.pair;
    let mut parts = Vec::new();
    for part in corpus.by_config(pair)? {
        let report = part_report(loaded, &part.corpus, part.config)?;
        parts.push((part.name, report));
    }
    Ok(filterbench_model::equivalence::PairReport::of_configs(
        &pair.name,
        &pair.configurations(),
        parts,
        pair.has_several_configs(),
    ))
}

/// One configuration's scenarios as an equivalence report.
fn part_report(
    loaded: &LoadedPair,
    corpus: &Corpus,
    config: serde_json::Value,
) -> Result<filterbench_model::equivalence::PairReport, filterbench_model::Error> {
    let results = run_part(loaded, corpus, config)
        .map_err(|e| filterbench_model::Error::invalid(&corpus.path, e.to_string()))?;
    let requests = results.len();
    let reports = results
        .into_iter()
        .map(|r| {
            let mut lua_misses = r.lua_misses;
            let mut wasm_misses = r.wasm_misses;
            if let Err(e) = &r.lua {
                lua_misses.insert(0, format!("filter error: {e}"));
            }
            if let Err(e) = &r.wasm {
                wasm_misses.insert(0, format!("filter error: {e}"));
            }
            filterbench_model::equivalence::ScenarioReport {
                scenario: r.scenario,
                diff: r.diff,
                lua_misses,
                wasm_misses,
                lua: r.lua.unwrap_or_else(|e| error_outcome(&e)),
                wasm: r.wasm.unwrap_or_else(|e| error_outcome(&e)),
            }
        })
        .collect();
    Ok(filterbench_model::equivalence::PairReport::new(
        &loaded.pair.name,
        corpus.scenarios.len(),
        requests,
        reports,
    )
    .of_twin(loaded.twin))
}
