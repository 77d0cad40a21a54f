package api_test

import (
	"encoding/json"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
)

// TestSelectionIsNoOracle: a run's selection refused by the authorization
// or the policy answers the same, and logs the same public entry (no
// count), for a person with records and for one without.
func TestSelectionIsNoOracle(t *testing.T) {
	t.Parallel()
	both := []string{"plate:B-XY-123", "plate:NOPE-1"} // the first has five records, the second none
	auth := func(id string, uses int, subjects []string, f func(*ombud.Authorization)) ombud.Authorization {
		a := ombudtest.Authorization(id, uses)
		a.Subjects = subjects
		if f != nil {
			f(&a)
		}
		return a
	}
	wild := auth("wild", 10, []string{"*"}, nil) // the default policy refuses a wildcard
	spent := auth("spent", 1, both, nil)
	revoked := auth("revoked", 10, both, nil)
	expired := auth("expired", 10, both, func(a *ombud.Authorization) { a.NotAfter = time.Now().Add(-time.Minute).UTC().Truncate(time.Second) })
	e := newRunEnv(t, wild, spent, revoked, expired)
	const js = "application/json"
	// The one use of "spent" goes to a run over a record of nobody's.
	if resp := e.Do(t, "POST", "/v1/runs", e.machine, js, runBody(e.system, e.location[:1], "spent")); resp.StatusCode != 201 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("spending the use: %d %s", resp.StatusCode, b)
	}
	if _, err := e.Custody.Access.Revoke(t.Context(), "revoked", "case_closed", e.AdminID); err != nil {
		t.Fatal(err)
	}
	// answer is what a caller and a reader of the log learn of one
	// selection: the answer and the public entry, the run's id cleared.
	type answer struct {
		Status int
		Error  apiv1.ErrorBody
		Entry  entry.Run
	}
	ask := func(authID, class, subject string) answer {
		t.Helper()
		b, _ := json.Marshal(apiv1.StartRun{System: e.system, Version: "2.0", Purpose: "criminal_investigation", Authorization: authID,
			Selection: &apiv1.RunSelection{Class: class, Subject: subject}})
		resp := e.Do(t, "POST", "/v1/runs", e.machine, js, string(b))
		a := answer{Status: resp.StatusCode, Error: decode[apiv1.ErrorBody](t, resp)}
		idx, err := strconv.ParseUint(resp.Header.Get("Ombud-Receipt"), 10, 64)
		if err != nil {
			t.Fatalf("%s, %s: no receipt (%d %+v)", authID, subject, a.Status, a.Error)
		}
		r, ok := entryAt(t, e.Env, idx).(*entry.Run)
		if !ok {
			t.Fatalf("%s, %s: the receipt names no run entry", authID, subject)
		}
		r.Run = ""
		a.Entry = *r
		return a
	}
	for _, tc := range []struct{ auth, class, reason string }{
		{"wild", "location", "policy_denied"},
		{"spent", "location", "authorization_exhausted"},
		{"revoked", "location", "authorization_revoked"},
		{"expired", "location", "authorization_expired"},
		// person:17 has a biometric record, a class the system may not
		// process.
		{"wild", "biometric", "class_not_allowed"},
	} {
		subjects := both
		if tc.class == "biometric" {
			subjects = []string{"person:17", "person:18"}
		}
		with, without := ask(tc.auth, tc.class, subjects[0]), ask(tc.auth, tc.class, subjects[1])
		if with.Status != 403 || with.Error.Error.Reason != tc.reason {
			t.Errorf("%s: %d %+v, want 403 %s", tc.auth, with.Status, with.Error.Error, tc.reason)
		}
		wj, _ := json.Marshal(with)
		woj, _ := json.Marshal(without)
		if string(wj) != string(woj) {
			t.Errorf("%s: a person with records and one without are told apart:\n with:    %s\n without: %s", tc.auth, wj, woj)
		}
		if with.Entry.Objects != 0 || with.Entry.Decision != entry.Deny {
			t.Errorf("%s: the refusal's entry counts the records: %+v", tc.auth, with.Entry)
		}
	}
}
