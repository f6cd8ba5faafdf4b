//! `filterbench report`: result files under `reports/results/` and the migration policy
//! (`--policy FILE`) read and rendered into the site, as `report` does for one pair.
//!
//! An input is one or more files separated by a NUL byte (which neither JSON nor TOML text may
//! hold); a file's first byte says which file it is ([`FILES`], modulo their count), the rest is
//! its text. Files an input does not hold are missing, as in a fresh results folder. Property:
//! an error naming a file, or a site.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use filterbench_model::catalogue::{Catalogue, Layout, Pair};
use filterbench_model::results::failure::failure_path;
use filterbench_model::results::swap::swap_path;
use filterbench_model::results::{bench_summary_path, load_path, verify_path};
use filterbench_reports::decision::Policy;
use filterbench_reports::site::{render, SiteInput};
use libfuzzer_sys::fuzz_target;

/// The one pair reported.
const PAIR: &str = "add_header";

/// The files an input can hold, by their first byte.
#[derive(Clone, Copy)]
enum File {
    BenchSummary,
    Verify(&'static str),
    Load(&'static str),
    Failure,
    Swap,
    Policy,
}

const FILES: &[File] = &[
    File::BenchSummary,
    File::Verify("envoy"),
    File::Verify("in_process"),
    File::Verify("deployed"),
    File::Load(PAIR),
    File::Load("passthrough"),
    File::Failure,
    File::Swap,
    File::Policy,
];

/// A temporary directory per process: `results/` (emptied for each input) and `site/`.
fn dirs() -> &'static (PathBuf, PathBuf) {
    static DIRS: OnceLock<(tempfile::TempDir, (PathBuf, PathBuf))> = OnceLock::new();
    &DIRS
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let paths = (dir.path().join("results"), dir.path().join("site"));
            (dir, paths)
        })
        .1
}

/// The reported pair as the catalogue gives it.
fn pair() -> &'static Pair {
    static PAIR_ENTRY: OnceLock<Pair> = OnceLock::new();
    PAIR_ENTRY.get_or_init(|| {
        let text = format!(
            "schema_version = 1\n[[pair]]\nname = \"{PAIR}\"\nsummary = \"adds a header\"\n\
             behaviour = \"adds a header\"\nconfig = {{}}\ntraits = {{ external_call = false, \
             data_processing = false, custom_metrics = false, state = false, change_frequency = \"low\" }}\n"
        );
        let dir = Path::new("/nonexistent-fuzz-workspace");
        let catalogue = Catalogue::parse(dir, &dir.join("filterbench.toml"), &text, Layout::workspace(dir))
            .expect("the fuzz target's own catalogue entry parses");
        catalogue.pairs.into_iter().next().expect("one pair")
    })
}

fn write(path: &Path, text: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("a file in a folder")).expect("mkdir");
    std::fs::write(path, text).expect("write a result file");
}

fuzz_target!(|data: &[u8]| {
    let (results, site) = dirs();
    let _ = std::fs::remove_dir_all(results);
    std::fs::create_dir_all(results).expect("mkdir results");
    let mut policy = Policy::default_policy();
    for part in data.split(|&b| b == 0) {
        let Some((&which, text)) = part.split_first() else {
            continue;
        };
        match FILES[usize::from(which) % FILES.len()] {
            File::BenchSummary => write(&bench_summary_path(results), text),
            File::Verify(mode) => write(&verify_path(results, mode), text),
            File::Load(pair) => write(&load_path(results, pair), text),
            File::Failure => write(&failure_path(results), text),
            File::Swap => write(&swap_path(results, PAIR), text),
            File::Policy => {
                let path = results.join("policy.toml");
                write(&path, text);
                match Policy::load(&path) {
                    Ok(p) => policy = p,
                    Err(_) => return,
                }
            }
        }
    }
    let input = SiteInput {
        results_dir: results.clone(),
        results_shown: PathBuf::from("reports/results"),
        pairs: vec![pair().clone()],
        policy,
        policy_source: "reports/policy.toml".to_string(),
        rendered_ms: 1_700_000_000_000,
    };
    let _ = render(&input, site);
});
