package cards

import (
	"encoding/json"

	"github.com/infracloudio/msbotbuilder-go/schema"
)

// Card envelope constants. Teams supports Adaptive Card schema 1.5, the first with Universal Actions.
const (
	// Version is the Adaptive Card schema version of every card.
	Version = "1.5"
	// SchemaURL is the card's $schema.
	SchemaURL = "http://adaptivecards.io/schemas/adaptive-card.json"
	// ContentType is the attachment content type of an Adaptive Card.
	ContentType = "application/vnd.microsoft.card.adaptive"
	// MaxRefreshUserIDs is Teams' limit on refresh.userIds.
	MaxRefreshUserIDs = 60
)

// Card is an Adaptive Card. Its envelope (type, version, $schema, msteams full width) is fixed by
// MarshalJSON so no card can be sent without it.
type Card struct {
	Body    []Element
	Actions []Action
	// Refresh makes Teams re-fetch the card for the listed users (user-specific views).
	Refresh *Refresh
}

type msteamsProps struct {
	Width string `json:"width"`
}

// MarshalJSON writes the card with its fixed envelope.
func (c Card) MarshalJSON() ([]byte, error) {
	body := c.Body
	if body == nil {
		body = []Element{}
	}
	return json.Marshal(struct {
		Type    string       `json:"type"`
		Schema  string       `json:"$schema"`
		Version string       `json:"version"`
		Refresh *Refresh     `json:"refresh,omitempty"`
		Body    []Element    `json:"body"`
		Actions []Action     `json:"actions,omitempty"`
		MSTeams msteamsProps `json:"msteams"`
	}{"AdaptiveCard", SchemaURL, Version, c.Refresh, body, c.Actions, msteamsProps{Width: "Full"}})
}

// Attachment wraps the card as an activity attachment.
func (c Card) Attachment() schema.Attachment {
	return schema.Attachment{ContentType: ContentType, Content: c}
}

// Refresh is the card's refresh section: Teams invokes Action.Execute with verb "refresh" and Data
// when one of UserIDs views the card.
type Refresh struct {
	Data Data
	// UserIDs are user MRIs ("29:…"), at most MaxRefreshUserIDs; empty omits the property.
	UserIDs []string
}

// MarshalJSON writes refresh.action as an Action.Execute (without fallback: refresh is not a button).
func (r Refresh) MarshalJSON() ([]byte, error) {
	type action struct {
		Type string `json:"type"`
		Verb string `json:"verb"`
		Data Data   `json:"data,omitempty"`
	}
	return json.Marshal(struct {
		Action  action   `json:"action"`
		UserIDs []string `json:"userIds,omitempty"`
	}{action{"Action.Execute", r.Data[KeyVerb], r.Data}, r.UserIDs})
}

// Element is a card body element.
type Element interface{ isElement() }

// Action is a card action.
type Action interface{ isAction() }

// withType marshals v (a struct) and inserts "type" as its first property. typ is always a
// package constant, so splicing the encoded bytes is safe.
func withType(typ string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	t, err := json.Marshal(typ)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+len(t)+9)
	out = append(out, `{"type":`...)
	out = append(out, t...)
	if len(b) > 2 {
		out = append(out, ',')
	}
	return append(out, b[1:]...), nil
}

// TextBlock shows text; Teams renders Text as markdown, so user strings in it must be escaped.
type TextBlock struct {
	Text      string `json:"text"`
	Wrap      bool   `json:"wrap,omitempty"`
	Style     string `json:"style,omitempty"`
	Size      string `json:"size,omitempty"`
	Weight    string `json:"weight,omitempty"`
	Color     string `json:"color,omitempty"`
	IsSubtle  bool   `json:"isSubtle,omitempty"`
	Spacing   string `json:"spacing,omitempty"`
	Separator bool   `json:"separator,omitempty"`
}

// FactSet is a list of title/value pairs.
type FactSet struct {
	Facts []Fact `json:"facts"`
}

// Fact is one FactSet entry; build it with fact() so both parts are escaped.
type Fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// Container groups elements.
type Container struct {
	Items     []Element `json:"items"`
	Style     string    `json:"style,omitempty"`
	Spacing   string    `json:"spacing,omitempty"`
	Separator bool      `json:"separator,omitempty"`
}

// ColumnSet lays columns side by side.
type ColumnSet struct {
	Columns   []Column `json:"columns"`
	Spacing   string   `json:"spacing,omitempty"`
	Separator bool     `json:"separator,omitempty"`
}

// Column is one ColumnSet column; Width is "auto", "stretch" or a weight.
type Column struct {
	Width                    string    `json:"width,omitempty"`
	VerticalContentAlignment string    `json:"verticalContentAlignment,omitempty"`
	Items                    []Element `json:"items"`
}

// ActionSet shows buttons inside the body.
type ActionSet struct {
	Actions []Action `json:"actions"`
	Spacing string   `json:"spacing,omitempty"`
}

// TableElement is the Adaptive Card 1.5 Table element; the first row is the header (the schema
// default).
type TableElement struct {
	Columns   []TableColumn `json:"columns"`
	Rows      []TableRow    `json:"rows"`
	GridStyle string        `json:"gridStyle,omitempty"`
	// ShowGridLines defaults to true; set it only to hide them.
	ShowGridLines *bool  `json:"showGridLines,omitempty"`
	Spacing       string `json:"spacing,omitempty"`
}

// TableColumn is a table column definition with a relative width.
type TableColumn struct {
	Width int `json:"width"`
}

// TableRow is a table row.
type TableRow struct {
	Cells []TableCell `json:"cells"`
	Style string      `json:"style,omitempty"`
}

// TableCell is a table cell.
type TableCell struct {
	Items []Element `json:"items"`
}

// InputText is a text input. Value is the raw prefill (not markdown).
type InputText struct {
	ID           string `json:"id"`
	Label        string `json:"label,omitempty"`
	Placeholder  string `json:"placeholder,omitempty"`
	Value        string `json:"value,omitempty"`
	IsMultiline  bool   `json:"isMultiline,omitempty"`
	MaxLength    int    `json:"maxLength,omitempty"`
	IsRequired   bool   `json:"isRequired,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	Style        string `json:"style,omitempty"`
}

// InputNumber is a number input.
type InputNumber struct {
	ID           string `json:"id"`
	Label        string `json:"label,omitempty"`
	Placeholder  string `json:"placeholder,omitempty"`
	Value        *int   `json:"value,omitempty"`
	Min          *int   `json:"min,omitempty"`
	Max          *int   `json:"max,omitempty"`
	IsRequired   bool   `json:"isRequired,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// InputToggle is an on/off input submitting "true" or "false".
type InputToggle struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Label string `json:"label,omitempty"`
	Value string `json:"value,omitempty"`
	Wrap  bool   `json:"wrap,omitempty"`
}

// InputChoiceSet is a choice input; multi-select values are submitted comma-separated.
type InputChoiceSet struct {
	ID            string   `json:"id"`
	Label         string   `json:"label,omitempty"`
	Placeholder   string   `json:"placeholder,omitempty"`
	Style         string   `json:"style,omitempty"`
	IsMultiSelect bool     `json:"isMultiSelect,omitempty"`
	Value         string   `json:"value,omitempty"`
	Choices       []Choice `json:"choices"`
	IsRequired    bool     `json:"isRequired,omitempty"`
	ErrorMessage  string   `json:"errorMessage,omitempty"`
	Wrap          bool     `json:"wrap,omitempty"`
}

// Choice is an InputChoiceSet option (plain text, not markdown).
type Choice struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// ActionExecute is a Universal Action button. It always carries its verb inside Data too, and is
// written with an Action.Submit fallback holding the same data for clients without Universal
// Actions.
type ActionExecute struct {
	Title string
	Verb  string
	Data  Data
	// Style is "positive", "destructive" or empty.
	Style string
	// AssociatedInputs is "none" for buttons that must not submit (or validate) inputs.
	AssociatedInputs string
}

// MarshalJSON writes the action followed by its Action.Submit fallback.
func (a ActionExecute) MarshalJSON() ([]byte, error) {
	type submit struct {
		Type             string `json:"type"`
		Title            string `json:"title"`
		Data             Data   `json:"data"`
		Style            string `json:"style,omitempty"`
		AssociatedInputs string `json:"associatedInputs,omitempty"`
	}
	return json.Marshal(struct {
		Type             string `json:"type"`
		Title            string `json:"title"`
		Verb             string `json:"verb"`
		Data             Data   `json:"data"`
		Style            string `json:"style,omitempty"`
		AssociatedInputs string `json:"associatedInputs,omitempty"`
		Fallback         submit `json:"fallback"`
	}{"Action.Execute", a.Title, a.Verb, a.Data, a.Style, a.AssociatedInputs,
		submit{"Action.Submit", a.Title, a.Data, a.Style, a.AssociatedInputs}})
}

// ActionOpenURL opens a URL in the browser.
type ActionOpenURL struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

func (TextBlock) isElement()      {}
func (FactSet) isElement()        {}
func (Container) isElement()      {}
func (ColumnSet) isElement()      {}
func (ActionSet) isElement()      {}
func (TableElement) isElement()   {}
func (InputText) isElement()      {}
func (InputNumber) isElement()    {}
func (InputToggle) isElement()    {}
func (InputChoiceSet) isElement() {}
func (ActionExecute) isAction()   {}
func (ActionOpenURL) isAction()   {}

// The MarshalJSON methods below add each element's "type"; the local plain types drop the method
// so json.Marshal does not recurse.

// MarshalJSON writes the element with its type.
func (e TextBlock) MarshalJSON() ([]byte, error) {
	type plain TextBlock
	return withType("TextBlock", plain(e))
}

// MarshalJSON writes the element with its type.
func (e FactSet) MarshalJSON() ([]byte, error) {
	type plain FactSet
	return withType("FactSet", plain(e))
}

// MarshalJSON writes the element with its type.
func (e Container) MarshalJSON() ([]byte, error) {
	type plain Container
	return withType("Container", plain(e))
}

// MarshalJSON writes the element with its type.
func (e ColumnSet) MarshalJSON() ([]byte, error) {
	type plain ColumnSet
	return withType("ColumnSet", plain(e))
}

// MarshalJSON writes the column with its type.
func (e Column) MarshalJSON() ([]byte, error) { type plain Column; return withType("Column", plain(e)) }

// MarshalJSON writes the element with its type.
func (e ActionSet) MarshalJSON() ([]byte, error) {
	type plain ActionSet
	return withType("ActionSet", plain(e))
}

// MarshalJSON writes the element with its type.
func (e TableElement) MarshalJSON() ([]byte, error) {
	type plain TableElement
	return withType("Table", plain(e))
}

// MarshalJSON writes the row with its type.
func (e TableRow) MarshalJSON() ([]byte, error) {
	type plain TableRow
	return withType("TableRow", plain(e))
}

// MarshalJSON writes the cell with its type.
func (e TableCell) MarshalJSON() ([]byte, error) {
	type plain TableCell
	return withType("TableCell", plain(e))
}

// MarshalJSON writes the input with its type.
func (e InputText) MarshalJSON() ([]byte, error) {
	type plain InputText
	return withType("Input.Text", plain(e))
}

// MarshalJSON writes the input with its type.
func (e InputNumber) MarshalJSON() ([]byte, error) {
	type plain InputNumber
	return withType("Input.Number", plain(e))
}

// MarshalJSON writes the input with its type.
func (e InputToggle) MarshalJSON() ([]byte, error) {
	type plain InputToggle
	return withType("Input.Toggle", plain(e))
}

// MarshalJSON writes the input with its type.
func (e InputChoiceSet) MarshalJSON() ([]byte, error) {
	type plain InputChoiceSet
	return withType("Input.ChoiceSet", plain(e))
}

// MarshalJSON writes the action with its type.
func (a ActionOpenURL) MarshalJSON() ([]byte, error) {
	type plain ActionOpenURL
	return withType("Action.OpenUrl", plain(a))
}
