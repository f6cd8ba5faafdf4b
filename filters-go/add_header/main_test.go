package main

import (
	"testing"

	"filterbench/filters-go/proxytest"
	"filterbench/filters-go/proxywasm"
)

func TestAddsBothHeaders(t *testing.T) {
	s := proxytest.New(t, "").NewStream()
	if a := s.SendRequestHeaders(proxytest.H(":path", "/"), true); a != proxywasm.ActionContinue {
		t.Fatalf("request headers: %v", a)
	}
	if v, _ := proxytest.Get(s.RequestHeaders, "x-custom-header"); v != "Hello from filter" {
		t.Fatalf("x-custom-header = %q", v)
	}
	s.SendResponseHeaders(proxytest.H(":status", "200"), true)
	if v, _ := proxytest.Get(s.ResponseHeaders, "hello"); v != "world" {
		t.Fatalf("hello = %q", v)
	}
}
