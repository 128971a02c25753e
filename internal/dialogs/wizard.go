package dialogs

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
)

// Wizard phases besides editing.
const (
	phaseEditing  = ""
	phaseCreating = "creating"
	phaseFailed   = "failed"
)

// creationStale is how long a creation may run before a new input treats it as interrupted (the
// process died mid-creation) and offers Retry; creation is idempotent, so retrying is safe.
const creationStale = 10 * time.Minute

// wizardState is the scenario wizard's persisted state (store.Dialog.State).
type wizardState struct {
	// Nonce is the nonce of the card last rendered; any other card is stale.
	Nonce string               `json:"nonce"`
	Draft entitlement.Scenario `json:"draft"`
	// Values and Errors are the last rejected submission, shown again with the errors.
	Values map[string]string     `json:"values,omitempty"`
	Errors map[string]string     `json:"errors,omitempty"`
	Search *cards.ResourceSearch `json:"search,omitempty"`
	// NeedsSecondStage comes from the template the draft started from.
	NeedsSecondStage bool `json:"needsSecondStage,omitempty"`
	// TenantID is the sponsor's tenant, from the activity that started the dialog.
	TenantID string `json:"tenantId"`

	Phase    string               `json:"phase,omitempty"`
	Attempt  string               `json:"attempt,omitempty"`
	Since    time.Time            `json:"since,omitzero"`
	Failure  string               `json:"failure,omitempty"`
	Progress []cards.ProgressStep `json:"progress,omitempty"`
}

func (s *wizardState) editing() bool { return s.Draft.ID != "" }

// steps returns the wizard's steps: all of them for a new scenario; for an edit, only what
// UpdateScenario changes (resources, approvers, duration) and the review.
func (s *wizardState) steps() []string {
	if s.editing() {
		return []string{cards.StepResources, cards.StepApproval, cards.StepDuration, cards.StepReview}
	}
	return cards.WizardSteps()
}

func (s *wizardState) neighbour(step string, delta int) (string, bool) {
	steps := s.steps()
	i := slices.Index(steps, step)
	if i < 0 || i+delta < 0 || i+delta >= len(steps) {
		return step, false
	}
	return steps[i+delta], true
}

func decodeState(raw []byte) (*wizardState, error) {
	var s wizardState
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("dialogs: decode wizard state: %w", err)
	}
	return &s, nil
}

func (s *wizardState) encode() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("dialogs: encode wizard state: %w", err)
	}
	return b, nil
}

// render builds the card for step with a fresh nonce (recorded in the state, so the card becomes
// the only live one).
func (s *wizardState) render(step string) (cards.Card, error) {
	s.Nonce = newNonce()
	switch s.Phase {
	case phaseCreating:
		return cards.CreationProgress(s.Draft.Name, s.Progress), nil
	case phaseFailed:
		return cards.CreationFailed(cards.FailedInput{ScenarioName: s.Draft.Name, Message: s.Failure, Steps: s.Progress, Nonce: s.Nonce}), nil
	}
	c, err := cards.WizardStep(step, cards.WizardInput{Draft: s.Draft, Values: s.Values, Errors: s.Errors, Nonce: s.Nonce, Search: s.Search})
	if err != nil {
		return cards.Card{}, fmt.Errorf("dialogs: render step %q: %w", step, err)
	}
	return c, nil
}

// withNotice puts a one-line notice above a card's body (stale card, saved, retired).
func withNotice(c cards.Card, text string) cards.Card {
	notice := cards.TextBlock{Text: cards.EscapeMarkdown(text), Wrap: true, Weight: "Bolder"}
	c.Body = append([]cards.Element{notice}, c.Body...)
	return c
}

// primaryField is the input a typed message fills at each step; steps without one take only
// control words.
var primaryField = map[string]string{
	cards.StepName:      cards.InputName,
	cards.StepPartners:  cards.InputPartnerDomains,
	cards.StepResources: cards.InputResourceQuery,
	cards.StepDuration:  cards.InputDurationDays,
}

// textInput turns a typed message into the card input it stands for at step: a control word, or
// the step's main field (the resources step searches).
func textInput(step string, in Input) (Input, bool) {
	if v := controlVerb(in.Text); v != "" {
		in.Verb = v
		return in, true
	}
	field, ok := primaryField[step]
	if !ok {
		return in, false
	}
	in.Data = map[string]string{field: in.Text}
	in.Verb = cards.VerbWizardNext
	if step == cards.StepResources {
		in.Verb = cards.VerbWizardSearch
	}
	if step == cards.StepPartners && strings.EqualFold(strings.TrimSpace(in.Text), "any external user") {
		in.Data = map[string]string{cards.InputAnyExternalUser: cards.ToggleOn, cards.InputPartnerDomains: ""}
	}
	return in, true
}

// stepResult is what applying an input decided.
type stepResult struct {
	step  string
	state *wizardState
	// card to show; text instead when the answer is a plain message.
	card cards.Card
	text string
	// end ends the dialog.
	end bool
	// create starts creating (or saving) the draft after the transaction.
	create bool
}

// resourceIndexes parses the multi-select value of the resources step.
func resourceIndexes(v string) ([][2]int, error) {
	var out [][2]int
	for _, part := range strings.Split(v, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		r, role, err := cards.ParseResourceChoice(part)
		if err != nil {
			return nil, err
		}
		out = append(out, [2]int{r, role})
	}
	return out, nil
}

// addResources adds the picked search results to the draft.
func addResources(s *wizardState, pick string, errs fieldErrors) {
	if s.Search == nil {
		errs.add(cards.InputResourcePick, "Search for a resource first.")
		return
	}
	idx, err := resourceIndexes(pick)
	if err != nil {
		errs.add(cards.InputResourcePick, "That selection is not one of the search results. Search again and pick from the list.")
		return
	}
	if len(idx) == 0 {
		errs.add(cards.InputResourcePick, "Pick at least one resource from the search results.")
		return
	}
	for _, ij := range idx {
		if ij[0] >= len(s.Search.Results) || ij[1] >= len(s.Search.Results[ij[0]].Roles) {
			errs.add(cards.InputResourcePick, "That selection is not one of the search results. Search again and pick from the list.")
			return
		}
	}
	for _, ij := range idx {
		o := s.Search.Results[ij[0]]
		r := o.Resource
		r.Role = o.Roles[ij[1]]
		dup := slices.ContainsFunc(s.Draft.Resources, func(x entitlement.Resource) bool {
			return x.Kind == r.Kind && strings.EqualFold(x.OriginID, r.OriginID)
		})
		if dup {
			// One role per resource: a newer pick replaces the older one.
			for i := range s.Draft.Resources {
				if x := s.Draft.Resources[i]; x.Kind == r.Kind && strings.EqualFold(x.OriginID, r.OriginID) {
					s.Draft.Resources[i] = r
				}
			}
			continue
		}
		if len(s.Draft.Resources) >= maxResources {
			errs.add(cards.InputResourcePick, fmt.Sprintf("A scenario can grant at most %d resources.", maxResources))
			return
		}
		s.Draft.Resources = append(s.Draft.Resources, r)
	}
}

// removeResource removes the draft's resource at index.
func removeResource(s *wizardState, index string) {
	i, err := strconv.Atoi(index)
	if err != nil || i < 0 || i >= len(s.Draft.Resources) {
		return // a stale index: nothing to remove, the card is re-rendered
	}
	s.Draft.Resources = slices.Delete(s.Draft.Resources, i, i+1)
}
