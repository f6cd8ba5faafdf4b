//! From result files to the decision tree's [`Evidence`], per pair, with a note for every piece
//! of data that is missing (naming the file) instead of a made-up number.
//!
//! What a filter needs is the catalogue's ([`Pair`]'s traits and capability gap).
//!
//! Sources, per pair:
//! - equivalence: `verify/envoy.json` when it has the pair (real Envoy is the stronger proof),
//!   else `verify/in_process.json`; [`PairEvidence::equivalence`] says which;
//! - the paired open-loop rounds (Envoy CPU per request, p50/p90/p99) of base / Lua / Wasm at
//!   **one worker** from `load/<pair>.json` (base / Lua only in a Lua-only run, which says so:
//!   `LoadRun::lua_only`; a file whose variants and samples disagree is refused);
//! - Wasm's extra memory per worker from the same file's worker-count series, see
//!   [`memory_per_worker`];
//! - in-process ns per request (criterion medians) from `bench/summary.json`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::decision::{Costs, Evidence, PairedRounds, Triple, TwinEvidence};
use filterbench_model::catalogue::{Pair, DEFAULT_CONFIG};
use filterbench_model::results::{
    bench_summary_path, load_path, load_path_of, per_round_of, read_result, soak_path, verify_path,
    BenchSummary, LoadRun, PairBench, ReadError, Sample, SoakRun, Variant, VerifyPair,
    VerifyRecord, WorkersRun, BENCH_SCHEMA, LOAD_SCHEMA, SOAK_SCHEMA, VERIFY_SCHEMA,
};
use filterbench_model::stats::Interval;
use filterbench_model::TwinKind;

const MIB: f64 = 1024.0 * 1024.0;

/// The name of the pass-through run's load file (`load/passthrough.json`), which is not a pair.
pub const PASSTHROUGH: &str = "passthrough";

/// Which kind of data is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    Equivalence,
    /// Real-Envoy latency, throughput, CPU (the load file, or its 1-worker run).
    Load,
    /// The memory-vs-workers series.
    Memory,
    InProcess,
    /// The measured operation table (claims page).
    Operations,
}

/// A piece of data the report could not show, and the file it should have come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    pub kind: DataKind,
    /// The result file that is absent or lacks the data.
    pub path: PathBuf,
    /// What is missing, in words.
    pub what: String,
    /// The command that produces it.
    pub how: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} (produce it with {})",
            self.path.display(),
            self.what,
            self.how
        )
    }
}

/// Every result file of a run, read once. `None` for a file that does not exist; a file that
/// exists but cannot be used is an error.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultSet {
    /// The results directory as the pages name it: where it was read from, or, after
    /// [`ResultSet::shown_as`], a path relative to the project or workspace (the published site
    /// must not show the paths of the machine it was rendered on).
    pub dir: PathBuf,
    pub bench: Option<BenchSummary>,
    pub verify_envoy: Option<VerifyRecord>,
    pub verify_in_process: Option<VerifyRecord>,
    /// `verify/deployed.json`: the generated Istio manifests, translated as Istio does and served
    /// by real Envoy, checked against the verified twins.
    pub verify_deployed: Option<VerifyRecord>,
    /// `load/<pair>.json` per requested pair, in the order asked.
    pub loads: Vec<(String, Option<LoadRun>)>,
    /// `load/passthrough.json`: the pass-through Lua, Wasm and native filters, the fixed cost of each
    /// mechanism.
    pub passthrough: Option<LoadRun>,
    /// `failure/strategy.json`: Envoy's answer to a failing filter per failure strategy.
    pub failure: Option<filterbench_model::results::failure::FailureRecord>,
    /// `load/<pair>.config-<NAME>.json`: (pair, configuration, run) for each configuration other
    /// than `default` of the pairs given to [`ResultSet::with_configs`] (`default`'s run is
    /// [`ResultSet::loads`]).
    pub config_loads: Vec<(String, String, Option<LoadRun>)>,
    /// `soak/<pair>.json` per requested pair that has one (`filterbench load --soak SECS`, or
    /// `all --full`): each variant's Envoy memory through a long open-loop run.
    pub soaks: Vec<SoakRun>,
}

fn optional<T>(r: Result<T, ReadError>) -> Result<Option<T>, ReadError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ReadError::Missing(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

impl ResultSet {
    /// Reads `bench/summary.json`, `verify/{envoy,in_process}.json` and `load/<pair>.json` for
    /// each of `pairs` under `dir` (`reports/results`). A missing file is `None`; a corrupt file,
    /// one of another schema version, or one that holds another pair's or mode's results is an
    /// error naming the file.
    /// Names the results directory `shown` on the pages (every file path derived from it too).
    pub fn shown_as(mut self, shown: &Path) -> ResultSet {
        self.dir = shown.to_path_buf();
        self
    }

    pub fn read(dir: &Path, pairs: &[&str]) -> Result<ResultSet, ReadError> {
        let bench: Option<BenchSummary> =
            optional(read_result(&bench_summary_path(dir), BENCH_SCHEMA))?;
        let mut verify = Vec::new();
        for mode in ["envoy", "in_process", "deployed"] {
            let path = verify_path(dir, mode);
            let record: Option<VerifyRecord> = optional(read_result(&path, VERIFY_SCHEMA))?;
            if let Some(r) = &record {
                if r.mode != mode {
                    return Err(ReadError::Corrupt(
                        path,
                        format!("holds a `{}` run, expected `{mode}`", r.mode),
                    ));
                }
            }
            verify.push(record);
        }
        let verify_deployed = verify.pop().flatten();
        let verify_in_process = verify.pop().flatten();
        let verify_envoy = verify.pop().flatten();
        let mut loads = Vec::new();
        for pair in pairs {
            let path = load_path(dir, pair);
            let load: Option<LoadRun> = optional(read_result(&path, LOAD_SCHEMA))?;
            if let Some(l) = &load {
                if l.pair != *pair {
                    return Err(ReadError::Corrupt(
                        path,
                        format!("holds results of pair `{}`, expected `{pair}`", l.pair),
                    ));
                }
                l.check_variants()
                    .map_err(|e| ReadError::Corrupt(path.clone(), e))?;
            }
            loads.push((pair.to_string(), load));
        }
        let passthrough_path = load_path(dir, PASSTHROUGH);
        let passthrough: Option<LoadRun> = optional(read_result(&passthrough_path, LOAD_SCHEMA))?;
        if let Some(l) = &passthrough {
            l.check_variants()
                .map_err(|e| ReadError::Corrupt(passthrough_path.clone(), e))?;
        }
        let failure = optional(filterbench_model::results::failure::read(dir))?;
        let mut soaks = Vec::new();
        for pair in pairs {
            let path = soak_path(dir, pair);
            if let Some(run) = optional(read_result::<SoakRun>(&path, SOAK_SCHEMA))? {
                if run.pair != *pair {
                    return Err(ReadError::Corrupt(
                        path,
                        format!("holds a soak of pair `{}`, expected `{pair}`", run.pair),
                    ));
                }
                soaks.push(run);
            }
        }
        Ok(ResultSet {
            dir: dir.to_path_buf(),
            bench,
            verify_envoy,
            verify_in_process,
            verify_deployed,
            loads,
            passthrough,
            failure,
            config_loads: Vec::new(),
            soaks,
        })
    }

    /// Reads, for each of `pairs` with several configurations, the load run of each
    /// configuration other than `default` (`load/<pair>.config-<NAME>.json`): a missing file is
    /// `None`; one that is corrupt or holds another pair's or configuration's run is an error
    /// naming the file.
    pub fn with_configs(mut self, pairs: &[Pair]) -> Result<ResultSet, ReadError> {
        for pair in pairs {
            for config in pair.configurations().into_iter().skip(1) {
                let path = load_path_of(&self.dir, &pair.name, config);
                let load: Option<LoadRun> = optional(read_result(&path, LOAD_SCHEMA))?;
                if let Some(l) = &load {
                    let got = l.config.as_deref().unwrap_or(DEFAULT_CONFIG);
                    if l.pair != pair.name || got != config {
                        return Err(ReadError::Corrupt(
                            path,
                            format!(
                                "holds results of pair `{}` under `{got}`, expected `{}` under \
                                 `{config}`",
                                l.pair, pair.name
                            ),
                        ));
                    }
                    l.check_variants()
                        .map_err(|e| ReadError::Corrupt(path.clone(), e))?;
                }
                self.config_loads
                    .push((pair.name.clone(), config.to_string(), load));
            }
        }
        Ok(self)
    }

    /// Puts `run` in place of `pair`'s load run under `config` (`all`'s second pass asks the
    /// tree again after each round it adds, without reading the files again).
    pub fn set_load(&mut self, pair: &str, config: &str, run: LoadRun) {
        let slot = if config == DEFAULT_CONFIG {
            self.loads
                .iter_mut()
                .find(|(p, _)| p == pair)
                .map(|(_, l)| l)
        } else {
            self.config_loads
                .iter_mut()
                .find(|(p, c, _)| p == pair && c == config)
                .map(|(_, _, l)| l)
        };
        match slot {
            Some(l) => *l = Some(run),
            None if config == DEFAULT_CONFIG => self.loads.push((pair.to_string(), Some(run))),
            None => self
                .config_loads
                .push((pair.to_string(), config.to_string(), Some(run))),
        }
    }

    /// On what share of resamples of the rounds the tree gives its answer for `pair` under
    /// `config` (the answer is "too close to call" below the policy's `min_share`); `None`
    /// without rounds to resample.
    pub fn answer_share(
        &self,
        pair: &Pair,
        config: &str,
        policy: &crate::decision::Policy,
    ) -> Option<f64> {
        let ev = self.evidence_under(pair, config);
        crate::decision::decide(&ev.evidence, policy)
            .confidence
            .map(|c| c.share)
    }

    /// `pair`'s load run under its configuration `config` (`default`: [`ResultSet::load`]).
    pub fn config_load(&self, pair: &str, config: &str) -> Option<&LoadRun> {
        if config == DEFAULT_CONFIG {
            return self.load(pair);
        }
        self.config_loads
            .iter()
            .find(|(p, c, _)| p == pair && c == config)
            .and_then(|(_, _, l)| l.as_ref())
    }

    /// The deployed-manifest checks of `pair` (one per API), from `verify/deployed.json`.
    pub fn deployed(&self, pair: &str) -> Vec<&VerifyPair> {
        let prefix = format!("{pair} (");
        self.verify_deployed
            .iter()
            .flat_map(|r| &r.pairs)
            .filter(|p| p.pair.starts_with(&prefix))
            .collect()
    }

    /// The pair's soak, when one was run.
    pub fn soak(&self, pair: &str) -> Option<&SoakRun> {
        self.soaks.iter().find(|s| s.pair == pair)
    }

    pub fn load(&self, pair: &str) -> Option<&LoadRun> {
        self.loads
            .iter()
            .find(|(p, _)| p == pair)
            .and_then(|(_, l)| l.as_ref())
    }

    pub fn pair_bench(&self, pair: &str) -> Option<&PairBench> {
        self.bench.as_ref()?.pairs.iter().find(|p| p.pair == pair)
    }

    /// The verify result for `pair`'s Rust Wasm twin: real Envoy's when it has the pair, else
    /// in-process.
    pub fn equivalence(&self, pair: &str) -> Option<Equivalence> {
        self.equivalence_of(pair, TwinKind::Wasm)
    }

    /// The verify result for `pair`'s twin of `kind`, read like [`ResultSet::equivalence`].
    pub fn equivalence_of(&self, pair: &str, kind: TwinKind) -> Option<Equivalence> {
        let find = |r: &Option<VerifyRecord>, source: EquivalenceSource| {
            let record = r.as_ref()?;
            let p = record
                .pairs
                .iter()
                .find(|p| p.pair == pair && p.twin == kind)?;
            Some(Equivalence {
                source,
                envoy_version: record.envoy_version.clone(),
                created_ms: record.created_ms,
                result: p.clone(),
            })
        };
        find(&self.verify_envoy, EquivalenceSource::Envoy)
            .or_else(|| find(&self.verify_in_process, EquivalenceSource::InProcess))
    }

    /// Everything the report and the tree know about `input`'s pair (its load run under
    /// `default`).
    pub fn evidence(&self, pair: &Pair) -> PairEvidence {
        self.evidence_under(pair, DEFAULT_CONFIG)
    }

    /// [`ResultSet::evidence`] with the load run of `pair`'s configuration `config` (read by
    /// [`ResultSet::with_configs`]): the same proofs and in-process figures, that
    /// configuration's rounds and memory.
    pub fn evidence_under(&self, pair: &Pair, config: &str) -> PairEvidence {
        let name = pair.name.as_str();
        let mut missing = Vec::new();

        let equivalence = self.equivalence(name);
        if equivalence.is_none() {
            missing.push(Missing {
                kind: DataKind::Equivalence,
                path: verify_path(&self.dir, "envoy"),
                what: format!(
                    "no equivalence result for `{name}` (neither this file nor {} has it)",
                    verify_path(&self.dir, "in_process").display()
                ),
                how: format!("`filterbench verify --envoy --pair {name} --save`"),
            });
        }

        let load_file = load_path_of(&self.dir, name, config);
        let load = self.config_load(name, config);
        // Without a proven twin only the Lua side is worth measuring.
        let how_load = format!(
            "`filterbench load --pair {name}{}{}`",
            if config == DEFAULT_CONFIG {
                String::new()
            } else {
                format!(" --config {config}")
            },
            if equivalence.as_ref().is_some_and(|e| e.result.equivalent) {
                ""
            } else {
                " --lua-only"
            }
        );
        let rounds = load_rounds(load, &load_file, &how_load, &mut missing);
        let memory = load.and_then(|l| memory_per_worker(&l.by_workers));
        let (other_twins, other_memory) = self.other_twins(name, load);
        if load.is_some_and(|l| l.variants.contains(&Variant::WASM)) && memory.is_none() {
            missing.push(Missing {
                kind: DataKind::Memory,
                path: load_file.clone(),
                what: "no worker count with both a lua and a wasm memory sample".into(),
                how: how_load,
            });
        }

        let bench_file = bench_summary_path(&self.dir);
        if self.pair_bench(name).is_none() {
            missing.push(Missing {
                kind: DataKind::InProcess,
                path: bench_file,
                what: if self.bench.is_none() {
                    "no in-process benchmark results".into()
                } else {
                    format!("no in-process numbers for `{name}`")
                },
                how: "`filterbench bench`".into(),
            });
        }

        PairEvidence {
            evidence: Evidence {
                equivalent: equivalence.as_ref().map(|e| e.result.equivalent),
                equivalence_source: equivalence.as_ref().map(|e| e.source.words().to_string()),
                rounds,
                wasm_memory: memory.as_ref().map(MemoryPerWorker::fit),
                traits: pair.traits.clone(),
                capability_gap: pair.capability_gap.clone(),
                other_twins,
            },
            equivalence,
            memory,
            other_memory,
            missing,
        }
    }

    /// The other kinds of twin (Go Wasm, native): each one's proof and memory, when there is any.
    fn other_twins(
        &self,
        name: &str,
        load: Option<&LoadRun>,
    ) -> (Vec<TwinEvidence>, Vec<(TwinKind, MemoryPerWorker)>) {
        let mut other_twins = Vec::new();
        let mut other_memory = Vec::new();
        for kind in TwinKind::ALL.into_iter().filter(|k| *k != TwinKind::Wasm) {
            let eq = self.equivalence_of(name, kind);
            let measured = load.is_some_and(|l| l.variants.contains(&Variant::Twin(kind)));
            if eq.is_none() && !measured {
                continue;
            }
            let m = load.and_then(|l| memory_per_worker_of(&l.by_workers, kind));
            other_twins.push(TwinEvidence {
                kind,
                equivalent: eq.as_ref().map(|e| e.result.equivalent),
                equivalence_source: eq.as_ref().map(|e| e.source.words().to_string()),
                memory: m.as_ref().map(MemoryPerWorker::fit),
            });
            if let Some(m) = m {
                other_memory.push((kind, m));
            }
        }
        (other_twins, other_memory)
    }
}

/// The paired rounds of a pair's load run, or what is missing (said with `how` to get it).
fn load_rounds(
    load: Option<&LoadRun>,
    load_file: &std::path::Path,
    how: &str,
    missing: &mut Vec<Missing>,
) -> Option<PairedRounds> {
    match load {
        None => {
            missing.push(Missing {
                kind: DataKind::Load,
                path: load_file.to_path_buf(),
                what: "no real-Envoy load results (CPU per request, latency, throughput, \
                       memory)"
                    .into(),
                how: how.to_string(),
            });
            None
        }
        Some(l) => match paired_rounds(l) {
            Some(r) => Some(r),
            None => {
                missing.push(Missing {
                    kind: DataKind::Load,
                    path: load_file.to_path_buf(),
                    what: "no paired open-loop round with both the baseline and Lua (the \
                           tree compares them at 1 worker)"
                        .into(),
                    how: how.to_string(),
                });
                None
            }
        },
    }
}

/// Which run proved (or disproved) equivalence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EquivalenceSource {
    Envoy,
    InProcess,
}

impl EquivalenceSource {
    pub fn words(self) -> &'static str {
        match self {
            EquivalenceSource::Envoy => "real Envoy",
            EquivalenceSource::InProcess => "in-process only, not in real Envoy",
        }
    }
}

/// A pair's equivalence result and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Equivalence {
    pub source: EquivalenceSource,
    pub envoy_version: Option<String>,
    pub created_ms: u64,
    pub result: VerifyPair,
}

/// How Wasm's extra memory per worker was worked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryMethod {
    /// Least-squares slope of (Wasm RSS − Lua RSS) over the worker counts: the cost each added
    /// worker brings, with the once-per-process cost (engine, module compile) in the intercept.
    Slope,
    /// One worker count only: (Wasm RSS − Lua RSS) / workers, an upper bound that includes the
    /// once-per-process cost.
    SinglePoint,
}

/// Wasm's extra resident memory per Envoy worker, over Lua.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryPerWorker {
    pub mib: f64,
    pub method: MemoryMethod,
    /// The (workers, Wasm RSS − Lua RSS in MiB) points it was computed from.
    pub points: Vec<(u32, f64)>,
}

impl MemoryPerWorker {
    /// What the twin costs over Lua per proxy (one Envoy, one worker): the engine, the compiled
    /// module and one VM, paid by every sidecar of a mesh; `None` without a 1-worker point.
    pub fn per_proxy_mib(&self) -> Option<f64> {
        self.points.iter().find(|(w, _)| *w == 1).map(|(_, d)| *d)
    }

    /// The measured points, for the decision tree's per-proxy figure
    /// ([`crate::decision::MemoryFit::per_proxy`]).
    pub fn fit(&self) -> crate::decision::MemoryFit {
        crate::decision::MemoryFit {
            points: self.points.clone(),
        }
    }

    /// The method and the points, in words, for the page.
    pub fn explain(&self) -> String {
        let pts = self
            .points
            .iter()
            .map(|(w, d)| format!("{w} worker{}: {d:+.1} MiB", if *w == 1 { "" } else { "s" }))
            .collect::<Vec<_>>()
            .join(", ");
        match self.method {
            MemoryMethod::Slope => format!(
                "slope of Wasm RSS minus Lua RSS across worker counts ({pts}): what each added \
                 worker costs; the once-per-process cost is left out"
            ),
            MemoryMethod::SinglePoint => format!(
                "Wasm RSS minus Lua RSS divided by the worker count ({pts}); only one worker \
                 count was measured, so this upper bound includes the once-per-process cost"
            ),
        }
    }
}

/// Wasm's extra RSS per worker over Lua from a worker-count series (see [`MemoryMethod`]):
/// the slope across worker counts when there are two or more, because every worker holds its own
/// Wasm VM while the engine and compiled module are paid once per process, and the policy budget
/// is per worker. `None` when no worker count has both a Lua and a Wasm sample.
pub fn memory_per_worker(series: &[WorkersRun]) -> Option<MemoryPerWorker> {
    memory_per_worker_of(series, TwinKind::Wasm)
}

/// [`memory_per_worker`] of the twin of `kind` (its RSS minus Lua's).
pub fn memory_per_worker_of(series: &[WorkersRun], kind: TwinKind) -> Option<MemoryPerWorker> {
    let mut points: Vec<(u32, f64)> = series
        .iter()
        .filter_map(|w| {
            let lua = w.memory_of(Variant::Lua)?.rss_bytes as f64;
            let wasm = w.memory_of(Variant::Twin(kind))?.rss_bytes as f64;
            Some((w.workers, (wasm - lua) / MIB))
        })
        .filter(|(w, _)| *w > 0)
        .collect();
    points.sort_by_key(|(w, _)| *w);
    points.dedup_by_key(|(w, _)| *w);
    match points.as_slice() {
        [] => None,
        [(w, d)] => Some(MemoryPerWorker {
            mib: d / f64::from(*w),
            method: MemoryMethod::SinglePoint,
            points,
        }),
        _ => {
            let n = points.len() as f64;
            let mx = points.iter().map(|(w, _)| f64::from(*w)).sum::<f64>() / n;
            let my = points.iter().map(|(_, d)| d).sum::<f64>() / n;
            let sxy: f64 = points
                .iter()
                .map(|(w, d)| (f64::from(*w) - mx) * (d - my))
                .sum();
            let sxx: f64 = points
                .iter()
                .map(|(w, _)| (f64::from(*w) - mx).powi(2))
                .sum();
            Some(MemoryPerWorker {
                mib: sxy / sxx,
                method: MemoryMethod::Slope,
                points,
            })
        }
    }
}

/// The paired open-loop rounds of a load run, as the tree reads them (the run's own method:
/// simultaneous by default); `None` without a round that has both the baseline and Lua. Rounds
/// where an Envoy fell behind its rate are left out (their entries are `None`).
pub fn paired_rounds(l: &LoadRun) -> Option<PairedRounds> {
    paired_of(&l.rounds, l.open_rate_rps)
}

/// The sequential self-check rounds of a simultaneous run, read like [`paired_rounds`].
pub fn check_rounds(l: &LoadRun) -> Option<PairedRounds> {
    paired_of(&l.check_rounds, l.check_rate_rps)
}

fn paired_of(samples: &[Sample], rate_rps: f64) -> Option<PairedRounds> {
    let n = samples.iter().map(|s| s.round + 1).max().unwrap_or(0);
    let per = |f: fn(&Sample) -> f64| -> Vec<Triple> {
        let [b, lu, wa] = Variant::WITH_WASM.map(|v| per_round_of(samples, v, f));
        let go = per_round_of(samples, Variant::Twin(TwinKind::GoWasm), f);
        let native = per_round_of(samples, Variant::Twin(TwinKind::Native), f);
        (0..n)
            .map(|i| Triple {
                base: b[i],
                lua: lu[i],
                wasm: wa[i],
                go_wasm: go.get(i).copied().flatten(),
                native: native.get(i).copied().flatten(),
            })
            .collect()
    };
    let r = PairedRounds {
        rate_rps,
        cpu_us: per(|s| s.envoy_cpu_us_per_request),
        p50_us: per(|s| s.p50_us),
        p90_us: per(|s| s.p90_us),
        p99_us: per(|s| s.p99_us),
    };
    r.cpu_us
        .iter()
        .any(|t| t.base.is_some() && t.lua.is_some())
        .then_some(r)
}

/// One paired difference measured both ways in one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckRow {
    /// `Lua minus baseline`, `Wasm minus baseline`, `Wasm minus Lua`, with the measure.
    pub what: String,
    pub simultaneous: Option<Interval>,
    pub sequential: Option<Interval>,
}

impl CheckRow {
    /// Whether the two intervals share a point; `None` when either is missing.
    pub fn overlap(&self) -> Option<bool> {
        match (self.simultaneous, self.sequential) {
            (Some(a), Some(b)) => Some(a.low <= b.high && b.low <= a.high),
            _ => None,
        }
    }
}

/// The method checked against itself: every paired difference of a simultaneous run, from its
/// simultaneous rounds and from its sequential check rounds; `None` for a run without check
/// rounds (a sequential run, or one from before simultaneous rounds).
pub fn method_check(l: &LoadRun) -> Option<Vec<CheckRow>> {
    let sim = Costs::of(&paired_rounds(l)?);
    let seq = Costs::of(&check_rounds(l)?);
    let mut rows = Vec::new();
    let mut push = |what: &str, a: Option<Interval>, b: Option<Interval>| {
        if a.is_some() || b.is_some() {
            rows.push(CheckRow {
                what: what.into(),
                simultaneous: a,
                sequential: b,
            });
        }
    };
    push("Lua minus baseline, CPU", sim.lua_cpu_us, seq.lua_cpu_us);
    push("Wasm minus baseline, CPU", sim.wasm_cpu_us, seq.wasm_cpu_us);
    push(
        "Wasm minus Lua, CPU",
        sim.wasm_minus_lua_cpu_us,
        seq.wasm_minus_lua_cpu_us,
    );
    for (i, p) in ["p50", "p99"].iter().enumerate() {
        let k = if i == 0 { 0 } else { 2 };
        push(
            &format!("Lua minus baseline, {p}"),
            sim.lua_latency_us[k],
            seq.lua_latency_us[k],
        );
        push(
            &format!("Wasm minus Lua, {p}"),
            sim.wasm_minus_lua_latency_us[k],
            seq.wasm_minus_lua_latency_us[k],
        );
    }
    Some(rows)
}

/// A pair's evidence for the tree, with where it came from and what was missing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairEvidence {
    pub evidence: Evidence,
    pub equivalence: Option<Equivalence>,
    pub memory: Option<MemoryPerWorker>,
    /// The other kinds' extra memory per worker over Lua, where measured.
    pub other_memory: Vec<(TwinKind, MemoryPerWorker)>,
    pub missing: Vec<Missing>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use filterbench_model::results::VariantMemory;

    fn memory(variant: Variant, rss_mib: f64) -> VariantMemory {
        VariantMemory {
            variant,
            rss_bytes: (rss_mib * MIB) as u64,
            peak_rss_bytes: (rss_mib * MIB) as u64,
            allocated_bytes: 0,
            heap_bytes: 0,
            wasm_vms: 0,
        }
    }

    fn workers(n: u32, lua: f64, wasm: f64) -> WorkersRun {
        WorkersRun {
            workers: n,
            capacity: vec![],
            memory: vec![
                memory(Variant::Base, 30.0),
                memory(Variant::Lua, lua),
                memory(Variant::WASM, wasm),
            ],
            startup: vec![],
        }
    }

    #[test]
    fn memory_per_worker_is_the_slope_without_the_fixed_cost() {
        // 20 MiB once per process, 3 MiB per worker.
        let s = [
            workers(1, 40.0, 63.0),
            workers(2, 41.0, 67.0),
            workers(4, 43.0, 75.0),
        ];
        let m = memory_per_worker(&s).unwrap();
        assert_eq!(m.method, MemoryMethod::Slope);
        assert!((m.mib - 3.0).abs() < 1e-9, "{m:?}");
        assert_eq!(m.points.len(), 3);
        // What one sidecar pays (the fixed cost and one worker's): 23 MiB at 1 worker.
        assert!((m.per_proxy_mib().unwrap() - 23.0).abs() < 1e-9, "{m:?}");
        assert_eq!(
            memory_per_worker(&[workers(2, 40.0, 50.0)])
                .unwrap()
                .per_proxy_mib(),
            None
        );
    }

    #[test]
    fn one_worker_count_gives_an_upper_bound_and_none_gives_none() {
        let m = memory_per_worker(&[workers(2, 40.0, 50.0)]).unwrap();
        assert_eq!(m.method, MemoryMethod::SinglePoint);
        assert!((m.mib - 5.0).abs() < 1e-9);
        assert!(m.explain().contains("upper bound"));
        let lua_only = WorkersRun {
            workers: 1,
            capacity: vec![],
            memory: vec![memory(Variant::Lua, 40.0)],
            startup: vec![],
        };
        assert_eq!(memory_per_worker(&[lua_only]), None);
        assert_eq!(memory_per_worker(&[]), None);
    }
}
