package main

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReviewCommands drives human review from the command line: a
// machine principal of a registered system ('principal add --role system
// --system') starts a run and raises a flag ('flag raise'), two reviewers
// find it ('flag list'), view its evidence ('get --flag') and confirm it
// ('review'), an analyst acts on it ('act', which prints the notice
// code), the person contests it on /contest, and a reviewer who took no
// part overturns it ('contest resolve'). Each command is also refused
// once, with its reason code.
func TestReviewCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	url, admin, _ := serveInProcess(t, dir)
	as := func(token string) map[string]string {
		return map[string]string{"OMBUD_SERVER": url, "OMBUD_TOKEN": token}
	}
	must := func(env map[string]string, args ...string) string {
		t.Helper()
		code, out, errs := run(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
		return out
	}
	refused := func(env map[string]string, want int, reason string, args ...string) {
		t.Helper()
		code, out, errs := run(t, env, args...)
		if code != want || !strings.Contains(errs, reason) || strings.Count(errs, "\n") != 1 {
			t.Fatalf("%v: exit %d, want %d and %q\n%s%s", args, code, want, reason, out, errs)
		}
	}
	id := regexp.MustCompile(`(?:system|object|run|flag|action|Contest) ([a-z0-9]{16})`)
	tmp := t.TempDir()
	out := must(as(admin), "system", "add", "--name", "plate-reader", "--vendor", "vendor-y", "--task", "plate_reading", "--class", "general",
		"--model", "anpr", "--version", "2.0", "--threshold", "0.9", "--accuracy-source", "vendor-y-datasheet")
	sys := id.FindStringSubmatch(out)[1]
	if code, _, errs := run(t, nil, "principal", "add", "--help"); code != 0 || !strings.Contains(errs, "[--system ID]") || !strings.Contains(errs, "auditor, oversight, system (repeatable") {
		t.Fatalf("principal add --help does not name the system role and --system:\n%s", errs)
	}
	refused(as(admin), exitUsage, "--role system and --system ID go together", "principal", "add", "--name", "cam 7", "--role", "system")
	refused(as(admin), exitError, "invalid", "principal", "add", "--name", "cam 7", "--role", "system", "--role", "analyst", "--system", sys)
	out = must(as(admin), "principal", "add", "--name", "cam 7", "--role", "system", "--system", sys)
	if !strings.Contains(out, "acting for system "+sys) {
		t.Fatalf("principal add --system: %s", out)
	}
	machine := lastLine(out)
	ingest := lastLine(must(as(admin), "principal", "add", "--name", "scanner", "--role", "ingestor"))
	analyst := lastLine(must(as(admin), "principal", "add", "--name", "Ada", "--role", "analyst"))
	var reviewers []string
	for _, name := range []string{"Rey", "Rob", "Ria"} {
		reviewers = append(reviewers, lastLine(must(as(admin), "principal", "add", "--name", name, "--role", "reviewer")))
	}
	var objects []string
	for i, body := range []string{"plate B-XY-123", "another plate"} {
		f := filepath.Join(tmp, "in"+string(rune('a'+i)))
		os.WriteFile(f, []byte(body), 0o600)
		objects = append(objects, lastLine(must(as(ingest), "put", f, "--class", "general")))
	}
	out = must(as(machine), "run", "start", "--system", sys, "--version", "2.0", "--purpose", "criminal_investigation", "--object", objects[0])
	runID := id.FindStringSubmatch(out)[1]
	must(as(machine), "run", "fetch", runID, "--out", filepath.Join(tmp, "run"))

	raise := []string{"flag", "raise", runID, "--candidate", "plate:B-XY-123", "--score", "0.93", "--threshold", "0.9", "--reference-db", "watchlist", "--gallery-size", "1200"}
	refused(as(machine), exitError, "[input_not_read]", append(raise, "--input", objects[1])...)
	out = must(as(machine), append(raise, "--input", objects[0])...)
	flagID := lastLine(out)
	if !strings.Contains(out, "Raised flag "+flagID) {
		t.Fatalf("flag raise: %s", out)
	}
	if out := must(as(reviewers[0]), "flag", "list", "--ids"); out != flagID+"\n" {
		t.Fatalf("flag list --ids: %q", out)
	}
	for _, r := range reviewers[:2] {
		if out := must(as(r), "flag", "list"); !strings.Contains(out, flagID) || !strings.Contains(out, objects[0]) {
			t.Fatalf("flag list: %s", out)
		}
		must(as(r), "get", objects[0], "--purpose", "review", "--flag", flagID, "--out", filepath.Join(tmp, "evidence-"+r[len(r)-6:]))
		if out := must(as(r), "review", flagID, "--confirm", "--rationale", "the plate reads B-XY-123"); !strings.Contains(out, "confirm") {
			t.Fatalf("review: %s", out)
		}
	}
	refused(as(reviewers[0]), exitError, "[already_reviewed]", "review", flagID, "--reject", "--rationale", "second thoughts")
	refused(as(reviewers[0]), exitUsage, "one of --confirm or --reject", "review", flagID, "--rationale", "undecided")
	if out := must(as(reviewers[0]), "flag", "list"); !strings.Contains(out, "No flags await your review") {
		t.Fatalf("flag list after the review: %s", out)
	}

	refused(as(analyst), exitError, "kind must be one of", "act", flagID, "--kind", "arrest")
	noticeFile := filepath.Join(t.TempDir(), "notice.txt")
	out = must(as(analyst), "act", flagID, "--kind", "questioning", "--notice", noticeFile)
	notice := lastLine(out)
	if !strings.Contains(out, url+"/contest") || len(strings.ReplaceAll(notice, "-", "")) != 16 {
		t.Fatalf("act: %s", out)
	}
	if b, err := os.ReadFile(noticeFile); err != nil || !strings.Contains(string(b), notice) || !strings.Contains(string(b), "How to contest") {
		t.Fatalf("the saved notice: %v\n%s", err, b)
	}
	if out := must(as(analyst), "actions"); !strings.Contains(out, "(questioning) on flag "+flagID) || strings.Contains(out, "WITHDRAWN") {
		t.Fatalf("actions before a contest: %s", out)
	}
	refused(as(analyst), exitError, "[flag_acted]", "act", flagID, "--kind", "referral")

	// The person files a contest with the notice code.
	resp, err := http.PostForm(url+"/contest", map[string][]string{"code": {notice}, "do": {"file"}, "statement": {"That was not my car."}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("filing a contest: %v %v", resp, err)
	}
	resp.Body.Close()
	out = must(as(reviewers[2]), "contest", "list")
	m := id.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "you may resolve it") || !strings.Contains(out, "That was not my car.") {
		t.Fatalf("contest list: %s", out)
	}
	contest := m[1]
	if out := must(as(reviewers[2]), "contest", "list", "--ids"); out != contest+"\n" {
		t.Fatalf("contest list --ids: %q", out)
	}
	if out := must(as(reviewers[0]), "contest", "list", "--ids"); out != "" {
		t.Fatalf("contest list --ids of a reviewer who took part: %q", out)
	}
	refused(as(reviewers[0]), exitError, "[reviewer_not_independent]", "contest", "resolve", contest, "--uphold", "--rationale", "I was right")
	refused(as(reviewers[2]), exitUsage, "one of --uphold or --overturn", "contest", "resolve", contest, "--uphold", "--overturn", "--rationale", "both")
	if out := must(as(reviewers[2]), "contest", "resolve", contest, "--overturn", "--rationale", "the car is another model"); !strings.Contains(out, "overturned") {
		t.Fatalf("contest resolve: %s", out)
	}
	refused(as(reviewers[2]), exitError, "[contest_resolved]", "contest", "resolve", contest, "--uphold", "--rationale", "again")
	// The analyst who took the action is told it was withdrawn.
	if out := must(as(analyst), "actions"); !strings.HasPrefix(out, "WITHDRAWN ") || !strings.Contains(out, "contest "+contest+" overturned") {
		t.Fatalf("actions after an overturned contest: %s", out)
	}
	refused(as(analyst), exitError, "404 not_found", "actions", "nosuchaction0000")
}
