//! `filterbench run`: a user's own filter (a Lua script or a proxy-wasm module) on requests of
//! the user's, in sequence on one VM, in-process; with `--envoy` through a real Envoy as well,
//! each request's two outcomes printed with their diff (exit 1 when they differ).
//!
//! Requests: `--request FILE` (repeatable) holding one JSON request, a JSON array of them, or JSON
//! lines (`filterbench_model::request`); each may carry its own `upstream` reply and `calls`.
//! `--calls FILE` adds call scripts for every request (after the request's own). Configuration:
//! `--config JSON` (as JSON to both), or raw bytes (`--config-raw TEXT` / `--config-file FILE`)
//! handed to Wasm unchanged, as Envoy hands a `StringValue`; Lua reads route metadata, which must
//! then be a JSON or YAML mapping. `--pair NAME` runs a pair's Lua filter and its twin under the
//! pair's configuration `default`, or the one `--config NAME` names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use serde_json::{json, Value};

use filterbench_bench::harness::calls::CallBook;
use filterbench_bench::harness::lua::LuaFilter;
use filterbench_bench::harness::wasm::WasmFilter;
use filterbench_bench::harness::{Env, Exchange, FilterVm};
use filterbench_model::catalogue::{Normalise, DEFAULT_CONFIG};
use filterbench_model::corpus::{CallScript, UpstreamReply};
use filterbench_model::outcome::{Diff, Outcome};
use filterbench_model::request::{read_requests, RunRequest};
use filterbench_model::{calls, exit};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("filter").required(true).args(["lua", "wasm", "pair"])))]
#[command(group(clap::ArgGroup::new("configuration").args(["config", "config_raw", "config_file"])))]
pub struct RunArgs {
    /// A pair of the catalogue (or of --workspace): its Lua filter AND its twin, each with the
    /// pair's configuration unless --config says otherwise; both outcomes and their diff printed
    /// (exit 1 when they differ).
    #[arg(long, value_name = "NAME", conflicts_with = "envoy")]
    pair: Option<String>,
    /// A Lua script as Envoy's Lua filter would load it.
    #[arg(long, value_name = "FILE")]
    lua: Option<PathBuf>,
    /// A proxy-wasm module as Envoy's Wasm filter would load it.
    #[arg(long, value_name = "FILE")]
    wasm: Option<PathBuf>,
    /// The configuration (JSON): plugin configuration for Wasm, route metadata for Lua. With
    /// --pair, a name (not starting with `{`) picks one of the pair's configurations
    /// (`default` when --config is not given).
    #[arg(long, value_name = "JSON|NAME")]
    config: Option<String>,
    /// The plugin configuration as raw text, handed to Wasm unchanged (Envoy's StringValue); for
    /// Lua it is route metadata and must be a JSON or YAML mapping.
    #[arg(long, value_name = "TEXT")]
    config_raw: Option<String>,
    /// --config-raw read from a file (its bytes as they are).
    #[arg(long, value_name = "FILE")]
    config_file: Option<PathBuf>,
    /// Requests: one JSON request {"method", "path", "headers": [[name, value]], "body",
    /// "upstream", "calls"}, a JSON array of them, or JSON lines. Repeat for more files; all run
    /// in order on one VM.
    #[arg(long, value_name = "FILE", required = true)]
    request: Vec<PathBuf>,
    /// The upstream's reply to requests that give none: {"status", "headers", "body"}.
    #[arg(long, value_name = "RESP.json")]
    upstream: Option<PathBuf>,
    /// Replies to outgoing calls for every request: a JSON array of {"cluster", "path",
    /// "status", "headers", "body", "delay_ms", "reset", "timeout"}.
    #[arg(long, value_name = "FILE")]
    calls: Option<PathBuf>,
    /// Also run the requests through a real Envoy and print both outcomes and their diff.
    #[arg(long)]
    envoy: bool,
}

/// The configuration as each side gets it.
struct Config {
    /// Lua's route metadata; Wasm's configuration as JSON when `raw` is `None`.
    json: Value,
    /// Wasm's configuration as it is.
    raw: Option<Vec<u8>>,
    /// Where it came from, for errors.
    source: String,
}

fn config(args: &RunArgs) -> anyhow::Result<Config> {
    let (raw, source) = match (&args.config, &args.config_raw, &args.config_file) {
        (Some(text), _, _) => {
            let json = serde_json::from_str(text)
                .map_err(|e| anyhow::anyhow!("--config is not JSON: {e}"))?;
            return Ok(Config {
                json,
                raw: None,
                source: "--config".into(),
            });
        }
        (_, Some(text), _) => (text.clone().into_bytes(), "--config-raw".to_string()),
        (_, _, Some(path)) => (
            std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?,
            path.display().to_string(),
        ),
        _ => {
            return Ok(Config {
                json: json!({}),
                raw: None,
                source: String::new(),
            })
        }
    };
    let json = metadata(&raw);
    if args.lua.is_some() {
        let json = json.map_err(|problem| {
            anyhow::anyhow!("{source}: Lua reads the configuration as route metadata, which must be a JSON or YAML mapping: {problem}")
        })?;
        return Ok(Config {
            json,
            raw: Some(raw),
            source,
        });
    }
    Ok(Config {
        json: json.unwrap_or_else(|_| json!({})),
        raw: Some(raw),
        source,
    })
}

/// Raw configuration as route metadata: a JSON object or a YAML mapping.
pub(crate) fn metadata(raw: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "it is not UTF-8 text".to_string())?;
    let value = match serde_json::from_str::<Value>(text) {
        Ok(v) => v,
        Err(_) => serde_yaml_ng::from_str::<Value>(text).map_err(|e| {
            format!(
                "neither JSON nor YAML ({})",
                filterbench_model::one_line(&e.to_string())
            )
        })?,
    };
    match value {
        Value::Object(_) => Ok(value),
        other => Err(format!(
            "it parses as a {}, not a mapping",
            match other {
                Value::String(_) => "string",
                Value::Array(_) => "list",
                Value::Number(_) => "number",
                Value::Bool(_) => "boolean",
                _ => "null",
            }
        )),
    }
}

/// The requests, each with the call scripts in force while it runs (its own, then `--calls`).
fn steps(args: &RunArgs) -> anyhow::Result<Vec<(RunRequest, Vec<CallScript>)>> {
    let upstream: Option<UpstreamReply> = match &args.upstream {
        Some(path) => Some(read_json(path)?),
        None => None,
    };
    let common = match &args.calls {
        Some(path) => calls::read_scripts(path)?,
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for path in &args.request {
        for mut request in read_requests(path)? {
            if request.upstream.is_none() {
                request.upstream = upstream.clone();
            }
            let mut scripts = request.calls.clone();
            scripts.extend(common.iter().cloned());
            out.push((request, scripts));
        }
    }
    Ok(out)
}

/// The call book answering the steps' outgoing calls, and the host environment with the
/// configuration and that book as its responder.
fn host(config: &Config, steps: &[(RunRequest, Vec<CallScript>)]) -> (CallBook, Env) {
    let book = CallBook::new(
        steps
            .iter()
            .flat_map(|(_, scripts)| scripts.iter().map(|s| s.cluster.clone())),
    );
    let mut env = Env::new(config.json.clone());
    env.config_raw = config.raw.as_deref().map(Arc::from);
    env.responder = book.responder(BTreeMap::new());
    (book, env)
}

/// Every step through one VM in order: each outcome and the log lines it wrote.
fn run_steps(
    vm: &mut dyn FilterVm,
    env: &Env,
    book: &CallBook,
    steps: &[(RunRequest, Vec<CallScript>)],
) -> anyhow::Result<Vec<(Outcome, Vec<Value>)>> {
    let mut out = Vec::new();
    for (request, scripts) in steps {
        book.set(scripts);
        env.logs.lock().unwrap().clear();
        let exchange = Exchange {
            method: request.method.clone(),
            path: request.path.clone(),
            headers: request.headers.clone(),
            body: request.body.clone().into_bytes(),
            upstream: request.upstream.clone().unwrap_or_default(),
        };
        let outcome = vm.run(&exchange).map_err(|e| anyhow::anyhow!("{e}"))?;
        let logs: Vec<Value> = env
            .logs
            .lock()
            .unwrap()
            .iter()
            .map(|(level, message)| json!({"level": level, "message": message}))
            .collect();
        out.push((outcome, logs));
    }
    Ok(out)
}

/// `run --pair NAME`: the pair's Lua filter and its twin on the same requests, in-process,
/// each with the pair's configuration (or --config), both outcomes and their diff.
fn run_pair(ws: Option<&Path>, name: &str, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let catalogue = crate::workspace::open(ws)?;
    let pairs = crate::workspace::select_built(&catalogue, &[name.to_string()])?;
    let pair = pairs[0];
    let (config, configuration) = pair_config(&catalogue, pair, args)?;
    let steps = steps(args)?;
    let (book, env) = host(&config, &steps);
    let lua_name = catalogue.lua_path(name).display().to_string();
    let lua = LuaFilter::load(&lua_name, &catalogue.lua_source(name)?)?;
    let wasm_name = catalogue.wasm_module_path(name).display().to_string();
    let wasm = WasmFilter::compile(&wasm_name, &catalogue.wasm_module(name)?)?;
    let lua_out = run_steps(&mut lua.vm(env.clone())?, &env, &book, &steps)?;
    let wasm_out = run_steps(&mut wasm.vm(env.clone())?, &env, &book, &steps)?;
    let (requests, differ) = side_by_side(&steps, lua_out, wasm_out, &pair.normalise);
    let mut out = json!({
        "pair": name,
        "configuration": config.json,
        "requests": requests,
        "equivalent": differ == 0,
    });
    if let Some(configuration) = configuration {
        out["configuration_name"] = configuration.into();
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(exit::equivalence(differ == 0))
}

/// The configuration `run --pair` runs under and its name when it is one of the pair's:
/// `--config NAME` names one of the pair's configurations; `--config {...}` (or `--config-raw`,
/// `--config-file`) is given as it is; none given is the pair's `default`.
fn pair_config(
    catalogue: &filterbench_model::Catalogue,
    pair: &filterbench_model::Pair,
    args: &RunArgs,
) -> anyhow::Result<(Config, Option<String>)> {
    let name = &pair.name;
    let named = args
        .config
        .as_deref()
        .filter(|c| !c.trim_start().starts_with('{'));
    if let Some(wanted) = named {
        if let Some(problem) = pair.config_problem(wanted) {
            anyhow::bail!("{}: --config {wanted}: {problem}", catalogue.path.display());
        }
        let json = pair.config_json_of(wanted).expect("checked above");
        let source = format!("configuration {wanted} of pair {name}");
        let config = Config {
            json,
            raw: None,
            source,
        };
        return Ok((config, Some(wanted.to_string())));
    }
    let mut config = config(args)?;
    let mut configuration = None;
    if config.source.is_empty() {
        config.json = pair.config_json();
        configuration = Some(DEFAULT_CONFIG.to_string());
        if pair.has_several_configs() {
            eprintln!(
                "note: pair {name} runs under its configuration `default`; it has {} \
                 (pick one with --config NAME)",
                pair.configurations().join(", ")
            );
        }
    }
    Ok((config, configuration))
}

/// Each request's Lua and Wasm outcomes and logs side by side with their diff (both normalised
/// by `rules`), as JSON; and how many differ.
fn side_by_side(
    steps: &[(RunRequest, Vec<CallScript>)],
    lua_out: Vec<(Outcome, Vec<Value>)>,
    wasm_out: Vec<(Outcome, Vec<Value>)>,
    rules: &Normalise,
) -> (Vec<Value>, usize) {
    let mut differ = 0;
    let mut requests = Vec::new();
    for (i, (((request, _), (lo, ll)), (wo, wl))) in
        steps.iter().zip(lua_out).zip(wasm_out).enumerate()
    {
        let diff = Diff::between(
            &lo.normalised(rules, &request.headers),
            &wo.normalised(rules, &request.headers),
        );
        if !diff.lines.is_empty() {
            differ += 1;
        }
        requests.push(json!({
            "request": i + 1,
            "lua": {"outcome": lo, "logs": ll},
            "wasm": {"outcome": wo, "logs": wl},
            "diff": diff
                .lines
                .iter()
                .map(|d| json!({"field": d.field, "lua": d.left, "wasm": d.right}))
                .collect::<Vec<_>>(),
        }));
    }
    (requests, differ)
}

/// `filterbench run`.
pub fn run(ws: Option<&Path>, args: RunArgs) -> anyhow::Result<ExitCode> {
    if let Some(name) = &args.pair {
        return run_pair(ws, name, &args);
    }
    let config = config(&args)?;
    let steps = steps(&args)?;
    let (book, env) = host(&config, &steps);
    let (name, mut vm): (String, Box<dyn FilterVm>) = match (&args.lua, &args.wasm) {
        (Some(path), None) => {
            let name = path.display().to_string();
            let source =
                std::fs::read_to_string(path).with_context(|| format!("{name}: cannot read"))?;
            if config.source.is_empty() && source.contains("metadata()") {
                eprintln!(
                    "warning: {name} reads route metadata and no configuration was given: it runs \
                     with none (give --config, or --pair NAME for a pair's own)"
                );
            }
            let filter = LuaFilter::load(&name, &source)?;
            (name, Box::new(filter.vm(env.clone())?))
        }
        (None, Some(path)) => {
            let name = path.display().to_string();
            let bytes = std::fs::read(path).with_context(|| format!("{name}: cannot read"))?;
            let filter = WasmFilter::compile(&name, &bytes)?;
            (name, Box::new(filter.vm(env.clone())?))
        }
        _ => anyhow::bail!("give exactly one of --lua FILE or --wasm FILE"),
    };
    let in_process = run_steps(vm.as_mut(), &env, &book, &steps)?;
    let envoy = if args.envoy {
        Some(run_envoy(&args, &config, &steps)?)
    } else {
        None
    };
    let mut differ = 0;
    let mut requests = Vec::new();
    for (i, ((request, _), (outcome, logs))) in steps.iter().zip(in_process).enumerate() {
        let mut entry = json!({"request": i + 1, "outcome": outcome, "logs": logs});
        if let Some(envoy) = &envoy {
            let (theirs, log) = &envoy[i];
            let diff = diff(&outcome, theirs, request);
            if !diff.lines.is_empty() {
                differ += 1;
            }
            entry["envoy"] = json!({"outcome": theirs, "log": log});
            entry["diff"] = diff
                .lines
                .iter()
                .map(|d| json!({"field": d.field, "in_process": d.left, "envoy": d.right}))
                .collect();
        }
        requests.push(entry);
    }
    let mut out = json!({"filter": name, "requests": requests});
    if envoy.is_some() {
        out["equivalent"] = (differ == 0).into();
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(exit::equivalence(differ == 0))
}

/// In-process vs Envoy, both normalised as verify normalises (no generated values declared).
fn diff(in_process: &Outcome, envoy: &Outcome, request: &RunRequest) -> Diff {
    let rules = Normalise::default();
    Diff::between(
        &in_process.normalised(&rules, &request.headers),
        &envoy.normalised(&rules, &request.headers),
    )
}

/// The same requests through a real Envoy: each outcome and the lines Envoy logged for it.
fn run_envoy(
    args: &RunArgs,
    config: &Config,
    steps: &[(RunRequest, Vec<CallScript>)],
) -> anyhow::Result<Vec<(Outcome, Vec<String>)>> {
    use filterbench_envoy::run::{run_in_envoy, RunFilter, RunStep};

    let filter = match (&args.lua, &args.wasm) {
        (Some(path), _) => RunFilter::Lua {
            file: path.clone(),
            source: std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read", path.display()))?,
        },
        (_, Some(path)) => RunFilter::Wasm {
            module: std::fs::canonicalize(path)
                .with_context(|| format!("{}: cannot read", path.display()))?,
            configuration: match &config.raw {
                Some(raw) => String::from_utf8(raw.clone()).map_err(|_| {
                    anyhow::anyhow!(
                        "{}: Envoy takes the plugin configuration as a StringValue: it must be UTF-8",
                        config.source
                    )
                })?,
                None => config.json.to_string(),
            },
        },
        _ => unreachable!("clap requires one filter"),
    };
    let (rig, _) = crate::envoy_rig()?;
    let steps: Vec<RunStep> = steps
        .iter()
        .map(|(request, calls)| RunStep {
            request: request.clone(),
            calls: calls.clone(),
        })
        .collect();
    let results = run_in_envoy(&rig, &filter, &config.json, &steps)?;
    Ok(results.into_iter().map(|r| (r.outcome, r.log)).collect())
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
