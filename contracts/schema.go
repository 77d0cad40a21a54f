// Package contracts is the public registry of procurement pathways: how
// cloud, AI and biometric capabilities reach an agency (vendor, reseller
// or integrator, buyer), as Open Contracting Data Standard 1.1 releases
// with ombud's extension (schema/extension), and which safeguard clauses
// each contract lacks.
package contracts

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// The schemas: OCDS 1.1.5's release and release package schemas as
// published (schema/ocds-1.1.5, Apache License 2.0, its notice beside
// them), and ombud's extension, a JSON Merge Patch of the release schema.
//
//go:embed schema
var schemaFS embed.FS

// The schemas' ids, as OCDS publishes them.
const (
	releaseID = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"
	packageID = "https://standard.open-contracting.org/schema/1__1__5/release-package-schema.json"
)

// Roles are the party roles a release may name: OCDS's partyRole
// codelist and the extension's.
var Roles = []string{
	"buyer", "procuringEntity", "supplier", "tenderer", "funder", "enquirer", "payer", "payee", "reviewBody", "interestedParty",
	"vendor", "reseller", "integrator", "manufacturer",
}

// mergePatch applies an RFC 7386 JSON Merge Patch to target.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

func readJSON(name string) (any, error) {
	b, err := schemaFS.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

type schemas struct {
	release, pkg *jsonschema.Schema
	// plainPackage is the published package schema alone, without the
	// extension: what an export must pass for any OCDS tool.
	plainPackage *jsonschema.Schema
}

// compile builds the schemas: with the extension merged into the release
// schema, and the published ones as they are. Nothing is fetched: every
// $ref resolves to an embedded file.
func compile(extended bool) (*jsonschema.Schema, *jsonschema.Schema, error) {
	release, err := readJSON("schema/ocds-1.1.5/release-schema.json")
	if err != nil {
		return nil, nil, err
	}
	if extended {
		ext, err := readJSON("schema/extension/release-schema.json")
		if err != nil {
			return nil, nil, err
		}
		release = mergePatch(release, ext)
	}
	pkg, err := readJSON("schema/ocds-1.1.5/release-package-schema.json")
	if err != nil {
		return nil, nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	if err := c.AddResource(releaseID, release); err != nil {
		return nil, nil, err
	}
	if err := c.AddResource(packageID, pkg); err != nil {
		return nil, nil, err
	}
	r, err := c.Compile(releaseID)
	if err != nil {
		return nil, nil, err
	}
	p, err := c.Compile(packageID)
	return r, p, err
}

var loaded = sync.OnceValues(func() (*schemas, error) {
	r, p, err := compile(true)
	if err != nil {
		return nil, fmt.Errorf("contracts: the schemas: %w", err)
	}
	_, plain, err := compile(false)
	if err != nil {
		return nil, fmt.Errorf("contracts: the published schemas: %w", err)
	}
	return &schemas{release: r, pkg: p, plainPackage: plain}, nil
})

// Problem is one thing wrong with a release, at a JSON pointer into it.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	// Code, when set, is the problem's own stable code: unknown_role,
	// circular_chain.
	Code string `json:"code,omitempty"`
}

// The problems' own codes; a release with neither is an invalid_release.
const (
	UnknownRole   = "unknown_role"
	CircularChain = "circular_chain"
)

// InvalidError is a release or package that is not valid: every problem
// found, each at its field.
type InvalidError struct{ Problems []Problem }

func (e *InvalidError) Error() string {
	var parts []string
	for _, p := range e.Problems {
		parts = append(parts, p.Path+": "+p.Message)
	}
	return "not a valid OCDS release: " + strings.Join(parts, "; ")
}

// printer words the schema's messages.
var printer = message.NewPrinter(language.English)

// problems flattens a schema's validation error into its leaves.
func problems(err error) []Problem {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Problem{{Path: "/", Message: err.Error()}}
	}
	var out []Problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, Problem{Path: "/" + strings.Join(e.InstanceLocation, "/"), Message: e.ErrorKind.LocalizedString(printer)})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	slices.SortFunc(out, func(a, b Problem) int { return strings.Compare(a.Path+a.Message, b.Path+b.Message) })
	return slices.Compact(out)
}

// ValidateRelease checks a release against OCDS 1.1 with ombud's
// extension, and that every party's roles are known codes.
func ValidateRelease(raw []byte) error {
	s, err := loaded()
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return &InvalidError{Problems: []Problem{{Path: "/", Message: "not JSON: " + err.Error()}}}
	}
	var out []Problem
	if err := s.release.Validate(v); err != nil {
		out = problems(err)
	}
	var r struct {
		Parties []struct {
			Roles []string `json:"roles"`
		} `json:"parties"`
	}
	if json.Unmarshal(raw, &r) == nil {
		for i, p := range r.Parties {
			for j, role := range p.Roles {
				if !slices.Contains(Roles, role) {
					out = append(out, Problem{Path: fmt.Sprintf("/parties/%d/roles/%d", i, j),
						Message: fmt.Sprintf("unknown role %q (want one of %s)", role, strings.Join(Roles, ", ")), Code: UnknownRole})
				}
			}
		}
	}
	if len(out) > 0 {
		return &InvalidError{Problems: out}
	}
	return nil
}

// ValidatePackage checks a release package: against the published OCDS
// 1.1 release package schema alone when plain is set (what any OCDS tool
// expects), else with ombud's extension too.
func ValidatePackage(raw []byte, plain bool) error {
	s, err := loaded()
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return &InvalidError{Problems: []Problem{{Path: "/", Message: "not JSON: " + err.Error()}}}
	}
	sch := s.pkg
	if plain {
		sch = s.plainPackage
	}
	if err := sch.Validate(v); err != nil {
		return &InvalidError{Problems: problems(err)}
	}
	return nil
}

// ExtensionFiles are the files of ombud's extension, as an OCDS tool
// fetches them from the address of extension.json.
var ExtensionFiles = []string{"extension.json", "release-schema.json", "partyRole.csv", "productFlag.csv", "safeguardClause.csv"}

// ExtensionFile returns a file of ombud's extension (ExtensionFiles).
func ExtensionFile(name string) ([]byte, bool) {
	if !slices.Contains(ExtensionFiles, name) {
		return nil, false
	}
	b, err := schemaFS.ReadFile("schema/extension/" + name)
	return b, err == nil
}
