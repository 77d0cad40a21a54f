package gateway_test

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/publish"
	"github.com/ombud/ombud/report"
)

type brokenLog struct{}

func (brokenLog) Append(context.Context, []byte) (uint64, error) {
	return 0, ombud.ErrLogUnavailable
}

func (brokenLog) Size(context.Context) (uint64, error) { return 0, nil }

// TestPublishListGet: the gateway's report service publishes a month's
// report signed by the log's key, lists it and serves it again; when the
// report's entry cannot be logged, nothing is published.
func TestPublishListGet(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	ctx := context.Background()
	for range 12 {
		if _, err := e.Journal.Write(ctx, journal.Record{Body: entry.Erase{Class: "location", Reason: "retention_expired", Object: "o"}}); err != nil {
			t.Fatal(err)
		}
	}
	e.AwaitSize(t, e.Size(t))
	p, _ := report.ParsePeriod(time.Now().UTC().Format("2006-01"))
	pub, err := e.Reports.Publish(ctx, p, e.AdminID)
	if err != nil {
		t.Fatal(err)
	}
	// The note is signed by the log's key and names the hash.
	n, err := note.Open(pub.Note, note.VerifierList(e.Dir.Verifier))
	if err != nil || !strings.Contains(n.Text, "sha256 "+pub.SHA256+"\n") || !strings.HasPrefix(n.Text, report.Format+"\n") {
		t.Fatalf("note %q: %v", pub.Note, err)
	}
	got, err := e.Reports.Get(p.Name, 0)
	if err != nil || string(got.JSON) != string(pub.JSON) || got.SHA256 != pub.SHA256 || got.Report.Erasures[0].Count.N != 12 {
		t.Fatalf("Get: %+v %v", got, err)
	}
	list, _ := e.Reports.List()
	if len(list) != 1 || list[0].Period != p.Name || list[0].Size != pub.Size {
		t.Fatalf("List: %+v", list)
	}
	rows, err := csv.NewReader(strings.NewReader(string(publish.CSV(got.Report, report.Capabilities{})))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rows {
		if r[0] == "erasures_by_reason" && r[1] == "retention_expired" && r[4] == "12" {
			found = true
		}
	}
	if !found {
		t.Fatalf("CSV lacks the erasures: %v", rows)
	}
	if _, err := e.Reports.Get("2001-01", 0); ombud.ErrorCode(err) != ombud.CodeNotFound {
		t.Fatalf("Get of an unpublished period: %v", err)
	}
	if _, err := e.Reports.Get("../../x", 0); err == nil {
		t.Fatal("Get accepted a path as a period")
	}

	// When the report entry cannot be logged, nothing is published.
	broken, err := publish.New(publish.Config{Dir: e.Reports.Dir, Log: e.Log, Signer: e.Dir.Signer,
		Journal: &journal.Journal{Store: e.Store, Log: brokenLog{}, Key: e.Dir.Linkage}})
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := report.ParsePeriod("2026")
	if _, err := broken.Publish(ctx, p2, e.AdminID); !errors.Is(err, ombud.ErrLogUnavailable) {
		t.Fatalf("publish with the log down: %v", err)
	}
	files, _ := os.ReadDir(filepath.Join(e.Dir.Path, "reports"))
	for _, f := range files {
		if strings.Contains(f.Name(), "2026@") {
			t.Fatalf("a report whose entry was not logged is left published: %s", f.Name())
		}
	}
}
