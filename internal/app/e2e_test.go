package app_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"guestpass/internal/app"
	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/testenv"
	"guestpass/internal/testkit"
)

// TestLocalModeGuestAccessEndToEnd drives the wired process the way the local demo does: the
// sponsor defines a scenario in the wizard, the guest requests it from the sandbox (`bot guest`),
// the approvals worker sends the sponsor the approval card, and the sponsor's click is signed in
// (the sandbox stands in for Teams SSO), exchanged on-behalf-of and recorded in Entra.
func TestLocalModeGuestAccessEndToEnd(t *testing.T) {
	dir := t.TempDir()
	_, url := localApp(t, dir, map[string]string{"APPROVAL_POLL_INTERVAL": "1s"})
	fake := testkit.NewConnector(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	b := &player{t: t, url: url, fake: fake}

	b.defineScenario(ctx, "Falcon partners", "Partners on the project")

	// The guest's side, by scenario name, exactly as `bot guest` does it.
	req, err := app.SubmitGuestRequest(ctx, app.GuestOptions{
		Email: "pat@contoso.com", Package: "Falcon partners",
		StatePath: filepath.Join(dir, "sandbox.json"), DatabaseURL: filepath.Join(dir, "guestpass.db"),
	})
	if err != nil {
		t.Fatal(err)
	}

	// The worker finds the pending request and sends the sponsor (stage 1 approver) the card in
	// the conversation the bot already has with them.
	sent, err := fake.WaitFor(ctx, func(c testkit.Call) bool {
		return c.Op == botframework.OpSend && strings.Contains(string(c.Body), cards.VerbApprove) && strings.Contains(string(c.Body), req.RequestID)
	})
	if err != nil {
		t.Fatalf("no approval card for request %s: %v", req.RequestID, err)
	}
	decided := b.click(testenv.CardOf(t, sent.Activity), cards.VerbApprove, nil)
	if !decided.Has("Approved") && !decided.Has("approved") {
		t.Fatalf("the approve click answered:\n%s", decided.Raw)
	}
	if _, err := fake.WaitFor(ctx, func(c testkit.Call) bool {
		return c.Op == botframework.OpSend && strings.Contains(c.Activity.Text, "approved")
	}); err != nil {
		t.Fatalf("the sponsor was never told about the decision: %v", err)
	}
}

// player is the Playground's default user talking to the running bot.
type player struct {
	t    *testing.T
	url  string
	fake *testkit.Connector
}

func (p *player) post(a *botframework.Activity) []byte {
	p.t.Helper()
	resp, err := http.Post(p.url+"/api/messages", "application/json", bytes.NewReader(testkit.JSON(p.t, a)))
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		p.t.Fatalf("POST /api/messages: %d %s", resp.StatusCode, body)
	}
	return body
}

// defineScenario walks the wizard as the sponsor: partners from contoso.com get the Project X
// team as members for 30 days with the sponsor's approval; it returns when the card says ready.
func (p *player) defineScenario(ctx context.Context, name, description string) {
	p.t.Helper()
	picker := p.say("new scenario")
	step := p.click(picker, cards.VerbNewScenario, nil)
	partners := p.click(step, cards.VerbWizardNext, map[string]string{cards.InputName: name, cards.InputDescription: description})
	resources := p.click(partners, cards.VerbWizardNext, map[string]string{cards.InputPartnerDomains: "contoso.com", cards.InputAnyExternalUser: cards.ToggleOff})
	found := p.click(resources, cards.VerbWizardSearch, map[string]string{cards.InputResourceQuery: "Project X"})
	added := p.click(found, cards.VerbWizardAddResources, map[string]string{cards.InputResourcePick: found.Choice(p.t, "Project X (Team) · Member")})
	approval := p.click(added, cards.VerbWizardNext, nil)
	duration := p.click(approval, cards.VerbWizardNext, map[string]string{
		cards.InputApprovalRequired: cards.ToggleOn, cards.InputSponsorApproves: cards.ToggleOn,
		cards.InputStage1Approvers: "", cards.InputStage2Approvers: "", cards.InputStage3Approvers: "",
		cards.InputRequestorJustification: cards.ToggleOff, cards.InputApproverJustification: cards.ToggleOff, cards.InputAutoDenyDays: "14",
	})
	questions := p.click(duration, cards.VerbWizardNext, map[string]string{cards.InputDurationDays: "30", cards.InputAllowExtension: cards.ToggleOff, cards.InputAllowB2B: cards.ToggleOff})
	review := p.click(questions, cards.VerbWizardNext, nil)
	p.click(review, cards.VerbCreateScenario, nil)
	if _, err := p.fake.WaitFor(ctx, func(c testkit.Call) bool {
		return c.Op == botframework.OpUpdate && strings.Contains(string(c.Body), "is ready")
	}); err != nil {
		p.t.Fatalf("the scenario never became ready: %v", err)
	}
}

// say types text and returns the card the bot answered with.
func (p *player) say(text string) testenv.Card {
	p.t.Helper()
	before := len(p.fake.Calls())
	p.post(testkit.PersonalMessage(p.fake.ServiceURL, text))
	calls := p.fake.Calls()
	if len(calls) <= before {
		p.t.Fatalf("say %q: the bot sent nothing", text)
	}
	return testenv.CardOf(p.t, calls[len(calls)-1].Activity)
}

// click sends Action.Execute with verb's data merged with inputs and returns the answered card.
func (p *player) click(c testenv.Card, verb string, inputs map[string]string) testenv.Card {
	p.t.Helper()
	data := c.Action(p.t, verb)
	for k, v := range inputs {
		data[k] = v
	}
	return testenv.InvokeCard(p.t, p.post(testkit.ActionInvoke(p.fake.ServiceURL, verb, data)))
}
