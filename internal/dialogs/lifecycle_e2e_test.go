package dialogs_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
	"guestpass/internal/testenv"
	"guestpass/internal/testkit"
)

// toReview walks a minimal draft (contoso.com, the Project X team, defaults) to the review card.
func toReview(t *testing.T, b *bot, name string) testenv.Card {
	t.Helper()
	partners := toPartners(t, b, name)
	resources := b.click(partners, cards.VerbWizardNext, map[string]string{cards.InputPartnerDomains: "contoso.com"})
	found := b.click(resources, cards.VerbWizardSearch, map[string]string{cards.InputResourceQuery: "Project X"})
	added := b.click(found, cards.VerbWizardAddResources, map[string]string{cards.InputResourcePick: found.Choice(t, "Project X (Team) · Member")})
	approval := b.click(added, cards.VerbWizardNext, nil)
	duration := b.click(approval, cards.VerbWizardNext, nil)
	questions := b.click(duration, cards.VerbWizardNext, nil)
	review := b.click(questions, cards.VerbWizardNext, nil)
	if !review.Has("Review") {
		t.Fatalf("not the review step:\n%s", review.Raw)
	}
	return review
}

// waitCard waits for the bot to update the clicked card with a card containing text.
func waitCard(t *testing.T, tn *tenant, text string) testenv.Card {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := tn.Connector.WaitFor(ctx, func(c testkit.Call) bool {
		return c.Op == botframework.OpUpdate && strings.Contains(string(c.Body), text)
	})
	if err != nil {
		t.Fatalf("no card with %q: %v", text, err)
	}
	return testenv.CardOf(t, c.Activity)
}

// TestCreationFailureAndRetry: without the permission to write entitlement management, creation
// ends with a clear message and Retry; once the permission is granted (and the bot restarted,
// so it holds a fresh token), Retry finishes the scenario.
func TestCreationFailureAndRetry(t *testing.T) {
	tn := newTenant(t)
	noWrite := slices.DeleteFunc(slices.Clone(sandbox.DefaultAppRoles), func(r string) bool { return r == "EntitlementManagement.ReadWrite.All" })
	tn.Sandbox.SetAppRoles(append(noWrite, "EntitlementManagement.Read.All"))
	b := tn.start(t, botOptions{})
	review := toReview(t, b, "Needs permission")
	b.click(review, cards.VerbCreateScenario, nil)
	failed := waitCard(t, tn, "Couldn't create")
	if !failed.Has("doctor") || !failed.Has("not allowed") {
		t.Fatalf("failure card does not explain the permission problem:\n%s", failed.Raw)
	}
	if step, _, found := dialogOf(t, b.store); !found || step != cards.StepReview {
		t.Fatalf("draft not kept for Retry: %s %v", step, found)
	}
	entries, err := b.store.ListAudit(context.Background(), store.AuditQuery{Action: "scenario.create"})
	if err != nil || len(entries) != 1 || entries[0].Outcome != "failed" {
		t.Fatalf("audit = %+v, %v", entries, err)
	}

	tn.Sandbox.SetAppRoles(sandbox.DefaultAppRoles)
	b.close()
	b2 := tn.start(t, botOptions{})
	progress := b2.click(failed, cards.VerbCreateScenario, nil)
	if !progress.Has("Creating") {
		t.Fatalf("Retry:\n%s", progress.Raw)
	}
	waitCard(t, tn, "is ready")
	rec, err := b2.store.ScenarioByName(context.Background(), sandbox.TenantID, "Needs permission")
	if err != nil || rec.State != store.ScenarioActive || rec.PolicyID == "" {
		t.Fatalf("after Retry: %+v, %v", rec, err)
	}
}

// TestListShowEditRetire covers the commands on existing scenarios and who may run them.
func TestListShowEditRetire(t *testing.T) {
	tn := newTenant(t)
	b := tn.start(t, botOptions{})
	b.click(toReview(t, b, "Lifecycle"), cards.VerbCreateScenario, nil)
	waitCard(t, tn, "is ready")

	list := b.say("scenarios")
	if !list.Has("Lifecycle") {
		t.Fatalf("list:\n%s", list.Raw)
	}
	detail := b.click(list, cards.VerbScenarioShow, nil)
	if !detail.Has("Active guests") || !detail.Has("myaccess.microsoft.com") || !detail.Has("Project X") {
		t.Fatalf("detail:\n%s", detail.Raw)
	}

	// Invitations are a later capability: the button says so rather than pretending.
	if c := b.click(detail, cards.VerbInviteGuests, nil); !c.Has("coming in a later version") {
		t.Fatalf("invite:\n%s", c.Raw)
	}

	// Another sponsor may not open or change it.
	adele := func(a *botframework.Activity) {
		a.From.ID, a.From.Name, a.From.AadObjectID = "29:adele", "Adele Vance", sandbox.UserAdele
	}
	if c := b.sayAs("scenario edit Lifecycle", adele); !c.Has("Not your scenario") {
		t.Fatalf("another sponsor could edit:\n%s", c.Raw)
	}

	// Edit: resources → approval → duration → review → Save.
	resources := b.say("scenario edit Lifecycle")
	if !resources.Has("Edit guest scenario") || !resources.Has("Project X") {
		t.Fatalf("edit:\n%s", resources.Raw)
	}
	approval := b.click(resources, cards.VerbWizardNext, nil)
	duration := b.click(approval, cards.VerbWizardNext, nil)
	review := b.click(duration, cards.VerbWizardNext, map[string]string{cards.InputDurationDays: "120"})
	if !review.Has("Save changes") {
		t.Fatalf("edit review:\n%s", review.Raw)
	}
	b.click(review, cards.VerbSaveScenario, nil)
	waitCard(t, tn, "changes are saved")
	ctx := context.Background()
	rec, err := b.store.ScenarioByName(ctx, sandbox.TenantID, "Lifecycle")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := tn.Graph.IdentityGovernance().EntitlementManagement().AssignmentPolicies().ByAccessPackageAssignmentPolicyId(rec.PolicyID).Get(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := isoDays(pol.GetExpiration().GetDuration()); d != 120 {
		t.Fatalf("policy duration after edit = %d days, want 120", d)
	}

	// Retire: confirmation first, then the policy stops taking requests; the record says retired.
	confirm := b.say("scenario retire lifecycle")
	if !confirm.Has("Retire “Lifecycle”?") {
		t.Fatalf("confirmation:\n%s", confirm.Raw)
	}
	if rec, _ := b.store.ScenarioByName(ctx, sandbox.TenantID, "Lifecycle"); rec.State == store.ScenarioRetired {
		t.Fatal("retired before confirmation")
	}
	retired := b.click(confirm, cards.VerbRetireConfirm, nil)
	if !retired.Has("Retired") {
		t.Fatalf("retired:\n%s", retired.Raw)
	}
	if rec, _ := b.store.ScenarioByName(ctx, sandbox.TenantID, "Lifecycle"); rec.State != store.ScenarioRetired {
		t.Fatalf("state = %s, want retired", rec.State)
	}
	pol, err = tn.Graph.IdentityGovernance().EntitlementManagement().AssignmentPolicies().ByAccessPackageAssignmentPolicyId(rec.PolicyID).Get(ctx, nil)
	if err != nil || *pol.GetRequestorSettings().GetEnableTargetsToSelfAddAccess() {
		t.Fatalf("retired policy still takes requests (%v)", err)
	}
}
