//! Unit tests of the Lua host: each handle method, the scope rule, the bad filters.

use std::sync::Arc;

use super::*;
use std::time::Instant;

use crate::harness::{CallReply, CallRequest, Env, Exchange, Limits, LogLevel};
use filterbench_model::corpus::UpstreamReply;

fn exchange(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Exchange {
    Exchange {
        method: method.into(),
        path: path.into(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
        upstream: UpstreamReply {
            status: 200,
            headers: Vec::new(),
            body: None,
        },
    }
}

fn get(path: &str) -> Exchange {
    exchange("GET", path, &[], "")
}

fn vm_with(script: &str, env: Env) -> LuaVm {
    LuaFilter::load("t", script).unwrap().vm(env).unwrap()
}

fn vm(script: &str) -> (LuaVm, Env) {
    let env = Env::new(
        serde_json::json!({"n": 7, "s": "x", "list": [1, "a", {"k": true}], "obj": {"a": 1}}),
    );
    (vm_with(script, env.clone()), env)
}

fn logs(env: &Env) -> Vec<(LogLevel, String)> {
    env.logs.lock().unwrap().clone()
}

fn info(env: &Env) -> Vec<String> {
    logs(env)
        .into_iter()
        .filter(|(l, _)| *l == LogLevel::Info)
        .map(|(_, m)| m)
        .collect()
}

fn errors(env: &Env) -> Vec<String> {
    logs(env)
        .into_iter()
        .filter(|(l, _)| *l == LogLevel::Error)
        .map(|(_, m)| m)
        .collect()
}

fn upstream_header<'a>(o: &'a Outcome, name: &str) -> Vec<&'a str> {
    filterbench_model::outcome::values_of(
        &o.upstream.as_ref().expect("reached upstream").headers,
        name,
    )
}

/// Runs `body` (the inside of envoy_on_request) and returns the Info logs.
fn request_logs(body: &str, ex: &Exchange) -> Vec<String> {
    let script = format!("function envoy_on_request(h)\n{body}\nend\n");
    let (mut vm, env) = vm(&script);
    let out = vm.run(ex).unwrap();
    let errs = errors(&env);
    assert!(errs.is_empty(), "script errors: {errs:?} ({out:?})");
    info(&env)
}

#[test]
fn smoke_add_header() {
    let (mut vm, _) = vm(r##"
function envoy_on_request(h) h:headers():add("x-custom-header", "Hello from filter") end
function envoy_on_response(h) h:headers():add("hello", "world") end
"##);
    let o = vm.run(&get("/get")).unwrap();
    assert_eq!(o.status, 200);
    assert_eq!(
        upstream_header(&o, "x-custom-header"),
        ["Hello from filter"]
    );
    assert_eq!(
        filterbench_model::outcome::values_of(&o.response_headers, "hello"),
        ["world"]
    );
}

// ---------------------------------------------------------------------------------------------
// headers()

#[test]
fn headers_get_joins_repeated_values_and_gives_no_value_when_absent() {
    let ex = exchange(
        "GET",
        "/p?q=1",
        &[("X-Multi", "a"), ("x-multi", "b"), ("Host", "h.test")],
        "",
    );
    let logs = request_logs(
        r##"
        local hs = h:headers()
        h:logInfo(hs:get("x-multi"))
        h:logInfo(hs:get("X-MULTI"))
        h:logInfo(tostring(select("#", hs:get("absent"))))
        h:logInfo(hs:get(":path") .. " " .. hs:get(":method") .. " " .. hs:get(":authority") .. " " .. hs:get(":scheme"))
        h:logInfo(tostring(hs:getNumValues("x-multi")) .. " " .. tostring(hs:getNumValues("absent")))
        h:logInfo(hs:getAtIndex("x-multi", 0) .. hs:getAtIndex("x-multi", 1))
        h:logInfo(tostring(select("#", hs:getAtIndex("x-multi", 2))) .. tostring(select("#", hs:getAtIndex("x-multi", -1))))
        "##,
        &ex,
    );
    assert_eq!(
        logs,
        [
            "a,b",
            "a,b",
            "0",
            "/p?q=1 GET h.test http",
            "2 0",
            "ab",
            "00"
        ]
    );
}

#[test]
fn headers_add_replace_remove() {
    let ex = exchange(
        "GET",
        "/",
        &[
            ("x-a", "1"),
            ("x-a", "2"),
            ("x-b", "b"),
            ("x-gone", "g"),
            ("x-forwarded-for", "1.1.1.1"),
        ],
        "",
    );
    let script = r##"
function envoy_on_request(h)
  local hs = h:headers()
  hs:add("X-A", "3")
  hs:replace("x-b", "new")
  hs:replace("x-new", 42)
  hs:remove("X-GONE")
  hs:add("x-forwarded-for", "2.2.2.2")
  hs:add(":path", "/rewritten")
  hs:remove(":path")
  hs:add(":path", "/final")
end
function envoy_on_response(h)
  h:headers():replace(":status", "201")
  h:headers():add("x-r", "1")
  h:headers():add("x-r", "2")
end
"##;
    let (mut vm, env) = vm(script);
    let o = vm.run(&ex).unwrap();
    assert!(errors(&env).is_empty(), "{:?}", errors(&env));
    assert_eq!(upstream_header(&o, "x-a"), ["1", "2", "3"]);
    assert_eq!(upstream_header(&o, "x-b"), ["new"]);
    assert_eq!(upstream_header(&o, "x-new"), ["42"]);
    assert!(upstream_header(&o, "x-gone").is_empty());
    // x-forwarded-for is one inline entry in Envoy's request map: add appends with ",".
    assert_eq!(upstream_header(&o, "x-forwarded-for"), ["1.1.1.1,2.2.2.2"]);
    assert_eq!(o.upstream.as_ref().unwrap().path, "/final");
    assert_eq!(o.status, 201);
    assert_eq!(
        filterbench_model::outcome::values_of(&o.response_headers, "x-r"),
        ["1", "2"]
    );
}

#[test]
fn headers_pairs_yields_every_value_in_order_and_locks_the_map() {
    let ex = exchange("GET", "/x", &[("x-a", "1"), ("x-b", "2"), ("x-a", "3")], "");
    let logs = request_logs(
        r##"
        local hs = h:headers()
        local seen = {}
        for k, v in pairs(hs) do seen[#seen + 1] = k .. "=" .. v end
        h:logInfo(table.concat(seen, " "))
        for k, v in pairs(hs) do
          local ok, err = pcall(hs.add, hs, "x-c", "1")
          h:logInfo(err)
          local ok2, err2 = pcall(pairs, hs)
          h:logInfo(err2)
          break
        end
        -- the loop was left early: the map stays locked, as in Envoy
        local ok, err = pcall(hs.replace, hs, "x-c", "1")
        h:logInfo(err)
        "##,
        &ex,
    );
    assert_eq!(
        logs[0],
        ":authority=filterbench.test :path=/x :method=GET :scheme=http x-a=1 x-b=2 x-a=3 x-forwarded-proto=http"
    );
    assert!(
        logs[1].ends_with("header map cannot be modified while iterating"),
        "{}",
        logs[1]
    );
    assert!(
        logs[2].ends_with("cannot create a second iterator before completing the first"),
        "{}",
        logs[2]
    );
    assert!(
        logs[3].ends_with("header map cannot be modified while iterating"),
        "{}",
        logs[3]
    );
}

#[test]
fn header_errors_carry_the_script_line() {
    let logs = request_logs(
        r##"
        local ok, err = pcall(function()
          h:headers():add(nil, "v")
        end)
        h:logInfo(err)
        "##,
        &get("/"),
    );
    assert_eq!(logs.len(), 1);
    assert!(
        logs[0].starts_with("[string \"function envoy_on_request(h)...\"]:4: "),
        "{}",
        logs[0]
    );
    assert!(
        logs[0].ends_with("bad argument #1 to 'add' (string expected, got nil)"),
        "{}",
        logs[0]
    );
}

// ---------------------------------------------------------------------------------------------
// body(), bodyChunks(), trailers()

#[test]
fn body_is_nil_without_a_body_and_wraps_on_request() {
    let logs = request_logs(
        r##"
        h:logInfo(tostring(select("#", h:body())))
        local b = h:body(true)
        h:logInfo(tostring(b:length()))
        "##,
        &get("/"),
    );
    assert_eq!(logs, ["0", "0"]);
}

#[test]
fn body_get_and_set_bytes_update_the_upstream_body_and_content_length() {
    let ex = exchange(
        "POST",
        "/u",
        &[("content-type", "text/plain")],
        "hello world",
    );
    let script = r##"
function envoy_on_request(h)
  local b = h:body()
  h:logInfo(b:length() .. ":" .. b:getBytes(0, 5) .. ":" .. b:getBytes(6, 5))
  local ok, err = pcall(b.getBytes, b, 6, 6)
  h:logInfo(err)
  h:logInfo(tostring(b:setBytes("bye")))
end
function envoy_on_response(h)
  local b = h:body()
  h:logInfo(b:getBytes(0, b:length()))
  b:setBytes("changed response")
end
"##;
    let (mut vm, env) = vm(script);
    let o = vm.run(&ex).unwrap();
    let logs = info(&env);
    assert_eq!(logs[0], "11:hello:world");
    assert!(
        logs[1].ends_with("index/length must be >= 0 and (index + length) must be <= buffer size")
    );
    assert_eq!(logs[2], "3");
    assert_eq!(logs[3], "upstream ok");
    let up = o.upstream.as_ref().unwrap();
    assert_eq!(up.body, "bye");
    assert_eq!(upstream_header(&o, "content-length"), ["3"]);
    assert_eq!(o.body, "changed response");
    assert_eq!(
        filterbench_model::outcome::values_of(&o.response_headers, "content-length"),
        ["16"]
    );
}

#[test]
fn body_chunks_and_trailers() {
    let ex = exchange("POST", "/u", &[], "abc");
    let script = r##"
function envoy_on_request(h)
  for chunk in h:bodyChunks() do
    h:logInfo("chunk " .. chunk:getBytes(0, chunk:length()))
    chunk:setBytes("ABCD")
  end
  h:logInfo("trailers " .. select("#", h:trailers()))
  local ok, err = pcall(h.body, h)
  h:logInfo(err)
  ok, err = pcall(h.respond, h, {[":status"] = "403"}, "no")
  h:logInfo(err)
  ok, err = pcall(function() h:headers():add("x", "y") end)
  h:logInfo(err)
end
"##;
    let (mut vm, env) = vm(script);
    let o = vm.run(&ex).unwrap();
    let logs = info(&env);
    assert_eq!(logs[0], "chunk abc");
    assert_eq!(logs[1], "trailers 0");
    assert!(
        logs[2].ends_with("cannot call body() after body has been streamed"),
        "{}",
        logs[2]
    );
    assert!(
        logs[3].ends_with("respond() cannot be called if headers have been continued"),
        "{}",
        logs[3]
    );
    assert!(
        logs[4].ends_with("header map can no longer be modified"),
        "{}",
        logs[4]
    );
    // The chunk was rewritten on its way; the headers had already gone.
    assert_eq!(o.upstream.as_ref().unwrap().body, "ABCD");
    assert_eq!(upstream_header(&o, "content-length"), ["3"]);
}

// ---------------------------------------------------------------------------------------------
// respond()

#[test]
fn respond_sends_a_local_reply_that_goes_through_envoy_on_response() {
    let script = r##"
function envoy_on_request(h)
  h:respond({[":status"] = "403", ["X-Why"] = {"a", "b"}}, "Forbidden")
  h:logInfo("never")
end
function envoy_on_response(h)
  h:logInfo("response " .. h:headers():get(":status"))
  h:headers():add("x-seen", "1")
end
"##;
    let (mut vm, env) = vm(script);
    let o = vm.run(&get("/")).unwrap();
    assert_eq!(o.status, 403);
    assert_eq!(o.body, "Forbidden");
    assert!(o.upstream.is_none());
    let h = |n| filterbench_model::outcome::values_of(&o.response_headers, n);
    assert_eq!(h("x-why"), ["a", "b"]);
    assert_eq!(h("content-type"), ["text/plain"]);
    assert_eq!(h("content-length"), ["9"]);
    assert_eq!(h("x-seen"), ["1"]);
    assert_eq!(info(&env), ["response 403"]);
}

#[test]
fn respond_errors() {
    let script = r##"
function envoy_on_request(h)
  local ok, err = pcall(h.respond, h, {[":status"] = "99"}, "x")
  h:logInfo(err)
  ok, err = pcall(h.respond, h, {}, "x")
  h:logInfo(err)
end
function envoy_on_response(h)
  h:respond({[":status"] = "200"}, "x")
end
"##;
    let (mut vm, env) = vm(script);
    let o = vm.run(&get("/")).unwrap();
    assert_eq!(o.status, 200);
    assert!(o.upstream.is_some());
    let logs = info(&env);
    assert!(logs[0].ends_with(":status must be between 200-599"));
    assert!(logs[1].ends_with(":status must be between 200-599"));
    let errs = errors(&env);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].ends_with("respond not currently supported in the response path"),
        "{errs:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// httpCall()

fn recording_env(reply: CallReply) -> (Env, Arc<std::sync::Mutex<Vec<CallRequest>>>) {
    let calls: Arc<std::sync::Mutex<Vec<CallRequest>>> = Arc::default();
    let mut env = Env::new(serde_json::json!({}));
    let seen = calls.clone();
    env.responder = Arc::new(move |c: &CallRequest| {
        seen.lock().unwrap().push(c.clone());
        if c.cluster == "missing" {
            CallReply::UnknownCluster
        } else {
            reply.clone()
        }
    });
    (env, calls)
}

#[test]
fn http_call_synchronous_asynchronous_and_failing() {
    let (env, calls) = recording_env(CallReply::Response {
        status: 200,
        headers: vec![("X-Reply".into(), "1".into())],
        body: b"{\"ok\":true}".to_vec(),
    });
    let script = r##"
function envoy_on_request(h)
  local headers, body = h:httpCall("auth", {[":method"] = "POST", [":path"] = "/verify",
    [":authority"] = "auth", ["X-Token"] = "t"}, "payload", 250)
  h:logInfo(headers[":status"] .. " " .. headers["x-reply"] .. " " .. headers["content-length"] .. " " .. body)
  h:logInfo(tostring(select("#", h:httpCall("auth", {[":method"] = "GET", [":path"] = "/", [":authority"] = "a"}, nil, 0, true))))
  local ok, err = pcall(h.httpCall, h, "missing", {[":method"] = "GET", [":path"] = "/", [":authority"] = "a"}, nil, 10)
  h:logInfo(tostring(ok) .. " " .. err)
  ok, err = pcall(h.httpCall, h, "auth", {[":method"] = "GET"}, nil, 10)
  h:logInfo(err)
  ok, err = pcall(h.httpCall, h, "auth", {[":method"] = "GET", [":path"] = "/", [":authority"] = "a"}, nil, -1)
  h:logInfo(err)
  ok, err = pcall(h.httpCall, h, "auth", {[":method"] = "GET", [":path"] = "/", [":authority"] = "a"}, nil, 5, "yes")
  h:logInfo(err)
  headers, body = h:httpCall("auth", {[":method"] = "GET", [":path"] = "/", [":authority"] = "a"}, nil,
    {timeout_ms = 100, return_duplicate_headers = true})
  h:logInfo(headers[":status"])
  ok, err = pcall(h.httpCall, h, "auth", {[":method"] = "GET", [":path"] = "/", [":authority"] = "a"}, nil, {bogus = 1})
  h:logInfo(err)
end
"##;
    let mut vm = vm_with(script, env.clone());
    vm.run(&get("/")).unwrap();
    assert!(errors(&env).is_empty(), "{:?}", errors(&env));
    let logs = info(&env);
    assert_eq!(logs[0], "200 1 11 {\"ok\":true}");
    assert_eq!(logs[1], "0");
    // Called by pcall directly (no Lua caller), the message has no position, as in Envoy.
    assert_eq!(
        logs[2],
        "false http call cluster invalid. Must be configured"
    );
    assert!(
        logs[3].ends_with("http call headers must include ':path', ':method', and ':authority'"),
        "{}",
        logs[3]
    );
    assert!(logs[4].ends_with("http call timeout must be >= 0"));
    assert!(logs[5].ends_with("http call asynchronous flag must be 'true', 'false', or empty"));
    assert_eq!(logs[6], "200");
    assert!(
        logs[7].ends_with("\"bogus\" is not valid key for httpCall() options"),
        "{}",
        logs[7]
    );
    let calls = calls.lock().unwrap();
    let first = &calls[0];
    assert_eq!(first.cluster, "auth");
    assert_eq!(first.body, b"payload");
    assert_eq!(first.timeout_ms, 250);
    assert!(first.headers.contains(&("x-token".into(), "t".into())));
    assert!(first
        .headers
        .contains(&("content-length".into(), "7".into())));
    assert_eq!(calls[1].timeout_ms, u64::MAX);
}

#[test]
fn http_call_timeout_and_reset_get_envoy_made_up_replies() {
    for (reply, status, body) in [
        (CallReply::Timeout, "504", "upstream request timeout"),
        (CallReply::Reset, "503", "upstream connect error"),
    ] {
        let (env, _) = recording_env(reply);
        let script = r##"
function envoy_on_request(h)
  local headers, body = h:httpCall("auth", {[":method"] = "GET", [":path"] = "/", [":authority"] = "a"}, "", 100)
  h:logInfo(headers[":status"] .. "|" .. body)
end
"##;
        let mut vm = vm_with(script, env.clone());
        vm.run(&get("/")).unwrap();
        let logs = info(&env);
        assert!(logs[0].starts_with(&format!("{status}|{body}")), "{logs:?}");
    }
    // An empty reply body is nil.
    let (env, _) = recording_env(CallReply::Response {
        status: 204,
        headers: vec![],
        body: vec![],
    });
    let mut vm = vm_with(
        r##"function envoy_on_request(h)
  local headers, body = h:httpCall("auth", {[":method"] = "GET", [":path"] = "/", [":authority"] = "a"}, nil, 100)
  h:logInfo(headers[":status"] .. " " .. tostring(body))
end"##,
        env.clone(),
    );
    vm.run(&get("/")).unwrap();
    assert_eq!(info(&env), ["204 nil"]);
}

// ---------------------------------------------------------------------------------------------
// metadata(), streamInfo(), connection()

#[test]
fn metadata_values_come_from_the_config() {
    let logs = request_logs(
        r##"
        local m = h:metadata()
        h:logInfo(type(m:get("n")) .. " " .. m:get("n") + 1)
        h:logInfo(m:get("s"))
        local l = m:get("list")
        h:logInfo(#l .. " " .. l[1] .. " " .. l[2] .. " " .. tostring(l[3].k))
        h:logInfo(tostring(m:get("obj").a))
        h:logInfo(tostring(select("#", m:get("nope"))))
        m:get("list")[1] = 99
        h:logInfo(tostring(m:get("list")[1]))
        local keys = {}
        for k in pairs(m) do keys[#keys + 1] = k end
        table.sort(keys)
        h:logInfo(table.concat(keys, ","))
        h:logInfo(tostring(h:route():metadata():get("n")) .. " " .. tostring((h:virtualHost():metadata():get("n"))))
        "##,
        &get("/"),
    );
    assert_eq!(
        logs,
        [
            "number 8",
            "x",
            "3 1 a true",
            "1",
            "0",
            "1",
            "list,n,obj,s",
            "7 nil"
        ]
    );
}

#[test]
fn stream_info_and_dynamic_metadata_shared_by_both_callbacks() {
    let script = r##"
function envoy_on_request(h)
  local si = h:streamInfo()
  h:logInfo(si:protocol() .. " " .. si:downstreamLocalAddress() .. " " .. si:downstreamDirectRemoteAddress() .. " [" .. si:requestedServerName() .. "]")
  local dm = si:dynamicMetadata()
  h:logInfo(tostring(select("#", dm:get("envoy.filters.http.lua"))))
  dm:set("envoy.filters.http.lua", "a", "1")
  dm:set("envoy.filters.http.lua", "t", {x = 1, list = {1, 2}})
  dm:set("other", "n", 5)
  local ok, err = pcall(dm.set, dm, "ns", "f", print)
  h:logInfo(err)
  h:logInfo(tostring(h:connection():ssl()))
end
function envoy_on_response(h)
  local dm = h:streamInfo():dynamicMetadata()
  local m = dm:get("envoy.filters.http.lua")
  h:logInfo(m.a .. " " .. m.t.x .. " " .. #m.t.list)
  local names = {}
  for name, values in pairs(dm) do names[#names + 1] = name end
  table.sort(names)
  h:logInfo(table.concat(names, ","))
end
"##;
    let (mut vm, env) = vm(script);
    vm.run(&get("/")).unwrap();
    assert!(errors(&env).is_empty(), "{:?}", errors(&env));
    let logs = info(&env);
    assert_eq!(logs[0], "HTTP/1.1 127.0.0.1:10000 127.0.0.1:40000 []");
    assert_eq!(logs[1], "0");
    assert!(
        logs[2].ends_with("unexpected type 'function' in dynamicMetadata"),
        "{}",
        logs[2]
    );
    assert_eq!(logs[3], "nil");
    assert_eq!(logs[4], "1 1 2");
    assert_eq!(logs[5], "envoy.filters.http.lua,other");
    // The next stream starts without dynamic metadata.
    env.logs.lock().unwrap().clear();
    vm.run(&get("/")).unwrap();
    assert_eq!(info(&env)[1], "0");
}

// ---------------------------------------------------------------------------------------------
// logs, time, base64, keys, stdlib

#[test]
fn logs_go_to_env_at_their_level() {
    let (mut vm, env) = vm(r##"
function envoy_on_request(h)
  h:logTrace("t") h:logDebug("d") h:logInfo("i") h:logWarn("w") h:logErr("e") h:logCritical("c")
  h:logInfo(12)
end
"##);
    vm.run(&get("/")).unwrap();
    use LogLevel::*;
    assert_eq!(
        logs(&env),
        [
            (Trace, "t".into()),
            (Debug, "d".into()),
            (Info, "i".into()),
            (Warn, "w".into()),
            (Error, "e".into()),
            (Critical, "c".into()),
            (Info, "12".into())
        ]
    );
}

#[test]
fn time_and_randomness_follow_the_env() {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
    let script = r##"
function envoy_on_request(h)
  h:logInfo(string.format("%d", h:timestamp()))
  h:logInfo(h:timestampString() .. " " .. h:timestampString(EnvoyTimestampResolution.MICROSECOND))
  h:logInfo(tostring(os.time()) .. " " .. tostring(os.clock()))
  h:logInfo(os.date("!%Y-%m-%d %H:%M:%S"))
  math.randomseed(42)
  h:logInfo(string.format("%d %d %.6f", math.random(10), math.random(5, 6), math.random()))
  local ok, err = pcall(h.timestamp, h, "7")
  h:logInfo(err)
end
"##;
    let run = || {
        let mut env = Env::new(serde_json::json!({}));
        env.clock = crate::harness::Clock::pinned(at);
        env.random = crate::harness::Random::seeded(7);
        let mut vm = vm_with(script, env.clone());
        env.clock.advance(std::time::Duration::from_millis(1500));
        vm.run(&get("/")).unwrap();
        info(&env)
    };
    let logs = run();
    assert_eq!(logs[0], "1700000001623");
    assert_eq!(logs[1], "1700000001623 1700000001623000");
    assert_eq!(logs[2], "1700000001 1.5");
    assert_eq!(logs[3], "2023-11-14 22:13:21");
    assert!(logs[5].ends_with("timestamp format must be MILLISECOND."));
    // Same seed, same numbers; math.randomseed does not change them.
    assert_eq!(run()[4], logs[4]);
}

#[test]
fn base64_and_public_keys() {
    let logs = request_logs(
        r##"
        h:logInfo(h:base64Escape("") .. "|" .. h:base64Escape("f") .. "|" .. h:base64Escape("fo") .. "|" .. h:base64Escape("foobar\0\255"))
        local key = h:importPublicKey("not a key", 9)
        h:logInfo(tostring(key:get()))
        local ok, err = pcall(h.verifySignature, h, "sha256", "k", "sig", 3, "text", 4)
        h:logInfo(err)
        "##,
        &get("/"),
    );
    assert_eq!(logs[0], "|Zg==|Zm8=|Zm9vYmFyAP8=");
    assert_eq!(logs[1], "nil");
    assert!(logs[2].ends_with("invalid public key"));
}

#[test]
fn globals_persist_across_requests_of_one_state() {
    let (mut vm, env) = vm(r##"
count = 0
function envoy_on_request(h) count = count + 1 h:logInfo(tostring(count)) end
"##);
    for _ in 0..3 {
        vm.run(&get("/")).unwrap();
    }
    assert_eq!(info(&env), ["1", "2", "3"]);
}

// ---------------------------------------------------------------------------------------------
// The scope rule

#[test]
fn objects_taken_before_a_yield_are_invalid_after_it() {
    let ex = exchange("POST", "/", &[], "data");
    let logs = request_logs(
        r##"
        local hs = h:headers()
        local si = h:streamInfo()
        local iter = pairs(hs)
        h:body()
        local ok, err = pcall(function() local v = hs:get(":path") return v end)
        h:logInfo(err)
        ok, err = pcall(function() local v = si:protocol() return v end)
        h:logInfo(err)
        ok, err = pcall(function() local k = iter() return k end)
        h:logInfo(err)
        h:logInfo(h:headers():get(":path"))
        "##,
        &ex,
    );
    for l in &logs[0..3] {
        assert!(
            l.starts_with("[string \"") && l.ends_with("object used outside of proper scope"),
            "{l} in {logs:?}"
        );
    }
    assert_eq!(logs[3], "/");
}

#[test]
fn objects_are_invalid_after_an_http_call_and_handles_after_their_callback() {
    let (env, _) = recording_env(CallReply::Response {
        status: 200,
        headers: vec![],
        body: vec![],
    });
    let script = r##"
saved = nil
function envoy_on_request(h)
  if saved then
    local ok, err = pcall(saved.headers, saved)
    h:logInfo(err)
    ok, err = pcall(saved_headers.get, saved_headers, ":path")
    h:logInfo(err)
  end
  local hs = h:headers()
  h:httpCall("auth", {[":method"] = "GET", [":path"] = "/", [":authority"] = "a"}, nil, 10)
  local ok, err = pcall(hs.add, hs, "x", "y")
  h:logInfo(err)
  saved = h
  saved_headers = h:headers()
end
"##;
    let mut vm = vm_with(script, env.clone());
    vm.run(&get("/")).unwrap();
    vm.run(&get("/")).unwrap();
    let logs = info(&env);
    assert_eq!(logs.len(), 4, "{logs:?}");
    for l in &logs {
        assert!(l.ends_with("object used outside of proper scope"), "{l}");
    }
}

// ---------------------------------------------------------------------------------------------
// Bad filters

#[test]
fn syntax_error_is_invalid_at_load_with_the_line() {
    let e = LuaFilter::load(
        "broken",
        "function envoy_on_request(h)\n  local x = = 1\nend\n",
    )
    .unwrap_err();
    assert_eq!(e.filter, "broken");
    assert_eq!(e.phase, Phase::Load);
    assert_eq!(e.kind, FailureKind::Invalid);
    assert!(e.message.contains(":2:"), "{}", e.message);
}

#[test]
fn runtime_error_is_logged_and_the_request_continues() {
    let script = "function envoy_on_request(h)\n  h:headers():add('x-before', '1')\n  local t = nil\n  t.boom = 1\nend\nfunction envoy_on_response(h)\n  h:headers():add('x-response', 'ran')\nend\n";
    let (mut vm, env) = vm(script);
    let o = vm.run(&get("/get")).unwrap();
    assert_eq!(o.status, 200);
    assert!(o.upstream.is_some());
    // Changes made before the error stay (Envoy edits the live map).
    assert_eq!(upstream_header(&o, "x-before"), ["1"]);
    assert_eq!(
        filterbench_model::outcome::values_of(&o.response_headers, "x-response"),
        ["ran"]
    );
    let errs = errors(&env);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("[string \"function envoy_on_request(h)...\"]:4: attempt to index"),
        "{}",
        errs[0]
    );
    // The state goes on.
    assert_eq!(vm.run(&get("/")).unwrap().status, 200);
}

#[test]
fn unexpected_yield_is_a_script_error() {
    let (mut vm, env) = vm("function envoy_on_request(h) coroutine.yield() end");
    let o = vm.run(&get("/")).unwrap();
    assert!(o.upstream.is_some());
    assert_eq!(errors(&env), ["script performed an unexpected yield"]);
}

fn limited(instructions: u64, memory_bytes: usize) -> Env {
    let mut env = Env::new(serde_json::json!({}));
    env.limits = Limits {
        instructions,
        memory_bytes,
        ..Limits::default()
    };
    env
}

#[test]
fn endless_loops_run_out_of_budget_in_their_phase() {
    let cases = [
        ("function envoy_on_request(h) while true do end end", Phase::RequestHeaders),
        ("function envoy_on_response(h) local i = 0 while true do i = i + 1 end end", Phase::ResponseHeaders),
        (
            "function envoy_on_request(h) while true do pcall(function() while true do end end) end end",
            Phase::RequestHeaders,
        ),
        ("function envoy_on_request(h) h:body() while true do end end", Phase::RequestBody),
    ];
    for (script, phase) in cases {
        let mut vm = LuaFilter::load("looper", script)
            .unwrap()
            .vm(limited(1_000_000, 64 << 20))
            .unwrap();
        let started = Instant::now();
        let e = vm.run(&exchange("POST", "/", &[], "x")).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert_eq!(
            (e.filter.as_str(), e.phase, e.kind),
            ("looper", phase, FailureKind::Budget),
            "{script}: {e}"
        );
    }
    // The budget is per callback and the state goes on: a request that does not loop runs.
    let mut vm = LuaFilter::load(
        "looper",
        "function envoy_on_request(h) if h:headers():get('loop') then while true do end end local x = 0 for i = 1, 5000 do x = x + i end end",
    )
    .unwrap()
    .vm(limited(100_000, 64 << 20))
    .unwrap();
    assert_eq!(
        vm.run(&exchange("GET", "/", &[("loop", "1")], ""))
            .unwrap_err()
            .kind,
        FailureKind::Budget
    );
    for _ in 0..3 {
        assert_eq!(vm.run(&get("/")).unwrap().status, 200);
    }
    // Top level.
    let e = LuaFilter::load("looper", "while true do end")
        .unwrap()
        .vm(limited(1_000_000, 64 << 20))
        .err()
        .unwrap();
    assert_eq!((e.phase, e.kind), (Phase::Start, FailureKind::Budget));
}

#[test]
fn memory_bombs_hit_the_memory_limit() {
    let scripts = [
        "function envoy_on_request(h) local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end end",
        "function envoy_on_request(h) local s = 'x' while true do s = s .. s end end",
    ];
    for script in scripts {
        let mut vm = LuaFilter::load("bomb", script)
            .unwrap()
            .vm(limited(Limits::default().instructions, 16 << 20))
            .unwrap();
        let e = vm.run(&get("/")).unwrap_err();
        assert_eq!(
            (e.filter.as_str(), e.phase, e.kind),
            ("bomb", Phase::RequestHeaders, FailureKind::Memory),
            "{e}"
        );
    }
}

#[test]
fn top_level_runtime_error_fails_the_start() {
    let e = LuaFilter::load("bad", "error('no config')")
        .unwrap()
        .vm(Env::new(serde_json::json!({})))
        .err()
        .unwrap();
    assert_eq!(
        (e.filter.as_str(), e.phase, e.kind),
        ("bad", Phase::Start, FailureKind::Runtime)
    );
    assert!(e.message.contains(":1: no config"), "{}", e.message);
}

#[test]
fn getters_take_the_protected_path_when_memory_is_short() {
    // Below the raw primitives' headroom every string comes from the protected (mlua) path.
    let ex = exchange("POST", "/p", &[("x-a", "1"), ("x-a", "2")], "body");
    let script = r##"
function envoy_on_request(h)
  local hs = h:headers()
  h:logInfo(hs:get("x-a") .. " " .. hs:getAtIndex("x-a", 1) .. " " .. h:body():getBytes(1, 2))
end
"##;
    let mut vm = LuaFilter::load("t", script)
        .unwrap()
        .vm(limited(Limits::default().instructions, 3 << 20))
        .unwrap();
    let env = vm.shared.env.clone();
    vm.run(&ex).unwrap();
    assert_eq!(info(&env), ["1,2 2 od"]);
}

/// The Lua twins cannot share code (Envoy's inline scripts cannot `require`), so the pure-Lua
/// JSON decoder is copied between `-- BEGIN shared JSON decoder` and `-- END shared JSON decoder`
/// markers. Every copy must be the same text as jwt_auth's (the first one written).
#[test]
fn shared_json_decoder_copies_are_identical() {
    const BEGIN: &str = "-- BEGIN shared JSON decoder";
    const END: &str = "-- END shared JSON decoder";
    const CARRIERS: &[&str] = &[
        "filters-lua/jwt_auth.lua",
        "filters-lua/body_rewrite.lua",
        "filters-lua/ext_authz_call.lua",
        "bench/guests/ops.lua",
    ];
    let root = filterbench_model::project_root();
    let extract = |rel: &str| -> String {
        let text = std::fs::read_to_string(root.join(rel))
            .unwrap_or_else(|e| panic!("{rel}: cannot read: {e}"));
        let begins: Vec<usize> = text.match_indices(BEGIN).map(|(i, _)| i).collect();
        let ends: Vec<usize> = text.match_indices(END).map(|(i, _)| i).collect();
        assert!(
            begins.len() == 1 && ends.len() == 1 && begins[0] < ends[0],
            "{rel}: want one `{BEGIN}` line before one `{END}` line"
        );
        let start = text[begins[0]..]
            .find('\n')
            .map_or(text.len(), |n| begins[0] + n + 1);
        text[start..ends[0]].to_string()
    };
    // Any other Lua file that marks a copy is held to the same text.
    let mut files: Vec<String> = CARRIERS.iter().map(|s| s.to_string()).collect();
    for dir in ["filters-lua", "bench/guests"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            let rel = format!("{dir}/{}", entry.file_name().to_string_lossy());
            if rel.ends_with(".lua")
                && !files.contains(&rel)
                && std::fs::read_to_string(entry.path()).is_ok_and(|t| t.contains(BEGIN))
            {
                files.push(rel);
            }
        }
    }
    let reference = extract(&files[0]);
    assert!(
        reference.lines().count() > 200,
        "{}: the decoder is unexpectedly short",
        files[0]
    );
    for rel in &files[1..] {
        let copy = extract(rel);
        if copy != reference {
            let line = reference
                .lines()
                .zip(copy.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| reference.lines().count().min(copy.lines().count()));
            panic!(
                "{rel}: its shared JSON decoder differs from {}'s (line {} of the copied region); \
                 make the copies the same text",
                files[0],
                line + 1
            );
        }
    }
}
