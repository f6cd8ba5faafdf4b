// path_regex: when :path (query string included) matches ^/api/v([0-9]+)/, sets x-api-version
// to the digits exactly as written; other paths pass unchanged (a client's own x-api-version is
// kept). Uses Go's regexp, compiled once per VM (at configuration, like the Rust twin).
// Go twin of filters-lua/path_regex.lua; behaviour contract in bench/catalogue.toml.
package main

import (
	"regexp"

	"filterbench/filters-go/proxywasm"
)

// apiVersion: ASCII digits only ([0-9], not \d), at least one, then the required slash.
const apiVersion = `^/api/v([0-9]+)/`

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ proxywasm.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) proxywasm.PluginContext { return &pluginContext{} }

type pluginContext struct {
	proxywasm.DefaultPluginContext
	regex *regexp.Regexp
}

func (p *pluginContext) OnPluginStart(int) bool {
	regex, err := regexp.Compile(apiVersion)
	if err != nil {
		proxywasm.LogError("path_regex: " + err.Error())
		return false
	}
	p.regex = regex
	return true
}

func (p *pluginContext) NewHttpContext(uint32) proxywasm.HttpContext {
	return &pathRegex{regex: p.regex}
}

type pathRegex struct {
	proxywasm.DefaultHttpContext
	regex *regexp.Regexp
}

func (p *pathRegex) OnHttpRequestHeaders(int, bool) proxywasm.Action {
	if p.regex == nil {
		return proxywasm.ActionContinue
	}
	path, ok := proxywasm.GetHttpRequestHeader(":path")
	if !ok {
		return proxywasm.ActionContinue
	}
	if m := p.regex.FindSubmatch(path); m != nil {
		proxywasm.ReplaceHttpRequestHeader("x-api-version", m[1])
	}
	return proxywasm.ActionContinue
}
