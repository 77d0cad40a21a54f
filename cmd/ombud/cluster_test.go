package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	ombudclient "github.com/ombud/ombud/client"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/mysqltest"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/internal/pgtest"
	"github.com/ombud/ombud/reason"
)

// cluster is several 'ombud serve' processes sharing one data directory:
// one PostgreSQL store, one log in MariaDB, one bucket.
type cluster struct {
	bin, dir, store string
	gateways        []*child
	admin           string
	dd              *datadir.Dir
}

// startCluster starts n gateways on a fresh PostgreSQL schema: the first
// creates the deployment, the others join it.
func startCluster(t *testing.T, n int) *cluster { return startClusterWith(t, n, nil) }

// startClusterWith starts a cluster as startCluster does; with prepare,
// the data directory is made first (ombud init), prepare may change its
// configuration, and then every gateway joins it.
func startClusterWith(t *testing.T, n int, prepare func(dir string)) *cluster {
	t.Helper()
	store, logURL := pgtest.URL(t), mysqltest.URL(t)
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{bin: bin, dir: filepath.Join(t.TempDir(), "data"), store: store}
	var first *child
	if prepare != nil {
		cmd := exec.Command(bin, "init", "--data", c.dir, "--store", store, "--log-url", logURL, "--jurisdiction", ombudtest.Jurisdiction)
		cmd.Env = append(os.Environ(), childEnv...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ombud init: %v", err)
		}
		c.admin = lastLine(string(out))
		prepare(c.dir)
		first = startChild(t, bin, c.dir)
	} else {
		first = startChild(t, bin, c.dir, "--store", store, "--log-url", logURL, "--jurisdiction", ombudtest.Jurisdiction)
		c.admin = first.token(t)
	}
	c.gateways = append(c.gateways, first)
	for range n - 1 {
		// The URLs are in ombud.toml now.
		c.gateways = append(c.gateways, startChild(t, bin, c.dir))
	}
	if ombudtest.QuorumMode() {
		c.enableQuorum(t)
	}
	if c.dd, err = datadir.Open(c.dir); err != nil {
		t.Fatal(err)
	}
	return c
}

// twoGateways starts a cluster of two gateways for a test that may run
// beside others, and a context that ends with the test, within 2 min.
// enableQuorum, in ombudtest.QuorumMode, creates a second admin and
// enables the quorum, and puts each gateway behind a proxy on which an
// admin's privileged request is proposed on that gateway and approved by
// the other admin on the next (ombudtest.SecondAdmin), or on the same one
// when the next is down: the deployment runs as two admins on two
// gateways would run it.
func (c *cluster) enableQuorum(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	p, err := c.client(t, 0, c.admin).CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "second-admin", Roles: []ombud.Role{ombud.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.client(t, len(c.gateways)-1, c.admin).SetQuorum(ctx, apiv1.SetQuorum{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	direct := make([]http.Handler, len(c.gateways))
	for i, g := range c.gateways {
		u, err := url.Parse(g.url)
		if err != nil {
			t.Fatal(err)
		}
		direct[i] = &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }}
	}
	for i, g := range c.gateways {
		next := direct[(i+1)%len(direct)]
		approver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			if rec.Code == http.StatusBadGateway { // the next gateway is down
				direct[i].ServeHTTP(w, r)
				return
			}
			ombudtest.CopyResponse(w, rec)
		})
		srv := httptest.NewServer(ombudtest.SecondAdmin(direct[i], approver, [2]string{c.admin, p.Token}))
		t.Cleanup(srv.Close)
		g.url = srv.URL
	}
}

func twoGateways(t *testing.T) (*cluster, context.Context) { return twoGatewaysWith(t, nil) }

// twoGatewaysWith is twoGateways on a data directory prepare may change
// first (startClusterWith).
func twoGatewaysWith(t *testing.T, prepare func(dir string)) (*cluster, context.Context) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs two gateways")
	}
	t.Parallel()
	c := startClusterWith(t, 2, prepare)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c, ctx
}

func (c *cluster) fetcher(t *testing.T) *client.HTTPFetcher { return logFetcher(t, c.gateways[0].url) }

// logFetcher reads the log a server serves at /log/.
func logFetcher(t *testing.T, server string) *client.HTTPFetcher {
	t.Helper()
	u, err := url.Parse(server + "/log/")
	if err != nil {
		t.Fatal(err)
	}
	f, err := client.NewHTTPFetcher(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (c *cluster) client(t *testing.T, i int, token string) *ombudclient.Client {
	t.Helper()
	cl, err := ombudclient.New(c.gateways[i%len(c.gateways)].url, token)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// entries returns the log's entries up to its published checkpoint, read
// as a verifier reads them, from the first gateway's /log/.
func (c *cluster) entries(t *testing.T) []*entry.Entry {
	return logEntries(t, c.gateways[0].url, c.dd.Verifier)
}

// logEntries returns the entries of the log a server serves, up to its
// published checkpoint, read as a verifier reads them.
func logEntries(t *testing.T, server string, v note.Verifier) []*entry.Entry {
	t.Helper()
	ctx := context.Background()
	f := logFetcher(t, server)
	cp, _, _, err := client.FetchCheckpoint(ctx, f.ReadCheckpoint, v, v.Name())
	if err != nil {
		t.Fatal(err)
	}
	var out []*entry.Entry
	for i := uint64(0); i*256 < cp.Size; i++ {
		b, err := client.GetEntryBundle(ctx, f.ReadEntryBundle, i, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		for _, leaf := range b.Entries {
			e, err := entry.Parse(leaf)
			if err != nil {
				t.Fatalf("entry %d: %v", len(out), err)
			}
			out = append(out, e)
		}
	}
	return out
}

// awaitSize waits until the published checkpoint covers index.
func (c *cluster) awaitSize(t *testing.T, index uint64) {
	t.Helper()
	var size uint64
	f := c.fetcher(t)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		cp, _, _, err := client.FetchCheckpoint(context.Background(), f.ReadCheckpoint, c.dd.Verifier, c.dd.Verifier.Name())
		if err == nil {
			if size = cp.Size; size > index {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the checkpoint stayed at %d, short of entry %d", size, index)
}

// setUp registers a court and an authorization, and ingests one object of
// a sensitive class it covers; it returns the object and an analyst's
// token.
func (c *cluster) setUp(t *testing.T, ctx context.Context, court *ombudtest.Issuer, auths ...ombud.Authorization) (object, analyst string) {
	t.Helper()
	ac := c.client(t, 0, c.admin)
	if _, err := ac.RegisterIssuer(ctx, apiv1.RegisterIssuer{Name: court.Signer.Name(), Kind: "court", Jurisdiction: ombudtest.Jurisdiction, Key: court.VKey}); err != nil {
		t.Fatal(err)
	}
	for i, a := range auths {
		// Over both gateways: each registers some.
		if _, err := c.client(t, i, c.admin).RegisterAuthorization(ctx, court.Sign(t, a)); err != nil {
			t.Fatal(err)
		}
	}
	in, err := ac.CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "camera", Roles: []ombud.Role{ombud.RoleIngestor}})
	if err != nil {
		t.Fatal(err)
	}
	an, err := ac.CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "analyst", Roles: []ombud.Role{ombud.RoleAnalyst}})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("a location record")
	o, err := c.client(t, 1, in.Token).PutObject(ctx, bytes.NewReader(body), ombudclient.Put{Class: "location", Subjects: []string{"plate:B-XY-123"}, Source: "cam-1", Size: int64(len(body))})
	if err != nil {
		t.Fatal(err)
	}
	return o.ID, an.Token
}

// TestClusterExactUses: 64 clients, spread over two gateways, read under
// one authorization of 10 uses at once. Exactly 10 are permitted, and
// the log holds each of the 64 decisions once.
func TestClusterExactUses(t *testing.T) {
	c, ctx := twoGateways(t)
	court := ombudtest.NewIssuer(t, "court.example/district-3")
	object, analyst := c.setUp(t, ctx, court, ombudtest.Authorization("order-10", 10))
	const clients = 64
	var permits, denials atomic.Int32
	receipts := make([]uint64, clients) // every decision's entry
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range clients {
		cl := c.client(t, i, analyst)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			o, err := cl.GetObject(ctx, object, ombudclient.Read{Purpose: "criminal_investigation", Authorization: "order-10"})
			var ae *ombudclient.Error
			switch {
			case err == nil:
				io.Copy(io.Discard, o)
				o.Close()
				receipts[i], _ = strconv.ParseUint(o.Receipt, 10, 64)
				permits.Add(1)
			case errors.As(err, &ae) && ae.Reason == reason.AuthExhausted && ae.Receipt != nil:
				receipts[i] = *ae.Receipt
				denials.Add(1)
			default:
				t.Errorf("client %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if permits.Load() != 10 || denials.Load() != clients-10 {
		t.Fatalf("%d permits and %d denials, want 10 and %d", permits.Load(), denials.Load(), clients-10)
	}
	c.awaitSize(t, slices.Max(receipts))
	es := c.entries(t)
	auth := c.dd.Linkage.Pseudonym("authorization", "order-10")
	var logged, logPermits int
	var uses []int
	for _, e := range es {
		if e.Kind == entry.KindAccess && len(e.Refs["authorization"]) > 0 && e.Refs["authorization"][0] == auth {
			logged++
			if e.Fields["decision"] == entry.Permit {
				logPermits++
				u, _ := strconv.Atoi(fmt.Sprint(e.Fields["use"]))
				uses = append(uses, u)
			}
		}
	}
	// Each permit states which use it was, by the deployment's count.
	slices.Sort(uses)
	if fmt.Sprint(uses) != "[1 2 3 4 5 6 7 8 9 10]" {
		t.Errorf("the permits state the uses %v, want 1 to 10 once each", uses)
	}
	if logged != clients || logPermits != 10 {
		t.Fatalf("the log holds %d decisions under the authorization, %d permits; want %d and 10", logged, logPermits, clients)
	}
	a, err := c.client(t, 1, c.admin).Authorization(ctx, "order-10")
	if err != nil || a.Uses != 10 {
		t.Fatalf("the store counts %+v uses (%v), want 10", a, err)
	}
}

// TestClusterRevocationOrder: reads on one gateway race the revocation of
// their authorization on the other, again and again. No permit under an
// authorization follows its revocation in the log.
func TestClusterRevocationOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two gateways")
	}
	t.Parallel()
	c := startCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	court := ombudtest.NewIssuer(t, "court.example/district-3")
	const rounds = 12
	var auths []ombud.Authorization
	for i := range rounds {
		auths = append(auths, ombudtest.Authorization(fmt.Sprintf("order-%d", i), 1000))
	}
	object, analyst := c.setUp(t, ctx, court, auths...)
	revoked := map[string]uint64{} // pseudonym → the revocation's entry
	var readsAfter atomic.Int32
	for i, a := range auths {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var permitted atomic.Int32
		for range 8 {
			cl := c.client(t, 0, analyst)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					o, err := cl.GetObject(ctx, object, ombudclient.Read{Purpose: "criminal_investigation", Authorization: a.ID})
					if err == nil {
						io.Copy(io.Discard, o)
						o.Close()
						permitted.Add(1)
					}
				}
			}()
		}
		// Revoke once a few reads went through.
		for permitted.Load() < int32(2+i%5) {
			time.Sleep(time.Millisecond)
		}
		r, err := c.client(t, 1, c.admin).RevokeAuthorization(ctx, a.ID, apiv1.Revoke{Reason: "order_quashed"})
		if err != nil {
			t.Fatal(err)
		}
		revoked[c.dd.Linkage.Pseudonym("authorization", a.ID)] = r.Receipt
		time.Sleep(20 * time.Millisecond) // reads go on past the revocation
		readsAfter.Add(permitted.Load())
		close(stop)
		wg.Wait()
	}
	es := c.entries(t)
	var permits, denials int
	for i, e := range es {
		if e.Kind != entry.KindAccess || len(e.Refs["authorization"]) == 0 {
			continue
		}
		at, ok := revoked[e.Refs["authorization"][0]]
		if !ok {
			continue
		}
		switch {
		case e.Fields["decision"] == entry.Permit && uint64(i) > at:
			t.Errorf("entry %d permits a read under an authorization revoked at entry %d", i, at)
		case e.Fields["decision"] == entry.Permit:
			permits++
		case uint64(i) > at:
			denials++
		}
	}
	if permits == 0 || denials == 0 {
		t.Fatalf("%d permits before and %d denials after the revocations: the reads did not race them", permits, denials)
	}
	t.Logf("%d rounds: %d permits before the revocations, %d denials after", rounds, permits, denials)
}

// TestClusterLosesAGateway: a run's bulk read is going through one
// gateway when it is killed with SIGKILL, while ingests go on through
// both. The other gateway goes on serving, the run resumes on it where
// the client stopped, every object released has its permit in the log,
// and the audit of the log is clean.
func TestClusterLosesAGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a gateway")
	}
	t.Parallel()
	c := startCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ac := c.client(t, 0, c.admin)
	sys, err := ac.RegisterSystem(ctx, apiv1.RegisterSystem{Name: "plate-reader", Vendor: "vendor-y", Task: "plate_reading", Classes: []string{"general"},
		Model: "anpr", Version: "2.0", Accuracy: apiv1.Accuracy{Threshold: 0.9, Source: "vendor-y-datasheet"}})
	if err != nil {
		t.Fatal(err)
	}
	ingestor, err := ac.CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "ingest", Roles: []ombud.Role{ombud.RoleIngestor}})
	if err != nil {
		t.Fatal(err)
	}
	machine, err := ac.CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "anpr runner", Roles: []ombud.Role{ombud.RoleSystem}, System: sys.ID})
	if err != nil {
		t.Fatal(err)
	}
	const n = 600
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	body := bytes.Repeat([]byte{'x'}, 4096)
	for w := range 32 {
		ic := c.client(t, w, ingestor.Token)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				o, err := ic.PutObject(ctx, bytes.NewReader(body), ombudclient.Put{Class: "general", Source: "cam-1", Size: int64(len(body))})
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = o.ID
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	killed, survivor := c.gateways[0], c.gateways[1]
	mc := c.client(t, 0, machine.Token)
	started, err := mc.StartRun(ctx, apiv1.StartRun{System: sys.ID, Version: "2.0", Purpose: "criminal_investigation", Objects: ids})
	if err != nil {
		t.Fatal(err)
	}
	// A bounded load on both gateways meanwhile: ingests, until the end.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var acked sync.Map // object id → true, acknowledged
	var loadWG sync.WaitGroup
	for w := range 4 {
		ic := c.client(t, w, ingestor.Token)
		loadWG.Add(1)
		go func() {
			defer loadWG.Done()
			for k := 0; k < 200 && loadCtx.Err() == nil; k++ {
				o, err := ic.PutObject(loadCtx, bytes.NewReader(body[:64]), ombudclient.Put{Class: "general", Source: "cam-2", Size: 64})
				if err == nil {
					acked.Store(o.ID, true)
				}
			}
		}()
	}
	type got struct {
		object  string
		receipt uint64
	}
	var received []got
	s, err := mc.ReadRun(ctx, started.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for len(received) < 200 {
		p, err := s.Next()
		if err != nil {
			t.Fatalf("after %d parts: %v", len(received), err)
		}
		received = append(received, got{p.Object, p.Receipt})
		if _, err := io.Copy(io.Discard, p.Body); err != nil {
			t.Fatal(err)
		}
	}
	if err := killed.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed.cmd.Wait()
	for {
		p, err := s.Next()
		if err != nil {
			break
		}
		if _, err := io.Copy(io.Discard, p.Body); err != nil {
			break
		}
		received = append(received, got{p.Object, p.Receipt})
	}
	s.Close()
	if len(received) >= n {
		t.Fatal("the whole run arrived before the kill; not a crash test")
	}
	// The run resumes on the survivor where the client stopped.
	sc, err := ombudclient.New(survivor.url, machine.Token)
	if err != nil {
		t.Fatal(err)
	}
	beforeKill := len(received)
	s, err = sc.ReadRun(ctx, started.ID, len(received))
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("resumed after %d parts: %v", len(received), err)
		}
		received = append(received, got{p.Object, p.Receipt})
		if _, err := io.Copy(io.Discard, p.Body); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if len(received) != n {
		t.Fatalf("%d parts in all, want %d", len(received), n)
	}
	stopLoad()
	loadWG.Wait()
	// Every acknowledged ingest is recorded, as the survivor says.
	var nacked int
	admin, _ := ombudclient.New(survivor.url, c.admin)
	acked.Range(func(k, _ any) bool {
		nacked++
		if _, err := admin.ObjectStatus(ctx, k.(string)); err != nil {
			t.Errorf("acknowledged object %s: %v", k, err)
		}
		return true
	})
	// Every part released has its permit in the log, naming the run and
	// the object.
	var last uint64
	for _, g := range received {
		last = max(last, g.receipt)
	}
	c.gateways = []*child{survivor}
	c.awaitSize(t, last)
	es := c.entries(t)
	runPs := c.dd.Linkage.Pseudonym("run", started.ID)
	for i, g := range received {
		e := es[g.receipt]
		if e.Kind != entry.KindAccess || e.Fields["decision"] != entry.Permit || e.Refs["run"][0] != runPs || e.Refs["object"][0] != c.dd.Linkage.Pseudonym("object", g.object) {
			t.Fatalf("part %d: entry %d is not the permit of object %s in run %s: %+v", i, g.receipt, g.object, started.ID, e)
		}
	}
	t.Logf("%d parts, %d before the kill; %d ingests acknowledged under load", n, beforeKill, nacked)
	// The audit of the whole log, with its details, is clean.
	auditor, err := admin.CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "auditor", Roles: []ombud.Role{ombud.RoleAuditor}})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, map[string]string{"OMBUD_AUDITOR_TOKEN": auditor.Token}, "audit", "--server", survivor.url, "--key", c.dd.VerifierKey)
	if code != 0 {
		t.Fatalf("audit: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestClusterPolicyReload: a policy loaded through one gateway decides
// the next read on the other, which finds the new version in the store
// and loads it from the shared policy file.
func TestClusterPolicyReload(t *testing.T) {
	c, ctx := twoGateways(t)
	court := ombudtest.NewIssuer(t, "court.example/district-3")
	object, analyst := c.setUp(t, ctx, court, ombudtest.Authorization("order-p", 100))
	read := func(i int) uint64 {
		t.Helper()
		o, err := c.client(t, i, analyst).GetObject(ctx, object, ombudclient.Read{Purpose: "criminal_investigation", Authorization: "order-p"})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, o)
		o.Close()
		n, _ := strconv.ParseUint(o.Receipt, 10, 64)
		return n
	}
	before := read(1)
	text, err := os.ReadFile(c.dd.PolicyPath())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.dd.PolicyPath(), append(text, "\n// version two\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err := c.client(t, 0, c.admin).ReloadPolicy(ctx)
	if err != nil || !loaded.Changed {
		t.Fatalf("reload: %+v %v", loaded, err)
	}
	after := read(1)
	c.awaitSize(t, after)
	es := c.entries(t)
	if got := es[before].Fields["policy_sha256"]; got == loaded.SHA256 {
		t.Fatalf("the read before the reload was decided by the new policy")
	}
	if got := es[after].Fields["policy_sha256"]; got != loaded.SHA256 {
		t.Fatalf("the read on the other gateway after the reload was decided by policy %v, want %s", got, loaded.SHA256)
	}
	// A gateway started with another policy file does not start: it
	// would change the policy of every gateway.
	other := filepath.Join(t.TempDir(), "data")
	if out, err := exec.Command("cp", "-r", c.dir, other).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(other, "policy.cedar"), append(text, "\n// version three\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(c.bin, "serve", "--data", other, "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), childEnv...)
	done := make(chan struct{})
	time.AfterFunc(time.Minute, func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
		}
	})
	out, err := cmd.CombinedOutput()
	close(done)
	if err == nil || !strings.Contains(string(out), "is not the policy in force") {
		t.Fatalf("a gateway with another policy file: %v\n%s", err, out)
	}
}

// TestClusterRefusesAnotherStoreOrLog: a gateway given the deployment's
// store with a log of its own, or the deployment's log with an empty
// store, does not start: it would log privately, or start another
// deployment inside the shared log.
func TestClusterRefusesAnotherStoreOrLog(t *testing.T) {
	if testing.Short() {
		t.Skip("runs gateways")
	}
	t.Parallel()
	c := startCluster(t, 1)
	serve := func(dir string, flags ...string) string {
		t.Helper()
		cmd := exec.Command(c.bin, append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:0"}, flags...)...)
		cmd.Env = append(os.Environ(), childEnv...)
		timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
		defer timer.Stop()
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("serve %v started:\n%s", flags, out)
		}
		return string(out)
	}
	copyDir := func() string {
		other := filepath.Join(t.TempDir(), "data")
		if out, err := exec.Command("cp", "-r", c.dir, other).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
		return other
	}
	// The shared store, and a log in files of its own.
	private := copyDir()
	toml, err := os.ReadFile(filepath.Join(private, "ombud.toml"))
	if err != nil {
		t.Fatal(err)
	}
	toml = regexp.MustCompile(`(?m)^url = ".*"$`).ReplaceAll(toml, []byte(`url = ""`))
	if err := os.WriteFile(filepath.Join(private, "ombud.toml"), toml, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := serve(private); !strings.Contains(out, "this store's log is at") {
		t.Fatalf("a private log beside the shared store:\n%s", out)
	}
	// The shared log, and an empty store.
	if out := serve(copyDir(), "--store", pgtest.URL(t)); !strings.Contains(out, "it is not the log's store") {
		t.Fatalf("an empty store beside the shared log:\n%s", out)
	}
}

// TestClusterKeyRotation: a KEK rotated through one gateway is the
// deployment's: the other, whose keyring was read before it, unwraps the
// keys rewrapped under the new version, stores new objects, and rotates
// next to the version after, not to one already taken.
func TestClusterKeyRotation(t *testing.T) {
	c, ctx := twoGateways(t)
	court := ombudtest.NewIssuer(t, "court.example/district-4")
	// The object's intermediate key is made by gateway 1; gateway 0 has
	// never unwrapped it.
	object, analyst := c.setUp(t, ctx, court, ombudtest.Authorization("order-k", 100))
	read := func(i int, id string) {
		t.Helper()
		o, err := c.client(t, i, analyst).GetObject(ctx, id, ombudclient.Read{Purpose: "criminal_investigation", Authorization: "order-k"})
		if err != nil {
			t.Fatalf("read of %s on gateway %d: %v", id, i, err)
		}
		io.Copy(io.Discard, o)
		o.Close()
	}
	in, err := c.client(t, 0, c.admin).CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "camera-2", Roles: []ombud.Role{ombud.RoleIngestor}})
	if err != nil {
		t.Fatal(err)
	}
	put := func(i int) string {
		t.Helper()
		body := []byte("another location record")
		o, err := c.client(t, i, in.Token).PutObject(ctx, bytes.NewReader(body), ombudclient.Put{Class: "location", Subjects: []string{"plate:B-XY-123"}, Size: int64(len(body))})
		if err != nil {
			t.Fatalf("ingest on gateway %d: %v", i, err)
		}
		return o.ID
	}
	r, err := c.client(t, 1, c.admin).RotateKeys(ctx)
	if err != nil || r.Version != 2 {
		t.Fatalf("rotation through gateway 1: %+v %v", r, err)
	}
	read(0, object) // its key is under version 2 now, which gateway 0 never read
	second := put(0)
	r, err = c.client(t, 0, c.admin).RotateKeys(ctx)
	if err != nil || r.Version != 3 {
		t.Fatalf("rotation through gateway 0, which started at version 1: %+v %v", r, err)
	}
	read(1, object)
	read(1, second)
	read(0, put(1))
}
