//! `metadata()`: the route's metadata under the filter's name, which is `env.config` (the pair's
//! configuration). It is converted once per Lua state into the stored form `metadata.lua` uses
//! (protobuf `Struct`-like: objects and arrays as tables tagged by metatable, `null` as a
//! sentinel, numbers as Lua numbers) and handed out as fresh Lua tables by `get`, as Envoy does.

use mlua::{Lua, Table, Value};

/// `config` in the stored form; a non-object configuration is an empty struct.
pub(super) fn config_table(
    lua: &Lua,
    config: &serde_json::Value,
    struct_mt: &Table,
    list_mt: &Table,
    null: &Table,
) -> mlua::Result<Table> {
    match stored(lua, config, struct_mt, list_mt, null)? {
        Value::Table(t) if matches!(config, serde_json::Value::Object(_)) => Ok(t),
        _ => {
            let t = lua.create_table()?;
            t.set_metatable(Some(struct_mt.clone()))?;
            Ok(t)
        }
    }
}

fn stored(
    lua: &Lua,
    v: &serde_json::Value,
    struct_mt: &Table,
    list_mt: &Table,
    null: &Table,
) -> mlua::Result<Value> {
    Ok(match v {
        serde_json::Value::Null => Value::Table(null.clone()),
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Value::String(lua.create_string(s)?),
        serde_json::Value::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 1)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_seti(i + 1, stored(lua, item, struct_mt, list_mt, null)?)?;
            }
            t.raw_set("n", items.len())?;
            t.set_metatable(Some(list_mt.clone()))?;
            Value::Table(t)
        }
        serde_json::Value::Object(fields) => {
            let t = lua.create_table_with_capacity(0, fields.len())?;
            for (k, item) in fields {
                t.raw_set(k.as_str(), stored(lua, item, struct_mt, list_mt, null)?)?;
            }
            t.set_metatable(Some(struct_mt.clone()))?;
            Value::Table(t)
        }
    })
}
