package cards

// Small body builders shared by the cards. Functions taking "md" expect markdown the caller composed
// from constants and esc()'d values; the others escape what they are given.

func title(md string) TextBlock {
	return TextBlock{Text: md, Wrap: true, Style: "heading", Size: "Large", Weight: "Bolder"}
}

func subtitle(md string) TextBlock {
	return TextBlock{Text: md, Wrap: true, IsSubtle: true, Spacing: "None"}
}

func section(md string) TextBlock {
	return TextBlock{Text: md, Wrap: true, Weight: "Bolder", Spacing: "Medium"}
}

func para(md string) TextBlock { return TextBlock{Text: md, Wrap: true} }

func note(md string) TextBlock {
	return TextBlock{Text: md, Wrap: true, IsSubtle: true, Size: "Small", Spacing: "Small"}
}

func warning(md string) TextBlock {
	return TextBlock{Text: md, Wrap: true, Color: "Warning", Size: "Small", Spacing: "Small"}
}

// fieldError is the red line under a field; nil when there is no error for key.
func fieldError(errs map[string]string, key string) []Element {
	msg := errs[key]
	if msg == "" {
		return nil
	}
	return []Element{TextBlock{Text: esc(msg), Wrap: true, Color: "Attention", Size: "Small", Spacing: "None"}}
}

// formError is a banner for an error about the whole card.
func formError(errs map[string]string) []Element {
	msg := errs[ErrorKeyForm]
	if msg == "" {
		return nil
	}
	return []Element{Container{Style: "attention", Items: []Element{
		TextBlock{Text: "⚠ " + EscapeMarkdown(clip(msg, maxLong)), Wrap: true, Color: "Attention"},
	}}}
}

// fact escapes both parts; FactSet titles and values are markdown in Teams.
func fact(title, value string) Fact { return Fact{Title: esc(title), Value: esc(value)} }

// facts drops pairs whose value is empty.
func facts(pairs ...string) []Element {
	var fs []Fact
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			fs = append(fs, fact(pairs[i], pairs[i+1]))
		}
	}
	if len(fs) == 0 {
		return nil
	}
	return []Element{FactSet{Facts: fs}}
}

func actionSet(actions ...Action) ActionSet { return ActionSet{Actions: actions} }

func intp(n int) *int { return &n }

func toggleValue(b bool) string {
	if b {
		return ToggleOn
	}
	return ToggleOff
}

// join concatenates element groups.
func join(groups ...[]Element) []Element {
	var out []Element
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func one(e ...Element) []Element { return e }
