package cards

import (
	"time"

	"guestpass/internal/entitlement"
)

// VerbExpiryExtendConfirm extends a guest's assignment after the sponsor saw the new end (data
// "onboardingId"). The click carries the sponsor's SSO token: the extension is made with their
// delegated right.
const VerbExpiryExtendConfirm = "expiry.extendConfirm"

// ExtendInput is what the extension confirmation and refusal cards show.
type ExtendInput struct {
	Guest        entitlement.Person
	ScenarioName string
	OnboardingID string
	// CurrentEnd is when access ends now; NewEnd when it would end after the extension.
	CurrentEnd time.Time
	NewEnd     time.Time
	// DurationDays is the scenario's access duration, which the extension grants again.
	DurationDays int
	// ExtensionAllowed: the scenario lets guests request an extension themselves (the refusal card
	// then offers to send them the link).
	ExtensionAllowed bool
}

// ExtendConfirm asks the sponsor to confirm extending a guest's access to the new end.
func ExtendConfirm(in ExtendInput) Card {
	g := in.Guest
	until := formatDate(in.NewEnd)
	return Card{
		Body: join(
			one(title("Extend "+esc(firstNonEmpty(g.DisplayName, g.Email))+"'s access?")),
			facts("Email", g.Email, "Scenario", in.ScenarioName, "Access ends", formatTime(in.CurrentEnd),
				"New end", formatTime(in.NewEnd), "Extension", daysIf(in.DurationDays)),
			one(para("The access is extended with your own Entra right, and Entra records you as the one who extended it. "+
				"If your account may not manage this access package's assignments, Entra refuses and nothing changes.")),
		),
		Actions: []Action{
			positive(button("Extend until "+until, VerbExpiryExtendConfirm, KeyOnboardingID, in.OnboardingID)),
			button("Cancel", VerbGuestList),
		},
	}
}

// ExtendForbidden tells the sponsor that Entra refused the extension for their account and, where
// the scenario allows it, offers to send the guest the link to request an extension themselves.
func ExtendForbidden(in ExtendInput) Card {
	msg := "Entra refused to extend " + firstNonEmpty(in.Guest.DisplayName, in.Guest.Email) + "'s access with your account: you don't hold " +
		"the right to extend assignments of this access package (for example as access package assignment manager or catalog owner). Nothing was changed."
	if in.ExtensionAllowed {
		msg += "\nSend the guest the extension link instead: they request the extension themselves and the scenario's approval applies."
	} else {
		msg += "\nThis scenario doesn't let guests request an extension; ask a guestpass admin, or the guest can request access again after it ends."
	}
	c := Error("You can't extend this access", msg, nil)
	if in.ExtensionAllowed {
		c.Actions = []Action{button("Send the guest the extension link", VerbExpirySendLink, KeyOnboardingID, in.OnboardingID)}
	}
	return c
}
