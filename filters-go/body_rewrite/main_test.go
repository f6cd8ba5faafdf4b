package main

import (
	"testing"

	"filterbench/filters-go/proxytest"
)

func rewrite(t *testing.T, body string) string {
	e := proxytest.New(t, "")
	s := e.NewStream()
	s.SendRequestHeaders(proxytest.H("content-length", "1", "x-request-id", "r1"), false)
	if _, ok := proxytest.Get(s.RequestHeaders, "content-length"); ok {
		t.Fatalf("content-length kept")
	}
	s.SendRequestBody([]byte(body), true)
	return string(s.RequestBody)
}

func TestRewritesObjectsLikeSerdeJSON(t *testing.T) {
	cases := map[string]string{
		`{"b":1E5,"a":[1.50,-0,"\u00e9\/\u0001"],"a":true}`: `{"a":true,"b":1e+5,"request_id":"r1","server_timestamp":1700000000000}`,
		` {"x": {"y": 1e-2}, "request_id": 5} `:             `{"request_id":"r1","server_timestamp":1700000000000,"x":{"y":1e-2}}`,
		`{"s":"<>&\u2028\ud83d\ude00\t"}`:                   "{\"request_id\":\"r1\",\"s\":\"<>&\u2028\U0001F600\\t\",\"server_timestamp\":1700000000000}",
		`[1]`:                                               `[1]`,
		`{"a":01}`:                                          `{"a":01}`,
		`{"a":"\ud800"}`:                                    `{"a":"\ud800"}`,
		`{"a":1,}`:                                          `{"a":1,}`,
		"{\"a\":\"\xff\"}":                                  "{\"a\":\"\xff\"}",
	}
	for in, want := range cases {
		if got := rewrite(t, in); got != want {
			t.Errorf("%s:\n got %s\nwant %s", in, got, want)
		}
	}
}

func TestNestingLimitIs127(t *testing.T) {
	deep := func(n int) string {
		s := `{"a":`
		for i := 1; i < n; i++ {
			s += "["
		}
		s += "0"
		for i := 1; i < n; i++ {
			s += "]"
		}
		return s + "}"
	}
	if got := rewrite(t, deep(127)); got == deep(127) {
		t.Fatalf("127 levels not rewritten")
	}
	if got := rewrite(t, deep(128)); got != deep(128) {
		t.Fatalf("128 levels rewritten")
	}
}
