package api_test

import (
	"io"
	"testing"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/internal/ombudtest"
)

// FuzzCreatePrincipalBody sends arbitrary bodies to POST /v1/principals: the
// answer is a coded 2xx or 4xx, never a 5xx, and only a 201 changes state.
func FuzzCreatePrincipalBody(f *testing.F) {
	for _, s := range []string{
		`{"name":"Ada","roles":["analyst"]}`, `{"name":"","roles":[]}`, `{}`, `[]`, `null`, `{"name":"a","roles":["analyst"],"x":1}`,
		`{"name":"\u0000","roles":["admin"]}`, `{"name":"a","roles":["analyst","analyst"]}`, `{"name":1e999}`, `"`,
		`{"name":"a","roles":["analyst"],"Roles":["admin"]}`, `{"name":"a","name":"b","roles":["analyst"]}`, `{"name":"a","roles":[{"x":1,"x":2}]}`,
		`{"name":"Ada \u202e","roles":["analyst"]}`, `{"name":"a","roles":["analyst"]} `,
	} {
		f.Add([]byte(s))
	}
	e := ombudtest.New(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		before := snapshot(t, e)
		resp := e.Do(t, "POST", "/v1/principals", e.AdminToken, "application/json", string(body))
		io.Copy(io.Discard, resp.Body)
		after := snapshot(t, e)
		switch {
		case resp.StatusCode == 201:
			if after.principals != before.principals+1 {
				t.Fatalf("201 but %d → %d principals", before.principals, after.principals)
			}
		case resp.StatusCode >= 400 && resp.StatusCode < 500:
			if after != before {
				t.Fatalf("%d changed state: %+v → %+v", resp.StatusCode, before, after)
			}
		default:
			t.Fatalf("status %d for %q", resp.StatusCode, body)
		}
	})
}

// FuzzStartRunBody sends arbitrary bodies to POST /v1/runs as an analyst:
// the answer is a 201 or a coded 4xx, never a 5xx; a 400 or 413 (bad
// input) logs nothing, and any other answer carries its receipt.
func FuzzStartRunBody(f *testing.F) {
	for _, s := range []string{
		`{"system":"s","version":"2.0","purpose":"criminal_investigation","objects":["abcdefabcdefabcd"]}`, `{}`, `[]`, `null`,
		`{"system":"s","version":"2.0","purpose":"criminal_investigation","selection":{"class":"general","subject":"plate:X"}}`,
		`{"system":"s","version":"2.0","purpose":"criminal_investigation","objects":["a","a"]}`, `{"objects":[1]}`,
		`{"system":"s","version":"../../x","purpose":"criminal_investigation","objects":["abcdefabcdefabcd"]}`,
		`{"system":"s","version":"2.0","purpose":"criminal_investigation","objects":[],"selection":null}`,
	} {
		f.Add([]byte(s))
	}
	e := ombudtest.New(f)
	analyst := e.AddPrincipal(f, "Ada", ombud.RoleAnalyst)
	f.Fuzz(func(t *testing.T, body []byte) {
		before := e.Size(t)
		resp := e.Do(t, "POST", "/v1/runs", analyst, "application/json", string(body))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == 400 || resp.StatusCode == 413 || resp.StatusCode == 415:
			if e.Size(t) != before {
				t.Fatalf("bad input (%d) logged something: %q", resp.StatusCode, body)
			}
		case resp.StatusCode == 201 || (resp.StatusCode > 400 && resp.StatusCode < 500):
			if resp.Header.Get("Ombud-Receipt") == "" {
				t.Fatalf("%d without a receipt: %q", resp.StatusCode, body)
			}
		default:
			t.Fatalf("status %d for %q", resp.StatusCode, body)
		}
	})
}

// FuzzCreateFlagBody: any body posted to /v1/flags is answered with a
// status and never a 500; bad input and refusals log nothing, and the
// raw candidate identifiers never reach the log.
func FuzzCreateFlagBody(f *testing.F) {
	e := ombudtest.New(f)
	analyst := e.AddPrincipal(f, "Ada", ombud.RoleAnalyst)
	run := "abcdefabcdefabcd"
	for _, s := range []string{
		`{"run":"` + run + `","inputs":["abcdefabcdefabcd"],"candidates":["person:4711"],"rank":1,"score":0.9,"threshold":0.8,"reference_db":"watchlist","gallery_size":10}`,
		`{}`, `[]`, `null`, `{"rank":-1}`, `{"score":"NaN"}`, `{"inputs":["a","a"],"candidates":[]}`, `{"matched_at":"0001-01-01T00:00:00Z"}`,
		`{"run":"x","inputs":["y"],"candidates":["z"],"references":["y"],"rank":1,"reference_db":"Bob's list"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		before := e.Size(t)
		resp := e.Do(t, "POST", "/v1/flags", analyst, "application/json", string(body))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 || resp.StatusCode == 201 {
			t.Fatalf("status %d for %q", resp.StatusCode, body)
		}
		if e.Size(t) != before {
			t.Fatalf("a refused flag (%d) logged something: %q", resp.StatusCode, body)
		}
	})
}
