package proactive_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"guestpass/internal/botframework"
	"guestpass/internal/proactive"
	"guestpass/internal/store"
	"guestpass/internal/testkit"
)

const tenant = "t-1"

// env is the fake Bot Connector (real HTTP, Teams' rules for who has the app) and a real SQLite
// store; the Installer fake stands in for Graph, which internal/approvals' tests exercise through
// the sandbox tenant.
type env struct {
	fake  *testkit.Connector
	st    store.Store
	convs *proactive.Conversations

	mu        sync.Mutex
	installed map[string]bool
	installs  int
}

func newEnv(t *testing.T, withInstaller bool) *env {
	t.Helper()
	e := &env{installed: map[string]bool{}}
	e.fake = testkit.NewConnector(t, testkit.WithoutRateLimit(), testkit.WithInstalledApps(func(oid string) bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.installed[oid]
	}))
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	o := proactive.Options{
		Connector: botframework.NewConnector(botframework.ConnectorConfig{HTTPClient: e.fake.Client(), MaxRetries: -1, Timeout: 5 * time.Second,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}),
		Store: st, BotID: "28:bot", ServiceURL: e.fake.ServiceURL,
	}
	if withInstaller {
		o.Installer = e
	}
	if e.convs, err = proactive.New(o); err != nil {
		t.Fatal(err)
	}
	return e
}

// InstallForUser implements proactive.Installer.
func (e *env) InstallForUser(_ context.Context, oid string) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.installs++
	was := e.installed[oid]
	e.installed[oid] = true
	return !was, nil
}

func (e *env) creates() int {
	n := 0
	for _, c := range e.fake.Calls() {
		if c.Op == botframework.OpCreateConversation {
			n++
		}
	}
	return n
}

func TestPersonalCreatesOnceAndStores(t *testing.T) {
	e := newEnv(t, false)
	e.installed["u1"] = true
	ctx := context.Background()
	var wg sync.WaitGroup
	refs := make([]store.ConversationRef, 8)
	for i := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref, err := e.convs.Personal(ctx, tenant, "u1")
			if err != nil {
				t.Error(err)
			}
			refs[i] = ref
		}()
	}
	wg.Wait()
	if n := e.creates(); n != 1 {
		t.Fatalf("%d concurrent first messages created the chat %d times, want once", len(refs), n)
	}
	for _, r := range refs {
		if r.ConversationID == "" || r.ConversationID != refs[0].ConversationID || r.ServiceURL == "" {
			t.Fatalf("refs differ or are empty: %+v", refs)
		}
	}
	stored, err := e.st.PersonalConversation(ctx, tenant, "u1")
	if err != nil || stored.ConversationID != refs[0].ConversationID {
		t.Fatalf("stored reference = %+v, %v", stored, err)
	}
}

func TestPersonalWithoutTheApp(t *testing.T) {
	ctx := context.Background()

	off := newEnv(t, false)
	if _, err := off.convs.Personal(ctx, tenant, "u2"); !errors.Is(err, proactive.ErrUnreachable) {
		t.Fatalf("no app, no installer: %v, want ErrUnreachable", err)
	}

	on := newEnv(t, true)
	ref, err := on.convs.Personal(ctx, tenant, "u2")
	if err != nil || ref.ConversationID == "" {
		t.Fatalf("with an installer: %+v, %v", ref, err)
	}
	if on.installs != 1 || on.creates() != 2 {
		t.Fatalf("installs %d, creates %d; want 1 install between a refused and a successful create", on.installs, on.creates())
	}
	// Stored now: no more connector calls or installs.
	if _, err := on.convs.Personal(ctx, tenant, "u2"); err != nil || on.installs != 1 || on.creates() != 2 {
		t.Fatalf("second call: %v, installs %d, creates %d", err, on.installs, on.creates())
	}
}
