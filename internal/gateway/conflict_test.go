package gateway_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/gateway"
	"github.com/ombud/ombud/internal/mysqltest"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/internal/pgtest"
	"github.com/ombud/ombud/journal"
)

var ctx = context.Background()

// TestLogEqualsStateUnderConflict runs conflicting changes in parallel for
// a few seconds, many goroutines on a few objects and ids: holds, releases,
// erasures and sweeps on the same objects; registrations (two different
// notes under one id among them) and revocations of the same
// authorizations, with reads spending their uses; duplicate issuers;
// principals created and disabled. Afterwards, replaying the log's entries
// with their details rebuilds exactly the store's state, no object on hold
// was erased, and the auditor, with its token, finds nothing.
//
// It runs on each metadata store: SQLite, and PostgreSQL when a server is
// at hand (internal/pgtest); and on two gateways sharing PostgreSQL and a
// log in MariaDB (internal/mysqltest), each operation through either.
func TestLogEqualsStateUnderConflict(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); logEqualsStateUnderConflict(t, "", "") })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); logEqualsStateUnderConflict(t, pgtest.URL(t), "") })
	t.Run("two gateways", func(t *testing.T) {
		t.Parallel()
		logEqualsStateUnderConflict(t, pgtest.URL(t), mysqltest.URL(t))
	})
}

func logEqualsStateUnderConflict(t *testing.T, storeURL, logURL string) {
	e := ombudtest.New(t, ombudtest.Config(func(c *datadir.Config) {
		c.Storage.StoreURL, c.Log.URL = storeURL, logURL
		// Objects of this class are expired as soon as they are stored,
		// so every sweep races the holds for them.
		c.Classes = append(c.Classes, datadir.ClassConfig{Name: "shortlived", Sensitivity: "ordinary", Retention: "1h", Export: "allow"})
	}))
	// The gateways the operations go through: this one, and with a
	// shared log a second on the same directory, store and log.
	gws := []*custody.Service{e.Custody}
	if logURL != "" {
		g2, err := gateway.Open(ctx, e.Dir, gateway.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g2.Close(context.Background()) })
		gws = append(gws, g2.Custody)
	}
	via := func(r *mrand.Rand) *custody.Service { return gws[r.IntN(len(gws))] }
	auditorTok := e.AddPrincipal(t, "auditor", ombud.RoleAuditor)
	analystTok := e.AddPrincipal(t, "analyst", ombud.RoleAnalyst, ombud.RoleIngestor)
	analyst := e.Principal(t, analystTok)

	// Duplicate issuers: one name, eight keys, at once. One registers.
	const court = "court.example/d3"
	signers := make([]note.Signer, 8)
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range signers {
		skey, vkey, _ := note.GenerateKey(rand.Reader, court)
		signers[i], _ = note.NewSigner(skey)
		actx := e.Approved(t, ctx, ombud.OpIssuerRegister, "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := e.Custody.Access.RegisterIssuer(actx, court, "court", "EU-DE", vkey, e.AdminID)
			switch {
			case err == nil:
				won.Add(1)
			case ombud.ErrorCode(err) != ombud.CodeConflict:
				t.Errorf("RegisterIssuer: %v", err)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d registrations of one issuer name succeeded, want 1", won.Load())
	}
	is, _ := e.Store.Issuers(ctx)
	var signer note.Signer
	for _, s := range signers {
		if v, _ := note.NewVerifier(is[0].Key); v.KeyHash() == s.KeyHash() {
			signer = s
		}
	}

	// Notes: for each id a narrow one (one subject, few uses) and a wide
	// one (every subject, many uses), signed by the registered key. Ids
	// and objects are made as the test goes, and the operations pick among
	// the latest few, so that conflicts go on throughout.
	var mu sync.Mutex
	var ids []string
	notes := map[string][][]byte{}
	newID := func() {
		mu.Lock()
		defer mu.Unlock()
		id := fmt.Sprintf("auth-%d", len(ids))
		for _, wide := range []bool{false, true} {
			a := ombud.Authorization{ID: id, Issuer: court, Kind: "court_order", Case: "3 Gs 117/26", Purposes: []string{"criminal_investigation"},
				Classes: []string{"location"}, Subjects: []string{"plate:B-XY-123"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
				MaxUses: 5, Jurisdiction: "EU-DE"}
			if wide {
				a.Subjects, a.MaxUses = []string{"*"}, 1000
			}
			msg, err := note.Sign(&note.Note{Text: a.Text()}, signer)
			if err != nil {
				t.Error(err)
				return
			}
			notes[id] = append(notes[id], msg)
		}
		ids = append(ids, id)
	}
	pickID := func(r *mrand.Rand) (string, [][]byte) {
		mu.Lock()
		defer mu.Unlock()
		id := ids[max(0, len(ids)-1-r.IntN(3))]
		return id, notes[id]
	}
	var objs, located []*ombud.Object
	newObject := func(i int) error {
		class, subjects := "shortlived", []string(nil)
		if i%2 == 1 {
			class, subjects = "location", []string{"plate:B-XY-123"}
		}
		o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: class, Subjects: subjects, By: analyst.ID,
			CollectedAt: time.Now().Add(-2 * time.Hour), Body: strings.NewReader(fmt.Sprintf("object %d", i))})
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		objs = append(objs, o)
		if class == "location" {
			located = append(located, o)
		}
		return nil
	}
	pick := func(r *mrand.Rand, from *[]*ombud.Object) *ombud.Object {
		mu.Lock()
		defer mu.Unlock()
		return (*from)[max(0, len(*from)-1-r.IntN(4))]
	}
	newID()
	for i := range 2 {
		if err := newObject(i); err != nil {
			t.Fatal(err)
		}
	}
	var objectsMade atomic.Int32
	objectsMade.Store(2)
	var principals sync.Map // id → true
	ops := []func(r *mrand.Rand) error{
		func(r *mrand.Rand) error { // register one of the two notes of an id
			_, ns := pickID(r)
			_, _, err := via(r).Access.RegisterAuthorization(ctx, ns[r.IntN(2)], e.AdminID)
			return err
		},
		func(r *mrand.Rand) error {
			id, _ := pickID(r)
			_, err := via(r).Access.Revoke(ctx, id, "order_quashed", e.AdminID)
			return err
		},
		func(r *mrand.Rand) error {
			_, err := via(r).SetHold(ctx, custody.Order{Object: pick(r, &objs).ID, Reason: "litigation", Authorization: "order 1", By: e.AdminID})
			return err
		},
		func(r *mrand.Rand) error {
			o := pick(r, &objs)
			ctx, err := e.Approval(ctx, ombud.OpHoldRelease, o.ID)
			if err != nil {
				return err
			}
			_, err = via(r).ReleaseHold(ctx, custody.Order{Object: o.ID, Reason: "case_closed", Authorization: "order 2", By: e.AdminID})
			return err
		},
		func(r *mrand.Rand) error {
			o := pick(r, &objs)
			ctx, err := e.Approval(ctx, ombud.OpObjectErase, o.ID)
			if err != nil {
				return err
			}
			_, err = via(r).Erase(ctx, custody.Order{Object: o.ID, Reason: ombud.EraseCourtOrder, Authorization: "order 3", By: e.AdminID})
			return err
		},
		func(r *mrand.Rand) error {
			_, err := via(r).Sweep(ctx)
			return err
		},
		func(r *mrand.Rand) error { // a read that spends a use
			id, _ := pickID(r)
			rel, err := via(r).Read(ctx, custody.ReadRequest{ID: pick(r, &located).ID, Purpose: "criminal_investigation", Principal: analyst, AuthorizationID: id})
			if err == nil {
				io.Copy(io.Discard, rel.Body)
				rel.Body.Close()
			}
			return err
		},
		func(r *mrand.Rand) error {
			if r.IntN(4) == 0 {
				newID()
			}
			return newObject(int(objectsMade.Add(1)))
		},
		func(r *mrand.Rand) error {
			p, _, _, err := via(r).AddPrincipal(ctx, "worker", []ombud.Role{ombud.RoleReviewer}, e.AdminID)
			if err == nil {
				principals.Store(p.ID, true)
			}
			return err
		},
		func(r *mrand.Rand) error {
			var id string
			principals.Range(func(k, _ any) bool { id = k.(string); return r.IntN(3) != 0 })
			if id == "" {
				return nil
			}
			_, err := via(r).DisablePrincipal(ctx, id, e.AdminID)
			return err
		},
	}
	var reasons sync.Map
	outcomes := make([]map[ombud.Code]*atomic.Int32, len(ops))
	for k := range outcomes {
		outcomes[k] = map[ombud.Code]*atomic.Int32{}
		for _, c := range []ombud.Code{"", ombud.CodeConflict, ombud.CodeGone, ombud.CodeNotFound, ombud.CodeForbidden, ombud.CodeInvalid, ombud.CodeInternal, ombud.CodeUnavailable, ombud.CodeLogUnavailable} {
			outcomes[k][c] = new(atomic.Int32)
		}
	}
	// Bounded: 24 goroutines, 3 seconds, at most 4,000 operations.
	deadline := time.Now().Add(3 * time.Second)
	var done atomic.Int32
	for g := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := mrand.New(mrand.NewPCG(uint64(g), 7))
			for time.Now().Before(deadline) && done.Add(1) <= 4000 {
				k := r.IntN(len(ops))
				err := ops[k](r)
				var d *custody.Denial
				if errors.As(err, &d) {
					reasons.Store(d.Reason, true)
				}
				outcomes[k][ombud.ErrorCode(err)].Add(1)
				switch c := ombud.ErrorCode(err); {
				case err == nil, errors.As(err, &d), c == ombud.CodeConflict, c == ombud.CodeGone, c == ombud.CodeNotFound:
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d operations", min(done.Load(), 4000))
	for k, m := range outcomes {
		var parts []string
		for c, n := range m {
			if n.Load() > 0 {
				parts = append(parts, fmt.Sprintf("%q:%d", c, n.Load()))
			}
		}
		t.Logf("op %d: %s", k, strings.Join(parts, " "))
	}
	reasons.Range(func(k, _ any) bool { t.Logf("denied: %s", k); return true })
	if cs, _ := e.Store.Changes(ctx, time.Now().Add(time.Hour)); len(cs) != 0 {
		for _, c := range cs {
			t.Logf("in flight: %s %s reserved %v", c.Op, c.Target, c.Created)
		}
		t.Fatalf("%d changes left in flight", len(cs))
	}

	// Replay the log with its details and compare with the store.
	size := e.Size(t)
	e.AwaitSize(t, size)
	// One gateway numbers an authorization's uses in the order of their
	// permits in the log. Several number them by the store's count, which
	// their permits may reach the log out of: each number once, then.
	want := replay(t, e, size)
	ps := func(ns, id string) string { return e.Dir.Linkage.Pseudonym(ns, id) }
	got := newState()
	all, _ := e.Store.Principals(ctx)
	for _, p := range all {
		roles := make([]string, len(p.Roles))
		for i, r := range p.Roles {
			roles[i] = string(r)
		}
		got.principals[ps("principal", p.ID)] = principalState{roles: strings.Join(roles, ","), disabled: p.Disabled, suspended: p.EmergencySuspended != 0}
	}
	is, _ = e.Store.Issuers(ctx)
	for _, i := range is {
		v, _ := note.NewVerifier(i.Key)
		got.issuers[i.Name] = fmt.Sprintf("%s %s %08x", i.Kind, i.Jurisdiction, v.KeyHash())
	}
	for id := range notes {
		a, err := e.Store.Authorization(ctx, id)
		if errors.Is(err, ombud.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got.auths[ps("authorization", id)] = authState{note: a.Note, uses: a.Uses, revoked: a.Revoked != nil}
	}
	for _, o := range objs {
		cur, err := e.Store.Object(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		got.objects[ps("object", o.ID)] = objectState{held: cur.Hold != nil, erased: cur.Erased != nil}
		if cur.Hold != nil && cur.Erased != nil {
			t.Errorf("object %s is on hold and erased", o.ID)
		}
	}
	for _, d := range []struct {
		what      string
		got, want any
	}{{"principals", got.principals, want.principals}, {"issuers", got.issuers, want.issuers}, {"authorizations", got.auths, want.auths}, {"objects", got.objects, want.objects}} {
		if fmt.Sprint(d.got) != fmt.Sprint(d.want) {
			t.Errorf("%s: the store holds\n%v\nthe log says\n%v", d.what, d.got, d.want)
		}
	}
	t.Logf("the log: %d principals, %d issuers, authorizations %v, objects %v", len(want.principals), len(want.issuers), want.auths, want.objects)
	if len(want.problems) > 0 {
		t.Errorf("the log's own history: %v", want.problems)
	}

	// The auditor, with its token, finds nothing.
	u, _ := url.Parse(e.URL + "/log/")
	f, err := client.NewHTTPFetcher(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, _, err := audit.Run(ctx, audit.Config{Log: f, Verifier: e.Dir.Verifier, Details: &audit.HTTPDetails{Server: e.URL, Token: auditorTok}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Clean() || rep.Details == 0 {
		t.Fatalf("audit: %d details checked, findings %v", rep.Details, rep.Findings)
	}
}

type principalState struct {
	roles               string
	disabled, suspended bool
}

type authState struct {
	note    string
	uses    int
	revoked bool
}

type objectState struct{ held, erased bool }

type state struct {
	principals map[string]principalState
	issuers    map[string]string
	auths      map[string]authState
	objects    map[string]objectState
	problems   []string
}

func newState() *state {
	return &state{principals: map[string]principalState{}, issuers: map[string]string{}, auths: map[string]authState{}, objects: map[string]objectState{}}
}

// replay rebuilds, from the log's first size entries and their details,
// the state the store should hold. Each permit's use, the store's count
// when it was committed, appears once; the permits of uses committed at
// once may be logged in another order.
func replay(t *testing.T, e *ombudtest.Env, size uint64) *state {
	t.Helper()
	s := newState()
	uses := map[string][]int{}
	defer func() {
		for id, us := range uses {
			slices.Sort(us)
			for k, u := range us {
				if u != k+1 {
					s.problems = append(s.problems, fmt.Sprintf("authorization %s: its permits state the uses %v, not 1 to %d once each", id, us, len(us)))
					break
				}
			}
		}
	}()
	leaves, err := e.Log.Leaves(ctx, 0, size)
	if err != nil {
		t.Fatal(err)
	}
	for i, leaf := range leaves {
		en, err := entry.Parse(leaf)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		ref := func(k string) string {
			if r := en.Refs[k]; len(r) > 0 {
				return r[0]
			}
			return ""
		}
		str := func(k string) string { v, _ := en.Fields[k].(string); return v }
		detail := func(v any) {
			d, err := e.Store.Detail(ctx, journal.DetailKeyOf(en))
			if err != nil || d.Body == nil {
				t.Fatalf("entry %d: detail: %v", i, err)
			}
			if err := json.Unmarshal(d.Body, v); err != nil {
				t.Fatalf("entry %d: detail: %v", i, err)
			}
		}
		switch en.Kind {
		case entry.KindPrincipal:
			p := s.principals[ref("principal")]
			switch str("op") {
			case "create":
				var roles []string
				for _, r := range en.Fields["roles"].([]any) {
					roles = append(roles, r.(string))
				}
				p.roles = strings.Join(roles, ",")
			case "disable":
				p.disabled = true
			case "emergency_restore":
				p.suspended = false
			}
			s.principals[ref("principal")] = p
		case entry.KindBreach:
			p := s.principals[ref("by")]
			p.suspended = true
			s.principals[ref("by")] = p
		case entry.KindIssuer:
			if _, dup := s.issuers[str("issuer")]; dup {
				s.problems = append(s.problems, fmt.Sprintf("entry %d registers issuer %s again", i, str("issuer")))
			}
			s.issuers[str("issuer")] = fmt.Sprintf("%s %s %s", str("issuer_kind"), str("jurisdiction"), str("key_id"))
		case entry.KindAuthorization:
			id := ref("authorization")
			a, seen := s.auths[id]
			switch str("op") {
			case "register":
				if seen {
					s.problems = append(s.problems, fmt.Sprintf("entry %d registers an authorization again", i))
				}
				var d struct{ Note string }
				detail(&d)
				a.note = d.Note
			case "revoke":
				if !seen || a.revoked {
					s.problems = append(s.problems, fmt.Sprintf("entry %d revokes an authorization registered %v, revoked %v", i, seen, a.revoked))
				}
				a.revoked = true
			}
			s.auths[id] = a
		case entry.KindAccess:
			if str("decision") != "permit" || ref("authorization") == "" {
				break
			}
			a := s.auths[ref("authorization")]
			a.uses++
			u, _ := en.Fields["use"].(json.Number)
			if n, err := u.Int64(); err == nil {
				uses[ref("authorization")] = append(uses[ref("authorization")], int(n))
			} else {
				s.problems = append(s.problems, fmt.Sprintf("entry %d permits a read under an authorization and states no use", i))
			}
			if a.revoked {
				s.problems = append(s.problems, fmt.Sprintf("entry %d permits a read under a revoked authorization", i))
			}
			if s.objects[ref("object")].erased {
				s.problems = append(s.problems, fmt.Sprintf("entry %d permits a read of an erased object", i))
			}
			s.auths[ref("authorization")] = a
		case entry.KindIngest:
			s.objects[ref("object")] = objectState{}
		case entry.KindHold:
			o := s.objects[ref("object")]
			if set := str("op") == "set"; set == o.held || o.erased {
				s.problems = append(s.problems, fmt.Sprintf("entry %d: hold %s on an object held %v, erased %v", i, str("op"), o.held, o.erased))
			} else {
				o.held = set
			}
			s.objects[ref("object")] = o
		case entry.KindErase:
			o := s.objects[ref("object")]
			if o.held || o.erased {
				s.problems = append(s.problems, fmt.Sprintf("entry %d erases an object held %v, erased %v", i, o.held, o.erased))
			}
			o.erased = true
			s.objects[ref("object")] = o
		}
	}
	return s
}
