package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/ombudtest"
)

// post sends a form with the given headers and cookie.
func post(t *testing.T, u string, v url.Values, cookie string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "POST", u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != "" {
		req.Header.Set("Cookie", "__Host-ombud-review="+cookie)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// signIn signs token in and returns the session cookie's value.
func signIn(t *testing.T, e *ombudtest.Env, token string) string {
	t.Helper()
	resp, body := post(t, e.URL+"/review/signin", url.Values{"token": {token}}, "", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-ombud-review" {
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || len(c.Value) < 40 {
				t.Fatalf("the session cookie: %+v", c)
			}
			return c.Value
		}
	}
	t.Fatal("sign-in set no session cookie")
	return ""
}

// viewInputs views every input of flag on the evidence pages, as a
// confirmation needs.
func viewInputs(t *testing.T, e *ombudtest.Env, cookie, flag string) {
	t.Helper()
	f, err := e.Gateway.Store.Flag(t.Context(), flag)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range f.Inputs {
		req, _ := http.NewRequest("GET", e.URL+"/review/flags/"+flag+"/evidence/"+in, nil)
		req.Header.Set("Cookie", "__Host-ombud-review="+cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("viewing input %s: %d", in, resp.StatusCode)
		}
	}
}

// csrfOf reads the queue's CSRF token.
func csrfOf(t *testing.T, e *ombudtest.Env, cookie string) string {
	t.Helper()
	return csrfAt(t, e, cookie, "/review")
}

// csrfAt reads the CSRF token of the staff page at path.
func csrfAt(t *testing.T, e *ombudtest.Env, cookie, path string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", e.URL+path, nil)
	req.Header.Set("Cookie", "__Host-ombud-review="+cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, rest, ok := strings.Cut(string(b), `name="csrf" value="`)
	if !ok {
		t.Fatalf("no CSRF token on %s: %s", path, b)
	}
	tok, _, _ := strings.Cut(rest, `"`)
	return tok
}

// TestReviewPagesRefuse: the reviewer pages refuse what they must, and log
// nothing for it: a token that is not a reviewer's, a post without the
// session's CSRF token or from another site, no session, a disabled
// reviewer's session, a HEAD on evidence, an oversized form.
func TestReviewPagesRefuse(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	s := newMatchScenario(t, e, 1)
	flag := s.flags[0]
	r1 := e.AddPrincipal(t, "Rey", ombud.RoleReviewer)
	analyst := e.AddPrincipal(t, "Ana", ombud.RoleAnalyst)
	cookie := signIn(t, e, r1)
	csrf := csrfOf(t, e, cookie)
	review := url.Values{"verdict": {"confirm"}, "rationale": {"agree"}}
	withCSRF := func(v url.Values, tok string) url.Values {
		out := url.Values{"csrf": {tok}}
		for k, vs := range v {
			out[k] = vs
		}
		return out
	}
	path := e.URL + "/review/flags/" + flag + "/reviews"
	// An unknown session differs from the real one in its first letter
	// (which is random: "x" would be the real one once in 64 runs).
	other := "x"
	if cookie[0] == 'x' {
		other = "y"
	}
	before := e.Size(t)
	for _, tc := range []struct {
		name   string
		url    string
		form   url.Values
		cookie string
		hdr    map[string]string
		status int
	}{
		{"an analyst's token", e.URL + "/review/signin", url.Values{"token": {analyst}}, "", nil, 401},
		{"a wrong token", e.URL + "/review/signin", url.Values{"token": {"ombud_x"}}, "", nil, 401},
		{"a sign-in from another site", e.URL + "/review/signin", url.Values{"token": {r1}}, "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 400},
		{"no CSRF token", path, review, cookie, nil, 403},
		{"a wrong CSRF token", path, withCSRF(review, strings.Repeat("A", len(csrf))), cookie, nil, 403},
		{"another site", path, withCSRF(review, csrf), cookie, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"another origin", path, withCSRF(review, csrf), cookie, map[string]string{"Origin": "https://evil.example"}, 403},
		{"no session", path, withCSRF(review, csrf), "", nil, 401},
		{"an unknown session", path, withCSRF(review, csrf), other + cookie[1:], nil, 401},
		{"an oversized form", path, withCSRF(url.Values{"verdict": {"confirm"}, "rationale": {strings.Repeat("a", 20000)}}, csrf), cookie, nil, 400},
		{"a verdict not in the list", path, withCSRF(url.Values{"verdict": {"maybe"}, "rationale": {"x"}}, csrf), cookie, nil, 400},
	} {
		resp, body := post(t, tc.url, tc.form, tc.cookie, tc.hdr)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d: %.300s", tc.name, resp.StatusCode, tc.status, body)
		}
	}
	if e.Size(t) != before {
		t.Fatalf("refused posts logged %d entries", e.Size(t)-before)
	}
	// HEAD on evidence decides nothing.
	req, _ := http.NewRequest("HEAD", e.URL+"/review/flags/"+flag+"/evidence/"+s.input, nil)
	req.Header.Set("Cookie", "__Host-ombud-review="+cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || e.Size(t) != before {
		t.Fatalf("HEAD on evidence: %d, %d entries", resp.StatusCode, e.Size(t)-before)
	}
	// The same post with the token goes through, once the reviewer has
	// viewed the flag's input.
	viewInputs(t, e, cookie, flag)
	if resp, body := post(t, path, withCSRF(review, csrf), cookie, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "null"}); resp.StatusCode != 303 {
		t.Fatalf("a good review: %d %s", resp.StatusCode, body)
	}
	// A disabled reviewer's session ends at once.
	id := e.Principal(t, r1).ID
	if _, err := e.Custody.DisablePrincipal(context.Background(), id, e.AdminID); err != nil {
		t.Fatal(err)
	}
	if resp, _ := post(t, e.URL+"/review/signout", url.Values{"csrf": {csrf}}, cookie, nil); resp.StatusCode != 401 {
		t.Fatalf("a disabled reviewer's session: %d", resp.StatusCode)
	}
}

// TestContestPageRefuses: wrong codes all look the same and are limited
// per client; an oversized statement is refused; nothing is logged.
func TestContestPageRefuses(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	before := e.Size(t)
	resp, _ := post(t, e.URL+"/contest", url.Values{"do": {"file"}, "code": {"1111-1111-1111-1111"}, "statement": {strings.Repeat("x", 20000)}}, "", nil)
	if resp.StatusCode != 400 {
		t.Fatalf("an oversized statement: %d", resp.StatusCode)
	}
	var first string
	for i := range 10 {
		code := []string{"0000-0000-0000-0000", "ZZZZ-ZZZZ-ZZZZ-ZZZZ", "not a code", ""}[i%4]
		resp, body := post(t, e.URL+"/contest", url.Values{"do": {"status"}, "code": {code}}, "", nil)
		if resp.StatusCode != 404 {
			t.Fatalf("wrong code %q: %d", code, resp.StatusCode)
		}
		_, msg, _ := strings.Cut(body, `role="alert">`)
		msg, _, _ = strings.Cut(msg, "<")
		if first == "" {
			first = msg
		} else if msg != first {
			t.Fatalf("wrong codes answered differently: %q and %q", first, msg)
		}
	}
	resp, _ = post(t, e.URL+"/contest", url.Values{"do": {"status"}, "code": {"1111-1111-1111-1111"}}, "", nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("the eleventh wrong code: %d", resp.StatusCode)
	}
	if e.Size(t) != before {
		t.Fatalf("wrong codes logged %d entries", e.Size(t)-before)
	}
}

// TestContestLimitAtOnce: wrong codes sent at once pass the limit no more
// than one at a time would.
func TestContestLimitAtOnce(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	codes := make(chan int, 20)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := post(t, e.URL+"/contest", url.Values{"do": {"status"}, "code": {"0000-0000-0000-0000"}}, "", nil)
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[404] != 10 || n[429] != 10 {
		t.Fatalf("20 wrong codes at once: %v, want 10 answered and 10 limited", n)
	}
}

// TestContestLimitBehindProxy: behind a trusted proxy, the limit counts
// the client X-Forwarded-For names (the last address not a trusted
// proxy), so one client's wrong codes do not lock out another; what a
// client writes before that address changes nothing; and a connection
// that is not a trusted proxy cannot choose its address.
func TestContestLimitBehindProxy(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t, ombudtest.Config(func(c *datadir.Config) { c.Server.TrustedProxies = []string{"127.0.0.1"} }))
	wrong := func(xff string) int {
		resp, _ := post(t, e.URL+"/contest", url.Values{"do": {"status"}, "code": {"0000-0000-0000-0000"}}, "", map[string]string{"X-Forwarded-For": xff})
		return resp.StatusCode
	}
	for i := range 10 {
		// The client forges a different first hop each time.
		if c := wrong(fmt.Sprintf("198.51.100.%d, 203.0.113.5", i)); c != 404 {
			t.Fatalf("wrong code %d: %d", i, c)
		}
	}
	if c := wrong("198.51.100.99, 203.0.113.5"); c != 429 {
		t.Fatalf("the client's eleventh wrong code: %d", c)
	}
	if c := wrong("203.0.113.6"); c != 404 {
		t.Fatalf("another client behind the proxy: %d", c)
	}
	// Without a trusted proxy, the header is not believed.
	e2 := ombudtest.New(t)
	for i := range 10 {
		resp, _ := post(t, e2.URL+"/contest", url.Values{"do": {"status"}, "code": {"0000-0000-0000-0000"}}, "", map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i)})
		resp.Body.Close()
	}
	resp, _ := post(t, e2.URL+"/contest", url.Values{"do": {"status"}, "code": {"0000-0000-0000-0000"}}, "", map[string]string{"X-Forwarded-For": "203.0.113.200"})
	if resp.StatusCode != 429 {
		t.Fatalf("a forged X-Forwarded-For from an untrusted connection: %d", resp.StatusCode)
	}
}
