package entitlement

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Limits guestpass enforces before calling Graph. Name and description limits are Graph's string
// limits for entitlement-management display names; the others keep cards readable and stay within
// what the policy resources accept (1–3 stages, auto-denial within 14 days).
const (
	MaxNameLen          = 256
	MaxDescriptionLen   = 1024
	MinDurationDays     = 1
	MaxDurationDays     = 365
	MaxStages           = 3
	MinAutoDenyDays     = 1
	MaxAutoDenyDays     = 14
	MaxQuestions        = 20
	MaxQuestionLen      = 500
	MaxChoices          = 20
	MaxChoiceLen        = 256
	MaxApproversInStage = 25
	MaxPartners         = 20
	MaxResources        = 50
	MaxJustificationLen = 2000
)

// ValidationError is one invalid input, named by field so the wizard can show the message next to
// it. Field uses the scenario's JSON names with indexes, e.g. "approval.stages[1].autoDenyAfterDays".
type ValidationError struct {
	Field   string
	Message string
}

// Error implements error.
func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

// ValidationErrors is every problem found in one input; errors.As finds it, and each element is a
// *ValidationError.
type ValidationErrors []*ValidationError

// Error implements error, listing every problem.
func (v ValidationErrors) Error() string {
	parts := make([]string, len(v))
	for i, e := range v {
		parts[i] = e.Error()
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// ErrInvalid is matched (errors.Is) by every validation failure.
var ErrInvalid = errors.New("invalid input")

// Is makes errors.Is(err, ErrInvalid) true for validation failures.
func (v ValidationErrors) Is(target error) bool { return target == ErrInvalid }

// Is makes errors.Is(err, ErrInvalid) true for a single validation failure.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// validator collects problems.
type validator struct{ errs ValidationErrors }

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

// objectIDPattern accepts GUIDs and the GUID-shaped ids of the Agents Playground and the sandbox
// (whose last group is 13–14 digits): hex only, so an id can never carry OData or URL syntax.
var objectIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12,16}$`)

// ValidObjectID reports whether id looks like a directory object id.
func ValidObjectID(id string) bool { return objectIDPattern.MatchString(id) }

// entityIDPattern is for ids Graph hands out that are not directory objects (requests, stages,
// assignments): GUIDs in Entra, opaque tokens elsewhere; no quotes, slashes or spaces.
var entityIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// ValidEntityID reports whether id is safe to use as a Graph entity key.
func ValidEntityID(id string) bool { return entityIDPattern.MatchString(id) }

var domainLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidDomain reports whether d is a DNS domain name with at least two labels (IDNs in punycode).
func ValidDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 || strings.ToLower(d) != d {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !domainLabel.MatchString(l) {
			return false
		}
	}
	return !strings.ContainsAny(labels[len(labels)-1], "0123456789")
}

// NormalizeEmail validates a bare email address ("user@domain") and lower-cases its domain.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", fmt.Errorf("%q is not an email address", s)
	}
	local, domain, _ := strings.Cut(s, "@")
	domain = strings.ToLower(domain)
	if len(s) > 254 || !ValidDomain(domain) {
		return "", fmt.Errorf("%q is not an email address with a valid domain", s)
	}
	return local + "@" + domain, nil
}

func textLen(s string) int { return utf8.RuneCountInString(s) }

// text validates a required or optional display string.
func (v *validator) text(field, s string, required bool, maxLen int) {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.add(field, "is required")
	case !utf8.ValidString(s):
		v.add(field, "is not valid UTF-8")
	case textLen(s) > maxLen:
		v.add(field, "is %d characters; the limit is %d", textLen(s), maxLen)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' }):
		v.add(field, "contains control characters")
	}
}

// ValidateScenario checks a scenario as the sponsor defined it. It returns ValidationErrors (or
// nil); the service calls it before any Graph call.
func ValidateScenario(s Scenario) error {
	var v validator
	v.text("name", s.Name, true, MaxNameLen)
	if strings.TrimSpace(s.Name) != s.Name {
		v.add("name", "must not start or end with spaces")
	}
	v.text("description", s.Description, false, MaxDescriptionLen)
	if !ValidObjectID(s.OwnerOID) {
		v.add("ownerOid", "is not a directory object id")
	}
	for i, id := range s.CoOwnerOIDs {
		if !ValidObjectID(id) {
			v.add(fmt.Sprintf("coOwnerOids[%d]", i), "is not a directory object id")
		}
	}
	validatePartners(&v, s)
	validateResources(&v, s.Resources)
	if s.DurationDays < MinDurationDays || s.DurationDays > MaxDurationDays {
		v.add("durationDays", "must be between %d and %d days", MinDurationDays, MaxDurationDays)
	}
	validateApproval(&v, s)
	validateQuestions(&v, s.Questions)
	return v.err()
}

func validatePartners(v *validator, s Scenario) {
	switch {
	case s.AnyExternalUser && len(s.Partners) > 0:
		v.add("partners", "must be empty when any external user may request")
	case !s.AnyExternalUser && len(s.Partners) == 0:
		v.add("partners", "name at least one partner organisation (a domain or tenant id), or allow any external user")
	case len(s.Partners) > MaxPartners:
		v.add("partners", "at most %d partner organisations", MaxPartners)
	}
	seen := map[string]bool{}
	for i, p := range s.Partners {
		f := fmt.Sprintf("partners[%d]", i)
		if p.Domain == "" && p.TenantID == "" {
			v.add(f, "needs a domain or a tenant id")
		}
		if p.Domain != "" && !ValidDomain(p.Domain) {
			v.add(f+".domain", "%q is not a domain name (lower case, e.g. contoso.com)", p.Domain)
		}
		if p.TenantID != "" && !ValidObjectID(p.TenantID) {
			v.add(f+".tenantId", "%q is not a tenant id", p.TenantID)
		}
		v.text(f+".displayName", p.DisplayName, false, MaxNameLen)
		for j, id := range append(append([]string(nil), p.InternalSponsors...), p.ExternalSponsors...) {
			if !ValidObjectID(id) {
				v.add(fmt.Sprintf("%s.sponsors[%d]", f, j), "is not a directory object id")
			}
		}
		key := p.Domain + "|" + strings.ToLower(p.TenantID)
		if seen[key] {
			v.add(f, "is listed twice")
		}
		seen[key] = true
	}
}

func validateResources(v *validator, rs []Resource) {
	if len(rs) == 0 {
		v.add("resources", "name at least one resource")
	}
	if len(rs) > MaxResources {
		v.add("resources", "at most %d resources", MaxResources)
	}
	seen := map[string]bool{}
	for i, r := range rs {
		f := fmt.Sprintf("resources[%d]", i)
		switch r.Kind {
		case ResourceGroup, ResourceApplication:
			if !ValidObjectID(r.OriginID) {
				v.add(f+".originId", "is not a directory object id")
			}
		case ResourceSite:
			u, err := url.Parse(r.OriginID)
			if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(r.OriginID, "'\" ") {
				v.add(f+".originId", "must be the site's https URL")
			}
		default:
			v.add(f+".kind", "must be group, site or application")
		}
		if r.Role.OriginID == "" {
			v.add(f+".role", "is required")
		} else if textLen(r.Role.OriginID) > 256 || strings.ContainsAny(r.Role.OriginID, "'\"/\\ ") {
			v.add(f+".role", "is not a valid role id")
		}
		v.text(f+".displayName", r.DisplayName, false, MaxNameLen)
		key := string(r.Kind) + "|" + strings.ToLower(r.OriginID) + "|" + r.Role.OriginID
		if seen[key] {
			v.add(f, "is listed twice")
		}
		seen[key] = true
	}
}

func validateApproval(v *validator, s Scenario) {
	a := s.Approval
	if !a.Required {
		if len(a.Stages) > 0 {
			v.add("approval.stages", "must be empty when approval is not required")
		}
		return
	}
	if len(a.Stages) < 1 || len(a.Stages) > MaxStages {
		v.add("approval.stages", "needs 1 to %d stages", MaxStages)
	}
	for i, st := range a.Stages {
		f := fmt.Sprintf("approval.stages[%d]", i)
		if st.AutoDenyAfterDays < MinAutoDenyDays || st.AutoDenyAfterDays > MaxAutoDenyDays {
			v.add(f+".autoDenyAfterDays", "must be between %d and %d days", MinAutoDenyDays, MaxAutoDenyDays)
		}
		if len(st.Approvers) == 0 {
			v.add(f+".approvers", "name at least one approver")
		}
		if len(st.Approvers) > MaxApproversInStage {
			v.add(f+".approvers", "at most %d approvers", MaxApproversInStage)
		}
		validateApprovers(v, f+".approvers", st.Approvers, s)
		if len(st.EscalationApprovers) > 0 {
			validateApprovers(v, f+".escalationApprovers", st.EscalationApprovers, s)
			if st.EscalationAfterDays < 1 || st.EscalationAfterDays >= st.AutoDenyAfterDays {
				v.add(f+".escalationAfterDays", "must be at least 1 day and shorter than the automatic denial")
			}
		} else if st.EscalationAfterDays != 0 {
			v.add(f+".escalationApprovers", "name who takes over when escalating")
		}
	}
}

func validateApprovers(v *validator, field string, as []Approver, s Scenario) {
	for j, ap := range as {
		f := fmt.Sprintf("%s[%d]", field, j)
		switch ap.Kind {
		case ApproverSponsor:
			if ap.ID != "" && !ValidObjectID(ap.ID) {
				v.add(f+".id", "is not a directory object id")
			}
		case ApproverUser, ApproverGroup:
			if !ValidObjectID(ap.ID) {
				v.add(f+".id", "is not a directory object id")
			}
		case ApproverInternalSponsors, ApproverExternalSponsors:
			if s.AnyExternalUser {
				v.add(f, "connected-organization sponsors approve only for partner organisations, not for any external user")
			}
		case ApproverRequestorManager:
			// Entra allows the requestor's manager only for policies covering users already in the
			// directory; guest scenarios target external users.
			v.add(f, "the requestor's manager cannot approve guest requests (Entra allows it only for users already in the directory)")
		default:
			v.add(f+".kind", "unknown approver kind %q", ap.Kind)
		}
	}
}

func validateQuestions(v *validator, qs []Question) {
	if len(qs) > MaxQuestions {
		v.add("questions", "at most %d questions", MaxQuestions)
	}
	for i, q := range qs {
		f := fmt.Sprintf("questions[%d]", i)
		v.text(f+".text", q.Text, true, MaxQuestionLen)
		if len(q.Choices) > MaxChoices {
			v.add(f+".choices", "at most %d choices", MaxChoices)
		}
		if len(q.Choices) == 1 {
			v.add(f+".choices", "a multiple-choice question needs at least two choices")
		}
		seen := map[string]bool{}
		for j, c := range q.Choices {
			cf := fmt.Sprintf("%s.choices[%d]", f, j)
			v.text(cf, c, true, MaxChoiceLen)
			if seen[c] {
				v.add(cf, "is listed twice")
			}
			seen[c] = true
		}
	}
}

// validateJustification checks an approver's or sponsor's justification.
func validateJustification(v *validator, s string, required bool) {
	v.text("justification", s, required, MaxJustificationLen)
}
