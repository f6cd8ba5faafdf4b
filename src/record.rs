//! `filterbench record --pair NAME --requests FILE`: the Lua filter as the specification. The
//! requests (JSON lines / an array / one request in the `run` format, or a HAR export) go through
//! the pair's Lua filter in a real Envoy, after the pair's existing scenarios (so a stateful filter
//! is in the state verify will find it in); each becomes a scenario of the pair's corpus whose
//! expectations are the outcome observed (`filterbench_model::record`). Nothing is written when
//! anything fails; a scenario name that exists is refused unless `--force`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use filterbench_envoy::run::{run_in_envoy, RunFilter, RunStep};
use filterbench_model::catalogue::DEFAULT_CONFIG;
use filterbench_model::record::{self, Input};
use filterbench_model::request::RunRequest;
use filterbench_model::{calls, now_ms, replay, Catalogue, Corpus};

use crate::configs;

#[derive(clap::Args)]
pub struct RecordArgs {
    /// The pair whose Lua filter is recorded.
    #[arg(long, value_name = "NAME")]
    pair: String,
    /// The requests: JSON lines (or a JSON array, or one request) in the `run` request format
    /// {"name", "method", "path", "headers", "body", "upstream", "calls"}, or a HAR file.
    #[arg(long, value_name = "FILE")]
    requests: PathBuf,
    /// Replies to outgoing calls for every request (after the request's own `calls`): a JSON
    /// array of {"cluster", "path", "status", "headers", "body", "delay_ms", "reset", "timeout"}.
    #[arg(long, value_name = "FILE")]
    calls: Option<PathBuf>,
    /// Replace scenarios whose names exist already (default: refuse, nothing written).
    #[arg(long)]
    force: bool,
    /// The pair's configuration the requests are recorded under (default: `default`); the new
    /// scenarios run under it. A name the pair does not have needs --config-value.
    #[arg(long, value_name = "NAME")]
    config: Option<String>,
    /// The content of --config NAME: a file, or inline JSON or YAML (a mapping: Lua's route
    /// metadata, the twin's plugin configuration). A new name is added to the pair's
    /// configurations in the catalogue; one that exists must have this content.
    #[arg(long, value_name = "FILE|JSON|YAML", requires = "config")]
    config_value: Option<String>,
    /// Replace configuration --config NAME when it exists with other content (the catalogue is
    /// copied first to `PATH.bak-<UTC time>`, named in the output).
    #[arg(long, requires = "config_value")]
    replace_config: bool,
}

/// The configuration a record runs under: its name, its content as JSON, and the catalogue text
/// to write when it is new or replaced (with whether to keep a backup first).
struct Recorded {
    name: String,
    json: serde_json::Value,
    catalogue: Option<(String, bool)>,
}

/// `--config NAME [--config-value V] [--replace-config]` checked against the pair, before anything
/// runs.
fn configuration(
    catalogue: &Catalogue,
    pair: &filterbench_model::Pair,
    args: &RecordArgs,
) -> anyhow::Result<Recorded> {
    let name = args.config.as_deref().unwrap_or(DEFAULT_CONFIG).to_string();
    let at = catalogue.path.display();
    if !filterbench_model::catalogue::valid_name(&name) {
        anyhow::bail!(
            "{at}: --config {name:?}: a configuration name must be [a-z0-9_]+; nothing written"
        );
    }
    let Some(value) = &args.config_value else {
        if let Some(problem) = pair.config_problem(&name) {
            anyhow::bail!(
                "{at}: --config {name}: {problem}; give its content with --config-value \
                 FILE|JSON|YAML to add it; nothing written"
            );
        }
        let json = pair.config_json_of(&name).expect("checked above");
        return Ok(Recorded {
            name,
            json,
            catalogue: None,
        });
    };
    let (table, origin) = configs::read_value(value)?;
    let edit = match configs::change(pair, &name, &table) {
        configs::Change::Same => None,
        configs::Change::New => Some(false),
        configs::Change::Differs if args.replace_config => Some(true),
        configs::Change::Differs => anyhow::bail!(
            "{at}: pair {}: configuration {name} exists with other content than {origin}; \
             nothing written (--replace-config replaces it, keeping a copy of the catalogue)",
            pair.name
        ),
    };
    let catalogue_text = match edit {
        None => None,
        Some(backup) => {
            let text = std::fs::read_to_string(&catalogue.path)
                .with_context(|| format!("{at}: cannot read"))?;
            let new_text = configs::with_config(&catalogue.path, &text, &pair.name, &name, &table)?;
            // The catalogue as it will be, read back as every command reads it.
            let parsed = Catalogue::parse(
                &catalogue.root,
                &catalogue.path,
                &new_text,
                catalogue.layout.clone(),
            )?;
            if parsed.get(&pair.name).and_then(|p| p.config_table(&name)) != Some(&table) {
                anyhow::bail!(
                    "{at}: the edited catalogue would not hold configuration {name} of pair {}; \
                     nothing written",
                    pair.name
                );
            }
            Some((new_text, backup))
        }
    };
    Ok(Recorded {
        name,
        json: serde_json::to_value(&table)?,
        catalogue: catalogue_text,
    })
}

pub fn record(catalogue: &Catalogue, args: RecordArgs) -> anyhow::Result<ExitCode> {
    let pair = catalogue
        .select(Some(&args.pair))?
        .into_iter()
        .next()
        .expect("select gives the pair");
    let mut inputs: Vec<Input> = record::read_inputs(&args.requests)?;
    if let Some(path) = &args.calls {
        let common = calls::read_scripts(path)?;
        for input in &mut inputs {
            input.request.calls.extend(common.iter().cloned());
        }
    }
    let lua_path = catalogue.lua_path(&pair.name);
    let source = catalogue.lua_source(&pair.name)?;
    let corpus_path = catalogue.corpus_path(&pair.name);
    let corpus = Corpus::load_maybe_empty(&corpus_path, &pair.name)?;
    let text = std::fs::read_to_string(&corpus_path)
        .with_context(|| format!("{}: cannot read", corpus_path.display()))?;
    let recorded_under = configuration(catalogue, pair, &args)?;
    // A scenario under `default` names none (as every corpus written before configurations).
    let scenario_config =
        (recorded_under.name != DEFAULT_CONFIG).then(|| recorded_under.name.clone());
    let date = filterbench_reports::html::utc(now_ms());
    let comment = format!(
        "recorded by `filterbench record` from {} on {date}",
        file_name(&args.requests)
    );

    // Everything that can be checked before Envoy runs is checked now: each request's scenario
    // name, and the corpus as it will be (with empty expectations standing in for the observed
    // ones), read back as `Corpus::load` reads it. Nothing is written and nothing runs when
    // anything is wrong.
    let names = scenario_names(&args.requests, &inputs, &corpus)?;
    let placeholders: Vec<filterbench_model::Scenario> = inputs
        .iter()
        .zip(&names)
        .map(|(input, name)| {
            let mut scenario = record::scenario(
                name.clone(),
                String::new(),
                &input.request,
                filterbench_model::corpus::Expect::default(),
            );
            scenario.config = scenario_config.clone();
            scenario
        })
        .collect();
    record::corpus_with(
        &corpus_path,
        &pair.name,
        &text,
        &placeholders,
        &comment,
        args.force,
    )?;

    let (rig, version) = crate::envoy_rig()?;
    println!(
        "recording {} request(s) of {} through the Lua filter of {} in Envoy {version}{}",
        inputs.len(),
        args.requests.display(),
        pair.name,
        if pair.has_several_configs() || scenario_config.is_some() {
            format!(", configuration {}", recorded_under.name)
        } else {
            String::new()
        }
    );
    // The corpus so far under this configuration first (outcomes not kept): a stateful filter
    // then meets the new requests in the state verify's replay will have it in.
    let before = Corpus {
        scenarios: corpus
            .scenarios
            .iter()
            .filter(|s| s.config_name() == recorded_under.name)
            .cloned()
            .collect(),
        ..corpus.clone()
    };
    let mut steps: Vec<RunStep> = replay::steps(&before)
        .map(|step| RunStep {
            request: record::request_of(step.scenario),
            calls: step.scenario.calls.clone(),
        })
        .collect();
    let warm_up = steps.len();
    steps.extend(inputs.iter().map(|input| RunStep {
        request: input.request.clone(),
        calls: input.request.calls.clone(),
    }));
    // Each request with a repeated header again, its values joined as HTTP joins them: when
    // what the filter does depends on the form, that is worth a look (after every recorded
    // request, so that a stateful filter records them as they are).
    let variants: Vec<(usize, RunRequest, Vec<String>)> = inputs
        .iter()
        .enumerate()
        .filter_map(|(i, input)| {
            record::joined_variant(&input.request).map(|(joined, names)| (i, joined, names))
        })
        .collect();
    let recorded = steps.len();
    steps.extend(variants.iter().map(|(_, joined, _)| RunStep {
        request: joined.clone(),
        calls: joined.calls.clone(),
    }));
    let results = run_in_envoy(
        &rig,
        &RunFilter::Lua {
            file: lua_path.clone(),
            source,
        },
        &recorded_under.json,
        &steps,
    )?;
    // The same requests through a filter that does nothing: what Envoy does alone, so that what
    // the filter changed is the difference.
    let alone = run_in_envoy(
        &rig,
        &RunFilter::Lua {
            file: lua_path.with_file_name("nothing.lua"),
            source: record::NOTHING_LUA.to_string(),
        },
        &recorded_under.json,
        &steps,
    )?;
    drop(rig);
    let changed = |i: usize, request: &RunRequest| {
        record::changes(
            request,
            &alone[i].outcome,
            &results[i].outcome,
            &pair.normalise,
        )
    };

    let mut scenarios = Vec::new();
    for ((input, result), name) in inputs.iter().zip(&results[warm_up..recorded]).zip(names) {
        // A request never answered is an error, never an expectation.
        record::answered(&result.outcome).map_err(|e| {
            anyhow::anyhow!(
                "{}: {} ({name}): {e}; nothing written",
                args.requests.display(),
                input.origin
            )
        })?;
        let expect = record::expectations(
            &input.request,
            &result.outcome,
            record::script_log_messages(&result.log),
            &pair.normalise,
        );
        scenarios.push((input, name, expect, &result.outcome));
    }
    let mut worth_a_look = 0;
    let scenarios: Vec<filterbench_model::Scenario> = scenarios
        .into_iter()
        .enumerate()
        .map(|(i, (input, name, expect, outcome))| {
            let changes = changed(warm_up + i, &input.request);
            println!(
                "  {name}: {} {} -> {}{}; {}",
                input.request.method,
                input.request.path,
                outcome.status,
                if outcome.upstream.is_some() {
                    ", reached the upstream"
                } else {
                    ", answered by the filter"
                },
                record::changes_line(&changes)
            );
            if let Some(k) = variants.iter().position(|(v, _, _)| *v == i) {
                let (_, joined, names) = &variants[k];
                let differs = record::multiplicity_diff(
                    &results[warm_up + i].outcome,
                    &results[recorded + k].outcome,
                    joined,
                    &pair.normalise,
                );
                if !differs.is_empty() {
                    worth_a_look += 1;
                    println!(
                        "    worth a look: with {} sent more than once the filter does not do \
                         what it does with the values joined into one header (as HTTP joins \
                         them; Lua's get() joins repeated values with \",\"): {}",
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        record::changes_line(&differs).replace(" -> ", " repeated, joined ")
                    );
                }
            }
            let mut scenario = record::scenario(
                name,
                format!(
                    "recorded from {} {} (the Lua filter in Envoy {version}, {date})",
                    file_name(&args.requests),
                    input.origin
                ),
                &input.request,
                expect,
            );
            scenario.config = scenario_config.clone();
            scenario
        })
        .collect();
    let out = record::corpus_with(
        &corpus_path,
        &pair.name,
        &text,
        &scenarios,
        &comment,
        args.force,
    )?;
    // A new (or replaced) configuration goes into the catalogue before the scenarios that run
    // under it.
    if let Some((text, backup)) = &recorded_under.catalogue {
        let kept = configs::write_catalogue(&catalogue.path, text, *backup)?;
        println!(
            "configuration {} of pair {} written to {}{}",
            recorded_under.name,
            pair.name,
            catalogue.path.display(),
            kept.map_or(String::new(), |k| format!(
                " (the old catalogue kept as {}, --replace-config)",
                k.display()
            ))
        );
    }
    filterbench_k8s::write_atomic(&corpus_path, out.as_bytes())
        .with_context(|| format!("{}: cannot write", corpus_path.display()))?;
    // The corpus as verify will read it.
    let written = Corpus::load(&corpus_path, &pair.name)?;
    let workspace = if catalogue.layout.workspace {
        format!("--workspace {} ", catalogue.root.display())
    } else {
        String::new()
    };
    if worth_a_look > 0 {
        println!(
            "{worth_a_look} request(s) worth a look: what the filter does depends on whether a \
             header is repeated or its values joined (see above); the recorded scenarios keep \
             what it did"
        );
    }
    println!(
        "recorded {} scenario(s) into {} ({} in all); next: write the Wasm twin and run \
         `filterbench verify --in-process {workspace}--pair {}`",
        scenarios.len(),
        corpus_path.display(),
        written.scenarios.len(),
        pair.name
    );
    Ok(ExitCode::SUCCESS)
}

/// The scenario name of each request: its own `name` (which must be a valid scenario name, given
/// once, and new to the corpus unless `--force`), else one made from its method and path.
fn scenario_names(
    file: &std::path::Path,
    inputs: &[Input],
    corpus: &Corpus,
) -> anyhow::Result<Vec<String>> {
    let mut taken: Vec<String> = corpus.scenarios.iter().map(|s| s.name.clone()).collect();
    // Explicit names first, so that a made-up name never takes one a later request gives.
    taken.extend(inputs.iter().filter_map(|i| i.request.name.clone()));
    let mut names: Vec<String> = Vec::new();
    for input in inputs {
        let name = match &input.request.name {
            // An explicit name keeps its name: replacing it is --force's business.
            Some(name) => {
                if !filterbench_model::catalogue::valid_name(name) {
                    anyhow::bail!(
                        "{}: {}: name {name:?} must be [a-z0-9_]+ (it names a scenario); nothing \
                         written",
                        file.display(),
                        input.origin
                    );
                }
                name.clone()
            }
            None => {
                let made = record::scenario_name(&input.request, &taken);
                taken.push(made.clone());
                made
            }
        };
        if names.contains(&name) {
            anyhow::bail!(
                "{}: the name {name:?} is given to two requests; nothing written",
                file.display()
            );
        }
        names.push(name);
    }
    Ok(names)
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
