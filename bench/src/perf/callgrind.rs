//! Instructions per request under valgrind's callgrind: a figure without timing noise, the same
//! from run to run, shown beside the paired timings as a cross-check. It counts instructions,
//! not time (a cache miss costs one instruction here), and wasmtime's code, not V8's.
//!
//! How: [`count`] (called by [`super::run`]) re-runs the current executable (the `filterbench`
//! CLI or the `filters` bench binary; both call [`child_if_requested`] first thing) under
//! `valgrind --tool=callgrind` with [`CHILD_ENV`] set. The child sets up every subject (the
//! baseline, the pairs' twins: Lua, Rust Wasm and Go Wasm where the pair has one, the ops with
//! 0 and N repetitions) exactly as the timed benches do, then
//! per subject runs [`WARM_UP`] requests uncounted and calls [`filterbench_callgrind_counted`]
//! twice, with [`K1`] and [`K2`] requests. Callgrind collects only inside that function
//! (`--collect-atstart=no --toggle-collect=...`), and dumps its counters after each call
//! (`--dump-after=...`, numbered files in call order), so set-up, warm-up and everything else
//! is excluded. Per request = (count(K2) - count(K1)) / (K2 - K1): what is left is the
//! steady-state cost of one request; per operation = (per request with N - with 0) / N.
//!
//! LuaJIT and Cranelift write machine code at run time; `--smc-check=all-non-file` makes
//! valgrind notice it. LuaJIT's JIT works under valgrind (the traces are recorded and run: the
//! Lua counts are of JIT-compiled code, not of the interpreter) — see docs/bench.md for the check.
//!
//! When valgrind is not installed (`scripts/ensure-valgrind.sh` installs it) or the run fails,
//! there are no counts and [`CallgrindRun::note`] says why; nothing is estimated in their place.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use filterbench_model::results::CallgrindRun;

use filterbench_model::TwinKind;

use super::subjects::{self, Subject};
use super::{ops, Error, Plan, SIDES};
use crate::harness::driver::twin_module;
use crate::harness::wasm::{Metering, WasmFilter};

/// Set (to the manifest path) in the child that runs under valgrind.
pub const CHILD_ENV: &str = "FILTERBENCH_CALLGRIND_CHILD";
/// The pair the child measures (all when unset).
const PAIR_ENV: &str = "FILTERBENCH_CALLGRIND_PAIR";
/// The directory of the parent's compiled Wasm modules (see [`Precompiled`]).
const MODULES_ENV: &str = "FILTERBENCH_CALLGRIND_MODULES";
/// Set (to an output file) in the probe child: it writes the CPU features it sees.
const PROBE_ENV: &str = "FILTERBENCH_CALLGRIND_PROBE";
/// The workspace whose catalogue the child loads (the built-in pairs when unset): the parent's.
const WORKSPACE_ENV: &str = "FILTERBENCH_WORKSPACE";
/// The valgrind executable (default: `valgrind` on `PATH`).
pub const VALGRIND_ENV: &str = "FILTERBENCH_VALGRIND";

/// Uncounted requests per subject before counting.
pub const WARM_UP: u64 = 200;
/// The two counted runs per subject.
pub const K1: u64 = 100;
pub const K2: u64 = 300;

/// The symbol callgrind collects in (see the module documentation); not mangled so that the
/// valgrind options can name it.
const COUNTED_SYMBOL: &str = "filterbench_callgrind_counted";

/// Runs `k` requests of `subject`: the only code callgrind counts.
#[no_mangle]
#[inline(never)]
pub fn filterbench_callgrind_counted(subject: &mut Subject, k: u64) {
    for _ in 0..k {
        black_box(subject.request_or_panic());
    }
}

/// The Wasm modules the parent compiled, serialised into a directory (`<module>.cwasm`) for the
/// child: compiling them again under valgrind (Cranelift, instrumented) would take minutes.
/// The child checks them as a compile does ([`WasmFilter::deserialize`]).
pub(crate) struct Precompiled(PathBuf);

impl Precompiled {
    fn path(&self, module: &str) -> PathBuf {
        self.0.join(format!("{module}.cwasm"))
    }

    /// The file of pair `pair`'s Go Wasm twin.
    fn go_path(&self, pair: &str) -> PathBuf {
        self.0.join(format!("{pair}.{}.cwasm", subjects::GO))
    }

    /// Compiles every module of `plan` for this CPU without the Cranelift ISA features
    /// `without` into `dir`.
    fn save(plan: &Plan, dir: &Path, without: &[String]) -> Result<Precompiled, String> {
        let pre = Precompiled(dir.to_path_buf());
        // (filter name, module bytes, file)
        let mut modules: Vec<(String, Vec<u8>, PathBuf)> = Vec::new();
        for p in &plan.pairs {
            let name = &p.loaded.pair.name;
            let bytes = plan
                .catalogue
                .wasm_module(name)
                .map_err(|e| e.to_string())?;
            modules.push((name.clone(), bytes, pre.path(name)));
            // A Go twin left out here is not counted: the child finds no module for it.
            if p.go.is_some() && plan.callgrind_go {
                let (_, bytes) = twin_module(&plan.catalogue, name, TwinKind::GoWasm)
                    .map_err(|e| e.to_string())?;
                modules.push((name.clone(), bytes, pre.go_path(name)));
            }
        }
        for guest in [subjects::PASSTHROUGH_WASM, subjects::OPS_WASM] {
            let path = filterbench_model::wasm_dir().join(format!("{guest}.wasm"));
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            modules.push((guest.to_string(), bytes, pre.path(guest)));
        }
        for (name, bytes, path) in modules {
            let code = WasmFilter::precompile_without(&name, &bytes, Metering::Off, without)
                .map_err(|e| e.to_string())?;
            std::fs::write(&path, code).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(pre)
    }

    /// The filter of `module`, from its serialised code.
    pub(crate) fn load(&self, module: &str) -> Result<WasmFilter, Error> {
        self.load_file(module, &self.path(module))
    }

    /// Pair `pair`'s Go Wasm twin, when the parent measured one (and so saved it).
    pub(crate) fn load_go(&self, pair: &str) -> Result<Option<WasmFilter>, Error> {
        let path = self.go_path(pair);
        match path.exists() {
            true => self.load_file(pair, &path).map(Some),
            false => Ok(None),
        }
    }

    fn load_file(&self, module: &str, path: &Path) -> Result<WasmFilter, Error> {
        let bytes = std::fs::read(path).map_err(|source| {
            Error::Project(filterbench_model::Error::Io {
                path: path.to_path_buf(),
                source,
            })
        })?;
        // SAFETY: the parent process, which is this same executable, wrote these bytes with
        // `WasmFilter::precompile_without(.., Metering::Off, ..)` into a private temporary
        // directory it made for this child.
        let filter = unsafe { WasmFilter::deserialize(module, &bytes, Metering::Off) };
        filter.map_err(|e| filterbench_model::Error::invalid(path, e.to_string()).into())
    }
}

/// The valgrind options of a run writing its dumps as `<out>.<n>`.
fn options(out: &Path) -> Vec<String> {
    vec![
        "--tool=callgrind".into(),
        "--collect-atstart=no".into(),
        format!("--toggle-collect={COUNTED_SYMBOL}"),
        format!("--dump-after={COUNTED_SYMBOL}"),
        "--smc-check=all-non-file".into(),
        "--dump-instr=no".into(),
        "--compress-strings=no".into(),
        format!("--callgrind-out-file={}", out.display()),
    ]
}

/// Counts per label: `baseline/<side>`, `<pair>/<arm>` (`lua`, `wasm`, `go`),
/// `op_<op>/<n>/<side>`, instructions per request.
pub type Counts = BTreeMap<String, f64>;

/// The label of a counted subject: `<bench>/<arm>`, as the subject's own label.
pub fn label(bench: &str, arm: &str) -> String {
    format!("{bench}/{arm}")
}

/// The child's work, also run without valgrind by the smoke test: every subject of `plan`
/// warmed up and run `k1` and `k2` times through [`filterbench_callgrind_counted`]. Returns the
/// labels in call order (each label's two calls are consecutive).
pub(crate) fn run_subjects(
    plan: &Plan,
    warm_up: u64,
    k1: u64,
    k2: u64,
) -> Result<Vec<String>, Error> {
    let mut labels = Vec::new();
    let mut counted = |label: String, s: &mut Subject| {
        for _ in 0..warm_up {
            black_box(s.request_or_panic());
        }
        filterbench_callgrind_counted(s, k1);
        filterbench_callgrind_counted(s, k2);
        labels.push(label);
    };
    for side in SIDES {
        let mut s = plan.passthrough_subject(side)?;
        counted(label("baseline", side.name()), &mut s);
        super::subjects::check_passthrough(&mut s)?;
    }
    for p in &plan.pairs {
        let mut arms = p.arms()?;
        for arm in &mut arms {
            counted(label(&p.loaded.pair.name, arm.arm()), arm);
        }
        p.recheck(&mut arms)?;
    }
    for op in &ops::OPS {
        for side in SIDES {
            for n in [0, op.n] {
                let mut s = plan.op_subject(op, side, n)?;
                counted(label(&format!("op_{}/{n}", op.id), side.name()), &mut s);
                super::subjects::check_op(&mut s, op, n)?;
            }
        }
    }
    Ok(labels)
}

/// The Cranelift ISA features (`has_*`) whose CPU feature this process sees, as Cranelift's
/// host detection maps them (cranelift-native): under valgrind, those of valgrind's emulated
/// CPU.
pub fn cpu_features() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut found = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! detect {
            ($($feature:tt => $flag:literal),* $(,)?) => {
                $(if std::is_x86_feature_detected!($feature) { found.push($flag); })*
            };
        }
        detect!(
            "cmpxchg16b" => "has_cmpxchg16b", "sse3" => "has_sse3", "ssse3" => "has_ssse3",
            "sse4.1" => "has_sse41", "sse4.2" => "has_sse42", "popcnt" => "has_popcnt",
            "avx" => "has_avx", "avx2" => "has_avx2", "fma" => "has_fma",
            "avxvnni" => "has_avx_vnni", "avx512vnni" => "has_avx512vnni", "bmi1" => "has_bmi1",
            "bmi2" => "has_bmi2", "avx512bitalg" => "has_avx512bitalg",
            "avx512dq" => "has_avx512dq", "avx512f" => "has_avx512f", "avx512vl" => "has_avx512vl",
            "avx512vbmi" => "has_avx512vbmi", "lzcnt" => "has_lzcnt",
        );
    }
    found
}

/// The counting child's catalogue: its parent's ([`WORKSPACE_ENV`]).
fn child_catalogue() -> Result<filterbench_model::Catalogue, Error> {
    Ok(match std::env::var_os(WORKSPACE_ENV) {
        Some(dir) if !dir.is_empty() => {
            filterbench_model::Catalogue::load_workspace(Path::new(&dir))?
        }
        _ => filterbench_model::Catalogue::load(&filterbench_model::project_root())?,
    })
}

/// In a child run by [`count`] (under valgrind): the probe writes the CPU features it sees;
/// the counting child runs the subjects and writes the labels to the manifest. Returns the exit
/// code; `None` when this process is neither.
pub fn child_if_requested() -> Option<ExitCode> {
    if let Some(out) = std::env::var_os(PROBE_ENV) {
        return Some(match std::fs::write(&out, cpu_features().join("\n")) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("callgrind probe: {}: {e}", Path::new(&out).display());
                ExitCode::FAILURE
            }
        });
    }
    let manifest = PathBuf::from(std::env::var_os(CHILD_ENV)?);
    let only_pair = std::env::var(PAIR_ENV).ok().filter(|p| !p.is_empty());
    let precompiled = std::env::var_os(MODULES_ENV).map(|d| Precompiled(PathBuf::from(d)));
    let result = child_catalogue()
        .and_then(|catalogue| {
            Plan::load_with(&catalogue, only_pair.as_deref(), precompiled.as_ref())
        })
        .and_then(|plan| run_subjects(&plan, WARM_UP, K1, K2))
        .and_then(|labels| {
            std::fs::write(&manifest, labels.join("\n") + "\n").map_err(|source| Error::Write {
                path: manifest.clone(),
                source,
            })
        });
    Some(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("callgrind child: {e}");
            ExitCode::FAILURE
        }
    })
}

/// `valgrind --version`, or `None` when it cannot be run.
fn valgrind_version(valgrind: &Path) -> Option<String> {
    let out = Command::new(valgrind).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `scripts/ensure-valgrind.sh`: valgrind's path, installing Debian's package when missing and
/// root (or [`VALGRIND_ENV`]'s binary); the script's complaint when it cannot.
fn ensure_valgrind(valgrind: Option<&OsStr>) -> Result<PathBuf, String> {
    let script = filterbench_model::project_root()
        .join("scripts")
        .join("ensure-valgrind.sh");
    let mut command = Command::new("bash");
    command.arg(&script).env_remove(VALGRIND_ENV);
    if let Some(v) = valgrind {
        command.env(VALGRIND_ENV, v);
    }
    let out = command
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().last().map(str::trim) {
        Some(path) if out.status.success() && !path.is_empty() => Ok(PathBuf::from(path)),
        _ => Err(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// Counts every subject under callgrind by re-running `exe` (see the module documentation),
/// with the valgrind [`VALGRIND_ENV`] names, else the one on `PATH`. Never fails: without
/// valgrind, or when the run fails, the counts are empty and the returned record's note says
/// why.
pub(crate) fn count(exe: &Path, plan: &Plan, only_pair: Option<&str>) -> (CallgrindRun, Counts) {
    count_using(
        exe,
        plan,
        only_pair,
        std::env::var_os(VALGRIND_ENV).as_deref(),
    )
}

/// [`count`] with the valgrind binary given (`None`: the one on `PATH`).
pub(crate) fn count_using(
    exe: &Path,
    plan: &Plan,
    only_pair: Option<&str>,
    valgrind: Option<&OsStr>,
) -> (CallgrindRun, Counts) {
    let mut run = CallgrindRun {
        counted: false,
        valgrind: None,
        warm_up: WARM_UP,
        k1: K1,
        k2: K2,
        options: Vec::new(),
        wasm_features_off: Vec::new(),
        note: String::new(),
    };
    let valgrind = match ensure_valgrind(valgrind) {
        Ok(v) => v,
        Err(why) => {
            run.note = format!(
                "no instruction counts: valgrind is not available ({why}); install Debian's \
                 valgrind (scripts/ensure-valgrind.sh does as root) and run `filterbench bench` \
                 again"
            );
            return (run, Counts::new());
        }
    };
    let Some(version) = valgrind_version(&valgrind) else {
        run.note = format!(
            "no instruction counts: `{} --version` failed; run `filterbench bench` again once \
             valgrind works",
            valgrind.display()
        );
        return (run, Counts::new());
    };
    run.valgrind = Some(version);
    match count_with(&valgrind, exe, plan, only_pair, &mut run) {
        Ok(counts) => {
            run.counted = true;
            run.note = NOTE.into();
            if !run.wasm_features_off.is_empty() {
                run.note.push_str(&format!(
                    " Valgrind's emulated CPU lacks {}: the counted Wasm code is compiled \
                     without them (the timed code may use them).",
                    run.wasm_features_off.join(", ")
                ));
            }
            (run, counts)
        }
        Err(why) => {
            run.note = format!("no instruction counts: the callgrind run failed: {why}");
            (run, Counts::new())
        }
    }
}

/// What the counts are, for the summary and the claims page.
pub const NOTE: &str = "Instructions executed per request (per operation for the op table) \
    under valgrind's callgrind, steady state: (count of K2 requests - count of K1) / (K2 - K1), \
    after a warm-up, set-up excluded. A count, not a time: blind to cache misses, branch \
    mispredictions and memory stalls. Wasm is wasmtime's Cranelift code, not V8 as in Envoy; its \
    counts were identical from run to run for 11 of 13 request benches and all ops (path_log and \
    ext_authz_call within 0.5%). Lua is LuaJIT with its JIT on (traces run under valgrind with \
    --smc-check): its counts are not identical from run to run, because LuaJIT seeds its string \
    hashing and allocator randomly per VM and garbage-collection cycles fall differently into \
    the counted window; in four runs most benches and every op agreed within about 1%, but \
    add_header, trace_id and canary_tag moved by up to 12% and custom_metrics by up to 2x. Read \
    Lua counts as approximate.";

fn count_with(
    valgrind: &Path,
    exe: &Path,
    plan: &Plan,
    only_pair: Option<&str>,
    run: &mut CallgrindRun,
) -> Result<Counts, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let modules = dir.path().join("modules");
    std::fs::create_dir(&modules).map_err(|e| format!("{}: {e}", modules.display()))?;
    let without = features_valgrind_lacks(valgrind, exe, dir.path())?;
    Precompiled::save(plan, &modules, &without)?;
    run.wasm_features_off = without;
    let out = dir.path().join("callgrind.out");
    let manifest = dir.path().join("labels.txt");
    let opts = options(&out);
    run.options = opts
        .iter()
        .filter(|o| !o.starts_with("--callgrind-out-file="))
        .cloned()
        .collect();
    let mut child = Command::new(valgrind);
    filterbench_model::child::die_with_parent(&mut child);
    match plan.catalogue.layout.workspace {
        true => child.env(WORKSPACE_ENV, &plan.catalogue.root),
        false => child.env_remove(WORKSPACE_ENV),
    };
    let output = child
        .args(&opts)
        .arg(exe)
        .env(CHILD_ENV, &manifest)
        .env(PAIR_ENV, only_pair.unwrap_or(""))
        .env(MODULES_ENV, &modules)
        .output()
        .map_err(|e| format!("{} {}: {e}", valgrind.display(), exe.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
        return Err(format!(
            "{} {} exited with {}: {}",
            valgrind.display(),
            exe.display(),
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ));
    }
    read_counts(&manifest, &out)
}

/// The CPU features of this machine that the CPU valgrind emulates lacks (valgrind 3.19 has no
/// AVX-512): the counted Wasm code is compiled without those. Asked of `exe` under valgrind.
fn features_valgrind_lacks(valgrind: &Path, exe: &Path, dir: &Path) -> Result<Vec<String>, String> {
    let probe = dir.join("cpu.txt");
    let status = filterbench_model::child::die_with_parent(&mut Command::new(valgrind))
        .args(["--tool=none", "-q"])
        .arg(exe)
        .env(PROBE_ENV, &probe)
        .status()
        .map_err(|e| format!("{} --tool=none {}: {e}", valgrind.display(), exe.display()))?;
    let seen = std::fs::read_to_string(&probe).map_err(|e| {
        format!(
            "CPU probe under valgrind ({status}): {}: {e}",
            probe.display()
        )
    })?;
    let seen: Vec<&str> = seen.lines().collect();
    let without: Vec<String> = cpu_features()
        .into_iter()
        .filter(|f| !seen.contains(f))
        .map(String::from)
        .collect();
    Ok(without)
}

/// Instructions per request of each label the child wrote to `manifest`, from the two callgrind
/// dumps (after `K1` and `K2` requests) each label made.
fn read_counts(manifest: &Path, out: &Path) -> Result<Counts, String> {
    let labels =
        std::fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let labels: Vec<&str> = labels.lines().filter(|l| !l.is_empty()).collect();
    let mut counts = Counts::new();
    for (i, label) in labels.iter().enumerate() {
        let dump = |n: usize| {
            let path = PathBuf::from(format!("{}.{n}", out.display()));
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("{label}: {}: {e}", path.display()))?;
            total_instructions(&text).ok_or_else(|| {
                format!(
                    "{label}: {}: no `totals:` or `summary:` line",
                    path.display()
                )
            })
        };
        let (c1, c2) = (dump(2 * i + 1)?, dump(2 * i + 2)?);
        counts.insert(label.to_string(), per_request(c1, c2, K1, K2));
    }
    let extra = PathBuf::from(format!("{}.{}", out.display(), 2 * labels.len() + 1));
    if extra.exists() {
        return Err(format!(
            "{}: more dumps than counted calls: the dumps do not match the labels",
            extra.display()
        ));
    }
    Ok(counts)
}

/// Instructions per request from the counts of `k1` and `k2` requests.
pub fn per_request(c1: u64, c2: u64, k1: u64, k2: u64) -> f64 {
    (c2 as f64 - c1 as f64) / (k2 - k1) as f64
}

/// The instruction count (`Ir`, the first event) of a callgrind dump.
pub fn total_instructions(dump: &str) -> Option<u64> {
    dump.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built_in() -> filterbench_model::Catalogue {
        filterbench_model::Catalogue::load(&filterbench_model::project_root()).unwrap()
    }

    #[test]
    fn without_valgrind_there_are_no_counts_and_the_note_says_why() {
        let plan = Plan::load(&built_in(), Some("add_header")).unwrap_or_else(|e| panic!("{e}"));
        let exe = std::env::current_exe().unwrap();
        let missing = OsStr::new("/nonexistent/valgrind");
        let (run, counts) = count_using(&exe, &plan, None, Some(missing));
        assert!(!run.counted, "{run:?}");
        assert!(counts.is_empty(), "{counts:?}");
        assert_eq!(run.valgrind, None);
        assert!(
            run.note.starts_with("no instruction counts"),
            "{}",
            run.note
        );
        assert!(run.note.contains("/nonexistent/valgrind"), "{}", run.note);
        assert!(run.note.contains("`filterbench bench`"), "{}", run.note);
    }

    #[test]
    fn serialised_modules_load_and_run_like_compiled_ones() {
        let catalogue = built_in();
        let plan = Plan::load(&catalogue, Some("add_header")).unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap();
        let pre = Precompiled::save(&plan, dir.path(), &["has_avx512f".to_string()]).unwrap();
        let again = Plan::load_with(&catalogue, Some("add_header"), Some(&pre))
            .unwrap_or_else(|e| panic!("{e}"));
        // Every subject set up and checked from the deserialised modules.
        let labels = run_subjects(&again, 1, 1, 2).unwrap_or_else(|e| panic!("{e}"));
        // The Go twin too, when the build made it (the parent saved it, the child loads it).
        let go = plan.pairs[0].go.is_some();
        assert_eq!(again.pairs[0].go.is_some(), go);
        assert_eq!(
            labels.contains(&"add_header/go".to_string()),
            go,
            "{labels:?}"
        );
        assert_eq!(
            labels.len(),
            2 * (1 + 1 + 2 * ops::OPS.len()) + usize::from(go),
            "{labels:?}"
        );
        assert!(pre.load("no_such_module").is_err());
    }

    #[test]
    fn reads_the_first_event_of_a_dump() {
        let dump = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nfn=(1) f\n0 5\n\
                    totals: 123456\n";
        assert_eq!(total_instructions(dump), Some(123_456));
        assert_eq!(total_instructions("summary: 77 3\n"), Some(77));
        assert_eq!(total_instructions("events: Ir\n"), None);
        assert_eq!(per_request(1_000, 3_000, 100, 300), 10.0);
    }
}
