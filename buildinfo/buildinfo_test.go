package buildinfo

import (
	"bytes"
	"encoding/json"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

var schemas = os.DirFS("testdata/cyclonedx")

// sample is the build information of a release build, with the cases an
// SBOM must carry: a replaced module, an +incompatible version, a
// replacement by a directory (no version, no sum).
func sample() *debug.BuildInfo {
	return &debug.BuildInfo{
		GoVersion: "go1.27.3",
		Path:      "github.com/ombud/ombud/cmd/ombud",
		Main:      debug.Module{Path: "github.com/ombud/ombud", Version: "v0.0.0-20261205120000-0123456789ab"},
		Deps: []*debug.Module{
			{Path: "filippo.io/age", Version: "v1.3.2", Sum: "h1:12VaqnI9kJfqwRoPptxoqsUhQtdfrSbdksT7X/KY/sc="},
			{Path: "github.com/old/thing", Version: "v2.0.0+incompatible", Sum: "h1:aRYxNxv6iGQlyVaZmk6ZgYEDa+Jg18DxebPSrd6bg1M=",
				Replace: &debug.Module{Path: "github.com/new/thing", Version: "v2.0.1+incompatible", Sum: "h1:mfngRv0Yoh0VApsXKEN82CjD99kl7mtparN3bs3JnqI="}},
			// As the go command records a replacement by a directory.
			{Path: "example.com/local", Version: "v0.1.0", Replace: &debug.Module{Path: "/home/someone/src/local", Version: "(devel)"}},
		},
		Settings: []debug.BuildSetting{
			// A build without -trimpath records -ldflags (one with it does not).
			{Key: "-ldflags", Value: "-X main.secret=hunter2 -extldflags=-L/home/someone/lib"}, {Key: "CGO_ENABLED", Value: "0"}, {Key: "GOOS", Value: "linux"},
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}, {Key: "vcs.modified", Value: "true"},
		},
	}
}

func TestSBOM(t *testing.T) {
	bi := sample()
	r, err := FromInfo(bi, strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateSchema(r.SBOM, schemas); err != nil {
		t.Fatalf("the SBOM fails the CycloneDX 1.6 schema: %v\n%s", err, r.SBOM)
	}
	want := Build{BinarySHA256: strings.Repeat("ab", 32), Version: "v0.0.0-20261205120000-0123456789ab",
		Revision: "0123456789abcdef0123456789abcdef01234567", Modified: true, Go: "go1.27.3", SBOMSHA256: SHA256(r.SBOM)}
	if r.Build != want {
		t.Errorf("build %+v, want %+v", r.Build, want)
	}
	again, _ := SBOM(bi)
	if !bytes.Equal(again, r.SBOM) {
		t.Error("two SBOMs of one build differ")
	}
	mods, err := Modules(r.SBOM)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(mods)
	if !slices.Equal(mods, expectModules(bi)) {
		t.Errorf("modules %v, want %v", mods, expectModules(bi))
	}
	s := string(r.SBOM)
	for _, part := range []string{
		`"purl": "pkg:golang/github.com/new/thing@v2.0.1%2Bincompatible?type=module"`,
		`"name": "ombud:go:replaces",`, `"value": "github.com/old/thing@v2.0.0+incompatible"`,
		// The sample h1 hash of age, in hex.
		`"content": "d7655aaa723d9097eac11a0fa6dc68aac52142d75fad26dd92c4fb5ff298fec7"`,
		`"name": "ombud:go:vcs.revision",`,
		`"value": "sha256:` + SHA256([]byte("-X main.secret=hunter2 -extldflags=-L/home/someone/lib")) + `"`,
	} {
		if !strings.Contains(s, part) {
			t.Errorf("the SBOM lacks %s", part)
		}
	}
	// Nothing of the build machine: no path, no value given by hand.
	for _, leak := range []string{"/home/someone", "hunter2"} {
		if strings.Contains(s, leak) {
			t.Errorf("the SBOM publishes %q", leak)
		}
	}

	// A build that knew no version.
	bi.Main.Version = "(devel)"
	if r, err = FromInfo(bi, want.BinarySHA256); err != nil || r.Version != "devel" {
		t.Fatalf("devel build: %v %+v", err, r)
	}
	if err := ValidateSchema(r.SBOM, schemas); err != nil {
		t.Fatalf("a devel build's SBOM fails the schema: %v", err)
	}

	// A toolchain with experiments, as Go 1.27 writes them and as older
	// ones did: its version is still a code, and the SBOM still passes.
	for v, want := range map[string]string{"go1.27.3-X:fieldtrack,arenas": "go1.27.3-X:fieldtrack+arenas", "go1.26.8 X:boringcrypto": "go1.26.8+X:boringcrypto"} {
		bi.GoVersion = v
		if r, err = FromInfo(bi, strings.Repeat("ab", 32)); err != nil || r.Go != want {
			t.Fatalf("a toolchain with experiments: %v %+v, want %s", err, r, want)
		}
		if err := ValidateSchema(r.SBOM, schemas); err != nil {
			t.Fatalf("its SBOM fails the schema: %v", err)
		}
	}

	if _, err := SBOM(&debug.BuildInfo{}); err == nil {
		t.Error("an SBOM of no build information")
	}
	bi.Deps[0].Sum = "h1:short"
	if _, err := SBOM(bi); err == nil {
		t.Error("an SBOM with a malformed module hash")
	}
}

// expectModules lists what an SBOM of bi must name: the linked module of
// each dependency (its replacement, if any) and the standard library.
func expectModules(bi *debug.BuildInfo) []string {
	out := []string{"std@" + bi.GoVersion}
	for _, d := range bi.Deps {
		switch {
		case d.Replace != nil && (d.Replace.Version == "" || d.Replace.Version == "(devel)"):
			out = append(out, d.Path+"@") // a directory: named by the module it replaces
		case d.Replace != nil:
			out = append(out, d.Replace.Path+"@"+d.Replace.Version)
		default:
			out = append(out, d.Path+"@"+d.Version)
		}
	}
	slices.Sort(out)
	return out
}

// TestSchemaCatches: the schema check can fail.
func TestSchemaCatches(t *testing.T) {
	r, err := FromInfo(sample(), strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(r.SBOM, &doc); err != nil {
		t.Fatal(err)
	}
	comps := doc["components"].([]any)
	comps[1].(map[string]any)["hashes"] = []any{map[string]any{"alg": "SHA-256", "content": "not hex"}}
	bad, _ := json.Marshal(doc)
	if err := ValidateSchema(bad, schemas); err == nil {
		t.Error("a hash that is not hex passed the schema")
	}
	doc["specVersion"] = 1.6
	bad, _ = json.Marshal(doc)
	if err := ValidateSchema(bad, schemas); err == nil {
		t.Error("a numeric specVersion passed the schema")
	}
}

// TestCurrent: the test binary's own build information gives an SBOM that
// passes the schema and names every module linked into it.
func TestCurrent(t *testing.T) {
	r, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.BinarySHA256) != 64 || r.SBOMSHA256 != SHA256(r.SBOM) || r.Go == "" {
		t.Fatalf("build %+v", r.Build)
	}
	if err := ValidateSchema(r.SBOM, schemas); err != nil {
		t.Fatal(err)
	}
	bi, _ := debug.ReadBuildInfo()
	mods, _ := Modules(r.SBOM)
	slices.Sort(mods)
	if want := expectModules(bi); !slices.Equal(mods, want) {
		t.Errorf("modules %v, want %v", mods, want)
	}
}
