//! The mechanism's share of each pair's cost (claims page `#mechanism`, the index's
//! pass-through table): the pass-through Lua, Rust Wasm and native filters over the baseline,
//! and per pair the share of its Lua, Rust Wasm and native costs that the pass-through of the
//! same kind accounts for, with intervals, or "no measurable" when an interval reaches zero.

use filterbench_model::results::*;
use filterbench_model::TwinKind;
use filterbench_reports::mechanism::{cost, PairShares, Share};
use filterbench_reports::site::interval_words;
use filterbench_reports::site::render;

use crate::fixtures::*;

const NATIVE: Variant = Variant::Twin(TwinKind::Native);

/// The `<tr ...>…</tr>` of the claims page's mechanism table for `pair`.
fn mechanism_row<'a>(page: &'a str, pair: &str) -> &'a str {
    let start = page
        .find(&format!("<tr data-mechanism-pair=\"{pair}\""))
        .unwrap_or_else(|| panic!("no mechanism row for {pair}"));
    let rest = &page[start..];
    &rest[..rest.find("</tr>").unwrap()]
}

/// The share cell of mechanism `v` in `row`: (its data-share id, its words).
fn share_cell(row: &str, v: Variant) -> (String, String) {
    let at = row
        .find(&format!(
            "<span data-mechanism=\"{}\" data-share=\"",
            v.id()
        ))
        .unwrap_or_else(|| panic!("no {} share in {row}", v.id()));
    let rest = &row[at..];
    let id = rest.split("data-share=\"").nth(1).unwrap();
    let id = &id[..id.find('"').unwrap()];
    let words = &rest[rest.find('>').unwrap() + 1..rest.find("</span>").unwrap()];
    (id.to_string(), words.to_string())
}

/// jwt_auth's Lua filter adds 50 µs and its Rust Wasm twin 10 (fixtures' `load`); a native twin
/// adding 8 is written beside them. The pass-through adds 20 (Lua), 12 (Wasm), 4 (native).
fn jwt_with_native() -> LoadRun {
    with_twin(
        load("jwt_auth", 100.0, 150.0, 110.0),
        TwinKind::Native,
        8.0,
        0.3,
        1.9,
    )
}

#[test]
fn shares_are_the_pass_through_over_the_pairs_cost_with_intervals() {
    let pass = passthrough_run();
    let shares = PairShares::of(&pass, &jwt_with_native());
    let of = |v: Variant| match shares.by_mechanism.iter().find(|(m, _, _)| *m == v) {
        Some((_, _, Share::Of(i))) => *i,
        other => panic!("{v:?}: {other:?}"),
    };
    // Lua: 20 / 50 (the same round jitter on both sides, median -0.145): 19.855 / 49.855.
    // Rust Wasm: 12 / 10 (the jitter subtracted): 12.145 / 10.145, above 100%.
    // Native: about 4 / 8.
    for (v, median, low, high) in [
        (Variant::Lua, 0.3983, 0.38, 0.42),
        (Variant::WASM, 1.1971, 1.14, 1.27),
        (NATIVE, 0.5, 0.46, 0.54),
    ] {
        let i = of(v);
        assert!((i.median - median).abs() < 0.01, "{v:?}: {i:?}");
        assert!(
            low < i.low && i.low <= i.median && i.median <= i.high && i.high < high,
            "{v:?}: {i:?}"
        );
    }
    // The added costs shown beside them are the pair's own, over its baseline.
    let (_, lua, _) = shares.by_mechanism[0];
    assert!((lua.unwrap().median - 49.855).abs() < 0.01, "{lua:?}");
}

#[test]
fn a_share_is_not_taken_when_an_interval_reaches_zero() {
    let pass = passthrough_run();
    // A native twin that adds nothing measurable (0 µs, jitter ±1): no cost to share.
    let free = with_twin(
        load("p", 100.0, 150.0, 110.0),
        TwinKind::Native,
        0.0,
        1.0,
        2.7,
    );
    assert!(cost(&free, NATIVE).unwrap().low < 0.0);
    assert_eq!(Share::of(&pass, &free, NATIVE), Share::NoMeasurableCost);
    // A native pass-through that adds nothing measurable: no mechanism cost.
    let free_pass = with_twin(
        load("passthrough", 100.0, 120.0, 112.0),
        TwinKind::Native,
        0.0,
        1.0,
        2.7,
    );
    assert_eq!(
        Share::of(&free_pass, &jwt_with_native(), NATIVE),
        Share::NoMeasurableMechanism
    );
    // A pair run without a native twin, or a pass-through run from before there was one.
    let jwt = load("jwt_auth", 100.0, 150.0, 110.0);
    assert_eq!(Share::of(&pass, &jwt, NATIVE), Share::NotMeasured);
    let old_pass = load("passthrough", 100.0, 120.0, 112.0);
    assert_eq!(
        Share::of(&old_pass, &jwt_with_native(), NATIVE),
        Share::NotMeasured
    );
    for (share, words) in [
        (
            Share::NoMeasurableCost,
            "no measurable cost over the baseline to share",
        ),
        (Share::NoMeasurableMechanism, "no measurable mechanism cost"),
        (Share::NotMeasured, "not measured"),
    ] {
        assert_eq!(share.words(), words);
    }
}

#[test]
fn the_claims_page_shows_each_mechanisms_share_and_the_index_the_native_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    write_json_atomically(
        &load_path(&input.results_dir, "jwt_auth"),
        &jwt_with_native(),
    )
    .unwrap();
    // ODD's native twin adds nothing measurable.
    write_json_atomically(
        &load_path(&input.results_dir, ODD),
        &with_twin(
            load(ODD, 100.0, 105.0, 104.0),
            TwinKind::Native,
            0.0,
            1.0,
            2.7,
        ),
    )
    .unwrap();
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let claims = read(&out, "claims.html");
    assert!(
        claims
            .contains("<h2 id=\"mechanism\">How much of each filter's cost is the mechanism</h2>"),
        "{claims}"
    );
    // The pass-through row: what each mechanism alone adds, with its interval.
    let pass = passthrough_run();
    let row = mechanism_row(&claims, "passthrough");
    for v in [Variant::Lua, Variant::WASM, NATIVE] {
        let words = interval_words(cost(&pass, v));
        assert!(words.starts_with('+') && words.contains(" ["), "{words}");
        assert!(row.contains(&words), "{v:?} {words}: {row}");
    }
    // jwt_auth: each kind's cost beside the mechanism's share of it.
    let row = mechanism_row(&claims, "jwt_auth");
    let jwt = jwt_with_native();
    for (v, share) in [
        (Variant::Lua, "40% ["),
        (Variant::WASM, "120% ["),
        (NATIVE, "50% ["),
    ] {
        assert!(row.contains(&interval_words(cost(&jwt, v))), "{v:?}: {row}");
        let (id, words) = share_cell(row, v);
        assert_eq!(id, "share", "{v:?}: {row}");
        assert!(
            words.starts_with(share) && words.ends_with("%]"),
            "{v:?}: {words}"
        );
        assert_eq!(words, Share::of(&pass, &jwt, v).words());
    }
    // add_header has no native twin in its run; ODD's adds nothing measurable.
    let row = mechanism_row(&claims, "add_header");
    assert_eq!(
        share_cell(row, NATIVE),
        ("not-measured".into(), "not measured".into())
    );
    assert_eq!(share_cell(row, Variant::Lua).0, "share");
    let odd = html_escaped(ODD);
    let row = mechanism_row(&claims, &odd);
    assert_eq!(
        share_cell(row, NATIVE),
        (
            "no-cost".into(),
            "no measurable cost over the baseline to share".into()
        )
    );
    // custom_metrics has no load run: said, not invented.
    assert!(claims.contains("No load run, so no share: custom_metrics."));

    // The index's pass-through table has the native module beside Lua and Wasm.
    let index = read(&out, "index.html");
    assert!(index.contains("What merely having a Lua, a Wasm or a native filter costs"));
    assert!(
        index.contains("<td>native module over baseline</td>"),
        "{index}"
    );
    assert!(index.contains(&interval_words(cost(&pass, NATIVE))));
    assert!(index.contains("href=\"claims.html#mechanism\""));
}

#[test]
fn without_a_pass_through_run_the_claims_page_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    std::fs::remove_file(load_path(&input.results_dir, "passthrough")).unwrap();
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let claims = read(&out, "claims.html");
    assert!(claims.contains("no real-Envoy run of the pass-through filters, so no mechanism share"));
    assert!(claims.contains("filterbench load --pair passthrough"));
    assert!(!claims.contains("data-mechanism-pair"));
}

/// A pass-through run from before the native module (Lua and Wasm only): its native cells say
/// "not measured" and the page says how to measure it.
#[test]
fn an_old_pass_through_run_without_native_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_all(dir.path());
    write_json_atomically(
        &load_path(&input.results_dir, "passthrough"),
        &load("passthrough", 100.0, 120.0, 112.0),
    )
    .unwrap();
    write_json_atomically(
        &load_path(&input.results_dir, "jwt_auth"),
        &jwt_with_native(),
    )
    .unwrap();
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let claims = read(&out, "claims.html");
    let row = mechanism_row(&claims, "passthrough");
    assert!(row.contains("<td>not measured</td>"), "{row}");
    assert_eq!(
        share_cell(mechanism_row(&claims, "jwt_auth"), NATIVE),
        ("not-measured".into(), "not measured".into())
    );
    assert!(claims.contains(
        "The pass-through run has no native module filter (it was measured before there was \
         one, or without it)"
    ));
    let index = read(&out, "index.html");
    assert!(
        index.contains("This run has no native pass-through"),
        "{index}"
    );
}

/// `name` as the pages escape it.
fn html_escaped(name: &str) -> String {
    filterbench_reports::html::esc(name)
}
