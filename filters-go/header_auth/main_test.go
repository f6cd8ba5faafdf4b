package main

import (
	"testing"

	"filterbench/filters-go/proxytest"
)

func TestOnlyExactlyTruePasses(t *testing.T) {
	e := proxytest.New(t, "")
	for headers, pass := range map[string]bool{"true": true, "TRUE": false, "": false, "true,true": false} {
		h := proxytest.H("allow", headers)
		if headers == "true,true" {
			h = proxytest.H("allow", "true", "allow", "true")
		}
		s := e.NewStream()
		s.SendRequestHeaders(h, true)
		if (s.Local == nil) != pass {
			t.Fatalf("allow %q: local reply %+v", headers, s.Local)
		}
	}
	s := e.NewStream()
	s.SendRequestHeaders(nil, true)
	if s.Local == nil || s.Local.Status != 403 {
		t.Fatalf("missing allow: %+v", s.Local)
	}
}
