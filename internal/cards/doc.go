// Package cards builds guestpass's Adaptive Cards: pure functions from domain values
// (internal/entitlement) to Adaptive Card 1.5 JSON. Nothing here performs I/O, reads the clock or
// decides authorisation; callers pass everything a card shows, already filtered to what the viewer
// may see and do.
//
// # Output
//
// Every card is a [Card]: `"type":"AdaptiveCard"`, `"version":"1.5"`, `$schema` and
// `"msteams":{"width":"Full"}` are always written, whatever the caller builds. JSON comes only from
// encoding/json over typed structs, so output is deterministic (golden files in testdata/golden are
// byte-exact) and no user string can change a card's structure. [Card.Attachment] wraps a card for
// an activity; a Card can also be used directly as the value of an `adaptiveCard/action` invoke
// response.
//
// # User-supplied text
//
// Teams renders TextBlock text and FactSet titles/values as markdown. Every user- or tenant-supplied
// string placed there goes through [EscapeMarkdown] (control characters and line breaks become
// spaces, bidi overrides are removed, markdown syntax is backslash-escaped) and is clipped to a
// sensible length with "…". Multi-line text (descriptions, justifications, mail bodies) is split
// into one TextBlock per line, each escaped. Input values, choice titles and action titles are not
// markdown: they are cleaned of control characters and clipped but not escaped, so a draft round-trips
// through a card unchanged.
//
// # Action conventions (the router and dialogs rely on these)
//
//   - Buttons are Action.Execute with a verb (the Verb* constants) and data carrying only ids:
//     the verb itself under "verb", plus keys from the Key* constants, e.g.
//     {"verb":"approve","requestId":"…","nonce":"…"}. Data never carries identities, roles or
//     authorisation; handlers take the clicking user from the authenticated activity and tokens.
//   - Every Action.Execute has a fallback Action.Submit with the same title and data, and the verb is
//     always inside data, so clients that only know Action.Submit (which arrives as a message whose
//     value is data merged with the inputs) reach the same handler: route Submit values by "verb".
//   - Wizard steps use Action.Execute too, with data {"verb":"wizard.next","dialog":"scenario",
//     "step":"partners","nonce":"…"}: "dialog" names the dialog (Dialog* constants), "step" the step
//     the card shows (Step* constants) so a click on an outdated card can be recognised, and "nonce"
//     (when the dialog supplies one) identifies the dialog instance. Input values (Input* constants)
//     merge into data on submit. Back, Cancel and Start over send no inputs
//     (associatedInputs "none"), so required-field validation never blocks leaving a step.
//   - The invite flow is a dialog too ("dialog":"invite", steps StepInviteForm and StepInvitePreview):
//     Continue/Send are wizard.next, Back wizard.back, Cancel wizard.cancel. It is opened by
//     VerbInviteGuests (data "scenarioId" when known).
//   - Other verbs carry the id they act on: scenario.* → "scenarioId", guests.* and expiry.* →
//     "onboardingId", approve/deny/refresh → "requestId" and "nonce"; wizard.removeResource →
//     "index" (position in the draft's resources); wizard.template → "template".
//   - The resources step's InputResourcePick submits "<result>.<role>" indexes into the results the
//     dialog showed (comma-separated when several); parse each with ParseResourceChoice.
//   - Paging buttons send the page to show (1-based) under "page" with the list's verb.
//   - Field errors are passed as map[string]string keyed by input id ([ErrorKeyForm] for a message
//     about the whole card) and shown in red under the field.
//
// Approval cards carry refresh (verb "refresh", data {"verb":"refresh","requestId":…}) with at most
// 60 approver MRIs in userIds, as Teams requires; final-state approval cards carry no buttons and no
// refresh, so no stale Approve button stays live.
package cards
