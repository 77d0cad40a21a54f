package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
)

func ageRecipient(t *testing.T) string {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id.Recipient().String()
}

// TestRecipientsRegistry: a recipient is registered, listed and retired,
// each change logged as a recipient entry that names it by a pseudonym,
// with its name only in the detail record; the wrong role, bad input, a
// second registration of a name or a key and a second retirement are
// refused and log nothing, also when asked twice at once.
func TestRecipientsRegistry(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	analyst := e.AddPrincipal(t, "Ada", ombud.RoleAnalyst)
	auditor := e.AddPrincipal(t, "Aud", ombud.RoleAuditor)
	ingestor := e.AddPrincipal(t, "Ing", ombud.RoleIngestor)
	const js = "application/json"
	const name = "Police nationale, unité 12"
	key := ageRecipient(t)
	body := fmt.Sprintf(`{"name":%q,"category":"foreign_authority","jurisdiction":"EU-FR","key":%q}`, name, key)
	before := e.Size(t)
	for _, tc := range []struct {
		name, token, body string
		status            int
		code              ombud.Code
	}{
		{"analyst", analyst, body, 403, ombud.CodeForbidden},
		{"auditor", auditor, body, 403, ombud.CodeForbidden},
		{"no token", "", body, 401, ombud.CodeUnauthenticated},
		{"no name", e.AdminToken, replace(body, fmt.Sprintf("%q", name), `""`), 400, ombud.CodeInvalid},
		{"a name on two lines", e.AdminToken, replace(body, fmt.Sprintf("%q", name), `"Police\nnationale"`), 400, ombud.CodeInvalid},
		{"a name with a bidirectional override", e.AdminToken, replace(body, fmt.Sprintf("%q", name), `"Police \u202enationale"`), 400, ombud.CodeInvalid},
		{"a name with a C1 control", e.AdminToken, replace(body, fmt.Sprintf("%q", name), `"Police\u0085nationale"`), 400, ombud.CodeInvalid},
		{"a name with a line separator", e.AdminToken, replace(body, fmt.Sprintf("%q", name), `"Police\u2028nationale"`), 400, ombud.CodeInvalid},
		{"a name ending in a space", e.AdminToken, replace(body, fmt.Sprintf("%q", name), `"Police nationale "`), 400, ombud.CodeInvalid},
		{"a long name", e.AdminToken, replace(body, fmt.Sprintf("%q", name), fmt.Sprintf("%q", strings.Repeat("n", 257))), 400, ombud.CodeInvalid},
		{"unknown category", e.AdminToken, replace(body, `"foreign_authority"`, `"friends"`), 400, ombud.CodeInvalid},
		{"a name as category", e.AdminToken, replace(body, `"foreign_authority"`, `"Police nationale"`), 400, ombud.CodeInvalid},
		{"unknown jurisdiction", e.AdminToken, replace(body, `"EU-FR"`, `"XX-YY"`), 400, ombud.CodeInvalid},
		{"the placeholder jurisdiction", e.AdminToken, replace(body, `"EU-FR"`, `"ZZ"`), 400, ombud.CodeInvalid},
		{"no key", e.AdminToken, replace(body, fmt.Sprintf("%q", key), `""`), 400, ombud.CodeInvalid},
		{"an ssh key", e.AdminToken, replace(body, fmt.Sprintf("%q", key), `"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"`), 400, ombud.CodeInvalid},
		{"a secret key", e.AdminToken, replace(body, fmt.Sprintf("%q", key), `"AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQSJSR6G"`), 400, ombud.CodeInvalid},
		{"a damaged key", e.AdminToken, replace(body, fmt.Sprintf("%q", key), fmt.Sprintf("%q", damaged(key))), 400, ombud.CodeInvalid},
		{"unknown field", e.AdminToken, replace(body, `"key":`, `"email":"x@y.example","key":`), 400, ombud.CodeUnknownField},
		{"not JSON", e.AdminToken, `name=x`, 400, ombud.CodeMalformedJSON},
	} {
		resp := e.Do(t, "POST", "/v1/recipients", tc.token, js, tc.body)
		if b := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != tc.status || b.Error.Code != tc.code {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, resp.StatusCode, b.Error, tc.status, tc.code)
		} else if strings.Contains(b.Error.Message, "nationale") {
			t.Errorf("%s: the error repeats the private name: %s", tc.name, b.Error.Message)
		}
	}
	if e.Size(t) != before {
		t.Fatal("a refused registration logged something")
	}
	// Two registrations of one name at once: one is logged, one refused.
	var wg sync.WaitGroup
	codes := make([]int, 2)
	var done apiv1.RecipientDone
	for i := range codes {
		wg.Go(func() {
			resp := e.Do(t, "POST", "/v1/recipients", e.AdminToken, js, body)
			codes[i] = resp.StatusCode
			if resp.StatusCode == 201 {
				done = decode[apiv1.RecipientDone](t, resp)
			} else {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if codes[0]+codes[1] != 201+409 || done.ID == "" || done.Receipt == 0 {
		t.Fatalf("two registrations of one name: %v, %+v", codes, done)
	}
	// In QuorumMode the second request is proposed too, unless the first
	// was registered before it was tried (then it is refused directly).
	if got := e.Size(t); got != before+1+ombudtest.ApprovalEntries(2) && got != before+1+ombudtest.ApprovalEntries(1) {
		t.Fatalf("%d entries for one registration", e.Size(t)-before)
	}
	// Another name with the same key: refused, the key is one recipient's.
	resp := e.Do(t, "POST", "/v1/recipients", e.AdminToken, js, replace(body, fmt.Sprintf("%q", name), `"District court 3"`))
	if b := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != 409 || b.Error.Code != ombud.CodeConflict {
		t.Fatalf("a second recipient with the key: %d %+v", resp.StatusCode, b.Error)
	}
	// The entry: category, jurisdiction and a pseudonym; the name only in
	// the detail record.
	e.AwaitSize(t, e.Size(t))
	leaf := e.Entry(t, done.Receipt)
	raw, _ := leaf.Marshal()
	if bytes.Contains(raw, []byte("nationale")) || bytes.Contains(raw, []byte(done.ID)) || bytes.Contains(raw, []byte(key)) {
		t.Fatalf("the public entry holds the name, the id or the key: %s", raw)
	}
	b, err := leaf.Body()
	rb, ok := b.(*entry.Recipient)
	if err != nil || !ok || rb.Op != entry.OpRegister || rb.RecipientCategory != "foreign_authority" || rb.Jurisdiction != "EU-FR" || !entry.IsPseudonym(rb.Recipient) || leaf.Detail == "" {
		t.Fatalf("the registration's entry: %s (%v)", raw, err)
	}
	// Listed, with its name, for the admin, the auditor and the analyst;
	// not for others, nor without a token.
	for _, tok := range []string{e.AdminToken, auditor, analyst} {
		resp := e.Do(t, "GET", "/v1/recipients", tok, "", "")
		list := decode[apiv1.Recipients](t, resp)
		if resp.StatusCode != 200 || len(list.Recipients) != 1 || list.Recipients[0].ID != done.ID || list.Recipients[0].Name != name ||
			list.Recipients[0].Key != key || list.Recipients[0].Receipt != done.Receipt || list.Recipients[0].Retired != nil {
			t.Fatalf("the list: %d %+v", resp.StatusCode, list)
		}
	}
	for _, tok := range []string{ingestor, ""} {
		resp := e.Do(t, "GET", "/v1/recipients", tok, "", "")
		resp.Body.Close()
		if resp.StatusCode != 403 && resp.StatusCode != 401 {
			t.Fatalf("the list without the role: %d", resp.StatusCode)
		}
	}
	// Retired twice at once: one retirement, logged; the other refused.
	before = e.Size(t)
	for i := range codes {
		wg.Go(func() {
			resp := e.Do(t, "POST", "/v1/recipients/"+done.ID+"/retire", e.AdminToken, "", "")
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	if codes[0]+codes[1] != 200+409 || e.Size(t) != before+1 {
		t.Fatalf("two retirements at once: %v, %d entries", codes, e.Size(t)-before)
	}
	for _, tc := range []struct {
		path, token, body string
		status            int
	}{
		{"/v1/recipients/" + done.ID + "/retire", e.AdminToken, "", 409},
		{"/v1/recipients/nosuchrecipient0/retire", e.AdminToken, "", 404},
		{"/v1/recipients/" + done.ID + "/retire", analyst, "", 403},
		{"/v1/recipients/" + done.ID + "/retire", e.AdminToken, `{"reason":"x"}`, 400},
	} {
		resp := e.Do(t, "POST", tc.path, tc.token, js, tc.body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("POST %s: %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
	}
	if e.Size(t) != before+1 {
		t.Fatal("a refused retirement logged something")
	}
	resp = e.Do(t, "GET", "/v1/recipients", e.AdminToken, "", "")
	var list apiv1.Recipients
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Recipients) != 1 || list.Recipients[0].Retired == nil || list.Recipients[0].RetireReceipt == 0 {
		t.Fatalf("after the retirement: %+v, %v", list, err)
	}
	resp.Body.Close()
	e.AwaitSize(t, e.Size(t))
	if rb, ok := e.EntryAt(t, list.Recipients[0].RetireReceipt).(*entry.Recipient); !ok || rb.Op != entry.OpRetire || rb.RecipientCategory != "foreign_authority" {
		t.Fatalf("the retirement's entry: %+v", e.EntryAt(t, list.Recipients[0].RetireReceipt))
	}
}

// damaged changes a key's last character (its checksum's), to another.
func damaged(key string) string {
	last := "q"
	if strings.HasSuffix(key, last) {
		last = "p"
	}
	return key[:len(key)-1] + last
}
