package dialogs

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
)

// Limits on what a draft may hold; they keep cards small and Graph requests sane.
const (
	maxPartners       = 20
	maxResources      = 25
	maxApproversStage = 10
	maxQuestionLen    = 500
	maxChoices        = 10
	maxChoiceLen      = 100
	maxSearchLen      = 100
	maxDurationDays   = 365
	maxAutoDenyDays   = 14
)

// fieldErrors collects validation errors keyed by input id.
type fieldErrors map[string]string

func (f fieldErrors) add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// value returns the submitted value for id, or def when the input did not carry it (a typed
// message or a button without inputs leaves the draft as it is).
func value(in Input, id, def string) string {
	if v, ok := in.Data[id]; ok {
		return v
	}
	return def
}

func toggle(in Input, id string, def bool) bool {
	v, ok := in.Data[id]
	if !ok {
		return def
	}
	return strings.EqualFold(strings.TrimSpace(v), cards.ToggleOn)
}

// splitList splits a pasted list on commas, semicolons and line breaks (and, when spaces is set,
// on spaces), dropping empty items.
func splitList(s string, spaces bool) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == '\n' || r == '\r' || (spaces && unicode.IsSpace(r))
	})
}

// applyName validates the name step. Duplicate names are checked by the caller (it needs the
// store).
func applyName(d *entitlement.Scenario, in Input, errs fieldErrors) {
	name := strings.Join(strings.Fields(value(in, cards.InputName, d.Name)), " ")
	desc := strings.TrimSpace(value(in, cards.InputDescription, d.Description))
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		errs.add(cards.InputName, "Enter a name for the scenario.")
	case n > cards.MaxNameLength:
		errs.add(cards.InputName, fmt.Sprintf("Use at most %d characters (this one has %d).", cards.MaxNameLength, n))
	case strings.ContainsFunc(name, unicode.IsControl):
		errs.add(cards.InputName, "The name can't contain control characters.")
	}
	if n := utf8.RuneCountInString(desc); n > cards.MaxDescriptionLength {
		errs.add(cards.InputDescription, fmt.Sprintf("Use at most %d characters (this one has %d).", cards.MaxDescriptionLength, n))
	}
	d.Name, d.Description = name, desc
}

// applyPartners validates the partners step: domains are checked locally, so an invalid one never
// costs a Graph call.
func applyPartners(d *entitlement.Scenario, in Input, errs fieldErrors) {
	current := make([]string, 0, len(d.Partners))
	for _, p := range d.Partners {
		current = append(current, p.Domain)
	}
	anyUser := toggle(in, cards.InputAnyExternalUser, d.AnyExternalUser)
	raw := value(in, cards.InputPartnerDomains, strings.Join(current, "\n"))
	var domains []string
	var bad []string
	for _, item := range splitList(raw, true) {
		dom := normaliseDomain(item)
		if !validDomain(dom) {
			bad = append(bad, item)
			continue
		}
		if !slices.Contains(domains, dom) {
			domains = append(domains, dom)
		}
	}
	switch {
	case len(bad) > 0:
		errs.add(cards.InputPartnerDomains, fmt.Sprintf("%s %s not a valid domain. Enter domains like fabrikam.com, separated by commas.",
			quoteList(bad), map[bool]string{true: "is", false: "are"}[len(bad) == 1]))
	case len(domains) > maxPartners:
		errs.add(cards.InputPartnerDomains, fmt.Sprintf("Enter at most %d domains.", maxPartners))
	case !anyUser && len(domains) == 0:
		errs.add(cards.InputPartnerDomains, "Enter at least one partner domain, or choose \"any external user\".")
	}
	d.AnyExternalUser = anyUser
	if anyUser {
		// The partner list is ignored with any external user; keeping it would suggest otherwise.
		d.Partners = nil
		return
	}
	known := map[string]entitlement.Partner{}
	for _, p := range d.Partners {
		known[p.Domain] = p
	}
	d.Partners = d.Partners[:0:0]
	for _, dom := range domains {
		p, ok := known[dom]
		if !ok {
			p = entitlement.Partner{Domain: dom}
		}
		d.Partners = append(d.Partners, p)
	}
}

// normaliseDomain accepts what people paste: "@fabrikam.com", "https://fabrikam.com/", "Fabrikam.COM.".
func normaliseDomain(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "https://")
	s = strings.TrimPrefix(s, "http://")
	s = strings.TrimPrefix(s, "@")
	s = strings.TrimRight(s, "/")
	return strings.TrimSuffix(s, ".")
}

// validDomain accepts a DNS name with at least two labels of letters, digits and hyphens.
func validDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	// The top-level label is never all digits (that would be an IP address).
	tld := labels[len(labels)-1]
	return strings.ContainsFunc(tld, func(r rune) bool { return r < '0' || r > '9' })
}

func quoteList(items []string) string {
	q := make([]string, 0, len(items))
	for i, it := range items {
		if i == 3 {
			q = append(q, fmt.Sprintf("and %d more", len(items)-3))
			break
		}
		if utf8.RuneCountInString(it) > 60 {
			it = string([]rune(it)[:60]) + "…"
		}
		q = append(q, "“"+it+"”")
	}
	return strings.Join(q, ", ")
}

// applyDuration validates the duration step.
func applyDuration(d *entitlement.Scenario, in Input, errs fieldErrors) {
	raw := strings.TrimSpace(value(in, cards.InputDurationDays, strconv.Itoa(d.DurationDays)))
	n, err := strconv.Atoi(raw)
	switch {
	case err != nil || n < 1 || n > maxDurationDays:
		errs.add(cards.InputDurationDays, fmt.Sprintf("Enter a number of days from 1 to %d.", maxDurationDays))
	default:
		d.DurationDays = n
	}
	d.AllowExtension = toggle(in, cards.InputAllowExtension, d.AllowExtension)
	d.AllowB2BInvitation = toggle(in, cards.InputAllowB2B, d.AllowB2BInvitation)
}

// applyQuestions validates the questions step.
func applyQuestions(d *entitlement.Scenario, in Input, errs fieldErrors) {
	var qs []entitlement.Question
	for n := 1; n <= cards.QuestionSlots; n++ {
		var cur entitlement.Question
		if n <= len(d.Questions) {
			cur = d.Questions[n-1]
		}
		text := strings.TrimSpace(value(in, cards.InputQuestion(n), cur.Text))
		choicesRaw := value(in, cards.InputQuestionChoices(n), strings.Join(cur.Choices, ", "))
		var choices []string
		for _, c := range splitList(choicesRaw, false) {
			if c = strings.TrimSpace(c); c != "" && !slices.Contains(choices, c) {
				choices = append(choices, c)
			}
		}
		required := toggle(in, cards.InputQuestionRequired(n), cur.Required)
		switch {
		case text == "" && len(choices) > 0:
			errs.add(cards.InputQuestion(n), "Enter the question for these choices, or clear the choices.")
		case utf8.RuneCountInString(text) > maxQuestionLen:
			errs.add(cards.InputQuestion(n), fmt.Sprintf("Use at most %d characters.", maxQuestionLen))
		case len(choices) == 1:
			errs.add(cards.InputQuestionChoices(n), "Give at least two choices, or none for a free-text answer.")
		case len(choices) > maxChoices:
			errs.add(cards.InputQuestionChoices(n), fmt.Sprintf("Give at most %d choices.", maxChoices))
		case slices.ContainsFunc(choices, func(c string) bool { return utf8.RuneCountInString(c) > maxChoiceLen }):
			errs.add(cards.InputQuestionChoices(n), fmt.Sprintf("Keep each choice under %d characters.", maxChoiceLen))
		}
		if text != "" {
			qs = append(qs, entitlement.Question{Text: text, Required: required, Choices: choices})
		}
	}
	d.Questions = qs
}

// approvalInput is the approval step's submission before approvers are resolved.
type approvalInput struct {
	required, sponsor, requestorJust, approverJust bool
	autoDeny                                       int
	stages                                         [3][]string // approver entries typed per stage
}

// resolver finds directory users for approver entries ("megan@contoso.com", "Adele Vance").
type resolver func(ctx context.Context, entry string) (entitlement.Person, string)

// applyApproval validates the approval step, resolving typed approvers through resolve. Entries
// equal to an approver the draft already has are kept without a lookup.
func applyApproval(ctx context.Context, d *entitlement.Scenario, in Input, errs fieldErrors, needsSecondStage bool, resolve resolver) {
	cur := d.Approval
	curStage := func(i int) (names []string, sponsor bool) {
		if i >= len(cur.Stages) {
			return nil, false
		}
		for _, a := range cur.Stages[i].Approvers {
			if a.Kind == entitlement.ApproverSponsor {
				sponsor = true
				continue
			}
			names = append(names, firstNonEmpty(a.DisplayName, a.ID))
		}
		return names, sponsor
	}
	var ai approvalInput
	ai.required = toggle(in, cards.InputApprovalRequired, cur.Required)
	_, sp := curStage(0)
	ai.sponsor = toggle(in, cards.InputSponsorApproves, sp)
	ai.requestorJust = toggle(in, cards.InputRequestorJustification, cur.RequestorJustificationRequired)
	autoDeny, approverJust := defaultAutoDenyDays, false
	if len(cur.Stages) > 0 {
		autoDeny, approverJust = cur.Stages[0].AutoDenyAfterDays, cur.Stages[0].ApproverJustificationRequired
	}
	ai.approverJust = toggle(in, cards.InputApproverJustification, approverJust)
	rawDeny := strings.TrimSpace(value(in, cards.InputAutoDenyDays, strconv.Itoa(autoDeny)))
	if n, err := strconv.Atoi(rawDeny); err == nil && n >= 1 && n <= maxAutoDenyDays {
		ai.autoDeny = n
	} else if ai.required {
		errs.add(cards.InputAutoDenyDays, fmt.Sprintf("Enter a number of days from 1 to %d.", maxAutoDenyDays))
	}
	ids := [3]string{cards.InputStage1Approvers, cards.InputStage2Approvers, cards.InputStage3Approvers}
	for i := range 3 {
		names, _ := curStage(i)
		ai.stages[i] = splitList(value(in, ids[i], strings.Join(names, ", ")), false)
	}

	d.Approval.Required = ai.required
	d.Approval.RequestorJustificationRequired = ai.requestorJust
	if !ai.required {
		d.Approval.Stages = nil
		if d.AnyExternalUser {
			errs.add(cards.InputApprovalRequired, "Approval is required when any external user can request access.")
		}
		return
	}
	var stages []entitlement.Stage
	for i := range 3 {
		var approvers []entitlement.Approver
		if i == 0 && ai.sponsor {
			approvers = append(approvers, entitlement.Approver{Kind: entitlement.ApproverSponsor})
		}
		var unresolved []string
		for _, entry := range ai.stages[i] {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			if a, ok := existingApprover(cur, i, entry); ok {
				approvers = appendApprover(approvers, a)
				continue
			}
			p, problem := resolve(ctx, entry)
			if problem != "" {
				unresolved = append(unresolved, problem)
				continue
			}
			approvers = appendApprover(approvers, entitlement.Approver{Kind: entitlement.ApproverUser, ID: p.OID, DisplayName: firstNonEmpty(p.DisplayName, p.Email)})
		}
		if len(unresolved) > 0 {
			errs.add(ids[i], strings.Join(unresolved, " "))
		}
		if len(approvers) > maxApproversStage {
			errs.add(ids[i], fmt.Sprintf("A stage can have at most %d approvers.", maxApproversStage))
		}
		if len(approvers) == 0 {
			if i == 0 && len(unresolved) == 0 {
				errs.add(ids[0], "Stage 1 needs an approver: keep \"You approve\" on or name someone.")
			}
			if i == 1 && needsSecondStage && len(unresolved) == 0 {
				errs.add(ids[1], "This template needs a second-stage approver: name who approves after you.")
			}
			continue
		}
		if i == 2 && len(stages) < 2 {
			errs.add(ids[2], "A third stage needs a second stage first.")
			continue
		}
		stages = append(stages, entitlement.Stage{Approvers: approvers, ApproverJustificationRequired: ai.approverJust, AutoDenyAfterDays: ai.autoDeny})
	}
	if len(stages) == 0 {
		// Keep an empty first stage so the card still shows the sponsor toggle as submitted.
		stages = []entitlement.Stage{{AutoDenyAfterDays: ai.autoDeny, ApproverJustificationRequired: ai.approverJust}}
	}
	d.Approval.Stages = stages
}

func existingApprover(cur entitlement.Approval, stage int, entry string) (entitlement.Approver, bool) {
	if stage >= len(cur.Stages) {
		return entitlement.Approver{}, false
	}
	for _, a := range cur.Stages[stage].Approvers {
		if a.Kind != entitlement.ApproverSponsor && (strings.EqualFold(a.DisplayName, entry) || strings.EqualFold(a.ID, entry)) {
			return a, true
		}
	}
	return entitlement.Approver{}, false
}

func appendApprover(list []entitlement.Approver, a entitlement.Approver) []entitlement.Approver {
	for _, x := range list {
		if x.Kind == a.Kind && x.ID == a.ID {
			return list
		}
	}
	return append(list, a)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
