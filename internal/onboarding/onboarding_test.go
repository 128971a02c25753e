package onboarding

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
)

const (
	newGuest      = "new.person@contoso.com"
	existingGuest = "nestorw@contoso.com"
	outsideGuest  = "bob@fabrikam.com"
)

// TestInviteThreeAddresses: one new guest, one guest who already has access, one address outside
// the partner organisations → one mail from the sponsor's mailbox, the right results card, one
// onboarding row.
func TestInviteThreeAddresses(t *testing.T) {
	e := newEnv(t)
	b := e.start(botOptions{})
	sc := b.scenario("Launch", sandbox.UserAdele, nil)
	e.grant(sc.AccessPackageID, existingGuest)
	ctx := context.Background()

	// "Invite guests" on the scenario's result card opens the form with the scenario chosen.
	form := b.click(sandbox.UserAdele, map[string]string{cards.KeyVerb: cards.VerbInviteGuests, cards.KeyScenarioID: sc.ID}, "").cardText(t)
	if !contains(form, "Invite guests", sc.ID) {
		t.Fatalf("form: %s", form)
	}
	nonce := nonceOf(t, form)
	preview := b.click(sandbox.UserAdele, formData(nonce, sc.ID, "Jane <"+newGuest+">;\n"+strings.ToUpper(existingGuest)+", "+outsideGuest, cards.DeliveryMail), "").cardText(t)
	if !contains(preview, "Check the email", newGuest, "Launch", "30 days", "myaccess", "Not sent to 1 address", outsideGuest) {
		t.Fatalf("preview: %s", preview)
	}

	// Send without a token: Teams is asked for the sponsor's SSO token.
	if r := b.click(sandbox.UserAdele, sendData(nonce), ""); r.Status != http.StatusUnauthorized || r.Body.Type != botframework.InvokeTypeLoginRequest {
		t.Fatalf("send without token: %d %s", r.Status, r.Body.Type)
	}
	if n := len(e.sb.SentMail()); n != 0 {
		t.Fatalf("%d mails before the token", n)
	}
	e.sb.ResetCalls()
	progress := b.click(sandbox.UserAdele, sendData(nonce), e.token(sandbox.UserAdele)).cardText(t)
	if !contains(progress, "Inviting guests", "Resume if interrupted") {
		t.Fatalf("progress: %s", progress)
	}
	b.wait()

	calls := e.sb.Calls()
	if got := calls["POST /v1.0/me/sendMail"]; got != 1 {
		t.Errorf("sendMail calls = %d, want 1 (calls %v)", got, calls)
	}
	if got := calls["POST /v1.0/invitations"]; got != 0 {
		t.Errorf("invitations = %d, want 0", got)
	}
	if got := calls["POST /v1.0/identityGovernance/entitlementManagement/assignmentRequests"]; got != 0 {
		t.Errorf("assignment requests = %d: the bot must never assign access itself", got)
	}
	mails := e.sb.SentMail()
	if len(mails) != 1 || mails[0].FromUserID != sandbox.UserAdele || e.mailsTo(newGuest) != 1 {
		t.Fatalf("mails: %+v", mails)
	}
	if body, _ := mails[0].Message["body"].(map[string]any); !strings.Contains(body["content"].(string), sc.MyAccessLink) {
		t.Errorf("mail body lacks the My Access link: %v", body)
	}

	ups := e.activities(botframework.OpUpdate, conversationOf(sandbox.UserAdele))
	if len(ups) == 0 {
		t.Fatal("the progress card was never updated")
	}
	final := ups[len(ups)-1]
	if !contains(final, "Invitations for", "1 sent · 1 already have access · 1 refused", newGuest, strings.ToUpper(existingGuest[:7])+"@contoso.com", outsideGuest,
		"Mail sent from your mailbox", "Already a guest with this access", "partner organisations") {
		t.Fatalf("results card: %s", final)
	}
	rows, err := b.st.ListOnboardings(ctx, store.OnboardingQuery{ScenarioID: sc.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].GuestEmail != newGuest || rows[0].State != store.OnboardingLinkSent || rows[0].Channel != store.ChannelMail {
		t.Fatalf("onboardings: %+v", rows)
	}

	// Clicking Send again does nothing new: every guest is recorded.
	b.click(sandbox.UserAdele, sendData(nonce), e.token(sandbox.UserAdele))
	b.wait()
	if n := len(e.sb.SentMail()); n != 1 {
		t.Fatalf("a repeated Send sent %d mails in all, want 1", n)
	}
}

// TestFollowNotifiesOnce: the new guest requests access, the approver approves in the sandbox;
// the worker moves the onboarding to delivered and tells the sponsor exactly once.
func TestFollowNotifiesOnce(t *testing.T) {
	e := newEnv(t)
	b := e.start(botOptions{})
	sc := b.scenario("Launch", sandbox.UserAdele, nil)
	nonce := nonceOf(t, b.click(sandbox.UserAdele, map[string]string{cards.KeyVerb: cards.VerbInviteGuests}, "").cardText(t))
	b.click(sandbox.UserAdele, formData(nonce, sc.ID, newGuest, cards.DeliveryLink), "").cardText(t)
	b.wait()
	// The link card to forward went to the sponsor's chat.
	sends := e.activities(botframework.OpSend, conversationOf(sandbox.UserAdele))
	if len(sends) != 1 || !contains(sends[0], "invited to request access", sc.MyAccessLink) {
		t.Fatalf("link card: %v", sends)
	}
	if err := b.st.UpsertConversation(context.Background(), store.ConversationRef{ConversationID: conversationOf(sandbox.UserAdele),
		ConversationType: "personal", ServiceURL: e.conn.ServiceURL, TenantID: sandbox.TenantID, BotID: botID, UserAADObjectID: sandbox.UserAdele}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	state := func() store.Onboarding {
		rows, err := b.st.ListOnboardings(ctx, store.OnboardingQuery{ScenarioID: sc.ID})
		if err != nil || len(rows) != 1 {
			t.Fatalf("onboardings: %v %+v", err, rows)
		}
		return rows[0]
	}
	poll := func() {
		t.Helper()
		if err := b.o.Poll(ctx); err != nil {
			t.Fatalf("Poll: %v", err)
		}
	}
	poll()
	if s := state().State; s != store.OnboardingLinkSent {
		t.Fatalf("state before the request = %s", s)
	}
	reqID, err := e.sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: newGuest, AccessPackageID: sc.AccessPackageID})
	if err != nil {
		t.Fatal(err)
	}
	poll()
	if got := state(); got.State != store.OnboardingRequested || got.RequestID != reqID {
		t.Fatalf("after the request: %+v", got)
	}
	if err := e.sb.DecideAs(sandbox.UserMegan, reqID, "Approve", "welcome"); err != nil {
		t.Fatal(err)
	}
	before := len(e.activities(botframework.OpSend, conversationOf(sandbox.UserAdele)))
	for range 3 {
		poll()
	}
	got := state()
	if got.State != store.OnboardingDelivered || got.AssignmentID == "" || got.ExpiresAt == nil || got.NotifiedState != store.OnboardingDelivered {
		t.Fatalf("after approval: %+v", got)
	}
	notes := e.activities(botframework.OpSend, conversationOf(sandbox.UserAdele))[before:]
	if len(notes) != 1 || !contains(notes[0], "now has access", newGuest) {
		t.Fatalf("sponsor notes: %v", notes)
	}

	// `guests` lists the guest with status, scenario and until.
	b.say(sandbox.UserAdele, "guests")
	list := e.activities(botframework.OpSend, conversationOf(sandbox.UserAdele))
	if last := list[len(list)-1]; !contains(last, "Your guests", newGuest, "has access", "Launch", "until", cards.VerbGuestRemove) {
		t.Fatalf("guest list: %s", last)
	}
}

// TestExpiryNoticeAndExtensionLink: close to the end of access the sponsor gets the expiry card
// once and sends the guest the extension link from their mailbox; remove then ends access with the
// sponsor's delegated right.
func TestExpiryNoticeAndExtensionLink(t *testing.T) {
	e := newEnv(t)
	clock := time.Now()
	now := func() time.Time { return clock }
	b := e.start(botOptions{now: now})
	sc := b.scenario("Launch", sandbox.UserAdele, func(s *entitlement.Scenario) { s.DurationDays = 5 })
	ctx := context.Background()
	e.grant(sc.AccessPackageID, existingGuest)
	row, err := b.st.UpsertOnboarding(ctx, store.Onboarding{TenantID: sandbox.TenantID, ScenarioID: sc.ID, SponsorOID: sandbox.UserAdele,
		GuestEmail: existingGuest, Channel: store.ChannelMail, State: store.OnboardingLinkSent})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := b.o.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	row, err = b.st.GetOnboarding(ctx, row.ID)
	if err != nil {
		t.Fatal(err)
	}
	if row.State != store.OnboardingExpiring || row.NotifiedState != store.OnboardingExpiring {
		t.Fatalf("5-day access within the 7-day notice: %+v", row)
	}
	// Adele has no stored chat: the bot created one to deliver the expiry card.
	var expiry []string
	for _, c := range e.conn.Calls() {
		if c.Op == botframework.OpSend && c.Activity != nil && strings.Contains(string(mustJSON(t, c.Activity)), "access ends soon") {
			expiry = append(expiry, string(mustJSON(t, c.Activity)))
		}
	}
	if len(expiry) != 1 || !contains(expiry[0], cards.VerbExpirySendLink, cards.VerbExpiryLetExpire, existingGuest) {
		t.Fatalf("expiry cards: %v", expiry)
	}
	id := strconv.FormatInt(row.ID, 10)
	r := b.click(sandbox.UserAdele, map[string]string{cards.KeyVerb: cards.VerbExpirySendLink, cards.KeyOnboardingID: id}, e.token(sandbox.UserAdele))
	if !contains(r.cardText(t), "Extension link sent") || e.mailsTo(existingGuest) != 1 {
		t.Fatalf("extension link: %s, mails %d", r.Body.Value, e.mailsTo(existingGuest))
	}
	// Megan is not the guest's sponsor (nor an admin): refused before any Graph call.
	if r := b.click(sandbox.UserMegan, map[string]string{cards.KeyVerb: cards.VerbExpirySendLink, cards.KeyOnboardingID: id}, e.token(sandbox.UserMegan)); !contains(r.cardText(t), "Not allowed") {
		t.Fatalf("other sponsor: %s", r.Body.Value)
	}
	if e.mailsTo(existingGuest) != 1 {
		t.Fatal("a non-sponsor sent mail")
	}

	// Remove: confirmation first, then the removal as Adele.
	confirm := b.click(sandbox.UserAdele, map[string]string{cards.KeyVerb: cards.VerbGuestRemove, cards.KeyOnboardingID: id}, "").cardText(t)
	if !contains(confirm, "Remove", cards.VerbGuestRemoveConfirm) {
		t.Fatalf("confirm: %s", confirm)
	}
	done := b.click(sandbox.UserAdele, map[string]string{cards.KeyVerb: cards.VerbGuestRemoveConfirm, cards.KeyOnboardingID: id}, e.token(sandbox.UserAdele))
	// Entra checks Adele's own right: she holds no entitlement-management role on the catalog, so
	// the sandbox refuses, and nothing changes.
	row, _ = b.st.GetOnboarding(ctx, row.ID)
	if text := done.cardText(t); !contains(text, "Entra refused") || row.State != store.OnboardingExpiring {
		t.Fatalf("remove as Adele: %s, state %s", text, row.State)
	}
	// Patti, an admin and catalog creator, may: the assignment is removed as her.
	done = b.click(sandbox.UserPatti, map[string]string{cards.KeyVerb: cards.VerbGuestRemoveConfirm, cards.KeyOnboardingID: id}, e.token(sandbox.UserPatti))
	row, _ = b.st.GetOnboarding(ctx, row.ID)
	if text := done.cardText(t); !contains(text, "Access removed") || row.State != store.OnboardingRemoved {
		t.Fatalf("remove as Patti: %s, state %s", text, row.State)
	}
	if n := len(mustAudit(t, b.st, "onboarding.remove")); n != 2 {
		t.Fatalf("remove audit entries = %d", n)
	}
}

// TestRestartMidBatchResumes: the process stops after the first guest; a new process over the
// same database resumes from the progress card and each guest gets exactly one mail.
func TestRestartMidBatchResumes(t *testing.T) {
	e := newEnv(t)
	b1 := e.start(botOptions{})
	sc := b1.scenario("Launch", sandbox.UserAdele, nil)
	guests := []string{"g1@contoso.com", "g2@contoso.com", "g3@contoso.com"}
	nonce := nonceOf(t, b1.click(sandbox.UserAdele, map[string]string{cards.KeyVerb: cards.VerbInviteGuests}, "").cardText(t))
	b1.click(sandbox.UserAdele, formData(nonce, sc.ID, strings.Join(guests, "\n"), cards.DeliveryMail), "").cardText(t)
	// Stop the process (graceful shutdown cancels running batches) right after the first guest.
	b1.o.afterGuest = func(i int) {
		if i == 0 {
			b1.o.bgCancel()
		}
	}
	b1.click(sandbox.UserAdele, sendData(nonce), e.token(sandbox.UserAdele)).cardText(t)
	b1.wait()
	if n := len(e.sb.SentMail()); n != 1 {
		t.Fatalf("mails before the restart = %d, want 1", n)
	}
	b1.api.Close()

	b2 := e.start(botOptions{})
	progress := b2.click(sandbox.UserAdele, sendData(nonce), e.token(sandbox.UserAdele)).cardText(t)
	if !contains(progress, "1 of 3 processed") {
		t.Fatalf("resumed progress: %s", progress)
	}
	b2.wait()
	for _, g := range guests {
		if n := e.mailsTo(g); n != 1 {
			t.Errorf("%s got %d mails, want 1", g, n)
		}
	}
	ups := e.activities(botframework.OpUpdate, conversationOf(sandbox.UserAdele))
	if final := ups[len(ups)-1]; !contains(final, "3 sent · 0 already have access · 0 refused") {
		t.Fatalf("results: %s", final)
	}
}

// TestInviteRefusals: the daily limit, a sponsor who doesn't own the scenario, a scenario without
// B2B, bad addresses, and the command path.
func TestInviteRefusals(t *testing.T) {
	e := newEnv(t)
	b := e.start(botOptions{dailyLimit: 2})
	sc := b.scenario("Launch", sandbox.UserAdele, nil)
	nonce := randomID(16)
	tests := []struct {
		name, user, addrs, delivery string
		want                        []string
	}{
		{"over the daily limit", sandbox.UserAdele, "a@contoso.com b@contoso.com c@contoso.com", cards.DeliveryMail, []string{"Invite guests", "You can invite 2 more guest(s) today"}},
		{"not the owner", sandbox.UserMegan, "a@contoso.com", cards.DeliveryMail, []string{"Not allowed", "only to scenarios you own or co-own"}},
		{"B2B not allowed", sandbox.UserAdele, "a@contoso.com", cards.DeliveryB2B, []string{"Invite guests", "doesn't allow B2B invitations"}},
		{"bad address", sandbox.UserAdele, "a@contoso.com, not-an-address", cards.DeliveryMail, []string{"Invite guests", "Fix these", "not-an-address"}},
		{"too many", sandbox.UserAdele, manyAddresses(51), cards.DeliveryMail, []string{"Invite guests", "at most 50"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := b.click(tc.user, formData(nonce, sc.ID, tc.addrs, tc.delivery), "")
			if card := r.cardText(t); !contains(card, tc.want...) {
				t.Fatalf("card: %s", card)
			}
		})
	}
	if got := mustAudit(t, b.st, "authz.refused"); len(got) == 0 {
		t.Error("the non-owner's attempt was not audited")
	}
	// Within the limit it goes through; the limit then counts those two.
	b.click(sandbox.UserAdele, formData(nonce, sc.ID, "a@contoso.com b@contoso.com", cards.DeliveryLink), "").cardText(t)
	b.wait()
	card := b.click(sandbox.UserAdele, formData(randomID(16), sc.ID, "c@contoso.com", cards.DeliveryLink), "").cardText(t)
	if !contains(card, "You can invite 0 more guest(s) today") {
		t.Fatalf("after two invitations: %s", card)
	}
	// The command goes straight to the preview for a named scenario.
	b.say(sandbox.UserAdele, `invite z@contoso.com --scenario "Launch"`)
	sends := e.activities(botframework.OpSend, conversationOf(sandbox.UserAdele))
	if last := sends[len(sends)-1]; !contains(last, "You can invite 0 more") {
		t.Fatalf("command: %s", last)
	}
}

func manyAddresses(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("guest" + strconv.Itoa(i) + "@contoso.com\n")
	}
	return b.String()
}

func mustAudit(t *testing.T, st store.Store, action string) []store.AuditEntry {
	t.Helper()
	out, err := st.ListAudit(context.Background(), store.AuditQuery{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestB2BInvitation: only where the scenario opts in, a B2B invitation made as the sponsor, who
// becomes the guest's sponsor; a guest already in the directory is not invited again.
func TestB2BInvitation(t *testing.T) {
	e := newEnv(t)
	b := e.start(botOptions{})
	sc := b.scenario("Partners", sandbox.UserAdele, func(s *entitlement.Scenario) { s.AllowB2BInvitation = true })
	nonce := randomID(16)
	preview := b.click(sandbox.UserAdele, formData(nonce, sc.ID, "b2b.new@contoso.com diegos@contoso.com", cards.DeliveryB2B), "").cardText(t)
	if !contains(preview, "Check the email", "Microsoft invitation") {
		t.Fatalf("preview: %s", preview)
	}
	// Without delegated User.Invite.All consented, Entra refuses the invitation made as Adele; the
	// bot never falls back to its own app permission.
	b.click(sandbox.UserAdele, sendData(nonce), e.token(sandbox.UserAdele)).cardText(t)
	b.wait()
	ups := e.activities(botframework.OpUpdate, conversationOf(sandbox.UserAdele))
	if final := ups[len(ups)-1]; !contains(final, "1 refused", "Entra refused it for your account") {
		t.Fatalf("results without consent: %s", final)
	}

	e.sb.SetDelegatedScopes(append(append([]string(nil), sandbox.DefaultDelegatedScopes...), "User.Invite.All"))
	nonce = randomID(16)
	b.click(sandbox.UserAdele, formData(nonce, sc.ID, "b2b.new@contoso.com diegos@contoso.com", cards.DeliveryB2B), "").cardText(t)
	e.sb.ResetCalls()
	b.click(sandbox.UserAdele, sendData(nonce), e.token(sandbox.UserAdele)).cardText(t)
	b.wait()
	if got := e.sb.Calls()["POST /v1.0/invitations"]; got != 1 {
		t.Fatalf("invitations = %d, want 1", got)
	}
	ups = e.activities(botframework.OpUpdate, conversationOf(sandbox.UserAdele))
	if final := ups[len(ups)-1]; !contains(final, "2 sent", "B2B invitation sent", "automatic removal", "Already a guest in your directory") {
		t.Fatalf("results: %s", final)
	}
	rows, err := b.st.ListOnboardings(context.Background(), store.OnboardingQuery{ScenarioID: sc.ID, GuestEmail: "b2b.new@contoso.com"})
	if err != nil || len(rows) != 1 || rows[0].Channel != store.ChannelB2B || rows[0].GuestOID == "" {
		t.Fatalf("onboarding: %v %+v", err, rows)
	}
	sponsors, err := e.app.Users().ByUserId(rows[0].GuestOID).Sponsors().Get(context.Background(), nil)
	if err != nil || len(sponsors.GetValue()) != 1 || *sponsors.GetValue()[0].GetId() != sandbox.UserAdele {
		t.Fatalf("guest's sponsors: %v", err)
	}
}
