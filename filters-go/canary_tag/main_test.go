package main

import (
	"testing"

	"filterbench/filters-go/proxytest"
)

func TestLanes(t *testing.T) {
	// FNV-1a-32("") % 100 = 2166136261 % 100 = 61.
	for percent, want := range map[string]string{"61": "production", "61.5": "canary", "100": "canary", "0": "production"} {
		s := proxytest.New(t, `{"canary_percent": `+percent+`}`).NewStream()
		s.SendRequestHeaders(proxytest.H("x-user-id", ""), true)
		if got, _ := proxytest.Get(s.RequestHeaders, "x-swimlane"); got != want {
			t.Fatalf("percent %s: lane %q, want %q", percent, got, want)
		}
	}
	s := proxytest.New(t, `{"canary_percent": 100}`).NewStream()
	s.SendRequestHeaders(proxytest.H("x-swimlane", "", "x-user-id", "u"), true)
	if got, _ := proxytest.Get(s.RequestHeaders, "x-swimlane"); got != "" {
		t.Fatalf("a present x-swimlane changed to %q", got)
	}
}

func TestRefusesBadConfiguration(t *testing.T) {
	for _, config := range []string{``, `{}`, `{"canary_percent": "5"}`, `{"canary_percent": 5,}`, `{"canary_percent": 1, "canary_percent": 2}`} {
		if _, ok := proxytest.Configure(t, config); ok {
			t.Fatalf("configuration %q accepted", config)
		}
	}
}
