//! `headers()`: Envoy's `HeaderMapWrapper` (`get`, `getAtIndex`, `getNumValues`, `add`,
//! `replace`, `remove`, `setHttp1ReasonPhrase`, `pairs`). The Lua half (`headers.lua`) does the
//! scope and modifiability checks; these primitives work on the maps of [`super::Stream`].
//!
//! Map semantics follow Envoy's `HeaderMapImpl`: names are lower-cased; `add` appends, except
//! that a pseudo-header goes after the other pseudo-headers and that, on the request map, adding
//! a header Envoy keeps as one inline entry ([`envoy::COALESCED_REQUEST_HEADERS`]) appends the
//! value to that entry with ","; `replace` is `setCopy` (remove every value, then add); `get`
//! joins every value with ",".

use std::borrow::Cow;
use std::rc::Rc;

use std::os::raw::c_int;

use mlua::{lua_State, Lua, Table};

use crate::harness::envoy;
use filterbench_model::corpus::HeaderPair;

use super::{arg_bytes, arg_usize, push_bytes, raw, set_fn, set_raw, side, Shared};

pub(super) fn register(lua: &Lua, p: &Table, shared: &Rc<Shared>) -> mlua::Result<()> {
    set_raw(lua, p, "h_get", h_get)?;
    set_raw(lua, p, "h_at", h_at)?;
    set_raw(lua, p, "h_num", h_num)?;
    set_raw(lua, p, "h_add", h_add)?;
    set_raw(lua, p, "h_replace", h_replace)?;
    set_raw(lua, p, "h_remove", h_remove)?;
    // The protected versions of the getters, for when memory is short (see `push_bytes`).
    let s = shared.clone();
    set_fn(
        lua,
        p,
        "h_get_slow",
        move |lua, (side_ix, key): (usize, mlua::LuaString)| {
            let st = s.stream.borrow();
            match joined(&st.headers[side(side_ix)], &lower(&key.as_bytes())) {
                Some(v) => lua.create_string(&*v).map(Some),
                None => Ok(None),
            }
        },
    )?;
    let s = shared.clone();
    set_fn(
        lua,
        p,
        "h_at_slow",
        move |lua, (side_ix, key, index): (usize, mlua::LuaString, usize)| {
            let st = s.stream.borrow();
            match nth(&st.headers[side(side_ix)], &lower(&key.as_bytes()), index) {
                Some(v) => lua.create_string(v).map(Some),
                None => Ok(None),
            }
        },
    )?;
    let s = shared.clone();
    set_fn(lua, p, "h_list", move |lua, side_ix: usize| {
        let entries: Vec<HeaderPair> = s.stream.borrow().headers[side(side_ix)].clone();
        let t = lua.create_table_with_capacity(entries.len() * 2, 0)?;
        for (i, (n, v)) in entries.iter().enumerate() {
            t.raw_seti(2 * i + 1, n.as_str())?;
            t.raw_seti(2 * i + 2, v.as_str())?;
        }
        Ok(t)
    })?;
    Ok(())
}

/// Every value of `key` joined with ",", None when absent.
fn joined<'a>(headers: &'a [HeaderPair], key: &str) -> Option<Cow<'a, str>> {
    let mut values = headers.iter().filter(|(n, _)| n == key).map(|(_, v)| v);
    let first = values.next()?;
    let Some(second) = values.next() else {
        return Some(Cow::Borrowed(first));
    };
    let mut all = String::with_capacity(first.len() + second.len() + 1);
    all.push_str(first);
    all.push(',');
    all.push_str(second);
    for v in values {
        all.push(',');
        all.push_str(v);
    }
    Some(Cow::Owned(all))
}

/// The index-th value of `key`.
fn nth<'a>(headers: &'a [HeaderPair], key: &str, index: usize) -> Option<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n == key)
        .nth(index)
        .map(|(_, v)| v.as_str())
}

// The raw primitives (see `super::raw`). Arguments: side, key[, value | index].

unsafe extern "C-unwind" fn h_get(l: *mut lua_State) -> c_int {
    unsafe {
        raw(l, |l, s| {
            let Ok(st) = s.stream.try_borrow() else {
                return 0;
            };
            let key = lower(arg_bytes(l, 2));
            match joined(&st.headers[side(arg_usize(l, 1))], &key) {
                Some(v) => push_bytes(l, s, v.as_bytes()),
                None => 0,
            }
        })
    }
}

unsafe extern "C-unwind" fn h_at(l: *mut lua_State) -> c_int {
    unsafe {
        raw(l, |l, s| {
            let Ok(st) = s.stream.try_borrow() else {
                return 0;
            };
            let key = lower(arg_bytes(l, 2));
            match nth(&st.headers[side(arg_usize(l, 1))], &key, arg_usize(l, 3)) {
                Some(v) => push_bytes(l, s, v.as_bytes()),
                None => 0,
            }
        })
    }
}

unsafe extern "C-unwind" fn h_num(l: *mut lua_State) -> c_int {
    unsafe {
        raw(l, |l, s| {
            let Ok(st) = s.stream.try_borrow() else {
                return 0;
            };
            let key = lower(arg_bytes(l, 2));
            let n = st.headers[side(arg_usize(l, 1))]
                .iter()
                .filter(|(name, _)| *name == key)
                .count();
            mlua::ffi::lua_pushnumber(l, n as f64);
            1
        })
    }
}

unsafe extern "C-unwind" fn h_add(l: *mut lua_State) -> c_int {
    unsafe {
        raw(l, |l, s| {
            let Ok(mut st) = s.stream.try_borrow_mut() else {
                return 0;
            };
            let side_ix = side(arg_usize(l, 1));
            let key = lower(arg_bytes(l, 2)).into_owned();
            let value = text(arg_bytes(l, 3));
            add(&mut st.headers[side_ix], side_ix == 0, key, value);
            0
        })
    }
}

unsafe extern "C-unwind" fn h_replace(l: *mut lua_State) -> c_int {
    unsafe {
        raw(l, |l, s| {
            let Ok(mut st) = s.stream.try_borrow_mut() else {
                return 0;
            };
            let side_ix = side(arg_usize(l, 1));
            let key = lower(arg_bytes(l, 2)).into_owned();
            let value = text(arg_bytes(l, 3));
            let headers = &mut st.headers[side_ix];
            headers.retain(|(n, _)| *n != key);
            add(headers, side_ix == 0, key, value);
            0
        })
    }
}

unsafe extern "C-unwind" fn h_remove(l: *mut lua_State) -> c_int {
    unsafe {
        raw(l, |l, s| {
            let Ok(mut st) = s.stream.try_borrow_mut() else {
                return 0;
            };
            let key = lower(arg_bytes(l, 2));
            st.headers[side(arg_usize(l, 1))].retain(|(n, _)| *n != key);
            0
        })
    }
}

/// A header name as Envoy's `LowerCaseString` makes it (ASCII lower case; bytes that are not
/// UTF-8 become U+FFFD, as every string of the outcome model is UTF-8).
pub(super) fn lower(key: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(key) {
        Ok(s) if !s.bytes().any(|b| b.is_ascii_uppercase()) => Cow::Borrowed(s),
        Ok(s) => Cow::Owned(s.to_ascii_lowercase()),
        Err(_) => Cow::Owned(String::from_utf8_lossy(key).to_ascii_lowercase()),
    }
}

/// A header value from Lua (lossy UTF-8, see [`lower`]).
pub(super) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `HeaderMapImpl::addCopy`.
pub(super) fn add(headers: &mut Vec<HeaderPair>, request: bool, key: String, value: String) {
    if key.starts_with(':') {
        let at = headers
            .iter()
            .position(|(n, _)| !n.starts_with(':'))
            .unwrap_or(headers.len());
        headers.insert(at, (key, value));
        return;
    }
    if request && envoy::COALESCED_REQUEST_HEADERS.contains(&key.as_str()) {
        if let Some((_, existing)) = headers.iter_mut().find(|(n, _)| *n == key) {
            existing.push(',');
            existing.push_str(&value);
            return;
        }
    }
    headers.push((key, value));
}

/// `setContentLength`: the inline content-length entry is updated in place, or added.
pub(super) fn set_content_length(headers: &mut Vec<HeaderPair>, length: usize) {
    let value = length.to_string();
    match headers.iter_mut().find(|(n, _)| n == "content-length") {
        Some((_, v)) => *v = value,
        None => headers.push(("content-length".into(), value)),
    }
}
