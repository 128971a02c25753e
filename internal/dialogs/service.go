package dialogs

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
)

// searchLimit is how many results each kind of resource search contributes.
const searchLimit = 5

// searchResources searches groups/Teams, SharePoint sites and enterprise apps for the resources
// step. A kind whose search fails (the bot may lack Sites.Read.All) is left out as long as another
// kind answered, so one missing permission does not block the wizard.
func (d *Dialogs) searchResources(ctx context.Context, q string) ([]cards.ResourceOption, error) {
	type search func(context.Context, string, int) ([]entitlement.DirectoryResource, error)
	var out []cards.ResourceOption
	var firstErr error
	failed := 0
	for _, s := range []search{d.svc.SearchGroups, d.svc.SearchSites, d.svc.SearchApplications} {
		found, err := s(ctx, q, searchLimit)
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		for _, r := range found {
			if len(r.Roles) == 0 {
				continue
			}
			out = append(out, cards.ResourceOption{
				Resource: entitlement.Resource{Kind: r.Kind, OriginID: r.OriginID, DisplayName: r.DisplayName, IsTeam: r.IsTeam},
				Roles:    r.Roles,
			})
		}
	}
	if failed == 3 {
		return nil, fmt.Errorf("dialogs: search resources: %w", firstErr)
	}
	if firstErr != nil {
		d.log.WarnContext(ctx, "part of a resource search failed", "error", firstErr)
	}
	return out, nil
}

// resolve finds the directory user an approver entry names: an email address exactly, a name when
// exactly one member matches it (or one matches it exactly). The problem, when there is one, is
// said in the sponsor's words.
func (d *Dialogs) resolve(ctx context.Context, entry string) (entitlement.Person, string) {
	short := clipText(entry, 60)
	if strings.Contains(entry, "@") {
		email, err := entitlement.NormalizeEmail(entry)
		if err != nil {
			return entitlement.Person{}, fmt.Sprintf("“%s” is not an email address.", short)
		}
		p, ok, err := d.svc.FindUserByEmail(ctx, email)
		switch {
		case err != nil:
			d.log.WarnContext(ctx, "approver lookup failed", "error", err)
			return entitlement.Person{}, fmt.Sprintf("I couldn't look up “%s” just now; try again.", short)
		case !ok:
			return entitlement.Person{}, fmt.Sprintf("No one in your directory has the address “%s”.", short)
		case p.External:
			return entitlement.Person{}, fmt.Sprintf("“%s” is a guest; approvers must be people in your organisation.", short)
		}
		return p, ""
	}
	people, err := d.svc.SearchUsers(ctx, entry, 10)
	if err != nil {
		if errors.Is(err, entitlement.ErrInvalid) {
			return entitlement.Person{}, fmt.Sprintf("“%s” can't be searched for; use the person's email address.", short)
		}
		d.log.WarnContext(ctx, "approver search failed", "error", err)
		return entitlement.Person{}, fmt.Sprintf("I couldn't look up “%s” just now; try again.", short)
	}
	var members, exact []entitlement.Person
	for _, p := range people {
		if p.External {
			continue
		}
		members = append(members, p)
		if strings.EqualFold(p.DisplayName, entry) {
			exact = append(exact, p)
		}
	}
	switch {
	case len(exact) == 1:
		return exact[0], ""
	case len(members) == 1:
		return members[0], ""
	case len(members) == 0:
		return entitlement.Person{}, fmt.Sprintf("No one in your organisation matches “%s”.", short)
	}
	var names []string
	for i, p := range members {
		if i == 3 {
			break
		}
		names = append(names, firstNonEmpty(p.DisplayName, p.Email)+" ("+p.Email+")")
	}
	return entitlement.Person{}, fmt.Sprintf("“%s” matches several people (%s); type the email address of the one you mean.", short, strings.Join(names, ", "))
}

// serviceValidate runs the entitlement service's own validation on the draft as it would be
// created, returning the first problem mapped to the wizard's input.
func (d *Dialogs) serviceValidate(s entitlement.Scenario, ownerOID string) (field, msg string) {
	if s.OwnerOID == "" {
		s.OwnerOID = ownerOID
	}
	err := entitlement.ValidateScenario(s)
	if err == nil {
		return "", ""
	}
	return validationField(err)
}

// validationField maps the service's validation error to the wizard input it concerns.
func validationField(err error) (field, msg string) {
	var list entitlement.ValidationErrors
	var one *entitlement.ValidationError
	switch {
	case errors.As(err, &list) && len(list) > 0:
		one = list[0]
	case errors.As(err, &one):
	default:
		return cards.ErrorKeyForm, err.Error()
	}
	field = inputForField(one.Field)
	return field, fieldLabel(one.Field) + " " + one.Message + "."
}

var stageField = regexp.MustCompile(`^approval\.stages\[(\d+)\]\.(\w+)`)
var questionField = regexp.MustCompile(`^questions\[(\d+)\](?:\.(\w+))?`)

// inputForField maps a service field path ("approval.stages[1].approvers[0].id") to an input id.
func inputForField(f string) string {
	switch {
	case f == "name":
		return cards.InputName
	case f == "description":
		return cards.InputDescription
	case strings.HasPrefix(f, "partners"):
		return cards.InputPartnerDomains
	case strings.HasPrefix(f, "resources"):
		return cards.InputResourcePick
	case f == "durationDays":
		return cards.InputDurationDays
	case f == "approval.stages":
		return cards.InputStage1Approvers
	}
	if m := stageField.FindStringSubmatch(f); m != nil {
		if m[2] == "autoDenyAfterDays" {
			return cards.InputAutoDenyDays
		}
		switch m[1] {
		case "0":
			return cards.InputStage1Approvers
		case "1":
			return cards.InputStage2Approvers
		default:
			return cards.InputStage3Approvers
		}
	}
	if m := questionField.FindStringSubmatch(f); m != nil {
		n, _ := strconv.Atoi(m[1])
		if n < cards.QuestionSlots {
			if m[2] == "choices" {
				return cards.InputQuestionChoices(n + 1)
			}
			return cards.InputQuestion(n + 1)
		}
	}
	return cards.ErrorKeyForm
}

// fieldLabel names a service field for the sponsor.
func fieldLabel(f string) string {
	switch inputForField(f) {
	case cards.InputName:
		return "The name"
	case cards.InputDescription:
		return "The description"
	case cards.InputPartnerDomains:
		return "Partner organisations:"
	case cards.InputResourcePick:
		return "Resources:"
	case cards.InputDurationDays:
		return "The duration"
	case cards.InputAutoDenyDays:
		return "Automatic denial"
	case cards.InputStage1Approvers, cards.InputStage2Approvers, cards.InputStage3Approvers:
		return "Approvers:"
	}
	return "This scenario:"
}

// failureMessage explains a failed Graph operation in the sponsor's terms, with the request id an
// admin needs to trace it. It never includes raw payloads.
func failureMessage(err error) string {
	var ve entitlement.ValidationErrors
	var one *entitlement.ValidationError
	if errors.As(err, &ve) || errors.As(err, &one) {
		_, msg := validationField(err)
		return "Some settings are not valid: " + msg
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "It took too long or the bot was restarting."
	}
	ge, ok := graph.AsError(err)
	if !ok {
		return "Something went wrong on my side."
	}
	ref := ""
	if ge.RequestID != "" {
		ref = " (Graph request id " + ge.RequestID + ")"
	}
	op := firstNonEmpty(ge.Op, "change the directory")
	switch {
	case ge.Status == 401 || ge.Status == 403:
		return fmt.Sprintf("guestpass is not allowed to %s in your tenant%s. Ask a guestpass admin to run `doctor`: it lists the permissions the bot is missing.", op, ref)
	case graph.IsThrottled(err) || ge.Status == 503 || ge.Status == 502 || ge.Status == 504:
		return fmt.Sprintf("Microsoft Graph is busy and couldn't %s%s. Retry in a minute.", op, ref)
	case ge.Status == 404:
		return fmt.Sprintf("Something the scenario uses no longer exists (while trying to %s)%s. Check the resources and approvers.", op, ref)
	}
	return fmt.Sprintf("Microsoft Graph refused to %s: %s%s.", op, clipText(firstNonEmpty(ge.Code, strconv.Itoa(ge.Status)), 80), ref)
}

// graphRequestID is the request id of the Graph error in err, for the audit log.
func graphRequestID(err error) string {
	if ge, ok := graph.AsError(err); ok {
		return ge.RequestID
	}
	return ""
}

// progressOf derives the creation progress from what the service reports it provisioned: it
// returns the scenario with every id it has, also on failure.
func progressOf(s entitlement.Scenario, failed bool) []cards.ProgressStep {
	partnersDone := true
	for _, p := range s.Partners {
		if p.ConnectedOrganizationID == "" {
			partnersDone = false
		}
	}
	done := []bool{
		s.CatalogID != "",
		s.AccessPackageID != "" || (len(s.Partners) > 0 && s.Partners[0].ConnectedOrganizationID != ""),
		partnersDone && s.CatalogID != "",
		s.AccessPackageID != "",
		s.PolicyID != "",
	}
	out := make([]cards.ProgressStep, len(createLabels))
	failedOne := false
	for i, l := range createLabels {
		state := cards.StepDone
		switch {
		case i == 2 && s.AnyExternalUser:
			state = cards.StepSkipped
		case done[i]:
		case failed && !failedOne:
			state, failedOne = cards.StepFailed, true
		default:
			state = cards.StepPending
		}
		out[i] = cards.ProgressStep{Label: l, State: state}
	}
	return out
}
