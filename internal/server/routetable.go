package server

import (
	"net/http"
	"slices"
	"strings"
)

// routeTable is the ServeMux of the routes outside /api/v2/ that remembers
// what it was given, so that the route list (App.Routes) and the 405 answers
// of every path come from the routes themselves and never from a list kept
// beside them.
type routeTable struct {
	mux      *http.ServeMux
	patterns []string // "METHOD /path" as registered
}

func newRouteTable() *routeTable { return &routeTable{mux: http.NewServeMux()} }

// Handle registers h for pattern, which names its method.
func (t *routeTable) Handle(pattern string, h http.Handler) {
	t.mux.Handle(pattern, h)
	t.patterns = append(t.patterns, pattern)
}

// HandleFunc registers f for pattern, which names its method.
func (t *routeTable) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	t.Handle(pattern, http.HandlerFunc(f))
}

// answerOtherMethods makes every registered path answer the methods it does
// not take with a JSON 405 naming those it does, rather than ServeMux's
// plain-text one or the catch-all's 404.
func (t *routeTable) answerOtherMethods() {
	allow := map[string][]string{}
	var paths []string
	for _, p := range t.patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			continue
		}
		if _, seen := allow[path]; !seen {
			paths = append(paths, path)
		}
		allow[path] = append(allow[path], method)
	}
	for _, path := range paths {
		t.mux.HandleFunc(path, methodNotAllowed(strings.Join(slices.Compact(slices.Sorted(slices.Values(allow[path]))), ", ")))
	}
}
