package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ombud/ombud/buildinfo"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/gateway"
)

// TestBuildEntryFirstOrNothing: a gateway logs its build entry before
// anything else, and one that cannot log it does not start and logs
// nothing else. The failure here is a build whose values are not codes.
func TestBuildEntryFirstOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	good := &buildinfo.Running{Build: buildinfo.Build{BinarySHA256: strings.Repeat("a", 64), Version: "devel", Go: "go1.27.3", SBOMSHA256: strings.Repeat("b", 64)}, SBOM: []byte("{}\n")}
	bad := &buildinfo.Running{Build: good.Build, SBOM: good.SBOM}
	bad.Version = "not a code"

	path := filepath.Join(t.TempDir(), "data")
	dir, err := datadir.Create(path, datadir.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g, err := gateway.Open(ctx, dir, gateway.Options{Logger: quiet, Build: bad}); err == nil {
		g.Close(ctx)
		t.Fatal("a gateway started without logging its build")
	} else if !strings.Contains(err.Error(), "build entry") {
		t.Fatalf("the refusal does not say why: %v", err)
	}
	g, err := gateway.Open(ctx, dir, gateway.Options{Logger: quiet, Build: good})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(ctx)
	if g.Build == nil || g.Build.Entry != 0 || g.Build.BinarySHA256 != good.BinarySHA256 {
		t.Fatalf("the build entry is %+v, want the log's first entry: the refused start logged nothing", g.Build)
	}
}
