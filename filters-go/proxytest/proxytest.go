// Package proxytest is a host emulator for the Go twins' main_test.go files (the role of the Go
// SDK's proxytest package): it implements proxywasm.Host in memory and drives the twin's
// callbacks the way Envoy does for one plugin and its streams. Header names are matched
// case-insensitively, a replaced header keeps one value, the clock is set by the test.
//
// It is for unit tests of a twin's logic only; equivalence with the Lua filter is proven by
// `filterbench verify --twin go` on the real module (in-process and in Envoy).
package proxytest

import (
	"strings"
	"testing"

	"filterbench/filters-go/proxywasm"
)

// LocalResponse is a reply the twin sent (proxy_send_local_response).
type LocalResponse struct {
	Status  uint32
	Headers []proxywasm.Header
	Body    []byte
}

// Call is an HTTP call the twin dispatched.
type Call struct {
	Upstream  string
	Headers   []proxywasm.Header
	Body      []byte
	TimeoutMs uint32
	Token     uint32
}

// Emulator is the host of one plugin (root context 1) in one VM.
type Emulator struct {
	t      testing.TB
	config []byte
	// NowNanoseconds is the host's clock.
	NowNanoseconds uint64
	// Logs are the messages logged, as "<level>: <message>".
	Logs     []string
	Counters map[string]uint64

	metricIDs   map[string]uint32
	metricNames []string
	nextContext uint32
	nextToken   uint32
	effective   *Stream
	streams     map[uint32]*Stream
}

// Stream is one HTTP stream of the emulator.
type Stream struct {
	e               *Emulator
	id              uint32
	RequestHeaders  []proxywasm.Header
	ResponseHeaders []proxywasm.Header
	RequestBody     []byte
	Local           *LocalResponse
	Calls           []Call
	// Resumed counts proxy_continue_stream(request) calls.
	Resumed int

	callHeaders []proxywasm.Header
	callBody    []byte
}

// New starts a VM and configures the plugin with config; the test fails when the plugin
// refuses it. Use NewRefused to test a refusal.
func New(t testing.TB, config string) *Emulator {
	t.Helper()
	e, ok := start(t, config)
	if !ok {
		t.Fatalf("the plugin refused its configuration %q; logs: %v", config, e.Logs)
	}
	return e
}

// Configure starts a VM with config and answers whether the plugin accepted it.
func Configure(t testing.TB, config string) (*Emulator, bool) {
	t.Helper()
	return start(t, config)
}

func start(t testing.TB, config string) (*Emulator, bool) {
	e := &Emulator{
		t:              t,
		config:         []byte(config),
		NowNanoseconds: 1_700_000_000_000_000_000,
		Counters:       map[string]uint64{},
		metricIDs:      map[string]uint32{},
		nextContext:    2,
		nextToken:      1,
		streams:        map[uint32]*Stream{},
	}
	proxywasm.ResetContexts()
	proxywasm.SetHost(e)
	proxywasm.ProxyOnContextCreate(1, 0)
	if proxywasm.ProxyOnVMStart(1, 0) == 0 {
		return e, false
	}
	return e, proxywasm.ProxyOnConfigure(1, uint32(len(config))) != 0
}

// NewStream makes a new HTTP stream (proxy_on_context_create with the plugin as parent).
func (e *Emulator) NewStream() *Stream {
	s := &Stream{e: e, id: e.nextContext}
	e.nextContext++
	e.streams[s.id] = s
	proxywasm.ProxyOnContextCreate(s.id, 1)
	return s
}

func flag(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// H builds headers from name, value pairs.
func H(pairs ...string) []proxywasm.Header {
	var h []proxywasm.Header
	for i := 0; i+1 < len(pairs); i += 2 {
		h = append(h, proxywasm.Header{Name: pairs[i], Value: []byte(pairs[i+1])})
	}
	return h
}

// Get is the first value of header name in headers.
func Get(headers []proxywasm.Header, name string) (string, bool) {
	for _, h := range headers {
		if strings.EqualFold(h.Name, name) {
			return string(h.Value), true
		}
	}
	return "", false
}

// SendRequestHeaders runs the request headers callback.
func (s *Stream) SendRequestHeaders(headers []proxywasm.Header, endOfStream bool) proxywasm.Action {
	s.RequestHeaders = headers
	s.e.effective = s
	return proxywasm.Action(proxywasm.ProxyOnRequestHeaders(s.id, uint32(len(headers)), flag(endOfStream)))
}

// SendRequestBody appends chunk to the buffered body and runs the request body callback.
func (s *Stream) SendRequestBody(chunk []byte, endOfStream bool) proxywasm.Action {
	s.RequestBody = append(s.RequestBody, chunk...)
	s.e.effective = s
	return proxywasm.Action(proxywasm.ProxyOnRequestBody(s.id, uint32(len(s.RequestBody)), flag(endOfStream)))
}

// SendRequestTrailers runs the request trailers callback.
func (s *Stream) SendRequestTrailers(n int) proxywasm.Action {
	s.e.effective = s
	return proxywasm.Action(proxywasm.ProxyOnRequestTrailers(s.id, uint32(n)))
}

// SendResponseHeaders runs the response headers callback.
func (s *Stream) SendResponseHeaders(headers []proxywasm.Header, endOfStream bool) proxywasm.Action {
	s.ResponseHeaders = headers
	s.e.effective = s
	return proxywasm.Action(proxywasm.ProxyOnResponseHeaders(s.id, uint32(len(headers)), flag(endOfStream)))
}

// AnswerCall delivers the answer of the stream's last HTTP call (callback on the root context,
// as Envoy does; the twin's layer routes it to the stream).
func (s *Stream) AnswerCall(headers []proxywasm.Header, body []byte) {
	if len(s.Calls) == 0 {
		s.e.t.Fatalf("no HTTP call to answer")
	}
	s.callHeaders, s.callBody = headers, body
	s.e.effective = nil
	proxywasm.ProxyOnHttpCallResponse(1, s.Calls[len(s.Calls)-1].Token, uint32(len(headers)), uint32(len(body)), 0)
}

// Done ends the stream (proxy_on_done, proxy_on_log, proxy_on_delete).
func (s *Stream) Done() {
	proxywasm.ProxyOnDone(s.id)
	proxywasm.ProxyOnLog(s.id)
	proxywasm.ProxyOnDelete(s.id)
	delete(s.e.streams, s.id)
}

func (e *Emulator) stream() *Stream {
	if e.effective == nil {
		e.t.Fatalf("a stream host call outside of a stream callback")
	}
	return e.effective
}

func (e *Emulator) headers(m proxywasm.MapType) *[]proxywasm.Header {
	s := e.stream()
	switch m {
	case proxywasm.MapTypeHttpRequestHeaders:
		return &s.RequestHeaders
	case proxywasm.MapTypeHttpResponseHeaders:
		return &s.ResponseHeaders
	case proxywasm.MapTypeHttpCallResponseHeaders:
		return &s.callHeaders
	}
	e.t.Fatalf("map type %d is not emulated", m)
	return nil
}

// The proxywasm.Host methods.

func (e *Emulator) Log(level proxywasm.LogLevel, message string) proxywasm.Status {
	names := []string{"trace", "debug", "info", "warn", "error", "critical"}
	e.Logs = append(e.Logs, names[level]+": "+message)
	return proxywasm.StatusOK
}

func (e *Emulator) CurrentTimeNanoseconds() (uint64, proxywasm.Status) {
	return e.NowNanoseconds, proxywasm.StatusOK
}

func (e *Emulator) GetBufferBytes(b proxywasm.BufferType, start, maxSize int) ([]byte, bool, proxywasm.Status) {
	var data []byte
	switch b {
	case proxywasm.BufferTypePluginConfiguration:
		data = e.config
	case proxywasm.BufferTypeHttpRequestBody:
		data = e.stream().RequestBody
	case proxywasm.BufferTypeHttpCallResponseBody:
		data = e.stream().callBody
	default:
		return nil, false, proxywasm.StatusNotFound
	}
	if len(data) == 0 {
		return nil, false, proxywasm.StatusOK
	}
	if start > len(data) {
		return nil, false, proxywasm.StatusBadArgument
	}
	end := len(data)
	if maxSize < end-start {
		end = start + maxSize
	}
	return append([]byte(nil), data[start:end]...), true, proxywasm.StatusOK
}

func (e *Emulator) SetBufferBytes(b proxywasm.BufferType, start, size int, value []byte) proxywasm.Status {
	if b != proxywasm.BufferTypeHttpRequestBody {
		return proxywasm.StatusBadArgument
	}
	s := e.stream()
	if start > len(s.RequestBody) || start+size > len(s.RequestBody) {
		return proxywasm.StatusBadArgument
	}
	body := append([]byte(nil), s.RequestBody[:start]...)
	body = append(body, value...)
	s.RequestBody = append(body, s.RequestBody[start+size:]...)
	return proxywasm.StatusOK
}

func (e *Emulator) GetHeaderMapPairs(m proxywasm.MapType) ([]proxywasm.Header, proxywasm.Status) {
	return append([]proxywasm.Header(nil), *e.headers(m)...), proxywasm.StatusOK
}

func (e *Emulator) GetHeaderMapValue(m proxywasm.MapType, key string) ([]byte, proxywasm.Status) {
	for _, h := range *e.headers(m) {
		if strings.EqualFold(h.Name, key) {
			return append([]byte{}, h.Value...), proxywasm.StatusOK
		}
	}
	return nil, proxywasm.StatusNotFound
}

func (e *Emulator) AddHeaderMapValue(m proxywasm.MapType, key string, value []byte) proxywasm.Status {
	h := e.headers(m)
	*h = append(*h, proxywasm.Header{Name: strings.ToLower(key), Value: append([]byte(nil), value...)})
	return proxywasm.StatusOK
}

func (e *Emulator) ReplaceHeaderMapValue(m proxywasm.MapType, key string, value []byte) proxywasm.Status {
	e.RemoveHeaderMapValue(m, key)
	return e.AddHeaderMapValue(m, key, value)
}

func (e *Emulator) RemoveHeaderMapValue(m proxywasm.MapType, key string) proxywasm.Status {
	h := e.headers(m)
	kept := (*h)[:0]
	for _, x := range *h {
		if !strings.EqualFold(x.Name, key) {
			kept = append(kept, x)
		}
	}
	*h = kept
	return proxywasm.StatusOK
}

func (e *Emulator) SendLocalResponse(status uint32, _ string, body []byte, headers []proxywasm.Header, _ int32) proxywasm.Status {
	e.stream().Local = &LocalResponse{Status: status, Headers: headers, Body: append([]byte(nil), body...)}
	return proxywasm.StatusOK
}

func (e *Emulator) HttpCall(upstream string, headers []proxywasm.Header, body []byte, _ []proxywasm.Header, timeoutMs uint32) (uint32, proxywasm.Status) {
	if upstream == "" {
		return 0, proxywasm.StatusBadArgument
	}
	s := e.stream()
	token := e.nextToken
	e.nextToken++
	s.Calls = append(s.Calls, Call{Upstream: upstream, Headers: headers, Body: append([]byte(nil), body...), TimeoutMs: timeoutMs, Token: token})
	return token, proxywasm.StatusOK
}

func (e *Emulator) ContinueStream(st proxywasm.StreamType) proxywasm.Status {
	if st == proxywasm.StreamTypeHttpRequest {
		e.stream().Resumed++
	}
	return proxywasm.StatusOK
}

func (e *Emulator) SetEffectiveContext(id uint32) proxywasm.Status {
	s, ok := e.streams[id]
	if !ok {
		return proxywasm.StatusBadArgument
	}
	e.effective = s
	return proxywasm.StatusOK
}

func (e *Emulator) DefineMetric(_ proxywasm.MetricType, name string) (uint32, proxywasm.Status) {
	if id, ok := e.metricIDs[name]; ok {
		return id, proxywasm.StatusOK
	}
	id := uint32(len(e.metricNames))
	e.metricIDs[name] = id
	e.metricNames = append(e.metricNames, name)
	return id, proxywasm.StatusOK
}

func (e *Emulator) IncrementMetric(id uint32, offset int64) proxywasm.Status {
	if int(id) >= len(e.metricNames) {
		return proxywasm.StatusNotFound
	}
	e.Counters[e.metricNames[id]] += uint64(offset)
	return proxywasm.StatusOK
}
