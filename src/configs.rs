//! A pair's named configurations as commands add them: `record --config NAME --config-value
//! FILE|JSON|YAML` and `new --from-manifest` (every route-metadata block). The catalogue is
//! edited by parsing (`toml_edit`): `default` is the entry's `config`, another name its
//! `[pair.configs.NAME]` table; comments and the other entries stay. A configuration that exists
//! with other content is replaced only when asked, the catalogue copied first to
//! `PATH.bak-<UTC time>` (named in the output).

use std::path::{Path, PathBuf};

use anyhow::Context;
use filterbench_model::catalogue::{Pair, DEFAULT_CONFIG};

/// A configuration's content from `value`: the file it names when there is one, else the text
/// itself; JSON or YAML, a mapping (Lua reads it as route metadata). Returns the table and where
/// it came from (for messages).
pub fn read_value(value: &str) -> anyhow::Result<(toml::Table, String)> {
    let path = Path::new(value);
    let (bytes, origin) = if path.is_file() {
        (
            std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?,
            path.display().to_string(),
        )
    } else {
        (value.as_bytes().to_vec(), "--config-value".to_string())
    };
    let json = crate::run::metadata(&bytes).map_err(|problem| {
        anyhow::anyhow!(
            "{origin}: a configuration is route metadata for Lua, which must be a JSON or YAML \
             mapping: {problem}"
        )
    })?;
    let table = json_to_table(&json).with_context(|| origin.clone())?;
    Ok((table, origin))
}

/// A JSON object as a TOML table (what the catalogue holds); JSON `null` has no TOML form.
pub fn json_to_table(json: &serde_json::Value) -> anyhow::Result<toml::Table> {
    toml::Table::try_from(json)
        .map_err(|e| anyhow::anyhow!("the configuration cannot be written as TOML: {e}"))
}

/// What adding configuration `name` = `value` to `pair` means.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    /// The pair has it already, with this content: nothing to write.
    Same,
    /// A new name.
    New,
    /// The name exists with other content.
    Differs,
}

pub fn change(pair: &Pair, name: &str, value: &toml::Table) -> Change {
    match pair.config_table(name) {
        Some(old) if old == value => Change::Same,
        Some(_) => Change::Differs,
        None => Change::New,
    }
}

/// The catalogue `text` (at `path`) as an editable document (comments and layout kept); a
/// syntax error names the file.
pub fn catalogue_document(path: &Path, text: &str) -> anyhow::Result<toml_edit::DocumentMut> {
    text.parse().map_err(|e: toml_edit::TomlError| {
        anyhow::anyhow!(
            "{}: {}",
            path.display(),
            filterbench_model::one_line(e.message())
        )
    })
}

/// The catalogue `text` (at `path`) with pair `pair`'s configuration `name` set to `value`:
/// `config` for `default`, `[pair.configs.NAME]` for another name.
pub fn with_config(
    path: &Path,
    text: &str,
    pair: &str,
    name: &str,
    value: &toml::Table,
) -> anyhow::Result<String> {
    let mut doc = catalogue_document(path, text)?;
    let entry = doc
        .get_mut("pair")
        .and_then(|p| p.as_array_of_tables_mut())
        .and_then(|entries| {
            entries
                .iter_mut()
                .find(|t| t.get("name").and_then(|n| n.as_str()) == Some(pair))
        })
        .ok_or_else(|| anyhow::anyhow!("{}: no [[pair]] named {pair:?}", path.display()))?;
    // The table in TOML's own words, parsed back as an editable table.
    let rendered = toml::to_string(value).map_err(|e| {
        anyhow::anyhow!(
            "{}: configuration {name}: cannot be written as TOML: {e}",
            path.display()
        )
    })?;
    let parsed = catalogue_document(path, &rendered)?;
    let mut table = parsed.as_table().clone();
    table.set_implicit(false);
    if name == DEFAULT_CONFIG {
        let inline = table.clone().into_inline_table();
        entry.insert("config", toml_edit::value(inline));
    } else {
        let configs = entry.entry("configs").or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        });
        if let Some(inline) = configs.as_inline_table_mut() {
            // `configs = { NAME = {...} }` written inline stays inline.
            inline.insert(
                name,
                toml_edit::Value::InlineTable(table.into_inline_table()),
            );
        } else {
            let configs = configs.as_table_mut().ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: pair {pair:?}: `configs` is not a table of configurations",
                    path.display()
                )
            })?;
            configs.insert(name, toml_edit::Item::Table(table));
        }
    }
    Ok(doc.to_string())
}

/// Writes `new_text` over the catalogue at `path`; with `backup`, a copy of the old one first,
/// whose path is returned.
pub fn write_catalogue(
    path: &Path,
    new_text: &str,
    backup: bool,
) -> anyhow::Result<Option<PathBuf>> {
    let kept = if backup {
        let to = filterbench_model::keep::backup_path(path);
        std::fs::copy(path, &to)
            .with_context(|| format!("{}: cannot keep a backup", path.display()))?;
        Some(to)
    } else {
        None
    };
    filterbench_model::results::write_atomically(path, new_text.as_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOGUE: &str = "# mine\nschema_version = 1\n\n[[pair]]\nname = \"p\"\n# the config\nconfig = { a = 1 }\n\n[[pair]]\nname = \"q\"\nconfig = {}\n";

    #[test]
    fn a_configuration_is_added_to_its_entry_and_comments_stay() {
        let path = Path::new("filterbench.toml");
        let value: toml::Table = toml::from_str("strip = true\nname = \"x\"").unwrap();
        let text = with_config(path, CATALOGUE, "p", "with_auth", &value).unwrap();
        assert!(text.starts_with("# mine\n"), "{text}");
        assert!(text.contains("# the config\nconfig = { a = 1 }"), "{text}");
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        let pairs = parsed["pair"].as_array().unwrap();
        assert_eq!(pairs[0]["configs"]["with_auth"], toml::Value::Table(value));
        assert!(pairs[1].get("configs").is_none());

        let default: toml::Table = toml::from_str("a = 2").unwrap();
        let text = with_config(path, &text, "p", "default", &default).unwrap();
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(parsed["pair"][0]["config"]["a"], toml::Value::Integer(2));

        let inline = CATALOGUE.replace(
            "config = {}\n",
            "config = {}\nconfigs = { a = { x = 1 } }\n",
        );
        let text = with_config(path, &inline, "q", "b", &default).unwrap();
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(
            parsed["pair"][1]["configs"]["a"]["x"],
            toml::Value::Integer(1)
        );
        assert_eq!(
            parsed["pair"][1]["configs"]["b"]["a"],
            toml::Value::Integer(2)
        );

        let e = with_config(path, CATALOGUE, "nope", "x", &default).unwrap_err();
        assert!(e.to_string().contains("no [[pair]] named \"nope\""), "{e}");
    }

    #[test]
    fn a_value_is_json_or_yaml_inline_or_in_a_file() {
        let (t, origin) = read_value("{\"strip_authorization\": true}").unwrap();
        assert_eq!(t["strip_authorization"], toml::Value::Boolean(true));
        assert_eq!(origin, "--config-value");
        let (t, _) = read_value("strip_authorization: true\nprefix: Pomerium").unwrap();
        assert_eq!(t["prefix"], toml::Value::String("Pomerium".into()));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yaml");
        std::fs::write(&file, "x: 1\n").unwrap();
        let (t, origin) = read_value(file.to_str().unwrap()).unwrap();
        assert_eq!(t["x"], toml::Value::Integer(1));
        assert_eq!(origin, file.display().to_string());
        let e = read_value("[1, 2]").unwrap_err().to_string();
        assert!(e.contains("not a mapping"), "{e}");
    }
}
