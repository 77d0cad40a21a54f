package audit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/report"
)

// fill appends n access entries concurrently.
func fill(t *testing.T, e *ombudtest.Env, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := e.Journal.Write(context.Background(), journal.Record{Body: entry.Access{Decision: entry.Deny, Class: "general", Purpose: "test", Reasons: []string{"no_authorization"}, Object: fmt.Sprint("obj", i)}, Detail: map[string]any{"i": i}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func fetcher(t *testing.T, e *ombudtest.Env) client.HTTPFetcher {
	u, _ := url.Parse(e.URL + "/log/")
	f, err := client.NewHTTPFetcher(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return *f
}

// write logs one record and waits until a checkpoint covers it.
func write(t *testing.T, e *ombudtest.Env, r journal.Record) uint64 {
	t.Helper()
	w, err := e.Journal.Write(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	e.AwaitSize(t, w.Index+1)
	return w.Index
}

func rules(f []audit.Finding) []string {
	var out []string
	for _, x := range f {
		out = append(out, x.Rule)
	}
	return out
}

// auditor runs audits over HTTP, resuming from the state of the last run.
type auditor struct {
	t     *testing.T
	cfg   audit.Config
	state *audit.State
}

func (a *auditor) run() *audit.Result {
	a.t.Helper()
	cfg := a.cfg
	cfg.State = a.state
	rep, next, err := audit.Run(context.Background(), cfg)
	if err != nil {
		a.t.Fatalf("audit could not run: %v", err)
	}
	if next != nil {
		a.state = next
	}
	return rep
}

// expect runs an audit and checks that this run found exactly the rules.
func (a *auditor) expect(want ...string) *audit.Result {
	a.t.Helper()
	rep := a.run()
	if got := rules(rep.Findings); !slices.Equal(got, want) {
		a.t.Fatalf("findings %v, want %v:\n%v", got, want, rep.Findings)
	}
	return rep
}

func access(obj, class, auth string, use int, subject string) journal.Record {
	a := entry.Access{Decision: entry.Permit, Class: class, Purpose: "criminal_investigation", Reasons: []string{"authorization_in_scope"}, Object: obj, By: "analyst1"}
	if auth != "" {
		a.Authorization, a.Use = auth, int64(use)
	}
	if subject != "" {
		a.Subject = []string{subjectPs(subject)}
	}
	return journal.Record{Body: a, Detail: entry.AccessDetail{Justification: "case 3 Gs 117/26", Purpose: "criminal_investigation"}}
}

// edit returns r with its body, of type T, changed by f.
func edit[T entry.Body](r journal.Record, f func(*T)) journal.Record {
	b := r.Body.(T)
	f(&b)
	r.Body = b
	return r
}

// subjectKey keys the tests' subjects, as custody keys an object's.
var subjectKey = ombud.NewLinkageKey()

func subjectPs(id string) string { return subjectKey.Pseudonym("subject", id) }

// issuerRecord registers court.example/d3, a court of EU-DE, with key id k.
func issuerRecord(k string) journal.Record {
	return journal.Record{Body: entry.Issuer{Op: entry.OpRegister, Issuer: "court.example/d3", IssuerKind: "court", Jurisdiction: "EU-DE", KeyID: k, By: "admin1"}}
}

func registration(id, subject string, purposes []string, maxUses int) journal.Record {
	now := time.Now().UTC()
	return journal.Record{Body: entry.Authorization{Op: entry.OpRegister, AuthKind: "court_order", Issuer: "court.example/d3", Purposes: purposes, Classes: []string{"location"}, Wildcard: false, NotBefore: now.Add(-time.Hour).Format(time.RFC3339), NotAfter: now.Add(24 * time.Hour).Format(time.RFC3339), MaxUses: int64(maxUses), Jurisdiction: "EU-DE", Authorization: id, Subject: []string{subjectPs(subject)}, By: "admin1"}, Detail: entry.AuthorizationDetail{Case: "3 Gs 117/26", ID: id}}
}

func flag(id, by string) journal.Record {
	return journal.Record{Body: entry.Flag{System: "frs", Model: "m", ModelVersion: "1", Class: "biometric", Flag: id, By: by}}
}

func review(flagID, by, outcome string) journal.Record {
	return journal.Record{Body: entry.Review{Outcome: outcome, Flag: flagID, By: by}, Detail: entry.ReviewDetail{Flag: flagID, Rationale: "checked"}}
}

func action(flagID string, confirmations int) journal.Record {
	return journal.Record{Body: entry.Action{ActionKind: "questioning", Confirmations: int64(confirmations), Flag: flagID, Action: "act-" + flagID, By: "analyst1"}, Detail: entry.ActionDetail{Flag: flagID, Kind: "questioning"}}
}

// TestPlantedViolations builds a clean history, audits it, then plants
// each kind of violation and checks the next audit (resuming from the
// state) finds exactly it.
func TestPlantedViolations(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	auditorTok := e.AddPrincipal(t, "auditor", ombud.RoleAuditor)
	a := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier,
		Details: &audit.HTTPDetails{Server: e.URL, Token: auditorTok}}}

	// A clean history: an authorization used within scope, a flag acted on
	// after two reviews, an erasure, a scoped export, an emergency read
	// covered in time.
	write(t, e, issuerRecord("4a1f9c2e"))
	write(t, e, registration("auth-1", "plate:B-1", []string{"criminal_investigation"}, 2))
	write(t, e, access("obj-1", "location", "auth-1", 1, "plate:B-1"))
	write(t, e, flag("flag-1", "ingestor1"))
	write(t, e, review("flag-1", "reviewer1", "confirm"))
	write(t, e, review("flag-1", "reviewer2", "confirm"))
	write(t, e, action("flag-1", 2))
	write(t, e, journal.Record{Body: entry.Erase{Reason: "retention_expired", Class: "document", Object: "obj-2"}})
	write(t, e, recipientRecord(entry.OpRegister, "rcp-1"))
	write(t, e, recipientRecord(entry.OpRegister, "rcp-2"))
	write(t, e, recipientRecord(entry.OpRetire, "rcp-2"))
	write(t, e, edit(registration("auth-share", "plate:B-5", []string{"mutual_legal_assistance"}, 3), func(a *entry.Authorization) {
		a.Recipient, a.TransferJurisdictions, a.ShareUntil = []string{"rcp-1"}, []string{"EU-FR"}, time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	}))
	write(t, e, exportRecord("rcp-1", "auth-share", true, "biometric:2", "location:1"))
	write(t, e, registration("auth-exp", "plate:B-5", []string{"mutual_legal_assistance"}, 100))
	em := access("obj-3", "location", "", 0, "plate:B-3")
	em = edit(em, func(a *entry.Access) { a.Emergency, a.Reasons = true, []string{"emergency"} })
	write(t, e, em)
	write(t, e, registration("auth-2", "plate:B-3", []string{"criminal_investigation"}, 5))
	rep := a.expect()
	if !rep.Integrity || rep.Details < 8 || rep.Entries != rep.Size {
		t.Fatalf("clean audit: %+v", rep)
	}
	// The auditor's read of the details is itself in the log.
	e.AwaitSize(t, rep.Size+1)
	leaf, err := e.Log.Entry(context.Background(), rep.Size, rep.Size+1)
	if en, perr := entry.Parse(leaf); err != nil || perr != nil || en.Kind != entry.KindAudit || en.Fields["op"] != entry.OpDetails {
		t.Fatalf("entry after the audit: %s %v %v", leaf, err, perr)
	}

	t.Run("access after erase", func(t *testing.T) {
		a.t = t
		write(t, e, access("obj-2", "document", "", 0, ""))
		a.expect("access_after_erase")
	})
	t.Run("action with one reviewer", func(t *testing.T) {
		a.t = t
		write(t, e, flag("flag-2", "ingestor1"))
		write(t, e, review("flag-2", "reviewer1", "confirm"))
		write(t, e, review("flag-2", "ingestor1", "confirm")) // the creator does not count
		write(t, e, action("flag-2", 1))
		a.expect("action_without_reviews")
	})
	t.Run("exhausted authorization used again", func(t *testing.T) {
		a.t = t
		write(t, e, access("obj-1", "location", "auth-1", 2, "plate:B-1"))
		a.expect()
		write(t, e, access("obj-1", "location", "auth-1", 3, "plate:B-1"))
		a.expect("authorization_exhausted")
	})
	t.Run("sensitive read without authorization", func(t *testing.T) {
		a.t = t
		write(t, e, access("obj-1", "location", "", 0, "plate:B-1"))
		a.expect("authorization_missing")
	})
	t.Run("authorization out of scope", func(t *testing.T) {
		a.t = t
		r := access("obj-4", "location", "auth-2", 1, "plate:B-9")
		r = edit(r, func(a *entry.Access) { a.Purpose = "marketing" })
		r.Detail = entry.AccessDetail{Purpose: "marketing"}
		write(t, e, r)
		a.expect("authorization_out_of_scope", "authorization_out_of_scope")
	})
	t.Run("revoked authorization used", func(t *testing.T) {
		a.t = t
		write(t, e, journal.Record{Body: entry.Authorization{Op: entry.OpRevoke, AuthKind: "court_order", Issuer: "court.example/d3", Reason: "quashed", Authorization: "auth-2", By: "admin1"}})
		write(t, e, access("obj-3", "location", "auth-2", 2, "plate:B-3"))
		a.expect("authorization_revoked")
	})
	t.Run("biometric export without a sharing scope", func(t *testing.T) {
		a.t = t
		write(t, e, exportRecord("rcp-1", "auth-exp", false, "biometric:1"))
		a.expect("export_without_scope")
		write(t, e, exportRecord("rcp-1", "auth-exp", false, "document:1"))
		a.expect() // a class that is not shared needs none
	})
	t.Run("export across a border without a transfer scope", func(t *testing.T) {
		a.t = t
		r := edit(exportRecord("rcp-1", "auth-share", true, "location:1"), func(x *entry.Export) { x.Jurisdiction = "US-NY" })
		write(t, e, r)
		a.expect("export_without_transfer_scope")
	})
	t.Run("export to a recipient unregistered or retired", func(t *testing.T) {
		a.t = t
		write(t, e, exportRecord("rcp-2", "auth-exp", false, "document:1"))
		a.expect("export_recipient_unregistered")
		write(t, e, exportRecord("rcp-none", "auth-exp", false, "document:1"))
		a.expect("export_recipient_unregistered")
	})
	t.Run("a read in an export never logged, or past its count", func(t *testing.T) {
		a.t = t
		write(t, e, exportRecord("rcp-1", "auth-exp", false, "document:1"))
		read := func(x string) journal.Record {
			r := access("obj-5", "document", "", 0, "")
			r.Detail = entry.ExportReadDetail{Export: x, Object: "obj-5", Position: 0}
			return edit(r, func(b *entry.Access) {
				b.Export, b.Purpose, b.Reasons = x, "mutual_legal_assistance", []string{"in_export"}
			})
		}
		write(t, e, read("exp-rcp-1"))
		a.expect()
		write(t, e, read("exp-rcp-1"))
		a.expect("export_read_unknown")
		write(t, e, read("exp-never"))
		a.expect("export_read_unknown")
		// Of an object its list does not hold (with the details).
		write(t, e, exportRecord("rcp-1", "auth-exp", false, "document:1"))
		r := read("exp-rcp-1")
		r.Detail = entry.ExportReadDetail{Export: "exp-rcp-1", Object: "obj-other", Position: 0}
		write(t, e, r)
		a.expect("export_read_unknown")
	})
	t.Run("a read in an export after its recipient's retirement or its authorization's revocation", func(t *testing.T) {
		a.t = t
		write(t, e, recipientRecord(entry.OpRegister, "rcp-late"))
		write(t, e, registration("auth-late", "plate:B-5", []string{"mutual_legal_assistance"}, 100))
		x := exportRecord("rcp-late", "auth-late", false, "document:2")
		write(t, e, x)
		read := func() journal.Record {
			r := access("obj-5", "document", "", 0, "")
			r.Detail = entry.ExportReadDetail{Export: "exp-rcp-late", Object: "obj-5", Position: 0}
			return edit(r, func(b *entry.Access) {
				b.Export, b.Purpose, b.Reasons = "exp-rcp-late", "mutual_legal_assistance", []string{"in_export"}
			})
		}
		write(t, e, recipientRecord(entry.OpRetire, "rcp-late"))
		write(t, e, read())
		a.expect("export_recipient_unregistered")
		write(t, e, journal.Record{Body: entry.Authorization{Op: entry.OpRevoke, AuthKind: "court_order", Issuer: "court.example/d3", Reason: "quashed", Authorization: "auth-late", By: "admin1"}})
		r := read()
		r.Detail = entry.ExportReadDetail{Export: "exp-rcp-late", Object: "obj-5", Position: 0}
		write(t, e, r)
		a.expect("authorization_revoked", "export_recipient_unregistered")
	})
	t.Run("export whose counts do not add up", func(t *testing.T) {
		a.t = t
		r := edit(exportRecord("rcp-1", "auth-share", false, "location:2"), func(x *entry.Export) { x.Objects = 3 })
		write(t, e, r)
		a.expect("export_malformed")
	})
	t.Run("emergency read never covered", func(t *testing.T) {
		a.t = t
		em := access("obj-6", "location", "", 0, "plate:B-6")
		em = edit(em, func(a *entry.Access) { a.Emergency = true })
		write(t, e, em)
		a.expect() // within its deadline: pending, not a finding
		late := a.cfg
		a.cfg.Now = func() time.Time { return time.Now().Add(72 * time.Hour) }
		a.expect("emergency_uncovered")
		a.cfg = late
	})
	t.Run("an exported object erased without its notices, or with one overdue", func(t *testing.T) {
		a.t = t
		sent := func(obj, rcp string) journal.Record {
			return journal.Record{Body: entry.Notice{RecipientCategory: "foreign_authority", Jurisdiction: "EU-FR", Object: obj, Recipient: rcp, By: "admin1"},
				Detail: entry.NoticeDetail{Note: "registered letter 2026/118", Notice: "n-" + obj + rcp, Object: obj, Recipient: rcp}}
		}
		erase := func(obj string, rcps ...string) journal.Record {
			return journal.Record{Body: entry.Erase{Reason: "court_order", Class: "document", Object: obj, Recipient: rcps}}
		}
		// obj-5 went to rcp-1 and to rcp-late in the exports above.
		write(t, e, erase("obj-5", "rcp-1"))
		a.expect("erasure_notice_missing")
		write(t, e, sent("obj-5", "rcp-1"))
		a.expect()
		write(t, e, sent("obj-5", "rcp-1"))
		a.expect("notice_unowed")
		write(t, e, sent("obj-x9", "rcp-1"))
		a.expect("notice_unowed")
		// Owed, not sent: overdue after NoticeWithin, reported once.
		write(t, e, erase("obj-x8", "rcp-1"))
		a.expect()
		late := a.cfg
		a.cfg.Now = func() time.Time { return time.Now().Add(ombud.NoticeWithin + time.Hour) }
		a.expect("erasure_notice_overdue")
		a.expect()
		a.cfg = late
		write(t, e, sent("obj-x8", "rcp-1")) // sent at last: owed, reported already
		a.expect()
	})
	t.Run("detail that does not match its commitment", func(t *testing.T) {
		a.t = t
		idx := write(t, e, access("obj-1", "document", "", 0, ""))
		a.cfg.Details = tamperDetail{a.cfg.Details, idx}
		a.expect("detail_mismatch")
		a.cfg.Details = tamperDetail{}.inner(a.cfg.Details)
	})
	t.Run("erase of a held object", func(t *testing.T) {
		a.t = t
		hold := func(op string) journal.Record {
			return journal.Record{Body: entry.Hold{Op: op, Reason: "litigation", Object: "obj-7", By: "admin1"}}
		}
		erase := journal.Record{Body: entry.Erase{Reason: "court_order", Class: "document", Object: "obj-7"}}
		write(t, e, hold("set"))
		write(t, e, hold("release"))
		write(t, e, hold("set"))
		a.expect()
		write(t, e, erase)
		a.expect("erase_under_hold")
	})
	t.Run("second key under an issuer's name", func(t *testing.T) {
		a.t = t
		write(t, e, issuerRecord("0badc0de"))
		a.expect("issuer_reregistered")
	})
	t.Run("recipient registered twice, retired twice or unregistered", func(t *testing.T) {
		a.t = t
		write(t, e, recipientRecord(entry.OpRegister, "rcp-1"))
		a.expect("recipient_reregistered")
		write(t, e, recipientRecord(entry.OpRetire, "rcp-2"))
		a.expect("recipient_retire_unknown")
		write(t, e, recipientRecord(entry.OpRetire, "rcp-never"))
		a.expect("recipient_retire_unknown")
	})
	t.Run("authorization beyond its issuer's jurisdiction", func(t *testing.T) {
		a.t = t
		r := registration("auth-us", "plate:B-1", []string{"criminal_investigation"}, 1)
		r = edit(r, func(a *entry.Authorization) { a.Jurisdiction = "US-CA" })
		write(t, e, r)
		a.expect("authorization_beyond_issuer")
	})
	t.Run("emergency breach", func(t *testing.T) {
		a.t = t
		em := access("obj-8", "location", "", 0, "plate:B-8")
		em = edit(em, func(a *entry.Access) { a.Emergency = true })
		write(t, e, em)
		write(t, e, journal.Record{Body: entry.Breach{Reason: "emergency_not_covered", Class: "location", Object: "obj-8", By: "analyst1"}})
		a.expect("emergency_breach")
	})
	t.Run("detail erased without a reason in the log", func(t *testing.T) {
		a.t = t
		idx := write(t, e, access("obj-1", "document", "", 0, ""))
		e.AwaitSize(t, idx+1)
		leaf, _ := e.Log.Entry(context.Background(), idx, idx+1)
		en, _ := entry.Parse(leaf)
		if err := e.Store.EraseDetail(context.Background(), journal.DetailKeyOf(en)); err != nil {
			t.Fatal(err)
		}
		a.expect("detail_erased_unexplained")
		// Erased after a logged summary of its kind's retention: explained.
		idx = write(t, e, access("obj-1", "document", "", 0, ""))
		leaf, _ = e.Log.Entry(context.Background(), idx, idx+1)
		en, _ = entry.Parse(leaf)
		write(t, e, journal.Record{Body: entry.System{Op: entry.OpDetailsErased, EntryKind: "access", Before: ombud.Day(time.Now().Add(48 * time.Hour)), Count: 1}})
		if err := e.Store.EraseDetail(context.Background(), journal.DetailKeyOf(en)); err != nil {
			t.Fatal(err)
		}
		a.expect()
	})
	t.Run("read by a disabled principal", func(t *testing.T) {
		a.t = t
		read := edit(access("obj-1", "document", "", 0, ""), func(a *entry.Access) { a.By = "analyst9" })
		write(t, e, read)
		a.expect()
		write(t, e, journal.Record{Body: entry.Principal{Op: entry.OpDisable, Roles: []string{"analyst"}, Principal: "analyst9", By: "admin1"}})
		write(t, e, edit(read, func(a *entry.Access) { a.Decision, a.Reasons = entry.Deny, []string{"policy_denied"} }))
		a.expect()
		write(t, e, read)
		a.expect("access_by_disabled_principal")
	})
	t.Run("policy version not increasing", func(t *testing.T) {
		a.t = t
		policy := func(v int64) journal.Record {
			return journal.Record{Body: entry.Policy{Op: entry.OpSet, Version: v, PolicySHA256: strings.Repeat("ab", 32), By: "admin1"}}
		}
		write(t, e, policy(100))
		write(t, e, policy(101))
		a.expect()
		write(t, e, policy(101))
		a.expect("policy_version_not_increasing")
	})
	t.Run("a privileged entry without the quorum's approval", func(t *testing.T) {
		a.t = t
		by := func(id string) string { return e.Journal.Key.Pseudonym(entry.RefNamespace("by"), id) }
		issuer := func(name, proposal string, approvers ...string) journal.Record {
			return journal.Record{Body: entry.Issuer{Op: entry.OpRegister, Issuer: name, IssuerKind: "court", Jurisdiction: "EU-DE", KeyID: "4a1f9c2e", By: "admin1",
				Proposal: proposal, Approver: approvers}}
		}
		vote := func(op, proposal, voter string) journal.Record {
			return journal.Record{Body: entry.Proposal{Op: op, Operation: ombud.OpIssuerRegister, ParamsSHA256: "ab", Proposal: proposal, By: voter}}
		}
		propose := func(proposal string) journal.Record {
			return journal.Record{Body: entry.Proposal{Op: entry.OpPropose, Operation: ombud.OpIssuerRegister, ParamsSHA256: "ab", Expires: "2027-01-01T00:00:00Z", Proposal: proposal, By: "admin1"}}
		}
		write(t, e, journal.Record{Body: entry.Quorum{Op: entry.OpEnable, Required: (&ombud.Quorum{Required: ombud.DefaultQuorumRequired()}).Counts(), By: "admin1"}})
		a.expect()
		write(t, e, issuer("court.example/q1", ""))
		a.expect("privileged_without_quorum")
		write(t, e, journal.Record{Body: entry.Erase{Reason: "retention_expired", Class: "document", Object: "obj-q1"}})
		a.expect() // the sweep's, not privileged
		write(t, e, journal.Record{Body: entry.Erase{Reason: "ingest_unacknowledged", Class: "document", Object: "obj-q0"}})
		a.expect() // recovery's, not privileged
		write(t, e, propose("prp-1"))
		write(t, e, issuer("court.example/q2", "prp-1"))
		a.expect("privileged_without_quorum") // proposed, not approved
		write(t, e, propose("prp-2"))
		write(t, e, vote(entry.OpApprove, "prp-2", "admin1"))
		a.expect("proposal_invalid") // the proposer's own vote
		write(t, e, vote(entry.OpApprove, "prp-2", "admin2"))
		write(t, e, issuer("court.example/q3", "prp-2", by("admin2")))
		a.expect()
		write(t, e, issuer("court.example/q4", "prp-2", by("admin2")))
		a.expect("privileged_without_quorum") // spent
		write(t, e, propose("prp-3"))
		write(t, e, vote(entry.OpApprove, "prp-3", "admin2"))
		write(t, e, issuer("court.example/q5", "prp-3", by("admin3")))
		a.expect("privileged_without_quorum") // an approver who did not vote
		// Raised (anyone's), then lowered on a proposal with two admins:
		// lowering policy.reload's 3 needs 3.
		raised := &ombud.Quorum{Enabled: true, Required: ombud.DefaultQuorumRequired()}
		raised.Required[ombud.OpPolicyReload] = 3
		write(t, e, journal.Record{Body: entry.Quorum{Op: entry.OpEnable, Required: raised.Counts(), By: "admin1"}})
		a.expect()
		write(t, e, journal.Record{Body: entry.Proposal{Op: entry.OpPropose, Operation: ombud.OpQuorumSet, ParamsSHA256: "ab", Expires: "2027-01-01T00:00:00Z", Proposal: "prp-4", By: "admin1"}})
		write(t, e, journal.Record{Body: entry.Proposal{Op: entry.OpApprove, Operation: ombud.OpQuorumSet, ParamsSHA256: "ab", Proposal: "prp-4", By: "admin2"}})
		write(t, e, journal.Record{Body: entry.Quorum{Op: entry.OpEnable, Required: (&ombud.Quorum{Required: ombud.DefaultQuorumRequired()}).Counts(), By: "admin1", Proposal: "prp-4", Approver: []string{by("admin2")}}})
		a.expect("privileged_without_quorum") // lowered by 2 of the 3 it needs
		write(t, e, journal.Record{Body: entry.Quorum{Op: entry.OpDisable, By: "admin1"}})
		a.expect("privileged_without_quorum") // lowered without a quorum
	})
	t.Run("earlier findings stay reported", func(t *testing.T) {
		a.t = t
		rep := a.expect()
		if len(rep.Earlier) < 9 || rep.Clean() {
			t.Fatalf("earlier findings %d: history must keep its violations", len(rep.Earlier))
		}
	})
}

// tamperDetail serves one detail record with a changed body, as a server
// would whose detail store was altered after the fact.
type tamperDetail struct {
	audit.DetailSource
	index uint64
}

func (d tamperDetail) inner(s audit.DetailSource) audit.DetailSource {
	if t, ok := s.(tamperDetail); ok {
		return t.DetailSource
	}
	return s
}

func (d tamperDetail) Details(ctx context.Context, from, to uint64) ([]apiv1.DetailRecord, error) {
	recs, err := d.DetailSource.Details(ctx, from, to)
	for i := range recs {
		if recs[i].Index == d.index {
			recs[i].Body = []byte(strings.Replace(string(recs[i].Body), "document", "dokument", 1))
			if !strings.Contains(string(recs[i].Body), "dokument") {
				recs[i].Body = append(recs[i].Body[:len(recs[i].Body)-1], []byte(`,"x":1}`)...)
			}
		}
	}
	return recs, err
}

// forgedOnSecondRead serves entry bundle 0 faithfully once, then with a
// byte of its last entry changed: a log showing one auditor two histories
// across the passes of one run.
type forgedOnSecondRead struct {
	audit.Fetcher
	mu    *sync.Mutex
	reads *int
}

func (f forgedOnSecondRead) ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	b, err := f.Fetcher.ReadEntryBundle(ctx, index, p)
	if err != nil || index != 0 {
		return b, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if *f.reads++; *f.reads > 1 {
		b = bytes.Clone(b)
		b[len(b)-2] ^= 1
	}
	return b, nil
}

// servedCheckpoint serves a fixed checkpoint instead of the log's.
type servedCheckpoint struct {
	audit.Fetcher
	cp []byte
}

func (s servedCheckpoint) ReadCheckpoint(context.Context) ([]byte, error) { return s.cp, nil }

// TestIntegrity: what a log does to its own files or shows to one auditor
// is caught: a byte flipped in a tile, an entry forged on disk, a truncated
// log, a forged checkpoint, a rollback, a fork, a missing cosignature.
func TestIntegrity(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	fill(t, e, 700)
	first := e.Size(t)
	e.AwaitSize(t, first)
	ctx := context.Background()
	oldCP, err := e.Log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, e, 100)
	size := e.Size(t)
	e.AwaitSize(t, size)
	fresh := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier}}
	rep := fresh.expect()
	if rep.Entries != size || rep.Tiles < 5 {
		t.Fatalf("verified %d entries and %d tiles, want %d and ≥5", rep.Entries, rep.Tiles, size)
	}
	// Resuming: nothing new to read, consistent with the last run.
	if rep := fresh.expect(); rep.Entries != 0 || rep.From != size {
		t.Fatalf("resumed run read %d entries from %d", rep.Entries, rep.From)
	}

	onDisk := func(t *testing.T, path string, change func([]byte) []byte, want string) {
		p := filepath.Join(e.Log.Dir(), path)
		orig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(p, orig, 0o644)
		if err := os.WriteFile(p, change(append([]byte(nil), orig...)), 0o644); err != nil {
			t.Fatal(err)
		}
		a := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier}}
		rep := a.run()
		if rep.Integrity || !slices.Contains(rules(rep.Findings), want) {
			t.Fatalf("%s changed: findings %v, want %s", path, rep.Findings, want)
		}
		t.Logf("%s changed: %v", path, rep.Findings[len(rep.Findings)-1])
	}
	t.Run("byte flipped in a tile", func(t *testing.T) {
		onDisk(t, "tile/0/001", func(b []byte) []byte { b[32*7+1] ^= 1; return b }, "tile_mismatch")
	})
	t.Run("entry forged on disk", func(t *testing.T) {
		// A valid entry with one pseudonym changed: it parses, but it is not
		// what was logged.
		onDisk(t, "tile/entries/001", func(b []byte) []byte {
			i := strings.Index(string(b), "ps1:")
			b[i+5] ^= 'A' ^ 'B'
			if b[i+5] == 0 {
				b[i+5] = 'C'
			}
			return b
		}, "root_mismatch")
	})
	t.Run("truncated log", func(t *testing.T) {
		onDisk(t, "tile/entries/002", func(b []byte) []byte { return b[:len(b)/2] }, "truncated")
	})
	t.Run("forged checkpoint", func(t *testing.T) {
		raw, _ := e.Log.Checkpoint(ctx)
		bad := []byte(strings.Replace(string(raw), fmt.Sprintf("\n%d\n", size), fmt.Sprintf("\n%d\n", size-1), 1))
		a := &auditor{t: t, cfg: audit.Config{Log: servedCheckpoint{fetcher(t, e), bad}, Verifier: e.Dir.Verifier}}
		a.expect("checkpoint_signature")
	})
	t.Run("rollback served to the auditor", func(t *testing.T) {
		a := &auditor{t: t, cfg: fresh.cfg, state: fresh.state}
		a.cfg.Log = servedCheckpoint{fetcher(t, e), oldCP}
		a.expect("rollback")
		if a.state != fresh.state {
			t.Fatal("a rollback advanced the audit state")
		}
	})
	t.Run("fork served to the auditor", func(t *testing.T) {
		// The operator signs a second history of the same size.
		cp := log.Checkpoint{Origin: e.Dir.Signer.Name(), Size: size, Hash: make([]byte, 32)}
		rand.Read(cp.Hash)
		forged, err := note.Sign(&note.Note{Text: string(cp.Marshal())}, e.Dir.Signer)
		if err != nil {
			t.Fatal(err)
		}
		a := &auditor{t: t, cfg: fresh.cfg, state: fresh.state}
		a.cfg.Log = servedCheckpoint{fetcher(t, e), forged}
		a.expect("fork")
	})
	t.Run("witness missing", func(t *testing.T) {
		_, vkey, _ := note.GenerateKey(rand.Reader, "witness.test/w1")
		cv, _ := fnote.VKeyToCosignatureV1(vkey)
		wv, _ := fnote.NewVerifierForCosignatureV1(cv)
		a := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier, Witnesses: []note.Verifier{wv}}}
		a.expect("witness_quorum")
	})
}

// TestReportsRecomputed: a published report is recomputed from the log
// byte for byte; a report changed after publication, and a report whose
// logged hash is of wrong figures, are flagged.
func TestReportsRecomputed(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	write(t, e, issuerRecord("4a1f9c2e"))
	write(t, e, registration("auth-1", "plate:B-1", []string{"criminal_investigation"}, 5))
	for i := range 30 {
		write(t, e, access(fmt.Sprint("obj-", i), "document", "", 0, ""))
	}
	period, _ := report.ParsePeriod(time.Now().UTC().Format("2006-01"))
	pub, err := e.Reports.Publish(context.Background(), period, e.AdminID)
	if err != nil {
		t.Fatal(err)
	}
	e.AwaitSize(t, pub.Index+1)
	a := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier, Reports: &audit.HTTPReports{Server: e.URL}}}
	if rep := a.expect(); rep.Reports != 1 {
		t.Fatalf("recomputed %d reports, want 1", rep.Reports)
	}
	// The same reports read from a directory, as for a static mirror; and
	// from an empty one, where the logged report is missing.
	dir := &auditor{t: t, cfg: a.cfg}
	dir.cfg.Reports = audit.DirReports{Dir: filepath.Join(e.Dir.Path, "reports")}
	if rep := dir.expect(); rep.Reports != 1 {
		t.Fatalf("recomputed %d reports from the directory, want 1", rep.Reports)
	}
	empty := &auditor{t: t, cfg: a.cfg}
	empty.cfg.Reports = audit.DirReports{Dir: t.TempDir()}
	empty.expect("report_missing")

	// The report's own bytes, changed on the server after publication.
	path := filepath.Join(e.Dir.Path, "reports", fmt.Sprintf("%s@%d.json", pub.Period, pub.Size))
	orig, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(orig), `"entries": `, `"entries": 1`, 1)), 0o644)
	fresh := &auditor{t: t, cfg: a.cfg}
	fresh.expect("report_tampered")
	os.WriteFile(path, orig, 0o644)

	// A report published with wrong figures, its hash logged: the hash
	// matches, the recomputation does not.
	var r report.Report
	json.Unmarshal(orig, &r)
	r.Entries.N += 1000
	r.Checkpoint.Size = pub.Size - 1
	wrong, _ := r.Marshal()
	sum := sha256.Sum256(wrong)
	os.WriteFile(filepath.Join(e.Dir.Path, "reports", fmt.Sprintf("%s@%d.json", pub.Period, pub.Size-1)), wrong, 0o644)
	write(t, e, journal.Record{Body: entry.Report{Period: pub.Period, CheckpointSize: int64(pub.Size - 1), ReportSHA256: hex.EncodeToString(sum[:]), Format: report.Format, By: e.AdminID}})
	rep := a.expect("report_mismatch")
	if !strings.Contains(rep.Findings[0].Message, "line ") {
		t.Fatalf("the mismatch does not name the differing line: %s", rep.Findings[0].Message)
	}
}

// TestRealFlowAuditsClean: what ombud itself writes — an issuer, a signed
// authorization, an ingest, permitted and denied reads through custody,
// a revocation, an erasure — audits clean, with every detail checked. The
// auditor and the gateway agree on how pseudonyms link a read to its
// authorization and its subjects.
func TestRealFlowAuditsClean(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	ctx := context.Background()
	analystTok := e.AddPrincipal(t, "analyst", ombud.RoleAnalyst, ombud.RoleIngestor)
	analyst := e.Principal(t, analystTok)
	auditorTok := e.AddPrincipal(t, "auditor", ombud.RoleAuditor)
	skey, vkey, _ := note.GenerateKey(rand.Reader, "court.example/d3")
	signer, _ := note.NewSigner(skey)
	if _, _, err := e.Custody.Access.RegisterIssuer(ctx, signer.Name(), "court", "EU-DE", vkey, e.AdminID); err != nil {
		t.Fatal(err)
	}
	a := ombud.Authorization{ID: "auth-7", Issuer: signer.Name(), Kind: "court_order", Case: "3 Gs 1/26", Purposes: []string{"criminal_investigation"},
		Classes: []string{"location"}, Subjects: []string{"plate:B-XY-123"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), MaxUses: 2, Jurisdiction: "EU-DE"}
	msg, _ := note.Sign(&note.Note{Text: a.Text()}, signer)
	if _, _, err := e.Custody.Access.RegisterAuthorization(ctx, msg, e.AdminID); err != nil {
		t.Fatal(err)
	}
	o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "location", Subjects: []string{"plate:B-XY-123"}, By: analyst.ID, Body: strings.NewReader("a position")})
	if err != nil {
		t.Fatal(err)
	}
	read := func(auth string) error {
		rel, err := e.Custody.Read(ctx, custody.ReadRequest{ID: o.ID, Purpose: "criminal_investigation", Principal: analyst, AuthorizationID: auth, Justification: "case 3 Gs 1/26"})
		if err == nil {
			rel.Body.Close()
		}
		return err
	}
	for range 2 {
		if err := read("auth-7"); err != nil {
			t.Fatal(err)
		}
	}
	if err := read("auth-7"); err == nil {
		t.Fatal("a third read under max-uses 2 was permitted")
	}
	if err := read(""); err == nil {
		t.Fatal("a sensitive read without an authorization was permitted")
	}
	if _, err := e.Custody.Access.Revoke(ctx, "auth-7", "order_quashed", e.AdminID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Custody.Erase(ctx, custody.Order{Object: o.ID, Reason: ombud.EraseCourtOrder, Authorization: "order 3 Gs 2/26", By: e.AdminID}); err != nil {
		t.Fatal(err)
	}
	if err := read("auth-7"); err == nil {
		t.Fatal("an erased object was read")
	}
	e.AwaitSize(t, e.Size(t))
	ad := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier, Details: &audit.HTTPDetails{Server: e.URL, Token: auditorTok}}}
	rep := ad.expect()
	if rep.Details < 8 {
		t.Fatalf("only %d details checked", rep.Details)
	}
	st := ad.state.Rules.Auths
	if len(st) != 1 {
		t.Fatalf("the auditor saw %d authorizations", len(st))
	}
	for _, as := range st {
		if as.Uses != 2 || as.Revoked == nil || len(as.Subjects) != 1 {
			t.Fatalf("the auditor's view of the authorization: %+v", as)
		}
	}
}

// TestAuditorReport: in auditor mode the report has the published
// figures and what became of every detail record of the period; a run
// resumed from state still reads the whole period, and a detail altered
// after an earlier run verified it is a finding, reported once.
func TestAuditorReport(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	auditorTok := e.AddPrincipal(t, "auditor", ombud.RoleAuditor)
	write(t, e, issuerRecord("4a1f9c2e"))
	write(t, e, registration("auth-1", "plate:B-1", []string{"criminal_investigation"}, 5))
	first := write(t, e, access("obj-1", "location", "auth-1", 1, "plate:B-1"))
	write(t, e, access("obj-2", "location", "auth-1", 2, "plate:B-1"))
	write(t, e, flag("flag-1", "ingestor1")) // commits to no detail
	period, _ := report.ParsePeriod(time.Now().UTC().Format("2006-01"))
	details := &audit.HTTPDetails{Server: e.URL, Token: auditorTok}
	a := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier, Details: details, AuditorReport: &period}}
	rep := a.expect()
	r := rep.AuditorReport
	if r == nil || r.Auditor == nil {
		t.Fatal("no auditor-mode report")
	}
	want := []report.DetailRow{
		{Kind: "access", Status: report.DetailVerified, Count: report.Count{N: 2}},
		{Kind: "authorization", Status: report.DetailVerified, Count: report.Count{N: 1}},
		{Kind: "policy", Status: report.DetailVerified, Count: report.Count{N: 1}},
		{Kind: "principal", Status: report.DetailVerified, Count: report.Count{N: 2}},
	}
	if !slices.Equal(r.Auditor.Details, want) {
		t.Fatalf("auditor figures %+v, want %+v", r.Auditor.Details, want)
	}
	// The auditor's figures are exact, where the public ones are banded.
	full, _ := r.Marshal()
	var generic struct {
		Entries any `json:"entries"`
		Auditor struct {
			Details []struct {
				Count any `json:"count"`
			} `json:"details_by_kind_and_status"`
		} `json:"auditor"`
	}
	if err := json.Unmarshal(full, &generic); err != nil || generic.Entries != "1-9" || generic.Auditor.Details[1].Count != 1.0 {
		t.Fatalf("banding in the auditor-mode report: %v\n%s", err, full)
	}
	// The public part is the report anyone computes from the log.
	f := fetcher(t, e)
	pub := report.Compute(report.Options{Origin: e.Dir.Verifier.Name(), Period: period, Checkpoint: r.Checkpoint}, func(yield func([]byte) bool) {
		for bi := uint64(0); bi*layout.EntryBundleWidth < rep.Size; bi++ {
			raw, err := f.ReadEntryBundle(context.Background(), bi, layout.PartialTileSize(0, bi, rep.Size))
			var eb api.EntryBundle
			if err != nil || eb.UnmarshalText(raw) != nil {
				t.Fatalf("entry bundle %d: %v", bi, err)
			}
			for _, leaf := range eb.Entries {
				if !yield(leaf) {
					return
				}
			}
		}
	})
	r.Auditor = nil
	got, _ := r.Marshal()
	exp, _ := pub.Marshal()
	if !bytes.Equal(got, exp) {
		t.Fatalf("the auditor-mode report's public figures differ from the public report:\n%s\n%s", got, exp)
	}

	// Resumed: the new entry is checked by the run, the old ones by the
	// report's pass, which finds the altered one.
	write(t, e, access("obj-3", "document", "", 0, ""))
	a.cfg.Details = tamperDetail{details, first}
	rep = a.expect("detail_mismatch")
	if rep.Findings[0].Index == nil || *rep.Findings[0].Index != first {
		t.Fatalf("the finding is not for entry %d: %+v", first, rep.Findings[0])
	}
	if rows := rep.AuditorReport.Auditor.Details; len(rows) != 5 || rows[0] != (report.DetailRow{Kind: "access", Status: report.DetailMismatch, Count: report.Count{N: 1}}) ||
		rows[1] != (report.DetailRow{Kind: "access", Status: report.DetailVerified, Count: report.Count{N: 2}}) {
		t.Fatalf("auditor figures after the alteration: %+v", rows)
	}
	// Reported once: the next run has it among the earlier findings.
	if rep = a.expect(); len(rep.Earlier) != 1 {
		t.Fatalf("earlier findings %v", rep.Earlier)
	}

	// The report's pass reads the log a second time: a log that answers it
	// with other entries is caught, and no report is made from them.
	forged := &auditor{t: t, cfg: a.cfg}
	forged.cfg.Details = details
	forged.cfg.Log = forgedOnSecondRead{Fetcher: fetcher(t, e), mu: new(sync.Mutex), reads: new(int)}
	if rep := forged.expect("root_mismatch"); rep.AuditorReport != nil || forged.state != nil {
		t.Fatalf("a report or a state from a second read that does not verify: %v %v", rep.AuditorReport != nil, forged.state != nil)
	}
}

// TestDirReports: reports are read by their name, custom periods
// included; a period with a path separator is refused.
func TestDirReports(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "2026-11-01..2026-11-15@5.json"), []byte(`{}`), 0o644)
	d := audit.DirReports{Dir: dir}
	if b, err := d.Report(context.Background(), "2026-11-01..2026-11-15", 5); err != nil || string(b) != "{}" {
		t.Fatalf("custom period: %q %v", b, err)
	}
	for _, p := range []string{"2026-11", "../x", `a\b`} {
		if _, err := d.Report(context.Background(), p, 5); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%q: %v, want not found", p, err)
		}
	}
}

// endless is a body that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// TestHostileSizesAreBounded: a log that answers with an endless entry
// bundle, an endless checkpoint or endless detail records makes the audit
// fail with ErrTooLarge, having read no more than the format allows.
func TestHostileSizesAreBounded(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	fill(t, e, 10)
	e.AwaitSize(t, e.Size(t))
	auditorTok := e.AddPrincipal(t, "auditor", ombud.RoleAuditor)
	real, _ := url.Parse(e.URL)
	for _, endlessPath := range []string{"/log/tile/entries/000.p/", "/log/checkpoint", "/v1/audit/details"} {
		var served atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, endlessPath) {
				n, _ := io.Copy(w, io.LimitReader(endless{}, 2*audit.MaxDetailsBytes))
				served.Add(n)
				return
			}
			httputil.NewSingleHostReverseProxy(real).ServeHTTP(w, r)
		}))
		hc := audit.LimitedClient(nil)
		u, _ := url.Parse(srv.URL + "/log/")
		f, err := client.NewHTTPFetcher(u, hc)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = audit.Run(context.Background(), audit.Config{Log: f, Verifier: e.Dir.Verifier, Reports: &audit.HTTPReports{Server: e.URL, Client: hc},
			Details: &audit.HTTPDetails{Server: srv.URL, Token: auditorTok, Client: hc}})
		srv.Close()
		// Tessera's fetcher wraps the cause as text.
		if err == nil || !strings.Contains(err.Error(), audit.ErrTooLarge.Error()) {
			t.Fatalf("%s served without end: audit said %v", endlessPath, err)
		}
		if n := served.Load(); n >= 2*audit.MaxDetailsBytes {
			t.Fatalf("%s: the auditor read all %d bytes", endlessPath, n)
		}
	}
}

// recipientRecord registers or retires recipient id, with its detail on
// a registration.
func recipientRecord(op, id string) journal.Record {
	r := journal.Record{Body: entry.Recipient{Op: op, RecipientCategory: "foreign_authority", Jurisdiction: "EU-FR", Recipient: id, By: "admin1"}}
	if op == entry.OpRegister {
		r.Detail = entry.RecipientDetail{ID: id, Key: "age1example", Name: "Police nationale, unit 12"}
	}
	return r
}

// exportRecord is a permitted export to recipient rcp under authorization
// auth, of the given "CLASS:N" counts.
func exportRecord(rcp, auth string, crossBorder bool, counts ...string) journal.Record {
	var n int64
	for _, c := range counts {
		_, k, _ := strings.Cut(c, ":")
		m, _ := strconv.ParseInt(k, 10, 64)
		n += m
	}
	return journal.Record{Body: entry.Export{Decision: entry.Permit, Purpose: "mutual_legal_assistance", RecipientCategory: "foreign_authority", Jurisdiction: "EU-FR",
		CrossBorder: crossBorder, ClassCounts: counts, Objects: n, Reasons: []string{"authorization_in_scope"}, Use: 1, AuthKind: "court_order",
		Export: "exp-" + rcp, Recipient: rcp, Authorization: auth, By: "analyst1"},
		Detail: entry.ExportDetail{Export: "exp-" + rcp, Objects: []string{"obj-5"}, Principal: "analyst1"}}
}
