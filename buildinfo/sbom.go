package buildinfo

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The SBOM is CycloneDX 1.6 JSON (https://cyclonedx.org/specification/overview/).
// It is a pure function of the build information, so the same binary always
// gives the same bytes and its hash can be logged and recomputed: it has no
// timestamp and no serial number (both optional; a serial number that
// changed at every call would change the hash).
const (
	SpecVersion = "1.6"
	schemaURL   = "http://cyclonedx.org/schema/bom-1.6.schema.json"
	// propertyPrefix names the properties that carry the go command's build
	// settings (GOOS, -trimpath, vcs.revision...): "ombud:go:GOOS".
	propertyPrefix = "ombud:go:"
)

type bom struct {
	Schema      string      `json:"$schema"`
	BOMFormat   string      `json:"bomFormat"`
	SpecVersion string      `json:"specVersion"`
	Version     int         `json:"version"`
	Metadata    metadata    `json:"metadata"`
	Components  []component `json:"components"`
}

type metadata struct {
	Component  component  `json:"component"`
	Properties []property `json:"properties,omitempty"`
}

type component struct {
	Type       string     `json:"type"`
	BOMRef     string     `json:"bom-ref"`
	Name       string     `json:"name"`
	Version    string     `json:"version,omitempty"`
	Purl       string     `json:"purl,omitempty"`
	Hashes     []hash     `json:"hashes,omitempty"`
	Properties []property `json:"properties,omitempty"`
}

type hash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

type property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// SBOM returns the CycloneDX SBOM of the build bi tells of: the main
// module as the subject, and every module linked into the binary as a
// component, with the Go standard library as the component "std". A
// module replaced by another is listed as its replacement, with the
// original in the property ombud:go:replaces.
//
// Each module's hash is its go.sum hash ("h1:"), a SHA-256 over the
// module's files (golang.org/x/mod/sumdb/dirhash), written in hex as
// CycloneDX requires; `go mod download -json MODULE@VERSION` prints it as
// Sum. It is absent for a module the build had no sum for.
func SBOM(bi *debug.BuildInfo) ([]byte, error) {
	if bi == nil || bi.Main.Path == "" {
		return nil, ErrNoBuildInfo
	}
	version := Version(bi)
	main := component{
		Type:   "application",
		BOMRef: purl(bi.Main.Path, version),
		Name:   bi.Main.Path,
	}
	if version != "devel" {
		main.Version = version
	}
	main.Purl = main.BOMRef
	if bi.Path != "" && bi.Path != bi.Main.Path {
		main.Properties = append(main.Properties, property{Name: propertyPrefix + "package", Value: bi.Path})
	}
	b := bom{
		Schema: schemaURL, BOMFormat: "CycloneDX", SpecVersion: SpecVersion, Version: 1,
		Metadata: metadata{Component: main},
	}
	for _, s := range bi.Settings {
		b.Metadata.Properties = append(b.Metadata.Properties, setting(s))
	}
	if bi.GoVersion != "" {
		b.Components = append(b.Components, component{
			Type: "library", BOMRef: purl("std", bi.GoVersion), Name: "std", Version: bi.GoVersion, Purl: purl("std", bi.GoVersion),
		})
	}
	deps := slices.Clone(bi.Deps)
	slices.SortFunc(deps, func(a, b *debug.Module) int { return strings.Compare(a.Path, b.Path) })
	for _, d := range deps {
		m := d
		var props []property
		if d.Replace != nil {
			m = d.Replace
			props = append(props, property{Name: propertyPrefix + "replaces", Value: d.Path + "@" + d.Version})
		}
		c := component{Type: "library", BOMRef: purl(m.Path, m.Version), Name: m.Path, Version: m.Version, Purl: purl(m.Path, m.Version), Properties: props}
		if d.Replace != nil && (m.Version == "" || m.Version == "(devel)") {
			// A replacement by a directory of the build machine: its
			// path is that machine's, which the SBOM does not publish.
			c = component{Type: "library", BOMRef: purl(d.Path, "") + "#directory", Name: d.Path,
				Properties: []property{{Name: propertyPrefix + "replaces", Value: d.Path + "@" + d.Version}, {Name: propertyPrefix + "replaced-by", Value: "a directory of the build machine"}}}
		}
		if m.Sum != "" {
			h, err := sumHex(m.Sum)
			if err != nil {
				return nil, fmt.Errorf("buildinfo: module %s: %w", m.Path, err)
			}
			c.Hashes = []hash{{Alg: "SHA-256", Content: h}}
		}
		b.Components = append(b.Components, c)
	}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// publishedSettings are the build settings the SBOM states as they are:
// the go command's flags and environment that say what was built, and the
// VCS stamp. Others (-ldflags, -gcflags, CGO_CFLAGS and the like) may hold
// paths of the build machine or values put there by hand: the SBOM, which
// the public site serves, states their SHA-256 instead, so that two builds
// can still be compared. (A -trimpath build records no -ldflags at all:
// only the executable's hash tells two of them apart.)
var publishedSettings = map[string]bool{
	"-buildmode": true, "-compiler": true, "-race": true, "-msan": true, "-asan": true, "-tags": true, "-trimpath": true,
	"CGO_ENABLED": true, "GOARCH": true, "GOOS": true, "GOAMD64": true, "GOARM": true, "GOARM64": true, "GO386": true, "GOMIPS": true,
	"GOMIPS64": true, "GOPPC64": true, "GORISCV64": true, "GOWASM": true, "GOEXPERIMENT": true, "GOFIPS140": true, "DefaultGODEBUG": true,
	"vcs": true, "vcs.revision": true, "vcs.time": true, "vcs.modified": true,
}

// setting is one build setting as an SBOM property.
func setting(s debug.BuildSetting) property {
	if publishedSettings[s.Key] {
		return property{Name: propertyPrefix + s.Key, Value: s.Value}
	}
	return property{Name: propertyPrefix + s.Key, Value: "sha256:" + SHA256([]byte(s.Value))}
}

// purl is a module's package URL (pkg:golang/PATH@VERSION?type=module).
// Module paths hold only characters a purl keeps as they are; a version
// may hold "+" (+incompatible), and the standard library's a space (a
// toolchain's experiments), which a purl escapes.
func purl(path, version string) string {
	p := "pkg:golang/" + path
	if version != "" && version != "devel" {
		p += "@" + strings.NewReplacer("+", "%2B", " ", "%20").Replace(version)
	}
	return p + "?type=module"
}

// sumHex turns a go.sum hash ("h1:" and base64 of 32 bytes) into hex.
func sumHex(sum string) (string, error) {
	b64, ok := strings.CutPrefix(sum, "h1:")
	if !ok {
		return "", fmt.Errorf("hash %q is not an h1 hash", sum)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 32 {
		return "", fmt.Errorf("hash %q is not an h1 hash", sum)
	}
	return hex.EncodeToString(raw), nil
}

// Modules lists the modules an SBOM names as components, as PATH@VERSION
// (the standard library as std@goVERSION), for checking it against the
// binary's own list (`go version -m`).
func Modules(sbom []byte) ([]string, error) {
	var b bom
	if err := json.Unmarshal(sbom, &b); err != nil {
		return nil, fmt.Errorf("buildinfo: not an SBOM: %w", err)
	}
	if b.BOMFormat != "CycloneDX" {
		return nil, fmt.Errorf("buildinfo: bomFormat %q, not CycloneDX", b.BOMFormat)
	}
	out := make([]string, 0, len(b.Components))
	for _, c := range b.Components {
		out = append(out, c.Name+"@"+c.Version)
	}
	return out, nil
}

// The CycloneDX schema files ValidateSchema reads, as published with the
// specification (vendored in this package's testdata/cyclonedx).
var schemaFiles = []string{"bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json"}

// ValidateSchema checks sbom against the CycloneDX 1.6 JSON schema, whose
// files (bom-1.6.schema.json and the two it refers to) fsys holds. Nothing
// is fetched.
func ValidateSchema(sbom []byte, fsys fs.FS) error {
	c := jsonschema.NewCompiler()
	for _, name := range schemaFiles {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := c.AddResource("http://cyclonedx.org/schema/"+name, doc); err != nil {
			return err
		}
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(sbom))
	if err != nil {
		return fmt.Errorf("buildinfo: the SBOM is not JSON: %w", err)
	}
	return s.Validate(doc)
}
