//! `filterbench record --pair NAME --requests FILE`: the Lua filter as the specification. The
//! requests (JSON lines / an array / one request in the `run` format, or a HAR export) go through
//! the pair's Lua filter in a real Envoy, after the pair's existing scenarios (so a stateful filter
//! is in the state verify will find it in); each becomes a scenario of the pair's corpus whose
//! expectations are the outcome observed (`filterbench_model::record`). Nothing is written when
//! anything fails; a scenario name that exists is refused unless `--force`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use filterbench_envoy::run::{run_in_envoy, EnvoyResult, RunFilter, RunStep};
use filterbench_envoy::verify::Rig;
use filterbench_model::catalogue::DEFAULT_CONFIG;
use filterbench_model::corpus::Expect;
use filterbench_model::record::{self, Input};
use filterbench_model::request::RunRequest;
use filterbench_model::{calls, now_ms, replay, Catalogue, Corpus, Pair, Scenario};

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

/// What one `record` run works on: the pair, its Lua filter, its corpus (path, text and as
/// read), the configuration it records under, and the comment and date its new scenarios carry.
struct Recording<'a> {
    catalogue: &'a Catalogue,
    pair: &'a Pair,
    args: &'a RecordArgs,
    lua_path: PathBuf,
    source: String,
    corpus_path: PathBuf,
    corpus: Corpus,
    text: String,
    under: Recorded,
    /// A scenario under `default` names none (as every corpus written before configurations).
    scenario_config: Option<String>,
    date: String,
    comment: String,
}

/// What Envoy did with the steps: the corpus so far under the configuration (`..warm_up`), the
/// recorded requests (`warm_up..recorded`), then each request with a repeated header sent
/// again with its values joined (`variants`, by index of its request), both through the Lua
/// filter (`results`) and through a filter that does nothing (`alone`).
struct Runs {
    results: Vec<EnvoyResult>,
    alone: Vec<EnvoyResult>,
    warm_up: usize,
    recorded: usize,
    variants: Vec<(usize, RunRequest, Vec<String>)>,
}

pub fn record(catalogue: &Catalogue, args: RecordArgs) -> anyhow::Result<ExitCode> {
    let pair = catalogue
        .select(Some(&args.pair))?
        .into_iter()
        .next()
        .expect("select gives the pair");
    let inputs = read_requests(&args)?;
    let recording = Recording::open(catalogue, pair, &args)?;
    // Everything that can be checked before Envoy runs is checked now, so that nothing is
    // written and nothing runs when anything is wrong.
    let names = scenario_names(&args.requests, &inputs, &recording.corpus)?;
    recording.check_placeholders(&inputs, &names)?;

    let (rig, version) = crate::envoy_rig()?;
    recording.announce(inputs.len(), &version);
    let runs = recording.run(&rig, &inputs)?;
    drop(rig);
    let expectations = recording.expectations(&inputs, &names, &runs)?;
    let mut worth_a_look = 0;
    let scenarios: Vec<Scenario> = inputs
        .iter()
        .zip(names)
        .zip(expectations)
        .enumerate()
        .map(|(i, ((input, name), expect))| {
            if recording.print_request(i, input, &name, &runs) {
                worth_a_look += 1;
            }
            recording.scenario(name, input, expect, &version)
        })
        .collect();
    let written = recording.write(&scenarios)?;
    if worth_a_look > 0 {
        println!(
            "{worth_a_look} request(s) worth a look: what the filter does depends on whether a \
             header is repeated or its values joined (see above); the recorded scenarios keep \
             what it did"
        );
    }
    let workspace = if catalogue.layout.workspace {
        format!("--workspace {} ", catalogue.root.display())
    } else {
        String::new()
    };
    println!(
        "recorded {} scenario(s) into {} ({} in all); next: write the Wasm twin and run \
         `filterbench verify --in-process {workspace}--pair {}`",
        scenarios.len(),
        recording.corpus_path.display(),
        written,
        pair.name
    );
    Ok(ExitCode::SUCCESS)
}

/// The requests of `--requests`, each with the replies of `--calls` added after its own.
fn read_requests(args: &RecordArgs) -> anyhow::Result<Vec<Input>> {
    let mut inputs: Vec<Input> = record::read_inputs(&args.requests)?;
    if let Some(path) = &args.calls {
        let common = calls::read_scripts(path)?;
        for input in &mut inputs {
            input.request.calls.extend(common.iter().cloned());
        }
    }
    Ok(inputs)
}

impl<'a> Recording<'a> {
    /// Reads the pair's Lua filter and corpus and checks `--config` against the pair.
    fn open(
        catalogue: &'a Catalogue,
        pair: &'a Pair,
        args: &'a RecordArgs,
    ) -> anyhow::Result<Self> {
        let lua_path = catalogue.lua_path(&pair.name);
        let source = catalogue.lua_source(&pair.name)?;
        let corpus_path = catalogue.corpus_path(&pair.name);
        let corpus = Corpus::load_maybe_empty(&corpus_path, &pair.name)?;
        let text = std::fs::read_to_string(&corpus_path)
            .with_context(|| format!("{}: cannot read", corpus_path.display()))?;
        let under = configuration(catalogue, pair, args)?;
        let scenario_config = (under.name != DEFAULT_CONFIG).then(|| under.name.clone());
        let date = filterbench_reports::html::utc(now_ms());
        let comment = format!(
            "recorded by `filterbench record` from {} on {date}",
            file_name(&args.requests)
        );
        Ok(Recording {
            catalogue,
            pair,
            args,
            lua_path,
            source,
            corpus_path,
            corpus,
            text,
            under,
            scenario_config,
            date,
            comment,
        })
    }

    /// The corpus as it will be, with empty expectations standing in for the observed ones,
    /// read back as `Corpus::load` reads it.
    fn check_placeholders(&self, inputs: &[Input], names: &[String]) -> anyhow::Result<()> {
        let placeholders: Vec<Scenario> = inputs
            .iter()
            .zip(names)
            .map(|(input, name)| {
                self.with_config(record::scenario(
                    name.clone(),
                    String::new(),
                    &input.request,
                    filterbench_model::corpus::Expect::default(),
                ))
            })
            .collect();
        self.corpus_text(&placeholders)?;
        Ok(())
    }

    /// The scenario under the configuration recorded.
    fn with_config(&self, mut scenario: Scenario) -> Scenario {
        scenario.config = self.scenario_config.clone();
        scenario
    }

    /// The corpus file's text with `scenarios` added (or replacing theirs with `--force`).
    fn corpus_text(&self, scenarios: &[Scenario]) -> anyhow::Result<String> {
        Ok(record::corpus_with(
            &self.corpus_path,
            &self.pair.name,
            &self.text,
            scenarios,
            &self.comment,
            self.args.force,
        )?)
    }

    fn announce(&self, requests: usize, version: &str) {
        println!(
            "recording {} request(s) of {} through the Lua filter of {} in Envoy {version}{}",
            requests,
            self.args.requests.display(),
            self.pair.name,
            if self.pair.has_several_configs() || self.scenario_config.is_some() {
                format!(", configuration {}", self.under.name)
            } else {
                String::new()
            }
        );
    }

    /// Runs the steps (see [`Runs`]) through the Lua filter, then through a filter that does
    /// nothing: what Envoy does alone, so that what the filter changed is the difference.
    fn run(&self, rig: &Rig, inputs: &[Input]) -> anyhow::Result<Runs> {
        // The corpus so far under this configuration first (outcomes not kept): a stateful
        // filter then meets the new requests in the state verify's replay will have it in.
        let before = Corpus {
            scenarios: self
                .corpus
                .scenarios
                .iter()
                .filter(|s| s.config_name() == self.under.name)
                .cloned()
                .collect(),
            ..self.corpus.clone()
        };
        let mut steps: Vec<RunStep> = replay::steps(&before)
            .map(|step| RunStep {
                request: record::request_of(step.scenario),
                calls: step.scenario.calls.clone(),
            })
            .collect();
        let warm_up = steps.len();
        steps.extend(inputs.iter().map(|input| step_of(&input.request)));
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
        steps.extend(variants.iter().map(|(_, joined, _)| step_of(joined)));
        let lua = RunFilter::Lua {
            file: self.lua_path.clone(),
            source: self.source.clone(),
        };
        let results = run_in_envoy(rig, &lua, &self.under.json, &steps)?;
        let nothing = RunFilter::Lua {
            file: self.lua_path.with_file_name("nothing.lua"),
            source: record::NOTHING_LUA.to_string(),
        };
        let alone = run_in_envoy(rig, &nothing, &self.under.json, &steps)?;
        Ok(Runs {
            results,
            alone,
            warm_up,
            recorded,
            variants,
        })
    }

    /// Each recorded request's expectations, the outcome observed; a request never answered is
    /// an error, never an expectation.
    fn expectations(
        &self,
        inputs: &[Input],
        names: &[String],
        runs: &Runs,
    ) -> anyhow::Result<Vec<Expect>> {
        let recorded = &runs.results[runs.warm_up..runs.recorded];
        let mut expectations = Vec::new();
        for ((input, result), name) in inputs.iter().zip(recorded).zip(names) {
            record::answered(&result.outcome).map_err(|e| {
                anyhow::anyhow!(
                    "{}: {} ({name}): {e}; nothing written",
                    self.args.requests.display(),
                    input.origin
                )
            })?;
            expectations.push(record::expectations(
                &input.request,
                &result.outcome,
                record::script_log_messages(&result.log),
                &self.pair.normalise,
            ));
        }
        Ok(expectations)
    }

    /// Prints what the filter did with request `i` and, when it does otherwise with a repeated
    /// header's values joined, a line worth a look; answers whether it printed that line.
    fn print_request(&self, i: usize, input: &Input, name: &str, runs: &Runs) -> bool {
        let at = runs.warm_up + i;
        let outcome = &runs.results[at].outcome;
        let changes = record::changes(
            &input.request,
            &runs.alone[at].outcome,
            outcome,
            &self.pair.normalise,
        );
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
        let Some(k) = runs.variants.iter().position(|(v, _, _)| *v == i) else {
            return false;
        };
        let (_, joined, names) = &runs.variants[k];
        let differs = record::multiplicity_diff(
            outcome,
            &runs.results[runs.recorded + k].outcome,
            joined,
            &self.pair.normalise,
        );
        if differs.is_empty() {
            return false;
        }
        println!(
            "    worth a look: with {} sent more than once the filter does not do what it does \
             with the values joined into one header (as HTTP joins them; Lua's get() joins \
             repeated values with \",\"): {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            record::changes_line(&differs).replace(" -> ", " repeated, joined ")
        );
        true
    }

    /// The recorded scenario of one request.
    fn scenario(&self, name: String, input: &Input, expect: Expect, version: &str) -> Scenario {
        self.with_config(record::scenario(
            name,
            format!(
                "recorded from {} {} (the Lua filter in Envoy {version}, {})",
                file_name(&self.args.requests),
                input.origin,
                self.date
            ),
            &input.request,
            expect,
        ))
    }

    /// Writes a new (or replaced) configuration into the catalogue, then the scenarios into the
    /// corpus; answers how many scenarios the corpus holds, read as verify will read it.
    fn write(&self, scenarios: &[Scenario]) -> anyhow::Result<usize> {
        let out = self.corpus_text(scenarios)?;
        // A new (or replaced) configuration goes into the catalogue before the scenarios that
        // run under it.
        if let Some((text, backup)) = &self.under.catalogue {
            let path = &self.catalogue.path;
            let kept = configs::write_catalogue(path, text, *backup)?;
            println!(
                "configuration {} of pair {} written to {}{}",
                self.under.name,
                self.pair.name,
                path.display(),
                kept.map_or(String::new(), |k| format!(
                    " (the old catalogue kept as {}, --replace-config)",
                    k.display()
                ))
            );
        }
        filterbench_k8s::write_atomic(&self.corpus_path, out.as_bytes())
            .with_context(|| format!("{}: cannot write", self.corpus_path.display()))?;
        Ok(Corpus::load(&self.corpus_path, &self.pair.name)?
            .scenarios
            .len())
    }
}

/// A request as a step of an Envoy run, with the replies to its outgoing calls.
fn step_of(request: &RunRequest) -> RunStep {
    RunStep {
        request: request.clone(),
        calls: request.calls.clone(),
    }
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
