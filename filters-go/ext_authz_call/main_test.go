package main

import (
	"testing"

	"filterbench/filters-go/proxytest"
)

const pluginConfig = `{"cluster": "auth_service", "timeout_ms": 250}`

func TestAsksAndFollowsTheVerdict(t *testing.T) {
	cases := []struct {
		status, body string
		local        uint32
		user         string
	}{
		{"200", `{"valid":true,"user_id":"u1"}`, 0, "u1"},
		{"200", `{"valid":false}`, 401, ""},
		{"200", `{"valid":true}`, 503, ""},
		{"500", `{"valid":true,"user_id":"u1"}`, 503, ""},
		{"200", `not json`, 503, ""},
	}
	e := proxytest.New(t, pluginConfig)
	for _, c := range cases {
		s := e.NewStream()
		s.SendRequestHeaders(proxytest.H("authorization", "Bearer \"x\"\x01"), true)
		if len(s.Calls) != 1 || s.Calls[0].Upstream != "auth_service" || s.Calls[0].TimeoutMs != 250 {
			t.Fatalf("calls %+v", s.Calls)
		}
		if got := string(s.Calls[0].Body); got != `{"token":"Bearer \"x\"\u0001"}` {
			t.Fatalf("call body %s", got)
		}
		s.AnswerCall(proxytest.H(":status", c.status), []byte(c.body))
		switch {
		case c.local != 0 && (s.Local == nil || s.Local.Status != c.local):
			t.Fatalf("%+v: reply %+v", c, s.Local)
		case c.local == 0:
			if user, _ := proxytest.Get(s.RequestHeaders, "x-user-id"); user != c.user || s.Resumed != 1 {
				t.Fatalf("%+v: x-user-id %q, resumed %d", c, user, s.Resumed)
			}
		}
	}
}
