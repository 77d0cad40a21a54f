package tlog_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud/tlog"
)

// TestTesseraHandler: the two lines Tessera writes at level info when it
// creates a log are dropped; the same text at another level, and every
// other line, gets through.
func TestTesseraHandler(t *testing.T) {
	var buf bytes.Buffer
	lg := slog.New(tlog.TesseraHandler(slog.NewTextHandler(&buf, nil))).With("from", "tessera")
	lg.Info("Failed to fetch old checkpoint: file does not exist")
	lg.Info(`Initializing directory for POSIX log at "/x/log" (this should only happen ONCE per log!)`)
	lg.Info("Failed to fetch old checkpoint: permission denied")
	lg.Warn("Failed to fetch old checkpoint: file does not exist")
	lg.WithGroup("g").Info("integrated")
	out := buf.String()
	if strings.Count(out, "\n") != 3 || strings.Contains(out, "Initializing") || !strings.Contains(out, "permission denied") ||
		!strings.Contains(out, "level=WARN") || !strings.Contains(out, "integrated") || !strings.Contains(out, "from=tessera") {
		t.Fatalf("filtered:\n%s", out)
	}
}

// TestNewSaysANewLogWasCreated: opening a directory without a log says,
// once, that a new log was created; opening it again does not.
func TestNewSaysANewLogWasCreated(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "test.ombud/log")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, want := range []bool{true, false} {
		var buf bytes.Buffer
		cfg := tlog.Config{Dir: dir, Logger: slog.New(slog.NewTextHandler(&buf, nil))}
		cfg.Signer, _ = note.NewSigner(skey)
		cfg.Verifier, _ = note.NewVerifier(vkey)
		l, err := tlog.New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(context.Background(), []byte("entry")); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), `msg="created a new, empty transparency log" dir=`+dir); got != want {
			t.Fatalf("opening %d: says a new log was created: %v, want %v\n%s", i+1, got, want, buf.String())
		}
	}
}
