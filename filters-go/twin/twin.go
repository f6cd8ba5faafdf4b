// Package twin is what the Go twins (filters-go/<pair>/) share that is not their filter, as
// filters-wasm/common is for the Rust twins: the Lua-style header lookup, random ids, the
// plugin configuration, serde_json-compatible JSON (json.go) and Rust's lossy UTF-8 decoding.
package twin

import (
	"crypto/rand"
	"strings"

	"filterbench/filters-go/proxywasm"
)

// JoinedHeader is the value of header name as Envoy's Lua headers():get() returns it: absent
// (false) when missing, otherwise every value joined with "," in arrival order. (Envoy's
// proxy-wasm single-header getter returns only the first value.)
func JoinedHeader(headers []proxywasm.Header, name string) ([]byte, bool) {
	var joined []byte
	found := false
	for _, h := range headers {
		if !asciiFold(h.Name, name) {
			continue
		}
		if found {
			joined = append(joined, ',')
		}
		joined = append(joined, h.Value...)
		found = true
	}
	if found && joined == nil {
		joined = []byte{}
	}
	return joined, found
}

// asciiFold is Rust's eq_ignore_ascii_case (strings.EqualFold also folds non-ASCII letters).
func asciiFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

var counter uint64

// RandomHex is 32 random lowercase hex characters (16 bytes from WASI random_get). Should the
// host refuse randomness, a splitmix64 stream seeded from seed (the clock) and a per-VM counter
// is used, as the Rust twins do.
func RandomHex(seed uint64) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		counter++
		state := seed ^ (counter * 0xD1B54A32D192ED03)
		for i := 0; i < 16; i += 8 {
			state += 0x9E3779B97F4A7C15
			z := state
			z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
			z = (z ^ (z >> 27)) * 0x94D049BB133111EB
			z ^= z >> 31
			for j := 0; j < 8; j++ {
				b[i+j] = byte(z >> (8 * j))
			}
		}
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 32)
	for i, c := range b {
		out[2*i] = hex[c>>4]
		out[2*i+1] = hex[c&0xf]
	}
	return string(out)
}

// Lossy is Rust's String::from_utf8_lossy: each maximal ill-formed subsequence becomes one
// U+FFFD (Go's own conversions replace byte by byte).
func Lossy(b []byte) string {
	var out strings.Builder
	out.Grow(len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			out.WriteByte(c)
			i++
			continue
		}
		need, lo, hi := 0, byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need = 1
		case c == 0xE0:
			need, lo = 2, 0xA0
		case c == 0xED:
			need, hi = 2, 0x9F
		case c >= 0xE1 && c <= 0xEF:
			need = 2
		case c == 0xF0:
			need, lo = 3, 0x90
		case c == 0xF4:
			need, hi = 3, 0x8F
		case c >= 0xF1 && c <= 0xF3:
			need = 3
		default:
			out.WriteString("\uFFFD")
			i++
			continue
		}
		j := i + 1
		ok := true
		for k := 0; k < need; k++ {
			l, h := byte(0x80), byte(0xBF)
			if k == 0 {
				l, h = lo, hi
			}
			if j >= len(b) || b[j] < l || b[j] > h {
				ok = false
				break
			}
			j++
		}
		if ok {
			out.Write(b[i:j])
		} else {
			out.WriteString("\uFFFD")
		}
		i = j
	}
	return out.String()
}
