//! The equivalence check against real Envoy: for each pair, one Envoy with a Lua listener and a
//! twin's listener (same route, same configuration; the Rust Wasm twin unless another kind is
//! asked for: [`verify_twin`]); every scenario of the pair's corpus is sent to both, interleaved;
//! the normalised outcomes must be equal to each other and each must meet the scenario's
//! expectations.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use filterbench_model::corpus::{Corpus, Scenario, UpstreamReply};
use filterbench_model::equivalence::{PairReport, ScenarioReport};
use filterbench_model::outcome::{DiffLine, Outcome, SCENARIO_HEADER};
use filterbench_model::results::Variant;
use filterbench_model::{now_ms, replay, Catalogue, Pair, TwinKind};

use crate::bootstrap::{
    bootstrap_with_calls, ConnectionManager, ListenerFilter, ListenerSpec, Services,
};
use crate::envoy::{admin_get, Envoy, EnvoyOptions};
use crate::{Error, Result};
use filterbench_load::client::{send, SendRequest};
use filterbench_load::services::{Auth, Echo, Mock};

/// How long a scenario's expected log lines may take to appear in Envoy's log.
const LOG_WAIT: Duration = Duration::from_secs(3);

/// The loopback services and a runtime to drive them; shared by every pair of a run.
pub struct Rig {
    pub rt: tokio::runtime::Runtime,
    pub echo: Echo,
    pub auth: Auth,
    /// The service behind the clusters call scripts name.
    pub mock: Mock,
    pub envoy_bin: PathBuf,
}

impl Rig {
    pub fn new(envoy_bin: PathBuf) -> Result<Rig> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (echo, auth) = rt.block_on(async {
            Ok::<_, std::io::Error>((Echo::start().await?, Auth::start().await?))
        })?;
        Ok(Rig {
            rt,
            echo,
            auth,
            mock: Mock::new(),
            envoy_bin,
        })
    }

    /// The mock service's port of each of these clusters (listeners made on first use).
    pub fn call_ports(&self, clusters: &BTreeSet<String>) -> Result<BTreeMap<String, u16>> {
        self.rt.block_on(async {
            let mut ports = BTreeMap::new();
            for cluster in clusters {
                ports.insert(cluster.clone(), self.mock.port(cluster).await?);
            }
            Ok::<_, Error>(ports)
        })
    }

    pub fn services(&self) -> Services {
        Services {
            echo_port: self.echo.addr.port(),
            auth_port: self.auth.addr.port(),
        }
    }
}

/// The two listeners of a pair: Lua and the Rust Wasm twin.
pub fn pair_listeners(catalogue: &Catalogue, pair: &Pair) -> Result<Vec<ListenerSpec>> {
    twin_listeners(catalogue, pair, TwinKind::Wasm)
}

/// The Lua listener and the listener of the pair's twin of `kind` (named by the kind's id); a
/// clear error when the pair has no such twin or its artefact is missing.
pub fn twin_listeners(
    catalogue: &Catalogue,
    pair: &Pair,
    kind: TwinKind,
) -> Result<Vec<ListenerSpec>> {
    twin_listeners_under(catalogue, pair, kind, pair.config_json())
}

/// [`twin_listeners`] configured with `config` (one of the pair's configurations as JSON): the
/// Lua listener's route metadata, the twin's plugin (or filter) configuration.
pub fn twin_listeners_under(
    catalogue: &Catalogue,
    pair: &Pair,
    kind: TwinKind,
    config: serde_json::Value,
) -> Result<Vec<ListenerSpec>> {
    let source = catalogue.lua_source(&pair.name)?;
    let twin = catalogue.checked_twin(&pair.name, kind)?;
    let filter = if kind.is_proxy_wasm() {
        ListenerFilter::Wasm {
            module: twin.artefact,
        }
    } else {
        ListenerFilter::Native {
            module: twin.artefact,
        }
    };
    Ok(vec![
        ListenerSpec {
            name: Variant::Lua.id().into(),
            pair: pair.name.clone(),
            config: config.clone(),
            filter: ListenerFilter::Lua { source },
        },
        ListenerSpec {
            name: Variant::Twin(kind).id().into(),
            pair: pair.name.clone(),
            config,
            filter,
        },
    ])
}

/// Starts Envoy for these listeners; when Envoy refuses the configuration, names the twin whose
/// filter it rejected by trying each listener alone.
pub fn start_for(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    listeners: &[ListenerSpec],
    options: &EnvoyOptions,
) -> Result<Envoy> {
    start_for_calls(
        rig,
        catalogue,
        pair,
        listeners,
        options,
        &BTreeSet::new(),
        &ConnectionManager::default(),
    )
}

/// [`start_for`] with a cluster for each of `call_clusters` (the mock service behind it).
pub fn start_for_calls(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    listeners: &[ListenerSpec],
    options: &EnvoyOptions,
    call_clusters: &BTreeSet<String>,
    connection_manager: &ConnectionManager,
) -> Result<Envoy> {
    let ports = rig.call_ports(call_clusters)?;
    let bootstrap = |listeners: &[ListenerSpec]| {
        let mut bootstrap = bootstrap_with_calls(listeners, rig.services(), &ports);
        connection_manager.apply(&mut bootstrap);
        bootstrap
    };
    match Envoy::start(&rig.envoy_bin, &bootstrap(listeners), options) {
        Ok(envoy) => Ok(envoy),
        Err(Error::EnvoyExited { log, .. }) => {
            for spec in listeners {
                let alone = std::slice::from_ref(spec);
                if let Err(Error::EnvoyExited { log, .. }) =
                    Envoy::start(&rig.envoy_bin, &bootstrap(alone), options)
                {
                    let (file, what) = match &spec.filter {
                        ListenerFilter::Lua { .. } => {
                            (catalogue.lua_path(&pair.name), "the Lua script")
                        }
                        ListenerFilter::Wasm { module } => (module.clone(), "the Wasm module"),
                        ListenerFilter::Native { module } => (module.clone(), "the native module"),
                        ListenerFilter::Base => (catalogue.path.clone(), "the baseline listener"),
                        ListenerFilter::Deployed { kind, .. } => (
                            catalogue.path.clone(),
                            if *kind == "lua" {
                                "the deployed Lua filter"
                            } else {
                                "the deployed Wasm filter"
                            },
                        ),
                    };
                    return Err(Error::Envoy(format!(
                        "{}: Envoy rejected {what}: {log}",
                        file.display()
                    )));
                }
            }
            Err(Error::Envoy(format!(
                "pair {}: Envoy refused the bootstrap: {log}",
                pair.name
            )))
        }
        Err(e) => Err(e),
    }
}

/// Replays the pair's corpus through the Lua and Wasm listeners of a fresh Envoy.
pub fn verify_pair(rig: &Rig, catalogue: &Catalogue, pair: &Pair) -> Result<PairReport> {
    verify_twin(rig, catalogue, pair, TwinKind::Wasm)
}

/// Replays the pair's corpus through the Lua listener and its `kind` twin's: each
/// configuration's scenarios ([`Corpus::by_config`]) in a fresh Envoy whose two listeners are
/// configured with it (the Lua route's metadata, the twin's plugin configuration), counted per
/// configuration when the pair has several.
pub fn verify_twin(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    kind: TwinKind,
) -> Result<PairReport> {
    verify_twin_under(rig, catalogue, pair, kind, &ConnectionManager::default())
}

/// [`verify_twin`] with every listener's connection manager set as `connection_manager` says
/// (what a control plane sets, e.g. istiod's path normalisation): what the twins answer behind
/// such a connection manager.
pub fn verify_twin_under(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    kind: TwinKind,
    connection_manager: &ConnectionManager,
) -> Result<PairReport> {
    let corpus = Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name)?;
    let mut parts = Vec::new();
    for part in corpus.by_config(pair)? {
        let listeners = twin_listeners_under(catalogue, pair, kind, part.config)?;
        let report = verify_corpus_of(
            rig,
            catalogue,
            pair,
            &part.corpus,
            &listeners,
            kind,
            connection_manager,
        )?;
        parts.push((part.name, report));
    }
    Ok(PairReport::of_configs(
        &pair.name,
        &pair.configurations(),
        parts,
        pair.has_several_configs(),
    ))
}

/// Replays the pair's corpus through two listeners named `lua` and `wasm` of a fresh Envoy.
/// The listeners carry one configuration: a pair with several has its `default` scenarios
/// replayed (the others' need listeners configured with theirs: [`verify_twin`]).
pub fn verify_listeners(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    listeners: &[ListenerSpec],
) -> Result<PairReport> {
    verify_listeners_of(rig, catalogue, pair, listeners, TwinKind::Wasm)
}

/// Replays the pair's corpus (its `default` configuration's scenarios) through two listeners
/// named `lua` and by `kind`'s id (`wasm`, `go-wasm`, `native`) of a fresh Envoy; the report is
/// the proof of that twin.
pub fn verify_listeners_of(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    listeners: &[ListenerSpec],
    kind: TwinKind,
) -> Result<PairReport> {
    let corpus = Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name)?;
    let default = corpus
        .by_config(pair)?
        .into_iter()
        .find(|part| part.name == filterbench_model::catalogue::DEFAULT_CONFIG)
        .map_or_else(
            || Corpus {
                scenarios: Vec::new(),
                ..corpus.clone()
            },
            |part| part.corpus,
        );
    verify_corpus_of(
        rig,
        catalogue,
        pair,
        &default,
        listeners,
        kind,
        &ConnectionManager::default(),
    )
}

/// Replays `corpus` through two listeners named `lua` and by `kind`'s id of a fresh Envoy whose
/// connection managers are set as `connection_manager` says.
fn verify_corpus_of(
    rig: &Rig,
    catalogue: &Catalogue,
    pair: &Pair,
    corpus: &Corpus,
    listeners: &[ListenerSpec],
    kind: TwinKind,
    connection_manager: &ConnectionManager,
) -> Result<PairReport> {
    let twin = Variant::Twin(kind);
    let clusters = corpus.call_clusters();
    let envoy = start_for_calls(
        rig,
        catalogue,
        pair,
        listeners,
        &EnvoyOptions::default(),
        &clusters,
        connection_manager,
    )?;
    let lua = envoy
        .listener(Variant::Lua.id())
        .ok_or_else(|| Error::Envoy("no lua listener".into()))?;
    let wasm = envoy
        .listener(twin.id())
        .ok_or_else(|| Error::Envoy(format!("no {} listener", twin.id())))?;
    let mut envoys = [envoy];
    let report = replay_corpus(rig, pair, corpus, kind, &mut envoys, (0, lua), (0, wasm))?;
    envoys[0].stop();
    Ok(report)
}

/// Replays `corpus` through the Lua twin at `lua` and the `kind` twin at `twin`, each an index
/// into `envoys` (the Envoy whose log and counters show that twin) and the address of its
/// listener: both twins in one Envoy (the project's own listeners) or each in its own (a
/// sidecar per twin, configured by istiod).
pub fn replay_corpus(
    rig: &Rig,
    pair: &Pair,
    corpus: &Corpus,
    kind: TwinKind,
    envoys: &mut [Envoy],
    lua: (usize, std::net::SocketAddr),
    twin: (usize, std::net::SocketAddr),
) -> Result<PairReport> {
    let twin_variant = Variant::Twin(kind);
    rig.auth.clear();
    for (token, reply) in corpus.auth_replies() {
        rig.auth.script(&token, reply);
    }
    let mut results = Vec::new();
    let mut requests = 0;
    for step in replay::steps(corpus) {
        let mut run = |variant: Variant,
                       (i, addr): (usize, std::net::SocketAddr)|
         -> Result<(Outcome, Vec<String>)> {
            let envoy = &mut envoys[i];
            let id = format!("{}/{}@{}", pair.name, step.label, variant.id());
            let log_from = envoy.log().len();
            let sent_at = now_ms();
            rig.mock.set(&step.scenario.calls);
            let outcome = replay(rig, addr, &id, step.scenario);
            let mut misses = step.misses(&outcome, sent_at);
            if step.last {
                misses.extend(missing_logs(envoy, log_from, &step.scenario.expect.logs));
            }
            envoy.check_alive()?;
            Ok((outcome, misses))
        };
        let (lua_outcome, lua_misses) = run(Variant::Lua, lua)?;
        let (wasm_outcome, wasm_misses) = run(twin_variant, twin)?;
        requests += 1;
        let diff = step.diff(&pair.normalise, &lua_outcome, &wasm_outcome);
        results.push(ScenarioReport {
            scenario: step.label,
            diff: diff.lines,
            lua_misses,
            wasm_misses,
            lua: lua_outcome,
            wasm: wasm_outcome,
        });
    }
    if let Some(prefix) = &pair.counters {
        let diff = counter_diff(&envoys[lua.0], &envoys[twin.0], prefix, kind)?;
        results.push(ScenarioReport {
            scenario: "(counters after the corpus)".into(),
            diff,
            lua_misses: Vec::new(),
            wasm_misses: Vec::new(),
            lua: Outcome::default(),
            wasm: Outcome::default(),
        });
    }
    Ok(PairReport::new(&pair.name, corpus.scenarios.len(), requests, results).of_twin(kind))
}

/// Sends one scenario request to a listener and assembles its outcome.
pub fn replay(rig: &Rig, addr: std::net::SocketAddr, id: &str, scenario: &Scenario) -> Outcome {
    let request = SendRequest {
        method: scenario.method.clone(),
        path: scenario.path.clone(),
        headers: scenario.headers.clone(),
        body: scenario.body_bytes(),
    };
    let upstream = scenario.upstream.clone().unwrap_or_default();
    replay_request(rig, addr, id, request, upstream)
}

/// Sends one request to a listener (tagged `id` for the echo upstream, which answers `upstream`)
/// and assembles its outcome.
pub fn replay_request(
    rig: &Rig,
    addr: std::net::SocketAddr,
    id: &str,
    mut request: SendRequest,
    upstream: UpstreamReply,
) -> Outcome {
    rig.echo.expect(id, upstream);
    request
        .headers
        .push((SCENARIO_HEADER.to_string(), id.to_string()));
    // A variant that does not answer is an outcome (status 0), not the end of the run: the diff
    // then shows which twin hung or broke the connection.
    let (status, response_headers, body) = match rig.rt.block_on(send(addr, &request)) {
        Ok(r) => (r.status, r.headers, r.body),
        Err(e) => (
            0,
            Vec::new(),
            format!(
                "(no HTTP response: {})",
                e.to_string().replace(&addr.to_string(), "listener")
            ),
        ),
    };
    Outcome {
        status,
        response_headers,
        body,
        upstream: rig.echo.take(id),
    }
}

fn missing_logs(envoy: &Envoy, from: usize, wanted: &[String]) -> Vec<String> {
    if wanted.is_empty() {
        return Vec::new();
    }
    let deadline = Instant::now() + LOG_WAIT;
    loop {
        let log = envoy.log();
        let new = log.get(from..).unwrap_or("");
        let missing: Vec<&String> = wanted
            .iter()
            .filter(|w| !new.contains(w.as_str()))
            .collect();
        if missing.is_empty() {
            return Vec::new();
        }
        if Instant::now() > deadline {
            return missing
                .into_iter()
                .map(|w| format!("logs: expected a line containing {w:?}, Envoy logged none within {LOG_WAIT:?}"))
                .collect();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Where Envoy's `/stats` shows a twin's own counters: `wasmcustom.<name>` for proxy-wasm
/// counters, `dynamicmodulescustom.<name>` for a dynamic module's (the default
/// `metrics_namespace` of Envoy 1.40's dynamic module config).
pub fn counter_stats_prefix(kind: TwinKind) -> &'static str {
    if kind.is_proxy_wasm() {
        "wasmcustom."
    } else {
        "dynamicmodulescustom."
    }
}

/// The pair's counters as the Lua twin logged them in `lua_envoy`'s log (last `<name> = <n>`
/// line per name) against the twin's own counters in `twin_envoy`'s `/stats`.
fn counter_diff(
    lua_envoy: &Envoy,
    twin_envoy: &Envoy,
    prefix: &str,
    kind: TwinKind,
) -> Result<Vec<DiffLine>> {
    let mut lua: BTreeMap<String, u64> = BTreeMap::new();
    let log = lua_envoy.log();
    for line in log.lines() {
        let Some(at) = line.find(prefix) else {
            continue;
        };
        if let Some((name, count)) = line[at..].split_once(" = ") {
            if let Ok(count) = count.trim().parse() {
                lua.insert(name.to_string(), count);
            }
        }
    }
    let (status, stats) = admin_get(twin_envoy.admin, "/stats?usedonly")?;
    if status != 200 {
        return Err(Error::Envoy(format!("admin /stats answered {status}")));
    }
    let mut wasm: BTreeMap<String, u64> = BTreeMap::new();
    for line in stats.lines() {
        // Envoy strips a dynamic module's namespace from `/stats` output (its source says so);
        // both spellings are read.
        let rest = match line.strip_prefix(counter_stats_prefix(kind)) {
            Some(rest) => rest,
            None if !kind.is_proxy_wasm() => line,
            None => continue,
        };
        if let Some((name, value)) = rest.split_once(": ") {
            if name.starts_with(prefix) {
                if let Ok(value) = value.trim().parse() {
                    wasm.insert(name.to_string(), value);
                }
            }
        }
    }
    if lua.is_empty() && wasm.is_empty() {
        return Ok(vec![DiffLine {
            field: format!("counters[{prefix}*]"),
            left: "(none logged)".into(),
            right: "(none in /stats)".into(),
        }]);
    }
    let names: BTreeSet<&String> = lua.keys().chain(wasm.keys()).collect();
    let show = |v: Option<&u64>| v.map_or("(absent)".to_string(), u64::to_string);
    Ok(names
        .into_iter()
        .filter(|n| lua.get(*n) != wasm.get(*n))
        .map(|n| DiffLine {
            field: format!("counter[{n}]"),
            left: show(lua.get(n)),
            right: show(wasm.get(n)),
        })
        .collect())
}
