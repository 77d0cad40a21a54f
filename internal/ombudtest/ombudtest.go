// Package ombudtest starts a real ombud deployment in-process for tests: a
// fresh data directory, the SQLite store, the Tessera log and the API served
// on a loopback port.
package ombudtest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"k8s.io/klog/v2"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/buildinfo"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/gateway"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/publish"
	"github.com/ombud/ombud/report"
	"github.com/ombud/ombud/store/sqldb"
	"github.com/ombud/ombud/tlog"
	"github.com/ombud/ombud/web"
	"github.com/ombud/ombud/witness"
)

// Tessera's klog output goes to a warn-level slog logger, set when the
// test binary starts: klog's logger is process-wide and not safe to change
// while a log that a test opened without this package is running.
func init() {
	klog.SetSlogLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// Env is a running deployment.
type Env struct {
	Gateway    *gateway.Gateway
	Dir        *datadir.Dir
	Store      *sqldb.Store
	Log        *tlog.Log
	Journal    *journal.Journal
	Custody    *custody.Service
	Server     *httptest.Server
	URL        string
	AdminToken string
	AdminID    string
	// SecondAdminToken and SecondAdminID are the admin who approves the
	// first's privileged requests in QuorumMode ("" otherwise).
	SecondAdminToken string
	SecondAdminID    string
	Reports          *publish.Service
	// Witnesses cosign the log's checkpoints (see Witnessed), served by
	// WitnessServers in the same order.
	Witnesses      []web.Witness
	WitnessServers []*httptest.Server
	// WitnessDown, when set for a witness, makes it answer 503 to every
	// request, as a witness that is down.
	WitnessDown []*atomic.Bool
}

// Option configures New.
type Option func(*options)

type options struct {
	witnesses, quorum int
	config            []func(*datadir.Config)
	prepare           []func(*datadir.Dir)
	dataDir           string
	build             *buildinfo.Running
}

// Built opens the deployment as ombud serve does, with this test binary's
// build: the gateway logs its build entry first, and the pages show it.
func Built() Option {
	return func(o *options) {
		b, err := buildinfo.Current()
		if err != nil {
			panic(err)
		}
		o.build = b
	}
}

// Prepare runs f on the data directory after it is created and before the
// deployment opens it (to mount a filesystem at its log, say).
func Prepare(f func(*datadir.Dir)) Option {
	return func(o *options) { o.prepare = append(o.prepare, f) }
}

// Witnessed runs an ombud witness for the log, in-process on loopback, and
// makes the log publish only checkpoints it cosigned.
func Witnessed() Option { return WitnessedBy(1, 1) }

// WitnessedBy runs n ombud witnesses for the log, w1 to wn, and makes the
// log publish only checkpoints that quorum of them cosigned.
func WitnessedBy(n, quorum int) Option {
	return func(o *options) { o.witnesses, o.quorum = n, quorum }
}

// Config changes the deployment's configuration before it is opened.
func Config(f func(*datadir.Config)) Option {
	return func(o *options) { o.config = append(o.config, f) }
}

// DataDir puts the data directory at path (which must not exist or be
// empty) instead of a fresh temporary directory.
func DataDir(path string) Option { return func(o *options) { o.dataDir = path } }

// Jurisdiction is the jurisdiction New gives a deployment.
const Jurisdiction = "EU-DE"

// New starts a deployment, in jurisdiction EU-DE, and stops it when the
// test ends.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	path := o.dataDir
	if path == "" {
		path = t.TempDir() + "/data"
	}
	dir, err := datadir.Create(path, datadir.CreateOptions{Origin: "test.ombud/log", Jurisdiction: Jurisdiction})
	if err != nil {
		t.Fatalf("datadir.Create: %v", err)
	}
	for _, f := range o.config {
		f(&dir.Config)
	}
	if err := dir.Config.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	for _, f := range o.prepare {
		f(dir)
	}
	var policy []byte
	var witnessServers []*httptest.Server
	var witnessDown []*atomic.Bool
	if o.witnesses > 0 {
		policy, witnessServers, witnessDown = startWitnesses(t, dir.VerifierKey, o.witnesses, o.quorum)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	g, err := gateway.Open(ctx, dir, gateway.Options{Logger: logger, WitnessPolicy: policy, Build: o.build,
		BatchMaxAge: 5 * time.Millisecond, CheckpointInterval: 100 * time.Millisecond, MaxBodyBytes: 64 << 10})
	if err != nil {
		t.Fatalf("gateway.Open: %v", err)
	}
	e := &Env{Gateway: g, Dir: dir, Store: g.Store, Log: g.Log, Journal: g.Journal, Custody: g.Custody, Reports: g.Reports,
		Witnesses: g.Witnesses, WitnessServers: witnessServers, WitnessDown: witnessDown}
	p, tok, _, err := e.Custody.AddPrincipal(ctx, "admin", []ombud.Role{ombud.RoleAdmin}, "")
	if err != nil {
		t.Fatalf("AddPrincipal: %v", err)
	}
	e.AdminToken, e.AdminID = tok.Reveal(), p.ID
	var h http.Handler = g.Handler()
	if QuorumMode() {
		e.enableQuorum(t)
		h = SecondAdmin(h, h, [2]string{e.AdminToken, e.SecondAdminToken})
	}
	e.Server = httptest.NewServer(h) // binds 127.0.0.1
	e.URL = e.Server.URL
	t.Cleanup(func() {
		for _, d := range witnessDown {
			d.Store(false) // so that the log's last checkpoint can be cosigned
		}
		e.Server.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := g.Close(cctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return e
}

// AddPrincipal creates a principal directly and returns its token; in
// QuorumMode an admin is created through the API, on two admins' word.
func (e *Env) AddPrincipal(t testing.TB, name string, roles ...ombud.Role) string {
	t.Helper()
	if QuorumMode() && ombud.GrantsPrivilege(roles) {
		b, _ := json.Marshal(apiv1.CreatePrincipal{Name: name, Roles: roles})
		resp := e.AsAdmin(t, "POST", "/v1/principals", string(b))
		var p apiv1.Principal
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("AddPrincipal of an admin: %d %v", resp.StatusCode, err)
		}
		return p.Token
	}
	_, tok, _, err := e.Custody.AddPrincipal(context.Background(), name, roles, e.AdminID)
	if err != nil {
		t.Fatalf("AddPrincipal: %v", err)
	}
	return tok.Reveal()
}

// AwaitSize waits until a published checkpoint covers n entries.
func (e *Env) AwaitSize(t testing.TB, n uint64) {
	t.Helper()
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := e.Log.AwaitCheckpoint(ctx, n-1); err != nil {
		t.Fatalf("no checkpoint of size %d: %v", n, err)
	}
}

// Do sends a request with an optional bearer token and returns the response.
func (e *Env) Do(t testing.TB, method, path, token, contentType, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+path, stringsReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// EntryAt returns the body of the log's entry at index, once a
// checkpoint covers it.
func (e *Env) EntryAt(t testing.TB, index uint64) entry.Body {
	t.Helper()
	b, err := e.Entry(t, index).Body()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Entry waits for the entry at index to be published and returns it
// parsed: its envelope, fields and references.
func (e *Env) Entry(t testing.TB, index uint64) *entry.Entry {
	t.Helper()
	// A partial bundle exists only at the end of a batch: read up to the
	// log's size, which one checkpoint covers.
	size := max(e.Size(t), index+1)
	e.AwaitSize(t, size)
	leaves, err := e.Log.Leaves(context.Background(), index, size)
	if err != nil {
		t.Fatal(err)
	}
	en, err := entry.Parse(leaves[0])
	if err != nil {
		t.Fatal(err)
	}
	return en
}

// Size returns the log's integrated size.
func (e *Env) Size(t testing.TB) uint64 {
	t.Helper()
	n, err := e.Log.IntegratedSize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *Env) String() string { return fmt.Sprintf("ombud at %s", e.URL) }

// Principal returns the principal a token belongs to.
func (e *Env) Principal(t testing.TB, token string) *ombud.Principal {
	t.Helper()
	tok, err := ombud.ParseToken(token)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Store.Principal(context.Background(), tok.PrincipalID())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startWitnesses runs n ombud witnesses for the log whose verifier key is
// vkey and returns the gateway's witness policy naming them, with a group
// of quorum of them as its quorum.
func startWitnesses(t testing.TB, vkey string, n, quorum int) ([]byte, []*httptest.Server, []*atomic.Bool) {
	t.Helper()
	l, err := witness.ParseLog(vkey)
	if err != nil {
		t.Fatal(err)
	}
	var policy strings.Builder
	var names []string
	var servers []*httptest.Server
	var downs []*atomic.Bool
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("w%d", i)
		skey, wvkey, err := note.GenerateKey(rand.Reader, "witness.test/"+name)
		if err != nil {
			t.Fatal(err)
		}
		signer, err := witness.NewSigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		w, err := witness.New(t.TempDir(), signer, []witness.Log{l})
		if err != nil {
			t.Fatal(err)
		}
		down := new(atomic.Bool)
		h := w.Handler()
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(rw, "down", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(rw, r)
		}))
		downs = append(downs, down)
		t.Cleanup(srv.Close)
		cv, err := witness.VerifierKey(wvkey)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&policy, "witness %s %s %s/\n", name, cv, srv.URL)
		names = append(names, name)
		servers = append(servers, srv)
	}
	fmt.Fprintf(&policy, "group g %d %s\nquorum g\n", quorum, strings.Join(names, " "))
	return []byte(policy.String()), servers, downs
}

// Issuer is an authority's key pair, for signing authorizations in tests.
type Issuer struct {
	Signer note.Signer
	VKey   string
}

// NewIssuer makes a key pair named name, unregistered.
func NewIssuer(t testing.TB, name string) *Issuer {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return &Issuer{Signer: s, VKey: vkey}
}

// Court registers court.example/district-3, a court of EU-DE, and returns
// its key pair.
func (e *Env) Court(t testing.TB) *Issuer {
	t.Helper()
	c := NewIssuer(t, "court.example/district-3")
	if QuorumMode() {
		b, _ := json.Marshal(apiv1.RegisterIssuer{Name: c.Signer.Name(), Kind: "court", Jurisdiction: Jurisdiction, Key: c.VKey})
		if resp := e.AsAdmin(t, "POST", "/v1/issuers", string(b)); resp.StatusCode != http.StatusCreated {
			t.Fatalf("registering the court: %d", resp.StatusCode)
		}
		return c
	}
	if _, _, err := e.Custody.Access.RegisterIssuer(context.Background(), c.Signer.Name(), "court", Jurisdiction, c.VKey, e.AdminID); err != nil {
		t.Fatal(err)
	}
	return c
}

// Sign signs a as i (its issuer set to i's name).
func (i *Issuer) Sign(t testing.TB, a ombud.Authorization) []byte {
	t.Helper()
	a.Issuer = i.Signer.Name()
	msg, err := note.Sign(&note.Note{Text: a.Text()}, i.Signer)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// Authorization is a court order of EU-DE for criminal investigation of
// location data about plate:B-XY-123, valid for a day, for max uses.
func Authorization(id string, max int) ombud.Authorization {
	now := time.Now().UTC().Truncate(time.Second)
	return ombud.Authorization{ID: id, Kind: "court_order", Case: "3 Gs 117/26", Purposes: []string{"criminal_investigation"},
		Classes: []string{"location"}, Subjects: []string{"plate:B-XY-123"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		MaxUses: max, Jurisdiction: Jurisdiction}
}

// Authorize registers a, signed by i.
func (e *Env) Authorize(t testing.TB, i *Issuer, a ombud.Authorization) {
	t.Helper()
	if _, _, err := e.Custody.Access.RegisterAuthorization(context.Background(), i.Sign(t, a), e.AdminID); err != nil {
		t.Fatal(err)
	}
}

// Get fetches url, fails t unless the answer is 200, and returns its body.
func Get(t testing.TB, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("GET %s: %d %v\n%.300s", url, resp.StatusCode, err, b)
	}
	return b
}

// Report computes the transparency report of the whole log so far over
// the given span, as the server and the auditor do.
func (e *Env) Report(t testing.TB, start, end time.Time) *report.Report {
	t.Helper()
	size := e.Size(t)
	e.AwaitSize(t, size)
	leaves, err := e.Log.Leaves(context.Background(), 0, size)
	if err != nil {
		t.Fatal(err)
	}
	return report.Compute(report.Options{Period: report.Period{Name: "test", Start: start, End: end}}, func(yield func([]byte) bool) {
		for _, l := range leaves {
			if !yield(l) {
				return
			}
		}
	})
}

// ReportNow is Report over the day around now.
func (e *Env) ReportNow(t testing.TB) *report.Report {
	now := time.Now().UTC()
	return e.Report(t, now.Add(-24*time.Hour), now.Add(24*time.Hour))
}

// BlobFile is the file that holds object id's ciphertext in the
// deployment's file:// bucket: for tests that damage or inspect it.
func (e *Env) BlobFile(id string) string {
	return filepath.Join(e.Dir.BlobPath(), filepath.FromSlash(blob.Key(id)))
}
