package store

import (
	"reflect"
	"testing"
	"time"
)

// TestCloneSharesNothing fills every exported field of each cloned type
// (so a field added later is covered without editing the test), clones, and
// checks that the copy is equal and shares no memory with the original.
func TestCloneSharesNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		orig  any
		clone func(any) any
	}{
		{"Client", &Client{}, func(v any) any { return v.(*Client).Clone() }},
		{"ClientGrant", &ClientGrant{}, func(v any) any { return v.(*ClientGrant).Clone() }},
		{"ResourceServer", &ResourceServer{}, func(v any) any { return v.(*ResourceServer).Clone() }},
		{"Connection", &Connection{}, func(v any) any { return v.(*Connection).Clone() }},
		{"TenantSettings", &TenantSettings{}, func(v any) any { return v.(*TenantSettings).Clone() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fill(reflect.ValueOf(tc.orig).Elem())
			cp := tc.clone(tc.orig)
			if !reflect.DeepEqual(cp, tc.orig) {
				t.Fatalf("clone differs:\n got  %+v\n want %+v", cp, tc.orig)
			}
			for _, path := range shared(reflect.ValueOf(tc.orig), reflect.ValueOf(cp), tc.name) {
				t.Errorf("%s is shared between the original and the clone", path)
			}
		})
	}
}

func TestCloneKeepsNilAndEmptyApart(t *testing.T) {
	t.Parallel()
	c := (&Client{Callbacks: []string{}, ClientMetadata: map[string]string{}}).Clone()
	if c.Callbacks == nil || c.ClientMetadata == nil || c.GrantTypes != nil || c.TokenEndpointAuthMethod != nil {
		t.Fatalf("clone = %+v: empty must stay empty and nil stay nil", c)
	}
	if (*Client)(nil).Clone() != nil {
		t.Fatal("a nil client cloned to a non-nil one")
	}
}

// fill sets v, and everything under it, to non-zero values.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(7)
	case reflect.Uint8:
		v.SetUint(7)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem())
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(1700000000, 0).UTC()))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	default:
		panic("fill: unhandled kind " + v.Kind().String() + " at " + v.Type().String())
	}
}

// shared lists the paths under a and b (values of one type) where both
// point at the same memory.
func shared(a, b reflect.Value, path string) []string {
	var out []string
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return nil
		}
		if a.Pointer() == b.Pointer() {
			out = append(out, path)
		}
		return append(out, shared(a.Elem(), b.Elem(), path)...)
	case reflect.Slice:
		if a.Len() == 0 || b.Len() == 0 {
			return nil
		}
		if a.Pointer() == b.Pointer() {
			out = append(out, path)
		}
		for i := range min(a.Len(), b.Len()) {
			out = append(out, shared(a.Index(i), b.Index(i), path+"[i]")...)
		}
	case reflect.Map:
		if a.IsNil() || b.IsNil() {
			return nil
		}
		if a.Pointer() == b.Pointer() {
			out = append(out, path)
		}
		for _, k := range a.MapKeys() {
			if bv := b.MapIndex(k); bv.IsValid() {
				out = append(out, shared(a.MapIndex(k), bv, path+"[k]")...)
			}
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				out = append(out, shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name)...)
			}
		}
	}
	return out
}
