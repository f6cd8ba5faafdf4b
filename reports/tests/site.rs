//! `site::render` on hand-made result sets.

use filterbench_model::results::{load_path, write_json_atomically};
use filterbench_reports::charts::svg_texts;
use filterbench_reports::decision::{Costs, Verdict};
use filterbench_reports::evidence::{paired_rounds, DataKind};
use filterbench_reports::site::interval_words;
use filterbench_reports::site::{render, RenderError};

use crate::fixtures::*;

#[test]
fn every_page_is_written_with_one_index_row_per_pair_and_its_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    let out = dir.path().join("site");
    let summary = render(&input, &out).unwrap();

    let pages: Vec<String> = summary
        .pages
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        pages,
        [
            "index.html",
            "pairs/add_header.html",
            "pairs/jwt_auth.html",
            "pairs/custom_metrics.html",
            "pairs/odd_b___q_.html",
            "claims.html"
        ]
    );
    for p in &summary.pages {
        assert!(out.join(p).is_file(), "{}", p.display());
    }

    let verdicts: Vec<(&str, Verdict, &str)> = summary
        .pairs
        .iter()
        .map(|p| (p.name.as_str(), p.verdict, p.leaf.id()))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("add_header", Verdict::KeepLua, "not_cheaper_simple"),
            (
                "jwt_auth",
                Verdict::Migrate(filterbench_model::TwinKind::Wasm),
                "cheaper_fits"
            ),
            (
                "custom_metrics",
                Verdict::Migrate(filterbench_model::TwinKind::Wasm),
                "capability_rust"
            ),
            // Not proven equivalent: the tree weighs the Lua side alone, whose cost (5 us
            // [4.8, 5.3]) straddles the policy's 5 us bar.
            (ODD, Verdict::TooCloseToCall, "lua_cost_unclear"),
        ]
    );

    let index = read(&out, "index.html");
    assert!(index.contains("<main data-page=\"index\">"));
    assert_eq!(
        index_rows(&index),
        [
            ("add_header".to_string(), "keep_lua".to_string()),
            ("jwt_auth".into(), "migrate".into()),
            ("custom_metrics".into(), "migrate".into()),
            (
                "odd&lt;b&gt;&amp;&quot;q&quot;".into(),
                "too_close_to_call".into()
            ),
        ]
    );
    // Each filter's added CPU with its interval, computed from the rounds of the load file.
    let costs = Costs::of(&paired_rounds(&load("add_header", 100.0, 110.0, 118.0)).unwrap());
    // (The index has one "ways out" column: each twin minus Lua; what Wasm adds over the
    // baseline is on the pair's page.)
    for (what, i) in [
        ("Lua adds", costs.lua_cpu_us),
        ("Wasm - Lua", costs.wasm_minus_lua_cpu_us),
    ] {
        let words = interval_words(i);
        assert!(words.starts_with('+') && words.contains(" ["), "{words}");
        assert!(index.contains(&words), "{what} of add_header: {words}");
    }
    // The confidence beside every measured verdict.
    assert!(index.contains("% of resamples)"), "confidence shown");
    // The fixed cost of each mechanism, from the pass-through run.
    assert!(index.contains("What merely having a Lua, a Wasm or a native filter costs"));
    let pass = Costs::of(&paired_rounds(&load("passthrough", 100.0, 120.0, 112.0)).unwrap());
    assert!(index.contains(&interval_words(pass.lua_cpu_us)));
    // No machine paths on a published page.
    assert!(!index.contains(&dir.path().display().to_string()));
    // Memory per proxy at the policy's 2 workers (the pair page's ways-out table splits it into
    // once per process and per worker).
    assert!(index.contains(" MiB/proxy"), "memory per proxy");
    assert!(
        index.contains("one Envoy at 2 workers"),
        "the policy's workers per proxy"
    );

    assert!(index.contains("Test CPU 3000, 2 cores, 8.0 GiB memory"));
    assert!(index.contains("Envoy 1.40.0"));
    assert!(index.contains("2024-03-01 00:00 UTC"));
    assert!(index.contains("href=\"pairs/jwt_auth.html\""));
    // No network, no script.
    for page in &summary.pages {
        let text = read(&out, &page.to_string_lossy());
        assert!(!text.contains("<script"), "{}", page.display());
        let without_ns = text.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!without_ns.contains("http://"), "{}", page.display());
        assert!(!text.contains("https://"), "{}", page.display());
    }
}

#[test]
fn a_pair_page_has_every_chart_from_the_measured_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let page = read(&out, "pairs/add_header.html");
    assert!(page.contains("<main data-page=\"pair\">"));

    let expect = [
        (
            "latency",
            vec!["latency, µs", "p50", "p90", "p99", "Lua", "Wasm"],
        ),
        (
            "overhead",
            vec!["added over baseline, µs", "CPU per request", "p99"],
        ),
        (
            "throughput",
            vec![
                "requests per second",
                "Envoy worker threads",
                "1 worker",
                "4 workers",
                "72050",
            ],
        ),
        ("cpu", vec!["CPU time per request, µs", "round", "1", "8"]),
        (
            "memory",
            vec!["resident memory, MiB", "1", "2", "4", "64.0", "76.0"],
        ),
        (
            "inprocess",
            vec![
                "time per request, ns",
                "add_header (full request)",
                "pass-through filter (harness cost)",
                "2100",
                "3400",
            ],
        ),
        ("tree", vec![]),
    ];
    for (id, labels) in expect {
        let svg = chart(&page, id).unwrap_or_else(|| panic!("no {id} chart"));
        assert!(svg.contains("class=\"chart\""));
        let texts = svg_texts(svg);
        for l in labels {
            assert!(
                texts.iter().any(|t| t == l),
                "{id}: no label {l:?} in {texts:?}"
            );
        }
        if id != "tree" {
            // Bars or points for the data, beyond the background and the legend swatches.
            assert!(
                svg.matches("<rect").count() + svg.matches("<circle").count() > 6,
                "{id}"
            );
        }
    }
    // The tree: the path taken, with its numbers.
    let tree = chart(&page, "tree").unwrap();
    assert!(tree.contains("data-node=\"not_cheaper_simple\" data-taken=\"true\""));
    assert!(tree.contains("data-node=\"cheaper_fits\" data-taken=\"false\""));
    assert!(
        tree.contains("Wasm minus Lua: +8."),
        "the Wasm-minus-Lua interval on the branch taken"
    );
    // Reasons in words, equivalence from Envoy (not the in-process record's failure).
    assert!(page.contains("The measurements do not favour Wasm."));
    assert!(page.contains("equivalent on 12 scenarios (real Envoy)"));
    assert!(!page.contains("should not be shown"));
    assert!(page.contains("+3.00 MiB — slope of Wasm RSS minus Lua RSS"));
    // Start-up: CPU to ready per worker count, and over baseline the line's two parts (the
    // fixture: Wasm 65 + 4 x workers ms, baseline 40 + workers: +25 once, +3 per worker).
    let startup = &page[page
        .find("<h3>Start-up in real Envoy</h3>")
        .expect("start-up")..];
    assert!(
        startup.contains("CPU to ready, 4 worker(s), ms"),
        "{startup}"
    );
    assert!(startup.contains("+25.0 + +3.00 per worker"), "{startup}");
    assert!(startup.contains("+5.00 + 0 per worker"), "Lua: {startup}");
    // The soak: the curve, and each variant's growth after the warm-up.
    let soak = &page[page
        .find("<h3>Soak: does memory keep growing?</h3>")
        .expect("soak")..];
    assert!(chart(&page, "soak").is_some(), "the soak curve");
    assert!(soak.contains("<td>Wasm</td>"), "{soak}");
    let row = |label: &str| {
        let at = soak.find(&format!("<td>{label}</td>")).unwrap();
        soak[at..at + soak[at..].find("</tr>").unwrap()].to_string()
    };
    assert!(
        row("Wasm").contains("grows +497.3 [+476.0, +518.7] KiB per 100k requests"),
        "50 KiB per 10,000 requests, less the jitter: {}",
        row("Wasm")
    );
    assert!(
        row("Lua").contains("no measurable growth"),
        "{}",
        row("Lua")
    );
    let jwt = read(&out, "pairs/jwt_auth.html");
    assert!(jwt.contains("No soak for this pair: `filterbench load --pair jwt_auth --soak 600`"));
    assert!(
        !page.contains("class=\"missing\""),
        "add_header has every file"
    );
}

#[test]
fn a_pair_without_a_load_file_says_so_and_draws_no_envoy_chart() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    let out = dir.path().join("site");
    let summary = render(&input, &out).unwrap();
    let page = read(&out, "pairs/custom_metrics.html");
    let missing_file = load_path(&input.results_dir, "custom_metrics");
    assert!(missing_file.ends_with("load/custom_metrics.json"));
    let note = page
        .split("<p class=\"missing\">")
        .nth(1)
        .expect("a missing-data note");
    assert!(
        note.contains("reports/results/load/custom_metrics.json"),
        "the path relative to the project: {note}"
    );
    assert!(!note.contains(&dir.path().display().to_string()), "{note}");
    assert!(note.contains("filterbench load --pair custom_metrics"));
    for id in ["latency", "overhead", "throughput", "cpu", "memory"] {
        assert!(chart(&page, id).is_none(), "{id} chart drawn without data");
    }
    assert!(chart(&page, "inprocess").is_some());
    assert!(chart(&page, "tree").is_some());
    let pair = summary
        .pairs
        .iter()
        .find(|p| p.name == "custom_metrics")
        .unwrap();
    assert_eq!(pair.missing.len(), 1, "{:?}", pair.missing);
    assert_eq!(
        pair.missing[0].path,
        std::path::Path::new("reports/results/load/custom_metrics.json")
    );
    assert_eq!(pair.missing[0].kind, DataKind::Load);
}

#[test]
fn names_and_result_text_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let index = read(&out, "index.html");
    assert!(index.contains("data-pair=\"odd&lt;b&gt;&amp;&quot;q&quot;\""));
    assert!(index.contains(">odd&lt;b&gt;&amp;&quot;q&quot;</a>"));
    assert!(!index.contains("odd<b>"));
    assert!(index.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let page = read(&out, "pairs/odd_b___q_.html");
    assert!(
        page.contains("<title>odd&lt;b&gt;&amp;&quot;q&quot;: Lua or Wasm? · filterbench</title>")
    );
    assert!(page
        .contains("<li>scenario s1: header &lt;x-a&gt; Lua &quot;1&quot; Wasm &quot;2&quot;</li>"));
    assert!(page.contains("(in-process only, not in real Envoy)"));
    assert!(!page.contains("<b>"));
    // Its in-process numbers are not in the bench summary: said, with the file.
    assert!(page.contains("no in-process numbers for `odd&lt;b&gt;&amp;&quot;q&quot;`"));
}

#[test]
fn the_claims_page_judges_every_row_by_the_stated_rule() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let page = read(&out, "claims.html");
    assert!(page.contains("<main data-page=\"claims\">"));
    assert!(page.contains("within a factor of 2 of the claimed ratio"));
    for (op, claim) in [
        ("header_read", "held"),
        ("header_set", "direction_only"),
        ("json_parse", "not_held"),
        ("regex_match", "no_measurable_difference"),
        ("string_concat", "held"),
    ] {
        assert!(
            page.contains(&format!("data-op=\"{op}\" data-claim=\"{claim}\"")),
            "{op}"
        );
    }
    assert!(page.contains("2 of 5 claims held"));
    // The paired interval and the instruction counts are shown with each judgement.
    assert!(
        page.contains("paired Wasm/Lua 1.01 [0.98 – 1.04]"),
        "regex_match's paired interval"
    );
    assert!(page.contains("callgrind: Lua 900, Wasm 200 instructions per op"));
    let svg = chart(&page, "claims").unwrap();
    let texts = svg_texts(svg);
    for l in [
        "header_read",
        "string_concat",
        "claimed",
        "measured",
        "4.0",
        "3.0",
        "0.80",
    ] {
        assert!(texts.iter().any(|t| t == l), "no {l} in {texts:?}");
    }
}

#[test]
fn a_wrong_version_file_fails_naming_it_and_keeps_the_previous_site() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let before = read(&out, "index.html");
    let names_before = names_in(dir.path());

    let bad = load_path(&input.results_dir, "jwt_auth");
    std::fs::write(&bad, r#"{"schema_version": 99, "pair": "jwt_auth"}"#).unwrap();
    let err = render(&input, &out).unwrap_err();
    assert!(matches!(err, RenderError::Read(_)), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&bad.display().to_string()), "{msg}");
    assert!(msg.contains("schema_version 99"), "{msg}");
    assert_eq!(read(&out, "index.html"), before);
    assert_eq!(names_in(dir.path()), names_before, "no temp dirs left");

    // A corrupt bench summary: the same.
    write_json_atomically(&bad, &load("jwt_auth", 100.0, 150.0, 110.0)).unwrap();
    let summary = filterbench_model::results::bench_summary_path(&input.results_dir);
    std::fs::write(&summary, "{ broken").unwrap();
    let msg = render(&input, &out).unwrap_err().to_string();
    assert!(
        msg.contains("summary.json: not a valid result file"),
        "{msg}"
    );
    assert_eq!(read(&out, "index.html"), before);

    // A load file holding another pair's results.
    write_json_atomically(&summary, &bench()).unwrap();
    write_json_atomically(&bad, &load("add_header", 1.0, 2.0, 3.0)).unwrap();
    let msg = render(&input, &out).unwrap_err().to_string();
    assert!(
        msg.contains("jwt_auth.json") && msg.contains("`add_header`"),
        "{msg}"
    );
    assert_eq!(read(&out, "index.html"), before);
}

#[test]
fn a_new_render_replaces_the_old_site_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = write_all(dir.path());
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    std::fs::write(out.join("stale.html"), "old").unwrap();
    input.pairs.truncate(1);
    let summary = render(&input, &out).unwrap();
    assert_eq!(summary.pages.len(), 3);
    assert!(!out.join("stale.html").exists());
    assert!(!out.join("pairs/jwt_auth.html").exists());
    assert_eq!(index_rows(&read(&out, "index.html")).len(), 1);
    assert_eq!(
        names_in(dir.path()),
        [std::path::PathBuf::from("results"), "site".into()]
    );
}

#[test]
fn with_no_results_every_page_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = write_all(dir.path());
    input.results_dir = dir.path().join("empty");
    let out = dir.path().join("site");
    let summary = render(&input, &out).unwrap();
    for p in &summary.pairs {
        // Nothing proves equivalence, so nothing migrates.
        assert_eq!(p.leaf.id(), "unproven", "{}", p.name);
        assert_eq!(p.missing.len(), 3, "{:?}", p.missing);
    }
    assert_eq!(summary.missing.len(), 1);
    assert!(summary.missing[0].path.ends_with("bench/summary.json"));
    let claims = read(&out, "claims.html");
    assert!(claims.contains("<p class=\"missing\">"));
    assert!(claims.contains("bench/summary.json"));
    assert!(chart(&claims, "claims").is_none());
    let page = read(&out, "pairs/add_header.html");
    assert!(page.contains("verify/envoy.json"));
    assert!(page.contains("load/add_header.json"));
    assert!(page.contains("bench/summary.json"));
    assert_eq!(chart(&page, "latency").or(chart(&page, "inprocess")), None);
}

#[test]
fn a_pair_name_that_cannot_be_a_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = write_all(dir.path());
    input.pairs[0].name = "../etc".into();
    let err = render(&input, &dir.path().join("site")).unwrap_err();
    assert!(matches!(err, RenderError::Input(_)), "{err}");
    assert!(!dir.path().join("site").exists());
}

#[test]
fn a_closed_loop_round_where_envoy_was_not_the_bottleneck_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    let mut l = load("add_header", 100.0, 110.0, 118.0);
    l.capacity[1].envoy_busy = 0.55;
    assert!(l.capacity[1].envoy_not_bottleneck());
    assert!(!l.capacity[0].envoy_not_bottleneck());
    // The same variant and round at 2 workers: named with its worker count, not twice alike.
    let (variant, round) = (l.capacity[1].variant, l.capacity[1].round);
    let at_2 = l.by_workers.iter_mut().find(|w| w.workers == 2).unwrap();
    let same = at_2
        .capacity
        .iter_mut()
        .find(|s| s.variant == variant && s.round == round)
        .unwrap();
    same.envoy_busy = 0.6;
    assert!(
        !l.rounds[0].envoy_not_bottleneck(),
        "open-loop rounds are never flagged"
    );
    write_json_atomically(&load_path(&input.results_dir, "add_header"), &l).unwrap();
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let page = read(&out, "pairs/add_header.html");
    assert!(
        page.contains("Flagged: in 2 closed-loop round(s) Envoy was less than 90% busy"),
        "no flag on the page"
    );
    assert!(
        page.contains("at 1 worker: lua round 1 (55% busy); at 2 workers: lua round 1 (60% busy)."),
        "names each round with its worker count"
    );
    // The load section's Wasm-minus-Lua sentence (against zero) says how it reads beside the
    // recommendation (against the policy's threshold).
    assert!(
        page.contains("Against zero, Wasm costs ") && page.contains("bar is the policy"),
        "the load figure says which bar it is measured against"
    );
    // The unflagged pair says its capacity rounds measured Envoy.
    let other = read(&out, "pairs/jwt_auth.html");
    assert!(other.contains("In every closed-loop round Envoy was the bottleneck"));
}

/// A corrupt or hostile result file (a round number far beyond the samples, `u64::MAX` counts, a
/// file of many megabytes) is an error naming it, or renders: never a huge allocation or a panic.
#[test]
fn hostile_result_files_are_errors_naming_the_file_not_allocations_or_panics() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    let out = dir.path().join("site");
    let path = load_path(&input.results_dir, "add_header");
    let good: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        edit(&mut v);
        std::fs::write(&path, v.to_string()).unwrap();
        render(&input, &out)
    };
    for round in [
        serde_json::json!(1e12),
        serde_json::json!(1_000_000_000_000u64),
        serde_json::json!(u64::MAX),
    ] {
        let e = with(&|v| v["rounds"][0]["round"] = round.clone()).unwrap_err();
        assert!(matches!(e, RenderError::Read(_)), "{round}: {e}");
        assert!(e.to_string().contains("load/add_header.json"), "{e}");
    }
    // Huge counts are only large numbers.
    let summary = with(&|v| {
        for s in v["rounds"].as_array_mut().unwrap() {
            s["errors"] = serde_json::json!(u64::MAX);
            s["non_2xx"] = serde_json::json!(u64::MAX);
            s["responses"] = serde_json::json!(u64::MAX);
        }
    })
    .unwrap();
    assert_eq!(summary.pairs.len(), input.pairs.len());

    // A file larger than any this tool writes is not read into memory.
    let big = vec![b' '; (filterbench_model::results::MAX_RESULT_BYTES + 1) as usize];
    std::fs::write(&path, big).unwrap();
    let e = render(&input, &out).unwrap_err().to_string();
    assert!(
        e.contains("load/add_header.json") && e.contains("larger than"),
        "{e}"
    );
}

#[test]
fn every_measured_pair_page_shows_simultaneous_against_sequential() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    // add_header: the sequential check disagrees (its Wasm costs 30 us more in every check
    // round); jwt_auth, ODD: the fixture's check agrees.
    let mut l = load("add_header", 100.0, 110.0, 118.0);
    for s in l.check_rounds.iter_mut() {
        if s.variant == filterbench_model::results::Variant::WASM {
            s.envoy_cpu_us_per_request += 30.0;
        }
    }
    write_json_atomically(&load_path(&input.results_dir, "add_header"), &l).unwrap();
    // A sequential run: nothing to check, and the page says so.
    let mut seq = load("custom_metrics", 100.0, 110.0, 112.0);
    seq.method = filterbench_model::results::RoundMethod::Sequential;
    seq.check_rounds.clear();
    write_json_atomically(&load_path(&input.results_dir, "custom_metrics"), &seq).unwrap();
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let page = read(&out, "pairs/add_header.html");
    assert!(page.contains("data-method-check=\"disagree\""), "{page}");
    assert!(
        page.contains("The two methods disagree on: Wasm minus baseline, CPU, Wasm minus Lua, CPU")
    );
    assert!(page.contains("The sequential figure is the check"));
    for name in ["jwt_auth.html", "odd_b___q_.html"] {
        let page = read(&out, &format!("pairs/{name}"));
        assert!(page.contains("data-method-check=\"agree\""), "{name}");
        assert!(page.contains("the two methods agree"), "{name}");
        assert!(page.contains("Bulej"), "{name}: the method's reference");
    }
    let page = read(&out, "pairs/custom_metrics.html");
    assert!(page.contains("data-method-check=\"none\""));
    assert!(page.contains("sequential rounds only"));
}

#[test]
fn a_round_where_an_envoy_fell_behind_its_rate_is_left_out_and_flagged_on_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    let mut l = load("add_header", 100.0, 110.0, 118.0);
    let before = Costs::of(&paired_rounds(&l).unwrap())
        .wasm_minus_lua_cpu_us
        .unwrap();
    // Round 3: the Lua Envoy fell behind, and its CPU figure is wild.
    for s in l.rounds.iter_mut().filter(|s| s.round == 2) {
        if s.variant == filterbench_model::results::Variant::Lua {
            s.behind = true;
            s.envoy_cpu_us_per_request = 900.0;
        }
    }
    let after = Costs::of(&paired_rounds(&l).unwrap())
        .wasm_minus_lua_cpu_us
        .unwrap();
    assert_eq!(after.n, before.n - 1, "the flagged round is left out");
    assert!(
        after.high < 100.0,
        "the wild figure is not in the interval: {after:?}"
    );
    write_json_atomically(&load_path(&input.results_dir, "add_header"), &l).unwrap();
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let page = read(&out, "pairs/add_header.html");
    assert!(page.contains("data-behind"), "no flag");
    assert!(
        page.contains("simultaneous round(s) 3 (lua)"),
        "names the round"
    );
}

/// A run given a second pass by `all` (its answer was open after the first): the page says how
/// many rounds each pass ran and why, and how far the interval got against its target.
#[test]
fn a_pair_page_says_how_many_rounds_each_pass_ran_and_why() {
    use filterbench_model::results::{ExtraEnd, ExtraPass, ExtraWhy};
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    let mut l = load("add_header", 100.0, 110.0, 118.0);
    let total = l.round_count();
    l.target_half_width_us = 0.001;
    l.extra.push(ExtraPass {
        why: ExtraWhy::OpenAnswer,
        rounds: 4,
        secs: 9.5,
        budget_secs: 30.0,
        ended: ExtraEnd::Settled,
    });
    write_json_atomically(&load_path(&input.results_dir, "add_header"), &l).unwrap();
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let page = read(&out, "pairs/add_header.html");
    assert!(
        page.contains(&format!("The first pass ran {} round(s).", total - 4)),
        "{page}"
    );
    assert!(
        page.contains(
            "A second pass added 4 round(s) because the answer was too close to call after the \
             first pass (10 s of the 30 s it was given; ended: the answer settled)"
        ),
        "{page}"
    );
    // A target it could not reach: how far it got and what it would take.
    assert!(page.contains("not reached ("), "{page}");
    assert!(
        page.contains("valid rounds in all would reach it"),
        "{page}"
    );
}

/// A run that measured a Go Wasm and a native twin beside the Rust Wasm one: the pair page shows
/// each one's paired differences against the baseline, Lua and the Rust Wasm twin.
#[test]
fn other_kinds_of_twin_measured_in_the_same_rounds_are_shown_on_the_pair_page() {
    use filterbench_model::results::Variant;
    use filterbench_model::TwinKind;
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    let mut l = load("add_header", 100.0, 110.0, 118.0);
    for (kind, extra) in [(TwinKind::GoWasm, 30.0), (TwinKind::Native, -15.0)] {
        l.variants.push(Variant::Twin(kind));
        let twin: Vec<_> = l
            .rounds
            .iter()
            .filter(|s| s.variant == Variant::WASM)
            .map(|s| {
                let mut s = s.clone();
                s.variant = Variant::Twin(kind);
                s.envoy_cpu_us_per_request += extra;
                s
            })
            .collect();
        l.rounds.extend(twin);
    }
    write_json_atomically(&load_path(&input.results_dir, "add_header"), &l).unwrap();
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let page = read(&out, "pairs/add_header.html");
    assert!(
        page.contains("Other ways out, measured in the same rounds"),
        "{page}"
    );
    assert!(page.contains("the Go Wasm costs more Envoy CPU per request than Lua"));
    assert!(page.contains("the native module costs less Envoy CPU per request than Lua"));
    // The ways-out table gives each twin's memory per proxy at the policy's workers per proxy,
    // split into what is paid once per process and per worker.
    assert!(
        page.contains("memory per proxy over Lua (2 workers)"),
        "{page}"
    );
    assert!(
        page.contains(" once + ") && page.contains("/worker)"),
        "{page}"
    );
    // A run without other kinds: no such section.
    let other = read(&out, "pairs/jwt_auth.html");
    assert!(!other.contains("Other ways out"));
}

/// A deployed check served by istiod says so on the pair page, with its notes (what istiod's
/// connection manager changed and the expectations set aside); one from the own translation
/// says neither.
#[test]
fn a_deployed_check_served_by_istiod_names_it_and_its_notes_on_the_pair_page() {
    use filterbench_model::results::{verify_path, VerifyRecord, VERIFY_SCHEMA};
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    let served = "istiod 1.31-dev (istio/istio eed52ebb66ad)";
    let note = "percent_encoded_digit: lua upstream.path \"/api/v%31/\" -> \"/api/v1/\"";
    let mut checks = Vec::new();
    for api in ["trafficextension", "legacy"] {
        let mut p = verify_pair(&format!("add_header ({api})"), true, vec![]);
        p.served_by = Some(served.into());
        p.notes = vec![note.into()];
        checks.push(p);
    }
    checks.push(verify_pair("jwt_auth (trafficextension)", true, vec![]));
    let deployed = VerifyRecord {
        schema_version: VERIFY_SCHEMA,
        mode: "deployed".into(),
        envoy_version: Some("1.40.0".into()),
        created_ms: 1_709_251_200_000,
        pairs: checks,
    };
    write_json_atomically(
        &verify_path(&dir.path().join("results"), "deployed"),
        &deployed,
    )
    .unwrap();
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let page = read(&out, "pairs/add_header.html");
    assert!(
        page.contains(&format!("Served by {served}, the real Istio control plane")),
        "{page}"
    );
    assert!(
        page.contains("add_header (legacy): percent_encoded_digit: lua upstream.path"),
        "{page}"
    );
    let own = read(&out, "pairs/jwt_auth.html");
    assert!(own.contains("The deployed manifests were checked"), "{own}");
    assert!(!own.contains("Served by"), "{own}");
}

#[test]
fn go_wasm_in_process_figures_appear_beside_rust_only_when_measured() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    // Without Go figures (a summary written before Go was measured): no Go anywhere.
    let before = dir.path().join("before");
    render(&input, &before).unwrap();
    let index = read(&before, "index.html");
    assert!(index.contains("in-process Lua / Wasm (ns per request)"));
    let page = read(&before, "pairs/add_header.html");
    let svg = chart(&page, "inprocess").unwrap();
    assert!(svg_texts(svg).iter().any(|t| t == "Wasm (wasmtime)"));
    assert!(!page.contains("Go Wasm (wasmtime)") && !page.contains("Go/Lua"));

    write_json_atomically(
        &filterbench_model::results::bench_summary_path(&input.results_dir),
        &bench_with_go(),
    )
    .unwrap();
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let index = read(&out, "index.html");
    assert!(
        index.contains("in-process Lua / Rust Wasm / Go Wasm (ns per request)"),
        "{index}"
    );
    assert!(index.contains("2100 / 3400 / 5300"), "add_header's three");
    assert!(
        index.contains("19\u{2009}000 / 6000 / 12\u{2009}700"),
        "jwt_auth's three (thousands split by a thin space)"
    );
    assert!(
        index.contains("2500 / 3000 / -"),
        "custom_metrics has no Go figure"
    );

    let page = read(&out, "pairs/add_header.html");
    let texts = svg_texts(chart(&page, "inprocess").unwrap());
    for label in [
        "Lua (LuaJIT)",
        "Rust Wasm (wasmtime)",
        "Go Wasm (wasmtime)",
        "5300",
    ] {
        assert!(
            texts.iter().any(|t| t == label),
            "no {label:?} in {texts:?}"
        );
    }
    // Go against Lua and against the Rust twin, with intervals, and the three counts.
    for words in [
        "Go Wasm 5300 ns [5141 – 5459] per request",
        "Go/Lua 2.52 [2.45, 2.60], Go − Lua +3200 [+3104, +3296] ns",
        "Go/Rust Wasm 1.56 [1.51, 1.61], Go − Rust Wasm +1900 [+1843, +1957] ns",
        "Instructions per request (callgrind): Lua 6300, Rust Wasm 6800, Go Wasm 21\u{2009}200.",
        "Go Wasm: module compile (once per module)",
        "Go Wasm: instantiate + start + configure (once per worker)",
        "Go Wasm (linear memory)",
    ] {
        assert!(page.contains(words), "no {words:?} on add_header's page");
    }
    // A pair whose Go twin was not measured says why, and draws no Go bar.
    let page = read(&out, "pairs/custom_metrics.html");
    assert!(
        page.contains("Not measured in-process: custom_metrics: the Go Wasm twin is not built.")
    );
    let texts = svg_texts(chart(&page, "inprocess").unwrap());
    assert!(!texts.iter().any(|t| t.contains("Go")), "{texts:?}");
}

#[test]
fn a_go_compile_and_go_instructions_the_profile_left_out_are_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    let mut summary = bench_with_go();
    summary.startup[0].go_compile = None;
    // The quick profile's callgrind counts Lua and Rust Wasm only.
    for p in &mut summary.pairs {
        if let Some(i) = &mut p.instructions {
            i.go = None;
        }
    }
    write_json_atomically(
        &filterbench_model::results::bench_summary_path(&input.results_dir),
        &summary,
    )
    .unwrap();
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let page = read(&out, "pairs/add_header.html");
    assert!(page.contains("Go Wasm: module compile (once per module)"));
    assert!(
        page.contains("not timed in profile quick"),
        "the profile named"
    );
    assert!(page.contains("Go Wasm: instantiate + start + configure (once per worker)"));
    assert!(page.contains(
        "Go Wasm instructions per request: not counted in profile quick (callgrind counts \
         them in the default profile, as cargo bench runs it)."
    ));
    assert!(!page.contains("Go Wasm 21"), "no Go count");
}
