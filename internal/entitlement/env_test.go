package entitlement_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"

	"guestpass/internal/credentials"
	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
	"guestpass/internal/testenv"
)

// captured is one HTTP request the service sent to Graph.
type captured struct {
	Method string
	Path   string // decoded URL path, no query
	Query  string // decoded query
	Body   string
	Status int
}

// wire sits under the Graph middleware (it sees every attempt): it records requests and can
// inject faults or run a hook before a matching request reaches the sandbox.
type wire struct {
	next http.RoundTripper

	mu     sync.Mutex
	log    []captured
	faults []*fault
}

type fault struct {
	method, pathSuffix string
	remaining          int
	status             int    // respond with this status without calling the sandbox
	reply              string // body of that response (default: a Graph error)
	before             func() // or run this before forwarding
}

func (w *wire) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	c := captured{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body)}
	if q, err := url.QueryUnescape(r.URL.RawQuery); err == nil {
		c.Query = q
	}
	w.mu.Lock()
	var hit *fault
	for _, f := range w.faults {
		if f.remaining > 0 && f.method == r.Method && strings.HasSuffix(r.URL.Path, f.pathSuffix) {
			f.remaining--
			hit = f
			break
		}
	}
	w.mu.Unlock()
	var resp *http.Response
	var err error
	switch {
	case hit != nil && hit.status != 0:
		reply := hit.reply
		if reply == "" {
			reply = `{"error":{"code":"InjectedFault","message":"injected by the test","innerError":{"request-id":"injected-fault"}}}`
		}
		resp = &http.Response{StatusCode: hit.status, ContentLength: int64(len(reply)),
			Header: http.Header{"Content-Type": {"application/json"}, "Request-Id": {"injected-fault"}},
			Body:   io.NopCloser(strings.NewReader(reply)), Request: r, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	default:
		if hit != nil && hit.before != nil {
			hit.before()
		}
		resp, err = w.next.RoundTrip(r)
	}
	if resp != nil {
		c.Status = resp.StatusCode
	}
	w.mu.Lock()
	w.log = append(w.log, c)
	w.mu.Unlock()
	return resp, err
}

func (w *wire) inject(f *fault) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults = append(w.faults, f)
}

func (w *wire) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log = nil
}

func (w *wire) calls() []captured {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.log)
}

// routes summarises the recorded calls as "METHOD path" lines with sandbox ids replaced by
// their role, for readable call-sequence assertions.
func (w *wire) routes(names map[string]string) []string {
	var out []string
	for _, c := range w.calls() {
		p := c.Path
		for id, name := range names {
			if id != "" {
				p = strings.ReplaceAll(p, id, name)
			}
		}
		out = append(out, c.Method+" "+strings.TrimPrefix(p, "/v1.0"))
	}
	return out
}

// bodies returns the bodies of calls matching method and path suffix.
func (w *wire) bodies(method, suffix string) []string {
	var out []string
	for _, c := range w.calls() {
		if c.Method == method && strings.HasSuffix(c.Path, suffix) {
			out = append(out, c.Body)
		}
	}
	return out
}

type env struct {
	t       *testing.T
	tn      *testenv.Tenant
	sb      *sandbox.Sandbox
	svc     *entitlement.Service
	app     *msgraphsdk.GraphServiceClient
	counter *graph.CallCounter
	wire    *wire
	store   store.Store
	opts    entitlement.ServiceOptions
}

type envOption func(*entitlement.ServiceOptions)

func newEnv(t *testing.T, mods ...envOption) *env {
	t.Helper()
	w := &wire{}
	tn := testenv.New(t, testenv.Options{Graph: func(o *graph.Options) {
		if w.next == nil { // the first client, built by testenv.New before any request
			w.next = o.HTTPClient.Transport
		}
		// The wire sits under the Graph middleware; the retry policy is production's, with
		// short waits.
		o.HTTPClient = &http.Client{Transport: w, Timeout: time.Minute}
		o.MaxRetries, o.MaxRetryAfter = graph.DefaultMaxRetries, 5*time.Second
	}})
	st := tn.OpenStore(nil)
	opts := entitlement.ServiceOptions{
		Graph: tn.Graph, Store: st, TenantID: sandbox.TenantID, Logger: testenv.Quiet(),
		DelegatedClient: func(_ context.Context, cred azcore.TokenCredential) (*msgraphsdk.GraphServiceClient, error) {
			return tn.GraphClient(cred)
		},
	}
	for _, m := range mods {
		m(&opts)
	}
	svc, err := entitlement.NewService(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, tn: tn, sb: tn.Sandbox, svc: svc, app: tn.Graph, counter: tn.GraphCalls, wire: w, store: st, opts: opts}
}

// as returns the on-behalf-of credential of a sandbox user, from a Teams-like SSO token: the
// production delegated path.
func (e *env) as(userOID string) azcore.TokenCredential {
	e.t.Helper()
	cred, err := credentials.OnBehalfOf(e.tn.Credentials, e.tn.Token(userOID))
	if err != nil {
		e.t.Fatal(err)
	}
	return cred
}

// reset clears recorded calls and counts.
func (e *env) reset() {
	e.wire.reset()
	e.counter.Reset()
}

// graphCalls counts recorded calls to Graph (not the token endpoint).
func (e *env) graphCalls() []captured {
	var out []captured
	for _, c := range e.wire.calls() {
		if strings.HasPrefix(c.Path, "/v1.0/") {
			out = append(out, c)
		}
	}
	return out
}

// jsonEqual compares two JSON documents semantically and reports a readable diff.
func jsonEqual(t *testing.T, what, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: golden is not JSON: %v\n%s", what, err, want)
	}
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.MarshalIndent(g, "", "  ")
		wb, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("%s: request body differs from the documented shape\n got: %s\nwant: %s", what, gb, wb)
	}
}

// fill replaces {{name}} placeholders in a golden document.
func fill(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	return s
}
