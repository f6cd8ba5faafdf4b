//! The loopback services Envoy's routes point at: an echo upstream that records and returns what
//! it received, an `auth` service with scripted replies, and the [`Mock`] behind every cluster a
//! call script names (one listener per cluster, replies swapped per scenario). All are hyper
//! servers on 127.0.0.1:0 inside the rig's tokio runtime.
//!
//! The echo upstream answers a request that carries a registered scenario id (header
//! `x-filterbench-scenario`) with that scenario's reply and records what it received under the
//! id; any other request gets 200 and a JSON description of itself (method, path, headers, body),
//! so a client always sees what the upstream saw.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use filterbench_model::calls::{answer, Answer, MAX_HOLD_MS};
use filterbench_model::corpus::{AuthReply, CallScript, UpstreamReply};
use filterbench_model::outcome::{display_bytes, UpstreamSeen, SCENARIO_HEADER};

/// Largest body the services read (bigger ones are refused with 413).
pub const MAX_BODY: usize = 16 << 20;

#[derive(Default)]
struct EchoState {
    replies: HashMap<String, UpstreamReply>,
    received: HashMap<String, UpstreamSeen>,
}

/// The echo upstream.
pub struct Echo {
    pub addr: SocketAddr,
    state: Arc<Mutex<EchoState>>,
    task: JoinHandle<()>,
}

impl Echo {
    pub async fn start() -> std::io::Result<Echo> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(EchoState::default()));
        let shared = state.clone();
        let task = serve(listener, move |req| {
            let state = shared.clone();
            async move { Ok::<_, Infallible>(echo(req, state).await) }
        });
        Ok(Echo { addr, state, task })
    }

    /// The scenario request with this id gets `reply` and is recorded.
    pub fn expect(&self, id: &str, reply: UpstreamReply) {
        let mut state = self.state.lock().unwrap();
        state.received.remove(id);
        state.replies.insert(id.to_string(), reply);
    }

    /// What the upstream received for scenario request `id`, if it arrived (and forgets it).
    pub fn take(&self, id: &str) -> Option<UpstreamSeen> {
        let mut state = self.state.lock().unwrap();
        state.replies.remove(id);
        state.received.remove(id)
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn echo(req: Request<Incoming>, state: Arc<Mutex<EchoState>>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                "echo: body too large or broken",
            )
        }
    };
    let seen = UpstreamSeen {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), display_bytes(v.as_bytes())))
            .collect(),
        body: display_bytes(&body),
    };
    let id = parts
        .headers
        .get(SCENARIO_HEADER)
        .map(|v| display_bytes(v.as_bytes()));
    let reply = {
        let mut state = state.lock().unwrap();
        match id.and_then(|id| state.replies.get(&id).cloned().map(|r| (id, r))) {
            Some((id, reply)) => {
                state.received.insert(id, seen.clone());
                Some(reply)
            }
            None => None,
        }
    };
    match reply {
        Some(reply) => {
            let mut resp = Response::builder().status(reply.status);
            for (n, v) in &reply.headers {
                resp = resp.header(n.as_str(), v.as_str());
            }
            let body = reply
                .body
                .unwrap_or_else(|| filterbench_model::corpus::DEFAULT_UPSTREAM_BODY.into());
            resp.body(Full::new(Bytes::from(body))).unwrap_or_else(|e| {
                text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("echo: bad scripted reply: {e}"),
                )
            })
        }
        None => Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                serde_json::to_vec(&seen).expect("JSON"),
            )))
            .expect("static response"),
    }
}

/// The `auth` service: `POST /verify` with `{"token": ...}`.
pub struct Auth {
    pub addr: SocketAddr,
    replies: Arc<Mutex<HashMap<String, AuthReply>>>,
    task: JoinHandle<()>,
}

impl Auth {
    pub async fn start() -> std::io::Result<Auth> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let replies: Arc<Mutex<HashMap<String, AuthReply>>> = Arc::default();
        let shared = replies.clone();
        let task = serve(listener, move |req| {
            let replies = shared.clone();
            async move { auth(req, replies).await }
        });
        Ok(Auth {
            addr,
            replies,
            task,
        })
    }

    /// Calls carrying `token` get `reply`.
    pub fn script(&self, token: &str, reply: AuthReply) {
        self.replies
            .lock()
            .unwrap()
            .insert(token.to_string(), reply);
    }

    pub fn clear(&self) {
        self.replies.lock().unwrap().clear();
    }
}

impl Drop for Auth {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug, thiserror::Error)]
#[error("scripted connection reset")]
struct Reset;

async fn auth(
    req: Request<Incoming>,
    replies: Arc<Mutex<HashMap<String, AuthReply>>>,
) -> Result<Response<Full<Bytes>>, Reset> {
    if req.method() != hyper::Method::POST || req.uri().path() != "/verify" {
        return Ok(text(StatusCode::NOT_FOUND, "auth: only POST /verify"));
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(text(StatusCode::PAYLOAD_TOO_LARGE, "auth: body too large")),
    };
    let token = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(v) => match v.get("token").and_then(|t| t.as_str()) {
            Some(t) => t.to_string(),
            None => {
                return Ok(text(
                    StatusCode::BAD_REQUEST,
                    "auth: body must be {\"token\": string}",
                ))
            }
        },
        Err(_) => return Ok(text(StatusCode::BAD_REQUEST, "auth: body is not JSON")),
    };
    let reply = replies.lock().unwrap().get(&token).cloned();
    let Some(reply) = reply else {
        return Ok(Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(br#"{"valid":false}"#)))
            .expect("static response"));
    };
    if reply.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(reply.delay_ms)).await;
    }
    if reply.reset {
        return Err(Reset);
    }
    Ok(Response::builder()
        .status(reply.status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(reply.body)))
        .unwrap_or_else(|e| {
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("auth: bad scripted reply: {e}"),
            )
        }))
}

/// The service behind the clusters named by call scripts: one loopback listener per cluster
/// (made on first use, kept for the rig's life), every one answering from the scripts of the
/// scenario now running ([`filterbench_model::calls::answer`]: a matching script's reply, a
/// reset, a held call, or 404 when no script matches).
#[derive(Default)]
pub struct Mock {
    scripts: Arc<Mutex<Vec<CallScript>>>,
    clusters: Mutex<BTreeMap<String, (SocketAddr, JoinHandle<()>)>>,
}

impl Mock {
    pub fn new() -> Mock {
        Mock::default()
    }

    /// The port of `cluster`'s listener (bound now if it has none). Call inside the runtime.
    pub async fn port(&self, cluster: &str) -> std::io::Result<u16> {
        if let Some((addr, _)) = self.clusters.lock().unwrap().get(cluster) {
            return Ok(addr.port());
        }
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let scripts = self.scripts.clone();
        let name: Arc<str> = cluster.into();
        let task = serve(listener, move |req| {
            let scripts = scripts.clone();
            let name = name.clone();
            async move { mock(req, &name, scripts).await }
        });
        self.clusters
            .lock()
            .unwrap()
            .insert(cluster.to_string(), (addr, task));
        Ok(addr.port())
    }

    /// The scripts of the scenario about to run (replacing the previous ones).
    pub fn set(&self, scripts: &[CallScript]) {
        *self.scripts.lock().unwrap() = scripts.to_vec();
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        for (_, task) in self.clusters.lock().unwrap().values() {
            task.abort();
        }
    }
}

async fn mock(
    req: Request<Incoming>,
    cluster: &str,
    scripts: Arc<Mutex<Vec<CallScript>>>,
) -> Result<Response<Full<Bytes>>, Reset> {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    // The body is read (and dropped) so that the caller's request is complete.
    let _ = Limited::new(req.into_body(), MAX_BODY).collect().await;
    let answer = answer(&scripts.lock().unwrap(), cluster, &path);
    match answer {
        Answer::Hold => {
            tokio::time::sleep(Duration::from_millis(MAX_HOLD_MS)).await;
            Err(Reset)
        }
        Answer::Reset { delay_ms } => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            Err(Reset)
        }
        Answer::Reply {
            status,
            headers,
            body,
            delay_ms,
        } => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            let mut resp = Response::builder().status(status);
            for (n, v) in &headers {
                resp = resp.header(n.as_str(), v.as_str());
            }
            Ok(resp.body(Full::new(Bytes::from(body))).unwrap_or_else(|e| {
                text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("mock {cluster}: bad scripted reply: {e}"),
                )
            }))
        }
    }
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static response")
}

/// Accepts connections forever (until the task is aborted), serving each with `handler`.
fn serve<F, Fut, E>(listener: TcpListener, handler: F) -> JoinHandle<()>
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Response<Full<Bytes>>, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = service_fn(handler);
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
