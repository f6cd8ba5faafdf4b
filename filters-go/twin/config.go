package twin

import (
	"errors"
	"strconv"

	"filterbench/filters-go/proxywasm"
)

// Config reads a plugin configuration the way the Rust twins' serde derive does: a JSON object
// whose named fields are required (each at most once, of its type) and whose other fields are
// ignored. Read the fields with U64, F64, String, Strings, then call Ok.
type Config struct {
	filter, want string
	object       *Value
	err          error
}

// ParseConfig parses raw for filter; want is the shape named in the error.
func ParseConfig(raw []byte, filter, want string) *Config {
	c := &Config{filter: filter, want: want}
	v, err := ParseJSON(raw)
	switch {
	case err != nil:
		c.err = err
	case v.Kind != Object:
		c.err = errors.New("invalid type: expected struct")
	default:
		c.object = v
	}
	return c
}

func (c *Config) field(name string) *Value {
	if c.err != nil {
		return nil
	}
	var found *Value
	for _, m := range c.object.Members {
		if m.Key != name {
			continue
		}
		if found != nil {
			c.err = errors.New("duplicate field `" + name + "`")
			return nil
		}
		found = m.Value
	}
	if found == nil {
		c.err = errors.New("missing field `" + name + "`")
	}
	return found
}

func (c *Config) invalid(name, want string) {
	if c.err == nil {
		c.err = errors.New("field `" + name + "`: invalid type, expected " + want)
	}
}

// U64 is a non-negative integer field (no fraction, no exponent, at most 2^64-1).
func (c *Config) U64(name string) uint64 {
	v := c.field(name)
	if v == nil {
		return 0
	}
	if v.Kind == Number {
		if n, err := strconv.ParseUint(v.Num, 10, 64); err == nil {
			return n
		}
	}
	c.invalid(name, "u64")
	return 0
}

// F64 is a number field.
func (c *Config) F64(name string) float64 {
	v := c.field(name)
	if v == nil {
		return 0
	}
	if f, ok := v.AsF64(); ok {
		return f
	}
	c.invalid(name, "f64")
	return 0
}

// String is a string field.
func (c *Config) String(name string) string {
	v := c.field(name)
	if v == nil {
		return ""
	}
	if s, ok := v.AsString(); ok {
		return s
	}
	c.invalid(name, "a string")
	return ""
}

// Strings is an array-of-strings field.
func (c *Config) Strings(name string) []string {
	v := c.field(name)
	if v == nil {
		return nil
	}
	if v.Kind != Array {
		c.invalid(name, "a sequence")
		return nil
	}
	out := make([]string, 0, len(v.Items))
	for _, item := range v.Items {
		s, ok := item.AsString()
		if !ok {
			c.invalid(name, "a sequence of strings")
			return nil
		}
		out = append(out, s)
	}
	return out
}

// Ok reports whether every field read; if not, it logs `<filter>: bad configuration (want
// <want>): <why>` at error level (the plugin's OnPluginStart then answers false and the host
// refuses the plugin).
func (c *Config) Ok() bool {
	if c.err == nil {
		return true
	}
	proxywasm.LogError(c.filter + ": bad configuration (want " + c.want + "): " + c.err.Error())
	return false
}
