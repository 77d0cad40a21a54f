package access_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/reason"
	"github.com/ombud/ombud/vocab"
)

var ctx = context.Background()

type issuer struct {
	signer note.Signer
	vkey   string
}

func newIssuer(t *testing.T, name string) issuer {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	return issuer{s, vkey}
}

func (i issuer) sign(t *testing.T, a ombud.Authorization) []byte {
	a.Issuer = i.signer.Name()
	msg, err := note.Sign(&note.Note{Text: a.Text()}, i.signer)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func baseAuth(id string) ombud.Authorization {
	now := time.Now().UTC().Truncate(time.Second)
	return ombud.Authorization{ID: id, Kind: "court_order", Case: "3 Gs 117/26 Müller", Purposes: []string{"criminal_investigation"},
		Classes: []string{"location"}, Subjects: []string{"plate:B-XY-123"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		MaxUses: 5, Jurisdiction: "EU-DE"}
}

// registeredCourt makes a court key pair and registers the court as an
// issuer.
func registeredCourt(t *testing.T, e *ombudtest.Env) issuer {
	t.Helper()
	court := newIssuer(t, "court.example/district-3")
	if _, _, err := e.Custody.Access.RegisterIssuer(ctx, court.signer.Name(), "court", "EU-DE", court.vkey, e.AdminID); err != nil {
		t.Fatal(err)
	}
	return court
}

// authorizedObject registers a, signed by court, and ingests a location
// object of its first subject.
func authorizedObject(t *testing.T, e *ombudtest.Env, court issuer, a ombud.Authorization) *ombud.Object {
	t.Helper()
	if _, _, err := e.Custody.Access.RegisterAuthorization(ctx, court.sign(t, a), e.AdminID); err != nil {
		t.Fatal(err)
	}
	o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "location", Subjects: a.Subjects[:1], By: e.AdminID, Body: strings.NewReader("x")})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestDecisionMatrix runs every authorization state against principals,
// roles, classes and purposes; each cell asserts the decision, its reason
// code and that it was logged.
func TestDecisionMatrix(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	court := registeredCourt(t, e)
	rogue := newIssuer(t, "rogue.example/court")
	analyst := e.Principal(t, e.AddPrincipal(t, "Ada Analyst", ombud.RoleAnalyst))
	reviewer := e.Principal(t, e.AddPrincipal(t, "Rui Reviewer", ombud.RoleReviewer))
	put := func(class string, subjects ...string) *ombud.Object {
		o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: class, Subjects: subjects, By: e.AdminID, Body: strings.NewReader("payload " + class)})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	loc := put("location", "plate:B-XY-123")
	other := put("location", "plate:Z-ZZ-999")
	bio := put("biometric", "plate:B-XY-123")
	gen := put("general")

	register := func(a ombud.Authorization) {
		if _, _, err := e.Custody.Access.RegisterAuthorization(ctx, court.sign(t, a), e.AdminID); err != nil {
			t.Fatalf("register %s: %v", a.ID, err)
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	valid := baseAuth("valid")
	register(valid)
	expired := baseAuth("expired")
	expired.NotBefore, expired.NotAfter = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	register(expired)
	future := baseAuth("future")
	future.NotBefore, future.NotAfter = now.Add(24*time.Hour), now.Add(48*time.Hour)
	register(future)
	revoked := baseAuth("revoked")
	register(revoked)
	if _, err := e.Custody.Access.Revoke(ctx, "revoked", "order_quashed", e.AdminID); err != nil {
		t.Fatal(err)
	}
	exhausted := baseAuth("exhausted")
	exhausted.MaxUses = 1
	register(exhausted)
	if _, err := e.Custody.Read(ctx, custody.ReadRequest{ID: loc.ID, Purpose: "criminal_investigation", Principal: analyst, AuthorizationID: "exhausted"}); err != nil {
		t.Fatalf("first use of 'exhausted': %v", err)
	}
	// Registration refuses forged and unknown-issuer notes.
	forged := court.sign(t, baseAuth("forged"))
	forged = bytes.Replace(forged, []byte("max-uses: 5"), []byte("max-uses: 9"), 1)
	if _, _, err := e.Custody.Access.RegisterAuthorization(ctx, forged, e.AdminID); !errors.Is(err, ombud.ErrBadSignature) {
		t.Fatalf("forged note registered: %v", err)
	}
	if _, _, err := e.Custody.Access.RegisterAuthorization(ctx, rogue.sign(t, baseAuth("unknown")), e.AdminID); !errors.Is(err, ombud.ErrUnknownIssuer) {
		t.Fatalf("unknown issuer registered: %v", err)
	}

	type cell struct {
		name    string
		who     *ombud.Principal
		obj     *ombud.Object
		purpose string
		auth    string
		permit  bool
		reason  string
		code    ombud.Code
	}
	cells := []cell{
		{"valid", analyst, loc, "criminal_investigation", "valid", true, reason.AuthInScope, ""},
		{"expired", analyst, loc, "criminal_investigation", "expired", false, reason.AuthExpired, ombud.CodeForbidden},
		{"not yet valid", analyst, loc, "criminal_investigation", "future", false, reason.AuthNotYetValid, ombud.CodeForbidden},
		{"revoked", analyst, loc, "criminal_investigation", "revoked", false, reason.AuthRevoked, ombud.CodeForbidden},
		{"wrong purpose", analyst, loc, "audit_sample", "valid", false, reason.AuthPurpose, ombud.CodeForbidden},
		{"wrong class", analyst, bio, "criminal_investigation", "valid", false, reason.AuthClass, ombud.CodeForbidden},
		{"wrong subject", analyst, other, "criminal_investigation", "valid", false, reason.AuthSubject, ombud.CodeForbidden},
		{"exhausted", analyst, loc, "criminal_investigation", "exhausted", false, reason.AuthExhausted, ombud.CodeForbidden},
		{"forged signature", analyst, loc, "criminal_investigation", "forged", false, reason.AuthUnknown, ombud.CodeForbidden},
		{"unknown issuer", analyst, loc, "criminal_investigation", "unknown", false, reason.AuthUnknown, ombud.CodeForbidden},
		{"sensitive without authorization", analyst, loc, "criminal_investigation", "", false, reason.AuthMissing, ombud.CodeForbidden},
		{"ordinary without authorization", analyst, gen, "audit_sample", "", true, "ordinary_class", ""},
		{"ordinary with a valid authorization", analyst, gen, "criminal_investigation", "valid", false, reason.AuthClass, ombud.CodeForbidden},
		{"reviewer role, valid authorization", reviewer, loc, "criminal_investigation", "valid", false, "policy_denied", ombud.CodeForbidden},
		{"reviewer role, ordinary class", reviewer, gen, "audit_sample", "", false, "policy_denied", ombud.CodeForbidden},
	}
	for _, c := range cells {
		t.Run(c.name, func(t *testing.T) {
			before := e.Size(t)
			rel, err := e.Custody.Read(ctx, custody.ReadRequest{ID: c.obj.ID, Purpose: c.purpose, Principal: c.who, AuthorizationID: c.auth})
			var index uint64
			if c.permit {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				b, _ := io.ReadAll(rel.Body)
				rel.Body.Close()
				if string(b) != "payload "+c.obj.Class {
					t.Fatalf("released %q", b)
				}
				index = rel.Index
			} else {
				var d *custody.Denial
				if !errors.As(err, &d) {
					t.Fatalf("want a logged denial, got %v", err)
				}
				if d.Reason != c.reason || d.Code != c.code {
					t.Fatalf("denied with %s/%s, want %s/%s", d.Reason, d.Code, c.reason, c.code)
				}
				index = d.Index
			}
			if index != before || e.Size(t) != before+1 {
				t.Fatalf("decision at %d, log %d → %d: not logged exactly once", index, before, e.Size(t))
			}
			e.AwaitSize(t, index+1)
			leaf, _ := e.Log.Entry(ctx, index, e.Size(t))
			en, err := entry.Parse(leaf)
			if err != nil {
				t.Fatal(err)
			}
			want := map[bool]string{true: "permit", false: "deny"}[c.permit]
			reasons, _ := en.Fields["reasons"].([]any)
			if en.Kind != entry.KindAccess || en.Fields["decision"] != want || len(reasons) != 1 || reasons[0] != c.reason || en.Fields["policy_sha256"] != e.Custody.Access.Policy().SHA {
				t.Fatalf("entry %s", leaf)
			}
		})
	}
}

// TestExactUseCounting: 64 concurrent readers against max-uses 10.
func TestExactUseCounting(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	a := baseAuth("ten")
	a.MaxUses = 10
	o := authorizedObject(t, e, registeredCourt(t, e), a)
	analyst := e.Principal(t, e.AddPrincipal(t, "Ada", ombud.RoleAnalyst))
	var wg sync.WaitGroup
	var mu sync.Mutex
	permits, denials := 0, 0
	uses := map[int]bool{}
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rel, err := e.Custody.Read(ctx, custody.ReadRequest{ID: o.ID, Purpose: "criminal_investigation", Principal: analyst, AuthorizationID: "ten"})
			mu.Lock()
			defer mu.Unlock()
			var d *custody.Denial
			switch {
			case err == nil:
				io.Copy(io.Discard, rel.Body)
				rel.Body.Close()
				permits++
			case errors.As(err, &d) && d.Reason == reason.AuthExhausted:
				denials++
			default:
				t.Errorf("unexpected: %v", err)
			}
		}()
	}
	wg.Wait()
	if permits != 10 || denials != 54 {
		t.Fatalf("%d permits and %d denials, want exactly 10 and 54", permits, denials)
	}
	ra, _ := e.Store.Authorization(ctx, "ten")
	if ra.Uses != 10 {
		t.Fatalf("uses recorded: %d", ra.Uses)
	}
	_ = uses
}

// TestNoIdentifiersInPublicTiles runs a scenario and greps every public
// file of the log for subject identifiers, principal names and case
// references.
func TestNoIdentifiersInPublicTiles(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	court := registeredCourt(t, e)
	a := baseAuth("auth-77")
	a.Subjects = []string{"plate:B-XY-123", "national-id:DE-L01X00T47"}
	a.Case = "4 KLs 501 Js 22/26"
	e.Custody.Access.RegisterAuthorization(ctx, court.sign(t, a), e.AdminID)
	analyst := e.Principal(t, e.AddPrincipal(t, "Adelheid Quarrington", ombud.RoleAnalyst))
	o, _, _ := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "location", Subjects: []string{"plate:B-XY-123"}, Source: "alpr-camera-Königsallee", By: e.AdminID, Body: strings.NewReader("x")})
	if rel, err := e.Custody.Read(ctx, custody.ReadRequest{ID: o.ID, Purpose: "criminal_investigation", Principal: analyst, AuthorizationID: "auth-77", Justification: "suspect Zebedee seen near the bank"}); err != nil {
		t.Fatal(err)
	} else {
		rel.Body.Close()
	}
	e.Custody.Read(ctx, custody.ReadRequest{ID: o.ID, Purpose: "criminal_investigation", Principal: analyst})
	e.Custody.Access.Revoke(ctx, "auth-77", "order_quashed", e.AdminID)
	e.Custody.Erase(ctx, custody.Order{Object: o.ID, Reason: ombud.EraseCourtOrder, Authorization: "4 KLs 501 Js 22/26", By: e.AdminID})
	e.AwaitSize(t, e.Size(t))
	secrets := []string{"B-XY-123", "DE-L01X00T47", "4 KLs 501", "Adelheid", "Quarrington", "Königsallee", "Zebedee", o.ID, analyst.ID, "auth-77"}
	n := 0
	filepath.Walk(e.Log.Dir(), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || strings.Contains(p, ".state") {
			return nil
		}
		n++
		b, _ := os.ReadFile(p)
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains %q", p, s)
			}
		}
		return nil
	})
	if n < 3 {
		t.Fatalf("only %d public files checked", n)
	}
	fmt.Fprint(io.Discard, n)
}

func TestEmergencyAccess(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	e.Custody.Now, e.Custody.Access.Now = clock, clock
	// Allow emergency reads of location data, and load the change.
	policy := strings.Replace(string(e.Custody.Access.Policy().Text), "// @id(\"read-emergency-location\")\n// permit (principal, action == Action::\"read\", resource)\n// when {",
		"@id(\"read-emergency-location\")\npermit (principal, action == Action::\"read\", resource)\nwhen {", 1)
	if !strings.Contains(policy, "\n@id(\"read-emergency-location\")") {
		t.Fatal("could not enable the emergency rule")
	}
	if err := os.WriteFile(e.Dir.PolicyPath(), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, changed, err := e.Custody.Access.LoadPolicy(ctx, e.AdminID); err != nil || !changed || v != 2 {
		t.Fatalf("LoadPolicy = %d %v %v", v, changed, err)
	}
	court := registeredCourt(t, e)
	analystToken := e.AddPrincipal(t, "Ada", ombud.RoleAnalyst)
	analyst := e.Principal(t, analystToken)
	put := func(subject string) *ombud.Object {
		o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "location", Subjects: []string{subject}, By: e.AdminID, Body: strings.NewReader("where " + subject + " was")})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	covered, uncovered, bio := put("plate:A-AA-1"), put("plate:B-BB-2"), put("plate:C-CC-3")
	var uncoveredIndex uint64
	readEmergency := func(o *ombud.Object) error {
		rel, err := e.Custody.Read(ctx, custody.ReadRequest{ID: o.ID, Purpose: "missing_person", Principal: analyst, Emergency: "missing_person"})
		if err == nil {
			if o == uncovered {
				uncoveredIndex = rel.Index
			}
			io.Copy(io.Discard, rel.Body)
			rel.Body.Close()
		}
		return err
	}
	if err := readEmergency(covered); err != nil {
		t.Fatalf("emergency read: %v", err)
	}
	if err := readEmergency(uncovered); err != nil {
		t.Fatalf("emergency read: %v", err)
	}
	// Emergency reads are not allowed for other classes.
	o2, _, _ := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "biometric", Subjects: []string{"person:9"}, By: e.AdminID, Body: strings.NewReader("x")})
	var d *custody.Denial
	if _, err := e.Custody.Read(ctx, custody.ReadRequest{ID: o2.ID, Purpose: "missing_person", Principal: analyst, Emergency: "missing_person"}); !errors.As(err, &d) || d.Reason != "policy_denied" {
		t.Fatalf("emergency read of biometric data: %v", err)
	}
	_ = bio
	// A day later a court covers the first read, retroactively.
	now = now.Add(24 * time.Hour)
	a := baseAuth("emergency-cover")
	a.Kind, a.Purposes, a.Subjects = "emergency", []string{"missing_person"}, []string{"plate:A-AA-1"}
	a.NotBefore = now.Add(-48 * time.Hour)
	if _, _, err := e.Custody.Access.RegisterAuthorization(ctx, court.sign(t, a), e.AdminID); err != nil {
		t.Fatal(err)
	}
	// Past the deadline, the sweep logs a breach for the uncovered read and
	// suspends the reader's emergency access; no object is erased (the
	// source record is evidence, and erasing it would let a low-privilege
	// principal destroy it).
	now = now.Add(25 * time.Hour)
	before := e.Size(t)
	res, err := e.Custody.Sweep(ctx)
	if err != nil || res.Breaches != 1 || res.Erased != 0 {
		t.Fatalf("Sweep = %+v, %v", res, err)
	}
	for _, o := range []*ombud.Object{covered, uncovered} {
		if got, _ := e.Store.Object(ctx, o.ID); got.Erased != nil {
			t.Fatalf("an emergency read led to an erasure: %+v", got.Erased)
		}
	}
	e.AwaitSize(t, e.Size(t))
	found := false
	for i := before; i < e.Size(t); i++ {
		leaf, _ := e.Log.Entry(ctx, i, e.Size(t))
		en, _ := entry.Parse(leaf)
		found = found || en.Kind == entry.KindBreach
		if en.Kind == entry.KindErase {
			t.Fatalf("an erase entry after an uncovered emergency read: %+v", en)
		}
	}
	if !found {
		t.Fatal("no breach entry logged")
	}
	if res, _ := e.Custody.Sweep(ctx); res.Breaches != 0 {
		t.Fatal("breach logged twice")
	}
	// The status page shows it, and that no deletion is attested yet.
	status := func() string {
		return string(ombudtest.Get(t, e.URL+"/status"))
	}
	if page := status(); !strings.Contains(page, "1 emergency read was not covered") || !strings.Contains(page, "Not yet") {
		t.Fatalf("the status page does not show the breach:\n%s", page)
	}
	// The reader's emergency access is suspended until an admin restores it.
	analyst = e.Principal(t, analystToken)
	if analyst.EmergencySuspended == 0 {
		t.Fatal("the breach did not suspend the reader's emergency access")
	}
	if err := readEmergency(bio); !errors.As(err, &d) || d.Reason != reason.EmergencySuspended {
		t.Fatalf("an emergency read while suspended: %v", err)
	}
	if _, err := e.Custody.RestoreEmergency(ctx, analyst.ID, e.AdminID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Custody.RestoreEmergency(ctx, analyst.ID, e.AdminID); ombud.ErrorCode(err) != ombud.CodeConflict {
		t.Fatalf("restoring twice: %v", err)
	}
	analyst = e.Principal(t, analystToken)
	if err := readEmergency(bio); err != nil {
		t.Fatalf("an emergency read after the restoration: %v", err)
	}
	// The controller attests the deletion of the data derived from the
	// uncovered read; once.
	es, _ := e.Store.Emergency(ctx, uncoveredIndex)
	if es == nil || es.BreachIndex == 0 {
		t.Fatalf("the uncovered read's breach is not recorded: %+v", es)
	}
	w, err := e.Custody.Attest(ctx, uncoveredIndex, "analysis copies on the case share deleted", e.AdminID)
	if err != nil {
		t.Fatal(err)
	}
	if en := e.Entry(t, w.Index); en.Kind != entry.KindAttestation {
		t.Fatalf("attestation entry: %+v", en)
	}
	if page := status(); !strings.Contains(page, fmt.Sprintf("<span class=\"ok\">Yes</span>, entry %d", w.Index)) {
		t.Fatalf("the status page does not show the attestation:\n%s", page)
	}
	if _, err := e.Custody.Attest(ctx, uncoveredIndex, "again", e.AdminID); ombud.ErrorCode(err) != ombud.CodeConflict {
		t.Fatalf("attesting twice: %v", err)
	}
	if _, err := e.Custody.Attest(ctx, 999999, "none", e.AdminID); ombud.ErrorCode(err) != ombud.CodeNotFound {
		t.Fatalf("attesting a read that never was: %v", err)
	}
}

// TestTwoGatewaysNeverExceedMaxUses: uses are admitted in memory per
// gateway, but the store's conditional update stays the authority, so two
// gateways sharing one store never release more than max-uses reads.
func TestTwoGatewaysNeverExceedMaxUses(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	a := baseAuth("three")
	a.MaxUses = 3
	o := authorizedObject(t, e, registeredCourt(t, e), a)
	analyst := e.Principal(t, e.AddPrincipal(t, "Ada", ombud.RoleAnalyst))
	// A second gateway: same store, log and blobs; its own access service.
	acc1 := e.Custody.Access
	acc2, err := access.New(access.Config{Store: e.Store, Journal: e.Journal, PolicyPath: e.Dir.PolicyPath(), Jurisdiction: acc1.Jurisdiction,
		IssuerKinds: acc1.IssuerKinds, Vocabulary: acc1.Vocabulary, Classes: acc1.Classes})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := acc2.LoadPolicy(ctx, ""); err != nil {
		t.Fatal(err)
	}
	c := e.Custody
	g2, err := custody.New(custody.Config{Store: c.Store, Journal: c.Journal, Log: c.Log, Bucket: c.Bucket, Keys: c.Keys, Access: acc2, Classes: c.Classes, Vocabulary: c.Vocabulary})
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Close(ctx)
	read := func(g *custody.Service) error {
		rel, err := g.Read(ctx, custody.ReadRequest{ID: o.ID, Purpose: "criminal_investigation", Principal: analyst, AuthorizationID: "three"})
		if err == nil {
			io.Copy(io.Discard, rel.Body)
			rel.Body.Close()
		}
		return err
	}
	released := 0
	for _, g := range []*custody.Service{g2, e.Custody, e.Custody, g2, g2, e.Custody} {
		if read(g) == nil {
			released++
		}
	}
	if released != 3 {
		t.Fatalf("%d reads released, want exactly 3", released)
	}
	if ra, _ := e.Store.Authorization(ctx, "three"); ra.Uses != 3 {
		t.Fatalf("uses recorded: %d", ra.Uses)
	}
}

// TestEmergencyHeaderOnOrdinaryClass: an emergency header on a read that
// needs no authorization is an ordinary read, never queued for erasure.
func TestEmergencyHeaderOnOrdinaryClass(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	analyst := e.Principal(t, e.AddPrincipal(t, "Ada", ombud.RoleAnalyst))
	o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "general", By: e.AdminID, Body: strings.NewReader("x")})
	if err != nil {
		t.Fatal(err)
	}
	rel, err := e.Custody.Read(ctx, custody.ReadRequest{ID: o.ID, Purpose: "audit_sample", Principal: analyst, Emergency: "imminent_threat"})
	if err != nil {
		t.Fatal(err)
	}
	rel.Body.Close()
	if es, _ := e.Store.OpenEmergencies(ctx); len(es) != 0 {
		t.Fatalf("an ordinary read was recorded as an emergency: %+v", es[0])
	}
}

// TestIssuerScope: an issuer signs only within its jurisdiction and only
// the kinds its own kind may sign; a deployment without a jurisdiction
// (the placeholder) honours no real authorization; a wildcard subject is
// visible to Cedar and refused by the default policy on sensitive classes;
// 256 subjects register.
func TestIssuerScope(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	reg := func(name, kind, jur string) *ombudtest.Issuer {
		i := ombudtest.NewIssuer(t, name)
		if _, _, err := e.Custody.Access.RegisterIssuer(ctx, name, kind, jur, i.VKey, e.AdminID); err != nil {
			t.Fatal(err)
		}
		return i
	}
	supervisor := reg("dpa.example/ca", "supervisory", "US-CA")
	court := reg("court.example/eu", "court", "EU")
	before := e.Size(t)
	for _, c := range []struct {
		name string
		by   *ombudtest.Issuer
		edit func(*ombud.Authorization)
		want string
	}{
		{"a supervisory body signs a warrant", supervisor, func(a *ombud.Authorization) { a.Kind, a.Jurisdiction = "warrant", "US-CA" }, "may not sign a warrant"},
		{"outside the issuer's jurisdiction", supervisor, func(a *ombud.Authorization) { a.Kind = "administrative_order" }, "does not cover the authorization's EU-DE"},
		{"an unregistered jurisdiction", court, func(a *ombud.Authorization) { a.Jurisdiction = "EU-XX" }, "not a registered jurisdiction code"},
		{"an unregistered purpose", court, func(a *ombud.Authorization) { a.Purposes = []string{"marketing"} }, "not a registered purpose code"},
		{"an unconfigured class", court, func(a *ombud.Authorization) { a.Classes = []string{"secrets"} }, "not configured"},
	} {
		a := ombudtest.Authorization("scope-"+ombud.NewID(), 3)
		c.edit(&a)
		_, _, err := e.Custody.Access.RegisterAuthorization(ctx, c.by.Sign(t, a), e.AdminID)
		if ombud.ErrorCode(err) != ombud.CodeInvalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want invalid_argument saying %q", c.name, err, c.want)
		}
	}
	if e.Size(t) != before {
		t.Fatal("a refused registration was logged")
	}
	// An EU court may sign for EU-DE; 256 subjects register.
	a := ombudtest.Authorization("wide-list", 3)
	for i := len(a.Subjects); i < 256; i++ {
		a.Subjects = append(a.Subjects, fmt.Sprint("plate:", i))
	}
	e.Authorize(t, court, a)
	o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "location", Subjects: []string{"plate:B-XY-123"}, By: e.AdminID, Body: strings.NewReader("x")})
	if err != nil {
		t.Fatal(err)
	}
	analyst := e.Principal(t, e.AddPrincipal(t, "Ada", ombud.RoleAnalyst))
	read := func(g *custody.Service, auth string) error {
		rel, err := g.Read(ctx, custody.ReadRequest{ID: o.ID, Purpose: "criminal_investigation", Principal: analyst, AuthorizationID: auth})
		if err == nil {
			rel.Body.Close()
		}
		return err
	}
	if err := read(e.Custody, "wide-list"); err != nil {
		t.Fatalf("a read under an EU court's order in EU-DE: %v", err)
	}
	// A wildcard authorization registers, but the default policy refuses it
	// on a sensitive class: Cedar sees the wildcard.
	w := ombudtest.Authorization("wildcard", 3)
	w.Subjects = []string{"*"}
	e.Authorize(t, court, w)
	var d *custody.Denial
	if err := read(e.Custody, "wildcard"); !errors.As(err, &d) || d.Reason != "policy_denied" {
		t.Fatalf("a read under a wildcard authorization: %v", err)
	}
	// The same deployment under the placeholder jurisdiction honours none
	// of it: the placeholder covers no real jurisdiction.
	e.Custody.Access.Jurisdiction = vocab.JurisdictionPlaceholder
	if err := read(e.Custody, "wide-list"); !errors.As(err, &d) || d.Reason != reason.AuthJurisdiction {
		t.Fatalf("a read in a deployment without a jurisdiction: %v", err)
	}
}

// TestStartWithAnotherPolicyUnderQuorum: with multi-party approval on, a
// gateway started with a changed policy file does not load it alone; it
// says why and what to do.
func TestStartWithAnotherPolicyUnderQuorum(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	e.AddPrincipal(t, "second admin", ombud.RoleAdmin)
	if _, err := e.Gateway.Approval.SetQuorum(ctx, &ombud.Quorum{Enabled: true, Required: ombud.DefaultQuorumRequired()}, e.AdminID); err != nil && !ombudtest.QuorumMode() {
		t.Fatal(err)
	}
	text, err := os.ReadFile(e.Dir.PolicyPath())
	if err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(t.TempDir(), "policy.cedar")
	os.WriteFile(changed, append(text, "\n// changed by one person\n"...), 0o644)
	acc1 := e.Custody.Access
	acc2, err := access.New(access.Config{Store: e.Store, Journal: e.Journal, PolicyPath: changed, Jurisdiction: acc1.Jurisdiction,
		IssuerKinds: acc1.IssuerKinds, Vocabulary: acc1.Vocabulary, Classes: acc1.Classes})
	if err != nil {
		t.Fatal(err)
	}
	before := e.Size(t)
	if err := acc2.StartPolicy(ctx); !errors.Is(err, ombud.ErrQuorumRequired) || !strings.Contains(err.Error(), "ombud propose policy.reload") {
		t.Fatalf("a start with a changed policy under the quorum: %v", err)
	}
	if e.Size(t) != before {
		t.Fatal("the refused policy was logged")
	}
}
