package twin

import (
	"errors"
	"sort"
	"strconv"
	"unicode/utf8"
)

// JSON the way the Rust twins' serde_json 1.0 (feature arbitrary_precision, default sorted map)
// reads and writes it, since that is the twins' contract (body_rewrite re-serialises what it
// reads; ext_authz_call and jwt_auth read objects):
//   - grammar: RFC 8259 with serde_json's limits: at most 127 nested arrays/objects; strings must
//     be UTF-8 after escapes, with no raw control character (< 0x20), paired \u surrogates only;
//     whitespace is space, \t, \n, \r; nothing but whitespace after the value;
//   - numbers keep their digits, written back as serde_json's scanner records them: `E` becomes
//     `e`, an exponent without sign gains `+`;
//   - objects: a repeated key keeps its last value; written with keys in byte order;
//   - strings are written escaping only `"`, `\` and control characters (\b \t \n \f \r, else
//     \u00xx in lowercase hex).

// Kind is a JSON value's type.
type Kind uint8

const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// Member is one key/value pair of an object, in document order (repeats included).
type Member struct {
	Key   string
	Value *Value
}

// Value is a parsed JSON value.
type Value struct {
	Kind    Kind
	Bool    bool
	Num     string // Number: the digits as serde_json's scanner records them
	Str     string
	Items   []*Value
	Members []Member
}

// Get is the value of key in an object (the last one when repeated), or nil.
func (v *Value) Get(key string) *Value {
	if v == nil || v.Kind != Object {
		return nil
	}
	for i := len(v.Members) - 1; i >= 0; i-- {
		if v.Members[i].Key == key {
			return v.Members[i].Value
		}
	}
	return nil
}

// AsString is the string of a String value.
func (v *Value) AsString() (string, bool) {
	if v == nil || v.Kind != String {
		return "", false
	}
	return v.Str, true
}

// AsF64 is serde_json's Number::as_f64: the number parsed as f64, none when not finite.
func (v *Value) AsF64() (float64, bool) {
	if v == nil || v.Kind != Number {
		return 0, false
	}
	f, err := strconv.ParseFloat(v.Num, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	if f > 1.7976931348623157e308 || f < -1.7976931348623157e308 {
		return 0, false
	}
	return f, true
}

// Set puts key = value in an object (replacing any members named key).
func (v *Value) Set(key string, value *Value) {
	kept := v.Members[:0]
	for _, m := range v.Members {
		if m.Key != key {
			kept = append(kept, m)
		}
	}
	v.Members = append(kept, Member{Key: key, Value: value})
}

const maxDepth = 128

var errJSON = errors.New("not JSON")

type parser struct {
	data  []byte
	at    int
	depth int
}

// ParseJSON parses data as one JSON value (serde_json's grammar, see above).
func ParseJSON(data []byte) (*Value, error) {
	p := parser{data: data}
	p.space()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.at != len(p.data) {
		return nil, errors.New("trailing characters")
	}
	return v, nil
}

func (p *parser) space() {
	for p.at < len(p.data) {
		switch p.data[p.at] {
		case ' ', '\t', '\n', '\r':
			p.at++
		default:
			return
		}
	}
}

func (p *parser) literal(word string) error {
	if len(p.data)-p.at < len(word) || string(p.data[p.at:p.at+len(word)]) != word {
		return errors.New("expected " + word)
	}
	p.at += len(word)
	return nil
}

func (p *parser) value() (*Value, error) {
	if p.at >= len(p.data) {
		return nil, errors.New("EOF while parsing a value")
	}
	switch c := p.data[p.at]; {
	case c == 'n':
		return &Value{Kind: Null}, p.literal("null")
	case c == 't':
		return &Value{Kind: Bool, Bool: true}, p.literal("true")
	case c == 'f':
		return &Value{Kind: Bool}, p.literal("false")
	case c == '-' || (c >= '0' && c <= '9'):
		n, err := p.number()
		return &Value{Kind: Number, Num: n}, err
	case c == '"':
		p.at++
		s, err := p.str()
		return &Value{Kind: String, Str: s}, err
	case c == '[':
		return p.array()
	case c == '{':
		return p.object()
	}
	return nil, errors.New("expected value")
}

func (p *parser) digit() bool {
	return p.at < len(p.data) && p.data[p.at] >= '0' && p.data[p.at] <= '9'
}

func (p *parser) number() (string, error) {
	buf := make([]byte, 0, 16)
	if p.data[p.at] == '-' {
		buf = append(buf, '-')
		p.at++
	}
	if !p.digit() {
		return "", errors.New("invalid number")
	}
	if p.data[p.at] == '0' {
		buf = append(buf, '0')
		p.at++
		if p.digit() {
			return "", errors.New("invalid number")
		}
	} else {
		for p.digit() {
			buf = append(buf, p.data[p.at])
			p.at++
		}
	}
	if p.at < len(p.data) && p.data[p.at] == '.' {
		p.at++
		buf = append(buf, '.')
		if !p.digit() {
			return "", errors.New("invalid number")
		}
		for p.digit() {
			buf = append(buf, p.data[p.at])
			p.at++
		}
	}
	if p.at < len(p.data) && (p.data[p.at] == 'e' || p.data[p.at] == 'E') {
		p.at++
		buf = append(buf, 'e')
		if p.at < len(p.data) && (p.data[p.at] == '+' || p.data[p.at] == '-') {
			buf = append(buf, p.data[p.at])
			p.at++
		} else {
			buf = append(buf, '+')
		}
		if !p.digit() {
			return "", errors.New("invalid number")
		}
		for p.digit() {
			buf = append(buf, p.data[p.at])
			p.at++
		}
	}
	return string(buf), nil
}

func (p *parser) hex4() (rune, error) {
	if len(p.data)-p.at < 4 {
		return 0, errors.New("EOF while parsing a string")
	}
	var n rune
	for i := 0; i < 4; i++ {
		c := p.data[p.at+i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, errors.New("invalid escape")
		}
		n = n<<4 | rune(d)
	}
	p.at += 4
	return n, nil
}

// str reads a string's body after its opening quote.
func (p *parser) str() (string, error) {
	var out []byte
	start := p.at
	for {
		if p.at >= len(p.data) {
			return "", errors.New("EOF while parsing a string")
		}
		c := p.data[p.at]
		switch {
		case c == '"':
			out = append(out, p.data[start:p.at]...)
			p.at++
			if !utf8.Valid(out) {
				return "", errors.New("invalid unicode code point")
			}
			return string(out), nil
		case c == '\\':
			out = append(out, p.data[start:p.at]...)
			p.at++
			if err := p.escape(&out); err != nil {
				return "", err
			}
			start = p.at
		case c < 0x20:
			return "", errors.New("control character (\\u0000-\\u001F) found while parsing a string")
		default:
			p.at++
		}
	}
}

func (p *parser) escape(out *[]byte) error {
	if p.at >= len(p.data) {
		return errors.New("EOF while parsing a string")
	}
	c := p.data[p.at]
	p.at++
	switch c {
	case '"', '\\', '/':
		*out = append(*out, c)
	case 'b':
		*out = append(*out, '\b')
	case 'f':
		*out = append(*out, '\f')
	case 'n':
		*out = append(*out, '\n')
	case 'r':
		*out = append(*out, '\r')
	case 't':
		*out = append(*out, '\t')
	case 'u':
		n, err := p.hex4()
		if err != nil {
			return err
		}
		if n >= 0xDC00 && n <= 0xDFFF {
			return errors.New("lone leading surrogate in hex escape")
		}
		if n >= 0xD800 && n <= 0xDBFF {
			if len(p.data)-p.at < 2 || p.data[p.at] != '\\' || p.data[p.at+1] != 'u' {
				return errors.New("unexpected end of hex escape")
			}
			p.at += 2
			n2, err := p.hex4()
			if err != nil {
				return err
			}
			if n2 < 0xDC00 || n2 > 0xDFFF {
				return errors.New("lone leading surrogate in hex escape")
			}
			n = ((n-0xD800)<<10 | (n2 - 0xDC00)) + 0x10000
		}
		*out = utf8.AppendRune(*out, n)
	default:
		return errors.New("invalid escape")
	}
	return nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth >= maxDepth {
		return errors.New("recursion limit exceeded")
	}
	p.at++
	return nil
}

func (p *parser) array() (*Value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	v := &Value{Kind: Array}
	p.space()
	if p.at < len(p.data) && p.data[p.at] == ']' {
		p.at++
		p.depth--
		return v, nil
	}
	for {
		item, err := p.value()
		if err != nil {
			return nil, err
		}
		v.Items = append(v.Items, item)
		p.space()
		if p.at >= len(p.data) {
			return nil, errors.New("EOF while parsing a list")
		}
		switch p.data[p.at] {
		case ',':
			p.at++
			p.space()
			if p.at < len(p.data) && p.data[p.at] == ']' {
				return nil, errors.New("trailing comma")
			}
		case ']':
			p.at++
			p.depth--
			return v, nil
		default:
			return nil, errors.New("expected `,` or `]`")
		}
	}
}

func (p *parser) object() (*Value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	v := &Value{Kind: Object}
	p.space()
	if p.at < len(p.data) && p.data[p.at] == '}' {
		p.at++
		p.depth--
		return v, nil
	}
	for {
		if p.at >= len(p.data) {
			return nil, errors.New("EOF while parsing an object")
		}
		if p.data[p.at] != '"' {
			if p.data[p.at] == '}' {
				return nil, errors.New("trailing comma")
			}
			return nil, errors.New("key must be a string")
		}
		p.at++
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.at >= len(p.data) || p.data[p.at] != ':' {
			return nil, errors.New("expected `:`")
		}
		p.at++
		p.space()
		item, err := p.value()
		if err != nil {
			return nil, err
		}
		v.Members = append(v.Members, Member{Key: key, Value: item})
		p.space()
		if p.at >= len(p.data) {
			return nil, errors.New("EOF while parsing an object")
		}
		switch p.data[p.at] {
		case ',':
			p.at++
			p.space()
		case '}':
			p.at++
			p.depth--
			return v, nil
		default:
			return nil, errors.New("expected `,` or `}`")
		}
	}
}

// AppendJSON appends v, compact, as serde_json writes a Value (keys in byte order, a repeated
// key written once with its last value).
func AppendJSON(out []byte, v *Value) []byte {
	switch v.Kind {
	case Null:
		return append(out, "null"...)
	case Bool:
		if v.Bool {
			return append(out, "true"...)
		}
		return append(out, "false"...)
	case Number:
		return append(out, v.Num...)
	case String:
		return AppendString(out, v.Str)
	case Array:
		out = append(out, '[')
		for i, item := range v.Items {
			if i > 0 {
				out = append(out, ',')
			}
			out = AppendJSON(out, item)
		}
		return append(out, ']')
	}
	last := map[string]*Value{}
	keys := make([]string, 0, len(v.Members))
	for _, m := range v.Members {
		if _, seen := last[m.Key]; !seen {
			keys = append(keys, m.Key)
		}
		last[m.Key] = m.Value
	}
	sort.Strings(keys)
	out = append(out, '{')
	for i, k := range keys {
		if i > 0 {
			out = append(out, ',')
		}
		out = AppendString(out, k)
		out = append(out, ':')
		out = AppendJSON(out, last[k])
	}
	return append(out, '}')
}

// AppendString appends s as a JSON string, escaped as serde_json does.
func AppendString(out []byte, s string) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var esc string
		switch {
		case c == '"':
			esc = `\"`
		case c == '\\':
			esc = `\\`
		case c == '\b':
			esc = `\b`
		case c == '\t':
			esc = `\t`
		case c == '\n':
			esc = `\n`
		case c == '\f':
			esc = `\f`
		case c == '\r':
			esc = `\r`
		case c < 0x20:
			esc = string([]byte{'\\', 'u', '0', '0', hex[c>>4], hex[c&0xf]})
		default:
			continue
		}
		out = append(out, s[start:i]...)
		out = append(out, esc...)
		start = i + 1
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}
