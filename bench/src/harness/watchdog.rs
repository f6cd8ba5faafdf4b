//! The wall-clock watchdog of the Lua host: the one hang the instruction budget cannot stop.
//!
//! The budget is a count hook, and LuaJIT runs no hook inside its C functions. A string pattern
//! that backtracks (`("a"):rep(40000):find(".-.-.-.-b")`) spends minutes inside the C matcher
//! of `string.find` / `match` / `gmatch` / `gsub`, where nothing can interrupt it: raising from
//! another thread or a signal handler would unwind through C frames LuaJIT does not expect to
//! be left. So a budgeted Lua VM (every run but the benchmarks' unlimited one) registers here for
//! the duration of each call into the script; one thread per process looks at the registrations
//! every quarter second, and when a call has run longer than [`Limits::wall`] it prints one line
//! naming the filter and the phase and ends the process with exit code 2. The harness does not
//! survive that (nothing in the process can), but it never hangs and never exits 0.
//!
//! [`Limits::wall`]: crate::harness::Limits::wall

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use super::Phase;

/// The phases, by their index in the watch (an atomic byte).
const PHASES: [Phase; 12] = [
    Phase::Load,
    Phase::Start,
    Phase::Configure,
    Phase::RequestHeaders,
    Phase::RequestBody,
    Phase::RequestTrailers,
    Phase::HttpCallResponse,
    Phase::ResponseHeaders,
    Phase::ResponseBody,
    Phase::ResponseTrailers,
    Phase::Log,
    Phase::Done,
];

/// How often the watchdog thread looks.
const TICK: Duration = Duration::from_millis(250);

/// What the watchdog knows of one VM.
pub(crate) struct Watch {
    filter: String,
    limit: Duration,
    /// Milliseconds since [`epoch`] at which the running call began, plus one; 0 when idle.
    since: AtomicU64,
    phase: AtomicU8,
}

/// The process's registrations (weak: a dropped VM leaves by itself).
fn registry() -> &'static Mutex<Vec<Weak<Watch>>> {
    static REGISTRY: OnceLock<Mutex<Vec<Weak<Watch>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        std::thread::Builder::new()
            .name("filterbench-lua-watchdog".into())
            .spawn(watch_loop)
            .expect("starting the Lua watchdog thread");
        Mutex::new(Vec::new())
    })
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn watch_loop() {
    loop {
        std::thread::sleep(TICK);
        let now = now_ms();
        let mut list = registry().lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|w| w.strong_count() > 0);
        for watch in list.iter().filter_map(Weak::upgrade) {
            let since = watch.since.load(Ordering::Acquire);
            if since == 0 {
                continue;
            }
            let ran = Duration::from_millis(now.saturating_sub(since - 1));
            if ran > watch.limit {
                let phase = PHASES
                    .get(usize::from(watch.phase.load(Ordering::Acquire)))
                    .copied()
                    .unwrap_or(Phase::Start);
                eprintln!("{}", message(&watch.filter, phase, watch.limit));
                std::process::exit(2);
            }
        }
    }
}

/// The line printed before the process ends.
pub(crate) fn message(filter: &str, phase: Phase, limit: Duration) -> String {
    format!(
        "error: {filter}: {phase}: the filter ran for more than {} s without returning \
         (inside a C function of the Lua VM, where the instruction budget cannot reach: a string \
         pattern that backtracks?); filterbench ends here with exit code 2",
        limit.as_secs_f64()
    )
}

impl Watch {
    /// Registers a VM of `filter`; calls longer than `limit` end the process.
    pub(crate) fn new(filter: &str, limit: Duration) -> Arc<Watch> {
        let watch = Arc::new(Watch {
            filter: filter.to_string(),
            limit,
            since: AtomicU64::new(0),
            phase: AtomicU8::new(1),
        });
        registry()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(&watch));
        watch
    }

    /// A call into the script begins, in `phase`; it is watched until the guard is dropped.
    pub(crate) fn enter(&self, phase: Phase) -> Running<'_> {
        self.phase(phase);
        self.since
            .store(now_ms().saturating_add(1), Ordering::Release);
        Running(self)
    }

    /// The running call moved on to `phase`.
    pub(crate) fn phase(&self, phase: Phase) {
        let index = PHASES.iter().position(|p| *p == phase).unwrap_or(1);
        self.phase.store(index as u8, Ordering::Release);
    }
}

/// A watched call; dropping it ends the watch.
pub(crate) struct Running<'a>(&'a Watch);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.since.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watch_is_idle_outside_a_call_and_names_the_phase_it_was_told() {
        let watch = Watch::new("f.lua", Duration::from_secs(3600));
        assert_eq!(watch.since.load(Ordering::Acquire), 0);
        {
            let _running = watch.enter(Phase::RequestHeaders);
            assert_ne!(watch.since.load(Ordering::Acquire), 0);
            watch.phase(Phase::ResponseBody);
            assert_eq!(
                PHASES[usize::from(watch.phase.load(Ordering::Acquire))],
                Phase::ResponseBody
            );
        }
        assert_eq!(watch.since.load(Ordering::Acquire), 0);
        let line = message("f.lua", Phase::ResponseBody, Duration::from_secs(20));
        assert!(line.contains("f.lua: response_body: "), "{line}");
        assert!(line.contains("more than 20 s"), "{line}");
    }
}
