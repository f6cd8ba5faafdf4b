//! The documentation against the tool: every flag that README.md or docs/*.md writes after a
//! `filterbench` subcommand (`filterbench load --pair ...`, `cargo run --release -- load ...`, or a
//! code span that starts with the subcommand, `verify --envoy`) is one that subcommand's `--help`
//! lists, and every relative link in them reaches a file that exists and, for `#anchor`, a heading
//! of that file (GitHub's anchors: lowercase, spaces to `-`, punctuation but `-` and `_` dropped).
//! Flags of other tools (cargo's `--release`, loadgen's, go's) are not checked: only what follows
//! a filterbench subcommand.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use filterbench_model::project_root;

use crate::support::{filterbench_command, text};

/// The documents checked: README.md and every docs/*.md, as (path relative to the root, path).
fn documents() -> Vec<(String, PathBuf)> {
    let root = project_root();
    let mut docs = vec![("README.md".to_string(), root.join("README.md"))];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ holds the reference")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    assert!(!pages.is_empty(), "docs/ has no .md page");
    for page in pages {
        let name = format!("docs/{}", page.file_name().unwrap().to_string_lossy());
        docs.push((name, page));
    }
    docs
}

/// `filterbench ARGS` run to completion (only `--help`, which neither waits nor starts anything).
fn help_text(args: &[&str]) -> String {
    let out = filterbench_command()
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run filterbench --help");
    assert!(
        out.status.success(),
        "filterbench {args:?} failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Every `--long-flag` a help text names.
fn long_flags(help: &str) -> BTreeSet<String> {
    help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|t| t.starts_with("--") && t.len() > 2)
        .map(str::to_string)
        .collect()
}

/// The subcommands and each one's flags, from the binary's own `--help`.
struct Cli {
    flags: BTreeMap<String, BTreeSet<String>>,
}

impl Cli {
    fn from_help() -> Cli {
        let top = help_text(&["--help"]);
        let commands = top
            .lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|c| *c != "help")
            .map(str::to_string)
            .collect::<Vec<_>>();
        assert!(
            commands.len() >= 5,
            "filterbench --help lists its subcommands: {top}"
        );
        let flags = commands
            .into_iter()
            .map(|c| {
                let f = long_flags(&help_text(&[&c, "--help"]));
                (c, f)
            })
            .collect();
        Cli { flags }
    }
}

/// The code of a markdown text with the line each piece starts on: every line of a fenced block
/// (a line ending in `\` joined with the next), and every inline code span.
fn code_pieces(markdown: &str) -> Vec<(usize, String, bool)> {
    let mut pieces = Vec::new();
    let mut in_fence = false;
    let mut pending: Option<(usize, String)> = None;
    let mut prose = String::new();
    for (i, line) in markdown.lines().enumerate() {
        let n = i + 1;
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            prose.push('\n');
            continue;
        }
        if in_fence {
            let (start, mut joined) = pending.take().unwrap_or((n, String::new()));
            match line.strip_suffix('\\') {
                Some(head) => {
                    joined.push_str(head);
                    joined.push(' ');
                    pending = Some((start, joined));
                }
                None => {
                    joined.push_str(line);
                    pieces.push((start, joined, true));
                }
            }
            prose.push('\n');
        } else {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    // Inline spans may run over a line break; count lines by the newlines before them.
    let mut rest = prose.as_str();
    let mut offset = 0;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else { break };
        let span = &after[..close];
        let line = prose[..offset + open].matches('\n').count() + 1;
        if !span.is_empty() {
            pieces.push((line, span.replace('\n', " "), false));
        }
        let used = open + 1 + close + 1;
        offset += used;
        rest = &rest[used..];
    }
    pieces
}

/// A filterbench command written in the docs: the subcommand, the flags after it, and whether it
/// is certainly meant as a command (`cargo run -- SUB`, or `filterbench SUB` opening the piece),
/// rather than the word `filterbench` in a sentence inside code (`the filterbench pair ...`).
struct Written {
    sub: String,
    flags: Vec<String>,
    command: bool,
}

/// The filterbench subcommands a piece of code runs, each with the flags written after it:
/// `filterbench SUB ...`, `cargo run [--release] -- SUB ...`, and (in an inline span) `SUB ...`.
/// A shell comment or a `|`, `;`, `&&` ends a command.
fn commands_in(piece: &str, block: bool, subs: &BTreeSet<String>) -> Vec<Written> {
    let code = if block {
        let t = piece.trim_start();
        if t.starts_with('#') {
            ""
        } else {
            piece.split(" #").next().unwrap_or("")
        }
    } else {
        piece
    };
    let tokens: Vec<&str> = code.split_whitespace().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let sub_at = if tokens[i] == "filterbench" || tokens[i].ends_with("/filterbench") {
            Some((i + 1, i == 0))
        } else if tokens[i..].starts_with(&["cargo", "run", "--release", "--"]) {
            Some((i + 4, true))
        } else if tokens[i..].starts_with(&["cargo", "run", "--"]) {
            Some((i + 3, true))
        } else if i == 0 && !block && subs.contains(tokens[0]) {
            Some((0, true))
        } else {
            None
        };
        let Some((at, command)) = sub_at else {
            i += 1;
            continue;
        };
        let Some(sub) = tokens.get(at) else { break };
        let mut flags = Vec::new();
        let mut j = at + 1;
        while j < tokens.len() && !matches!(tokens[j], "|" | "||" | ";" | "&&" | "&") {
            let t = tokens[j].trim_start_matches(['[', '(', '{']);
            if let Some(name) = t.strip_prefix("--") {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                if !name.is_empty() {
                    flags.push(format!("--{name}"));
                }
            }
            j += 1;
        }
        found.push(Written {
            sub: sub.to_string(),
            flags,
            command,
        });
        i = j;
    }
    found
}

/// What is wrong with the flags a document writes after filterbench subcommands, and how many
/// flags it checked.
fn flag_problems(cli: &Cli, file: &str, markdown: &str) -> (usize, Vec<String>) {
    let subs: BTreeSet<String> = cli.flags.keys().cloned().collect();
    let mut checked = 0;
    let mut problems = Vec::new();
    for (line, piece, block) in code_pieces(markdown) {
        for Written {
            sub,
            flags,
            command,
        } in commands_in(&piece, block, &subs)
        {
            let Some(known) = cli.flags.get(&sub) else {
                // A word that is no subcommand where a command is certainly written: a typo.
                if command && sub.chars().all(|c| c.is_ascii_lowercase()) {
                    problems.push(format!(
                        "{file}:{line}: `{sub}` is not a filterbench subcommand (in `{piece}`)"
                    ));
                }
                continue;
            };
            for flag in flags {
                checked += 1;
                if !known.contains(&flag) {
                    problems.push(format!(
                        "{file}:{line}: `filterbench {sub} --help` has no {flag} (in `{piece}`)"
                    ));
                }
            }
        }
    }
    (checked, problems)
}

/// GitHub's anchor of a heading: lowercase, punctuation but `-` and `_` dropped, spaces to `-`
/// (the text of a link in the heading counts, its target does not).
fn anchor(heading: &str) -> String {
    let mut plain = String::new();
    let mut rest = heading;
    while let Some(at) = rest.find("](") {
        plain.push_str(&rest[..at]);
        rest = match rest[at..].find(')') {
            Some(close) => &rest[at + close + 1..],
            None => "",
        };
    }
    plain.push_str(rest);
    plain
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a markdown file's headings (outside code blocks), a repeated one as GitHub
/// numbers it (`name`, `name-1`, ...).
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut all = BTreeSet::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            let base = anchor(line[hashes..].trim().trim_end_matches('#'));
            let n = seen.entry(base.clone()).or_insert(0);
            all.insert(if *n == 0 {
                base.clone()
            } else {
                format!("{base}-{n}")
            });
            *n += 1;
        }
    }
    all
}

/// The relative link targets of a markdown text (outside code), with their lines.
fn links(markdown: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_fence = false;
    for (i, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // Code spans are not links.
        let mut prose = String::new();
        for (k, part) in line.split('`').enumerate() {
            if k % 2 == 0 {
                prose.push_str(part);
            }
        }
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let target = &rest[at + 2..];
            let end = target.find(')').unwrap_or(target.len());
            let t = target[..end].split_whitespace().next().unwrap_or("");
            if !t.is_empty() && !t.contains("://") && !t.starts_with("mailto:") {
                out.push((i + 1, t.to_string()));
            }
            rest = &target[end..];
        }
    }
    out
}

/// What is wrong with the relative links of the document at `path` (`file` names it).
fn link_problems(file: &str, path: &Path, markdown: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let dir = path.parent().unwrap();
    for (line, target) in links(markdown) {
        let (to, fragment) = match target.split_once('#') {
            Some((to, fragment)) => (to, Some(fragment)),
            None => (target.as_str(), None),
        };
        let target_path = dir.join(to);
        if !to.is_empty() && !target_path.exists() {
            problems.push(format!("{file}:{line}: link to {target}: no such file"));
            continue;
        }
        let Some(fragment) = fragment else { continue };
        // `#anchor` alone is a heading of this document.
        let read = if to.is_empty() {
            Ok(markdown.to_string())
        } else {
            std::fs::read_to_string(&target_path)
        };
        let Ok(text) = read else {
            problems.push(format!(
                "{file}:{line}: link to {target}: #{fragment} in a file that is not text"
            ));
            continue;
        };
        if !anchors(&text).contains(fragment) {
            problems.push(format!(
                "{file}:{line}: link to {target}: no heading there has the anchor #{fragment}"
            ));
        }
    }
    problems
}

#[test]
fn every_flag_in_the_docs_is_in_its_subcommands_help() {
    let cli = Cli::from_help();
    let mut checked = 0;
    let mut problems = Vec::new();
    for (file, path) in documents() {
        let markdown = std::fs::read_to_string(&path).unwrap();
        let (n, p) = flag_problems(&cli, &file, &markdown);
        checked += n;
        problems.extend(p);
    }
    assert!(
        problems.is_empty(),
        "flags the docs write that `--help` does not know:\n{}",
        problems.join("\n")
    );
    // The docs write dozens of flags; finding none would mean the check looked at nothing.
    assert!(checked >= 40, "only {checked} flags found in the docs");
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let mut problems = Vec::new();
    let mut count = 0;
    for (file, path) in documents() {
        let markdown = std::fs::read_to_string(&path).unwrap();
        count += links(&markdown).len();
        problems.extend(link_problems(&file, &path, &markdown));
    }
    assert!(
        problems.is_empty(),
        "broken links in the docs:\n{}",
        problems.join("\n")
    );
    assert!(count >= 20, "only {count} relative links found in the docs");
}

/// The checks themselves catch what they are for: a flag a subcommand does not have (in a code
/// block, an inline command and a bare subcommand span), a misspelt subcommand, a missing file
/// and an anchor no heading has; and they leave alone what is right or belongs to another tool.
#[test]
fn the_checks_catch_a_wrong_flag_a_wrong_subcommand_and_a_broken_link() {
    let cli = Cli::from_help();
    let markdown = "\
# A page

## Its `second` heading: with punctuation!

```sh
cargo run --release -- load --pair header_auth --no-such-flag   # --not-checked: a comment
cargo run --release -p filterbench-loadgen --bin loadgen -- run --url http://127.0.0.1:8080/ -c 16
cargo test --test tests docs::
-# the Lua twin of the filterbench pair `canary_tag`, not a command
```

Prose: `filterbench report [--policy FILE] [--out-dir DIR]`, `verify --envoy --deploy`,
`filterbench verfy --envoy`, and `--unattached` alone; `cargo bench -- --quick-ish`.

[fine](#its-second-heading-with-punctuation) [missing anchor](#its-second-heading)
[missing file](no/such/file.md) [fine too](../README.md#your-own-filter)
[a site](https://example.com/x#y) `[not a link](nowhere.md)`
";
    let (checked, problems) = flag_problems(&cli, "page.md", markdown);
    let flags: Vec<&str> = problems
        .iter()
        .map(|p| p.split(" has no ").nth(1).map_or(p.as_str(), |f| f))
        .collect();
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].starts_with("page.md:6: "), "{problems:#?}");
    assert!(flags[0].starts_with("--no-such-flag "), "{problems:#?}");
    assert!(flags[1].starts_with("--out-dir "), "{problems:#?}");
    assert!(flags[2].starts_with("--deploy "), "{problems:#?}");
    assert!(
        problems[3].contains("`verfy` is not a filterbench subcommand"),
        "{problems:#?}"
    );
    // --pair, --policy and --envoy were checked and known; loadgen's and cargo's were not looked at.
    assert_eq!(checked, 6, "{problems:#?}");

    let page = project_root().join("docs/page.md");
    let problems = link_problems("docs/page.md", &page, markdown);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].contains("#its-second-heading: no heading"),
        "{problems:#?}"
    );
    assert!(
        problems[1].contains("no/such/file.md: no such file"),
        "{problems:#?}"
    );
}

/// Every markdown file of the repository (build output and git's own folder left out), as
/// (path relative to the root, path).
fn every_markdown_file() -> Vec<(String, PathBuf)> {
    let root = project_root();
    let mut out = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !(name == "target" || name.starts_with('.')) {
                    dirs.push(path);
                }
            } else if name.ends_with(".md") {
                let rel = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, path));
            }
        }
    }
    out.sort();
    out
}

/// Beyond README.md and docs/: the READMEs of the corpus, the examples, the published run, the
/// fuzz targets and every other markdown file link only to what exists.
#[test]
fn every_relative_link_in_every_markdown_file_resolves() {
    let files = every_markdown_file();
    assert!(
        files.iter().any(|(f, _)| f == "bench/corpus/README.md"),
        "{files:?}"
    );
    let mut problems = Vec::new();
    for (file, path) in &files {
        let markdown = std::fs::read_to_string(path).unwrap();
        problems.extend(link_problems(file, path, &markdown));
    }
    assert!(
        problems.is_empty(),
        "broken links in markdown files:\n{}",
        problems.join("\n")
    );
}

/// docs/run.md's request format names every field a request may have (the fields come from
/// serializing a request with every one of them set).
#[test]
fn the_run_request_format_in_the_docs_names_every_field() {
    use filterbench_model::corpus::{CallScript, UpstreamReply};
    use filterbench_model::request::RunRequest;
    let full = RunRequest {
        name: Some("n".into()),
        upstream: Some(UpstreamReply::default()),
        calls: vec![
            serde_json::from_str::<CallScript>(r#"{"cluster": "c", "path": "/"}"#).unwrap(),
        ],
        ..RunRequest::default()
    };
    let json = serde_json::to_value(&full).unwrap();
    let fields: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert!(fields.len() >= 7, "{fields:?}");
    let run = std::fs::read_to_string(project_root().join("docs/run.md")).unwrap();
    let format = run
        .lines()
        .skip_while(|l| !l.starts_with("`req.json` is"))
        .take_while(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let missing: Vec<_> = fields
        .iter()
        .filter(|f| !format.contains(&format!("\"{f}\"")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/run.md's request format omits {missing:?}: {format}"
    );
}

/// bench/corpus/README.md says what the echo upstream answers a scenario's request with when
/// the scenario scripts no reply: the defaults of the corpus' own types.
#[test]
fn the_corpus_readme_states_the_echo_upstreams_default_reply() {
    use filterbench_model::corpus::{UpstreamReply, DEFAULT_UPSTREAM_BODY};
    let readme = std::fs::read_to_string(project_root().join("bench/corpus/README.md")).unwrap();
    let reply = UpstreamReply::default();
    let claim = format!(
        "`upstream.status` (default {}),\n`upstream.headers` and `upstream.body` (default `{DEFAULT_UPSTREAM_BODY}`)",
        reply.status
    );
    assert!(reply.headers.is_empty() && reply.body.is_none());
    assert!(
        readme.contains(&claim),
        "bench/corpus/README.md should say: {claim}"
    );
}

/// The docs name one workspace directory, the README walkthrough's (or the placeholder DIR),
/// so that a reader can run the pages' commands one after another.
#[test]
fn the_docs_use_the_walkthroughs_workspace_directory() {
    let mut dirs = BTreeMap::new();
    for (file, path) in documents() {
        let markdown = std::fs::read_to_string(&path).unwrap();
        for (i, line) in markdown.lines().enumerate() {
            let mut rest = line;
            while let Some(at) = rest.find("--workspace ") {
                rest = &rest[at + "--workspace ".len()..];
                let dir: String = rest
                    .chars()
                    .take_while(|c| !c.is_whitespace() && !"`)]".contains(*c))
                    .collect();
                dirs.entry(dir)
                    .or_insert_with(Vec::new)
                    .push(format!("{file}:{}", i + 1));
            }
        }
    }
    dirs.remove("DIR");
    assert_eq!(
        dirs.keys().collect::<Vec<_>>(),
        ["/tmp/fb-work"],
        "workspace directories the docs use: {dirs:?}"
    );
    let tree = std::fs::read_to_string(project_root().join("docs/workspace.md")).unwrap();
    assert!(tree.contains("\n/tmp/fb-work/filterbench.toml "), "{tree}");
}
