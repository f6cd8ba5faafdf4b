// ext_authz_call: asks an external auth service about each request. Calls cluster `cluster`
// with POST /verify (:authority auth, content-type application/json), body
// {"token":"<value of authorization, or empty>"}, timeout timeout_ms. A 200 reply whose body is
// a JSON object with valid == true and a string user_id sets x-user-id and lets the request
// continue; 200 with valid == false -> local 401 "Unauthorized"; anything else (other status,
// call failure, timeout, other body) -> local 503 "Auth Service Unavailable".
// Configuration: {"cluster": "<cluster name>", "timeout_ms": <integer>}.
// Go twin of filters-lua/ext_authz_call.lua; behaviour contract in bench/catalogue.toml.
package main

import (
	"filterbench/filters-go/proxywasm"
	"filterbench/filters-go/twin"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ proxywasm.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) proxywasm.PluginContext { return &pluginContext{} }

type config struct {
	cluster   string
	timeoutMs uint64
}

type pluginContext struct {
	proxywasm.DefaultPluginContext
	config *config
}

func (p *pluginContext) OnPluginStart(int) bool {
	c := twin.ParseConfig(proxywasm.GetPluginConfiguration(), "ext_authz_call", `{"cluster": <string>, "timeout_ms": <integer>}`)
	cluster := c.String("cluster")
	timeout := c.U64("timeout_ms")
	if !c.Ok() {
		return false
	}
	p.config = &config{cluster: cluster, timeoutMs: timeout}
	return true
}

func (p *pluginContext) NewHttpContext(uint32) proxywasm.HttpContext {
	if p.config == nil {
		return nil
	}
	return &extAuthzCall{config: p.config}
}

type verdict int

const (
	allow verdict = iota
	deny
	unavailable
)

// decide reads the auth service's reply: status 200 and a JSON object body with valid == true
// and a string user_id allows; 200 with valid == false denies; anything else is unavailable.
func decide(status []byte, hasStatus bool, body []byte) (verdict, string) {
	if !hasStatus || string(status) != "200" {
		return unavailable, ""
	}
	reply, err := twin.ParseJSON(body)
	if err != nil || reply.Kind != twin.Object {
		return unavailable, ""
	}
	valid := reply.Get("valid")
	if valid != nil && valid.Kind == twin.Bool {
		if userID, ok := reply.Get("user_id").AsString(); valid.Bool && ok {
			return allow, userID
		}
		if !valid.Bool {
			return deny, ""
		}
	}
	return unavailable, ""
}

type extAuthzCall struct {
	proxywasm.DefaultHttpContext
	config *config
	// pending: the auth call is in flight. With the plugin option
	// allow_on_headers_stop_iteration: true body and trailer callbacks arrive meanwhile, and
	// continuing from them would let the request through before the verdict.
	pending bool
}

var textPlain = []proxywasm.Header{{Name: "content-type", Value: []byte("text/plain")}}

func unavailableReply() {
	proxywasm.SendHttpResponse(503, textPlain, []byte("Auth Service Unavailable"))
}

func (e *extAuthzCall) onReply(_, bodySize, _ int) {
	e.pending = false
	status, hasStatus := proxywasm.GetHttpCallResponseHeader(":status")
	body, _ := proxywasm.GetHttpCallResponseBody(0, bodySize)
	switch v, userID := decide(status, hasStatus, body); v {
	case allow:
		proxywasm.ReplaceHttpRequestHeader("x-user-id", []byte(userID))
		proxywasm.ResumeHttpRequest()
	case deny:
		proxywasm.SendHttpResponse(401, textPlain, []byte("Unauthorized"))
	default:
		unavailableReply()
	}
}

func (e *extAuthzCall) OnHttpRequestHeaders(int, bool) proxywasm.Action {
	token, _ := twin.JoinedHeader(proxywasm.GetHttpRequestHeaders(), "authorization")
	body := append([]byte(`{"token":`), twin.AppendString(nil, twin.Lossy(token))...)
	body = append(body, '}')
	headers := []proxywasm.Header{
		{Name: ":method", Value: []byte("POST")},
		{Name: ":path", Value: []byte("/verify")},
		{Name: ":authority", Value: []byte("auth")},
		{Name: "content-type", Value: []byte("application/json")},
	}
	if _, err := proxywasm.DispatchHttpCall(e.config.cluster, headers, body, nil, uint32(e.config.timeoutMs), e.onReply); err != nil {
		unavailableReply()
	} else {
		e.pending = true
	}
	return proxywasm.ActionPause
}

func (e *extAuthzCall) OnHttpRequestBody(int, bool) proxywasm.Action {
	if e.pending {
		return proxywasm.ActionPause
	}
	return proxywasm.ActionContinue
}

func (e *extAuthzCall) OnHttpRequestTrailers(int) proxywasm.Action {
	if e.pending {
		return proxywasm.ActionPause
	}
	return proxywasm.ActionContinue
}
