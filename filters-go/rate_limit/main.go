// rate_limit: fixed-window limit of requests_per_window requests per window_seconds per client.
// The client key is the first ,-separated entry of x-forwarded-for (spaces and tabs trimmed),
// `unknown` when missing or empty. A client's window starts at its first request (whole seconds
// of Envoy's clock); a request at t with t - t0 >= window_seconds starts a new window. Every
// request counts; past the limit a local 429 "Rate limit exceeded" with
// x-rate-limit-exceeded: true, otherwise the response gets x-rate-limit-remaining.
// State lives in the VM (one per worker), as in Envoy's Lua.
// Configuration: {"requests_per_window": <integer>, "window_seconds": <integer>}.
// Go twin of filters-lua/rate_limit.lua; behaviour contract in bench/catalogue.toml.
package main

import (
	"bytes"
	"strconv"

	"filterbench/filters-go/proxywasm"
	"filterbench/filters-go/twin"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ proxywasm.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) proxywasm.PluginContext {
	return &pluginContext{windows: map[string]*window{}}
}

type config struct {
	requestsPerWindow, windowSeconds uint64
}

// window is one client's current window: when it started (whole seconds) and how many requests
// it saw.
type window struct {
	start, count uint64
}

type pluginContext struct {
	proxywasm.DefaultPluginContext
	config  config
	windows map[string]*window
}

func (p *pluginContext) OnPluginStart(int) bool {
	c := twin.ParseConfig(proxywasm.GetPluginConfiguration(), "rate_limit", `{"requests_per_window": <integer>, "window_seconds": <integer>}`)
	perWindow := c.U64("requests_per_window")
	seconds := c.U64("window_seconds")
	if !c.Ok() {
		return false
	}
	p.config = config{requestsPerWindow: perWindow, windowSeconds: seconds}
	return true
}

func (p *pluginContext) NewHttpContext(uint32) proxywasm.HttpContext {
	return &rateLimit{plugin: p}
}

// clientKey is the first ,-separated entry of x-forwarded-for, spaces and tabs trimmed; unknown
// when the header is missing or that entry is empty.
func clientKey(forwardedFor []byte) string {
	first := forwardedFor
	if comma := bytes.IndexByte(first, ','); comma >= 0 {
		first = first[:comma]
	}
	key := bytes.Trim(first, " \t")
	if len(key) == 0 {
		return "unknown"
	}
	return string(key)
}

type rateLimit struct {
	proxywasm.DefaultHttpContext
	plugin *pluginContext
	// remaining is set when the request was let through; copied onto the response.
	remaining    uint64
	hasRemaining bool
}

func (r *rateLimit) OnHttpRequestHeaders(int, bool) proxywasm.Action {
	forwardedFor, _ := twin.JoinedHeader(proxywasm.GetHttpRequestHeaders(), "x-forwarded-for")
	key := clientKey(forwardedFor)
	now := proxywasm.GetCurrentTimeNanoseconds() / 1_000_000_000
	cfg := r.plugin.config

	w, ok := r.plugin.windows[key]
	if !ok {
		w = &window{start: now}
		r.plugin.windows[key] = w
	}
	// A clock that steps back (now < start) stays in the current window.
	elapsed := uint64(0)
	if now > w.start {
		elapsed = now - w.start
	}
	if elapsed >= cfg.windowSeconds {
		w.start = now
		w.count = 0
	}
	if w.count < ^uint64(0) {
		w.count++
	}

	if w.count > cfg.requestsPerWindow {
		proxywasm.SendHttpResponse(429, []proxywasm.Header{
			{Name: "x-rate-limit-exceeded", Value: []byte("true")},
			{Name: "content-type", Value: []byte("text/plain")},
		}, []byte("Rate limit exceeded"))
		return proxywasm.ActionPause
	}
	r.remaining, r.hasRemaining = cfg.requestsPerWindow-w.count, true
	return proxywasm.ActionContinue
}

func (r *rateLimit) OnHttpResponseHeaders(int, bool) proxywasm.Action {
	if r.hasRemaining {
		proxywasm.ReplaceHttpResponseHeader("x-rate-limit-remaining", strconv.AppendUint(nil, r.remaining, 10))
	}
	return proxywasm.ActionContinue
}
