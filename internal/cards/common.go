package cards

// Message is a card with a title and a (possibly multi-line) text, both shown literally.
func Message(titleText, text string) Card {
	return Card{Body: join(one(title(esc(titleText))), textLines(text))}
}

// Error is a failure card: a title, a clear message, and a Retry button sending retry (which must
// contain its verb) when retry is non-nil.
func Error(titleText, message string, retry Data) Card {
	c := Card{Body: join(
		one(TextBlock{Text: "⚠ " + esc(titleText), Wrap: true, Style: "heading", Size: "Large", Weight: "Bolder", Color: "Attention"}),
		textLines(message),
	)}
	if retry != nil && retry[KeyVerb] != "" {
		c.Actions = []Action{ActionExecute{Title: "Retry", Verb: retry[KeyVerb], Data: retry}}
	}
	return c
}

// TableInput is a generic admin list.
type TableInput struct {
	Title   string
	Columns []string
	// Rows are cell texts, shown literally; short rows are padded, long rows cut to len(Columns).
	Rows [][]string
	// Page is the 1-based page shown; HasNext says whether a Next button is needed.
	Page    int
	HasNext bool
	// PageData is the paging buttons' data (verb plus the list's filters); nil means no paging.
	PageData Data
	// Empty is shown instead of the table when there are no rows.
	Empty string
}

// Table renders a list as an Adaptive Card 1.5 Table with a header row and Previous/Next paging.
func Table(in TableInput) Card {
	body := one(title(esc(in.Title)))
	if in.Page > 1 || in.HasNext {
		body = append(body, subtitle("Page "+itoa(max(in.Page, 1))))
	}
	if len(in.Rows) == 0 || len(in.Columns) == 0 {
		empty := in.Empty
		if empty == "" {
			empty = "Nothing to show."
		}
		body = append(body, para(esc(empty)))
	} else {
		body = append(body, table(in.Columns, in.Rows))
	}
	return Card{Body: body, Actions: pageButtons(in.Page, in.HasNext, in.PageData)}
}

func table(columns []string, rows [][]string) TableElement {
	t := TableElement{GridStyle: "accent"}
	header := TableRow{Style: "accent"}
	for _, c := range columns {
		t.Columns = append(t.Columns, TableColumn{Width: 1})
		header.Cells = append(header.Cells, TableCell{Items: one(TextBlock{Text: cellText(c), Wrap: true, Weight: "Bolder"})})
	}
	t.Rows = append(t.Rows, header)
	for _, r := range rows {
		row := TableRow{}
		for i := range columns {
			v := ""
			if i < len(r) {
				v = r[i]
			}
			row.Cells = append(row.Cells, TableCell{Items: one(TextBlock{Text: cellText(v), Wrap: true})})
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// cellText is an escaped cell; an empty one shows "—" because renderers drop a TextBlock without
// text.
func cellText(s string) string {
	if t := esc(s); t != "" {
		return t
	}
	return "—"
}

// Command is one line of the help card.
type Command struct {
	Name        string
	Usage       string
	Description string
}

// HelpInput is what the help card shows: only the commands the user may run (the caller filters
// them through the authorization table).
type HelpInput struct {
	Commands []Command
	// IsAdmin adds the note that admin commands answer only in a personal chat.
	IsAdmin bool
	// Welcome makes it the greeting sent when the app is installed: the same list, introduced.
	Welcome bool
}

// Help lists the commands the user may run.
func Help(in HelpInput) Card {
	body := one(
		title("guestpass"),
		subtitle("Give guests from partner organisations access to Teams, sites and apps, with approval and an end date."),
	)
	if in.Welcome {
		body = one(
			title("Welcome to guestpass"),
			subtitle("Give guests from partner organisations access to Teams, sites and apps, with approval and an end date."),
			para("Sponsors describe who may request what, for how long and with whose approval; Entra ID Governance enforces it. Approvers decide requests right here. Here is what you can ask me:"),
		)
	}
	if len(in.Commands) == 0 {
		body = append(body, para("There are no commands you can run here."))
		return Card{Body: body}
	}
	rows := make([][]string, 0, len(in.Commands))
	for _, c := range in.Commands {
		usage := c.Usage
		if usage == "" {
			usage = c.Name
		}
		rows = append(rows, []string{usage, c.Description})
	}
	body = append(body, table([]string{"Command", "What it does"}, rows),
		note("Type a command with or without a leading /. In team channels and group chats, @mention the bot first."))
	if in.IsAdmin {
		body = append(body, note("Admin commands answer only in your personal chat with the bot, so guest and tenant data never reach a shared conversation."))
	}
	return Card{Body: body}
}
