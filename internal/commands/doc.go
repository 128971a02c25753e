// Package commands is guestpass's text-command surface: the registry of commands (the single source
// of the grammar, of `help` and of the Teams manifest's command lists) and the parser that turns a
// Teams message into a validated Command.
//
// Teams delivers what users type as HTML-ish text with mentions, entities, typographic quotes and
// auto-corrected dashes; Parse accepts all of that, so `/Scenario show “Project X”` and
// `scenario show Project X` mean the same. Anything that is not a valid command yields a
// *UsageError written for the user, with a "did you mean" suggestion when a command, flag or value
// is close to what was typed.
//
// Authorization is not decided here: each command names its authz.Action and the caller asks
// authz before running it.
package commands
