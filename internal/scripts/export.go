package scripts

import (
	"math"
	"strconv"
	"time"

	"github.com/dop251/goja"
)

const maxExportDepth = 32

// exporter turns JavaScript values into JSON-shaped Go values (map[string]any,
// []any, string, float64, int64, bool, nil) the way JSON.stringify would,
// within a byte budget, so a huge or cyclic value costs the budget and no
// more. It must run inside run.guard: reading a property may run a getter.
type exporter struct {
	rt     *goja.Runtime
	budget int
	over   bool
}

func (e *exporter) spend(n int) bool {
	e.budget -= n
	if e.budget < 0 {
		e.over = true
	}
	return !e.over
}

// value exports v; ok is false for what JSON.stringify leaves out
// (undefined, functions, symbols).
func (e *exporter) value(v goja.Value, depth int) (any, bool) {
	if e.over {
		return nil, false
	}
	if v == nil || goja.IsUndefined(v) {
		return nil, false
	}
	if goja.IsNull(v) {
		e.spend(4)
		return nil, true
	}
	if depth > maxExportDepth {
		e.over = true
		return nil, false
	}
	obj, isObj := v.(*goja.Object)
	if !isObj {
		switch x := v.Export().(type) {
		case bool:
			e.spend(5)
			return x, true
		case int64:
			e.spend(8)
			return x, true
		case float64:
			e.spend(8)
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, true
			}
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x), true
			}
			return x, true
		case string:
			if !e.spend(len(x) + 2) {
				return nil, false
			}
			return truncate(x, len(x)), true
		}
		if _, isSym := v.(*goja.Symbol); isSym {
			return nil, false
		}
		// BigInt: its decimal form.
		s := v.String()
		if !e.spend(len(s) + 2) {
			return nil, false
		}
		return s, true
	}
	if obj.ClassName() == "Date" {
		if t, ok := obj.Export().(time.Time); ok {
			e.spend(26)
			return t.UTC().Format("2006-01-02T15:04:05.000Z"), true
		}
	}
	if _, isFunc := goja.AssertFunction(obj); isFunc {
		return nil, false
	}
	if obj.ClassName() == "Array" {
		n := obj.Get("length").ToInteger()
		out := make([]any, 0, min(n, 1024))
		e.spend(2)
		for i := int64(0); i < n && !e.over; i++ {
			el, ok := e.value(obj.Get(strconv.FormatInt(i, 10)), depth+1)
			if !ok {
				el = nil
			}
			e.spend(1)
			out = append(out, el)
		}
		if e.over {
			return nil, false
		}
		return out, true
	}
	if toJSON, ok := goja.AssertFunction(obj.Get("toJSON")); ok {
		res, err := toJSON(obj)
		if err != nil {
			panic(err)
		}
		return e.value(res, depth+1)
	}
	out := make(map[string]any)
	e.spend(2)
	for _, k := range obj.Keys() {
		if e.over {
			return nil, false
		}
		el, ok := e.value(obj.Get(k), depth+1)
		if !ok {
			continue
		}
		if !e.spend(len(k) + 4) {
			return nil, false
		}
		out[truncate(k, len(k))] = el
	}
	if e.over {
		return nil, false
	}
	return out, true
}

// export reads v within budget bytes; over is reported as a Failure.
func (r *run) export(v goja.Value, budget int) (any, error) {
	e := &exporter{rt: r.v.rt, budget: budget}
	var out any
	if err := r.guard(func() { out, _ = e.value(v, 0) }); err != nil {
		return nil, err
	}
	if e.over {
		return nil, &Failure{Kind: KindOutputTooLarge, Script: r.script, Message: "the script's output is larger than " + strconv.Itoa(budget) + " bytes or nested too deep"}
	}
	return out, nil
}

// toJS builds a plain JavaScript value from a JSON-shaped Go value.
func toJS(rt *goja.Runtime, v any) goja.Value {
	switch x := v.(type) {
	case nil:
		return goja.Null()
	case map[string]any:
		o := rt.NewObject()
		for k, el := range x {
			_ = o.Set(k, toJS(rt, el))
		}
		return o
	case map[string]string:
		o := rt.NewObject()
		for k, el := range x {
			_ = o.Set(k, el)
		}
		return o
	case []any:
		items := make([]any, len(x))
		for i, el := range x {
			items[i] = toJS(rt, el)
		}
		return rt.NewArray(items...)
	case []string:
		items := make([]any, len(x))
		for i, el := range x {
			items[i] = el
		}
		return rt.NewArray(items...)
	case []map[string]any:
		items := make([]any, len(x))
		for i, el := range x {
			items[i] = toJS(rt, el)
		}
		return rt.NewArray(items...)
	case time.Time:
		if x.IsZero() {
			return goja.Undefined()
		}
		return rt.ToValue(x.UTC().Format("2006-01-02T15:04:05.000Z"))
	case goja.Value:
		return x
	}
	return rt.ToValue(v)
}

func formatInt(i int64) string { return strconv.FormatInt(i, 10) }
