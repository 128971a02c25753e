// Package server is guestpass's HTTP surface: the Bot Framework endpoint POST /api/messages and
// the operational endpoints /healthz, /readyz and /metrics, served with gin.
//
// /api/messages runs one pipeline per request, in this order, so that nothing an unauthenticated
// or foreign caller sends reaches the store or a handler:
//
//	body limit (413) → decode (400) → authenticate (401/403) → tenant allowlist (403)
//	→ capture the conversation reference → claim the activity id (duplicates: 200, no side effects)
//	→ dispatch to the router → invoke response in the HTTP body, or 200
//
// A turn that fails releases its claim so the channel's re-send can run it again.
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"guestpass/internal/botframework"
	"guestpass/internal/metrics"
	"guestpass/internal/router"
	"guestpass/internal/store"
)

// MaxBodyBytes is the largest activity accepted (Teams activities are a few KiB; cards submitted
// with inputs stay far below this).
const MaxBodyBytes = 256 << 10

// Defaults for Config fields left zero.
const (
	DefaultShutdownTimeout = 25 * time.Second
	DefaultTurnTimeout     = 2 * time.Minute
	readyTimeout           = 2 * time.Second
)

// Validator authenticates inbound activities; *botframework.ChannelValidator implements it.
type Validator interface {
	// Validate checks the Authorization header against the activity. Failures are
	// *botframework.AuthError values carrying the HTTP status and a reason for logs and metrics.
	Validate(ctx context.Context, authHeader string, a *botframework.Activity) (*botframework.Claims, error)
	// Ready reports whether the channel's signing keys are loaded.
	Ready() bool
}

// Config is what a Server needs. Store, Mux, Connector and Metrics are required.
type Config struct {
	// Addr is the listen address for ListenAndServe.
	Addr string
	// Mux dispatches authenticated turns.
	Mux *router.Mux
	// Store holds de-duplication claims and conversation references.
	Store store.Store
	// Connector is handed to every turn for its replies.
	Connector router.Connector
	// Validator authenticates activities. It is required unless Unauthenticated is set.
	Validator Validator
	// Unauthenticated accepts activities without a channel token (local mode). It is an explicit
	// switch so that a missing validator can never silently turn authentication off.
	Unauthenticated bool
	// AllowedTenants, when not empty, is the only tenants whose activities are processed.
	AllowedTenants []string
	// Metrics records activities and authentication failures.
	Metrics *metrics.Metrics
	// Logger receives request and turn logs; default slog.Default().
	Logger *slog.Logger
	// ShutdownTimeout bounds the drain of in-flight turns; default DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// TurnTimeout bounds one turn; default DefaultTurnTimeout.
	TurnTimeout time.Duration
}

// Server serves the Bot Framework endpoint and the operational endpoints.
type Server struct {
	cfg     Config
	log     *slog.Logger
	engine  *gin.Engine
	tenants map[string]struct{}
	refs    *refCache

	// turnBase parents every turn's context; it is cancelled when the drain deadline passes so
	// that turns still running stop instead of being cut off mid-write by process exit.
	turnBase   context.Context
	cancelTurn context.CancelFunc
	draining   atomic.Bool
}

// New validates cfg and builds the Server.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Mux == nil:
		return nil, errors.New("server: Mux is required")
	case cfg.Store == nil:
		return nil, errors.New("server: Store is required")
	case cfg.Connector == nil:
		return nil, errors.New("server: Connector is required")
	case cfg.Metrics == nil:
		return nil, errors.New("server: Metrics is required")
	case cfg.Validator == nil && !cfg.Unauthenticated:
		return nil, errors.New("server: a Validator is required unless Unauthenticated is set")
	case cfg.Validator != nil && cfg.Unauthenticated:
		return nil, errors.New("server: Validator and Unauthenticated are mutually exclusive")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.TurnTimeout <= 0 {
		cfg.TurnTimeout = DefaultTurnTimeout
	}
	s := &Server{cfg: cfg, log: cfg.Logger, refs: newRefCache(refCacheSize, refCacheTTL)}
	if len(cfg.AllowedTenants) > 0 {
		s.tenants = make(map[string]struct{}, len(cfg.AllowedTenants))
		for _, t := range cfg.AllowedTenants {
			s.tenants[t] = struct{}{}
		}
	}
	s.turnBase, s.cancelTurn = context.WithCancel(context.Background())
	if cfg.Validator != nil {
		cfg.Metrics.InitAuthFailureReasons(botframework.AuthReasons...)
	}

	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.Use(s.requestID, s.accessLog, s.recovery)
	e.POST("/api/messages", s.messages)
	e.HEAD("/api/messages", func(c *gin.Context) { c.Status(http.StatusOK) })
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	e.GET("/metrics", gin.WrapH(cfg.Metrics.Handler()))
	e.NoRoute(func(c *gin.Context) { writeError(c, http.StatusNotFound, "NotFound", "not found") })
	e.NoMethod(func(c *gin.Context) {
		writeError(c, http.StatusMethodNotAllowed, "MethodNotAllowed", "method not allowed")
	})
	s.engine = e
	return s, nil
}

// Handler returns the HTTP handler (for tests and benchmarks that serve it themselves).
func (s *Server) Handler() http.Handler { return s.engine }

// ListenAndServe listens on Config.Addr and serves until ctx is cancelled, then shuts down
// gracefully. ready, if not nil, receives the bound address once the listener is open.
func (s *Server) ListenAndServe(ctx context.Context, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", s.cfg.Addr, err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is cancelled. It then stops accepting connections and waits for
// in-flight turns to finish, at most ShutdownTimeout; turns still running after that are
// cancelled. It returns nil after a clean drain.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.engine,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.cfg.TurnTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	// Shutdown runs these after it has closed the listeners, so this line marks the moment new
	// connections stop being accepted.
	srv.RegisterOnShutdown(func() {
		s.log.Info("shutting down: listener closed, draining in-flight turns", "timeout", s.cfg.ShutdownTimeout)
	})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		s.cancelTurn()
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		s.log.Warn("drain deadline passed: cancelling remaining turns", "error", err)
		s.cancelTurn()
		_ = srv.Close()
		return fmt.Errorf("server: shutdown: %w", err)
	}
	s.cancelTurn()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	s.log.Info("shut down cleanly")
	return nil
}

// errorBody is the one error shape of every HTTP path, modelled on the Bot Framework's
// ErrorResponse. Messages are generic: reasons go to the logs, never to the caller.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(c *gin.Context, status int, code, message string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, message
	c.AbortWithStatusJSON(status, b)
}

const requestIDKey = "request_id"

// requestID takes a sane X-Request-Id from a fronting proxy or makes one, and echoes it.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if !validRequestID(id) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-Id", id)
	c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch == '-' || ch == '_' || ch == '.') {
			return false
		}
	}
	return true
}

// accessLog writes one line per request; probes and scrapes log at debug to keep the logs about
// traffic.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	level := slog.LevelInfo
	switch c.FullPath() {
	case "/healthz", "/readyz", "/metrics":
		level = slog.LevelDebug
	}
	if !s.log.Enabled(c.Request.Context(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", c.Request.Method),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", c.Writer.Status()),
		slog.Duration("duration", time.Since(start)),
		slog.String(requestIDKey, c.GetString(requestIDKey)),
	}
	if v, ok := c.Get(activityLogKey); ok {
		attrs = append(attrs, v.([]slog.Attr)...)
	}
	s.log.LogAttrs(c.Request.Context(), level, "request", attrs...)
}

// recovery answers 500 to a panic outside a turn (turn panics are recovered by the router's
// middleware and handled as failed turns).
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "panic", fmt.Sprint(v), requestIDKey, c.GetString(requestIDKey))
			writeError(c, http.StatusInternalServerError, "InternalError", "internal error")
		}
	}()
	c.Next()
}

// ready reports whether the store answers and, with authentication on, the channel's signing
// keys are loaded.
func (s *Server) ready(c *gin.Context) {
	if s.draining.Load() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "reason": "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		s.log.Warn("readiness: store unreachable", "error", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "reason": "store unreachable"})
		return
	}
	if s.cfg.Validator != nil && !s.cfg.Validator.Ready() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "reason": "channel signing keys not loaded"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// bufPool recycles request body buffers; activities are small but frequent.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readBody reads at most MaxBodyBytes; tooLarge reports a larger body.
func readBody(c *gin.Context) (buf *bytes.Buffer, tooLarge bool, err error) {
	if c.Request.ContentLength > MaxBodyBytes {
		return nil, true, nil
	}
	buf = bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	_, err = buf.ReadFrom(io.LimitReader(c.Request.Body, MaxBodyBytes+1))
	if err != nil {
		bufPool.Put(buf)
		return nil, false, err
	}
	if buf.Len() > MaxBodyBytes {
		bufPool.Put(buf)
		return nil, true, nil
	}
	return buf, false, nil
}

func putBody(buf *bytes.Buffer) {
	if buf.Cap() <= 4*MaxBodyBytes {
		bufPool.Put(buf)
	}
}

// knownTypes bounds the "type" label of the activity metrics.
var knownTypes = []string{
	botframework.TypeMessage, botframework.TypeInvoke, botframework.TypeConversationUpdate,
	botframework.TypeInstallationUpdate, botframework.TypeMessageReaction, botframework.TypeEvent,
	botframework.TypeTyping,
}

func metricType(t string) string {
	if slices.Contains(knownTypes, t) {
		return t
	}
	return "other"
}

// activityLogKey carries the activity's correlation attributes to the access log.
const activityLogKey = "activity_log_attrs"

// Invoke responses the server writes itself.
var (
	unsupportedAction = botframework.ErrorResponse(http.StatusBadRequest, "BadRequest", "This card action is not supported.")
	failedAction      = botframework.ErrorResponse(http.StatusInternalServerError, "InternalError", "Something went wrong. Please try again.")
	duplicateAction   = botframework.MessageResponse("Your action is being processed.")
)

// messages is the /api/messages pipeline.
func (s *Server) messages(c *gin.Context) {
	start := time.Now()
	reqID := c.GetString(requestIDKey)
	typ := "unknown"
	outcome := metrics.OutcomeOK
	defer func() { s.cfg.Metrics.Activity(typ, outcome, time.Since(start)) }()

	buf, tooLarge, err := readBody(c)
	switch {
	case tooLarge:
		outcome = metrics.OutcomeBadRequest
		writeError(c, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "request body too large")
		return
	case err != nil:
		outcome = metrics.OutcomeBadRequest
		s.log.Warn("reading request body failed", requestIDKey, reqID, "error", err)
		writeError(c, http.StatusBadRequest, "BadRequest", "unreadable request body")
		return
	}
	a, err := botframework.DecodeActivityBytes(buf.Bytes())
	putBody(buf)
	if err != nil {
		outcome = metrics.OutcomeBadRequest
		s.log.Warn("malformed activity", requestIDKey, reqID, "error", err)
		writeError(c, http.StatusBadRequest, "BadRequest", "malformed activity")
		return
	}
	typ = metricType(string(a.Type))
	c.Set(activityLogKey, []slog.Attr{
		slog.String("activity_type", string(a.Type)),
		slog.String("activity_id", a.ID),
		slog.String("conversation_id", a.Conversation.ID),
	})
	ctx := c.Request.Context()

	if s.cfg.Validator != nil {
		if _, err := s.cfg.Validator.Validate(ctx, c.GetHeader("Authorization"), a); err != nil {
			status, reason := http.StatusUnauthorized, "invalid_token"
			var ae *botframework.AuthError
			if errors.As(err, &ae) {
				reason = ae.Reason
				switch ae.Status {
				case http.StatusForbidden, http.StatusServiceUnavailable:
					status = ae.Status
				}
			}
			outcome = metrics.OutcomeUnauthorized
			s.cfg.Metrics.AuthFailure(reason)
			s.log.Warn("channel authentication failed", requestIDKey, reqID, "activity_id", a.ID,
				"conversation_id", a.Conversation.ID, "reason", reason, "status", status, "error", err)
			switch status {
			case http.StatusForbidden:
				writeError(c, status, "Forbidden", "forbidden")
			case http.StatusServiceUnavailable:
				// The signing keys could not be loaded: not the caller's fault, so invite a retry.
				outcome = metrics.OutcomeUnavailable
				writeError(c, status, "ServiceUnavailable", "temporarily unavailable")
			default:
				writeError(c, status, "Unauthorized", "unauthorized")
			}
			return
		}
	}

	if s.tenants != nil {
		if _, ok := s.tenants[a.TenantID()]; !ok {
			outcome = metrics.OutcomeForbidden
			s.log.Warn("activity from a tenant that is not allowed", requestIDKey, reqID,
				"activity_id", a.ID, "conversation_id", a.Conversation.ID, "tenant_id", a.TenantID())
			writeError(c, http.StatusForbidden, "Forbidden", "forbidden")
			return
		}
	}

	if err := s.captureReference(ctx, a); err != nil {
		outcome = metrics.OutcomeUnavailable
		s.log.Error("storing conversation reference failed", requestIDKey, reqID, "activity_id", a.ID,
			"conversation_id", a.Conversation.ID, "error", err)
		writeError(c, http.StatusServiceUnavailable, "ServiceUnavailable", "temporarily unavailable")
		return
	}

	turn := router.NewTurn(a, router.TurnConfig{
		Connector:     s.cfg.Connector,
		Logger:        s.log,
		RequestID:     reqID,
		Authenticated: s.cfg.Validator != nil,
	})
	isInvoke := string(a.Type) == botframework.TypeInvoke
	if !isInvoke && s.cfg.Mux.Match(turn) == nil {
		// Nothing would run (typing indicators, reactions, unknown types): no claim needed.
		outcome = metrics.OutcomeIgnored
		c.Status(http.StatusOK)
		return
	}

	claimed := false
	if a.ID != "" && a.Conversation.ID != "" {
		ok, err := s.cfg.Store.ClaimActivity(ctx, a.Conversation.ID, a.ID)
		if err != nil {
			outcome = metrics.OutcomeUnavailable
			turn.Log.Error("claiming the activity failed", "error", err)
			writeError(c, http.StatusServiceUnavailable, "ServiceUnavailable", "temporarily unavailable")
			return
		}
		if !ok {
			outcome = metrics.OutcomeDuplicate
			turn.Log.Info("duplicate activity ignored")
			s.writeDuplicate(c, turn)
			return
		}
		claimed = true
	}

	err = s.dispatch(ctx, turn)
	switch {
	case err == nil:
		if isInvoke {
			if resp := turn.InvokeResponse(); resp != nil {
				writeInvoke(c, turn.Log, *resp)
			} else {
				// Handled without a response (e.g. signin/verifyState): a bare 200 is the answer.
				c.Status(http.StatusOK)
			}
			return
		}
		c.Status(http.StatusOK)
	case errors.Is(err, router.ErrUnhandled):
		outcome = metrics.OutcomeIgnored
		if !isInvoke {
			c.Status(http.StatusOK)
			return
		}
		if a.Name == botframework.InvokeAdaptiveCardAction {
			writeInvoke(c, turn.Log, unsupportedAction)
			return
		}
		// The Bot Framework SDKs answer unknown invokes with 501.
		c.Status(http.StatusNotImplemented)
	default:
		outcome = metrics.OutcomeError
		if claimed {
			// Release with a fresh context: the turn's may have been cancelled.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if rerr := s.cfg.Store.ReleaseActivity(rctx, a.Conversation.ID, a.ID); rerr != nil {
				turn.Log.Error("releasing the failed activity's claim failed; a re-send will be ignored", "error", rerr)
			}
			cancel()
		}
		if isInvoke && a.Name == botframework.InvokeAdaptiveCardAction {
			writeInvoke(c, turn.Log, failedAction)
			return
		}
		writeError(c, http.StatusInternalServerError, "InternalError", "internal error")
	}
}

// dispatch runs the turn with a context that survives the caller hanging up (Teams gives up
// after ~15 s, but a half-done turn must not be cut off between two side effects) and is bounded
// by the turn timeout and the server's drain deadline.
func (s *Server) dispatch(reqCtx context.Context, turn *router.Turn) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(reqCtx), s.cfg.TurnTimeout)
	defer cancel()
	stop := context.AfterFunc(s.turnBase, cancel)
	defer stop()
	return s.cfg.Mux.Dispatch(ctx, turn)
}

// writeInvoke writes an invoke response: HTTP status = its statusCode, body its JSON encoding
// ({statusCode,type,value} for card actions).
func writeInvoke(c *gin.Context, log *slog.Logger, resp botframework.InvokeResponse) {
	status := resp.Status()
	if status < 200 || status > 599 {
		log.Error("handler set an invalid invoke status; answering 500", "status", status)
		resp, status = failedAction, failedAction.Status()
	}
	body, err := json.Marshal(resp)
	if err != nil {
		log.Error("encoding the invoke response failed", "error", err)
		resp, status = failedAction, failedAction.Status()
		body, _ = json.Marshal(resp)
	}
	c.Data(status, "application/json; charset=utf-8", body)
}

// writeDuplicate answers a re-sent activity without running it again. A card action gets a valid
// invoke response so the client shows no error while the first delivery finishes.
func (s *Server) writeDuplicate(c *gin.Context, turn *router.Turn) {
	a := turn.Activity
	switch {
	case string(a.Type) != botframework.TypeInvoke:
		c.Status(http.StatusOK)
	case a.Name == botframework.InvokeAdaptiveCardAction:
		writeInvoke(c, turn.Log, duplicateAction)
	default:
		writeInvoke(c, turn.Log, botframework.StatusResponse(http.StatusOK))
	}
}
