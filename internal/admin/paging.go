package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/commands"
	"guestpass/internal/graph"
	"guestpass/internal/router"
)

// maxPage bounds the page a click may ask for: every page lists again from the start (offset
// paging), so a forged page number must not make the bot read a whole tenant.
const maxPage = 200

// maxDataValue bounds one value of a click's data; longer values are ignored.
const maxDataValue = commands.MaxValueLen * 8

// lister produces one page (1-based) of an admin list for a parsed command.
type lister func(ctx context.Context, cmd commands.Command, page int) (cards.TableInput, error)

// notice is an answer in words instead of a list, such as an unknown --scenario.
type notice string

// Error implements error.
func (n notice) Error() string { return string(n) }

// pager keeps one page of a listing: callers count every item with skip, which reports the items
// of earlier pages, and add the rest; the first row after the page stops the listing (graph.Stop)
// and is the evidence that a next page exists.
type pager struct {
	page, seen int
	rows       [][]string
	more       bool
}

func newPager(page int) *pager { return &pager{page: max(page, 1)} }

// skip counts an item and reports whether it belongs to an earlier page.
func (p *pager) skip() bool {
	p.seen++
	return p.seen <= (p.page-1)*MaxRows
}

// add keeps a row of this page, or stops the listing when the page is full.
func (p *pager) add(row ...string) error {
	if len(p.rows) == MaxRows {
		p.more = true
		return graph.Stop
	}
	p.rows = append(p.rows, row)
	return nil
}

func (p *pager) table(title string, columns []string, empty string) cards.TableInput {
	if p.page > 1 && len(p.rows) == 0 {
		empty = "No more entries: the list is shorter now."
	}
	return cards.TableInput{Title: title, Columns: columns, Rows: p.rows, Page: p.page, HasNext: p.more, Empty: empty}
}

// listCommand answers a list command: typed, with its first page; run again by a paging click
// (through the dispatcher, see onPage), with the page the click asks for.
func (a *Admin) listCommand(l lister) commands.HandlerFunc {
	return func(ctx context.Context, t *router.Turn, cmd commands.Command, _ authz.Roles) error {
		page := 1
		if isClick(t) {
			p, ok := clickPage(t)
			if !ok {
				return answerText(ctx, t, "This card is out of date", "Type the command again to see the list.")
			}
			page = p
		}
		return a.showPage(ctx, t, cmd, page, l)
	}
}

// clickPage is the valid page number a paging click asks for.
func clickPage(t *router.Turn) (int, bool) {
	page, err := strconv.Atoi(clickData(t)[cards.KeyPage])
	return page, err == nil && page >= 1 && page <= maxPage
}

// showPage answers with page of cmd's list. The paging buttons carry the command in canonical
// form, so a click parses exactly what was typed.
func (a *Admin) showPage(ctx context.Context, t *router.Turn, cmd commands.Command, page int, l lister) error {
	in, err := l(ctx, cmd, page)
	var n notice
	switch {
	case errors.As(err, &n):
		return answerText(ctx, t, "Nothing to list", string(n))
	case err != nil && isClick(t):
		a.logger(t).ErrorContext(ctx, "listing a page failed", "command", string(cmd.Action()), "page", page, "error", err,
			"graph_request_id", graphRequestID(err))
		retry := cards.AdminPageData(cmd.String())
		retry[cards.KeyPage] = strconv.Itoa(page)
		return answer(ctx, t, cards.Error("Couldn't load the list", "Reading it failed just now. Try again in a moment.", retry))
	case err != nil:
		return err
	}
	in.PageData = cards.AdminPageData(cmd.String())
	return answer(ctx, t, cards.Table(in))
}

// onPage answers a Next or Previous click: it parses the command line the card carries and, when
// it is a list command and the page is valid, runs it again through the command dispatcher, which
// checks the clicking user (from the authenticated activity, never from the card) against the
// authorization table exactly as for a typed command.
func (a *Admin) onPage(ctx context.Context, t *router.Turn) error {
	cmd, err := commands.Parse(clickData(t)[cards.KeyCommand])
	if _, ok := clickPage(t); err != nil || a.listers[cmd.Action()] == nil || !ok {
		return answerText(ctx, t, "This card is out of date", "Type the command again to see the list.")
	}
	if a.cmds == nil {
		return errors.New("admin: a paging click before Register")
	}
	return a.cmds.Run(ctx, t, cmd)
}

// authorize applies the authorization table for action to the clicking user in this
// conversation, through the command dispatcher so that card actions and typed commands share one
// path; a refusal is answered and audited, and ok is false.
func (a *Admin) authorize(ctx context.Context, t *router.Turn, action authz.Action) (roles authz.Roles, ok bool, err error) {
	if a.cmds == nil {
		// Fail closed: without the dispatcher nothing can be authorized.
		return authz.Roles{}, false, errors.New("admin: a card action before Register")
	}
	return a.cmds.Authorize(ctx, t, action)
}

// isClick reports a card action (Action.Execute invoke or Action.Submit) rather than typed text.
func isClick(t *router.Turn) bool {
	return string(t.Activity.Type) == botframework.TypeInvoke || t.IsSubmit()
}

// answer replies with a card: the invoke response (or, for Action.Submit, the update the router
// delivers) replacing the clicked card, or a new message for a typed command.
func answer(ctx context.Context, t *router.Turn, card cards.Card) error {
	if isClick(t) {
		return t.Respond(botframework.CardResponse(card))
	}
	if _, err := t.SendCard(ctx, card); err != nil {
		return fmt.Errorf("admin: send card: %w", err)
	}
	return nil
}

// answerText replies with words: plain text to a typed command (it may echo what was typed), a
// message card to a click.
func answerText(ctx context.Context, t *router.Turn, title, text string) error {
	if isClick(t) {
		return t.Respond(botframework.CardResponse(cards.Message(title, text)))
	}
	return say(ctx, t, text)
}

// clickData reads the string values of a click's data. It is user-controlled input: ids and the
// command line only, never identity.
func clickData(t *router.Turn) map[string]string {
	out := map[string]string{}
	var m map[string]json.RawMessage
	if json.Unmarshal(t.ActionData(), &m) != nil {
		return out
	}
	for k, raw := range m {
		var v string
		if json.Unmarshal(raw, &v) == nil && len(v) <= maxDataValue {
			out[k] = v
		}
	}
	return out
}

// graphRequestID is Graph's request-id of a failed call, for logs and the audit log.
func graphRequestID(err error) string {
	if ge, ok := graph.AsError(err); ok && ge != nil {
		return ge.RequestID
	}
	return ""
}
