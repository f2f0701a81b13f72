package scripts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dop251/goja"
)

const maxRequestBodyBytes = 1 << 20

// httpSpec is one outbound request as the prelude's request, fetch and
// axios helpers describe it.
type httpSpec struct {
	method  string
	url     string
	headers http.Header
	body    []byte
	timeout time.Duration
}

func readHTTPSpec(rt *goja.Runtime, v goja.Value) httpSpec {
	obj := v.ToObject(rt)
	spec := httpSpec{method: "GET", headers: http.Header{}}
	if m := obj.Get("method"); m != nil && !goja.IsUndefined(m) && !goja.IsNull(m) {
		spec.method = strings.ToUpper(m.String())
	}
	spec.url = obj.Get("url").String()
	if h := obj.Get("headers"); h != nil && !goja.IsUndefined(h) && !goja.IsNull(h) {
		ho := h.ToObject(rt)
		for _, k := range ho.Keys() {
			spec.headers.Set(k, ho.Get(k).String())
		}
	}
	if b := obj.Get("body"); b != nil && !goja.IsUndefined(b) && !goja.IsNull(b) {
		var raw []byte
		if bo, ok := b.(*goja.Object); ok && rt.ExportTo(bo, &raw) == nil && bo.ClassName() != "Object" {
			spec.body = bytes.Clone(raw)
		} else {
			spec.body = []byte(b.String())
		}
		if len(spec.body) > maxRequestBodyBytes {
			panic(rt.NewTypeError("request body too large"))
		}
	}
	if t := obj.Get("timeout"); t != nil && !goja.IsUndefined(t) && !goja.IsNull(t) {
		if ms := t.ToInteger(); ms > 0 {
			spec.timeout = time.Duration(ms) * time.Millisecond
		}
	}
	return spec
}

// httpResult is what goes back to JavaScript: an error message or a
// response whose body was read within the limit.
type httpResult struct {
	err        string
	status     int
	statusText string
	url        string
	headers    http.Header
	body       []byte
}

// startHTTP sends the request on another goroutine and posts the
// completion back onto the run's loop, where cb(err, response) runs.
func (r *run) startHTTP(spec httpSpec, cb goja.Value) {
	r.pending++
	go func() {
		res := r.doHTTP(spec)
		r.post(func() error {
			r.pending--
			rt := r.v.rt
			if res.err != "" {
				_, err := r.call(cb, rt.ToValue(res.err), goja.Undefined())
				return err
			}
			resp := rt.NewObject()
			_ = resp.Set("status", res.status)
			_ = resp.Set("statusText", res.statusText)
			_ = resp.Set("url", res.url)
			hdr := rt.NewObject()
			for k, vs := range res.headers {
				_ = hdr.Set(strings.ToLower(k), strings.Join(vs, ", "))
			}
			_ = resp.Set("headers", hdr)
			_ = resp.Set("body", strings.ToValidUTF8(string(res.body), "\uFFFD"))
			_, err := r.call(cb, goja.Null(), resp)
			return err
		})
	}()
}

var errRedirects = errors.New("too many redirects")

func (r *run) doHTTP(spec httpSpec) httpResult {
	u, err := url.Parse(spec.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return httpResult{err: "invalid URL"}
	}
	if !hostAllowed(r.hosts, u) {
		return httpResult{err: fmt.Sprintf("host %s is not in this script's allowed hosts", u.Host)}
	}
	timeout := r.sb.opts.HTTPTimeout
	if spec.timeout > 0 && spec.timeout < timeout {
		timeout = spec.timeout
	}
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	var body io.Reader
	if spec.body != nil {
		body = bytes.NewReader(spec.body)
	}
	req, err := http.NewRequestWithContext(ctx, spec.method, u.String(), body)
	if err != nil {
		return httpResult{err: "invalid request"}
	}
	req.Header = spec.headers
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "gatehouse-scripts")
	}
	client := &http.Client{
		Transport: r.sb.transport,
		CheckRedirect: func(next *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errRedirects
			}
			if !hostAllowed(r.hosts, next.URL) {
				return fmt.Errorf("redirect to host %s is not in this script's allowed hosts", next.URL.Host)
			}
			return nil
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		return httpResult{err: describeHTTPError(err)}
	}
	defer resp.Body.Close()
	limit := r.sb.opts.MaxResponseBytes
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return httpResult{err: describeHTTPError(err)}
	}
	if int64(len(data)) > limit {
		return httpResult{err: fmt.Sprintf("response body exceeds %d bytes", limit)}
	}
	return httpResult{
		status:     resp.StatusCode,
		statusText: strings.TrimSpace(strings.TrimPrefix(resp.Status, fmt.Sprint(resp.StatusCode))),
		url:        resp.Request.URL.String(),
		headers:    resp.Header,
		body:       data,
	}
}

func describeHTTPError(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "ETIMEDOUT: the request timed out"
	}
	if errors.Is(err, context.Canceled) {
		return "ECANCELED: the request was canceled"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return truncate(err.Error(), 300)
}

// hostAllowed reports whether u's host is on the list. An entry is a host
// name (any port), host:port (that port only) or *.domain (its
// subdomains, any port). Names compare without case.
func hostAllowed(hosts []string, u *url.URL) bool {
	name := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		hn, hp := h, ""
		if host, p, err := net.SplitHostPort(h); err == nil {
			hn, hp = host, p
		}
		hn = strings.Trim(hn, "[]")
		if hp != "" && hp != port {
			continue
		}
		if rest, ok := strings.CutPrefix(hn, "*."); ok {
			if strings.HasSuffix(name, "."+rest) {
				return true
			}
			continue
		}
		if hn == name {
			return true
		}
	}
	return false
}
