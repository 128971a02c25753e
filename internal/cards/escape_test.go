package cards

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"guestpass/internal/entitlement"
)

// hostilePayload combines markdown, mention, line-break, JSON-looking, bidi and very long input.
var hostilePayload = "**[click](https://evil)** <at>Megan</at>\n\n- item\r\n# h `code` ~~x~~ _y_ ![i](https://evil/i.png) " +
	`"}],"actions":[{"type":"Action.OpenUrl","url":"https://evil"}]}` + " \u202Egnp.exe \u2028 👩‍👩‍👧 Zoë " + strings.Repeat("A", 3000)

func hostile(s string) string { return s + " " + hostilePayload }

func TestEscapeMarkdown(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"plain text", "plain text"},
		{"**bold**", `\*\*bold\*\*`},
		{"[click](https://evil)", `\[click\](https://evil)`},
		{"<at>Megan</at>", `\<at\>Megan\</at\>`},
		{"a\nb\r\nc\rd", "a b  c d"},
		{"tab\there", "tab here"},
		{"line\u2028sep\u2029para", "line sep para"},
		{"- item", `\- item`},
		{"  + item", `  \+ item`},
		{"# heading", `\# heading`},
		{"12. ordered", `12\. ordered`},
		{"3) ordered", `3\) ordered`},
		{"version 1.5 - fine", "version 1.5 - fine"},
		{"a-b.com", "a-b.com"},
		{"jane_doe@fabrikam.com", `jane\_doe@fabrikam.com`},
		{"`code` ~~strike~~", "\\`code\\` \\~\\~strike\\~\\~"},
		{`back\slash`, `back\\slash`},
		{"\u202Egnp.exe", "gnp.exe"},
		{"Zoë Åström 👩‍👩‍👧 東京", "Zoë Åström 👩‍👩‍👧 東京"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := EscapeMarkdown(tt.in); got != tt.want {
			t.Errorf("EscapeMarkdown(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"this is too long", 8, "this is…"},
		{"ééééééé", 4, "ééé…"},
		{"👩‍👩‍👧👩‍👩‍👧", 3, "👩‍…"},
	}
	for _, tt := range tests {
		got := clip(tt.in, tt.max)
		if got != tt.want || utf8.RuneCountInString(got) > tt.max || !utf8.ValidString(got) {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestTextLinesLimits(t *testing.T) {
	long := strings.Repeat("line\n", 100)
	got := textLines(long)
	if len(got) != maxLines+1 {
		t.Fatalf("%d blocks, want %d lines plus an ellipsis", len(got), maxLines+1)
	}
	if last := got[len(got)-1].(TextBlock); last.Text != "…" {
		t.Errorf("last block %q, want …", last.Text)
	}
	one := textLines(strings.Repeat("x", 10000))
	if n := utf8.RuneCountInString(one[0].(TextBlock).Text); n != maxLong {
		t.Errorf("long line kept %d runes, want %d", n, maxLong)
	}
	if textLines("  \n\r\n ") != nil {
		t.Errorf("blank text produced blocks")
	}
}

// markdownFields yields every string Teams renders as markdown: TextBlock text, Fact title/value.
func markdownFields(card map[string]any) []string {
	var out []string
	walk(card, func(obj map[string]any) {
		if obj["type"] == "TextBlock" {
			s, _ := obj["text"].(string)
			out = append(out, s)
		}
		if facts, ok := obj["facts"].([]any); ok {
			for _, f := range facts {
				m, _ := f.(map[string]any)
				title, _ := m["title"].(string)
				value, _ := m["value"].(string)
				out = append(out, title, value)
			}
		}
	})
	return out
}

// skeleton is what an injection must not change: every action (type, verb, data keys, URL), every
// input (type, id) and the refresh audience.
func skeleton(card map[string]any) string {
	var b strings.Builder
	walk(card, func(obj map[string]any) {
		typ, _ := obj["type"].(string)
		switch {
		case strings.HasPrefix(typ, "Action."):
			keys := []string{}
			if d, ok := obj["data"].(map[string]any); ok {
				for k := range d {
					keys = append(keys, k)
				}
			}
			fmt.Fprintf(&b, "%s/%v/%d/%v;", typ, obj["verb"], len(keys), obj["url"])
		case strings.HasPrefix(typ, "Input."):
			choices, _ := obj["choices"].([]any)
			fmt.Fprintf(&b, "%s/%v/%d;", typ, obj["id"], len(choices))
		}
	})
	r, _ := card["refresh"].(map[string]any)
	fmt.Fprintf(&b, "refresh=%v", r["userIds"])
	return b.String()
}

func decode(t *testing.T, c Card) map[string]any {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("card is not valid JSON: %v", err)
	}
	return m
}

// TestInjection builds every card with hostile text in every user-supplied string and checks it
// shows literally: the same actions and inputs as the benign card, no live markdown, mentions or
// line breaks in rendered text, bounded lengths, valid UTF-8.
func TestInjection(t *testing.T) {
	benign := allCards(t, identity)
	bad := allCards(t, hostile)
	rawMarkers := []string{"**[click]", "[click](", "<at>", "</at>", "`code`", "~~x~~", "_y_", "![i]", "\n", "\r", "\u2028", "\u202E"}
	for i := range bad {
		t.Run(bad[i].name, func(t *testing.T) {
			b, err := json.Marshal(bad[i].card)
			if err != nil {
				t.Fatal(err)
			}
			if !utf8.Valid(b) {
				t.Errorf("output is not valid UTF-8")
			}
			// Teams rejects messages over about 28 KB; a hostile card must still fit.
			if len(b) > 28*1024 {
				t.Errorf("card is %d bytes with long input, over Teams' 28 KB message limit", len(b))
			}
			got, want := decode(t, bad[i].card), decode(t, benign[i].card)
			checkCard(t, got)
			if sg, sw := skeleton(got), skeleton(want); sg != sw {
				t.Errorf("hostile input changed the card's actions or inputs:\n got %s\nwant %s", sg, sw)
			}
			for _, s := range markdownFields(got) {
				for _, m := range rawMarkers {
					if strings.Contains(s, m) {
						t.Errorf("rendered text contains raw %q: %.120q", m, s)
					}
				}
				if n := utf8.RuneCountInString(s); n > 2*maxLong+16 {
					t.Errorf("rendered text of %d runes is not clipped", n)
				}
			}
			walk(got, func(obj map[string]any) {
				if obj["type"] == "Action.OpenUrl" && strings.Contains(fmt.Sprint(obj["url"]), "evil") {
					t.Errorf("hostile text produced a link: %v", obj["url"])
				}
				if title, ok := obj["title"].(string); ok && strings.ContainsAny(title, "\n\r\u202E") {
					t.Errorf("title keeps control characters: %q", title)
				}
			})
		})
	}
}

func TestRefreshUserIDsCapped(t *testing.T) {
	var mris []string
	for i := range 75 {
		mris = append(mris, fmt.Sprintf("29:user-%d", i))
	}
	mris = append([]string{"29:user-0", "", "  "}, mris...) // duplicates and blanks are dropped first
	c := decode(t, Approval(ApprovalInput{Request: testRequest(), ApproverMRIs: mris}))
	ids := c["refresh"].(map[string]any)["userIds"].([]any)
	if len(ids) != MaxRefreshUserIDs {
		t.Fatalf("userIds has %d entries, want %d", len(ids), MaxRefreshUserIDs)
	}
	if ids[0] != "29:user-0" || ids[1] != "29:user-1" || ids[59] != "29:user-59" {
		t.Errorf("userIds = %v…, want the first 60 distinct MRIs in order", ids[:3])
	}
	none := decode(t, Approval(ApprovalInput{Request: testRequest()}))
	if _, ok := none["refresh"].(map[string]any)["userIds"]; ok {
		t.Errorf("no approver MRIs must omit userIds (an empty list disables auto-refresh)")
	}
}

func TestApprovalVariants(t *testing.T) {
	verbs := func(c Card) []string {
		var out []string
		walk(decode(t, c), func(obj map[string]any) {
			if obj["type"] == "Action.Execute" {
				out = append(out, fmt.Sprint(obj["verb"]))
			}
		})
		return out
	}
	base := ApprovalInput{Request: testRequest(), Stage: 1, Nonce: "n", ApproverMRIs: []string{"29:a"}}
	tests := []struct {
		name        string
		mut         func(*ApprovalInput)
		wantVerbs   string
		wantRefresh bool
		wantText    string
	}{
		{"pending", func(*ApprovalInput) {}, "approve,deny,refresh", true, "Stage 1 of 2"},
		{"error keeps buttons", func(a *ApprovalInput) { a.Errors = map[string]string{ErrorKeyForm: "Graph failed"} }, "approve,deny,refresh", true, "Graph failed"},
		{"deny without reason", func(a *ApprovalInput) { a.Errors = map[string]string{InputJustification: "Give a reason"} }, "approve,deny,refresh", true, "Give a reason"},
		{"not approver", func(a *ApprovalInput) { a.NotApprover = true }, "refresh,refresh", true, "not an approver for stage 1"},
		{"approved", func(a *ApprovalInput) { a.Decision = &Decision{Outcome: DecisionApproved, By: "Megan Bowen", At: t0} }, "", false, "Approved by Megan Bowen, 3 Mar 2026, 14:02 UTC"},
		{"denied", func(a *ApprovalInput) { a.Decision = &Decision{Outcome: DecisionDenied, ByYou: true, At: t0} }, "", false, "Denied by you"},
		{"elsewhere", func(a *ApprovalInput) { a.Decision = &Decision{Outcome: DecisionApproved, Elsewhere: true} }, "", false, "Approved outside Teams"},
		{"cancelled", func(a *ApprovalInput) { a.Decision = &Decision{Outcome: DecisionCanceled} }, "", false, "Cancelled by the requestor"},
		{"expired", func(a *ApprovalInput) { a.Decision = &Decision{Outcome: DecisionExpired} }, "", false, "denied automatically"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			tt.mut(&in)
			c := Approval(in)
			if got := strings.Join(verbs(c), ","); got != tt.wantVerbs {
				t.Errorf("verbs %q, want %q", got, tt.wantVerbs)
			}
			if (c.Refresh != nil) != tt.wantRefresh {
				t.Errorf("refresh present = %v, want %v", c.Refresh != nil, tt.wantRefresh)
			}
			if text := strings.Join(markdownFields(decode(t, c)), "|"); !strings.Contains(text, tt.wantText) {
				t.Errorf("card text lacks %q:\n%s", tt.wantText, text)
			}
		})
	}
}

func testRequest() entitlement.Request {
	return entitlement.Request{ID: "req-1", StageCount: 2, AccessPackage: "Falcon", AutoDenyAt: t1,
		Requestor: entitlement.Person{DisplayName: "Jane Doe", Email: "jane@fabrikam.com"}}
}

func entitlementScenario(id string) entitlement.Scenario {
	return entitlement.Scenario{ID: id, Name: "Falcon", DurationDays: 90}
}

func TestParseResourceChoice(t *testing.T) {
	tests := []struct {
		in        string
		res, role int
		wantErr   bool
	}{
		{"0.0", 0, 0, false},
		{" 3.12 ", 3, 12, false},
		{ResourceChoiceValue(7, 2), 7, 2, false},
		{"", 0, 0, true},
		{"1", 0, 0, true},
		{"a.b", 0, 0, true},
		{"-1.0", 0, 0, true},
		{"1.-2", 0, 0, true},
		{"99999.1", 0, 0, true},
		{"1.2.3", 0, 0, true},
	}
	for _, tt := range tests {
		res, role, err := ParseResourceChoice(tt.in)
		if (err != nil) != tt.wantErr || res != tt.res || role != tt.role {
			t.Errorf("ParseResourceChoice(%q) = %d, %d, %v", tt.in, res, role, err)
		}
		if err != nil && !errors.Is(err, ErrBadResourceChoice) {
			t.Errorf("error %v is not ErrBadResourceChoice", err)
		}
	}
}

func FuzzParseResourceChoice(f *testing.F) {
	for _, s := range []string{"0.0", "12.3", "", ".", "1.", "x.1", "1e3.2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		res, role, err := ParseResourceChoice(s)
		if err != nil {
			return
		}
		if res < 0 || role < 0 {
			t.Fatalf("negative indexes %d.%d from %q", res, role, s)
		}
		if r2, ro2, err := ParseResourceChoice(ResourceChoiceValue(res, role)); err != nil || r2 != res || ro2 != role {
			t.Fatalf("round trip of %q failed", s)
		}
	})
}

func FuzzEscapeMarkdown(f *testing.F) {
	for _, s := range []string{"**x**", "<at>a</at>", "- a\n# b", "1. x", "\u202E", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := EscapeMarkdown(s)
		if !utf8.ValidString(got) || strings.ContainsAny(got, "\n\r\u2028\u2029\u202E") {
			t.Fatalf("EscapeMarkdown(%q) = %q", s, got)
		}
		// Every markdown character is preceded by an escaping backslash.
		for i := 0; i < len(got); i++ {
			if strings.IndexByte("*_`~[]<>", got[i]) >= 0 && (i == 0 || got[i-1] != '\\') {
				t.Fatalf("unescaped %q at %d in %q", got[i], i, got)
			}
		}
	})
}

func TestWizardStepUnknown(t *testing.T) {
	if _, err := WizardStep("bogus", WizardInput{}); !errors.Is(err, ErrUnknownStep) {
		t.Errorf("err = %v, want ErrUnknownStep", err)
	}
	for _, step := range WizardSteps() {
		if _, err := WizardStep(step, WizardInput{}); err != nil {
			t.Errorf("step %q with an empty draft: %v", step, err)
		}
	}
}

func TestWizardNavigation(t *testing.T) {
	for i, step := range WizardSteps() {
		c, err := WizardStep(step, WizardInput{Nonce: "n"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]ActionExecute{}
		for _, a := range c.Actions {
			if e, ok := a.(ActionExecute); ok {
				got[e.Verb] = e
				if e.Data[KeyStep] != step || e.Data[KeyDialog] != DialogScenario || e.Data[KeyNonce] != "n" {
					t.Errorf("%s: %s data %v lacks dialog/step/nonce", step, e.Verb, e.Data)
				}
			}
		}
		for _, v := range []string{VerbWizardCancel, VerbWizardRestart} {
			if got[v].AssociatedInputs != "none" {
				t.Errorf("%s: %s missing or submits inputs", step, v)
			}
		}
		_, back := got[VerbWizardBack]
		if back != (i > 0) {
			t.Errorf("%s: Back present = %v", step, back)
		}
		if step == StepReview {
			if _, ok := got[VerbCreateScenario]; !ok {
				t.Errorf("review has no Create")
			}
		} else if _, ok := got[VerbWizardNext]; !ok {
			t.Errorf("%s has no Next", step)
		}
	}
	edit, _ := WizardStep(StepReview, WizardInput{Draft: entitlementScenario("scn-1")})
	if e := edit.Actions[0].(ActionExecute); e.Verb != VerbSaveScenario {
		t.Errorf("editing review primary verb %q, want %q", e.Verb, VerbSaveScenario)
	}
}

func TestWizardValuesWinOverDraft(t *testing.T) {
	c, _ := WizardStep(StepDuration, WizardInput{Draft: entitlementScenario(""), Values: map[string]string{InputDurationDays: "400"}})
	for _, e := range c.Body {
		if n, ok := e.(InputNumber); ok && n.ID == InputDurationDays {
			if n.Value == nil || *n.Value != 400 {
				t.Errorf("duration value %v, want the submitted 400", n.Value)
			}
			return
		}
	}
	t.Fatal("no duration input")
}

func TestSafeURL(t *testing.T) {
	tests := map[string]bool{
		"https://myaccess.microsoft.com/@contoso#/access-packages/1": true,
		"http://127.0.0.1:8080/myaccess":                             true,
		"javascript:alert(1)":                                        false,
		"data:text/html,hi":                                          false,
		"//evil.example/x":                                           false,
		"https://user:pass@evil.example/":                            false,
		"not a url":                                                  false,
		"":                                                           false,
	}
	for in, ok := range tests {
		if got := safeURL(in) != ""; got != ok {
			t.Errorf("safeURL(%q) accepted = %v, want %v", in, got, ok)
		}
	}
	c := decode(t, ScenarioCreated(CreatedInput{MyAccessURL: "javascript:alert(1)"}))
	walk(c, func(obj map[string]any) {
		if obj["type"] == "Action.OpenUrl" {
			t.Errorf("unsafe URL became a button: %v", obj)
		}
	})
}

func TestPageButtons(t *testing.T) {
	tests := []struct {
		page    int
		hasNext bool
		want    string
	}{
		{1, false, ""},
		{1, true, "Next:2"},
		{2, true, "Previous:1,Next:3"},
		{3, false, "Previous:2"},
		{0, true, "Next:2"},
	}
	for _, tt := range tests {
		var got []string
		for _, a := range pageButtons(tt.page, tt.hasNext, Data{KeyVerb: "orgs.list", KeyScenarioID: "s"}) {
			e := a.(ActionExecute)
			if e.Data[KeyScenarioID] != "s" || e.Data[KeyVerb] != "orgs.list" {
				t.Errorf("page button lost the list's data: %v", e.Data)
			}
			got = append(got, e.Title+":"+e.Data[KeyPage])
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("page %d hasNext %v: %v, want %s", tt.page, tt.hasNext, got, tt.want)
		}
	}
	if pageButtons(2, true, nil) != nil {
		t.Errorf("no page data must mean no paging buttons")
	}
}

func TestTablePadsAndCutsRows(t *testing.T) {
	c := Table(TableInput{Title: "T", Columns: []string{"A", "B"}, Rows: [][]string{{"1"}, {"1", "2", "3"}}})
	tbl := c.Body[1].(TableElement)
	for i, r := range tbl.Rows {
		if len(r.Cells) != 2 {
			t.Errorf("row %d has %d cells, want 2", i, len(r.Cells))
		}
	}
}
