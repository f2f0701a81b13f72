package testenv

import (
	"context"
	"log/slog"
	"sync"
)

// ErrorLog is a slog.Handler that keeps the lines a server logs at ERROR
// level, each cut to a readable length, so a test can demand there were
// none: `WithLogger(slog.New(l))`.
type ErrorLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *ErrorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *ErrorLog) WithAttrs([]slog.Attr) slog.Handler            { return l }
func (l *ErrorLog) WithGroup(string) slog.Handler                 { return l }

// Handle implements slog.Handler.
func (l *ErrorLog) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		v := a.String()
		if len(v) > 160 {
			v = v[:160] + "..."
		}
		line += " " + v
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	return nil
}

// Take returns the lines kept since the last Take.
func (l *ErrorLog) Take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines
	l.lines = nil
	return out
}
