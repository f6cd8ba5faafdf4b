package proxywasm

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
)

// Host is the proxy-wasm host as the twins see it, one method per host call. On wasip1 it is
// the real host (the functions the module imports from "env"); elsewhere proxytest's emulator
// installs itself with SetHost.
type Host interface {
	Log(level LogLevel, message string) Status
	CurrentTimeNanoseconds() (uint64, Status)
	// GetBufferBytes answers the bytes and whether the host returned any data at all (a null
	// pointer is "no buffer", not an empty one).
	GetBufferBytes(buffer BufferType, start, maxSize int) ([]byte, bool, Status)
	SetBufferBytes(buffer BufferType, start, size int, value []byte) Status
	GetHeaderMapPairs(mapType MapType) ([]Header, Status)
	GetHeaderMapValue(mapType MapType, key string) ([]byte, Status)
	AddHeaderMapValue(mapType MapType, key string, value []byte) Status
	ReplaceHeaderMapValue(mapType MapType, key string, value []byte) Status
	RemoveHeaderMapValue(mapType MapType, key string) Status
	SendLocalResponse(statusCode uint32, details string, body []byte, headers []Header, grpcStatus int32) Status
	HttpCall(upstream string, headers []Header, body []byte, trailers []Header, timeoutMs uint32) (uint32, Status)
	ContinueStream(stream StreamType) Status
	SetEffectiveContext(contextID uint32) Status
	DefineMetric(metricType MetricType, name string) (uint32, Status)
	IncrementMetric(metricID uint32, offset int64) Status
}

var host Host

// SetHost installs the host (proxytest's emulator; the wasip1 build installs the real one).
func SetHost(h Host) { host = h }

// unexpected is the Rust SDK's `panic!("unexpected status: {}")`: a host call failed in a way the
// twin cannot go on from. The panic ends the VM (a trap), as it does for the Rust twins.
func unexpected(call string, status Status) {
	panic(call + ": unexpected status: " + strconv.FormatUint(uint64(status), 10))
}

// Log writes message at level to the host's log.
func Log(level LogLevel, message string) {
	if s := host.Log(level, message); s != StatusOK {
		unexpected("proxy_log", s)
	}
}

// LogInfo logs at info level.
func LogInfo(message string) { Log(LogLevelInfo, message) }

// LogError logs at error level.
func LogError(message string) { Log(LogLevelError, message) }

// GetCurrentTimeNanoseconds is the host's clock (Envoy's time source), in ns since the epoch.
func GetCurrentTimeNanoseconds() uint64 {
	ns, s := host.CurrentTimeNanoseconds()
	if s != StatusOK {
		unexpected("proxy_get_current_time_nanoseconds", s)
	}
	return ns
}

func getBuffer(buffer BufferType, start, maxSize int) ([]byte, bool) {
	data, present, s := host.GetBufferBytes(buffer, start, maxSize)
	switch s {
	case StatusOK:
		return data, present
	case StatusNotFound:
		return nil, false
	}
	unexpected("proxy_get_buffer_bytes", s)
	return nil, false
}

// GetPluginConfiguration is the plugin configuration (empty when there is none).
func GetPluginConfiguration() []byte {
	data, _ := getBuffer(BufferTypePluginConfiguration, 0, math.MaxUint32)
	return data
}

func getHeaders(mapType MapType) []Header {
	headers, s := host.GetHeaderMapPairs(mapType)
	if s != StatusOK {
		unexpected("proxy_get_header_map_pairs", s)
	}
	return headers
}

func getHeader(mapType MapType, name string) ([]byte, bool) {
	value, s := host.GetHeaderMapValue(mapType, name)
	switch s {
	case StatusOK:
		if value == nil {
			value = []byte{}
		}
		return value, true
	case StatusNotFound:
		return nil, false
	}
	unexpected("proxy_get_header_map_value", s)
	return nil, false
}

func addHeader(mapType MapType, name string, value []byte) {
	if s := host.AddHeaderMapValue(mapType, name, value); s != StatusOK {
		unexpected("proxy_add_header_map_value", s)
	}
}

func replaceHeader(mapType MapType, name string, value []byte) {
	if s := host.ReplaceHeaderMapValue(mapType, name, value); s != StatusOK {
		unexpected("proxy_replace_header_map_value", s)
	}
}

func removeHeader(mapType MapType, name string) {
	if s := host.RemoveHeaderMapValue(mapType, name); s != StatusOK {
		unexpected("proxy_remove_header_map_value", s)
	}
}

// GetHttpRequestHeaders is every request header, in order.
func GetHttpRequestHeaders() []Header { return getHeaders(MapTypeHttpRequestHeaders) }

// GetHttpRequestHeader is the (first) value of request header name, and whether it is present.
func GetHttpRequestHeader(name string) ([]byte, bool) {
	return getHeader(MapTypeHttpRequestHeaders, name)
}

// AddHttpRequestHeader adds a request header value.
func AddHttpRequestHeader(name string, value []byte) {
	addHeader(MapTypeHttpRequestHeaders, name, value)
}

// ReplaceHttpRequestHeader sets request header name to value.
func ReplaceHttpRequestHeader(name string, value []byte) {
	replaceHeader(MapTypeHttpRequestHeaders, name, value)
}

// RemoveHttpRequestHeader removes request header name.
func RemoveHttpRequestHeader(name string) { removeHeader(MapTypeHttpRequestHeaders, name) }

// GetHttpResponseHeaders is every response header, in order.
func GetHttpResponseHeaders() []Header { return getHeaders(MapTypeHttpResponseHeaders) }

// GetHttpResponseHeader is the (first) value of response header name, and whether it is present.
func GetHttpResponseHeader(name string) ([]byte, bool) {
	return getHeader(MapTypeHttpResponseHeaders, name)
}

// AddHttpResponseHeader adds a response header value.
func AddHttpResponseHeader(name string, value []byte) {
	addHeader(MapTypeHttpResponseHeaders, name, value)
}

// ReplaceHttpResponseHeader sets response header name to value.
func ReplaceHttpResponseHeader(name string, value []byte) {
	replaceHeader(MapTypeHttpResponseHeaders, name, value)
}

// GetHttpRequestBody is size bytes of the buffered request body from start, and whether the
// host had a body.
func GetHttpRequestBody(start, size int) ([]byte, bool) {
	return getBuffer(BufferTypeHttpRequestBody, start, size)
}

// ReplaceHttpRequestBody replaces size bytes of the buffered request body from start by value.
func ReplaceHttpRequestBody(start, size int, value []byte) {
	if s := host.SetBufferBytes(BufferTypeHttpRequestBody, start, size, value); s != StatusOK {
		unexpected("proxy_set_buffer_bytes", s)
	}
}

// SendHttpResponse sends a local reply; the stream's own callbacks then stop.
func SendHttpResponse(statusCode uint32, headers []Header, body []byte) {
	if s := host.SendLocalResponse(statusCode, "", body, headers, -1); s != StatusOK {
		unexpected("proxy_send_local_response", s)
	}
}

// ResumeHttpRequest lets a paused request go on.
func ResumeHttpRequest() {
	if s := host.ContinueStream(StreamTypeHttpRequest); s != StatusOK {
		unexpected("proxy_continue_stream", s)
	}
}

// DispatchHttpCall calls cluster upstream; when the answer comes, callback runs in the calling
// HTTP context. A refused call (bad argument, internal failure) is an error.
func DispatchHttpCall(upstream string, headers []Header, body []byte, trailers []Header,
	timeoutMs uint32, callback func(numHeaders, bodySize, numTrailers int)) (uint32, error) {
	token, s := host.HttpCall(upstream, headers, body, trailers, timeoutMs)
	switch s {
	case StatusOK:
		registerCallout(token, callback)
		return token, nil
	case StatusBadArgument, StatusInternalFailure:
		return 0, errors.New("proxy_http_call: status " + strconv.FormatUint(uint64(s), 10))
	}
	unexpected("proxy_http_call", s)
	return 0, nil
}

// GetHttpCallResponseHeader is the (first) value of header name of the HTTP call's answer.
func GetHttpCallResponseHeader(name string) ([]byte, bool) {
	return getHeader(MapTypeHttpCallResponseHeaders, name)
}

// GetHttpCallResponseBody is size bytes of the HTTP call's answer body from start.
func GetHttpCallResponseBody(start, size int) ([]byte, bool) {
	return getBuffer(BufferTypeHttpCallResponseBody, start, size)
}

// DefineCounterMetric defines (or finds) the counter name in this VM.
func DefineCounterMetric(name string) (uint32, error) {
	id, s := host.DefineMetric(MetricTypeCounter, name)
	if s != StatusOK {
		return 0, errors.New("proxy_define_metric " + strconv.Quote(name) + ": status " + strconv.FormatUint(uint64(s), 10))
	}
	return id, nil
}

// IncrementMetric adds offset to metric id.
func IncrementMetric(id uint32, offset int64) error {
	if s := host.IncrementMetric(id, offset); s != StatusOK {
		return errors.New("proxy_increment_metric: status " + strconv.FormatUint(uint64(s), 10))
	}
	return nil
}

// SerializeMap is the ABI's header map encoding: the count, then each name's and value's
// length (u32 little-endian), then each name and value followed by a NUL.
func SerializeMap(headers []Header) []byte {
	size := 4
	for _, h := range headers {
		size += 8 + len(h.Name) + 1 + len(h.Value) + 1
	}
	out := make([]byte, 4+8*len(headers), size)
	binary.LittleEndian.PutUint32(out, uint32(len(headers)))
	for i, h := range headers {
		binary.LittleEndian.PutUint32(out[4+8*i:], uint32(len(h.Name)))
		binary.LittleEndian.PutUint32(out[8+8*i:], uint32(len(h.Value)))
	}
	for _, h := range headers {
		out = append(out, h.Name...)
		out = append(out, 0)
		out = append(out, h.Value...)
		out = append(out, 0)
	}
	return out
}

// DeserializeMap reads SerializeMap's encoding; a malformed map panics (the Rust SDK's does).
func DeserializeMap(data []byte) []Header {
	if len(data) == 0 {
		return nil
	}
	if len(data) < 4 {
		panic("header map: truncated")
	}
	n := int(binary.LittleEndian.Uint32(data))
	if n > (len(data)-4)/8 {
		panic("header map: truncated")
	}
	headers := make([]Header, n)
	at := 4 + 8*n
	for i := 0; i < n; i++ {
		kl := int(binary.LittleEndian.Uint32(data[4+8*i:]))
		vl := int(binary.LittleEndian.Uint32(data[8+8*i:]))
		if kl+vl+2 > len(data)-at {
			panic("header map: truncated")
		}
		headers[i].Name = string(data[at : at+kl])
		at += kl + 1
		headers[i].Value = append([]byte(nil), data[at:at+vl]...)
		at += vl + 1
	}
	return headers
}
