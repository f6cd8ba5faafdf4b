//! The load generator: closed loop (C connections, as fast as they go) or open loop (a constant
//! arrival rate, latency measured from each request's intended send time, so a stalled server
//! cannot hide its stall: coordinated omission is corrected the way wrk2 does it).
//!
//! Connections are hyper HTTP/1.1 keep-alive connections, one tokio task each, cycling through a
//! request mix (typically a pair's scenario corpus). Each task keeps its own [`Stats`]; they are
//! merged once at the end. Every run is bounded by a duration and/or a request count, and stops
//! early (results marked partial) when the stop flag is raised (Ctrl-C).

pub mod intervals;
pub mod stats;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Request};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

use crate::client::SendRequest;
use crate::{Error, Result};

pub use intervals::Intervals;
pub use stats::{ErrorCounts, ErrorKind, Percentiles, Second, Stats, StatusCounts};

/// The version of [`LoadResult`]'s JSON shape.
pub const RESULT_SCHEMA: u32 = 1;
/// No run may be longer than this.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// How long a connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Closed or open loop.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Mode {
    /// Every connection sends its next request as soon as the previous one is answered.
    Closed,
    /// Requests are due at a constant rate (per second) across all connections.
    Open { rate: f64 },
}

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub target: SocketAddr,
    /// The request mix, sent round-robin.
    pub requests: Vec<SendRequest>,
    pub connections: usize,
    pub mode: Mode,
    /// Stop after this long (at most [`MAX_DURATION`]).
    pub duration: Option<Duration>,
    /// Stop after this many requests.
    pub max_requests: Option<u64>,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// The result of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadResult {
    pub schema_version: u32,
    pub target: String,
    pub mode: Mode,
    pub connections: usize,
    /// Wall time of the run, seconds.
    pub elapsed_s: f64,
    /// Responses received (any status).
    pub responses: u64,
    /// Responses per second.
    pub throughput_rps: f64,
    /// Latency percentiles, microseconds (open loop: from the intended send time).
    pub latency_us: Percentiles,
    pub errors: ErrorCounts,
    pub statuses: StatusCounts,
    pub timeline: Vec<Second>,
    /// True when the run was stopped before its bound (Ctrl-C).
    pub partial: bool,
    /// When the run started, ms since the epoch.
    pub started_ms: u64,
    /// The merged latency histogram (for combining rounds); not serialised.
    #[serde(skip)]
    pub histogram: Option<hdrhistogram::Histogram<u64>>,
}

/// A request prepared once, cheap to clone per send.
#[derive(Clone)]
struct Prepared {
    method: Method,
    uri: hyper::Uri,
    headers: HeaderMap,
    body: Bytes,
}

fn prepare(req: &SendRequest, host: &str) -> Result<Prepared> {
    let method = Method::from_bytes(req.method.as_bytes())
        .map_err(|e| Error::Http(format!("method {:?}: {e}", req.method)))?;
    let mut headers = HeaderMap::new();
    if !req
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("host"))
    {
        headers.append(
            "host",
            HeaderValue::from_str(host).map_err(|e| Error::Http(format!("host {host:?}: {e}")))?,
        );
    }
    for (name, value) in &req.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| Error::Http(format!("header name {name:?}: {e}")))?;
        let value = HeaderValue::from_bytes(value.as_bytes())
            .map_err(|e| Error::Http(format!("header {name}: {e}")))?;
        headers.append(name, value);
    }
    let uri: hyper::Uri = req
        .path
        .parse()
        .map_err(|e| Error::Http(format!("path {:?}: {e}", req.path)))?;
    Ok(Prepared {
        method,
        uri,
        headers,
        body: Bytes::from(req.body.clone()),
    })
}

/// Shared by the connection tasks.
struct Shared {
    spec: LoadSpec,
    requests: Vec<Prepared>,
    issued: AtomicU64,
    completed: AtomicU64,
    start: Instant,
    deadline: Option<Instant>,
    stop: Arc<AtomicBool>,
}

impl Shared {
    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// The next ticket, or None when the run's request budget is spent.
    fn ticket(&self) -> Option<u64> {
        let t = self.issued.fetch_add(1, Ordering::Relaxed);
        match self.spec.max_requests {
            Some(max) if t >= max => None,
            _ => Some(t),
        }
    }
}

/// Checks the target answers TCP connects at all, so a dead port is a clear error within
/// [`CONNECT_TIMEOUT`] instead of a run full of connect errors.
pub async fn probe(target: SocketAddr) -> Result<()> {
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Error::Http(format!("cannot connect to {target}: {e}"))),
        Err(_) => Err(Error::Http(format!(
            "cannot connect to {target}: no answer within {CONNECT_TIMEOUT:?}"
        ))),
    }
}

/// Runs the load. `stop` ends it early (the result is then marked partial); `progress` is bumped
/// once per response.
pub async fn run(
    spec: LoadSpec,
    host: &str,
    stop: Arc<AtomicBool>,
    progress: Option<Arc<AtomicU64>>,
) -> Result<LoadResult> {
    Ok(run_inner(spec, host, stop, progress, None).await?.0)
}

/// [`run`], also recording a timeline of `width`-wide intervals by intended send time (see
/// [`intervals`]); returns the run's start instant with it, to place other events on it.
pub async fn run_with_intervals(
    spec: LoadSpec,
    host: &str,
    stop: Arc<AtomicBool>,
    width: Duration,
) -> Result<(LoadResult, Intervals, Instant)> {
    let (result, intervals, start) = run_inner(spec, host, stop, None, Some(width)).await?;
    Ok((result, intervals.expect("asked for"), start))
}

/// A spec that cannot run: no requests, no bound, a rate that is not a positive number.
fn check_spec(spec: &LoadSpec) -> Result<()> {
    if spec.requests.is_empty() {
        return Err(Error::Http("no requests to send".into()));
    }
    if spec.duration.is_none() && spec.max_requests.is_none() {
        return Err(Error::Http(
            "a load run needs a duration or a request count".into(),
        ));
    }
    if let Mode::Open { rate } = spec.mode {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(Error::Http(format!(
                "open-loop rate must be positive, got {rate}"
            )));
        }
    }
    Ok(())
}

async fn run_inner(
    spec: LoadSpec,
    host: &str,
    stop: Arc<AtomicBool>,
    progress: Option<Arc<AtomicU64>>,
    width: Option<Duration>,
) -> Result<(LoadResult, Option<Intervals>, Instant)> {
    check_spec(&spec)?;
    probe(spec.target).await?;
    let duration = spec.duration.unwrap_or(MAX_DURATION).min(MAX_DURATION);
    let requests = spec
        .requests
        .iter()
        .map(|r| prepare(r, host))
        .collect::<Result<Vec<_>>>()?;
    let start = Instant::now();
    let started_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let shared = Arc::new(Shared {
        requests,
        issued: AtomicU64::new(0),
        completed: AtomicU64::new(0),
        start,
        deadline: Some(start + duration),
        stop: stop.clone(),
        spec: spec.clone(),
    });
    let mut tasks = Vec::new();
    for c in 0..spec.connections.max(1) {
        let shared = shared.clone();
        let progress = progress.clone();
        tasks.push(tokio::spawn(async move {
            connection(shared, c, progress, width).await
        }));
    }
    let mut total = Stats::default();
    let mut all_intervals = width.map(Intervals::new);
    for task in tasks {
        let (stats, intervals) = task
            .await
            .map_err(|e| Error::Http(format!("a connection task failed: {e}")))?;
        total.merge(&stats);
        if let (Some(all), Some(mine)) = (all_intervals.as_mut(), intervals.as_ref()) {
            all.merge(mine);
        }
    }
    let elapsed = start.elapsed();
    let responses = total.responses();
    let bounded_by_count = spec
        .max_requests
        .is_some_and(|m| shared.issued.load(Ordering::Relaxed) >= m);
    let partial = stop.load(Ordering::Relaxed) && !bounded_by_count && elapsed < duration;
    let result = LoadResult {
        schema_version: RESULT_SCHEMA,
        target: spec.target.to_string(),
        mode: spec.mode,
        connections: spec.connections.max(1),
        elapsed_s: elapsed.as_secs_f64(),
        responses,
        throughput_rps: responses as f64 / elapsed.as_secs_f64().max(1e-9),
        latency_us: Percentiles::of(&total.latency_us),
        errors: total.errors,
        statuses: total.statuses,
        timeline: total.timeline,
        partial,
        started_ms,
        histogram: Some(total.latency_us),
    };
    Ok((result, all_intervals, start))
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;
/// hyper's half of a connection (reads and writes the socket). The connection's own task polls
/// it together with its requests, instead of a task of its own: no cross-task wake-up per request.
type Conn =
    std::pin::Pin<Box<hyper::client::conn::http1::Connection<TokioIo<TcpStream>, Full<Bytes>>>>;

async fn connect(target: SocketAddr) -> Result<(Sender, Conn), ErrorKind> {
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await {
        Ok(Ok(s)) => s,
        _ => return Err(ErrorKind::Connect),
    };
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| ErrorKind::Connect)?;
    Ok((sender, Box::pin(conn)))
}

/// Sends one request and reads the whole response, polling the connection meanwhile. The flag
/// is true when the connection has ended (it must not be used, nor polled, again).
async fn exchange(
    sender: &mut Sender,
    conn: &mut Conn,
    request: Request<Full<Bytes>>,
) -> (std::result::Result<u16, hyper::Error>, bool) {
    let work = async {
        sender.ready().await?;
        let resp = sender.send_request(request).await?;
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        while let Some(frame) = body.frame().await {
            frame?;
        }
        Ok::<u16, hyper::Error>(status)
    };
    tokio::pin!(work);
    tokio::select! {
        biased;
        r = &mut work => {
            // Let the connection act on what it just read (a `connection: close` reply ends
            // it): one poll, no waiting.
            let ended = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(conn.as_mut().poll(cx).is_ready())
            })
            .await;
            (r, ended)
        }
        // The connection ended (closed or failed): the request future has its answer or its
        // error by now.
        c = conn.as_mut() => match c {
            Err(e) => (Err(e), true),
            Ok(()) => ((&mut work).await, true),
        },
    }
}

fn classify(e: &hyper::Error) -> ErrorKind {
    if e.is_canceled() || e.is_closed() || e.is_incomplete_message() {
        return ErrorKind::Reset;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            return match io.kind() {
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                    ErrorKind::Reset
                }
                K::TimedOut => ErrorKind::Timeout,
                _ => ErrorKind::Other,
            };
        }
        source = s.source();
    }
    ErrorKind::Other
}

/// When the request with this ticket is due. Open loop: at its intended time (latency counts
/// from then), after waiting for it; `None` when that falls after the deadline or the run was
/// stopped meanwhile. Closed loop: now.
async fn wait_until_due(shared: &Shared, ticket: u64, open_rate: Option<f64>) -> Option<Instant> {
    let Some(rate) = open_rate else {
        return Some(Instant::now());
    };
    let due = shared.start + Duration::from_secs_f64(ticket as f64 / rate);
    if shared.deadline.is_some_and(|d| due >= d) {
        return None;
    }
    tokio::time::sleep_until(due.into()).await;
    if shared.stop.load(Ordering::Relaxed) {
        return None;
    }
    Some(due)
}

/// An error counted at the time it happened and, by interval, at the time its request was due.
fn record_error(
    stats: &mut Stats,
    intervals: Option<&mut Intervals>,
    kind: ErrorKind,
    shared: &Shared,
    due: Instant,
) {
    stats.push_error(kind, shared.start.elapsed());
    if let Some(iv) = intervals {
        iv.push_error(kind, due - shared.start);
    }
}

/// One connection's loop.
async fn connection(
    shared: Arc<Shared>,
    index: usize,
    progress: Option<Arc<AtomicU64>>,
    width: Option<Duration>,
) -> (Stats, Option<Intervals>) {
    let mut stats = Stats::default();
    let mut intervals = width.map(Intervals::new);
    let mut link: Option<(Sender, Conn)> = None;
    let n = shared.requests.len();
    let mut next = index % n;
    let open_rate = match shared.spec.mode {
        Mode::Open { rate } => Some(rate),
        Mode::Closed => None,
    };
    loop {
        if shared.should_stop() {
            break;
        }
        let Some(ticket) = shared.ticket() else { break };
        let Some(due) = wait_until_due(&shared, ticket, open_rate).await else {
            break;
        };
        if link.as_ref().is_none_or(|(s, _)| s.is_closed()) {
            match connect(shared.spec.target).await {
                Ok(l) => link = Some(l),
                Err(kind) => {
                    record_error(&mut stats, intervals.as_mut(), kind, &shared, due);
                    // Do not spin on a dead target.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let (sender, conn) = link.as_mut().expect("connected");
        let p = &shared.requests[next];
        next = (next + 1) % n;
        let mut request = Request::new(Full::new(p.body.clone()));
        *request.method_mut() = p.method.clone();
        *request.uri_mut() = p.uri.clone();
        *request.headers_mut() = p.headers.clone();
        match tokio::time::timeout(shared.spec.timeout, exchange(sender, conn, request)).await {
            Ok((Ok(status), ended)) => {
                let now = Instant::now();
                stats.push_response(status, now - due, now - shared.start);
                if let Some(iv) = intervals.as_mut() {
                    iv.push_response(status, due - shared.start, now - shared.start);
                }
                shared.completed.fetch_add(1, Ordering::Relaxed);
                if let Some(p) = &progress {
                    p.fetch_add(1, Ordering::Relaxed);
                }
                if ended {
                    link = None;
                }
            }
            Ok((Err(e), _)) => {
                record_error(&mut stats, intervals.as_mut(), classify(&e), &shared, due);
                link = None;
            }
            Err(_) => {
                record_error(
                    &mut stats,
                    intervals.as_mut(),
                    ErrorKind::Timeout,
                    &shared,
                    due,
                );
                link = None;
            }
        }
    }
    (stats, intervals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::Echo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn get(path: &str) -> SendRequest {
        SendRequest {
            method: "GET".into(),
            path: path.into(),
            headers: vec![("x-test".into(), "1".into())],
            body: Vec::new(),
        }
    }

    fn spec(target: SocketAddr, mode: Mode) -> LoadSpec {
        LoadSpec {
            target,
            requests: vec![get("/a"), get("/b")],
            connections: 4,
            mode,
            duration: Some(Duration::from_secs(10)),
            max_requests: None,
            timeout: Duration::from_secs(2),
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn closed_loop_sends_exactly_the_requested_count() {
        rt().block_on(async {
            let echo = Echo::start().await.unwrap();
            let mut s = spec(echo.addr, Mode::Closed);
            s.max_requests = Some(300);
            let r = run(s, "t", Arc::default(), None).await.unwrap();
            assert_eq!(r.responses, 300);
            assert_eq!(r.statuses.s2xx, 300);
            assert_eq!(r.errors.total(), 0);
            assert!(!r.partial);
            assert_eq!(r.timeline.iter().map(|s| s.responses).sum::<u64>(), 300);
            assert!(r.latency_us.p50 > 0 && r.latency_us.p50 <= r.latency_us.max);
        });
    }

    #[test]
    fn open_loop_sends_at_the_asked_rate() {
        rt().block_on(async {
            let echo = Echo::start().await.unwrap();
            let mut s = spec(echo.addr, Mode::Open { rate: 400.0 });
            s.duration = Some(Duration::from_millis(500));
            let r = run(s, "t", Arc::default(), None).await.unwrap();
            // Tickets due in [0, 0.5 s) at 400/s: exactly 200.
            assert_eq!(r.responses + r.errors.total(), 200, "{r:?}");
        });
    }

    #[test]
    fn a_dead_port_is_an_error_not_a_run() {
        rt().block_on(async {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let dead = listener.local_addr().unwrap();
            drop(listener);
            let res = tokio::time::timeout(
                Duration::from_secs(10),
                run(spec(dead, Mode::Closed), "t", Arc::default(), None),
            )
            .await
            .expect("no hang");
            let err = res.unwrap_err().to_string();
            assert!(err.contains(&format!("cannot connect to {dead}")), "{err}");
        });
    }

    #[test]
    fn resets_mid_run_are_counted_and_the_run_completes() {
        rt().block_on(async {
            // Every connection gets one answer, then is dropped while the next request waits.
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                loop {
                    let Ok((mut sock, _)) = listener.accept().await else {
                        break;
                    };
                    tokio::spawn(async move {
                        let mut buf = [0u8; 4096];
                        if sock.read(&mut buf).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                            .await;
                        let _ = sock.read(&mut buf).await;
                        // dropped: the second request on this connection sees a reset/close
                    });
                }
            });
            let mut s = spec(addr, Mode::Closed);
            s.max_requests = Some(200);
            let r = run(s, "t", Arc::default(), None).await.unwrap();
            assert!(r.responses > 0, "{r:?}");
            assert!(r.errors.reset > 0, "{r:?}");
            assert_eq!(r.responses + r.errors.total(), 200, "{r:?}");
        });
    }

    #[test]
    fn stopping_early_marks_the_result_partial() {
        rt().block_on(async {
            let echo = Echo::start().await.unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let flag = stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                flag.store(true, Ordering::Relaxed);
            });
            let r = run(spec(echo.addr, Mode::Closed), "t", stop, None)
                .await
                .unwrap();
            assert!(r.partial);
            assert!(r.responses > 0);
        });
    }
}
