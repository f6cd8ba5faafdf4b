// custom_metrics: counts requests per path prefix and response status in the proxy-wasm counter
// custom_metrics.requests.<prefix>.<status>. The prefix is the first segment of :path (between
// the first / and the next /, ? or the end) when it is one of `prefixes`, `root` for an empty
// segment, `other` otherwise. Traffic is not changed.
// Metrics are defined once per distinct name and VM; their ids are cached in the plugin context.
// Configuration: {"prefixes": ["<segment>", ...]}.
// Go twin of filters-lua/custom_metrics.lua; behaviour contract in bench/catalogue.toml.
package main

import (
	"bytes"

	"filterbench/filters-go/proxywasm"
	"filterbench/filters-go/twin"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ proxywasm.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) proxywasm.PluginContext {
	return &pluginContext{metrics: map[string]uint32{}}
}

type pluginContext struct {
	proxywasm.DefaultPluginContext
	prefixes []string
	// metrics holds counter ids by metric name, for this VM.
	metrics map[string]uint32
}

func (p *pluginContext) OnPluginStart(int) bool {
	config := twin.ParseConfig(proxywasm.GetPluginConfiguration(), "custom_metrics", `{"prefixes": [<string>, ...]}`)
	prefixes := config.Strings("prefixes")
	if !config.Ok() {
		return false
	}
	p.prefixes = prefixes
	return true
}

func (p *pluginContext) NewHttpContext(uint32) proxywasm.HttpContext {
	return &customMetrics{plugin: p}
}

// prefixOf is the metric label for path: its first segment if listed, root if empty, else other.
func prefixOf(path []byte, prefixes []string) string {
	slash := bytes.IndexByte(path, '/')
	if slash < 0 {
		// No / at all (`*`, an authority-form target): no segment to recognise.
		return "other"
	}
	rest := path[slash+1:]
	end := bytes.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	segment := rest[:end]
	for _, p := range prefixes {
		if p == string(segment) {
			return p
		}
	}
	if len(segment) == 0 {
		return "root"
	}
	return "other"
}

type customMetrics struct {
	proxywasm.DefaultHttpContext
	plugin *pluginContext
	// prefix is computed from the request's :path.
	prefix    string
	hasPrefix bool
}

// counter is the counter id for name, defining the counter on first use in this VM.
func (c *customMetrics) counter(name string) (uint32, bool) {
	if id, ok := c.plugin.metrics[name]; ok {
		return id, true
	}
	id, err := proxywasm.DefineCounterMetric(name)
	if err != nil {
		return 0, false
	}
	c.plugin.metrics[name] = id
	return id, true
}

func (c *customMetrics) OnHttpRequestHeaders(int, bool) proxywasm.Action {
	path, _ := proxywasm.GetHttpRequestHeader(":path")
	c.prefix, c.hasPrefix = prefixOf(path, c.plugin.prefixes), true
	return proxywasm.ActionContinue
}

func (c *customMetrics) OnHttpResponseHeaders(int, bool) proxywasm.Action {
	if !c.hasPrefix {
		return proxywasm.ActionContinue
	}
	status, _ := proxywasm.GetHttpResponseHeader(":status")
	name := "custom_metrics.requests." + c.prefix + "." + twin.Lossy(status)
	if id, ok := c.counter(name); ok {
		_ = proxywasm.IncrementMetric(id, 1)
	}
	return proxywasm.ActionContinue
}
