// add_header: request gets `x-custom-header: Hello from filter`, response gets `hello: world`.
// Go twin of filters-lua/add_header.lua; behaviour contract in bench/catalogue.toml.
package main

import "filterbench/filters-go/proxywasm"

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ proxywasm.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) proxywasm.PluginContext { return &pluginContext{} }

type pluginContext struct{ proxywasm.DefaultPluginContext }

func (*pluginContext) NewHttpContext(uint32) proxywasm.HttpContext { return &addHeader{} }

type addHeader struct{ proxywasm.DefaultHttpContext }

func (*addHeader) OnHttpRequestHeaders(int, bool) proxywasm.Action {
	proxywasm.AddHttpRequestHeader("x-custom-header", []byte("Hello from filter"))
	return proxywasm.ActionContinue
}

func (*addHeader) OnHttpResponseHeaders(int, bool) proxywasm.Action {
	proxywasm.AddHttpResponseHeader("hello", []byte("world"))
	return proxywasm.ActionContinue
}
