package graph

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"
)

type operationKey struct{}

// WithOperation labels the Graph calls made with ctx, so Call.Operation (and CallCounter) can
// attribute them to a domain operation such as "CreateScenario".
func WithOperation(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

// Operation returns the label set by WithOperation, or "".
func Operation(ctx context.Context) string {
	op, _ := ctx.Value(operationKey{}).(string)
	return op
}

// Call describes one HTTP attempt against Graph.
type Call struct {
	Operation string
	Method    string
	// Path is the URL path without the query (which may carry personal data).
	Path     string
	Status   int // 0 when the transport failed
	Attempt  int // 0 for the first attempt, n for the n-th retry
	Duration time.Duration
	// RequestID is Graph's request-id response header.
	RequestID string
	Err       error
}

// observer is the innermost transport: it sees every attempt, after the retry middleware.
type observer struct {
	next   http.RoundTripper
	logger *slog.Logger
	onCall func(Call)
}

// RoundTrip implements http.RoundTripper.
func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := o.next.RoundTrip(req)
	c := Call{
		Operation: Operation(req.Context()),
		Method:    req.Method,
		Path:      req.URL.Path,
		Duration:  time.Since(start),
		Err:       err,
	}
	if n := req.Header.Get("Retry-Attempt"); n != "" {
		c.Attempt = atoiSafe(n)
	}
	if resp != nil {
		c.Status = resp.StatusCode
		c.RequestID = resp.Header.Get("request-id")
	}
	if o.logger.Enabled(req.Context(), slog.LevelDebug) {
		o.logger.LogAttrs(req.Context(), slog.LevelDebug, "graph call",
			slog.String("operation", c.Operation), slog.String("method", c.Method), slog.String("path", c.Path),
			slog.Int("status", c.Status), slog.Int("attempt", c.Attempt), slog.String("graph_request_id", c.RequestID),
			slog.Duration("duration", c.Duration))
	}
	if o.onCall != nil {
		o.onCall(c)
	}
	return resp, err
}

func atoiSafe(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' || n > 1000 {
			return n
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// CallCounter counts Graph HTTP attempts per operation label. Its Observe method is an
// Options.OnCall hook; tests use it to pin the cost of each operation, metrics can read it too.
type CallCounter struct {
	mu    sync.Mutex
	byOp  map[string]int
	calls []Call
}

// Observe records c. Safe for concurrent use.
func (c *CallCounter) Observe(call Call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byOp == nil {
		c.byOp = map[string]int{}
	}
	c.byOp[call.Operation]++
	c.calls = append(c.calls, call)
}

// Count returns the attempts recorded for an operation label.
func (c *CallCounter) Count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byOp[op]
}

// Total returns all recorded attempts.
func (c *CallCounter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

// Counts returns a copy of the per-operation counts.
func (c *CallCounter) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.byOp)
}

// Calls returns a copy of the recorded attempts in order.
func (c *CallCounter) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Call(nil), c.calls...)
}

// Reset forgets everything recorded.
func (c *CallCounter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byOp, c.calls = nil, nil
}
