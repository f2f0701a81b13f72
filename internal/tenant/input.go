package tenant

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
)

// Opt is an input property that may be absent but, when present, not null.
type Opt[T any] struct {
	Set bool
	V   T
}

// Some returns a present Opt.
func Some[T any](v T) Opt[T] { return Opt[T]{Set: true, V: v} }

// UnmarshalJSON refuses null and, in objects, unknown properties.
func (o *Opt[T]) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return &json.UnmarshalTypeError{Value: "null", Type: reflect.TypeFor[T]()}
	}
	o.Set = true
	return strictUnmarshal(b, &o.V)
}

// Nullable is an input property that may be absent, null or a value.
type Nullable[T any] struct {
	Set, Null bool
	V         T
}

// UnmarshalJSON refuses unknown properties in objects.
func (o *Nullable[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return strictUnmarshal(b, &o.V)
}

// strictUnmarshal refuses unknown properties in nested objects too.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// setIf copies a present property onto its destination.
func setIf[T any](dst *T, o Opt[T]) {
	if o.Set {
		*dst = o.V
	}
}

// SetProperties lists the JSON names of the properties present in an input
// struct (Opt and Nullable fields that are Set, non-empty raw fields).
func SetProperties(in any) []string {
	v := reflect.Indirect(reflect.ValueOf(in))
	var names []string
	for i := range v.NumField() {
		f, sf := v.Field(i), v.Type().Field(i)
		present := false
		if raw, ok := f.Interface().(json.RawMessage); ok {
			present = raw != nil
		} else if f.Kind() == reflect.Struct {
			set := f.FieldByName("Set")
			present = set.IsValid() && set.Kind() == reflect.Bool && set.Bool()
		}
		if present {
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			names = append(names, name)
		}
	}
	return names
}

// typeName names a Go type the way JSON Schema names its JSON type.
func typeName(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "any"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "any"
}

// valueName normalises encoding/json's description of a JSON value.
func valueName(v string) string {
	switch {
	case v == "bool":
		return "boolean"
	case strings.HasPrefix(v, "number"):
		return "number"
	}
	return v
}

// JSONKind names the JSON type of a raw value from its first byte.
func JSONKind(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "null"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
