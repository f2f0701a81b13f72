package input

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"ann@example.com", true},
		{"", true},
		{"Zoë 日本", true},
		{"abc\x00", false},
		{"\xff\xfe@example.com", false},
		{"a\xc3", false},
	} {
		if err := Text(tc.in); (err == nil) != tc.ok {
			t.Errorf("Text(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		doc  string
		want error // nil: accepted
	}{
		{"flat", `{"a":"x","b":1,"c":true,"d":null}`, nil},
		{"nested", `{"a":{"b":[{"c":"d"},{"c":"e"}]},"c":"f"}`, nil},
		{"same key in sibling objects", `{"x":{"k":1},"y":{"k":2}}`, nil},
		{"array of objects with same keys", `[{"k":1},{"k":2}]`, nil},
		{"duplicate top-level", `{"email":"a@x","email":"b@x"}`, &DuplicateKeyError{}},
		{"duplicate nested", `{"a":{"k":1,"k":2}}`, &DuplicateKeyError{}},
		{"duplicate after nested value", `{"a":{"b":1},"a":2}`, &DuplicateKeyError{}},
		{"NUL in value", `{"email":"a\u0000b"}`, &TextError{}},
		{"NUL in key", `{"a\u0000":"b"}`, &TextError{}},
		{"NUL in array", `{"a":["x","\u0000"]}`, &TextError{}},
		{"invalid UTF-8", "{\"email\":\"\xff\xfe@x\"}", &TextError{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckJSON([]byte(tc.doc))
			switch want := tc.want.(type) {
			case nil:
				if err != nil {
					t.Fatalf("CheckJSON = %v, want nil", err)
				}
			case *DuplicateKeyError:
				if !errors.As(err, &want) {
					t.Fatalf("CheckJSON = %v, want a duplicate key", err)
				}
			case *TextError:
				if !errors.As(err, &want) || !errors.Is(err, ErrInvalidText) {
					t.Fatalf("CheckJSON = %v, want a text error", err)
				}
			}
		})
	}
}

func TestCheckJSONDepth(t *testing.T) {
	t.Parallel()
	deep := ""
	for range 100 {
		deep += "["
	}
	if err := CheckJSON([]byte(deep)); err == nil {
		t.Fatal("100 levels of nesting accepted")
	}
}

// FuzzCheckJSON: never panics, and whatever it accepts that encoding/json
// also decodes holds only valid text.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":{"a":1},"a":2}`, `["\u0000"]`, "{\"\xff\":1}", `[[[[]]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if CheckJSON(doc) != nil {
			return
		}
		var v any
		if json.Unmarshal(doc, &v) != nil {
			return
		}
		var walk func(any)
		walk = func(v any) {
			switch x := v.(type) {
			case string:
				if Text(x) != nil {
					t.Fatalf("accepted invalid text %q", x)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			case map[string]any:
				for k, e := range x {
					if Text(k) != nil {
						t.Fatalf("accepted invalid key %q", k)
					}
					walk(e)
				}
			}
		}
		walk(v)
	})
}
