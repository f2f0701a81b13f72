// Package input validates text where it enters gatehouse: request bodies,
// form parameters, path segments and query strings. Text is checked once,
// at the edge, and the same way for every store: PostgreSQL refuses NUL
// bytes and invalid UTF-8 in text columns while SQLite keeps them, so
// anything a store would treat differently is refused here with a 4xx.
package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// ErrInvalidText means a string is not valid UTF-8 or holds a NUL byte.
var ErrInvalidText = errors.New("text must be valid UTF-8 without NUL characters")

// Text reports whether s may be stored and compared as text.
func Text(s string) error {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return ErrInvalidText
	}
	return nil
}

// DuplicateKeyError names a key that appears twice in one JSON object.
type DuplicateKeyError struct{ Key string }

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("duplicate key %q", shorten(e.Key))
}

// TextError names the JSON member whose string is not valid text.
type TextError struct{ Key string }

func (e *TextError) Error() string {
	if e.Key == "" {
		return ErrInvalidText.Error()
	}
	return fmt.Sprintf("%s: %s", shorten(e.Key), ErrInvalidText)
}

func (e *TextError) Unwrap() error { return ErrInvalidText }

// maxDepth bounds JSON nesting, so a deeply nested body costs bounded stack.
const maxDepth = 64

// CheckJSON walks one JSON document and refuses what encoding/json would
// accept silently: invalid UTF-8 (which it rewrites to U+FFFD), NUL
// characters in keys or strings (escaped as \u0000), keys repeated within
// one object (it keeps the last), and nesting deeper than 64 levels. It
// does not check syntax beyond what the walk needs; decode the document
// afterwards as usual.
func CheckJSON(doc []byte) error {
	if !utf8.Valid(doc) {
		return &TextError{}
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	type frame struct {
		object bool
		keys   map[string]struct{}
		expect bool // an object expects a key next
		key    string
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) >= maxDepth {
					return errors.New("JSON nested too deeply")
				}
				if top != nil && top.object {
					top.expect = true
				}
				stack = append(stack, &frame{object: t == '{', keys: map[string]struct{}{}, expect: t == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.object && top.expect {
				if Text(t) != nil {
					return &TextError{Key: t}
				}
				if _, dup := top.keys[t]; dup {
					return &DuplicateKeyError{Key: t}
				}
				top.keys[t] = struct{}{}
				top.key, top.expect = t, false
				continue
			}
			if Text(t) != nil {
				key := ""
				if top != nil && top.object {
					key = top.key
				}
				return &TextError{Key: key}
			}
		}
		if top != nil && top.object {
			top.expect = true
		}
	}
}

func shorten(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	s = strings.ReplaceAll(s, "\x00", "?")
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}
