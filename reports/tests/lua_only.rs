//! A Lua-only load result (`filterbench load --lua-only`): the pair page and the index say what
//! the Lua filter adds over the baseline and that it is the most a migration could save, say that
//! the Wasm twin is not measured or proven, show no Wasm figure, and the tree settles it from the
//! Lua side alone.

use filterbench_model::results::*;
use filterbench_reports::charts::svg_texts;
use filterbench_reports::decision::{Costs, Verdict};
use filterbench_reports::evidence::paired_rounds;
use filterbench_reports::site::{interval_words, render, RenderError};

use crate::fixtures::*;

const COSTLY: &str = "header_guard";
const CHEAP: &str = "tiny_tag";

fn input_with_lua_only(root: &std::path::Path) -> filterbench_reports::site::SiteInput {
    let mut input = write_all(root);
    let results = input.results_dir.clone();
    // header_guard: Lua adds 50 us per request, no twin proven; its in-process Wasm numbers exist
    // (a twin that does not do the same) and must not be shown.
    write_json_atomically(
        &load_path(&results, COSTLY),
        &load_lua_only(COSTLY, 100.0, 150.0, LuaOnly::Asked),
    )
    .unwrap();
    let mut summary = bench();
    summary.pairs.push(pair_bench(COSTLY, 4_000.0, 1_234_567.0));
    write_json_atomically(&bench_summary_path(&results), &summary).unwrap();
    // tiny_tag: Lua adds about 1 us, measured Lua-only because its twin differed.
    write_json_atomically(
        &load_path(&results, CHEAP),
        &load_lua_only(CHEAP, 100.0, 101.0, LuaOnly::NotEquivalent),
    )
    .unwrap();
    for name in [COSTLY, CHEAP] {
        input
            .pairs
            .push(pair(name, &format!("The {name} filter."), false, None));
    }
    input
}

#[test]
fn a_lua_only_result_renders_what_lua_adds_and_no_wasm_figure() {
    let dir = tempfile::tempdir().unwrap();
    let input = input_with_lua_only(dir.path());
    let out = dir.path().join("site");
    let summary = render(&input, &out).unwrap();
    let outcome = |name: &str| summary.pairs.iter().find(|p| p.name == name).unwrap();
    assert_eq!(outcome(COSTLY).leaf.id(), "twin_needed");
    assert_eq!(outcome(COSTLY).call, Verdict::ProveTwin);
    assert_eq!(outcome(CHEAP).leaf.id(), "lua_cheap_without_twin");
    assert_eq!(outcome(CHEAP).call, Verdict::KeepLua);

    let page = read(&out, &format!("pairs/{COSTLY}.html"));
    let costs =
        Costs::of(&paired_rounds(&load_lua_only(COSTLY, 100.0, 150.0, LuaOnly::Asked)).unwrap());
    let (cpu, p50) = (
        interval_words(costs.lua_cpu_us),
        interval_words(costs.lua_latency_us[0]),
    );
    assert!(cpu.starts_with("+50.") || cpu.starts_with("+49."), "{cpu}");
    // What Lua adds, each a median with its interval, and what that means for a migration.
    let said = page
        .split("<p data-lua-only=\"asked\">")
        .nth(1)
        .expect("the Lua-only statement")
        .split("</p>")
        .next()
        .unwrap();
    assert!(said.contains("the Wasm twin was not measured"), "{said}");
    assert!(
        said.contains(&format!(
            "The Lua filter adds {cpu} µs of Envoy CPU per request"
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!("and {p50} µs of p50 latency")),
        "{said}"
    );
    assert!(
        said.contains("so the most a migration could save"),
        "{said}"
    );
    // At the top: the twin is not measured, and not proven.
    let top = page
        .split("<p data-twin=\"lua_only\">")
        .nth(1)
        .expect("the twin's status")
        .split("</p>")
        .next()
        .unwrap();
    assert!(top.contains("The Wasm twin is not measured"), "{top}");
    assert!(
        top.contains("It is not proven equivalent (not checked)"),
        "{top}"
    );
    // The recommendation: write and prove the twin, with its confidence.
    assert!(page.contains(
        "<span class=\"verdict-prove_twin\">write the Wasm twin and prove it equivalent first</span>"
    ));
    assert!(page.contains("% of resamples)"));
    let tree = chart(&page, "tree").unwrap();
    assert!(tree.contains("data-node=\"twin_needed\" data-taken=\"true\""));
    assert!(tree.contains("data-node=\"way_cheaper\" data-taken=\"false\""));
    // No Wasm figure: no Wasm row, column or series, no in-process Wasm number.
    for wasm in [
        ">Wasm over baseline<",
        ">Wasm minus Lua<",
        ">Wasm VMs<",
        "Wasm minus Lua in-process",
        "1234567",
        "1,234,567",
    ] {
        assert!(
            !page.contains(wasm),
            "{COSTLY}: {wasm:?} on a Lua-only page"
        );
    }
    for id in ["overhead", "latency", "cpu", "throughput", "memory"] {
        let svg = chart(&page, id).unwrap_or_else(|| panic!("no {id} chart"));
        let texts = svg_texts(svg);
        assert!(
            texts.iter().any(|t| t.starts_with("Lua")),
            "{id}: {texts:?}"
        );
        assert!(
            !texts.iter().any(|t| t.contains("Wasm")),
            "{id}: a Wasm series on a Lua-only page: {texts:?}"
        );
    }
    assert!(chart(&page, "inprocess").is_none());
    assert!(page.contains("in-process numbers are left out: it is not proven equivalent"));

    // The index row: Lua's cost, and the Wasm cells say they were not measured.
    let index = read(&out, "index.html");
    let row = index
        .split(&format!(
            "<tr data-pair=\"{COSTLY}\" data-verdict=\"prove_twin\">"
        ))
        .nth(1)
        .expect("the index row")
        .split("</tr>")
        .next()
        .unwrap();
    assert!(row.contains(&cpu), "{row}");
    assert_eq!(
        // One "ways out" column (it was four Wasm columns before twins of several kinds).
        row.matches("not measured (Lua-only run)").count(),
        1,
        "{row}"
    );
    assert!(row.contains("twin not proven"), "{row}");
    assert!(
        !row.contains("1,234,567") && !row.contains("1234567"),
        "{row}"
    );
    assert!(index.contains("is the most a migration could save"));
    assert!(index.contains(&format!(
        "Lua only: {COSTLY}, {CHEAP} measured the Lua filter alone"
    )));

    // The cheap one keeps Lua, settled without a twin, and says why it was Lua-only.
    let cheap = read(&out, &format!("pairs/{CHEAP}.html"));
    assert!(cheap.contains("<p data-lua-only=\"not_equivalent\">"));
    assert!(cheap.contains("settled without a twin"));
    assert!(cheap.contains("<span class=\"verdict-keep_lua\">keep Lua</span>"));
}

#[test]
fn a_lua_only_file_with_wasm_samples_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = input_with_lua_only(dir.path());
    let path = load_path(&input.results_dir, COSTLY);
    let mut run = load(COSTLY, 100.0, 150.0, 140.0);
    run.lua_only = Some(LuaOnly::Asked);
    write_json_atomically(&path, &run).unwrap();
    let e = render(&input, &dir.path().join("site")).unwrap_err();
    assert!(matches!(e, RenderError::Read(_)), "{e}");
    let e = e.to_string();
    assert!(e.contains(&format!("load/{COSTLY}.json")), "{e}");
    assert!(
        e.contains("says `lua_only` but lists the `wasm` variant"),
        "{e}"
    );
    // A run without Wasm that does not say why is refused too.
    run = load_lua_only(COSTLY, 100.0, 150.0, LuaOnly::Asked);
    run.lua_only = None;
    write_json_atomically(&path, &run).unwrap();
    let e = render(&input, &dir.path().join("site"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not say `lua_only`"), "{e}");
    assert!(!dir.path().join("site").exists(), "nothing rendered");
}
