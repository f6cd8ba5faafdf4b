package main

import (
	"testing"

	"filterbench/filters-go/proxytest"
	"filterbench/filters-go/proxywasm"
)

func TestBlocksBotsOnly(t *testing.T) {
	cases := []struct {
		headers []proxywasm.Header
		blocked bool
	}{
		{proxytest.H("user-agent", "GoogleBOT/2.1"), true},
		{proxytest.H("user-agent", "curl", "user-agent", "robot"), true},
		{proxytest.H("user-agent", "curl/8"), false},
		{proxytest.H("user-agent", ""), false},
		{nil, false},
	}
	e := proxytest.New(t, "")
	for _, c := range cases {
		s := e.NewStream()
		a := s.SendRequestHeaders(c.headers, true)
		if blocked := s.Local != nil; blocked != c.blocked || (a == proxywasm.ActionPause) != c.blocked {
			t.Fatalf("%v: blocked %v, action %v", c.headers, blocked, a)
		}
		if c.blocked && (s.Local.Status != 403 || string(s.Local.Body) != "Forbidden") {
			t.Fatalf("%v: reply %+v", c.headers, s.Local)
		}
		s.Done()
	}
}
