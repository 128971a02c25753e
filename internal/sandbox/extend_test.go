package sandbox_test

import (
	"testing"
	"time"

	"guestpass/internal/sandbox"
)

// TestAdminUpdateExtendsAssignment: an adminUpdate request with a new schedule moves an active
// assignment's end, as Graph does; a delegated caller needs an entitlement-management role (as for
// adminRemove), app-only needs EntitlementManagement.ReadWrite.All; bad bodies answer 400.
func TestAdminUpdateExtendsAssignment(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := appAPI(t, sb)
	const em = "/identityGovernance/entitlementManagement"
	d := provision(t, app, contosoPolicy())
	req := app.must(201, "POST", em+"/assignmentRequests", map[string]any{"requestType": "adminAdd",
		"assignment": map[string]any{"targetId": sandbox.GuestDiego, "assignmentPolicyId": d.policyID, "accessPackageId": d.packageID}})
	asgID := app.must(200, "GET", em+"/assignmentRequests/"+req["id"].(string)+"?$expand=assignment", nil)["assignment"].(map[string]any)["id"].(string)
	endOf := func() string {
		a := app.must(200, "GET", em+"/assignments/"+asgID, nil)
		return a["schedule"].(map[string]any)["expiration"].(map[string]any)["endDateTime"].(string)
	}
	before := endOf()
	update := func(end time.Time) map[string]any {
		return map[string]any{"requestType": "adminUpdate", "assignment": map[string]any{"id": asgID},
			"schedule": map[string]any{"startDateTime": time.Now().UTC().Format(time.RFC3339),
				"expiration": map[string]any{"type": "afterDateTime", "endDateTime": end.UTC().Format(time.RFC3339)}}}
	}
	newEnd := time.Now().Add(200 * 24 * time.Hour).UTC().Truncate(time.Second)

	// Adele holds no entitlement-management role: refused, nothing changes.
	if r := userAPI(t, sb, sandbox.UserAdele).do("POST", em+"/assignmentRequests", update(newEnd)); r.status != 403 {
		t.Fatalf("adminUpdate as Adele: %d %s", r.status, r.raw)
	}
	if endOf() != before {
		t.Fatal("a refused adminUpdate changed the assignment")
	}
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"no assignment id", map[string]any{"requestType": "adminUpdate", "assignment": map[string]any{}, "schedule": update(newEnd)["schedule"]}},
		{"no schedule", map[string]any{"requestType": "adminUpdate", "assignment": map[string]any{"id": asgID}}},
		{"end in the past", update(time.Now().Add(-time.Hour))},
		{"duration type", map[string]any{"requestType": "adminUpdate", "assignment": map[string]any{"id": asgID},
			"schedule": map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P30D"}}}},
	} {
		if r := app.do("POST", em+"/assignmentRequests", tc.body); r.status != 400 {
			t.Errorf("%s: %d %s", tc.name, r.status, r.raw)
		}
	}
	if r := app.do("POST", em+"/assignmentRequests", map[string]any{"requestType": "adminUpdate",
		"assignment": map[string]any{"id": "00000000-0000-0000-0000-00000000dead"}, "schedule": update(newEnd)["schedule"]}); r.status != 404 {
		t.Errorf("unknown assignment: %d %s", r.status, r.raw)
	}

	// Patti (catalog creator) may: the end moves and a delivered adminUpdate request records it.
	created := userAPI(t, sb, sandbox.UserPatti).must(201, "POST", em+"/assignmentRequests", update(newEnd))
	if created["requestType"] != "adminUpdate" {
		t.Fatalf("created = %v", created)
	}
	if got := endOf(); got != newEnd.Format("2006-01-02T15:04:05Z") {
		t.Fatalf("end after adminUpdate = %s, want %s", got, newEnd)
	}
	r := app.must(200, "GET", em+"/assignmentRequests/"+created["id"].(string), nil)
	if r["state"] != "delivered" || r["requestType"] != "adminUpdate" {
		t.Fatalf("request = %v", r)
	}
	// App-only with the application permission may too.
	later := newEnd.Add(24 * time.Hour)
	app.must(201, "POST", em+"/assignmentRequests", update(later))
	if got := endOf(); got != later.Format("2006-01-02T15:04:05Z") {
		t.Fatalf("end after the app-only adminUpdate = %s", got)
	}
	// An ended assignment cannot be extended.
	app.must(201, "POST", em+"/assignmentRequests", map[string]any{"requestType": "adminRemove", "assignment": map[string]any{"id": asgID}})
	if r := app.do("POST", em+"/assignmentRequests", update(later.Add(time.Hour))); r.status != 400 {
		t.Fatalf("extending an expired assignment: %d %s", r.status, r.raw)
	}
}
