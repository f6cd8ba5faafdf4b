//! `filterbench record` writes nothing when anything fails: names, paths and the corpus as it
//! will be are checked before Envoy runs; a request Envoy never answered is an error naming it,
//! never an expectation.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{filterbench, text};

const LIMIT: Duration = Duration::from_secs(180);

/// The corpus of pair `tag` (one scenario), shared with the workspace tests.
use crate::workspace::TAG_CORPUS as CORPUS;

/// A workspace with pair `tag` (a Lua filter, a prebuilt twin) and one scenario.
fn workspace(lua: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    let script = tmp.path().join("tag.lua");
    std::fs::write(&script, lua).unwrap();
    let module = filterbench_model::wasm_dir().join("add_header.wasm");
    let out = filterbench(
        &[
            "new",
            "tag",
            "--lua",
            script.to_str().unwrap(),
            "--wasm",
            module.to_str().unwrap(),
            "--workspace",
            ws.to_str().unwrap(),
        ],
        &[],
        LIMIT,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(ws.join("corpus/tag.toml"), CORPUS).unwrap();
    (tmp, ws)
}

/// `record --pair tag --requests FILE` in `ws`: (exit code, stdout, stderr).
fn record(ws: &Path, requests: &str, extra: &[&str]) -> (i32, String, String) {
    let file = ws.join("requests.jsonl");
    std::fs::write(&file, requests).unwrap();
    let mut args = vec![
        "record",
        "--pair",
        "tag",
        "--requests",
        file.to_str().unwrap(),
        "--workspace",
        ws.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = filterbench(&args, &[], LIMIT);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

const TAG: &str =
    "function envoy_on_request(handle)\n  handle:headers():add(\"x-tag\", \"blue\")\nend\n";

#[test]
fn record_checks_names_paths_and_the_corpus_before_envoy_runs() {
    let (_tmp, ws) = workspace(TAG);
    let corpus = ws.join("corpus/tag.toml");
    for (requests, wanted) in [
        // A name the corpus would refuse.
        (
            "{\"path\": \"/\"}\n{\"name\": \"login-page\", \"path\": \"/login\"}\n",
            vec![
                "requests.jsonl",
                "request 2",
                "\"login-page\"",
                "[a-z0-9_]+",
            ],
        ),
        // A name the corpus has already.
        (
            "{\"name\": \"adds_tag\", \"path\": \"/y\"}\n",
            vec!["corpus/tag.toml", "\"adds_tag\" exists already", "--force"],
        ),
        // A name given twice.
        (
            "{\"name\": \"a\"}\n{\"name\": \"a\"}\n",
            vec!["requests.jsonl", "\"a\" is given to two requests"],
        ),
        // A path no request line can carry.
        (
            "{\"name\": \"search\", \"path\": \"/search?q=a b\"}\n",
            vec!["requests.jsonl", "request 1 \"search\"", "has a space"],
        ),
    ] {
        let (code, stdout, stderr) = record(&ws, requests, &[]);
        assert_eq!(code, 2, "{requests}: {stdout}{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        for w in wanted {
            assert!(stderr.contains(w), "{requests}: {stderr} lacks {w:?}");
        }
        assert!(
            !stdout.contains("recording"),
            "{requests}: Envoy ran: {stdout}"
        );
        assert_eq!(std::fs::read_to_string(&corpus).unwrap(), CORPUS);
    }
    // And what is right is recorded, into a corpus every later command reads.
    let (code, stdout, stderr) = record(
        &ws,
        "{\"name\": \"login_page\", \"path\": \"/login\"}\n",
        &[],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("recorded 1 scenario(s)"), "{stdout}");
    filterbench_model::Corpus::load(&corpus, "tag").unwrap();
}

#[test]
fn a_request_envoy_never_answered_is_an_error_not_an_expectation() {
    // A local reply larger than the client reads (16 MiB): the client gets no HTTP response.
    let (_tmp, ws) = workspace(
        "function envoy_on_request(handle)\n  if handle:headers():get(\":path\") == \"/big\" then\n    handle:respond({[\":status\"] = \"200\"}, string.rep(\"x\", 17 * 1024 * 1024))\n  end\nend\n",
    );
    let corpus = ws.join("corpus/tag.toml");
    let (code, stdout, stderr) = record(
        &ws,
        "{\"path\": \"/small\"}\n{\"name\": \"big\", \"path\": \"/big\"}\n",
        &[],
    );
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    for w in [
        "requests.jsonl",
        "request 2 (big)",
        "never answered",
        "nothing written",
    ] {
        assert!(stderr.contains(w), "{stderr} lacks {w:?}");
    }
    assert_eq!(std::fs::read_to_string(&corpus).unwrap(), CORPUS);
}

/// `record` says per request what the filter changed, and flags behaviour that depends on
/// header multiplicity: a session-cookie stripper that splits `cookie` on `;` strips the session
/// from one joined header but leaks it when the client sends two `cookie` headers (Lua's `get`
/// joins them with `,`).
#[test]
fn record_shows_what_the_filter_changed_and_flags_repeated_header_behaviour() {
    let strip = r#"
function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  local cookie = headers:get("cookie")
  if cookie == nil then
    return
  end
  local kept = {}
  for part in string.gmatch(cookie, "[^;]+") do
    local p = string.gsub(part, "^ +", "")
    if string.find(p, "^session=") == nil then
      table.insert(kept, p)
    end
  end
  if #kept == 0 then
    headers:remove("cookie")
  else
    headers:replace("cookie", table.concat(kept, "; "))
  end
end
"#;
    let (_tmp, ws) = workspace(strip);
    let (code, stdout, stderr) = record(
        &ws,
        "{\"name\": \"one_header\", \"path\": \"/\", \"headers\": [[\"cookie\", \"a=1; session=x\"]]}\n\
         {\"name\": \"two_headers\", \"path\": \"/\", \"headers\": [[\"cookie\", \"a=1\"], [\"cookie\", \"session=x\"]]}\n",
        &[],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no line for {name}: {stdout}"))
            .to_string()
    };
    // One header: the session is stripped, and the line says so.
    assert!(
        line("one_header").contains("upstream.header[cookie]"),
        "{stdout}"
    );
    assert!(line("one_header").contains("\"a=1\""), "{stdout}");
    // Two headers: worth a look, naming the header.
    assert!(
        stdout.contains("worth a look: with `cookie` sent more than once"),
        "{stdout}"
    );
    assert!(stdout.contains("1 request(s) worth a look"), "{stdout}");
}
