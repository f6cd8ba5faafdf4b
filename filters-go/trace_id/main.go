// trace_id: keeps a non-empty request x-trace-id (a repeated header keeps all of its values; the
// joined value is what is copied) or sets it to 32 random lowercase hex characters when it is
// missing or empty; the response gets x-trace-id set to the request's value.
// Go twin of filters-lua/trace_id.lua; behaviour contract in bench/catalogue.toml.
package main

import (
	"filterbench/filters-go/proxywasm"
	"filterbench/filters-go/twin"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ proxywasm.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) proxywasm.PluginContext { return &pluginContext{} }

type pluginContext struct{ proxywasm.DefaultPluginContext }

func (*pluginContext) NewHttpContext(uint32) proxywasm.HttpContext { return &traceID{} }

type traceID struct {
	proxywasm.DefaultHttpContext
	// traceID is the request's (kept or generated) value, copied onto the response.
	traceID []byte
}

func (t *traceID) OnHttpRequestHeaders(int, bool) proxywasm.Action {
	id, ok := twin.JoinedHeader(proxywasm.GetHttpRequestHeaders(), "x-trace-id")
	if !ok || len(id) == 0 {
		id = []byte(twin.RandomHex(proxywasm.GetCurrentTimeNanoseconds()))
		proxywasm.ReplaceHttpRequestHeader("x-trace-id", id)
	}
	t.traceID = id
	return proxywasm.ActionContinue
}

func (t *traceID) OnHttpResponseHeaders(int, bool) proxywasm.Action {
	if t.traceID != nil {
		proxywasm.ReplaceHttpResponseHeader("x-trace-id", t.traceID)
	}
	return proxywasm.ActionContinue
}
