//! The in-process harness: both twins of a pair run inside this process, driven through one
//! interface, so benches, equivalence fuzzing and fast feedback need no Envoy.
//!
//! - [`envoy`]: what Envoy does around a filter (pseudo-headers, headers the connection manager
//!   and router add, how a local reply and an upstream reply look, what an http call that timed
//!   out or was reset returns). Both hosts build their outcomes through it, so the outcomes are
//!   comparable with real Envoy's (the fidelity test checks that they are equal).
//! - [`calls`]: scripted replies to the filters' outgoing calls (`CallBook`), the corpus' auth
//!   service, every other cluster unknown, as in the real-Envoy rig;
//! - `wasm`: the proxy-wasm ABI 0.2.1 host on wasmtime;
//! - `lua`: Envoy's Lua stream-handle API on mlua/LuaJIT.
//!
//! A [`FilterVm`] is one Wasm VM or one Lua state (Envoy has one per worker): state such as a rate
//! limiter's table persists across the exchanges run on it.

pub mod calls;
pub mod driver;
pub mod envoy;
pub mod generate;
pub mod lua;
pub mod wasm;
pub(crate) mod watchdog;

#[cfg(test)]
mod hostile;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use filterbench_model::corpus::{HeaderPair, Scenario, UpstreamReply};
use filterbench_model::outcome::Outcome;

/// One request through a filter, with the upstream's reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    /// Request headers as the client sent them (names as given; `host` optional).
    pub headers: Vec<HeaderPair>,
    pub body: Vec<u8>,
    /// How the upstream answers if the request reaches it.
    pub upstream: UpstreamReply,
}

impl Exchange {
    pub fn from_scenario(s: &Scenario) -> Exchange {
        Exchange {
            method: s.method.clone(),
            path: s.path.clone(),
            headers: s.headers.clone(),
            body: s.body_bytes(),
            upstream: s.upstream.clone().unwrap_or_default(),
        }
    }
}

/// An outgoing call a filter makes (Lua `httpCall`, proxy-wasm `dispatch_http_call`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRequest {
    pub cluster: String,
    /// Including the pseudo-headers `:method`, `:path`, `:authority`.
    pub headers: Vec<HeaderPair>,
    pub body: Vec<u8>,
    pub timeout_ms: u64,
}

/// How the called service answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallReply {
    Response {
        status: u16,
        headers: Vec<HeaderPair>,
        body: Vec<u8>,
    },
    /// No answer within the call's timeout.
    Timeout,
    /// The connection was refused or reset before a response.
    Reset,
    /// The cluster does not exist.
    UnknownCluster,
}

/// Answers a filter's outgoing calls.
pub type Responder = Arc<dyn Fn(&CallRequest) -> CallReply + Send + Sync>;

/// Log levels, as Envoy names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

/// A controllable clock: real time, or a fixed instant that tests move by hand.
#[derive(Debug, Clone)]
pub struct Clock {
    /// Nanoseconds since the epoch; `u64::MAX` means "follow the real clock".
    pinned: Arc<AtomicU64>,
}

impl Clock {
    pub fn real() -> Clock {
        Clock {
            pinned: Arc::new(AtomicU64::new(u64::MAX)),
        }
    }

    pub fn pinned(at: SystemTime) -> Clock {
        let clock = Clock::real();
        clock.set(at);
        clock
    }

    pub fn set(&self, at: SystemTime) {
        let ns = at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        self.pinned.store(ns, Ordering::SeqCst);
    }

    pub fn advance(&self, by: Duration) {
        let now = self.now_ns();
        self.pinned
            .store(now + by.as_nanos() as u64, Ordering::SeqCst);
    }

    /// Nanoseconds since the epoch.
    pub fn now_ns(&self) -> u64 {
        match self.pinned.load(Ordering::SeqCst) {
            u64::MAX => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0),
            ns => ns,
        }
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ns() / 1_000_000
    }
}

/// A seedable random source (splitmix64): the same seed gives the same bytes, so equivalence can
/// pin generated ids. Shared by the Wasm host's `random_get` and the Lua host's `math.random`.
#[derive(Debug, Clone)]
pub struct Random {
    state: Arc<Mutex<u64>>,
}

impl Random {
    pub fn seeded(seed: u64) -> Random {
        Random {
            state: Arc::new(Mutex::new(seed)),
        }
    }

    pub fn next_u64(&self) -> u64 {
        let mut state = self.state.lock().unwrap();
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// Resource limits for one filter VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Instruction budget: Lua VM instructions per callback, counted by a hook; Wasm fuel per
    /// request (or VM start, or tick), whatever chain of callbacks it takes.
    pub instructions: u64,
    /// Memory limit of the VM (Wasm linear memory; Lua allocator), bytes. For Wasm it also
    /// bounds the bytes the host copies for the VM in one request, and the shared data and
    /// queues it keeps.
    pub memory_bytes: usize,
    /// Lua only, with a finite budget: the longest one call into the script may run without
    /// coming back (a C function of the VM, where the budget's hook cannot reach: a string
    /// pattern that backtracks). Past it the process ends with exit code 2, naming the filter
    /// and the phase (see [`watchdog`](crate::harness::watchdog)).
    #[serde(default = "default_wall")]
    pub wall: std::time::Duration,
}

fn default_wall() -> std::time::Duration {
    Limits::default().wall
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            instructions: 500_000_000,
            memory_bytes: 256 << 20,
            wall: std::time::Duration::from_secs(20),
        }
    }
}

/// What a filter's VM gets from its surroundings.
#[derive(Clone)]
pub struct Env {
    pub clock: Clock,
    pub random: Random,
    pub responder: Responder,
    /// Log lines the filter emitted, in order.
    pub logs: Arc<Mutex<Vec<(LogLevel, String)>>>,
    pub limits: Limits,
    /// The route metadata / plugin configuration, as JSON.
    pub config: serde_json::Value,
    /// The plugin configuration as raw bytes, handed to Wasm unchanged (as Envoy hands it a
    /// `StringValue`); `None`: `config` as compact JSON. Lua always reads `config`.
    pub config_raw: Option<Arc<[u8]>>,
}

impl Env {
    /// Real clock, fixed seed, every call answered `Reset`, default limits.
    pub fn new(config: serde_json::Value) -> Env {
        Env {
            clock: Clock::real(),
            random: Random::seeded(0x5EED),
            responder: Arc::new(|_| CallReply::Reset),
            logs: Arc::default(),
            limits: Limits::default(),
            config,
            config_raw: None,
        }
    }

    pub fn log(&self, level: LogLevel, message: impl Into<String>) {
        self.logs.lock().unwrap().push((level, message.into()));
    }
}

/// Where in a filter's life something went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Load,
    Start,
    Configure,
    RequestHeaders,
    RequestBody,
    RequestTrailers,
    HttpCallResponse,
    ResponseHeaders,
    ResponseBody,
    ResponseTrailers,
    Log,
    Done,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        f.write_str(&name)
    }
}

/// What kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The script or module could not be loaded (syntax error, invalid module, missing export).
    Invalid,
    /// A runtime error, trap or panic.
    Runtime,
    /// The instruction budget ran out (an endless loop).
    Budget,
    /// The memory limit was hit (the VM's own memory, or what the host holds for it).
    Memory,
    /// The filter used something the harness does not give filters (files, processes, the
    /// network, ending the process, removing the instruction budget).
    Forbidden,
}

/// A filter failure, naming the filter and the phase.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{filter}: {phase}: {message}")]
pub struct FilterError {
    pub filter: String,
    pub phase: Phase,
    pub kind: FailureKind,
    pub message: String,
}

/// One VM (Wasm) or Lua state, ready to run exchanges.
pub trait FilterVm {
    /// Runs one exchange through every callback of the filter and returns its outcome, as Envoy
    /// would produce it. A filter failure that Envoy turns into a reply (a Wasm panic gives 503,
    /// a Lua runtime error lets the request continue) is an outcome, not an error; an error is
    /// returned only when the VM cannot go on (it could not load, or it ran out of budget/memory).
    fn run(&mut self, exchange: &Exchange) -> Result<Outcome, FilterError>;

    /// [`FilterVm::run`] writing the outcome into `out`, whose strings and lists the host may
    /// re-use (the benches run one request millions of times: fresh strings would dominate the
    /// harness's cost). The outcome is exactly `run`'s; after an error `out` is unspecified.
    fn run_into(&mut self, exchange: &Exchange, out: &mut Outcome) -> Result<(), FilterError> {
        *out = self.run(exchange)?;
        Ok(())
    }

    /// Bytes of memory the VM holds now (Wasm linear memory; Lua `used_memory`).
    fn memory_bytes(&self) -> usize;
}

/// The responder of a corpus run without call scripts: the built-in auth service with the
/// corpus' replies, every other cluster unknown. [`calls::CallBook`] adds the scenarios' scripts.
pub fn corpus_responder(corpus: &filterbench_model::corpus::Corpus) -> Responder {
    calls::CallBook::default().responder(corpus.auth_replies())
}
