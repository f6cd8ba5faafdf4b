package main

import (
	"testing"

	"filterbench/filters-go/proxytest"
)

func TestFixedWindowPerClient(t *testing.T) {
	e := proxytest.New(t, `{"requests_per_window": 2, "window_seconds": 10}`)
	send := func(xff string) (int, string) {
		s := e.NewStream()
		s.SendRequestHeaders(proxytest.H("x-forwarded-for", xff), true)
		if s.Local != nil {
			return int(s.Local.Status), ""
		}
		s.SendResponseHeaders(proxytest.H(":status", "200"), true)
		left, _ := proxytest.Get(s.ResponseHeaders, "x-rate-limit-remaining")
		return 200, left
	}
	for i, want := range []string{"1", "0", "429"} {
		status, left := send(" 10.0.0.1 , 10.0.0.2")
		if got := left; status == 429 && want != "429" || status == 200 && got != want {
			t.Fatalf("request %d: %d %q, want %s", i, status, left, want)
		}
	}
	if status, left := send("10.0.0.9"); status != 200 || left != "1" {
		t.Fatalf("another client: %d %q", status, left)
	}
	e.NowNanoseconds += 10_000_000_000
	if status, left := send("10.0.0.1"); status != 200 || left != "1" {
		t.Fatalf("next window: %d %q", status, left)
	}
}
