package console

import (
	"context"
	"log/slog"
	"strings"
	"sync"
)

// ErrorRing is a slog.Handler that passes every record on to the next
// handler and keeps the newest warnings and errors for the node detail
// page. Attribute values are not kept, only the message and the "err"
// attribute, so secrets passed as other attributes never reach the page.
type ErrorRing struct {
	next  slog.Handler
	ring  *ring
	attrs []slog.Attr
}

type ring struct {
	mu   sync.Mutex
	buf  []LogEntry
	next int
	full bool
}

var _ slog.Handler = (*ErrorRing)(nil)

// NewErrorRing wraps next (nil discards) and keeps the last n warnings and
// errors (default 50).
func NewErrorRing(next slog.Handler, n int) *ErrorRing {
	if next == nil {
		next = slog.DiscardHandler
	}
	if n <= 0 {
		n = 50
	}
	return &ErrorRing{next: next, ring: &ring{buf: make([]LogEntry, n)}}
}

// Enabled reports whether next handles the level; warnings and errors are
// always kept.
func (h *ErrorRing) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.next.Enabled(ctx, l)
}

// Handle keeps warnings and errors and passes the record on.
func (h *ErrorRing) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		msg := r.Message
		var extra []string
		add := func(a slog.Attr) bool {
			switch a.Key {
			case "err", "error", "component", "admdvs", "reason":
				extra = append(extra, a.Key+"="+a.Value.String())
			}
			return true
		}
		for _, a := range h.attrs {
			add(a)
		}
		r.Attrs(add)
		if len(extra) > 0 {
			msg += " (" + strings.Join(extra, ", ") + ")"
		}
		h.ring.add(LogEntry{Time: r.Time, Level: r.Level.String(), Message: msg})
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

// WithAttrs returns a handler sharing the ring.
func (h *ErrorRing) WithAttrs(as []slog.Attr) slog.Handler {
	return &ErrorRing{next: h.next.WithAttrs(as), ring: h.ring, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

// WithGroup returns a handler sharing the ring.
func (h *ErrorRing) WithGroup(name string) slog.Handler {
	return &ErrorRing{next: h.next.WithGroup(name), ring: h.ring, attrs: h.attrs}
}

// Recent returns the kept entries, newest first.
func (h *ErrorRing) Recent() []LogEntry {
	return h.ring.recent()
}

func (r *ring) add(e LogEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = e
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

func (r *ring) recent() []LogEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	out := make([]LogEntry, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.buf[(r.next-i+len(r.buf))%len(r.buf)])
	}
	return out
}
