package onboarding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/commands"
	"guestpass/internal/entitlement"
	"guestpass/internal/router"
	"guestpass/internal/store"
)

// draft is an invitation batch between the form and the end of sending, stored under
// draftKey(nonce). The nonce in card data only names it; every click must come from the sponsor
// who created it.
type draft struct {
	Nonce          string `json:"nonce"`
	TenantID       string `json:"tenantId"`
	SponsorOID     string `json:"sponsorOid"`
	SponsorName    string `json:"sponsorName,omitempty"`
	ConversationID string `json:"conversationId"`
	ScenarioID     string `json:"scenarioId"`
	ScenarioName   string `json:"scenarioName"`
	Delivery       string `json:"delivery"`
	// RawAddresses is the form's text, to show it again after Back.
	RawAddresses string `json:"rawAddresses"`
	// Addresses are the guests the batch sends to, in order; Refused were refused before sending
	// (outside the scenario's partner organisations).
	Addresses []string            `json:"addresses"`
	Refused   []cards.GuestResult `json:"refused,omitempty"`
	// Subject and Body are the mail (or B2B invitation note) exactly as the sponsor saw it.
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body,omitempty"`
	Link    string `json:"link"`
}

// ledgerEntry records one guest of a batch: written as "sending" before anything is sent and as
// "done" with the result after, so a resumed batch neither skips nor repeats a guest.
type ledgerEntry struct {
	Status string            `json:"status"`
	Result cards.GuestResult `json:"result"`
}

const (
	ledgerSending = "sending"
	ledgerDone    = "done"
)

func draftKey(nonce string) string { return "onboarding:draft:" + nonce }
func ledgerKey(nonce, email string) string {
	return "onboarding:guest:" + nonce + ":" + strings.ToLower(email)
}
func batchLeaseName(nonce string) string { return "onboarding.batch:" + nonce }

// validNonce accepts the nonces this package issues (hex), so card data cannot address other keys.
func validNonce(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

func (o *Onboarding) putJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("onboarding: encode %s: %w", key, err)
	}
	if err := o.d.Store.PutKV(ctx, key, b, draftTTL); err != nil {
		return fmt.Errorf("onboarding: store %s: %w", key, err)
	}
	return nil
}

// getJSON loads key into v; found is false when it is missing.
func (o *Onboarding) getJSON(ctx context.Context, key string, v any) (bool, error) {
	b, err := o.d.Store.GetKV(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("onboarding: load %s: %w", key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("onboarding: decode %s: %w", key, err)
	}
	return true, nil
}

// inviteCardMiddleware hands the wizard verbs of invite cards (data "dialog": "invite") to the
// invite flow; every other turn goes on to the dialogs.
func (o *Onboarding) inviteCardMiddleware(next router.Handler) router.Handler {
	return func(ctx context.Context, t *router.Turn) error {
		switch t.Verb() {
		case cards.VerbWizardNext, cards.VerbWizardBack, cards.VerbWizardCancel:
			if in := inputOf(t); in.Value(cards.KeyDialog) == cards.DialogInvite {
				return o.onInviteStep(ctx, t, in.Verb, in.Value(cards.KeyStep), in.Value(cards.KeyNonce))
			}
		}
		return next(ctx, t)
	}
}

// onInviteVerb opens the invite form ("Invite guests" on a scenario card; data may name it).
func (o *Onboarding) onInviteVerb(ctx context.Context, t *router.Turn) error {
	roles, ok, err := o.authorize(ctx, t, authz.ActionInvite)
	if !ok || err != nil {
		return err
	}
	values := map[string]string{}
	if id := inputOf(t).Value(cards.KeyScenarioID); id != "" {
		values[cards.InputInviteScenario] = id
	}
	return o.showForm(ctx, t, roles, values, nil, randomID(16))
}

// onInviteCommand runs `invite a@x.com, b@y.com --scenario "Name"`. With a scenario and addresses
// it goes straight to the mail preview; otherwise it shows the form with what was given.
func (o *Onboarding) onInviteCommand(ctx context.Context, t *router.Turn) error {
	cmd, err := commands.Parse(router.CommandText(t.Activity))
	if err != nil {
		var ue *commands.UsageError
		if errors.As(err, &ue) {
			text := ue.Error()
			if ue.Usage != "" {
				text += "\nUsage: " + ue.Usage
			}
			return replyMessage(ctx, t, "I didn't understand that", text)
		}
		return replyMessage(ctx, t, "I didn't understand that", "Type `help` to see what I can do.")
	}
	roles, ok, err := o.authorize(ctx, t, authz.ActionInvite)
	if !ok || err != nil {
		return err
	}
	values := map[string]string{
		cards.InputInviteAddresses: strings.Join(cmd.ArgList("email"), ", "),
		cards.InputInviteDelivery:  cards.DeliveryMail,
	}
	name := strings.TrimSpace(cmd.Flag("scenario"))
	if name == "" {
		return o.showForm(ctx, t, roles, values, nil, randomID(16))
	}
	rec, err := o.d.Store.ScenarioByName(ctx, t.Identity.TenantID, name)
	if errors.Is(err, store.ErrNotFound) {
		return replyMessage(ctx, t, "Scenario not found", fmt.Sprintf("There is no scenario named “%s”. Type `scenarios` to see yours.", clip(name, 80)))
	}
	if err != nil {
		return fmt.Errorf("onboarding: find scenario: %w", err)
	}
	values[cards.InputInviteScenario] = rec.ID
	return o.submitForm(ctx, t, roles, values, randomID(16))
}

// onInviteStep handles Continue/Send (next), Back and Cancel on invite cards.
func (o *Onboarding) onInviteStep(ctx context.Context, t *router.Turn, verb, step, nonce string) error {
	if !validNonce(nonce) {
		return replyMessage(ctx, t, "This card has expired", "Start again with `invite`.")
	}
	roles, ok, err := o.authorize(ctx, t, authz.ActionInvite)
	if !ok || err != nil {
		return err
	}
	switch {
	case verb == cards.VerbWizardCancel:
		if err := o.d.Store.DeleteKV(ctx, draftKey(nonce)); err != nil {
			return fmt.Errorf("onboarding: delete draft: %w", err)
		}
		return replyMessage(ctx, t, "Invitation cancelled", "Nothing was sent.")
	case step == cards.StepInviteForm && verb == cards.VerbWizardNext:
		in := inputOf(t)
		values := map[string]string{
			cards.InputInviteScenario:  in.Value(cards.InputInviteScenario),
			cards.InputInviteAddresses: rawValue(t, cards.InputInviteAddresses),
			cards.InputInviteDelivery:  in.Value(cards.InputInviteDelivery),
		}
		return o.submitForm(ctx, t, roles, values, nonce)
	}
	var dr draft
	found, err := o.getJSON(ctx, draftKey(nonce), &dr)
	if err != nil {
		return err
	}
	if !found || dr.SponsorOID != t.Identity.AADObjectID || dr.TenantID != t.Identity.TenantID {
		return replyMessage(ctx, t, "This invitation has expired", "Start again with `invite`.")
	}
	if verb == cards.VerbWizardBack {
		return o.showForm(ctx, t, roles, map[string]string{cards.InputInviteScenario: dr.ScenarioID,
			cards.InputInviteAddresses: dr.RawAddresses, cards.InputInviteDelivery: dr.Delivery}, nil, nonce)
	}
	return o.send(ctx, t, roles, dr)
}

// inviteScenarios are the active scenarios the user may invite to.
func (o *Onboarding) inviteScenarios(ctx context.Context, roles authz.Roles, oid string) ([]entitlement.Scenario, error) {
	owner := oid
	if roles.Admin {
		owner = ""
	}
	all, err := o.d.Service.ListScenarios(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("onboarding: list scenarios: %w", err)
	}
	var out []entitlement.Scenario
	for _, s := range all {
		if s.State == entitlement.StateActive && s.AccessPackageID != "" && mayInvite(roles, oid, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// showForm answers with the invite form.
func (o *Onboarding) showForm(ctx context.Context, t *router.Turn, roles authz.Roles, values, errs map[string]string, nonce string) error {
	scs, err := o.inviteScenarios(ctx, roles, t.Identity.AADObjectID)
	if err != nil {
		return err
	}
	if len(scs) == 0 {
		return replyMessage(ctx, t, "No scenario to invite to", "You don't own an active guest scenario yet. Create one with `new scenario`.")
	}
	in := cards.InviteFormInput{Values: values, Errors: errs, Nonce: nonce}
	for _, s := range scs {
		in.Scenarios = append(in.Scenarios, cards.InviteScenario{ID: s.ID, Name: s.Name, AllowB2B: s.AllowB2BInvitation})
	}
	return reply(ctx, t, cards.InviteForm(in))
}

// submitForm validates the form and answers with the preview (mail, B2B) or starts the batch
// (link cards need no sign-in), or shows the form again with the errors.
func (o *Onboarding) submitForm(ctx context.Context, t *router.Turn, roles authz.Roles, values map[string]string, nonce string) error {
	errs := map[string]string{}
	oid := t.Identity.AADObjectID
	delivery := values[cards.InputInviteDelivery]
	if delivery == "" {
		delivery = cards.DeliveryMail
	}
	var sc entitlement.Scenario
	id := values[cards.InputInviteScenario]
	if id == "" {
		errs[cards.InputInviteScenario] = "Choose a scenario."
	} else if s, err := o.scenario(ctx, id); err != nil {
		if !isNotFound(err) {
			return err
		}
		errs[cards.InputInviteScenario] = "That scenario no longer exists."
	} else {
		sc = s
		switch {
		case !mayInvite(roles, oid, sc):
			o.audit(ctx, store.AuditEntry{ActorOID: oid, ActorName: t.Identity.Name, TenantID: t.Identity.TenantID, Action: authz.AuditActionRefused,
				Target: string(authz.ActionInvite) + ":" + sc.ID, Outcome: "not_owner", ActivityID: t.Activity.ID, ConversationID: t.Activity.Conversation.ID})
			return replyMessage(ctx, t, "Not allowed", "You can invite guests only to scenarios you own or co-own.")
		case sc.State != entitlement.StateActive || sc.AccessPackageID == "":
			errs[cards.InputInviteScenario] = "That scenario isn't active, so guests can't request it."
		case delivery == cards.DeliveryB2B && !sc.AllowB2BInvitation:
			errs[cards.InputInviteDelivery] = "This scenario doesn't allow B2B invitations. Choose the email or the link card."
		}
	}
	switch delivery {
	case cards.DeliveryMail, cards.DeliveryLink, cards.DeliveryB2B:
	default:
		errs[cards.InputInviteDelivery] = "Choose how to send the link."
	}
	addrs, invalid, perr := ParseAddresses(values[cards.InputInviteAddresses])
	switch {
	case perr != nil:
		errs[cards.InputInviteAddresses] = fmt.Sprintf("Enter at most %d addresses at a time.", MaxAddresses)
	case len(invalid) > 0:
		errs[cards.InputInviteAddresses] = "Fix these: " + describeInvalid(invalid) + "."
	case len(addrs) == 0:
		errs[cards.InputInviteAddresses] = "Enter at least one email address."
	}
	if len(errs) > 0 {
		return o.showForm(ctx, t, roles, values, errs, nonce)
	}
	dr := draft{Nonce: nonce, TenantID: t.Identity.TenantID, SponsorOID: oid, SponsorName: t.Identity.Name,
		ConversationID: t.Activity.Conversation.ID, ScenarioID: sc.ID, ScenarioName: sc.Name, Delivery: delivery,
		RawAddresses: values[cards.InputInviteAddresses], Link: o.link(sc)}
	for _, a := range addrs {
		if reason := partnerRefusal(sc, a); reason != "" {
			dr.Refused = append(dr.Refused, cards.GuestResult{Email: a, Outcome: cards.InviteRefused, Reason: reason})
			continue
		}
		dr.Addresses = append(dr.Addresses, a)
	}
	if left, err := o.remainingToday(ctx, oid); err != nil {
		return err
	} else if len(dr.Addresses) > left {
		errs[cards.ErrorKeyForm] = fmt.Sprintf("You can invite %d more guest(s) today (the limit is %d a day).", left, o.d.DailyLimit)
		return o.showForm(ctx, t, roles, values, errs, nonce)
	}
	dr.Subject, dr.Body = inviteMail(sc, dr.SponsorName, o.d.Organisation, dr.Link)
	if err := o.putJSON(ctx, draftKey(nonce), dr); err != nil {
		return err
	}
	if delivery == cards.DeliveryLink || len(dr.Addresses) == 0 {
		return o.send(ctx, t, roles, dr)
	}
	pv := cards.InvitePreviewInput{ScenarioName: sc.Name, Recipients: dr.Addresses, Subject: dr.Subject, Body: dr.Body, Nonce: nonce}
	if delivery == cards.DeliveryB2B {
		pv.Subject = "Microsoft invitation to " + firstNonEmpty(o.d.Organisation, "your organisation") + ", with your note"
	}
	card := cards.InvitePreview(pv)
	if len(dr.Refused) > 0 {
		card.Body = append(card.Body, cards.TextBlock{Text: cards.EscapeMarkdown(fmt.Sprintf("Not sent to %d address(es) outside the scenario's partner organisations: %s.",
			len(dr.Refused), joinEmails(dr.Refused))), Wrap: true, Color: "Attention"})
	}
	return reply(ctx, t, card)
}

// remainingToday is how many more guests the sponsor may invite in the current 24 hours.
func (o *Onboarding) remainingToday(ctx context.Context, oid string) (int, error) {
	n, err := o.d.Store.CountInvitesSince(ctx, oid, o.now().Add(-24*time.Hour))
	if err != nil {
		return 0, fmt.Errorf("onboarding: count today's invitations: %w", err)
	}
	return max(o.d.DailyLimit-n, 0), nil
}

// partnerRefusal says why an address may not be invited to sc, or "".
func partnerRefusal(sc entitlement.Scenario, email string) string {
	if sc.AnyExternalUser {
		return ""
	}
	d := domainOf(email)
	var domains []string
	for _, p := range sc.Partners {
		pd := strings.ToLower(strings.TrimSpace(p.Domain))
		if pd == "" {
			continue
		}
		if d == pd || strings.HasSuffix(d, "."+pd) {
			return ""
		}
		domains = append(domains, pd)
	}
	if len(domains) == 0 {
		return "The scenario's partner organisations have no domain to check the address against."
	}
	return "Not from the scenario's partner organisations (" + strings.Join(domains, ", ") + ")."
}

// link is the scenario's My Access link.
func (o *Onboarding) link(sc entitlement.Scenario) string {
	if sc.MyAccessLink != "" {
		return sc.MyAccessLink
	}
	return o.d.Service.MyAccessLink(sc.AccessPackageID)
}

// inviteMail renders the sponsor's mail: the scenario, what the guest gets, for how long, who
// sponsors them, and the link.
func inviteMail(sc entitlement.Scenario, sponsor, org, link string) (subject, body string) {
	sponsor = firstNonEmpty(strings.TrimSpace(sponsor), "Your contact")
	org = firstNonEmpty(org, "our organisation")
	subject = oneLine(fmt.Sprintf("%s invites you to request access: %s", sponsor, sc.Name))
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\n%s at %s invites you to request access to “%s”.\n", sponsor, org, sc.Name)
	if d := strings.TrimSpace(sc.Description); d != "" {
		fmt.Fprintf(&b, "\n%s\n", d)
	}
	var what []string
	for _, r := range sc.Resources {
		what = append(what, firstNonEmpty(r.DisplayName, string(r.Kind)))
	}
	if len(what) > 0 {
		fmt.Fprintf(&b, "\nWhat you get: %s.\n", strings.Join(what, ", "))
	}
	if sc.DurationDays > 0 {
		fmt.Fprintf(&b, "For how long: %d days from approval", sc.DurationDays)
		if sc.AllowExtension {
			b.WriteString("; you can ask for an extension before it ends")
		}
		b.WriteString(".\n")
	}
	fmt.Fprintf(&b, "Your sponsor: %s.\n", sponsor)
	fmt.Fprintf(&b, "\nRequest access here, signing in with your own work account:\n%s\n", link)
	if sc.Approval.Required {
		b.WriteString("\nYour request is reviewed before you get access.\n")
	}
	return subject, b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func joinEmails(rs []cards.GuestResult) string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Email)
	}
	return strings.Join(out, ", ")
}

// send starts (or resumes) the batch of a confirmed draft: for mail and B2B it first obtains the
// sponsor's delegated credential from the click's SSO token.
func (o *Onboarding) send(ctx context.Context, t *router.Turn, roles authz.Roles, dr draft) error {
	sc, err := o.scenario(ctx, dr.ScenarioID)
	if err != nil {
		if isNotFound(err) {
			return replyMessage(ctx, t, "Scenario not found", "The scenario no longer exists; nothing was sent.")
		}
		return err
	}
	if !mayInvite(roles, t.Identity.AADObjectID, sc) {
		return replyMessage(ctx, t, "Not allowed", "You can invite guests only to scenarios you own or co-own.")
	}
	var b batch
	b.draft, b.scenario = dr, sc
	if dr.Delivery != cards.DeliveryLink && len(dr.Addresses) > 0 {
		id, cred, ok, err := o.delegated(ctx, t, "Sign in to send the invitations from your mailbox",
			cards.Error("Sign-in is temporarily unavailable", "Nothing was sent. Try again in a moment.", resumeData(dr.Nonce)))
		if !ok {
			return err
		}
		b.cred, b.actor = cred, id
	}
	b.serviceURL, b.conversationID, b.cardID = t.Activity.ServiceURL, t.Activity.Conversation.ID, t.Activity.ReplyToID
	b.holder = o.d.Holder + ":" + randomID(4)
	acquired, err := o.d.Store.AcquireLease(ctx, batchLeaseName(dr.Nonce), b.holder, batchLease)
	if err != nil {
		return fmt.Errorf("onboarding: batch lease: %w", err)
	}
	progress, err := o.progress(ctx, dr)
	if err != nil {
		return err
	}
	if !acquired {
		// Another click (or replica) is sending this batch: show where it is.
		return reply(ctx, t, progressCard(dr, progress))
	}
	t.Log.InfoContext(ctx, "invitation batch starting", "batch", dr.Nonce, "scenario_id", sc.ID, "guests", len(dr.Addresses),
		"delivery", dr.Delivery)
	o.bg.Add(1)
	go func() {
		defer o.bg.Done()
		o.runBatch(o.bgCtx, &b)
	}()
	return reply(ctx, t, progressCard(dr, progress))
}

// resumeData is the data of the Send/Resume button of a draft.
func resumeData(nonce string) cards.Data {
	return cards.Data{cards.KeyVerb: cards.VerbWizardNext, cards.KeyDialog: cards.DialogInvite,
		cards.KeyStep: cards.StepInvitePreview, cards.KeyNonce: nonce}
}

// progressCard is the progress card with a Resume button: clicking it while the batch runs shows
// the progress; after an interruption (a restart) it resumes the batch with a fresh sign-in.
func progressCard(dr draft, results []cards.GuestResult) cards.Card {
	in := cards.InviteProgressInput{ScenarioName: dr.ScenarioName, Total: len(dr.Addresses) + len(dr.Refused)}
	count(&in, dr.Refused)
	count(&in, results)
	c := cards.InviteProgress(in)
	d := resumeData(dr.Nonce)
	c.Actions = append(c.Actions, cards.ActionExecute{Title: "Resume if interrupted", Verb: d[cards.KeyVerb], Data: d, AssociatedInputs: "none"})
	return c
}

func count(in *cards.InviteProgressInput, rs []cards.GuestResult) {
	for _, r := range rs {
		switch r.Outcome {
		case cards.InviteAlreadyHasAccess:
			in.AlreadyHasAccess++
		case cards.InviteRefused:
			in.Refused++
		default:
			in.Sent++
		}
	}
}

// progress reads the results recorded so far for a draft's guests.
func (o *Onboarding) progress(ctx context.Context, dr draft) ([]cards.GuestResult, error) {
	var out []cards.GuestResult
	for _, a := range dr.Addresses {
		var e ledgerEntry
		found, err := o.getJSON(ctx, ledgerKey(dr.Nonce, a), &e)
		if err != nil {
			return nil, err
		}
		if found && e.Status == ledgerDone {
			out = append(out, e.Result)
		}
	}
	return out, nil
}

// botframeworkCard wraps a card for the connector.
func botframeworkCard(c cards.Card) *botframework.Outgoing { return botframework.NewCard(c) }
