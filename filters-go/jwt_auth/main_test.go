package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"filterbench/filters-go/proxytest"
)

func token(secret, header, payload string) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(input))
	return input + "." + enc.EncodeToString(mac.Sum(nil))
}

func TestValidatesTokens(t *testing.T) {
	e := proxytest.New(t, `{"secret": "s3cret"}`)
	good := token("s3cret", `{"alg":"HS256"}`, `{"sub":"alice","exp":1e12}`)
	cases := []struct {
		authorization string
		reply         string
	}{
		{"", "Missing Authorization"},
		{"Bearer " + good, ""},
		{"bearer " + good, "Invalid Token"},
		{"Bearer " + token("other", `{"alg":"HS256"}`, `{"sub":"a"}`), "Invalid Token"},
		{"Bearer " + token("s3cret", `{"alg":"none"}`, `{"sub":"a"}`), "Invalid Token"},
		{"Bearer " + token("s3cret", `{"alg":"HS256"}`, `{"sub":1}`), "Invalid Token"},
		{"Bearer " + token("s3cret", `{"alg":"HS256"}`, `{"sub":"a","exp":1}`), "Invalid Token"},
		{"Bearer " + token("s3cret", `{"alg":"HS256"}`, `{"sub":"a","exp":"9"}`), "Invalid Token"},
		{"Bearer " + good + "=", "Invalid Token"},
		{"Bearer " + good[:10] + "\n" + good[10:], "Invalid Token"},
	}
	for _, c := range cases {
		s := e.NewStream()
		s.SendRequestHeaders(proxytest.H("authorization", c.authorization, "x-user-id", "mallory"), true)
		if c.reply == "" {
			if s.Local != nil {
				t.Fatalf("%q refused: %s", c.authorization, s.Local.Body)
			}
			if user, _ := proxytest.Get(s.RequestHeaders, "x-user-id"); user != "alice" {
				t.Fatalf("x-user-id %q", user)
			}
			continue
		}
		if s.Local == nil || s.Local.Status != 401 || string(s.Local.Body) != c.reply {
			t.Fatalf("%q: reply %+v, want 401 %s", c.authorization, s.Local, c.reply)
		}
	}
}
