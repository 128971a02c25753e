package dialogs

import (
	"guestpass/internal/cards"
	"guestpass/internal/router"
)

// commandWords are the first words of the commands the dialogs answer: `scenarios`,
// `scenario show|new|edit|retire`, and the aliases `new scenario` / `create scenario`.
var commandWords = []string{"scenarios", "scenario", "new", "create"}

// verbs are the card verbs the dialogs answer.
var verbs = []string{
	cards.VerbNewScenario, cards.VerbWizardTemplate,
	cards.VerbWizardNext, cards.VerbWizardBack, cards.VerbWizardCancel, cards.VerbWizardRestart,
	cards.VerbWizardSearch, cards.VerbWizardAddResources, cards.VerbWizardRemoveResource,
	cards.VerbCreateScenario, cards.VerbSaveScenario,
	cards.VerbScenarioList, cards.VerbScenarioShow, cards.VerbScenarioEdit, cards.VerbScenarioRetire, cards.VerbRetireConfirm,
	cards.VerbInviteGuests,
}

// Register adds the dialogs' commands, card verbs and text-input middleware to mux. Call it
// before serving. VerbInviteGuests answers that invitations are not available yet; a later
// capability takes the verb over by registering its own handler after this call.
func (d *Dialogs) Register(mux *router.Mux) {
	for _, w := range commandWords {
		mux.HandleCommand(w, d.onCommand)
	}
	for _, v := range verbs {
		mux.HandleVerb(v, d.onVerb)
	}
	mux.Use(d.textMiddleware)
}
