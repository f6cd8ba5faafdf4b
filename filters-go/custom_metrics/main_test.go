package main

import (
	"testing"

	"filterbench/filters-go/proxytest"
)

func TestCountsPerPrefixAndStatus(t *testing.T) {
	e := proxytest.New(t, `{"prefixes": ["api", "static"]}`)
	for _, r := range [][2]string{{"/api/x", "200"}, {"/api?q", "200"}, {"/", "404"}, {"/other", "500"}, {"*", "200"}} {
		s := e.NewStream()
		s.SendRequestHeaders(proxytest.H(":path", r[0]), true)
		s.SendResponseHeaders(proxytest.H(":status", r[1]), true)
		s.Done()
	}
	want := map[string]uint64{
		"custom_metrics.requests.api.200":   2,
		"custom_metrics.requests.root.404":  1,
		"custom_metrics.requests.other.500": 1,
		"custom_metrics.requests.other.200": 1,
	}
	for name, n := range want {
		if e.Counters[name] != n {
			t.Fatalf("%s = %d, want %d (all: %v)", name, e.Counters[name], n, e.Counters)
		}
	}
}
