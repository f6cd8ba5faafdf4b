//! The result files the report reads, under `reports/results/`:
//!
//! - `bench/summary.json`: [`BenchSummary`], written by the in-process benches (`cargo bench`,
//!   `filterbench all`);
//! - `verify/envoy.json` and `verify/in_process.json`: [`VerifyRecord`], written by
//!   `filterbench verify --save` / `filterbench all`;
//! - `load/<pair>.json`: [`LoadRun`], written by `filterbench load` / `filterbench all` (the
//!   load comparison builds this very type, so writer and reader share one schema).
//!
//! - `swap/<pair>.json`: [`swap::SwapResult`], written by `filterbench swap`;
//! - `failure/strategy.json`: [`failure::FailureRecord`], written by `filterbench verify --envoy
//!   --failure-strategy`.
//!
//! Modules: `bench` ([`BenchSummary`] and its parts) and `load` ([`LoadRun`] and its parts),
//! both re-exported here, [`swap`] and [`failure`]; the verify record, the paths and
//! reading/writing are in this file.
//!
//! Every file carries a `schema_version`; a reader refuses another version with an error that
//! names the file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod bench;
pub mod failure;
mod load;
mod soak;
pub mod swap;

pub use bench::*;
pub use load::*;
pub use soak::*;

/// Version of [`BenchSummary`]'s JSON shape. 2: numbers from the paired (interleaved)
/// measurement, [`Paired`] ratios with bootstrap intervals, callgrind [`Instructions`].
pub const BENCH_SCHEMA: u32 = 2;
/// The command that writes [`BenchSummary`] (named when an old summary is refused).
pub const BENCH_COMMAND: &str = "filterbench bench";
/// Version of [`VerifyRecord`]'s JSON shape.
pub const VERIFY_SCHEMA: u32 = 1;
/// Version of the load result (loadgen's `COMPARE_SCHEMA`) this reader understands.
pub const LOAD_SCHEMA: u32 = 2;

/// `reports/results` under the project root.
pub fn results_dir(root: &Path) -> PathBuf {
    root.join("reports").join("results")
}

pub fn bench_summary_path(results: &Path) -> PathBuf {
    results.join("bench").join("summary.json")
}

/// `mode` is `envoy` or `in_process`.
pub fn verify_path(results: &Path, mode: &str) -> PathBuf {
    results.join("verify").join(format!("{mode}.json"))
}

pub fn load_path(results: &Path, pair: &str) -> PathBuf {
    results.join("load").join(format!("{pair}.json"))
}

/// The load result of `pair` under its configuration `config`: `load/<pair>.json` for
/// `default` (the file every reader knows), `load/<pair>.config-<NAME>.json` for another (a
/// file older readers never open, since they read by pair name).
pub fn load_path_of(results: &Path, pair: &str, config: &str) -> PathBuf {
    if config == crate::catalogue::DEFAULT_CONFIG {
        load_path(results, pair)
    } else {
        results
            .join("load")
            .join(format!("{pair}.config-{config}.json"))
    }
}

/// An equivalence run; `reports/results/verify/<mode>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyRecord {
    pub schema_version: u32,
    /// `envoy`, `in_process` or `deployed` (the generated Istio manifests served by real Envoy:
    /// one entry per pair and API, named `<pair> (<api>)`).
    pub mode: String,
    /// Envoy's version for `envoy` runs.
    pub envoy_version: Option<String>,
    pub created_ms: u64,
    pub pairs: Vec<VerifyPair>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyPair {
    pub pair: String,
    /// The twin proven against the Lua filter; records written before twins had kinds hold
    /// Rust Wasm twins only and read as `wasm`.
    #[serde(default)]
    pub twin: crate::twin::TwinKind,
    pub scenarios: usize,
    pub equivalent: bool,
    /// Per configuration, what was proven, when the pair has more than `default` (records
    /// written before pairs had configurations have none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<crate::equivalence::ConfigProof>,
    /// Readable lines for what differed (scenario, field, Lua value, Wasm value).
    pub failures: Vec<String>,
    /// For a deployed check: the control plane that served the manifests to Envoy
    /// (`istiod 1.31-dev (istio/istio eed52ebb66ad)`); absent for the project's own translation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_by: Option<String>,
    /// What a reader must know beside the verdict ([`crate::equivalence::PairReport::notes`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Why a result file could not be used; the message names the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    #[error("{}: missing", .0.display())]
    Missing(PathBuf),
    #[error("{}: cannot read: {}", .0.display(), .1)]
    Unreadable(PathBuf, String),
    #[error("{}: not a valid result file: {}", .0.display(), .1)]
    Corrupt(PathBuf, String),
    #[error(
        "{}: schema_version {found}, this filterbench reads version {expected}; \
         regenerate it with {}",
        path.display(),
        regenerate_command(path)
    )]
    WrongVersion {
        path: PathBuf,
        found: u64,
        expected: u32,
    },
}

/// The command that writes a result file again, from where it lies.
fn regenerate_command(path: &Path) -> String {
    let parent = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("");
    let stem = path.file_stem().and_then(|n| n.to_str()).unwrap_or("");
    match parent {
        "load" => format!("`filterbench load --pair {stem}`"),
        _ if stem == "summary" => "`filterbench bench`".into(),
        "verify" if stem == "in_process" => "`filterbench verify --in-process --save`".into(),
        "verify" if stem == "deployed" => "`filterbench verify --envoy --deployed --save`".into(),
        "verify" => "`filterbench verify --envoy --save`".into(),
        _ => "`filterbench all`".into(),
    }
}

/// The largest result file read: the biggest this tool writes (a load comparison's raw rounds)
/// is well under a megabyte; anything far larger is not one of them.
pub const MAX_RESULT_BYTES: u64 = 64 << 20;

/// The file's text, refused (`FileTooLarge`) when it is over [`MAX_RESULT_BYTES`]: whatever lies
/// in `reports/results`, reading it takes bounded memory.
fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    file.take(MAX_RESULT_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_RESULT_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than {} MiB", MAX_RESULT_BYTES >> 20),
        ));
    }
    Ok(text)
}

/// Reads a result file of schema `expected`: checks `schema_version` first (so a file of another
/// version gets that error, not a confusing field error), then the shape.
pub fn read_result<T: serde::de::DeserializeOwned>(
    path: &Path,
    expected: u32,
) -> Result<T, ReadError> {
    let text = match read_bounded(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ReadError::Missing(path.to_path_buf()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
            return Err(ReadError::Corrupt(path.to_path_buf(), e.to_string()))
        }
        Err(e) => return Err(ReadError::Unreadable(path.to_path_buf(), e.to_string())),
    };
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| ReadError::Corrupt(path.to_path_buf(), e.to_string()))?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(expected) => {}
        Some(found) => {
            return Err(ReadError::WrongVersion {
                path: path.to_path_buf(),
                found,
                expected,
            })
        }
        None => {
            return Err(ReadError::Corrupt(
                path.to_path_buf(),
                "no schema_version".into(),
            ))
        }
    }
    serde_json::from_value(value).map_err(|e| ReadError::Corrupt(path.to_path_buf(), e.to_string()))
}

/// Writes `value` as pretty JSON to `path` atomically ([`write_atomically`]), creating the
/// directory.
pub fn write_json_atomically(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    write_atomically(path, (text + "\n").as_bytes())
}

/// Writes `bytes` to `path` atomically: a temporary file next to it (the directory must exist),
/// flushed to disk, then renamed over it, so a reader (or an interrupted run) sees the old file
/// or the new one, never half of one. The one atomic writer of the project.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("result"),
        std::process::id(),
        WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let written = std::fs::File::create(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    written
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::now_ms;
    use crate::stats::Interval;

    #[test]
    fn wrong_version_missing_and_corrupt_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary.json");
        let e = read_result::<BenchSummary>(&p, BENCH_SCHEMA).unwrap_err();
        assert!(matches!(e, ReadError::Missing(_)));
        assert!(e.to_string().contains("summary.json: missing"), "{e}");

        std::fs::write(&p, "{ not json").unwrap();
        let e = read_result::<BenchSummary>(&p, BENCH_SCHEMA).unwrap_err();
        assert!(matches!(e, ReadError::Corrupt(..)), "{e}");

        std::fs::write(&p, r#"{"schema_version": 7, "pairs": []}"#).unwrap();
        let e = read_result::<BenchSummary>(&p, BENCH_SCHEMA).unwrap_err();
        assert!(e.to_string().contains("schema_version 7"), "{e}");
        assert!(
            e.to_string()
                .contains("regenerate it with `filterbench bench`"),
            "{e}"
        );

        std::fs::write(
            &p,
            format!(r#"{{"schema_version": {BENCH_SCHEMA}, "pairs": 3}}"#),
        )
        .unwrap();
        let e = read_result::<BenchSummary>(&p, BENCH_SCHEMA).unwrap_err();
        assert!(matches!(e, ReadError::Corrupt(..)), "{e}");
    }

    #[test]
    fn a_version_1_bench_summary_is_refused_naming_the_file_and_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let p = bench_summary_path(dir.path());
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        // The shape version 1 had: criterion estimates only.
        std::fs::write(
            &p,
            r#"{"schema_version": 1, "created_ms": 0, "profile": "quick", "pairs": [],
                "operations": [], "startup": [], "memory": [], "baseline": null}"#,
        )
        .unwrap();
        let e = read_result::<BenchSummary>(&p, BENCH_SCHEMA).unwrap_err();
        let m = e.to_string();
        assert!(matches!(e, ReadError::WrongVersion { found: 1, .. }), "{m}");
        assert!(m.contains(&p.display().to_string()), "{m}");
        assert!(m.contains("schema_version 1"), "{m}");
        assert!(m.contains("regenerate it with `filterbench bench`"), "{m}");
        // Other result files get no bench command.
        let other = dir.path().join("verify").join("envoy.json");
        std::fs::create_dir_all(other.parent().unwrap()).unwrap();
        std::fs::write(&other, r#"{"schema_version": 99}"#).unwrap();
        let m = read_result::<VerifyRecord>(&other, VERIFY_SCHEMA)
            .unwrap_err()
            .to_string();
        assert!(!m.contains("filterbench bench"), "{m}");
    }

    #[test]
    fn a_verify_record_without_twin_kinds_reads_as_wasm() {
        let dir = tempfile::tempdir().unwrap();
        let p = verify_path(dir.path(), "envoy");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            &p,
            r#"{"schema_version": 1, "mode": "envoy", "envoy_version": "1.40.0", "created_ms": 0,
                "pairs": [{"pair": "add_header", "scenarios": 3, "equivalent": true, "failures": []}]}"#,
        )
        .unwrap();
        let record = read_result::<VerifyRecord>(&p, VERIFY_SCHEMA).unwrap();
        assert_eq!(record.pairs[0].twin, crate::TwinKind::Wasm);
        let mut native = record.pairs[0].clone();
        native.twin = crate::TwinKind::Native;
        let text = serde_json::to_string(&native).unwrap();
        assert!(text.contains(r#""twin":"native""#), "{text}");
    }

    #[test]
    fn a_summary_written_before_go_figures_still_loads() {
        // The published run's summary as it was before the Go twins were measured in-process
        // (`reports/published/results/bench/summary.json` at d5fea71).
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/bench-summary-before-go.json");
        let s = read_result::<BenchSummary>(&p, BENCH_SCHEMA).unwrap_or_else(|e| panic!("{e}"));
        assert!(!s.pairs.is_empty(), "{}", p.display());
        // Written before the Go twins were measured in-process: no Go figure anywhere, and none
        // written back.
        assert!(!s.has_go() && s.go_not_measured.is_empty());
        assert!(s.startup.iter().all(|x| x.go_compile.is_none()));
        assert!(s.memory.iter().all(|m| m.go_after_start_bytes.is_none()));
        let text = serde_json::to_string(&s).unwrap();
        assert!(!text.contains("\"go"), "{text}");
    }

    #[test]
    fn a_written_summary_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = bench_summary_path(dir.path());
        let est = Estimate {
            median_ns: 1.0,
            ci_low_ns: 0.5,
            ci_high_ns: 1.5,
        };
        let s = BenchSummary {
            schema_version: BENCH_SCHEMA,
            created_ms: now_ms(),
            profile: "quick".into(),
            machine: MachineInfo::probe(),
            pairs: vec![PairBench {
                pair: "add_header".into(),
                lua: est,
                wasm: est,
                paired: Paired {
                    wasm_over_lua: Interval {
                        median: 0.5,
                        low: 0.45,
                        high: 0.55,
                        n: 100,
                    },
                    wasm_minus_lua_ns: Interval {
                        median: -1.0,
                        low: -1.2,
                        high: -0.8,
                        n: 100,
                    },
                    rounds: 100,
                    blocks: 4,
                    lua_batch_iterations: 1000,
                    wasm_batch_iterations: 2000,
                },
                instructions: Some(Instructions {
                    lua: None,
                    wasm: Some(1234.0),
                    go: Some(4321.0),
                }),
                go: Some(GoBench {
                    go: est,
                    go_over_lua: Interval {
                        median: 0.9,
                        low: 0.8,
                        high: 1.1,
                        n: 100,
                    },
                    go_minus_lua_ns: Interval {
                        median: -0.1,
                        low: -0.2,
                        high: 0.1,
                        n: 100,
                    },
                    go_over_wasm: Interval {
                        median: 1.8,
                        low: 1.7,
                        high: 1.9,
                        n: 100,
                    },
                    go_minus_wasm_ns: Interval {
                        median: 0.4,
                        low: 0.3,
                        high: 0.5,
                        n: 100,
                    },
                    go_batch_iterations: 900,
                }),
            }],
            operations: vec![],
            startup: vec![StartupBench {
                pair: "add_header".into(),
                lua_load: est,
                wasm_compile: est,
                wasm_instantiate: est,
                go_compile: Some(est),
                go_instantiate: None,
            }],
            memory: vec![MemoryBench {
                pair: "add_header".into(),
                requests: 10,
                lua_after_start_bytes: 1,
                lua_after_requests_bytes: 2,
                wasm_after_start_bytes: 3,
                wasm_after_requests_bytes: 4,
                go_after_start_bytes: Some(5),
                go_after_requests_bytes: Some(6),
            }],
            baseline: None,
            paired_method: PairedMethod {
                rounds: 100,
                blocks: 4,
                batch_target_us: 1000.0,
                bootstrap_resamples: 2000,
                bootstrap_seed: 7,
                confidence: 0.95,
                words: "interleaved".into(),
            },
            callgrind: CallgrindRun {
                counted: false,
                valgrind: None,
                warm_up: 0,
                k1: 0,
                k2: 0,
                options: vec![],
                wasm_features_off: vec![],
                note: "valgrind not found".into(),
            },
            go_not_measured: vec!["trace_id: not built".into()],
        };
        write_json_atomically(&p, &s).unwrap();
        assert_eq!(read_result::<BenchSummary>(&p, BENCH_SCHEMA).unwrap(), s);
        let leftovers: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }
}
