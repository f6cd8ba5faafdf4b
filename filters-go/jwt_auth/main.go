// jwt_auth: validates an HS256 JWT bearer token and forwards its subject as x-user-id. Missing
// or empty authorization -> 401 "Missing Authorization". Otherwise it must be `Bearer <jwt>`
// where the jwt has three base64url (no padding, canonical trailing bits) parts, a JSON object
// header with alg == HS256, a signature equal to HMAC-SHA256(secret, "<part1>.<part2>"), and a
// JSON object payload with a string sub and, when present, a numeric exp greater than now
// (whole seconds). Any failure -> 401 "Invalid Token"; valid -> x-user-id: <sub> (replacing a
// client's value).
// Configuration: {"secret": "<HMAC key>"}.
// Go twin of filters-lua/jwt_auth.lua; behaviour contract in bench/catalogue.toml.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"

	"filterbench/filters-go/proxywasm"
	"filterbench/filters-go/twin"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ proxywasm.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) proxywasm.PluginContext { return &pluginContext{} }

type pluginContext struct {
	proxywasm.DefaultPluginContext
	secret []byte
}

func (p *pluginContext) OnPluginStart(int) bool {
	c := twin.ParseConfig(proxywasm.GetPluginConfiguration(), "jwt_auth", `{"secret": <string>}`)
	secret := c.String("secret")
	if !c.Ok() {
		return false
	}
	p.secret = []byte(secret)
	return true
}

func (p *pluginContext) NewHttpContext(uint32) proxywasm.HttpContext {
	return &jwtAuth{secret: p.secret}
}

// Why a token was refused (all of them are answered "Invalid Token").
var (
	errNotBearer = errors.New("not bearer")
	errShape     = errors.New("shape")
	errBase64    = errors.New("base64")
	errHeader    = errors.New("header")
	errSignature = errors.New("signature")
	errPayload   = errors.New("payload")
	errExpired   = errors.New("expired")
)

var rawURL = base64.RawURLEncoding.Strict()

// decodePart decodes one base64url part: URL-safe alphabet, no padding, canonical trailing
// bits. (Go's decoder skips \r and \n; the Rust twin's refuses them, so they are refused here.)
func decodePart(part []byte) ([]byte, error) {
	if bytes.ContainsAny(part, "\r\n") {
		return nil, errBase64
	}
	out := make([]byte, rawURL.DecodedLen(len(part)))
	n, err := rawURL.Decode(out, part)
	if err != nil {
		return nil, errBase64
	}
	return out[:n], nil
}

// validate checks authorization and returns the token's sub.
func validate(authorization, secret []byte, nowSecs float64) (string, error) {
	token, ok := bytes.CutPrefix(authorization, []byte("Bearer "))
	if !ok {
		return "", errNotBearer
	}
	parts := bytes.Split(token, []byte("."))
	if len(parts) != 3 {
		return "", errShape
	}
	header, err := decodePart(parts[0])
	if err != nil {
		return "", err
	}
	payload, err := decodePart(parts[1])
	if err != nil {
		return "", err
	}
	signature, err := decodePart(parts[2])
	if err != nil {
		return "", err
	}

	h, err := twin.ParseJSON(header)
	if err != nil {
		return "", errHeader
	}
	if alg, ok := h.Get("alg").AsString(); !ok || alg != "HS256" {
		return "", errHeader
	}

	mac := hmac.New(sha256.New, secret)
	// The signing input is "<part1>.<part2>": the token up to its second dot.
	mac.Write(token[:len(parts[0])+1+len(parts[1])])
	if !hmac.Equal(mac.Sum(nil), signature) {
		return "", errSignature
	}

	claims, err := twin.ParseJSON(payload)
	if err != nil || claims.Kind != twin.Object {
		return "", errPayload
	}
	sub, ok := claims.Get("sub").AsString()
	if !ok {
		return "", errPayload
	}
	if exp := claims.Get("exp"); exp != nil {
		expSecs, ok := exp.AsF64()
		if !ok {
			return "", errPayload
		}
		if nowSecs >= expSecs {
			return "", errExpired
		}
	}
	return sub, nil
}

type jwtAuth struct {
	proxywasm.DefaultHttpContext
	secret []byte
}

func reply401(body string) proxywasm.Action {
	proxywasm.SendHttpResponse(401, []proxywasm.Header{{Name: "content-type", Value: []byte("text/plain")}}, []byte(body))
	return proxywasm.ActionPause
}

func (j *jwtAuth) OnHttpRequestHeaders(int, bool) proxywasm.Action {
	authorization, ok := twin.JoinedHeader(proxywasm.GetHttpRequestHeaders(), "authorization")
	if !ok || len(authorization) == 0 {
		return reply401("Missing Authorization")
	}
	// Whole seconds of Envoy's clock, compared as numbers with exp (like the Lua twin).
	now := proxywasm.GetCurrentTimeNanoseconds() / 1_000_000_000
	sub, err := validate(authorization, j.secret, float64(now))
	if err != nil {
		return reply401("Invalid Token")
	}
	proxywasm.ReplaceHttpRequestHeader("x-user-id", []byte(sub))
	return proxywasm.ActionContinue
}
