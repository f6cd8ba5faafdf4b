// header_auth: a request passes only when the value of header `allow` is exactly "true"
// (case-sensitive; a repeated header joins to "true,true" and is refused); anything else
// (missing, empty, other value) gets a local 403 "Forbidden".
// Go twin of filters-lua/header_auth.lua; behaviour contract in bench/catalogue.toml.
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

func (*pluginContext) NewHttpContext(uint32) proxywasm.HttpContext { return &headerAuth{} }

type headerAuth struct{ proxywasm.DefaultHttpContext }

func (*headerAuth) OnHttpRequestHeaders(int, bool) proxywasm.Action {
	allow, ok := twin.JoinedHeader(proxywasm.GetHttpRequestHeaders(), "allow")
	if ok && string(allow) == "true" {
		return proxywasm.ActionContinue
	}
	proxywasm.SendHttpResponse(403, []proxywasm.Header{{Name: "content-type", Value: []byte("text/plain")}}, []byte("Forbidden"))
	return proxywasm.ActionPause
}
