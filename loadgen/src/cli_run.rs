//! `loadgen run` and `loadgen envoy`: drive any HTTP endpoint (a port-forwarded Istio gateway,
//! an Envoy started by `loadgen envoy`), and start one Envoy variant of a pair with the project's
//! loopback services for tools such as wrk.

use std::io::IsTerminal;
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};

use filterbench_model::corpus::Corpus;
use filterbench_model::{project_root, Catalogue};

use filterbench_envoy::bootstrap::{bootstrap, ListenerSpec};
use filterbench_envoy::compare::{pin_current_thread, request_mix, Subject};
use filterbench_envoy::envoy::{find_envoy, graceful_interrupts, Envoy, EnvoyOptions};
use filterbench_envoy::verify::Rig;
use filterbench_load::client::SendRequest;
use filterbench_load::load::{self, LoadResult, LoadSpec, Mode};
use filterbench_model::results::write_json_atomically;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// `loadgen run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The endpoint: http://HOST:PORT[/PATH] (the path is used when no --pair mix is given).
    #[arg(long)]
    pub url: String,
    /// The Host header to send (e.g. the gateway's virtual host).
    #[arg(long)]
    pub host: Option<String>,
    /// Send the request mix of this pair's scenario corpus instead of GET PATH.
    #[arg(long, value_name = "NAME")]
    pub pair: Option<String>,
    /// Connections.
    #[arg(short = 'c', long, default_value_t = 16)]
    pub connections: usize,
    /// Seconds to run.
    #[arg(short = 'd', long, default_value_t = 10.0)]
    pub duration: f64,
    /// Stop after this many requests.
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,
    /// Open loop at this many requests per second (default: closed loop).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Per-request timeout, seconds.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Worker threads of the load generator.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// CPUs to pin the load generator to (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub cpus: Vec<usize>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Also write the JSON result here (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `loadgen envoy`.
#[derive(Debug, Args)]
pub struct EnvoyArgs {
    #[arg(long, value_name = "NAME")]
    pub pair: String,
    /// base (router only), lua or wasm.
    #[arg(long, default_value = "base")]
    pub variant: String,
    /// Envoy worker threads.
    #[arg(long, default_value_t = 1)]
    pub workers: u32,
    /// CPUs to pin Envoy to (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub cpus: Vec<usize>,
    /// Stop after this many seconds (Envoy never outlives this command).
    #[arg(long, default_value_t = 600)]
    pub max_secs: u64,
}

fn target_of(url: &str) -> anyhow::Result<(std::net::SocketAddr, String, String)> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("--url {url:?}: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let with_port = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .with_context(|| format!("--url {url:?}: cannot resolve {authority}"))?
        .next()
        .with_context(|| format!("--url {url:?}: {authority} resolves to nothing"))?;
    Ok((addr, authority.to_string(), path))
}

/// The requests sent: the pair's corpus mix (`--pair`), else `GET` of the URL's path.
fn requests(args: &RunArgs, path: String) -> anyhow::Result<Vec<SendRequest>> {
    Ok(match &args.pair {
        Some(name) => {
            let catalogue = Catalogue::load(&project_root())?;
            catalogue.select(Some(name))?;
            let corpus = Corpus::load(&catalogue.corpus_path(name), name)?;
            request_mix(&corpus)
        }
        None => vec![SendRequest {
            method: "GET".into(),
            path,
            headers: Vec::new(),
            body: Vec::new(),
        }],
    })
}

/// A progress bar on a terminal (none otherwise) and the thread that ticks it until the run
/// stops or the bar is finished.
fn progress(
    duration: f64,
    done: &Arc<AtomicU64>,
    stop: &Arc<AtomicBool>,
) -> (
    Option<indicatif::ProgressBar>,
    Option<std::thread::JoinHandle<()>>,
) {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new((duration * 10.0) as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {elapsed}/{duration} {msg}")
                .expect("static template"),
        );
        bar
    });
    let ticker = bar.clone().map(|bar| {
        let done = done.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) && !bar.is_finished() {
                bar.inc(1);
                bar.set_message(format!("{} responses", done.load(Ordering::Relaxed)));
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    });
    (bar, ticker)
}

pub fn run(args: &RunArgs) -> anyhow::Result<std::process::ExitCode> {
    let (target, authority, path) = target_of(&args.url)?;
    let host = args.host.clone().unwrap_or(authority);
    let requests = requests(args, path)?;
    if !(args.duration > 0.0 && args.duration <= 3600.0) {
        bail!("--duration must be in (0, 3600] seconds");
    }
    if !args.cpus.is_empty() {
        pin_current_thread(&args.cpus);
    }
    let spec = LoadSpec {
        target,
        requests,
        connections: args.connections.max(1),
        mode: args.rate.map_or(Mode::Closed, |rate| Mode::Open { rate }),
        duration: Some(Duration::from_secs_f64(args.duration)),
        max_requests: args.requests,
        timeout: Duration::from_secs_f64(args.timeout.max(0.001)),
    };
    let stop = graceful_interrupts();
    // One thread: a current-thread runtime (no cross-thread wake-ups), as wrk's one event loop.
    let rt = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()?
    };
    let done = Arc::new(AtomicU64::new(0));
    let (bar, ticker) = progress(args.duration, &done, &stop);
    let result = rt.block_on(load::run(spec, &host, stop.clone(), Some(done)));
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    drop(ticker);
    let result = result?;
    if let Some(out) = &args.out {
        write_json_atomically(out, &result)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&result)?),
        Output::Text => print_text(&result),
    }
    Ok(if result.partial {
        filterbench_model::exit::code(filterbench_model::exit::INTERRUPTED)
    } else {
        std::process::ExitCode::SUCCESS
    })
}

fn print_text(r: &LoadResult) {
    let l = &r.latency_us;
    println!(
        "{} {:?}, {} connections, {:.2} s{}",
        r.target,
        r.mode,
        r.connections,
        r.elapsed_s,
        if r.partial { " (partial)" } else { "" }
    );
    println!("  requests/s  {:.1}", r.throughput_rps);
    println!(
        "  responses   {} (2xx {}, 3xx {}, 4xx {}, 5xx {})",
        r.responses, r.statuses.s2xx, r.statuses.s3xx, r.statuses.s4xx, r.statuses.s5xx
    );
    println!(
        "  errors      {} (connect {}, timeout {}, reset {}, other {})",
        r.errors.total(),
        r.errors.connect,
        r.errors.timeout,
        r.errors.reset,
        r.errors.other
    );
    println!(
        "  latency us  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {:.1}",
        l.p50, l.p90, l.p99, l.p999, l.max, l.mean
    );
}

/// Starts one variant of a pair in Envoy with the loopback services, prints its URL, and runs
/// until stdin closes, Ctrl-C, or `--max-secs`.
pub fn envoy(args: &EnvoyArgs) -> anyhow::Result<std::process::ExitCode> {
    let catalogue = Catalogue::load(&project_root())?;
    let pair = catalogue.select(Some(&args.pair))?[0];
    let subject = Subject::of_pair(&catalogue, pair)?;
    let spec: ListenerSpec = subject
        .listeners()
        .into_iter()
        .find(|(v, _)| v.id() == args.variant)
        .map(|(_, s)| s)
        .with_context(|| format!("--variant {:?}: expected base, lua or wasm", args.variant))?;
    let stop = graceful_interrupts();
    // Envoy gets `--cpus`; this process (echo upstream, auth service, every thread of the
    // runtime started below) keeps off them.
    if !args.cpus.is_empty() {
        let cpus = filterbench_model::results::MachineInfo::probe().cpus;
        let others: Vec<usize> = (0..cpus).filter(|c| !args.cpus.contains(c)).collect();
        if !others.is_empty() {
            pin_current_thread(&others);
        }
    }
    let rig = Rig::new(find_envoy()?)?;
    for (token, reply) in &subject.auth {
        rig.auth.script(token, reply.clone());
    }
    let options = EnvoyOptions {
        concurrency: args.workers,
        component_log_level: "lua:error,wasm:error".into(),
        cpus: (!args.cpus.is_empty()).then(|| args.cpus.clone()),
    };
    let envoy = Envoy::start(
        &rig.envoy_bin,
        &bootstrap(std::slice::from_ref(&spec), rig.services()),
        &options,
    )?;
    let addr = envoy.listener(&spec.name).context("no listener")?;
    println!("http://{addr}/ pid {}", envoy.pid().unwrap_or(0));
    use std::io::Write;
    std::io::stdout().flush()?;
    // Stdin closing ends the run too, so a script that dies cannot leave Envoy behind.
    let stdin_closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let flag = stdin_closed.clone();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
            flag.store(true, Ordering::Relaxed);
        });
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(args.max_secs);
    while !stop.load(Ordering::Relaxed)
        && !stdin_closed.load(Ordering::Relaxed)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(envoy);
    Ok(std::process::ExitCode::SUCCESS)
}
