//! `filterbench verify --in-process --generated N`: N generated request sequences per pair
//! (seeded from the pair's own corpus: its header names, values, paths and bodies, with
//! repetition, letter case, empty values and truncation), each run through fresh Lua and twin
//! VMs in-process and diffed. A disagreement is shrunk to a small case, printed with the diff,
//! and written as `run` / `record` request lines to
//! `reports/results/verify/generated/<pair>.jsonl` (the workspace's results with
//! `--workspace`), so that `record --requests` turns it into scenarios of the pair's corpus.

use std::process::ExitCode;

use anyhow::Context;
use filterbench_bench::harness::driver::LoadedPair;
use filterbench_bench::harness::generate;
use filterbench_model::exit;
use filterbench_model::results::write_atomically;
use filterbench_model::{Catalogue, Corpus, Pair};

pub fn verify_generated(
    ws: Option<&std::path::Path>,
    pair: Option<&str>,
    cases: u32,
    seed: u64,
) -> anyhow::Result<ExitCode> {
    let catalogue = crate::workspace::open(ws)?;
    let names: Vec<String> = pair.into_iter().map(str::to_string).collect();
    let pairs = crate::workspace::select_built(&catalogue, &names)?;
    println!(
        "{} pair(s), {cases} generated request sequence(s) each (seed {seed}), Lua vs the twin, \
         in-process",
        pairs.len()
    );
    let differ = check_pairs(&catalogue, &pairs, cases, seed, ws, "  ", true)?;
    println!(
        "{} pairs, {cases} generated sequences each: {} agree, {} differ",
        pairs.len(),
        pairs.len() - differ.len(),
        differ.len()
    );
    Ok(if differ.is_empty() {
        ExitCode::SUCCESS
    } else {
        exit::code(exit::NOT_EQUIVALENT)
    })
}

/// N generated sequences for each of `pairs`, Lua against its Rust Wasm twin in-process; a
/// line per pair (led by `indent`; with `print_agree` false, only for pairs that differ), failures shrunk, printed and saved. Returns the pairs that
/// differ. `filterbench all` runs it too (its step 2).
pub fn check_pairs(
    catalogue: &Catalogue,
    pairs: &[&Pair],
    cases: u32,
    seed: u64,
    ws: Option<&std::path::Path>,
    indent: &str,
    print_agree: bool,
) -> anyhow::Result<Vec<String>> {
    let mut differ = Vec::new();
    for pair in pairs {
        let corpus = Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name)?;
        let loaded = LoadedPair::load(catalogue, pair)
            .with_context(|| format!("{}: loading the Lua filter and its twin", pair.name))?;
        match generate::check(&loaded, &corpus, cases, seed, "wasm")
            .map_err(|e| anyhow::anyhow!("{}: {e}", pair.name))?
        {
            None if print_agree => println!("{indent}{}: all {cases} agree", pair.name),
            None => {}
            Some(failure) => {
                let lines: Vec<String> = failure
                    .requests
                    .iter()
                    .map(serde_json::to_string)
                    .collect::<Result<_, _>>()?;
                let dir = catalogue.results_dir().join("verify").join("generated");
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                let file = dir.join(format!("{}.jsonl", pair.name));
                write_atomically(&file, format!("{}\n", lines.join("\n")).as_bytes())
                    .with_context(|| format!("writing {}", file.display()))?;
                println!(
                    "{indent}{}: DIFFERS on a generated sequence, shrunk to {} request(s):",
                    pair.name,
                    lines.len()
                );
                for l in failure.reason.lines() {
                    println!("{indent}  {l}");
                }
                for l in &lines {
                    println!("{indent}  {l}");
                }
                println!(
                    "{indent}  saved as {}: record them as scenarios with `filterbench record{} --pair {} \
                     --requests {}` (rename them first)",
                    file.display(),
                    ws.map_or(String::new(), |w| format!(" --workspace {}", w.display())),
                    pair.name,
                    file.display()
                );
                differ.push(pair.name.clone());
            }
        }
    }
    Ok(differ)
}
