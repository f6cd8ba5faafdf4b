//! `httpCall(cluster, headers, body, timeout_ms, asynchronous)` and
//! `httpCall(cluster, headers, body, options)`: Envoy's `luaHttpCall`, with `env.responder` as
//! the clusters and [`envoy::call_response`] as Envoy's async client. Returns to `http_call.lua`
//! `(0, message)` for an error to raise, `(1)` for an asynchronous call, `(2, headers, body)` for
//! a synchronous one (the Lua half then waits, as Envoy yields until the reply).
//!
//! A timeout of 0 (or none, with an options table) means no timeout in Envoy; the call request
//! then carries `timeout_ms: u64::MAX`.

use std::rc::Rc;

use mlua::{Lua, Table, Value};

use crate::harness::{envoy, CallReply, CallRequest};
use filterbench_model::corpus::HeaderPair;

use super::handle::{coerce, headers_from_table};
use super::headers::set_content_length;
use super::{error_message, set_fn, Shared};

type Args = (usize, usize, Value, Value, Value, Value, Value);

pub(super) fn register(lua: &Lua, p: &Table, shared: &Rc<Shared>) -> mlua::Result<()> {
    let s = shared.clone();
    set_fn(
        lua,
        p,
        "http_call",
        move |lua, (_side, n, cluster, headers, body, timeout, asynchronous): Args| match http_call(
            &s,
            n,
            &cluster,
            &headers,
            &body,
            &timeout,
            &asynchronous,
        ) {
            Err(message) => Ok((0, Value::String(lua.create_string(&message)?), Value::Nil)),
            Ok(None) => Ok((1, Value::Nil, Value::Nil)),
            Ok(Some((reply_headers, reply_body, duplicates))) => {
                let t = reply_table(lua, &reply_headers, duplicates)?;
                let body = if reply_body.is_empty() {
                    Value::Nil
                } else {
                    Value::String(lua.create_string(&reply_body)?)
                };
                Ok((2, Value::Table(t), body))
            }
        },
    )
}

/// The reply for a synchronous call: headers, body, whether repeated headers come as tables.
type SyncReply = (Vec<HeaderPair>, Vec<u8>, bool);

fn bad_argument(n: usize, expected: &str, got: &Value) -> String {
    format!(
        "bad argument #{n} to 'httpCall' ({expected} expected, got {})",
        got.type_name()
    )
}

/// lua_isnumber + lua_tointeger: a number or a numeric string, truncated.
fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => Some(*i),
        Value::Number(n) => Some(n.trunc() as i64),
        Value::String(s) => s
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
            .map(|n| n.trunc() as i64),
        _ => None,
    }
}

/// How `httpCall` was asked to call: asynchronously or not, whether reply headers keep their
/// duplicates, the timeout (0: none).
struct CallOptions {
    is_async: bool,
    duplicates: bool,
    timeout_ms: i64,
}

/// Argument 4: a timeout, or an options table (then argument 5, the asynchronous flag, is
/// ignored), checked as Envoy checks them.
fn call_options(n: usize, timeout: &Value, asynchronous: &Value) -> Result<CallOptions, String> {
    let mut is_async = false;
    let mut duplicates = false;
    let mut timeout_ms: i64 = 0;
    if let Value::Table(options) = timeout {
        for pair in options.pairs::<Value, Value>() {
            let (key, value) = pair.map_err(|e| error_message(&e))?;
            let key = match &key {
                Value::String(s) => s.to_string_lossy(),
                other => {
                    return Err(format!(
                        "httpCall() options key must be a string, got {}",
                        other.type_name()
                    ))
                }
            };
            match key.as_str() {
                "asynchronous" => is_async = truthy(&value),
                "timeout_ms" => {
                    timeout_ms = integer(&value).ok_or_else(|| {
                        format!(
                            "'timeout_ms' option must be a number, got {}",
                            value.type_name()
                        )
                    })?;
                    if timeout_ms < 0 {
                        return Err("http call timeout must be >= 0".into());
                    }
                }
                "return_duplicate_headers" => duplicates = truthy(&value),
                "trace_sampled" | "send_xff" => {}
                other => {
                    return Err(format!(
                        "\"{other}\" is not valid key for httpCall() options"
                    ))
                }
            }
        }
    } else {
        if n >= 5 && !matches!(asynchronous, Value::Boolean(_)) {
            return Err("http call asynchronous flag must be 'true', 'false', or empty".into());
        }
        timeout_ms = integer(timeout).ok_or_else(|| bad_argument(4, "number", timeout))?;
        if timeout_ms < 0 {
            return Err("http call timeout must be >= 0".into());
        }
        is_async = matches!(asynchronous, Value::Boolean(true));
    }
    Ok(CallOptions {
        is_async,
        duplicates,
        timeout_ms,
    })
}

fn http_call(
    shared: &Shared,
    n: usize,
    cluster: &Value,
    headers: &Value,
    body: &Value,
    timeout: &Value,
    asynchronous: &Value,
) -> Result<Option<SyncReply>, String> {
    let CallOptions {
        is_async,
        duplicates,
        timeout_ms,
    } = call_options(n, timeout, asynchronous)?;

    let cluster = coerce(cluster).ok_or_else(|| bad_argument(1, "string", cluster))?;
    let Value::Table(headers) = headers else {
        return Err(bad_argument(2, "table", headers));
    };
    let body: Option<Vec<u8>> = match body {
        Value::Nil => None,
        Value::String(s) => Some(s.as_bytes().to_vec()),
        other => Some(
            coerce(other)
                .ok_or_else(|| bad_argument(3, "string", other))?
                .into_bytes(),
        ),
    };
    let mut request_headers = headers_from_table(headers)?;
    if let Some(body) = &body {
        set_content_length(&mut request_headers, body.len());
    }
    let has = |name: &str| request_headers.iter().any(|(n, _)| n == name);
    let complete = has(":path") && has(":method") && has(":authority");
    let request = CallRequest {
        cluster,
        headers: request_headers.clone(),
        body: body.unwrap_or_default(),
        timeout_ms: if timeout_ms == 0 {
            u64::MAX
        } else {
            timeout_ms as u64
        },
    };
    let reply = (shared.env.responder)(&request);
    if matches!(reply, CallReply::UnknownCluster) {
        return Err("http call cluster invalid. Must be configured".into());
    }
    if !complete {
        return Err("http call headers must include ':path', ':method', and ':authority'".into());
    }
    if is_async {
        return Ok(None);
    }
    let (reply_headers, reply_body) = envoy::call_response(&reply)
        .ok_or_else(|| "http call cluster invalid. Must be configured".to_string())?;
    Ok(Some((reply_headers, reply_body, duplicates)))
}

fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Nil | Value::Boolean(false))
}

/// The reply headers as Envoy hands them to the script: `t[name] = value` in order (a repeated
/// header keeps its last value), or, with `return_duplicate_headers`, a table of the values.
fn reply_table(lua: &Lua, headers: &[HeaderPair], duplicates: bool) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, headers.len())?;
    if !duplicates {
        for (n, v) in headers {
            t.raw_set(n.as_str(), v.as_str())?;
        }
        return Ok(t);
    }
    let mut names: Vec<&str> = Vec::new();
    for (n, _) in headers {
        if !names.contains(&n.as_str()) {
            names.push(n);
        }
    }
    for name in names {
        let values: Vec<&str> = headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        if values.len() == 1 {
            t.raw_set(name, values[0])?;
        } else {
            t.raw_set(name, lua.create_sequence_from(values)?)?;
        }
    }
    Ok(t)
}
