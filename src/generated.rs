//! `filterbench verify --in-process --generated N`: N generated request sequences per pair
//! (seeded from the pair's own corpus: its header names, values, paths and bodies, with
//! repetition, letter case, empty values and truncation), each run through fresh Lua and twin
//! VMs in-process and diffed. A disagreement is shrunk to a small case, printed with the diff,
//! and written as `run` / `record` request lines to
//! `reports/results/verify/generated/<pair>.jsonl` (the workspace's results with
//! `--workspace`), so that `record --requests` turns it into scenarios of the pair's corpus.
//!
//! A pair with several configurations gets N sequences under each (the vocabulary is the whole
//! corpus', whatever configuration a scenario runs under); a disagreement names the
//! configuration, and its file is `<pair>.config-<name>.jsonl` for one other than `default`.
//!
//! `--twin go` runs the pairs' Go Wasm twins instead of the Rust ones (`--twin all`: every kind
//! that runs in-process, one summary line per kind); a failure of another kind than the Rust
//! Wasm one is saved as `<pair>.<kind>.jsonl`. Native twins run in real Envoy only.

use std::process::ExitCode;

use anyhow::Context;
use filterbench_bench::harness::driver::LoadedPair;
use filterbench_bench::harness::generate::{self, GeneratedFailure};
use filterbench_model::catalogue::DEFAULT_CONFIG;
use filterbench_model::exit;
use filterbench_model::results::write_atomically;
use filterbench_model::{Catalogue, Corpus, Pair, TwinKind};

/// `kinds`: the twin kind asked for (`None`: every kind the pairs have that runs in-process).
pub fn verify_generated(
    ws: Option<&std::path::Path>,
    pair: Option<&str>,
    kinds: Option<TwinKind>,
    cases: u32,
    seed: u64,
) -> anyhow::Result<ExitCode> {
    let catalogue = crate::workspace::open(ws)?;
    let names: Vec<String> = pair.into_iter().map(str::to_string).collect();
    let selected = crate::workspace::select_built(&catalogue, &names)?;
    let has = |p: &Pair, kind: TwinKind| catalogue.twin(&p.name, kind).is_some();
    let kinds: Vec<TwinKind> = match kinds {
        Some(kind) if !kind.runs_in_process() => anyhow::bail!(
            "{}: a {} twin runs in real Envoy only: use `filterbench verify --envoy --twin {}`",
            catalogue.path.display(),
            kind.label(),
            kind.id()
        ),
        Some(kind) => vec![kind],
        None => TwinKind::ALL
            .into_iter()
            .filter(|k| k.runs_in_process() && selected.iter().any(|p| has(p, *k)))
            .collect(),
    };
    let several = kinds.len() > 1;
    let mut all_agree = true;
    for kind in kinds {
        let pairs = crate::pairs_with_twin(&catalogue, &selected, kind, pair.is_some(), true)?;
        println!(
            "{} pair(s), {cases} generated request sequence(s) each (seed {seed}), Lua vs the {}, \
             in-process",
            pairs.len(),
            if kind == TwinKind::Wasm {
                "twin".to_string()
            } else {
                format!("{} twin", kind.label())
            }
        );
        let differ = check_pairs_of(&catalogue, &pairs, kind, cases, seed, ws)?;
        println!(
            "{}{} pairs, {cases} generated sequences each: {} agree, {} differ",
            if several {
                format!("{}: ", kind.label())
            } else {
                String::new()
            },
            pairs.len(),
            pairs.len() - differ.len(),
            differ.len()
        );
        all_agree &= differ.is_empty();
    }
    Ok(exit::equivalence(all_agree))
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
    let check = Check {
        catalogue,
        kind: TwinKind::Wasm,
        cases,
        seed,
        ws,
        indent,
        print_agree,
    };
    check.pairs(pairs)
}

/// [`check_pairs`] against each pair's twin of `kind` (one that runs in-process).
fn check_pairs_of(
    catalogue: &Catalogue,
    pairs: &[&Pair],
    kind: TwinKind,
    cases: u32,
    seed: u64,
    ws: Option<&std::path::Path>,
) -> anyhow::Result<Vec<String>> {
    let check = Check {
        catalogue,
        kind,
        cases,
        seed,
        ws,
        indent: "  ",
        print_agree: true,
    };
    check.pairs(pairs)
}

/// What [`check_pairs`] runs: `cases` sequences from `seed` per pair and configuration, Lua
/// against the twin of `kind`, and how it prints.
struct Check<'a> {
    catalogue: &'a Catalogue,
    kind: TwinKind,
    cases: u32,
    seed: u64,
    /// The workspace, named in the `record` command a failure line suggests.
    ws: Option<&'a std::path::Path>,
    indent: &'a str,
    print_agree: bool,
}

impl Check<'_> {
    /// Every pair in turn; answers the pairs that differ.
    fn pairs(&self, pairs: &[&Pair]) -> anyhow::Result<Vec<String>> {
        let mut differ = Vec::new();
        for pair in pairs {
            if !self.pair(pair)? {
                differ.push(pair.name.clone());
            }
        }
        Ok(differ)
    }

    /// One pair under every configuration (the built-in pairs have one: `default`), each with
    /// `cases` sequences of its own, up to the first that differs; answers whether all agree.
    fn pair(&self, pair: &Pair) -> anyhow::Result<bool> {
        let (indent, cases) = (self.indent, self.cases);
        let catalogue = self.catalogue;
        let corpus = Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name)?;
        let loaded = if self.kind == TwinKind::Wasm {
            LoadedPair::load(catalogue, pair)
        } else {
            LoadedPair::load_twin(catalogue, pair, self.kind)
        }
        .with_context(|| {
            format!(
                "{}: loading the Lua filter and its {} twin",
                pair.name,
                self.kind.label()
            )
        })?;
        let configurations = pair.configurations();
        let several = configurations.len() > 1;
        for name in &configurations {
            let config = pair
                .config_json_of(name)
                .expect("a configuration of the pair");
            if let Some(failure) =
                generate::check_under(&loaded, &corpus, &config, cases, self.seed, self.kind.id())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", pair.name))?
            {
                self.differs(pair, name, several, &failure)?;
                return Ok(false);
            }
        }
        if self.print_agree && several {
            println!(
                "{indent}{}: all {cases} agree under each of its {} configurations ({})",
                pair.name,
                configurations.len(),
                configurations.join(", ")
            );
        } else if self.print_agree {
            println!("{indent}{}: all {cases} agree", pair.name);
        }
        Ok(true)
    }

    /// Saves the shrunk sequence on which the pair differs under `config` and prints it, its
    /// reason and how to record it.
    fn differs(
        &self,
        pair: &Pair,
        config: &str,
        several: bool,
        failure: &GeneratedFailure,
    ) -> anyhow::Result<()> {
        let indent = self.indent;
        let lines: Vec<String> = failure
            .requests
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?;
        let file = self.save(pair, config, &lines)?;
        let under = if several {
            format!(" under configuration {config}")
        } else {
            String::new()
        };
        println!(
            "{indent}{}: DIFFERS{under} on a generated sequence, shrunk to {} request(s):",
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
            "{indent}  saved as {}: record them as scenarios with `filterbench record{} --pair {}{} \
             --requests {}` (rename them first)",
            file.display(),
            self.ws
                .map_or(String::new(), |w| format!(" --workspace {}", w.display())),
            pair.name,
            if config == DEFAULT_CONFIG {
                String::new()
            } else {
                format!(" --config {config}")
            },
            file.display()
        );
        Ok(())
    }

    /// Writes the request lines to `verify/generated/<pair>[.<kind>][.config-<name>].jsonl` in
    /// the results; answers the file.
    fn save(
        &self,
        pair: &Pair,
        config: &str,
        lines: &[String],
    ) -> anyhow::Result<std::path::PathBuf> {
        let dir = self
            .catalogue
            .results_dir()
            .join("verify")
            .join("generated");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        // A configuration other than `default` is in the name (`config-` keeps it apart from a
        // twin kind's id).
        let mut stem = pair.name.clone();
        if self.kind != TwinKind::Wasm {
            stem = format!("{stem}.{}", self.kind.id());
        }
        if config != DEFAULT_CONFIG {
            stem = format!("{stem}.config-{config}");
        }
        let file = dir.join(format!("{stem}.jsonl"));
        write_atomically(&file, format!("{}\n", lines.join("\n")).as_bytes())
            .with_context(|| format!("writing {}", file.display()))?;
        Ok(file)
    }
}
