package scripts

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dop251/goja"
)

const maxRandomBytes = 64 << 10

// natives are the Go functions the prelude builds its helpers on. Only the
// prelude sees them: it receives them as an argument and keeps them in
// closures.
func (s *Sandbox) natives(v *vm) *goja.Object {
	rt := v.rt
	n := rt.NewObject()
	set := func(name string, f func(goja.FunctionCall) goja.Value) {
		if err := n.Set(name, f); err != nil {
			panic(err)
		}
	}
	bytesArg := func(val goja.Value) []byte {
		var b []byte
		if err := rt.ExportTo(val, &b); err != nil {
			panic(rt.NewTypeError("expected bytes"))
		}
		return b
	}
	current := func() *run {
		if v.cur == nil {
			panic(rt.NewTypeError("not available outside a script run"))
		}
		return v.cur
	}

	set("decode", func(c goja.FunctionCall) goja.Value {
		b, err := decodeString(c.Argument(0).String(), c.Argument(1).String())
		if err != nil {
			panic(rt.NewTypeError(err.Error()))
		}
		return rt.ToValue(rt.NewArrayBuffer(b))
	})
	set("encode", func(c goja.FunctionCall) goja.Value {
		s, err := encodeBytes(bytesArg(c.Argument(0)), c.Argument(1).String())
		if err != nil {
			panic(rt.NewTypeError(err.Error()))
		}
		return rt.ToValue(s)
	})
	set("hashAvailable", func(c goja.FunctionCall) goja.Value {
		return rt.ToValue(newHash(c.Argument(0).String()) != nil)
	})
	set("hash", func(c goja.FunctionCall) goja.Value {
		h := newHash(c.Argument(0).String())
		if h == nil {
			panic(rt.NewTypeError("Digest method not supported"))
		}
		m := h()
		m.Write(bytesArg(c.Argument(1)))
		return rt.ToValue(rt.NewArrayBuffer(m.Sum(nil)))
	})
	set("hmac", func(c goja.FunctionCall) goja.Value {
		h := newHash(c.Argument(0).String())
		if h == nil {
			panic(rt.NewTypeError("Invalid digest"))
		}
		m := hmac.New(h, bytesArg(c.Argument(1)))
		m.Write(bytesArg(c.Argument(2)))
		return rt.ToValue(rt.NewArrayBuffer(m.Sum(nil)))
	})
	set("randomBytes", func(c goja.FunctionCall) goja.Value {
		size := c.Argument(0).ToInteger()
		if size < 0 || size > maxRandomBytes {
			panic(rt.NewTypeError("randomBytes: size out of range"))
		}
		b := make([]byte, size)
		_, _ = rand.Read(b)
		return rt.ToValue(rt.NewArrayBuffer(b))
	})
	set("randomUUID", func(goja.FunctionCall) goja.Value {
		return rt.ToValue(newUUID())
	})
	set("timingSafeEqual", func(c goja.FunctionCall) goja.Value {
		a, b := bytesArg(c.Argument(0)), bytesArg(c.Argument(1))
		if len(a) != len(b) {
			panic(rt.NewTypeError("Input buffers must have the same byte length"))
		}
		return rt.ToValue(subtle.ConstantTimeCompare(a, b) == 1)
	})
	set("parseURL", func(c goja.FunctionCall) goja.Value {
		u, err := parseURL(c.Argument(0).String(), c.Argument(1))
		if err != nil {
			panic(rt.NewTypeError("Invalid URL: " + truncate(c.Argument(0).String(), 200)))
		}
		o := rt.NewObject()
		_ = o.Set("protocol", u.Scheme+":")
		_ = o.Set("username", u.User.Username())
		pw, _ := u.User.Password()
		_ = o.Set("password", pw)
		_ = o.Set("hostname", u.Hostname())
		_ = o.Set("port", u.Port())
		path := u.EscapedPath()
		if path == "" && u.Host != "" {
			path = "/"
		}
		_ = o.Set("pathname", path)
		search := ""
		if u.RawQuery != "" {
			search = "?" + u.RawQuery
		}
		_ = o.Set("search", search)
		hash := ""
		if u.Fragment != "" {
			hash = "#" + u.EscapedFragment()
		}
		_ = o.Set("hash", hash)
		return o
	})
	set("http", func(c goja.FunctionCall) goja.Value {
		r := current()
		spec := readHTTPSpec(rt, c.Argument(0))
		cb := c.Argument(1)
		if _, ok := goja.AssertFunction(cb); !ok {
			panic(rt.NewTypeError("callback must be a function"))
		}
		r.startHTTP(spec, cb)
		return goja.Undefined()
	})
	set("setTimeout", func(c goja.FunctionCall) goja.Value {
		r := current()
		fn := c.Argument(0)
		if _, ok := goja.AssertFunction(fn); !ok {
			panic(rt.NewTypeError("callback must be a function"))
		}
		ms := c.Argument(1).ToInteger()
		if ms < 0 {
			ms = 0
		}
		var args []goja.Value
		if len(c.Arguments) > 2 {
			args = append(args, c.Arguments[2:]...)
		}
		return rt.ToValue(r.setTimer(fn, time.Duration(ms)*time.Millisecond, args))
	})
	set("clearTimeout", func(c goja.FunctionCall) goja.Value {
		current().clearTimer(c.Argument(0).ToInteger())
		return goja.Undefined()
	})
	set("log", func(c goja.FunctionCall) goja.Value {
		current().logLine(c.Argument(0).String())
		return goja.Undefined()
	})
	return n
}

func newHash(alg string) func() hash.Hash {
	switch strings.ToLower(alg) {
	case "md5":
		return md5.New
	case "sha1", "sha-1":
		return sha1.New
	case "sha256", "sha-256":
		return sha256.New
	case "sha384", "sha-384":
		return sha512.New384
	case "sha512", "sha-512":
		return sha512.New
	}
	return nil
}

func decodeString(s, enc string) ([]byte, error) {
	switch strings.ToLower(enc) {
	case "", "undefined", "utf8", "utf-8":
		return []byte(s), nil
	case "hex":
		// Node stops at the first invalid pair; gatehouse refuses instead.
		if len(s)%2 == 1 {
			s = s[:len(s)-1]
		}
		return hex.DecodeString(s)
	case "base64", "base64url":
		s = strings.TrimRight(strings.Map(func(r rune) rune {
			switch r {
			case '-':
				return '+'
			case '_':
				return '/'
			case ' ', '\n', '\r', '\t':
				return -1
			}
			return r
		}, s), "=")
		return base64.RawStdEncoding.DecodeString(s)
	case "latin1", "binary", "ascii":
		b := make([]byte, 0, len(s))
		for _, r := range s {
			b = append(b, byte(r))
		}
		return b, nil
	}
	return nil, errUnknownEncoding(enc)
}

func encodeBytes(b []byte, enc string) (string, error) {
	switch strings.ToLower(enc) {
	case "", "undefined", "utf8", "utf-8":
		if utf8.Valid(b) {
			return string(b), nil
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	case "hex":
		return hex.EncodeToString(b), nil
	case "base64":
		return base64.StdEncoding.EncodeToString(b), nil
	case "base64url":
		return base64.RawURLEncoding.EncodeToString(b), nil
	case "latin1", "binary":
		var sb strings.Builder
		for _, c := range b {
			sb.WriteRune(rune(c))
		}
		return sb.String(), nil
	case "ascii":
		var sb strings.Builder
		for _, c := range b {
			sb.WriteByte(c & 0x7f)
		}
		return sb.String(), nil
	}
	return "", errUnknownEncoding(enc)
}

type errUnknownEncoding string

func (e errUnknownEncoding) Error() string { return "Unknown encoding: " + string(e) }

func parseURL(input string, base goja.Value) (*url.URL, error) {
	var u *url.URL
	var err error
	if base != nil && !goja.IsUndefined(base) && !goja.IsNull(base) {
		b, berr := url.Parse(base.String())
		if berr != nil || b.Scheme == "" {
			return nil, errUnknownEncoding("base")
		}
		u, err = b.Parse(input)
	} else {
		u, err = url.Parse(input)
	}
	if err != nil {
		return nil, err
	}
	if u.Scheme == "" || (u.Host == "" && u.Opaque == "" && (u.Scheme == "http" || u.Scheme == "https")) {
		return nil, errUnknownEncoding("url")
	}
	return u, nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
