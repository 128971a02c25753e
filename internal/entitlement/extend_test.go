package entitlement_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
	"guestpass/internal/sandbox"
)

// TestExtendAssignmentAsTheUser: the extension is an adminUpdate request with the new schedule,
// made with the signed-in user's token; Entra refuses a user without an entitlement-management
// role (keeping Graph's request id), and bad input never reaches Graph.
func TestExtendAssignmentAsTheUser(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sc := e.create(t, oneStage("Extensions"))
	reqID := e.request(t, sc, "ext@fabrikam.com")
	if err := e.sb.DecideAs(sandbox.UserMegan, reqID, "Approve", "ok"); err != nil {
		t.Fatal(err)
	}
	list, err := e.svc.Assignments(ctx, entitlement.AssignmentFilter{AccessPackageID: sc.AccessPackageID})
	if err != nil || len(list) != 1 {
		t.Fatalf("assignments: %v %+v", err, list)
	}
	a := list[0]
	until := a.ExpiresAt.Add(30 * 24 * time.Hour).Truncate(time.Second)

	e.reset()
	for name, call := range map[string]func() error{
		"bad id": func() error {
			_, err := e.svc.ExtendAssignment(ctx, e.as(sandbox.UserPatti), "x'; drop", until)
			return err
		},
		"past end": func() error {
			_, err := e.svc.ExtendAssignment(ctx, e.as(sandbox.UserPatti), a.ID, time.Now().Add(-time.Hour))
			return err
		},
	} {
		if err := call(); !errors.Is(err, entitlement.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if n := len(e.graphCalls()); n != 0 {
		t.Fatalf("%d Graph calls for invalid input", n)
	}

	_, err = e.svc.ExtendAssignment(ctx, e.as(sandbox.UserAlex), a.ID, until)
	if ge, ok := graph.AsError(err); !errors.Is(err, entitlement.ErrForbidden) || !ok || ge.RequestID == "" {
		t.Fatalf("extend as a sponsor without a role: %v", err)
	}
	// Not after the current end: refused before the write.
	if _, err := e.svc.ExtendAssignment(ctx, e.as(sandbox.UserPatti), a.ID, a.ExpiresAt); !errors.Is(err, entitlement.ErrInvalid) {
		t.Errorf("same end: %v", err)
	}

	e.reset()
	ext, err := e.svc.ExtendAssignment(ctx, e.as(sandbox.UserPatti), a.ID, until)
	if err != nil {
		t.Fatalf("extend as catalog creator: %v", err)
	}
	if ext.RequestID == "" || ext.GraphRequestID == "" || !ext.ExpiresAt.Equal(until) || !ext.PreviousEnd.Equal(a.ExpiresAt) {
		t.Errorf("extension = %+v", ext)
	}
	jsonEqual(t, "POST assignmentRequests (adminUpdate)", e.wire.bodies("POST", em+"/assignmentRequests")[0],
		`{"requestType":"adminUpdate","assignment":{"id":"`+a.ID+`"},"schedule":{"startDateTime":"`+a.StartsAt.Format(time.RFC3339)+`",`+
			`"expiration":{"endDateTime":"`+until.Format(time.RFC3339)+`","type":"afterDateTime"}}}`)
	after, err := e.svc.Assignments(ctx, entitlement.AssignmentFilter{AccessPackageID: sc.AccessPackageID})
	if err != nil || len(after) != 1 || !after[0].ExpiresAt.Equal(until) {
		t.Fatalf("after the extension: %v %+v", err, after)
	}
}

// TestPackageRequests: one call lists a package's add requests since a time, newest first, with
// the requestor; decided requests are included (a follower must see them).
func TestPackageRequests(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sc := e.create(t, oneStage("Requests by package"))
	first := e.request(t, sc, "first@fabrikam.com")
	if err := e.sb.DecideAs(sandbox.UserMegan, first, "Deny", "no"); err != nil {
		t.Fatal(err)
	}
	e.sb.AdvanceClock(time.Minute) // Graph's createdDateTime has whole seconds
	second := e.request(t, sc, "second@fabrikam.com")

	e.reset()
	got, err := e.svc.PackageRequests(ctx, sc.AccessPackageID, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != second || got[1].ID != first || got[1].State != entitlement.RequestDenied ||
		got[0].Requestor.Email != "second@fabrikam.com" {
		t.Fatalf("requests = %+v", got)
	}
	calls := e.graphCalls()
	if len(calls) != 1 || !strings.Contains(calls[0].Query, "(accessPackage/id eq '"+sc.AccessPackageID+"') and (createdDateTime ge ") {
		t.Fatalf("calls = %+v", calls)
	}
	if later, err := e.svc.PackageRequests(ctx, sc.AccessPackageID, time.Now().Add(time.Hour)); err != nil || len(later) != 0 {
		t.Fatalf("requests since a later time: %v %+v", err, later)
	}
	if _, err := e.svc.PackageRequests(ctx, "x' or 1 eq 1", time.Time{}); !errors.Is(err, entitlement.ErrInvalid) {
		t.Fatalf("bad package id: %v", err)
	}
}
