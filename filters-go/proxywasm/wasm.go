//go:build wasip1

package proxywasm

import "unsafe"

// The host functions the module imports (module "env"), proxy-wasm ABI 0.2.1. Sizes and
// pointers are 32-bit (wasm32).

//go:wasmimport env proxy_log
func proxyLog(level uint32, message unsafe.Pointer, size uint32) uint32

//go:wasmimport env proxy_get_current_time_nanoseconds
func proxyGetCurrentTimeNanoseconds(ret unsafe.Pointer) uint32

//go:wasmimport env proxy_get_buffer_bytes
func proxyGetBufferBytes(buffer, start, maxSize uint32, retData, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_set_buffer_bytes
func proxySetBufferBytes(buffer, start, size uint32, data unsafe.Pointer, dataSize uint32) uint32

//go:wasmimport env proxy_get_header_map_pairs
func proxyGetHeaderMapPairs(mapType uint32, retData, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_get_header_map_value
func proxyGetHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, retData, retSize unsafe.Pointer) uint32

//go:wasmimport env proxy_add_header_map_value
func proxyAddHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) uint32

//go:wasmimport env proxy_replace_header_map_value
func proxyReplaceHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) uint32

//go:wasmimport env proxy_remove_header_map_value
func proxyRemoveHeaderMapValue(mapType uint32, key unsafe.Pointer, keySize uint32) uint32

//go:wasmimport env proxy_send_local_response
func proxySendLocalResponse(statusCode uint32, details unsafe.Pointer, detailsSize uint32, body unsafe.Pointer, bodySize uint32, headers unsafe.Pointer, headersSize uint32, grpcStatus int32) uint32

//go:wasmimport env proxy_http_call
func proxyHttpCall(upstream unsafe.Pointer, upstreamSize uint32, headers unsafe.Pointer, headersSize uint32, body unsafe.Pointer, bodySize uint32, trailers unsafe.Pointer, trailersSize uint32, timeoutMs uint32, retToken unsafe.Pointer) uint32

//go:wasmimport env proxy_continue_stream
func proxyContinueStream(stream uint32) uint32

//go:wasmimport env proxy_set_effective_context
func proxySetEffectiveContext(contextID uint32) uint32

//go:wasmimport env proxy_define_metric
func proxyDefineMetric(metricType uint32, name unsafe.Pointer, nameSize uint32, retID unsafe.Pointer) uint32

//go:wasmimport env proxy_increment_metric
func proxyIncrementMetric(metricID uint32, offset int64) uint32

// Memory the host asked for (proxy_on_memory_allocate) while a host call runs, kept reachable
// by address until the call's caller takes it: the Go GC must not free what the host wrote.
var allocated = map[uint32][]byte{}

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocate(size uint32) uint32 {
	buf := make([]byte, max(size, 1))
	at := uint32(uintptr(unsafe.Pointer(&buf[0])))
	allocated[at] = buf[:size]
	return at
}

// taken is the block the host returned at address at (size bytes), released to the Go GC
// once the caller drops it. Ok with a null address is nil, false.
func taken(at, size uint32) ([]byte, bool) {
	if at == 0 {
		return nil, false
	}
	buf, ok := allocated[at]
	if !ok || uint32(len(buf)) < size {
		panic("proxy-wasm: the host returned memory it did not allocate")
	}
	delete(allocated, at)
	return buf[:size], true
}

func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func sptr(s string) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.StringData(s))
}

type wasmHost struct{}

func init() { host = wasmHost{} }

func (wasmHost) Log(level LogLevel, message string) Status {
	return Status(proxyLog(uint32(level), sptr(message), uint32(len(message))))
}

func (wasmHost) CurrentTimeNanoseconds() (uint64, Status) {
	var ns uint64
	s := proxyGetCurrentTimeNanoseconds(unsafe.Pointer(&ns))
	return ns, Status(s)
}

func (wasmHost) GetBufferBytes(buffer BufferType, start, maxSize int) ([]byte, bool, Status) {
	var at, size uint32
	s := Status(proxyGetBufferBytes(uint32(buffer), uint32(start), uint32(maxSize), unsafe.Pointer(&at), unsafe.Pointer(&size)))
	if s != StatusOK {
		return nil, false, s
	}
	data, present := taken(at, size)
	return data, present, s
}

func (wasmHost) SetBufferBytes(buffer BufferType, start, size int, value []byte) Status {
	return Status(proxySetBufferBytes(uint32(buffer), uint32(start), uint32(size), ptr(value), uint32(len(value))))
}

func (wasmHost) GetHeaderMapPairs(mapType MapType) ([]Header, Status) {
	var at, size uint32
	s := Status(proxyGetHeaderMapPairs(uint32(mapType), unsafe.Pointer(&at), unsafe.Pointer(&size)))
	if s != StatusOK {
		return nil, s
	}
	data, _ := taken(at, size)
	return DeserializeMap(data), s
}

func (wasmHost) GetHeaderMapValue(mapType MapType, key string) ([]byte, Status) {
	var at, size uint32
	s := Status(proxyGetHeaderMapValue(uint32(mapType), sptr(key), uint32(len(key)), unsafe.Pointer(&at), unsafe.Pointer(&size)))
	if s != StatusOK {
		return nil, s
	}
	data, present := taken(at, size)
	if !present {
		data = []byte{}
	}
	return data, s
}

func (wasmHost) AddHeaderMapValue(mapType MapType, key string, value []byte) Status {
	return Status(proxyAddHeaderMapValue(uint32(mapType), sptr(key), uint32(len(key)), ptr(value), uint32(len(value))))
}

func (wasmHost) ReplaceHeaderMapValue(mapType MapType, key string, value []byte) Status {
	return Status(proxyReplaceHeaderMapValue(uint32(mapType), sptr(key), uint32(len(key)), ptr(value), uint32(len(value))))
}

func (wasmHost) RemoveHeaderMapValue(mapType MapType, key string) Status {
	return Status(proxyRemoveHeaderMapValue(uint32(mapType), sptr(key), uint32(len(key))))
}

func (wasmHost) SendLocalResponse(statusCode uint32, details string, body []byte, headers []Header, grpcStatus int32) Status {
	h := SerializeMap(headers)
	return Status(proxySendLocalResponse(statusCode, sptr(details), uint32(len(details)), ptr(body), uint32(len(body)), ptr(h), uint32(len(h)), grpcStatus))
}

func (wasmHost) HttpCall(upstream string, headers []Header, body []byte, trailers []Header, timeoutMs uint32) (uint32, Status) {
	h := SerializeMap(headers)
	t := SerializeMap(trailers)
	var token uint32
	s := proxyHttpCall(sptr(upstream), uint32(len(upstream)), ptr(h), uint32(len(h)), ptr(body), uint32(len(body)), ptr(t), uint32(len(t)), timeoutMs, unsafe.Pointer(&token))
	return token, Status(s)
}

func (wasmHost) ContinueStream(stream StreamType) Status {
	return Status(proxyContinueStream(uint32(stream)))
}

func (wasmHost) SetEffectiveContext(contextID uint32) Status {
	return Status(proxySetEffectiveContext(contextID))
}

func (wasmHost) DefineMetric(metricType MetricType, name string) (uint32, Status) {
	var id uint32
	s := proxyDefineMetric(uint32(metricType), sptr(name), uint32(len(name)), unsafe.Pointer(&id))
	return id, Status(s)
}

func (wasmHost) IncrementMetric(metricID uint32, offset int64) Status {
	return Status(proxyIncrementMetric(metricID, offset))
}

// The callbacks the module exports.

//go:wasmexport proxy_abi_version_0_2_1
func proxyAbiVersion021() {}

//go:wasmexport proxy_on_context_create
func proxyOnContextCreate(contextID, parentID uint32) { ProxyOnContextCreate(contextID, parentID) }

//go:wasmexport proxy_on_vm_start
func proxyOnVMStart(rootID, size uint32) uint32 { return ProxyOnVMStart(rootID, size) }

//go:wasmexport proxy_on_configure
func proxyOnConfigure(rootID, size uint32) uint32 { return ProxyOnConfigure(rootID, size) }

//go:wasmexport proxy_on_request_headers
func proxyOnRequestHeaders(id, n, eos uint32) uint32 { return ProxyOnRequestHeaders(id, n, eos) }

//go:wasmexport proxy_on_request_body
func proxyOnRequestBody(id, size, eos uint32) uint32 { return ProxyOnRequestBody(id, size, eos) }

//go:wasmexport proxy_on_request_trailers
func proxyOnRequestTrailers(id, n uint32) uint32 { return ProxyOnRequestTrailers(id, n) }

//go:wasmexport proxy_on_response_headers
func proxyOnResponseHeaders(id, n, eos uint32) uint32 { return ProxyOnResponseHeaders(id, n, eos) }

//go:wasmexport proxy_on_response_body
func proxyOnResponseBody(id, size, eos uint32) uint32 { return ProxyOnResponseBody(id, size, eos) }

//go:wasmexport proxy_on_response_trailers
func proxyOnResponseTrailers(id, n uint32) uint32 { return ProxyOnResponseTrailers(id, n) }

//go:wasmexport proxy_on_http_call_response
func proxyOnHttpCallResponse(id, token, headers, body, trailers uint32) {
	ProxyOnHttpCallResponse(id, token, headers, body, trailers)
}

//go:wasmexport proxy_on_done
func proxyOnDone(id uint32) uint32 { return ProxyOnDone(id) }

//go:wasmexport proxy_on_log
func proxyOnLog(id uint32) { ProxyOnLog(id) }

//go:wasmexport proxy_on_delete
func proxyOnDelete(id uint32) { ProxyOnDelete(id) }
