package audit_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/transparency-dev/tessera/client"
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
			_, err := e.Journal.Write(context.Background(), ombud.Record{
				Kind:   ombud.KindAccess,
				Fields: map[string]any{"decision": "deny", "class": "general", "purpose": "test", "reasons": []string{"no_authorization"}},
				Refs:   map[string][]string{"object": {fmt.Sprint("obj", i)}},
				Detail: map[string]any{"i": i},
			})
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

func TestVerifyLogAndTamper(t *testing.T) {
	e := ombudtest.New(t)
	fill(t, e, 700)
	size := e.Size(t)
	e.AwaitSize(t, size)
	ctx := context.Background()

	res, err := audit.VerifyLog(ctx, client.FileFetcher{Root: e.Log.Dir()}, e.Dir.Verifier)
	if err != nil {
		t.Fatalf("clean log does not verify: %v %v", err, res.Findings)
	}
	if res.Entries != size || res.Tiles < 4 {
		t.Fatalf("verified %d entries and %d tiles, want %d entries and ≥4 tiles", res.Entries, res.Tiles, size)
	}
	u, _ := url.Parse(e.URL + "/log/")
	hf, _ := client.NewHTTPFetcher(u, nil)
	if res, err := audit.VerifyLog(ctx, hf, e.Dir.Verifier); err != nil {
		t.Fatalf("clean log does not verify over HTTP: %v %v", err, res.Findings)
	}

	for _, tc := range []struct {
		path string
		off  int
		want string
	}{
		{"tile/entries/000", 40, "entry"},
		{"tile/entries/001", 300, "root hash"},
		{"tile/0/000", 5, "tile tile/0/000: hash 0 differs"},
		{"tile/0/001", 32*7 + 1, "tile tile/0/001: hash 7 differs"},
		{"tile/1/000.p/2", 33, "tile tile/1/000.p/2: hash 1 differs"},
	} {
		t.Run(strings.ReplaceAll(tc.path, "/", "_"), func(t *testing.T) {
			p := filepath.Join(e.Log.Dir(), tc.path)
			orig, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(p, orig, 0o644)
			bad := append([]byte(nil), orig...)
			bad[tc.off] ^= 0x01
			if err := os.WriteFile(p, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := audit.VerifyLog(ctx, hf, e.Dir.Verifier)
			if !errors.Is(err, audit.ErrUnverified) {
				t.Fatalf("tampered %s verified: err=%v", tc.path, err)
			}
			var msgs []string
			for _, f := range res.Findings {
				msgs = append(msgs, f.String())
			}
			all := strings.Join(msgs, "\n")
			if !strings.Contains(all, tc.want) {
				t.Fatalf("findings for tampered %s:\n%s\nwant one mentioning %q", tc.path, all, tc.want)
			}
			t.Logf("tampered %s: %s", tc.path, msgs[0])
		})
	}

	t.Run("checkpoint signature", func(t *testing.T) {
		p := filepath.Join(e.Log.Dir(), "checkpoint")
		orig, _ := os.ReadFile(p)
		defer os.WriteFile(p, orig, 0o644)
		bad := []byte(strings.Replace(string(orig), fmt.Sprintf("\n%d\n", size), fmt.Sprintf("\n%d\n", size-1), 1))
		os.WriteFile(p, bad, 0o644)
		res, err := audit.VerifyLog(ctx, hf, e.Dir.Verifier)
		if !errors.Is(err, audit.ErrUnverified) || !strings.Contains(res.Findings[0].String(), "checkpoint: signature") {
			t.Fatalf("forged checkpoint: err=%v findings=%v", err, res)
		}
	})
}
