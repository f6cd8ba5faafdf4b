// canary_tag: when x-swimlane is absent and x-user-id is present (even empty), sets x-swimlane
// to "canary" if FNV-1a-32(value of x-user-id) % 100 < canary_percent, else to "production". A
// present x-swimlane (even empty) or a missing x-user-id leaves the request unchanged.
// Configuration: {"canary_percent": <number>}.
// Go twin of filters-lua/canary_tag.lua; behaviour contract in bench/catalogue.toml.
package main

import (
	"filterbench/filters-go/proxywasm"
	"filterbench/filters-go/twin"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ proxywasm.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) proxywasm.PluginContext { return &pluginContext{} }

type pluginContext struct {
	proxywasm.DefaultPluginContext
	// canaryPercent is compared as a number, like the Lua twin does.
	canaryPercent float64
}

func (p *pluginContext) OnPluginStart(int) bool {
	config := twin.ParseConfig(proxywasm.GetPluginConfiguration(), "canary_tag", `{"canary_percent": <number>}`)
	percent := config.F64("canary_percent")
	if !config.Ok() {
		return false
	}
	p.canaryPercent = percent
	return true
}

func (p *pluginContext) NewHttpContext(uint32) proxywasm.HttpContext {
	return &canaryTag{canaryPercent: p.canaryPercent}
}

type canaryTag struct {
	proxywasm.DefaultHttpContext
	canaryPercent float64
}

// fnv1a32 is FNV-1a, 32 bits.
func fnv1a32(b []byte) uint32 {
	hash := uint32(2166136261)
	for _, c := range b {
		hash = (hash ^ uint32(c)) * 16777619
	}
	return hash
}

func (c *canaryTag) OnHttpRequestHeaders(int, bool) proxywasm.Action {
	headers := proxywasm.GetHttpRequestHeaders()
	if _, ok := twin.JoinedHeader(headers, "x-swimlane"); ok {
		return proxywasm.ActionContinue
	}
	if userID, ok := twin.JoinedHeader(headers, "x-user-id"); ok {
		lane := "production"
		if float64(fnv1a32(userID)%100) < c.canaryPercent {
			lane = "canary"
		}
		proxywasm.ReplaceHttpRequestHeader("x-swimlane", []byte(lane))
	}
	return proxywasm.ActionContinue
}
