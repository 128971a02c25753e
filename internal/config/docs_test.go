package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDeployGuideListsEverySetting keeps the settings reference of docs/deploy.md in step with
// Load: an operator reads that table, so a setting missing there is a setting nobody can find,
// and a row Load does not read is advice that does nothing.
func TestDeployGuideListsEverySetting(t *testing.T) {
	data, err := os.ReadFile("../../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start := strings.Index(doc, "\n## Settings reference")
	if start < 0 {
		t.Fatal("docs/deploy.md has no \"## Settings reference\" section")
	}
	section := doc[start+1:]
	if end := strings.Index(section[2:], "\n## "); end >= 0 {
		section = section[:end+2]
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Za-z_][A-Za-z0-9_]*)` \\|").FindAllStringSubmatch(section, -1) {
		documented[m[1]] = true
	}
	read := map[string]bool{}
	if _, err := Load(func(k string) string { read[k] = true; return "" }); err != nil {
		t.Fatalf("defaults do not load: %v", err)
	}
	for k := range read {
		if !documented[k] {
			t.Errorf("Load reads %s but the settings reference in docs/deploy.md has no row for it", k)
		}
	}
	for k := range documented {
		if !read[k] {
			t.Errorf("docs/deploy.md documents %s but Load does not read it", k)
		}
	}
}
