package main

import (
	"regexp"
	"testing"

	"filterbench/filters-go/proxytest"
)

func TestKeepsOrGeneratesAndCopies(t *testing.T) {
	e := proxytest.New(t, "")
	s := e.NewStream()
	s.SendRequestHeaders(proxytest.H("x-trace-id", "a", "x-trace-id", "b"), true)
	s.SendResponseHeaders(proxytest.H(":status", "200"), true)
	if v, _ := proxytest.Get(s.ResponseHeaders, "x-trace-id"); v != "a,b" {
		t.Fatalf("kept id %q", v)
	}
	s = e.NewStream()
	s.SendRequestHeaders(proxytest.H("x-trace-id", ""), true)
	id, _ := proxytest.Get(s.RequestHeaders, "x-trace-id")
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Fatalf("generated id %q", id)
	}
	s.SendResponseHeaders(nil, true)
	if v, _ := proxytest.Get(s.ResponseHeaders, "x-trace-id"); v != id {
		t.Fatalf("response id %q, request id %q", v, id)
	}
}
