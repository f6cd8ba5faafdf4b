// Package proxywasm is the project's own small proxy-wasm ABI layer (version 0.2.1) for the Go
// twins under filters-go/<pair>/, built with standard Go for wasip1 (go:wasmimport and
// go:wasmexport, -buildmode=c-shared). The proxy-wasm Go SDK is not served by the module proxy
// this project can reach, so this package gives the twins the same shape as the SDK's examples
// (a VM context registered in init, plugin contexts, HTTP contexts with Default* embeddings) and
// implements only the host calls the twins use. It mirrors the Rust SDK (proxy-wasm 0.2.5) the
// Rust twins are built with: the same host calls in the same order, a panic (a trap) on a status
// the Rust SDK panics on, an HTTP call's answer routed to the context that dispatched it.
//
// Under any other GOOS the host is the emulator of package proxytest, so the twins' main_test.go
// files run with plain `go test`.
package proxywasm

// Action is what a stream callback answers.
type Action uint32

const (
	ActionContinue Action = 0
	ActionPause    Action = 1
)

// Status is a host call's result code.
type Status uint32

const (
	StatusOK              Status = 0
	StatusNotFound        Status = 1
	StatusBadArgument     Status = 2
	StatusSerialization   Status = 3
	StatusParseFailure    Status = 4
	StatusEmpty           Status = 7
	StatusCasMismatch     Status = 8
	StatusInternalFailure Status = 10
	StatusUnimplemented   Status = 12
)

// LogLevel is proxy_log's level.
type LogLevel uint32

const (
	LogLevelTrace    LogLevel = 0
	LogLevelDebug    LogLevel = 1
	LogLevelInfo     LogLevel = 2
	LogLevelWarn     LogLevel = 3
	LogLevelError    LogLevel = 4
	LogLevelCritical LogLevel = 5
)

// MapType names a header map.
type MapType uint32

const (
	MapTypeHttpRequestHeaders      MapType = 0
	MapTypeHttpRequestTrailers     MapType = 1
	MapTypeHttpResponseHeaders     MapType = 2
	MapTypeHttpResponseTrailers    MapType = 3
	MapTypeHttpCallResponseHeaders MapType = 6
)

// BufferType names a buffer.
type BufferType uint32

const (
	BufferTypeHttpRequestBody      BufferType = 0
	BufferTypeHttpResponseBody     BufferType = 1
	BufferTypeHttpCallResponseBody BufferType = 4
	BufferTypeVMConfiguration      BufferType = 6
	BufferTypePluginConfiguration  BufferType = 7
)

// MetricType is a metric's kind.
type MetricType uint32

const (
	MetricTypeCounter   MetricType = 0
	MetricTypeGauge     MetricType = 1
	MetricTypeHistogram MetricType = 2
)

// StreamType names the stream proxy_continue_stream resumes.
type StreamType uint32

const (
	StreamTypeHttpRequest  StreamType = 0
	StreamTypeHttpResponse StreamType = 1
)

// Header is one header (name, value); values are bytes as Envoy holds them (not always UTF-8).
type Header struct {
	Name  string
	Value []byte
}

// VMContext is the VM's context: it makes one plugin context per plugin configuration.
type VMContext interface {
	OnVMStart(vmConfigurationSize int) bool
	NewPluginContext(contextID uint32) PluginContext
}

// PluginContext is a plugin's (root) context: configured once, it makes one HTTP context per
// stream.
type PluginContext interface {
	OnPluginStart(pluginConfigurationSize int) bool
	NewHttpContext(contextID uint32) HttpContext
}

// HttpContext is one HTTP stream's context.
type HttpContext interface {
	OnHttpRequestHeaders(numHeaders int, endOfStream bool) Action
	OnHttpRequestBody(bodySize int, endOfStream bool) Action
	OnHttpRequestTrailers(numTrailers int) Action
	OnHttpResponseHeaders(numHeaders int, endOfStream bool) Action
	OnHttpResponseBody(bodySize int, endOfStream bool) Action
	OnHttpResponseTrailers(numTrailers int) Action
	OnHttpStreamDone()
}

// DefaultVMContext starts and makes no plugin context; embed it and define NewPluginContext.
type DefaultVMContext struct{}

func (DefaultVMContext) OnVMStart(int) bool                    { return true }
func (DefaultVMContext) NewPluginContext(uint32) PluginContext { return DefaultPluginContext{} }

// DefaultPluginContext starts with any configuration and makes pass-through HTTP contexts.
type DefaultPluginContext struct{}

func (DefaultPluginContext) OnPluginStart(int) bool            { return true }
func (DefaultPluginContext) NewHttpContext(uint32) HttpContext { return DefaultHttpContext{} }

// DefaultHttpContext continues every callback.
type DefaultHttpContext struct{}

func (DefaultHttpContext) OnHttpRequestHeaders(int, bool) Action  { return ActionContinue }
func (DefaultHttpContext) OnHttpRequestBody(int, bool) Action     { return ActionContinue }
func (DefaultHttpContext) OnHttpRequestTrailers(int) Action       { return ActionContinue }
func (DefaultHttpContext) OnHttpResponseHeaders(int, bool) Action { return ActionContinue }
func (DefaultHttpContext) OnHttpResponseBody(int, bool) Action    { return ActionContinue }
func (DefaultHttpContext) OnHttpResponseTrailers(int) Action      { return ActionContinue }
func (DefaultHttpContext) OnHttpStreamDone()                      {}
