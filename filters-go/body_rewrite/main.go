// body_rewrite: buffers the whole request body; when it parses as JSON (serde_json's grammar, at
// most 127 nested arrays/objects) and is an object, sets server_timestamp (ms since the epoch,
// Envoy's clock) and request_id (the value of x-request-id, else 32 random lowercase hex
// characters), re-serialises it compactly as the Rust twin's serde_json does (numbers keep their
// digits; keys sorted; see twin/json.go) and replaces the body. Empty bodies, non-JSON and
// non-object JSON pass unchanged.
//
// Framing: the headers of a request with a body go on at once, without content-length (Envoy
// then sends the body chunked), and the body is held until it is complete. Holding the headers
// instead (Pause) would let the new length be set, but Envoy turns a Pause from the headers
// callback into "stop all iteration" (the body callback never runs) unless the plugin
// configuration sets allow_on_headers_stop_iteration, which Istio's WasmPlugin and
// TrafficExtension do not.
// Go twin of filters-lua/body_rewrite.lua; behaviour contract in bench/catalogue.toml.
package main

import (
	"strconv"

	"filterbench/filters-go/proxywasm"
	"filterbench/filters-go/twin"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ proxywasm.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) proxywasm.PluginContext { return &pluginContext{} }

type pluginContext struct{ proxywasm.DefaultPluginContext }

func (*pluginContext) NewHttpContext(uint32) proxywasm.HttpContext { return &bodyRewrite{} }

type bodyRewrite struct {
	proxywasm.DefaultHttpContext
	// bodySize is the size of the buffered body at the last body callback.
	bodySize int
	// requestID is x-request-id as it was at the headers: once they have gone on, Envoy no
	// longer lets the filter read them.
	requestID    []byte
	hasRequestID bool
}

// rewrite rewrites the buffered body once it is complete.
func (b *bodyRewrite) rewrite(bodySize int) {
	if bodySize == 0 {
		return
	}
	body, ok := proxywasm.GetHttpRequestBody(0, bodySize)
	if !ok {
		return
	}
	object, err := twin.ParseJSON(body)
	if err != nil || object.Kind != twin.Object {
		return
	}
	nowNs := proxywasm.GetCurrentTimeNanoseconds()
	requestID := ""
	if b.hasRequestID {
		requestID = twin.Lossy(b.requestID)
	} else {
		requestID = twin.RandomHex(nowNs)
	}
	object.Set("server_timestamp", &twin.Value{Kind: twin.Number, Num: strconv.FormatUint(nowNs/1_000_000, 10)})
	object.Set("request_id", &twin.Value{Kind: twin.String, Str: requestID})
	proxywasm.ReplaceHttpRequestBody(0, bodySize, twin.AppendJSON(nil, object))
}

func (b *bodyRewrite) OnHttpRequestHeaders(_ int, endOfStream bool) proxywasm.Action {
	// A body follows: its length may change, and the headers cannot wait for it.
	if !endOfStream {
		b.requestID, b.hasRequestID = twin.JoinedHeader(proxywasm.GetHttpRequestHeaders(), "x-request-id")
		proxywasm.RemoveHttpRequestHeader("content-length")
	}
	return proxywasm.ActionContinue
}

func (b *bodyRewrite) OnHttpRequestBody(bodySize int, endOfStream bool) proxywasm.Action {
	b.bodySize = bodySize
	if !endOfStream {
		return proxywasm.ActionPause
	}
	b.rewrite(bodySize)
	return proxywasm.ActionContinue
}

func (b *bodyRewrite) OnHttpRequestTrailers(int) proxywasm.Action {
	// A body followed by trailers never sees endOfStream in the body callback.
	b.rewrite(b.bodySize)
	return proxywasm.ActionContinue
}
