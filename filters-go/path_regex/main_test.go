package main

import (
	"testing"

	"filterbench/filters-go/proxytest"
)

func TestSetsTheVersionDigits(t *testing.T) {
	e := proxytest.New(t, "")
	for path, want := range map[string]string{"/api/v012/x": "012", "/api/v1": "", "/api/vx/": "", "/v1/api/v2/": ""} {
		s := e.NewStream()
		s.SendRequestHeaders(proxytest.H(":path", path), true)
		if got, _ := proxytest.Get(s.RequestHeaders, "x-api-version"); got != want {
			t.Fatalf("%s: x-api-version %q, want %q", path, got, want)
		}
	}
}
