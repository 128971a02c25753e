package dialogs_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
	"guestpass/internal/testenv"
	"guestpass/internal/testkit"
)

func TestTypedInputCancelAndStaleCards(t *testing.T) {
	tn := newTenant(t)
	b := tn.start(t, botOptions{})

	picker := b.say("/scenario new")
	nameCard := b.click(picker, cards.VerbNewScenario, nil)
	// Typed text drives the same steps: the name step takes the name…
	partners := b.say("Typed partners")
	if !partners.Has("Partner organisations") {
		t.Fatalf("typed name did not advance:\n%s", partners.Raw)
	}
	// …and the partners step the domains.
	resources := b.say("contoso.com, fabrikam.com")
	if !resources.Has("Find resources") {
		t.Fatalf("typed domains did not advance:\n%s", resources.Raw)
	}
	step, draft, _ := dialogOf(t, b.store)
	if step != cards.StepResources || draft.Name != "Typed partners" || len(draft.Partners) != 2 || draft.Partners[1].Domain != "fabrikam.com" {
		t.Fatalf("dialog = %s %+v", step, draft)
	}
	if back := b.say("back"); !back.Has("Partner organisations") {
		t.Fatalf("back did not return to partners:\n%s", back.Raw)
	}

	// A click on the first card (its nonce is long gone) is refused with the current card.
	stale := b.click(nameCard, cards.VerbWizardNext, map[string]string{cards.InputName: "Overwritten"})
	if !stale.Has("out of date") || !stale.Has("Partner organisations") {
		t.Fatalf("stale click not refused:\n%s", stale.Raw)
	}
	if _, draft, _ := dialogOf(t, b.store); draft.Name != "Typed partners" {
		t.Fatalf("stale card changed the draft: name %q", draft.Name)
	}

	// Start over, as text, keeps the dialog but empties the draft.
	restarted := b.say("start over")
	if !restarted.Has("Name and description") {
		t.Fatalf("start over:\n%s", restarted.Raw)
	}
	if step, draft, _ := dialogOf(t, b.store); step != cards.StepName || draft.Name != "" || draft.OwnerOID != sandbox.UserAlex {
		t.Fatalf("after start over: %s %+v", step, draft)
	}

	cancelled := b.say("cancel")
	if !cancelled.Has("cancelled") {
		t.Fatalf("cancel:\n%s", cancelled.Raw)
	}
	if _, _, found := dialogOf(t, b.store); found {
		t.Fatal("the dialog survived cancel")
	}
	gone := b.click(restarted, cards.VerbWizardNext, map[string]string{cards.InputName: "Late"})
	if !gone.Has("no longer active") {
		t.Fatalf("click after cancel:\n%s", gone.Raw)
	}
	if again := b.say("cancel"); !again.Has("no scenario draft to cancel") {
		t.Fatalf("cancel without a draft:\n%s", again.Raw)
	}
}

func TestCancelButtonMidWay(t *testing.T) {
	tn := newTenant(t)
	b := tn.start(t, botOptions{})
	partners := toPartners(t, b, "Button cancel")
	done := b.click(partners, cards.VerbWizardCancel, nil)
	if !done.Has("Nothing was created") {
		t.Fatalf("cancel button:\n%s", done.Raw)
	}
	if _, _, found := dialogOf(t, b.store); found {
		t.Fatal("the dialog survived the Cancel button")
	}
}

func TestInvalidDomainStaysLocal(t *testing.T) {
	tn := newTenant(t)
	b := tn.start(t, botOptions{})
	partners := toPartners(t, b, "Bad domains")
	tn.GraphCalls.Reset()
	again := b.click(partners, cards.VerbWizardNext, map[string]string{cards.InputPartnerDomains: "fabrikam.com, not a domain!, 10.0.0.1", cards.InputAnyExternalUser: off})
	if n := tn.GraphCalls.Total(); n != 0 {
		t.Fatalf("an invalid domain cost %d Graph calls: %v", n, tn.GraphCalls.Counts())
	}
	if !again.Has("“not”") && !again.Has("not a valid domain") {
		t.Fatalf("no error on the card:\n%s", again.Raw)
	}
	// The error sits right under the domains input, and the input shows what was typed.
	i, j := strings.Index(again.Raw, `"id":"partnerDomains"`), strings.Index(again.Raw, "not a valid domain")
	if i < 0 || j < i || strings.Contains(again.Raw[i:j], `"id":"anyExternalUser"`) {
		t.Fatalf("the error is not next to the domains field:\n%s", again.Raw)
	}
	if !again.Has("not a domain!") {
		t.Fatal("the card lost what the sponsor typed")
	}
	if step, _, _ := dialogOf(t, b.store); step != cards.StepPartners {
		t.Fatalf("step = %s, want partners", step)
	}
}

func TestDuplicateScenarioName(t *testing.T) {
	tn := newTenant(t)
	b := tn.start(t, botOptions{})
	if err := b.store.PutScenario(context.Background(), store.ScenarioRecord{ID: "taken-1", TenantID: sandbox.TenantID, Name: "Taken Name",
		OwnerOID: sandbox.UserAdele, State: store.ScenarioActive, Spec: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	picker := b.say("new scenario")
	nameCard := b.click(picker, cards.VerbNewScenario, nil)
	again := b.click(nameCard, cards.VerbWizardNext, map[string]string{cards.InputName: "taken name"})
	if !again.Has("already has a scenario with this name") || !again.Has("Name and description") {
		t.Fatalf("duplicate name accepted:\n%s", again.Raw)
	}
	if step, _, _ := dialogOf(t, b.store); step != cards.StepName {
		t.Fatalf("step = %s, want name", step)
	}
}

func TestGuestIsRefused(t *testing.T) {
	tn := newTenant(t)
	b := tn.start(t, botOptions{})
	asGuest := func(a *botframework.Activity) {
		a.From.ID = "29:guest-diego"
		a.From.Name = "Diego Siciliani"
		a.From.AadObjectID = sandbox.GuestDiego
	}
	refused := b.sayAs("new scenario", asGuest)
	if !refused.Has("Guest accounts can't run") {
		t.Fatalf("guest not refused:\n%s", refused.Raw)
	}
	entries, err := b.store.ListAudit(context.Background(), store.AuditQuery{Action: authz.AuditActionRefused})
	if err != nil || len(entries) != 1 || entries[0].ActorOID != sandbox.GuestDiego || entries[0].Outcome != authz.CodeGuest {
		t.Fatalf("audit = %+v, %v", entries, err)
	}
	if _, err := b.store.LoadDialog(context.Background(), testkit.PlaygroundConversationID, sandbox.GuestDiego); err == nil {
		t.Fatal("a dialog was started for the guest")
	}
}

func TestTemplatePrefillsAndRequiresSecondStage(t *testing.T) {
	tn := newTenant(t)
	b := tn.start(t, botOptions{})
	picker := b.say("new scenario")
	status, body := b.clickData(picker.ActionWith(t, cards.VerbWizardTemplate, cards.KeyTemplate, "vendor-app"), cards.VerbWizardTemplate, nil)
	if status != http.StatusOK {
		t.Fatalf("template click: %d %s", status, body)
	}
	nameCard := testenv.InvokeCard(t, body)
	_, draft, _ := dialogOf(t, b.store)
	if draft.Template != "vendor-app" || draft.DurationDays != 30 || draft.AllowExtension || len(draft.Approval.Stages) != 2 || !draft.Approval.Required {
		t.Fatalf("template draft = %+v", draft)
	}
	partners := b.click(nameCard, cards.VerbWizardNext, map[string]string{cards.InputName: "Relecloud vendors"})
	resources := b.click(partners, cards.VerbWizardNext, map[string]string{cards.InputPartnerDomains: "contoso.com"})
	found := b.click(resources, cards.VerbWizardSearch, map[string]string{cards.InputResourceQuery: "Relecloud"})
	added := b.click(found, cards.VerbWizardAddResources, map[string]string{cards.InputResourcePick: found.Choice(t, "Relecloud Travel (App) · Traveler")})
	approval := b.click(added, cards.VerbWizardNext, nil)
	if !approval.Has(`"value":"5"`) && !approval.Has("Second-stage approvers") {
		t.Fatalf("approval step:\n%s", approval.Raw)
	}
	again := b.click(approval, cards.VerbWizardNext, map[string]string{cards.InputSponsorApproves: on, cards.InputStage2Approvers: ""})
	if !again.Has("needs a second-stage approver") {
		t.Fatalf("missing second stage accepted:\n%s", again.Raw)
	}
	unknown := b.click(again, cards.VerbWizardNext, map[string]string{cards.InputSponsorApproves: on, cards.InputStage2Approvers: "nobody-here@example.com"})
	if !unknown.Has("No one in your directory has the address") {
		t.Fatalf("unknown approver accepted:\n%s", unknown.Raw)
	}
	duration := b.click(unknown, cards.VerbWizardNext, map[string]string{cards.InputSponsorApproves: on, cards.InputStage2Approvers: "isaiah"})
	if !duration.Has("Access duration") {
		t.Fatalf("approver by name not resolved:\n%s", duration.Raw)
	}
	_, draft, _ = dialogOf(t, b.store)
	if st := draft.Approval.Stages; len(st) != 2 || st[1].Approvers[0].ID != sandbox.UserIsaiah || st[0].Approvers[0].Kind != "sponsor" {
		t.Fatalf("stages = %+v", st)
	}
}

func TestDraftExpires(t *testing.T) {
	tn := newTenant(t)
	clock := testkit.NewClock(time.Now())
	b := tn.start(t, botOptions{now: clock.Now})
	partners := toPartners(t, b, "Expiring")
	clock.Advance(24*time.Hour + time.Minute)
	expired := b.click(partners, cards.VerbWizardNext, map[string]string{cards.InputPartnerDomains: "contoso.com"})
	if !expired.Has("expired after 24 hours of inactivity") || !expired.Has("new scenario") {
		t.Fatalf("expiry message:\n%s", expired.Raw)
	}
	if _, _, found := dialogOf(t, b.store); found {
		t.Fatal("the expired dialog was kept")
	}

	// Input inside the TTL keeps the draft alive: each step moves the expiry.
	partners = toPartners(t, b, "Kept alive")
	clock.Advance(20 * time.Hour)
	resources := b.click(partners, cards.VerbWizardNext, map[string]string{cards.InputPartnerDomains: "contoso.com"})
	clock.Advance(20 * time.Hour)
	if again := b.say("Project X"); !again.Has("Project X (Team)") {
		t.Fatalf("draft did not survive 40 h of regular use:\n%s", again.Raw)
	}
	_ = resources
}

// TestRestartMidWay closes the bot (server, background work, database) in the middle of a draft
// and continues on a new process over the same SQLite file.
func TestRestartMidWay(t *testing.T) {
	tn := newTenant(t)
	first := tn.start(t, botOptions{})
	partners := toPartners(t, first, "Survives restarts")
	first.close()

	second := tn.start(t, botOptions{})
	resources := second.click(partners, cards.VerbWizardNext, map[string]string{cards.InputPartnerDomains: "contoso.com"})
	if !resources.Has("Find resources") {
		t.Fatalf("after restart:\n%s", resources.Raw)
	}
	if step, draft, _ := dialogOf(t, second.store); step != cards.StepResources || draft.Name != "Survives restarts" {
		t.Fatalf("after restart: %s %+v", step, draft)
	}
}

// TestConcurrentSubmissions sends two clicks on the same card at once, to two replicas sharing the
// database: one is applied, the other is told its card is out of date; the state is the winner's.
func TestConcurrentSubmissions(t *testing.T) {
	tn := newTenant(t)
	a := tn.start(t, botOptions{})
	b := tn.start(t, botOptions{})
	picker := a.say("new scenario")
	nameCard := a.click(picker, cards.VerbNewScenario, nil)

	names := []string{"Replica A wins", "Replica B wins"}
	cardsOut := make([]testenv.Card, 2)
	var wg sync.WaitGroup
	for i, r := range []*bot{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := r.clickRaw(nameCard, cards.VerbWizardNext, map[string]string{cards.InputName: names[i]})
			if status != http.StatusOK {
				t.Errorf("replica %d: status %d %s", i, status, body)
				return
			}
			cardsOut[i] = testenv.InvokeCard(t, body)
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	var winner, stale int
	winnerName := ""
	for i, c := range cardsOut {
		switch {
		case c.Has("out of date") || c.Has("changed from somewhere else"):
			stale++
		case c.Has("Partner organisations"):
			winner++
			winnerName = names[i]
		default:
			t.Fatalf("unexpected answer:\n%s", c.Raw)
		}
	}
	if winner != 1 || stale != 1 {
		t.Fatalf("%d applied, %d refused; want exactly one of each", winner, stale)
	}
	step, draft, _ := dialogOf(t, a.store)
	if step != cards.StepPartners || draft.Name != winnerName {
		t.Fatalf("state = %s %q, want partners %q", step, draft.Name, winnerName)
	}
}
