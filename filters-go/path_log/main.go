// path_log: logs `path_log: <:path>` (query string included) at info level; traffic is not
// changed. Invalid UTF-8 in the path is replaced as the Rust twin's from_utf8_lossy does.
// Go twin of filters-lua/path_log.lua; behaviour contract in bench/catalogue.toml.
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

func (*pluginContext) NewHttpContext(uint32) proxywasm.HttpContext { return &pathLog{} }

type pathLog struct{ proxywasm.DefaultHttpContext }

func (*pathLog) OnHttpRequestHeaders(int, bool) proxywasm.Action {
	// `:path` is a single pseudo-header.
	path, _ := proxywasm.GetHttpRequestHeader(":path")
	proxywasm.LogInfo("path_log: " + twin.Lossy(path))
	return proxywasm.ActionContinue
}
