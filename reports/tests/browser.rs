//! The report in a real browser: headless Chromium loads every page of a rendered fixture site.
//!
//! Chromium is Debian's `chromium`; `scripts/ensure-chromium.sh` installs it with apt-get when it
//! is missing (root, as on CI) and prints its path; `CHROMIUM_BIN` names another binary. Each page
//! is loaded once with `--dump-dom` (the DOM Chromium built, checked through the site's hooks),
//! `--enable-logging=stderr` (its console, which must stay silent) and `--screenshot` (decoded and
//! checked for content and chart colours). Every launch has a hard time limit and is reaped, with
//! everything it started. The screenshots are kept in `target/browser-test/` for a person to look
//! at; the test prints where.

use std::fs::{self, File};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use filterbench_reports::charts::{svg_texts, LUA_COLOR, WASM_COLOR};
use filterbench_reports::site::render;
use plotters::style::RGBColor;

use crate::fixtures::*;

/// One Chromium launch may take this long, then it is killed and the test fails.
const LIMIT: Duration = Duration::from_secs(60);
/// The screenshot's window: wide enough for the tables, tall enough for several charts.
const WINDOW: (u32, u32) = (1280, 3400);

/// The Chromium binary, installed on first use (once per test process; the script's lock keeps
/// concurrent test processes from installing twice).
fn chromium() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ensure-chromium.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            out.status.success() && !path.is_empty(),
            "{} found no Chromium and could not install one ({}):\n{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(path)
    })
}

/// A spawned Chromium, leader of its own process group. Dropping it kills the group (browser,
/// zygote, renderers, GPU process) and reaps the browser, so no failure path leaves one behind.
struct Launched {
    child: Child,
    reaped: bool,
}

impl Launched {
    /// Waits for the browser to exit, at most until `deadline`.
    fn wait_until(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.reaped = true;
                    // Helpers still alive after the browser exited are ours to end too.
                    kill_group(self.child.id());
                    return Some(status);
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(25))
                }
                Ok(None) => return None,
                Err(e) => panic!("waiting for chromium: {e}"),
            }
        }
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        if !self.reaped {
            kill_group(self.child.id());
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn kill_group(pgid: u32) {
    let pgid = libc::pid_t::try_from(pgid).expect("a pid fits pid_t");
    // SAFETY: kill(2) with a negative pid signals the process group we created for this launch;
    // ESRCH (nothing left) is fine.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// What one launch left behind.
struct Loaded {
    /// The serialised DOM after the load event.
    dom: String,
    /// Chromium's log (stderr).
    log: String,
    took: Duration,
}

/// Loads `page` in headless Chromium, dumping its DOM and, with `screenshot`, saving a PNG of the
/// window. `work` holds the run's profile, home and output files.
fn load(work: &Path, page: &Path, screenshot: Option<&Path>) -> Loaded {
    launch(work, page, screenshot, LIMIT).unwrap_or_else(|timeout| panic!("{}", timeout.message))
}

/// A launch that ran out of time; everything in its process group has been killed.
struct Timeout {
    pgid: u32,
    message: String,
}

/// [`load`] with a time limit of its own; a launch that hits it is killed and reported.
fn launch(
    work: &Path,
    page: &Path,
    screenshot: Option<&Path>,
    limit: Duration,
) -> Result<Loaded, Timeout> {
    static RUN: AtomicUsize = AtomicUsize::new(0);
    let dir = work.join(format!("run{}", RUN.fetch_add(1, Ordering::Relaxed)));
    fs::create_dir_all(&dir).unwrap();
    let dom_file = dir.join("dom.html");
    let log_file = dir.join("chromium.log");
    let url = format!("file://{}", page.display());
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
    ])
    .arg(format!("--user-data-dir={}", dir.join("profile").display()));
    if let Some(png) = screenshot {
        cmd.arg(format!("--screenshot={}", png.display()))
            .arg(format!("--window-size={},{}", WINDOW.0, WINDOW.1));
    }
    cmd.arg(&url)
        // A writable home of its own: caches, crash reports and `.pki` stay in the temp dir.
        .env("HOME", &dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .stdin(Stdio::null())
        // Files, not pipes: a helper that outlives the browser cannot block the test.
        .stdout(File::create(&dom_file).unwrap())
        .stderr(File::create(&log_file).unwrap())
        .process_group(0);
    let start = Instant::now();
    let mut launched = Launched {
        child: cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", chromium().display())),
        reaped: false,
    };
    let pgid = launched.child.id();
    let status = launched.wait_until(start + limit);
    let took = start.elapsed();
    drop(launched);
    let log = fs::read_to_string(&log_file).unwrap_or_default();
    let Some(status) = status else {
        return Err(Timeout {
            pgid,
            message: format!(
                "chromium did not finish {url} within {limit:?}; killed. Its log:\n{log}"
            ),
        });
    };
    assert!(
        status.success(),
        "chromium on {url}: {status}. Its log:\n{log}"
    );
    let dom = fs::read_to_string(&dom_file).unwrap();
    Ok(Loaded { dom, log, took })
}

/// Processes of a process group that are still running (zombies, dead but not yet reaped by
/// whoever inherited them, do not count).
fn running_in_group(pgid: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string() {
            pids.push(pid);
        }
    }
    pids
}

/// Lines of Chromium's log that say the page did not load cleanly: anything on its console (the
/// pages have no script, so any message is an error), uncaught errors, failed or refused loads.
fn load_errors(log: &str) -> Vec<&str> {
    const SIGNS: &[&str] = &[
        ":CONSOLE",
        "Uncaught",
        "ERR_FILE_NOT_FOUND",
        "ERR_ACCESS_DENIED",
        "Failed to load",
        "Not allowed to load local resource",
        "Refused to",
    ];
    log.lines()
        .filter(|l| SIGNS.iter().any(|s| l.contains(s)))
        .collect()
}

/// Undoes the escaping Chromium's serialiser applies to attribute values and text.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The value of `attr="..."` in an element's start tag.
fn attr(tag: &str, attr: &str) -> Option<String> {
    let key = format!(" {attr}=\"");
    let start = tag.find(&key)? + key.len();
    let len = tag[start..].find('"')?;
    Some(unescape(&tag[start..start + len]))
}

/// How many `<name ...>` elements a piece of markup has (start tags only, so `<line` does not
/// count `<linearGradient>`).
fn count_elements(markup: &str, name: &str) -> usize {
    let open = format!("<{name}");
    markup
        .match_indices(&open)
        .filter(|(i, _)| {
            matches!(
                markup[i + open.len()..].chars().next(),
                Some(' ' | '>' | '/' | '\n')
            )
        })
        .count()
}

/// One `<svg class="chart">` as found in markup.
#[derive(Debug, PartialEq)]
struct ChartDom {
    id: String,
    /// Drawn shapes: rect, path, circle, line, polyline, polygon.
    shapes: usize,
    /// Non-empty `<text>` elements.
    texts: usize,
}

/// Every `svg.chart` of a page (the dumped DOM or the file as written), in page order.
fn charts_in(markup: &str) -> Vec<ChartDom> {
    let mut out = Vec::new();
    let mut rest = markup;
    while let Some(i) = rest.find("<svg") {
        rest = &rest[i..];
        let tag_end = rest.find('>').expect("an svg start tag ends");
        let tag = &rest[..tag_end];
        let end = rest.find("</svg>").expect("an svg element ends") + "</svg>".len();
        let body = &rest[..end];
        let is_chart = attr(tag, "class").is_some_and(|c| c.split(' ').any(|c| c == "chart"));
        if is_chart {
            out.push(ChartDom {
                id: attr(tag, "data-chart").unwrap_or_default(),
                shapes: ["rect", "path", "circle", "line", "polyline", "polygon"]
                    .iter()
                    .map(|n| count_elements(body, n))
                    .sum(),
                texts: svg_texts(body).iter().filter(|t| !t.is_empty()).count(),
            });
        }
        rest = &rest[end..];
    }
    out
}

/// Every value of `name="..."` attributes anywhere in the markup.
fn attr_values(markup: &str, name: &str) -> Vec<String> {
    let key = format!(" {name}=\"");
    markup
        .match_indices(&key)
        .filter_map(|(i, _)| {
            let start = i + key.len();
            let len = markup[start..].find('"')?;
            Some(unescape(&markup[start..start + len]))
        })
        .collect()
}

/// A decoded screenshot, RGB.
struct Shot {
    width: u32,
    height: u32,
    /// RGB or RGBA, 8 bits per channel.
    data: Vec<u8>,
    channels: usize,
}

impl Shot {
    fn read(path: &Path) -> Shot {
        let decoder = png::Decoder::new(std::io::BufReader::new(File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut data = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut data).unwrap();
        data.truncate(info.buffer_size());
        assert_eq!(info.bit_depth, png::BitDepth::Eight, "{}", path.display());
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("{}: unexpected colour type {other:?}", path.display()),
        };
        Shot {
            width: info.width,
            height: info.height,
            data,
            channels,
        }
    }

    /// The share of pixels that are neither the page background (#fafafa) nor white; the
    /// distinct colours, quantised to 5 bits per channel so anti-aliasing alone counts little;
    /// and how many pixels lie close to each of `targets`. Walks runs of equal pixels: the test
    /// is built without optimisation, and most of a page is runs.
    fn stats(&self, targets: &[RGBColor]) -> ShotStats {
        let mut seen = vec![false; 1 << 15];
        let mut ink = 0usize;
        let mut near = vec![0usize; targets.len()];
        let (px, c) = (&self.data, self.channels);
        let mut i = 0;
        while i + 2 < px.len() {
            let (r, g, b) = (px[i], px[i + 1], px[i + 2]);
            let mut j = i + c;
            while j + 2 < px.len() && px[j] == r && px[j + 1] == g && px[j + 2] == b {
                j += c;
            }
            let run = (j - i) / c;
            i = j;
            if r < 0xf0 || g < 0xf0 || b < 0xf0 {
                ink += run;
            }
            seen[(usize::from(r >> 3) << 10) | (usize::from(g >> 3) << 5) | usize::from(b >> 3)] =
                true;
            for (t, n) in targets.iter().zip(near.iter_mut()) {
                let d = u32::from(r.abs_diff(t.0))
                    + u32::from(g.abs_diff(t.1))
                    + u32::from(b.abs_diff(t.2));
                if d <= 24 {
                    *n += run;
                }
            }
        }
        ShotStats {
            ink: ink as f64 / f64::from(self.width * self.height),
            colours: seen.iter().filter(|s| **s).count(),
            near,
        }
    }
}

struct ShotStats {
    ink: f64,
    colours: usize,
    near: Vec<usize>,
}

/// Where a developer finds the screenshots: `target/browser-test/`.
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
        .join("browser-test");
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// What a page must show.
struct Expect {
    page: &'static str,
    kind: &'static str,
    charts: &'static [&'static str],
    /// Whether it has a missing-data note.
    missing: bool,
}

const FULL_PAIR: &[&str] = &[
    "tree",
    "overhead",
    "latency",
    "cpu",
    "throughput",
    "memory",
    "inprocess",
];

const EXPECT: &[Expect] = &[
    Expect {
        page: "index.html",
        kind: "index",
        charts: &[],
        missing: false,
    },
    // The one pair with a soak: its curve after the memory chart.
    Expect {
        page: "pairs/add_header.html",
        kind: "pair",
        charts: &[
            "tree",
            "overhead",
            "latency",
            "cpu",
            "throughput",
            "memory",
            "soak",
            "inprocess",
        ],
        missing: false,
    },
    Expect {
        page: "pairs/jwt_auth.html",
        kind: "pair",
        charts: FULL_PAIR,
        missing: false,
    },
    // No load file: only the in-process chart and the tree, and a note saying so.
    Expect {
        page: "pairs/custom_metrics.html",
        kind: "pair",
        charts: &["tree", "inprocess"],
        missing: true,
    },
    // No in-process numbers.
    Expect {
        page: "pairs/odd_b___q_.html",
        kind: "pair",
        charts: &["tree", "overhead", "latency", "cpu", "throughput", "memory"],
        missing: true,
    },
    Expect {
        page: "pairs/body_transform.html",
        kind: "pair",
        charts: FULL_PAIR,
        missing: false,
    },
    Expect {
        page: "claims.html",
        kind: "claims",
        charts: &["claims"],
        missing: false,
    },
];

#[test]
fn every_page_loads_in_chromium_without_errors_and_shows_its_charts() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all_verdicts(dir.path());
    let site = dir.path().join("site");
    let summary = render(&input, &site).unwrap();
    let pages: Vec<String> = summary
        .pages
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let expected: Vec<&str> = EXPECT.iter().map(|e| e.page).collect();
    assert_eq!(pages, expected, "the test covers every page");

    let shots = screenshot_dir();
    let mut summary_lines = Vec::new();
    for e in EXPECT {
        let file = site.join(e.page);
        let shot = shots.join(e.page.replace('/', "-").replace(".html", ".png"));
        let _ = fs::remove_file(&shot);
        let loaded = load(dir.path(), &file, Some(&shot));
        let dom = &loaded.dom;
        let page = e.page;

        // Loaded without errors, and self-contained.
        let errors = load_errors(&loaded.log);
        assert!(
            errors.is_empty(),
            "{page}: load errors:\n{}",
            errors.join("\n")
        );
        assert!(dom.contains("</html>"), "{page}: no DOM dumped: {dom}");
        let offline = dom.replace("http://www.w3.org/", "");
        assert!(
            !offline.contains("http://") && !offline.contains("https://"),
            "{page}: an external URL"
        );
        for element in ["script", "img", "link", "iframe", "object", "embed"] {
            assert_eq!(count_elements(dom, element), 0, "{page}: a <{element}>");
        }
        assert!(attr_values(dom, "src").is_empty(), "{page}: a src");
        assert!(!dom.contains("url("), "{page}: a CSS url()");
        // Every link leads to a page of the site.
        for href in attr_values(dom, "href") {
            let target = href.split('#').next().unwrap();
            if target.is_empty() {
                continue;
            }
            assert!(!target.contains(':'), "{page}: link {href} leaves the site");
            let to = file.parent().unwrap().join(target);
            assert!(to.is_file(), "{page}: link {href} leads nowhere");
        }

        // The page Chromium built: its kind, its charts drawn, its notes.
        assert_eq!(
            attr_values(dom, "data-page"),
            [e.kind],
            "{page}: main[data-page]"
        );
        assert_eq!(count_elements(dom, "main"), 1, "{page}");
        let charts = charts_in(dom);
        let ids: Vec<&str> = charts.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, e.charts, "{page}: charts");
        for c in &charts {
            assert!(c.shapes > 0 && c.texts > 0, "{page}: chart {c:?} is empty");
        }
        // The parser kept every element of every chart as written (nothing in an SVG broke it).
        let written = fs::read_to_string(&file).unwrap();
        assert_eq!(charts, charts_in(&written), "{page}: charts as parsed");
        assert_eq!(
            dom.contains("<p class=\"missing\">"),
            e.missing,
            "{page}: missing-data note"
        );
        match e.kind {
            "index" => {
                let rows: Vec<(String, String)> = index_rows(dom)
                    .into_iter()
                    .map(|(p, v)| (unescape(&p), v))
                    .collect();
                assert_eq!(
                    rows,
                    [
                        ("add_header".to_string(), "keep_lua".to_string()),
                        ("jwt_auth".into(), "migrate".into()),
                        ("custom_metrics".into(), "migrate".into()),
                        (ODD.into(), "too_close_to_call".into()),
                        (
                            "body_transform".into(),
                            "migrate_if_capability_needed".into()
                        ),
                    ],
                    "{page}: one row per pair"
                );
            }
            "pair" => {
                let taken = dom.matches("data-taken=\"true\"").count();
                assert!(taken >= 2, "{page}: the path taken through the tree");
                let no_load = dom.contains("no real-Envoy load results");
                assert_eq!(no_load, !e.charts.contains(&"latency"), "{page}: load note");
                if no_load {
                    assert!(
                        dom.contains(&format!("load/{}.json", page_name(page))),
                        "{page}: the note names the load file"
                    );
                }
            }
            "claims" => {
                assert_eq!(
                    attr_values(dom, "data-claim").len(),
                    5,
                    "{page}: claim rows"
                );
            }
            _ => unreachable!(),
        }

        // The screenshot: a page, not a blank window; the charts in their series' colours, the
        // index's verdicts in theirs (.verdict-* in the page's CSS).
        let png = Shot::read(&shot);
        assert_eq!((png.width, png.height), WINDOW, "{}", shot.display());
        let colours = [
            ("Lua", LUA_COLOR),
            ("Wasm", WASM_COLOR),
            ("migrate", RGBColor(0x0a, 0x6b, 0x2d)),
            ("keep_lua", RGBColor(0x8a, 0x1c, 0x1c)),
            ("migrate_if_capability_needed", RGBColor(0x8a, 0x5a, 0x00)),
        ];
        let stats = png.stats(&colours.map(|c| c.1));
        let shown = shot.display();
        assert!(
            stats.ink > 0.03,
            "{shown}: only {:.3} of it is not background",
            stats.ink
        );
        assert!(
            stats.colours > 120,
            "{shown}: only {} colours",
            stats.colours
        );
        // The first chart after a pair's tree (the latency chart, or the in-process one when
        // there is no load file) and the claims chart lie within the window.
        let charted = (e.kind == "pair" && e.charts.len() > 1) || e.kind == "claims";
        for ((what, _), n) in colours.iter().zip(&stats.near) {
            let (must, min) = match *what {
                "Lua" => (charted && e.kind == "pair", 2_000),
                "Wasm" => (charted, 2_000),
                _ => (e.kind == "index", 30),
            };
            assert!(
                !must || *n > min,
                "{shown}: {n} pixels in the colour of {what}: not drawn?"
            );
        }
        summary_lines.push(format!(
            "{} {:.1}s, {:.0}% ink, {} colours",
            e.page,
            loaded.took.as_secs_f64(),
            stats.ink * 100.0,
            stats.colours
        ));
    }
    println!(
        "browser test: screenshots in {}\n  {}",
        shots.display(),
        summary_lines.join("\n  ")
    );
}

/// `pairs/NAME.html` → `NAME`.
fn page_name(page: &str) -> &str {
    page.trim_start_matches("pairs/").trim_end_matches(".html")
}

/// The checks above can fail: a page with a script error, a console message and a missing image
/// is caught by the log and reference checks, and its nearly empty screenshot by the blank check.
#[test]
fn the_browser_checks_catch_a_broken_page() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    fs::write(
        &page,
        "<!DOCTYPE html><html><body><main data-page=\"index\"><img src=\"missing.png\">\
         <script>console.error('boom'); notDefined();</script></main></body></html>",
    )
    .unwrap();
    let shot = dir.path().join("broken.png");
    let loaded = load(dir.path(), &page, Some(&shot));
    let errors = load_errors(&loaded.log).join("\n");
    assert!(
        errors.contains("boom"),
        "console.error not seen in:\n{}",
        loaded.log
    );
    assert!(errors.contains("Uncaught ReferenceError"), "{errors}");
    assert_eq!(attr_values(&loaded.dom, "src"), ["missing.png"]);
    assert_eq!(count_elements(&loaded.dom, "script"), 1);
    let stats = Shot::read(&shot).stats(&[]);
    assert!(
        stats.ink < 0.03 && stats.colours < 120,
        "a blank page passes as drawn: {:.3} ink, {} colours",
        stats.ink,
        stats.colours
    );
}

/// A page that never finishes loading: the launch is killed at its time limit, with every
/// process it started, and the test goes on.
#[test]
fn a_hanging_page_is_killed_at_the_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("hang.html");
    fs::write(
        &page,
        "<!DOCTYPE html><html><body><p>x</p><script>for(;;){}</script></body></html>",
    )
    .unwrap();
    // Install (first use) before anything is timed; the test asserts what happens at the limit
    // (the launch gives up, the whole process group is gone), not how fast the machine is.
    chromium();
    let Err(timeout) = launch(dir.path(), &page, None, Duration::from_secs(3)) else {
        panic!("a page that never loads was dumped");
    };
    assert!(
        timeout.message.contains("did not finish"),
        "{}",
        timeout.message
    );
    // SIGKILL is delivered at once, but a process may take a moment to die.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !running_in_group(timeout.pgid).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        running_in_group(timeout.pgid),
        Vec::<u32>::new(),
        "left running"
    );
}
