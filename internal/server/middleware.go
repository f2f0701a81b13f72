package server

import (
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/oauth"
)

// middleware wraps every request: a request id (in the X-Request-Id header
// and the context, so every line logged for the request carries it), the
// client IP, panic recovery (a bug must still answer in JSON and never
// kill the process) and one access-log line. The log never carries the
// query string or the body, where secrets and tokens travel.
func (a *App) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		reqID := ids.Alnum(16)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		rec.Header().Set("X-Request-Id", reqID)
		rec.Header().Set("X-Content-Type-Options", "nosniff")
		ip := clientIP(peerIP(r.RemoteAddr), r.Header.Values("X-Forwarded-For"), a.Config.TrustedProxies)
		ctx := logging.WithRequestID(oauth.WithClientIP(r.Context(), ip), reqID)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.Log.LogAttrs(ctx, slog.LevelError, "panic serving request", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
				if !rec.wrote {
					oauth.WriteError(rec, oauth.ErrServer)
				}
			}
			a.Log.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.status), slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000), slog.String("ip", ip))
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
	})
}

func peerIP(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
