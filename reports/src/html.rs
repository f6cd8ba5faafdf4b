//! The one place for HTML text: escaping, the page frame with its inline CSS, tables, missing-data
//! notes, and number and time formatting. Everything the site writes goes through here, so every
//! piece of result or catalogue text is escaped once, at the edge.

use std::fmt::Write as _;

use crate::evidence::Missing;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fafafa;line-height:1.45}
header{background:#1f3a5f;color:#fff;padding:.8em 1.5em}
header a{color:#fff;margin-right:1.2em}
main{max-width:1100px;margin:0 auto;padding:1em 1.5em 3em}
main[data-page=index]{max-width:1600px}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.8em 0;background:#fff}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#eef1f5}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.verdict-migrate{color:#0a6b2d;font-weight:600}
.verdict-keep_lua{color:#8a1c1c;font-weight:600}
.verdict-migrate_if_capability_needed{color:#8a5a00;font-weight:600}
span.way{display:block;white-space:nowrap;font-variant-numeric:tabular-nums}
p.missing{background:#fff4e5;border-left:4px solid #e69f00;padding:.5em .8em}
p.note{color:#555;font-size:.92em}
.flag{background:#fdecea;border-left:4px solid #c0392b;padding:.3em .6em;display:block}
ul.failures{font-family:ui-monospace,monospace;font-size:.88em}
svg.chart{display:block;max-width:100%;height:auto;background:#fff;border:1px solid #ddd;margin:.6em 0}
code{background:#eef1f5;padding:0 .2em}
";

/// Which page: `index`, `pair` or `claims` (the `data-page` hook).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    Index,
    Pair,
    Claims,
}

impl PageKind {
    pub fn id(self) -> &'static str {
        match self {
            PageKind::Index => "index",
            PageKind::Pair => "pair",
            PageKind::Claims => "claims",
        }
    }
}

/// A whole page: `title` (plain text), `body` (HTML), `root` the relative way back to the site's
/// root (`""` or `"../"`).
pub fn page(kind: PageKind, title: &str, root: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{t} · filterbench</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <header><a href=\"{root}index.html\">filterbench: Lua or Wasm?</a>\
         <a href=\"{root}claims.html\">claimed vs measured</a></header>\n\
         <main data-page=\"{kind}\">\n<h1>{t}</h1>\n{body}</main>\n</body>\n</html>\n",
        t = esc(title),
        kind = kind.id(),
    )
}

/// A table cell: text (escaped) or raw HTML, numeric or not.
pub enum Cell {
    Text(String),
    Num(String),
    Html(String),
}

/// A table with a header row; `row_attrs` are raw attributes per row (already escaped).
pub fn table(head: &[&str], rows: &[(String, Vec<Cell>)]) -> String {
    let mut out = String::from("<table>\n<thead><tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (attrs, cells) in rows {
        if attrs.is_empty() {
            out.push_str("<tr>");
        } else {
            let _ = write!(out, "<tr {attrs}>");
        }
        for c in cells {
            match c {
                Cell::Text(t) => {
                    let _ = write!(out, "<td>{}</td>", esc(t));
                }
                Cell::Num(t) => {
                    let _ = write!(out, "<td class=\"num\">{}</td>", esc(t));
                }
                Cell::Html(h) => {
                    let _ = write!(out, "<td>{h}</td>");
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// The missing-data note (`<p class="missing">`), naming the file and the command that makes it.
pub fn missing(m: &Missing) -> String {
    format!(
        "<p class=\"missing\">Missing data: {} — <code>{}</code>. Produce it with {}.</p>\n",
        esc(&m.what),
        esc(&m.path.display().to_string()),
        esc(&m.how)
    )
}

/// A paragraph of plain text.
pub fn para(text: &str) -> String {
    format!("<p>{}</p>\n", esc(text))
}

/// A muted explanatory paragraph.
pub fn note(text: &str) -> String {
    format!("<p class=\"note\">{}</p>\n", esc(text))
}

/// A number with sensible precision for a table: 3 significant figures below 100, whole numbers
/// above, thousands separated by a thin space.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let a = v.abs();
    let s = if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    group_thousands(&s)
}

/// A signed number (`+12.5`, `-3.10`).
pub fn signed(v: f64) -> String {
    let s = num(v);
    if v > 0.0 {
        format!("+{s}")
    } else {
        s
    }
}

fn group_thousands(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(i, f)| (i, Some(f)));
    if int.len() <= 4 {
        return s.to_string();
    }
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('\u{2009}');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DD HH:MM UTC`.
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Bytes as GiB with one decimal.
pub fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1024.0 * 1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn formats_numbers_and_dates() {
        assert_eq!(num(1234567.0), "1\u{2009}234\u{2009}567");
        assert_eq!(num(1234.0), "1234");
        assert_eq!(num(12.345), "12.3");
        assert_eq!(num(0.01234), "0.012");
        assert_eq!(signed(3.5), "+3.50");
        assert_eq!(signed(-3.5), "-3.50");
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_709_251_200_000), "2024-03-01 00:00 UTC");
    }
}
