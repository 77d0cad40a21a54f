package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/vocab"
)

// actedNotice raises two flags, has two reviewers view the first's
// evidence and confirm it, acts on it and returns the action's notice
// code; the second flag awaits review.
func actedNotice(t *testing.T, e *ombudtest.Env) (string, *matchScenario) {
	t.Helper()
	ctx := context.Background()
	s := newMatchScenario(t, e, 2)
	for _, name := range []string{"Rey Reviewer", "Rob Reviewer"} {
		r := e.Principal(t, e.AddPrincipal(t, name, ombud.RoleReviewer))
		for _, o := range []string{s.input, s.reference} {
			rel, err := e.Custody.Read(ctx, custody.ReadRequest{ID: o, Purpose: vocab.PurposeReview, Flag: s.flags[0], Principal: r})
			if err != nil {
				t.Fatal(err)
			}
			rel.Body.Close()
		}
		if _, _, err := e.Gateway.Review.Review(ctx, r, s.flags[0], entry.Confirm, "the input and the reference agree"); err != nil {
			t.Fatal(err)
		}
	}
	_, notice, _, err := e.Gateway.Review.Act(ctx, s.analyst, s.flags[0], "questioning")
	if err != nil {
		t.Fatal(err)
	}
	return notice, s
}

// TestContestRightCodeNeverLimited: wrong codes from the person's address
// are limited, but their right code is still answered.
func TestContestRightCodeNeverLimited(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	notice, _ := actedNotice(t, e)
	for range 15 {
		post(t, e.URL+"/contest", url.Values{"do": {"status"}, "code": {"0000-0000-0000-0000"}}, "", nil)
	}
	if resp, _ := post(t, e.URL+"/contest", url.Values{"do": {"status"}, "code": {"1111-1111-1111-1111"}}, "", nil); resp.StatusCode != 429 {
		t.Fatalf("a wrong code past the limit: %d, want 429", resp.StatusCode)
	}
	resp, body := post(t, e.URL+"/contest", url.Values{"do": {"status"}, "code": {notice}}, "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("the right code after others' wrong ones: %d %.300s", resp.StatusCode, body)
	}
	resp, body = post(t, e.URL+"/contest", url.Values{"do": {"file"}, "code": {notice}, "statement": {"I was at work that day."}}, "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("filing with the right code after others' wrong ones: %d %.300s", resp.StatusCode, body)
	}
}

// TestContestRefusesCrossSite: another site's page cannot post to
// /contest, neither a code's status nor a filing; a post from the page
// itself, or from a client that is not a browser, is taken.
func TestContestRefusesCrossSite(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	notice, _ := actedNotice(t, e)
	before := e.Size(t)
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "https://evil.example"},
		{"Origin": "null"},
	} {
		for _, do := range []string{"status", "file"} {
			resp, _ := post(t, e.URL+"/contest", url.Values{"do": {do}, "code": {notice}, "statement": {"filed by another site"}}, "", h)
			if resp.StatusCode != 403 {
				t.Errorf("%s posted with %v: %d, want 403", do, h, resp.StatusCode)
			}
		}
	}
	if e.Size(t) != before {
		t.Fatalf("cross-site posts logged %d entries", e.Size(t)-before)
	}
	// Nor do cross-site wrong codes spend the address's limit.
	for range 12 {
		post(t, e.URL+"/contest", url.Values{"do": {"status"}, "code": {"0000-0000-0000-0000"}}, "", map[string]string{"Sec-Fetch-Site": "cross-site"})
	}
	if resp, _ := post(t, e.URL+"/contest", url.Values{"do": {"status"}, "code": {"0000-0000-0000-0000"}}, "", map[string]string{"Sec-Fetch-Site": "same-origin"}); resp.StatusCode != 404 {
		t.Fatalf("a wrong code after cross-site posts: %d, want 404", resp.StatusCode)
	}
	for _, h := range []map[string]string{{"Sec-Fetch-Site": "same-origin", "Origin": "null"}, {"Origin": e.URL}, nil} {
		if resp, body := post(t, e.URL+"/contest", url.Values{"do": {"status"}, "code": {notice}}, "", h); resp.StatusCode != 200 {
			t.Fatalf("a post with %v: %d %.300s", h, resp.StatusCode, body)
		}
	}
}

// TestTextRefusesBidiControls: a contest's statement, a review's
// rationale and a resolution's refuse bidirectional controls, which could
// show the reader the text reordered; nothing is logged.
func TestTextRefusesBidiControls(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	ctx := context.Background()
	notice, s := actedNotice(t, e)
	// refused checks that f is refused as invalid and logs nothing.
	refused := func(what string, f func() error) {
		t.Helper()
		before := e.Size(t)
		if err := f(); ombud.ErrorCode(err) != ombud.CodeInvalid || !strings.Contains(ombud.ErrorMessage(err), "bidirectional") {
			t.Errorf("%s: %v, want refused", what, err)
		}
		if e.Size(t) != before {
			t.Errorf("%s: the refusal logged an entry", what)
		}
	}
	before := e.Size(t)
	resp, body := post(t, e.URL+"/contest", url.Values{"do": {"file"}, "code": {notice}, "statement": {"I was at work\u202e.ereht ton saw I"}}, "", nil)
	if resp.StatusCode != 400 || !strings.Contains(body, "bidirectional") || e.Size(t) != before {
		t.Fatalf("a statement with a right-to-left override: %d %.300s", resp.StatusCode, body)
	}
	refused("a statement", func() error {
		_, _, err := e.Gateway.Review.File(ctx, notice, "I was \u2066elsewhere\u2069")
		return err
	})
	ria := e.Principal(t, e.AddPrincipal(t, "Ria Reviewer", ombud.RoleReviewer))
	refused("a review's rationale", func() error {
		_, _, err := e.Gateway.Review.Review(ctx, ria, s.flags[1], entry.Reject, "no match\u200f at all")
		return err
	})
	// A contest filed, for a resolution's rationale.
	c, _, err := e.Gateway.Review.File(ctx, notice, "I was at work that day.")
	if err != nil {
		t.Fatal(err)
	}
	refused("a resolution's rationale", func() error {
		_, _, err := e.Gateway.Review.Resolve(ctx, ria, c.Contest.ID, ombud.ContestOverturned, "the reviewers\u202e erred")
		return err
	})
}
