// Package dialogs runs guestpass's multi-turn conversations with sponsors: the scenario wizard
// (new, from a template, edit) and the scenario commands (list, show, retire).
//
// # Engine
//
// A dialog belongs to one user (Entra object id, from the authenticated activity) in one
// conversation and lives in the store, so a restart or another replica continues it. Work on a
// dialog is serialised per user in the process (a keyed mutex whose entries exist only while
// held) and across replicas by the store's optimistic version: Engine.Transact reloads and
// re-applies an input that lost a race, and gives up with ErrBusy (the user is asked to retry)
// rather than overwrite. Dialogs expire after a TTL of inactivity (default 24 h) with a message
// saying so.
//
// # Inputs and cards
//
// Typed text, Action.Submit messages and Action.Execute invokes become one Input and go through
// the same step function. Every card the wizard renders carries a fresh nonce recorded in the
// dialog: a click on any other card (an older step, a card replaced on another device) is not
// applied; the user gets the current card with a note instead. A card action's answer replaces
// the clicked card (the invoke response, or an update of the clicked activity for Action.Submit);
// a typed message gets a new card. Typed text that parses as a command runs the command, so
// `scenario show X` works mid-draft; other text fills the current step's main field (name,
// domains, resource search, days) or is a control word (cancel, back, start over, next, create).
//
// # Creation
//
// Create answers at once with a progress card and provisions in the background
// (teams-bot-protocol.md §3.1: answer card actions fast, then update the card), then updates the
// card with the result (My Access link, Invite guests) or a failure with Retry; creation is
// idempotent, so Retry resumes. Dialogs.Shutdown waits for running creations.
package dialogs
