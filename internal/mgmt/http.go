package mgmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/input"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// apiError is a Management API error, rendered as
// {"statusCode","error","message","errorCode"}.
type apiError struct {
	Status  int
	Code    string // errorCode; empty for none
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, struct {
		StatusCode int    `json:"statusCode"`
		Error      string `json:"error"`
		Message    string `json:"message"`
		ErrorCode  string `json:"errorCode,omitempty"`
	}{e.Status, http.StatusText(e.Status), e.Message, e.Code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"statusCode":500,"error":"Internal Server Error","message":"Internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// invalidBody is Auth0's 400 for a body that fails validation.
func invalidBody(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid_body",
		Message: "Payload validation error: '" + fmt.Sprintf(format, args...) + "'."}
}

// invalidProp is invalidBody naming the offending property.
func invalidProp(prop, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid_body",
		Message: "Payload validation error: '" + fmt.Sprintf(format, args...) + "' on property " + prop + "."}
}

func invalidQuery(prop, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid_query_string",
		Message: "Query validation error: '" + fmt.Sprintf(format, args...) + "' on property " + prop + "."}
}

// invalidURI is Auth0's 400 for a path parameter that fails validation.
func invalidURI(prop, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid_uri",
		Message: "Path validation error: '" + fmt.Sprintf(format, args...) + "' on property " + prop + "."}
}

// printable makes a name safe to echo in an error message: invalid UTF-8
// and NUL become "?".
func printable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "?"), "\x00", "?")
}

// domainError renders a refusal of the tenant's rules in Auth0's shape.
func domainError(e *tenant.Error) *apiError {
	status := map[tenant.Kind]int{
		tenant.Invalid: http.StatusBadRequest, tenant.Forbidden: http.StatusForbidden,
		tenant.NotFound: http.StatusNotFound, tenant.Conflict: http.StatusConflict,
		tenant.Unavailable: http.StatusServiceUnavailable,
	}[e.Kind]
	if status == 0 {
		status = http.StatusBadRequest
	}
	switch {
	case e.Code != tenant.CodeInvalidBody:
		return &apiError{Status: status, Code: e.Code, Message: e.Message}
	case e.Property != "":
		return invalidProp(e.Property, "%s", e.Message)
	}
	return invalidBody("%s", e.Message)
}

// decodeObject reads a JSON object body into dst (a pointer to a struct
// whose fields are opt/nullable), refusing unknown properties.
func decodeObject(r *http.Request, dst any) error { return decodeBody(r, dst, '{') }

// decodeArray reads a JSON array body into dst.
func decodeArray(r *http.Request, dst any) error { return decodeBody(r, dst, '[') }

// checkBody refuses, on every route alike, a body that is there but is not
// JSON: of another media type or charset (415), or not one JSON object or
// array of valid text (400), whether the route reads its body or not (a
// route that takes none must not act on a garbled request). The body is
// put back for the route to read.
func checkBody(r *http.Request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil // the route says whether it needs a body
	}
	if err := jsonMediaType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	if !json.Valid(b) {
		return invalidBody("Invalid request payload JSON format")
	}
	if b[0] != '{' && b[0] != '[' {
		return invalidBody("Expected type object but found type %s", tenant.JSONKind(b))
	}
	return textErr(input.CheckJSON(b))
}

// jsonMediaType refuses a content type other than JSON in UTF-8 (a
// missing one is taken for JSON, as Auth0 does).
func jsonMediaType(ct string) error {
	if ct == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if cs, ok := params["charset"]; err != nil || mt != "application/json" || ok && !strings.EqualFold(cs, "utf-8") {
		return &apiError{Status: http.StatusUnsupportedMediaType, Message: "Unsupported Media Type"}
	}
	return nil
}

// readBody reads the whole body, within maxBodyBytes.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large",
				Message: fmt.Sprintf("Payload content length greater than maximum allowed: %d", maxBodyBytes)}
		}
		return nil, &apiError{Status: http.StatusBadRequest, Code: "invalid_body", Message: "Invalid request payload input"}
	}
	return b, nil
}

func decodeBody(r *http.Request, dst any, open byte) error {
	if err := jsonMediaType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	b, err := readBody(r)
	if err != nil {
		return err
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != open {
		return invalidBody("Expected type %s but found type %s", tenant.JSONKind([]byte{open}), tenant.JSONKind(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return bodyErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidBody("Invalid request payload JSON format")
	}
	// encoding/json rewrites invalid UTF-8 to U+FFFD and keeps the last of
	// repeated keys; the body is refused instead, as the Authentication API
	// refuses such form parameters.
	return textErr(input.CheckJSON(b))
}

// textErr turns an input.CheckJSON error into Auth0's validation message.
func textErr(err error) error {
	var dup *input.DuplicateKeyError
	var te *input.TextError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &dup):
		return invalidProp(printable(dup.Key), "Duplicate property")
	case errors.As(err, &te) && te.Key != "":
		return invalidProp(printable(te.Key), "%s", input.ErrInvalidText)
	case errors.As(err, &te):
		return invalidBody("%s", input.ErrInvalidText)
	}
	return invalidBody("Invalid request payload JSON format")
}

// bodyErr turns an encoding/json error into Auth0's validation message.
func bodyErr(err error) error {
	var ae *apiError
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &te):
		return domainError(tenant.TypeError(te))
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return invalidBody("Invalid request payload JSON format")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return invalidBody("Additional properties not allowed: %s", strings.Trim(name, `"`))
	}
	return invalidBody("%s", err.Error())
}

// listQuery is the paging and field selection of a list request.
type listQuery struct {
	page, perPage int
	totals        bool
	// checkpoint paging (from/take): from is the opaque offset returned as next.
	checkpoint bool
	from, take int
	fields     []string
	include    bool
}

const (
	defaultPerPage = 50
	maxPerPage     = 100
)

// parseListQuery reads page, per_page, include_totals, fields and
// include_fields, and from/take where checkpoint paging is offered.
func parseListQuery(q url.Values, checkpoint bool) (listQuery, error) {
	lq := listQuery{perPage: defaultPerPage, take: defaultPerPage, include: true}
	var err error
	if lq.page, err = intParam(q, "page", 0, 0, 1<<20); err != nil {
		return lq, err
	}
	if lq.perPage, err = intParam(q, "per_page", defaultPerPage, 1, maxPerPage); err != nil {
		return lq, err
	}
	if lq.totals, err = boolParam(q, "include_totals", false); err != nil {
		return lq, err
	}
	if lq.include, err = boolParam(q, "include_fields", true); err != nil {
		return lq, err
	}
	for _, f := range strings.Split(q.Get("fields"), ",") {
		if f = strings.TrimSpace(f); f != "" {
			lq.fields = append(lq.fields, f)
		}
	}
	if checkpoint && (q.Has("from") || q.Has("take")) {
		lq.checkpoint = true
		if lq.from, err = intParam(q, "from", 0, 0, 1<<30); err != nil {
			return lq, err
		}
		if lq.take, err = intParam(q, "take", defaultPerPage, 1, maxPerPage); err != nil {
			return lq, err
		}
	}
	return lq, nil
}

func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	if q.Get(name) == "" {
		return def, nil
	}
	n, err := strconv.Atoi(q.Get(name))
	switch {
	case err != nil:
		return 0, invalidQuery(name, "Expected type integer but found type string")
	case n < lo:
		return 0, invalidQuery(name, "Value %d is less than minimum %d", n, lo)
	case n > hi:
		return 0, invalidQuery(name, "Value %d is greater than maximum %d", n, hi)
	}
	return n, nil
}

func boolParam(q url.Values, name string, def bool) (bool, error) {
	switch q.Get(name) {
	case "":
		return def, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalidQuery(name, "Expected type boolean but found type string")
}

// project applies fields/include_fields to one rendered item.
func project(v any, lq listQuery) (any, error) {
	if len(lq.fields) == 0 {
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("project: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("project: %w", err)
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, val := range m {
		if slices.Contains(lq.fields, k) == lq.include {
			out[k] = val
		}
	}
	return out, nil
}

// writeOne renders a single resource with the request's field selection.
func writeOne(w http.ResponseWriter, r *http.Request, status int, v any) error {
	lq, err := parseListQuery(r.URL.Query(), false)
	if err != nil {
		return err
	}
	out, err := project(v, lq)
	if err != nil {
		return err
	}
	writeJSON(w, status, out)
	return nil
}

// writePage renders one page of a collection in Auth0's shapes: a bare array,
// {collection,start,limit,length,total} with include_totals, or
// {collection,next} with checkpoint paging (next absent on the last page).
func writePage(w http.ResponseWriter, lq listQuery, collection string, items []any, start, total int) {
	if items == nil {
		items = []any{}
	}
	switch {
	case lq.checkpoint:
		body := map[string]any{collection: items}
		if end := start + len(items); end < total && len(items) > 0 {
			body["next"] = strconv.Itoa(end)
		}
		writeJSON(w, http.StatusOK, body)
	case lq.totals:
		writeJSON(w, http.StatusOK, map[string]any{
			collection: items, "start": start, "limit": lq.perPage, "length": len(items), "total": total,
		})
	default:
		writeJSON(w, http.StatusOK, items)
	}
}

// writeSlice pages a fully loaded collection in memory and renders it.
func writeSlice[T any](w http.ResponseWriter, lq listQuery, collection string, all []T, view func(T) any) error {
	start, n := lq.page*lq.perPage, lq.perPage
	if lq.checkpoint {
		start, n = lq.from, lq.take
	}
	start = min(start, len(all))
	end := min(start+n, len(all))
	items := make([]any, 0, end-start)
	for _, v := range all[start:end] {
		x, err := project(view(v), lq)
		if err != nil {
			return err
		}
		items = append(items, x)
	}
	writePage(w, lq, collection, items, start, len(all))
	return nil
}

// listAll loads a whole collection from a paged store listing. Management
// collections other than users are small, and loading them whole lets
// filters the store does not know apply before paging.
func listAll[T any](fetch func(store.Page) ([]T, int, error)) ([]T, error) {
	var all []T
	for p := 0; ; p++ {
		items, total, err := fetch(store.Page{Page: p, PerPage: maxPerPage})
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if len(items) < maxPerPage || len(all) >= total {
			return all, nil
		}
	}
}

// isoTime renders a time as Auth0 does: UTC with milliseconds.
func isoTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// isoTimePtr is isoTime for optional times ("" when unset).
func isoTimePtr(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return isoTime(*t)
}

func noContent(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNoContent)
}
