// bot_block: a request whose user-agent value contains "bot" after ASCII lower-casing (only A-Z
// are folded, other bytes compared as they are) gets a local 403 "Forbidden"; a missing or
// empty user-agent passes.
// Go twin of filters-lua/bot_block.lua; behaviour contract in bench/catalogue.toml.
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

func (*pluginContext) NewHttpContext(uint32) proxywasm.HttpContext { return &botBlock{} }

type botBlock struct{ proxywasm.DefaultHttpContext }

func containsBot(value []byte) bool {
	for i := 0; i+3 <= len(value); i++ {
		if value[i]|0x20 == 'b' && value[i+1]|0x20 == 'o' && value[i+2]|0x20 == 't' {
			return true
		}
	}
	return false
}

func (*botBlock) OnHttpRequestHeaders(int, bool) proxywasm.Action {
	agent, ok := twin.JoinedHeader(proxywasm.GetHttpRequestHeaders(), "user-agent")
	if ok && containsBot(agent) {
		proxywasm.SendHttpResponse(403, []proxywasm.Header{{Name: "content-type", Value: []byte("text/plain")}}, []byte("Forbidden"))
		return proxywasm.ActionPause
	}
	return proxywasm.ActionContinue
}
