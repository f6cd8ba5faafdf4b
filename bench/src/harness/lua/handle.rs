//! The stream handle's core: the scope model and the driver live in `handle.lua` and
//! `driver.lua`; here are the primitives they need: `respond` (a local reply through
//! [`envoy::local_reply`]), `wait` (what a yield changes: the phase, headers that continued),
//! `script_error` (Envoy's `scriptError`: log and go on, unless the budget or the memory ran out)
//! and `upstream` (between the two callbacks: what the upstream receives and answers).

use std::os::raw::c_int;
use std::rc::Rc;

use mlua::{Lua, Table, Value};

use crate::harness::{envoy, LogLevel, Phase};
use filterbench_model::corpus::HeaderPair;

use super::{
    error_message, is_memory_error, raw, set_fn, set_raw, side, Shared, LUA_OUT_OF_MEMORY,
};

/// Kinds of wait (`WAIT_*` in handle.lua).
const WAIT_BODY: u8 = 1;
const WAIT_STREAM: u8 = 2;
const WAIT_CALL: u8 = 3;

pub(super) fn register(lua: &Lua, p: &Table, shared: &Rc<Shared>) -> mlua::Result<()> {
    let s = shared.clone();
    set_fn(
        lua,
        p,
        "respond",
        move |_, (side_ix, headers, body): (usize, Table, Option<mlua::LuaString>)| {
            respond(
                &s,
                side(side_ix),
                &headers,
                body.as_ref().map(|b| b.as_bytes().to_vec()),
            )
        },
    )?;
    let s = shared.clone();
    set_fn(lua, p, "wait", move |_, (side_ix, kind): (usize, u8)| {
        let side_ix = side(side_ix);
        let mut st = s.stream.borrow_mut();
        if side_ix == 0 {
            st.request_waited = true;
        }
        st.phase = match (side_ix, kind) {
            (_, WAIT_CALL) => Phase::HttpCallResponse,
            (0, WAIT_BODY | WAIT_STREAM) => Phase::RequestBody,
            (_, WAIT_BODY | WAIT_STREAM) => Phase::ResponseBody,
            _ => st.phase,
        };
        s.entered(st.phase);
        if kind == WAIT_STREAM && st.sent[side_ix].is_none() {
            // The headers continue now: what goes on the wire is this map.
            let sent = st.headers[side_ix].clone();
            st.sent[side_ix] = Some(sent);
        }
        Ok(())
    })?;
    let s = shared.clone();
    set_fn(lua, p, "script_error", move |_, error: Value| {
        Ok(script_error(&s, &error))
    })?;
    set_raw(lua, p, "upstream", upstream)?;
    Ok(())
}

/// P.upstream(), between the two callbacks (a raw primitive: once per request): unless the
/// request callback replied locally, the upstream receives the request as it left the filter;
/// the upstream's answer is already in the response side (made by `run_into`). Returns whether
/// the response has a body.
unsafe extern "C-unwind" fn upstream(l: *mut mlua::lua_State) -> std::os::raw::c_int {
    unsafe {
        raw(l, |l, s| {
            let Ok(mut st) = s.stream.try_borrow_mut() else {
                return 0;
            };
            let st = &mut *st;
            if !st.responded {
                let headers = st.sent[0].as_deref().unwrap_or(&st.headers[0]);
                envoy::fill_upstream_seen(headers, &st.bodies[0], &mut st.upstream);
                st.reached = true;
            }
            st.phase = Phase::ResponseHeaders;
            s.entered(Phase::ResponseHeaders);
            s.used.set(0);
            mlua::ffi::lua_pushboolean(l, c_int::from(!st.bodies[1].is_empty()));
            1
        })
    }
}

/// Envoy's `Filter::scriptError`: the error is logged and the stream goes on (fail-open).
/// Returns true when the run must stop instead: the budget or the memory ran out, or the script
/// used something the sandbox takes away.
fn script_error(shared: &Shared, error: &Value) -> bool {
    if shared.budget_hit.get() || shared.forbidden.borrow().is_some() {
        return true;
    }
    let message = match error {
        Value::String(s) => s.to_string_lossy(),
        Value::Error(e) => {
            if is_memory_error(e) {
                shared.memory_hit.set(true);
                return true;
            }
            error_message(e)
        }
        Value::Number(n) => n.to_string(),
        Value::Integer(n) => n.to_string(),
        other => format!("(error object is a {} value)", other.type_name()),
    };
    if message == LUA_OUT_OF_MEMORY {
        shared.memory_hit.set(true);
        return true;
    }
    shared.env.log(LogLevel::Error, message);
    false
}

/// respond(headers, body): Envoy's `luaRespond` after the scope checks (done in Lua). Returns
/// the message of the error to raise, if any.
fn respond(
    shared: &Shared,
    side_ix: usize,
    table: &Table,
    body: Option<Vec<u8>>,
) -> mlua::Result<Option<String>> {
    let headers = match headers_from_table(table) {
        Ok(h) => h,
        Err(message) => return Ok(Some(message)),
    };
    let status = headers
        .iter()
        .find(|(n, _)| n == ":status")
        .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        .filter(|s| (200..600).contains(s));
    let Some(status) = status else {
        return Ok(Some(":status must be between 200-599".into()));
    };
    if side_ix == 1 {
        return Ok(Some(
            "respond not currently supported in the response path".into(),
        ));
    }
    let body = body.unwrap_or_default();
    let mut st = shared.stream.borrow_mut();
    let request_complete = st.request_waited || st.bodies[0].is_empty();
    let (headers, body) = envoy::local_reply(status as u16, &headers, &body, request_complete);
    st.headers[1] = headers;
    st.bodies[1] = body;
    st.responded = true;
    st.reached = false;
    Ok(None)
}

/// Envoy's `buildHeadersFromTable`: string keys (lower-cased), each value a string or number or
/// a table of them, in the table's iteration order.
pub(super) fn headers_from_table(table: &Table) -> Result<Vec<HeaderPair>, String> {
    let mut out = Vec::new();
    for pair in table.pairs::<Value, Value>() {
        let (key, value) = pair.map_err(|e| error_message(&e))?;
        let key = match coerce(&key) {
            Some(k) => k.to_ascii_lowercase(),
            None => {
                return Err(format!(
                    "header key must be a string, got {}",
                    key.type_name()
                ))
            }
        };
        match &value {
            Value::Table(values) => {
                for v in values.pairs::<Value, Value>() {
                    let (_, v) = v.map_err(|e| error_message(&e))?;
                    out.push((key.clone(), header_value(&v)?));
                }
            }
            v => out.push((key.clone(), header_value(v)?)),
        }
    }
    Ok(out)
}

fn header_value(v: &Value) -> Result<String, String> {
    coerce(v).ok_or_else(|| {
        format!(
            "header value must be a string or a number, got {}",
            v.type_name()
        )
    })
}

/// A string or a number as Lua's `tostring` writes it (`lua_tolstring`), else None.
pub(super) fn coerce(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_string_lossy()),
        Value::Integer(i) => Some(i.to_string()),
        Value::Number(n) => Some(lua_number(*n)),
        _ => None,
    }
}

/// A number as LuaJIT prints it (`%.14g`).
pub(super) fn lua_number(n: f64) -> String {
    if n.is_nan() {
        return "nan".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if n == n.trunc() && n.abs() < 1e15 {
        return format!("{}", n as i64);
    }
    // %.14g: 14 significant digits, trailing zeros trimmed, exponent form outside 1e-5..1e14.
    let exp = n.abs().log10().floor() as i32;
    if !(-5..14).contains(&exp) {
        let s = format!("{:.13e}", n);
        let (mantissa, e) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{mantissa}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = (13 - exp).max(0) as usize;
    let s = format!("{:.*}", decimals, n);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}
