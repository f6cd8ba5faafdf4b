package proxywasm

// The contexts of this VM and the callbacks that reach them. The exported Proxy* functions are
// the ABI's callbacks (proxy_on_*): wasip1 exports them from the module; proxytest calls them.

type callout struct {
	contextID uint32
	callback  func(numHeaders, bodySize, numTrailers int)
}

var (
	vmContext VMContext
	plugins   = map[uint32]PluginContext{}
	streams   = map[uint32]HttpContext{}
	callouts  = map[uint32]callout{}
	// current is the context whose callback is running (the one DispatchHttpCall answers to).
	current uint32
)

// SetVMContext registers the VM context; call it from the twin's init.
func SetVMContext(vm VMContext) { vmContext = vm }

// ResetContexts forgets every plugin and HTTP context, keeping the VM context (proxytest,
// between tests).
func ResetContexts() {
	plugins = map[uint32]PluginContext{}
	streams = map[uint32]HttpContext{}
	callouts = map[uint32]callout{}
	current = 0
}

func registerCallout(token uint32, callback func(int, int, int)) {
	if _, dup := callouts[token]; dup {
		panic("duplicate token_id")
	}
	callouts[token] = callout{contextID: current, callback: callback}
}

func stream(contextID uint32) HttpContext {
	s, ok := streams[contextID]
	if !ok {
		panic("invalid context_id")
	}
	current = contextID
	return s
}

func plugin(contextID uint32) PluginContext {
	p, ok := plugins[contextID]
	if !ok {
		panic("invalid root_context_id")
	}
	current = contextID
	return p
}

func flag(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// ProxyOnContextCreate makes a plugin context (parent 0) or an HTTP context of plugin parent.
func ProxyOnContextCreate(contextID, parentID uint32) {
	if parentID == 0 {
		if vmContext == nil {
			panic("no VM context: call proxywasm.SetVMContext in init")
		}
		if _, dup := plugins[contextID]; dup {
			panic("duplicate context_id")
		}
		plugins[contextID] = vmContext.NewPluginContext(contextID)
		return
	}
	if _, dup := streams[contextID]; dup {
		panic("duplicate context_id")
	}
	h := plugin(parentID).NewHttpContext(contextID)
	if h == nil {
		panic("NewHttpContext returned nil")
	}
	streams[contextID] = h
}

func ProxyOnVMStart(rootID uint32, vmConfigurationSize uint32) uint32 {
	plugin(rootID)
	return flag(vmContext.OnVMStart(int(vmConfigurationSize)))
}

func ProxyOnConfigure(rootID uint32, pluginConfigurationSize uint32) uint32 {
	return flag(plugin(rootID).OnPluginStart(int(pluginConfigurationSize)))
}

func ProxyOnRequestHeaders(contextID, numHeaders, endOfStream uint32) uint32 {
	return uint32(stream(contextID).OnHttpRequestHeaders(int(numHeaders), endOfStream != 0))
}

func ProxyOnRequestBody(contextID, bodySize, endOfStream uint32) uint32 {
	return uint32(stream(contextID).OnHttpRequestBody(int(bodySize), endOfStream != 0))
}

func ProxyOnRequestTrailers(contextID, numTrailers uint32) uint32 {
	return uint32(stream(contextID).OnHttpRequestTrailers(int(numTrailers)))
}

func ProxyOnResponseHeaders(contextID, numHeaders, endOfStream uint32) uint32 {
	return uint32(stream(contextID).OnHttpResponseHeaders(int(numHeaders), endOfStream != 0))
}

func ProxyOnResponseBody(contextID, bodySize, endOfStream uint32) uint32 {
	return uint32(stream(contextID).OnHttpResponseBody(int(bodySize), endOfStream != 0))
}

func ProxyOnResponseTrailers(contextID, numTrailers uint32) uint32 {
	return uint32(stream(contextID).OnHttpResponseTrailers(int(numTrailers)))
}

// ProxyOnHttpCallResponse runs the callback of the call token in the context that made it.
func ProxyOnHttpCallResponse(_, token, numHeaders, bodySize, numTrailers uint32) {
	c, ok := callouts[token]
	if !ok {
		panic("invalid token_id")
	}
	delete(callouts, token)
	if _, ok := streams[c.contextID]; !ok {
		if _, ok := plugins[c.contextID]; !ok {
			return
		}
	}
	current = c.contextID
	if s := host.SetEffectiveContext(c.contextID); s != StatusOK {
		unexpected("proxy_set_effective_context", s)
	}
	c.callback(int(numHeaders), int(bodySize), int(numTrailers))
}

func ProxyOnDone(contextID uint32) uint32 {
	if s, ok := streams[contextID]; ok {
		current = contextID
		s.OnHttpStreamDone()
	}
	return 1
}

func ProxyOnLog(uint32) {}

func ProxyOnDelete(contextID uint32) {
	delete(streams, contextID)
	delete(plugins, contextID)
}
