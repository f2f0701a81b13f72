package server_test

import (
	"context"
	"log/slog"
	"sync"

	"github.com/gatehouse/gatehouse/internal/server"
)

// logRecord is one line a test server logged.
type logRecord struct {
	Level slog.Level
	Msg   string
	Attrs map[string]any
}

// logRecorder is a slog.Handler that keeps every record, so a test can
// read what its requests logged.
type logRecorder struct {
	mu      *sync.Mutex
	records *[]logRecord
	attrs   []slog.Attr
}

func newLogRecorder() *logRecorder {
	return &logRecorder{mu: &sync.Mutex{}, records: &[]logRecord{}}
}

// option makes a test server log into the recorder.
func (l *logRecorder) option() server.Option { return server.WithLogger(slog.New(l)) }

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{Level: r.Level, Msg: r.Message, Attrs: map[string]any{}}
	for _, a := range l.attrs {
		rec.Attrs[a.Key] = a.Value.Resolve().Any()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.Resolve().Any()
		return true
	})
	l.mu.Lock()
	*l.records = append(*l.records, rec)
	l.mu.Unlock()
	return nil
}

func (l *logRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *l
	c.attrs = append(append([]slog.Attr{}, l.attrs...), attrs...)
	return &c
}

func (l *logRecorder) WithGroup(string) slog.Handler { return l }

// Records returns what was logged so far.
func (l *logRecorder) Records() []logRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]logRecord(nil), *l.records...)
}
