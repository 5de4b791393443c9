package conformance

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// specPath is the repository's RULES.md, the catalogue Rules follows.
const specPath = "../RULES.md"

// sharedSpecPath is the copy of RULES.md that CI keeps beside the clone.
const sharedSpecPath = "../../shared/RULES.md"

// openRules are the rules of RULES.md whose issue is still open: they have
// no check yet, so they are not in Rules. Remove a rule from here when its
// issue lands its check (TestRulesCoverage fails until then).
var openRules = map[string]string{
	"REM-1": "remote sessions act as their authenticated user: MQTT, issue #13",
	"REM-2": "remote sessions get only their own traffic: MQTT, issue #13",
	"REM-3": "one reply per remote request: MQTT, issue #13",
}

// openParts are rules checked in part: their sentence in Rules is the start
// of RULES.md's, and the rest waits for the issue named here.
var openParts = map[string]string{}

// specRule is one rule as RULES.md states it.
type specRule struct {
	ID       string
	Sentence string // markdown and *decided* markers removed (see plain)
}

// ruleLine matches the first line of a rule: "- INV-1 text...".
var ruleLine = regexp.MustCompile(`^- ([A-Z]{3}-[0-9]+) (.*)$`)

// parseSpec reads the rules of a RULES.md: a line "- ID text" and the lines
// indented under it.
func parseSpec(t *testing.T, path string) []specRule {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the catalogue: %v", err)
	}
	var rules []specRule
	var text []string
	flush := func() {
		if len(rules) > 0 && text != nil {
			rules[len(rules)-1].Sentence = plain(strings.Join(text, " "))
		}
		text = nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		switch m := ruleLine.FindStringSubmatch(line); {
		case m != nil:
			flush()
			rules = append(rules, specRule{ID: m[1]})
			text = []string{m[2]}
		case text != nil && strings.HasPrefix(line, "  "):
			text = append(text, strings.TrimSpace(line))
		default:
			flush()
		}
	}
	flush()
	if len(rules) == 0 {
		t.Fatalf("%s: got no rules, want lines like \"- INV-1 ...\"", path)
	}
	return rules
}

// plain is a rule's text without its markdown (bold, code) and *decided*
// markers, as Rules states it.
func plain(s string) string {
	s = strings.NewReplacer(" (*decided*)", "", " *decided*", "", "**", "", "`", "").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// Every rule of RULES.md is in Rules with a check that Run runs, or is
// listed in openRules with its issue; nothing else is in Rules.
func TestRulesCoverage(t *testing.T) {
	spec := parseSpec(t, specPath)
	inSpec := map[string]bool{}
	for _, r := range spec {
		if inSpec[r.ID] {
			t.Errorf("%s: got rule %s twice, want each ID once", specPath, r.ID)
		}
		inSpec[r.ID] = true
	}
	inRules := map[string]bool{}
	for _, r := range Rules {
		inRules[r.ID] = true
	}
	checked := map[string]bool{}
	for _, c := range checks() {
		checked[c.rule] = true
	}

	var order []string // the IDs of spec that Rules must hold, in order
	for _, r := range spec {
		issue, open := openRules[r.ID]
		switch {
		case open && (inRules[r.ID] || checked[r.ID]):
			t.Errorf("%s: got a check (in Rules: %v), want none while listed as open (%s): remove it from openRules", r.ID, inRules[r.ID], issue)
		case open:
		case !inRules[r.ID]:
			t.Errorf("%s: got no entry in Rules, want one (or list it in openRules with its issue)", r.ID)
		case !checked[r.ID]:
			t.Errorf("%s: got no check registered for Run, want at least one", r.ID)
		}
		if !open {
			order = append(order, r.ID)
		}
	}
	for id := range openRules {
		if !inSpec[id] {
			t.Errorf("openRules: got %s, want only IDs of %s", id, specPath)
		}
	}
	var got []string
	for _, r := range Rules {
		if !inSpec[r.ID] {
			t.Errorf("Rules: got %s, want only IDs of %s", r.ID, specPath)
		}
		got = append(got, r.ID)
	}
	if !slices.Equal(got, order) {
		t.Errorf("Rules order: got %v, want %v (the order of %s)", got, order, specPath)
	}
}

// The sentences of Rules are RULES.md's, but for markdown and *decided*
// markers; a rule in openParts states the part that is checked.
func TestRulesWording(t *testing.T) {
	want := map[string]string{}
	for _, r := range parseSpec(t, specPath) {
		want[r.ID] = r.Sentence
	}
	for _, r := range Rules {
		w, ok := want[r.ID]
		if !ok {
			continue // TestRulesCoverage reports it
		}
		issue, part := openParts[r.ID]
		switch {
		case part && r.Sentence == w:
			t.Errorf("%s: got the whole sentence of %s, want it listed in openParts (%s) no more: remove it", r.ID, specPath, issue)
		case part && !strings.HasPrefix(w, r.Sentence+" "):
			t.Errorf("%s sentence:\n got %q,\nwant the start of %q (the rest is open: %s)", r.ID, r.Sentence, w, issue)
		case !part && r.Sentence != w:
			t.Errorf("%s sentence:\n got %q,\nwant %q (%s without markdown and *decided* markers)", r.ID, r.Sentence, w, specPath)
		}
	}
	for id := range openParts {
		if _, ok := want[id]; !ok || openRules[id] != "" {
			t.Errorf("openParts: got %s, want only checked IDs of %s", id, specPath)
		}
	}
}

// The repository's RULES.md is the shared catalogue, byte for byte.
func TestRulesMatchShared(t *testing.T) {
	shared, err := os.ReadFile(sharedSpecPath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("no %s beside the clone (CI has one); nothing to compare", sharedSpecPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	local, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(local, shared) {
		t.Errorf("%s: got a text that differs from %s, want the same bytes: copy the newer one over the other", specPath, sharedSpecPath)
	}
}
