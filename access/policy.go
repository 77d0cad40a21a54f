// Package access decides reads: it checks cited legal authorizations
// against the issuer registry and their scope, and evaluates the Cedar
// policy. It keeps the registry of issuers and authorizations and the
// current policy, and logs every change to them.
package access

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/cedar-policy/cedar-go"
)

// DefaultPolicy ships in every data directory as policy.cedar.
const DefaultPolicy = `// ombud access policy, in Cedar (https://www.cedarpolicy.com).
//
// ombud evaluates this policy for every read, after its own checks:
// authentication, the object's state and, when an authorization is cited,
// its signature, time window, scope and remaining uses. Nothing here can
// release a byte without a log entry: ombud logs every decision first.
//
// The request: principal Principal::"<id>", action Action::"read",
// resource Object::"<id>". The context:
//   roles               Set<String>  the principal's roles
//   class               String       the object's data class
//   sensitive           Bool         whether the class needs an authorization
//   purpose             String       the stated purpose code
//   authorized          Bool         a cited authorization covers this read
//   authorization_kind  String       its kind ("" when none): warrant, court_order, …
//   wildcard            Bool         the cited authorization names every subject ("*")
//   emergency           Bool         the read claims emergency access
//   run                 Bool         the read is part of an analytic run (decided
//                                    once per class when the run starts)
//   evidence            Bool         a reviewer views the evidence of a flag they
//                                    may review (purpose "review"), as ombud checked
//   export              Bool         the read is an export to a registered recipient,
//                                    decided once per class (the rules for an
//                                    analyst's read apply to it unless a rule
//                                    names it)
//
// Edit this file, check it with 'ombud policy check', and load it with
// 'ombud policy reload'. Each loaded version is logged with its SHA-256.

// Ordinary classes: analysts read for a stated purpose.
@id("read-ordinary")
permit (principal, action == Action::"read", resource)
when { context.roles.contains("analyst") && !context.sensitive };

// Sensitive classes: only under a registered authorization that covers the
// read and names its subjects. Without one, sensitive classes are denied by
// default; so is an authorization naming every subject ("*"), which only a
// policy written for it may allow.
@id("read-sensitive-authorized")
permit (principal, action == Action::"read", resource)
when { context.roles.contains("analyst") && context.sensitive && context.authorized && !context.wildcard };

// Analytic runs: a machine principal (role system) reads only through a
// run of its own system, which ombud checks; the run is decided here once
// per data class when it starts, under the same rules as a person's read.
// An analyst may start a run too (the rules above apply to it).
@id("read-in-run")
permit (principal, action == Action::"read", resource)
when { context.roles.contains("system") && context.run && (!context.sensitive || (context.authorized && !context.wildcard)) };

// Review: a reviewer views the evidence of a flag before confirming or
// rejecting it (its inputs and the candidates' reference images). ombud
// checks that the object is the flag's and that the reader may review it;
// each viewing is logged with the purpose "review" and the flag.
@id("review-evidence")
permit (principal, action == Action::"read", resource)
when { context.roles.contains("reviewer") && context.evidence && context.purpose == "review" };

// Actions on automated matches (Action::"act", resource Flag::"<id>"):
// no action follows a match without independent human review. The context:
//   roles                  Set<String>  the principal's roles
//   kind                   String       the action: referral, detention_request, no_action, …
//   biometric              Bool         the match is a biometric identification
//   confirmations          Long         distinct reviewers who confirmed the flag
//   unresolved_rejections  Long         reviewers who rejected it
// By default an analyst may act after at least two distinct confirmations
// and no rejection (EU AI Act Art. 14(5)); change the number here.
@id("act-after-review")
permit (principal, action == Action::"act", resource)
when { context.roles.contains("analyst") && context.confirmations >= 2 && context.unresolved_rejections == 0 };

// Emergency access without a prior authorization is off by default. To
// allow it, for example for location data in missing-person cases, remove
// the comment marks below. An authorization covering it must then be
// registered within the emergency deadline; otherwise a breach is logged
// and the reader's emergency access is suspended until an admin restores
// it (the object read is kept, as evidence).
//
// @id("read-emergency-location")
// permit (principal, action == Action::"read", resource)
// when { context.roles.contains("analyst") && context.emergency && context.class == "location" };
`

// Policy is a parsed, checked Cedar policy set and the hash of its text.
type Policy struct {
	set  *cedar.PolicySet
	ids  map[cedar.PolicyID]string // @id annotations
	SHA  string                    // hex SHA-256 of the text
	Text []byte
}

// MaxPolicySize bounds a policy file.
const MaxPolicySize = 1 << 20

// Input is what a decision sees.
type Input struct {
	Principal         string
	Roles             []string
	Class             string
	Sensitive         bool
	Purpose           string
	Authorized        bool
	AuthorizationKind string
	Wildcard          bool
	Emergency         bool
	Run               bool
	Evidence          bool
	// Export: the read is of an object exported to a registered
	// recipient, decided once per class when the export is.
	Export bool
	Object string
}

// ParsePolicy parses and checks a policy: it must parse, and it must
// evaluate without errors on a spread of representative requests, so a
// policy that refers to a missing attribute or compares the wrong types is
// refused at load, not at the first read.
func ParsePolicy(text []byte) (*Policy, error) {
	if len(text) > MaxPolicySize {
		return nil, fmt.Errorf("policy is %d bytes, more than %d", len(text), MaxPolicySize)
	}
	set, err := cedar.NewPolicySetFromBytes("policy.cedar", text)
	if err != nil {
		return nil, fmt.Errorf("policy does not parse: %w", err)
	}
	sum := sha256.Sum256(text)
	p := &Policy{set: set, SHA: hex.EncodeToString(sum[:]), Text: text, ids: map[cedar.PolicyID]string{}}
	for id, pol := range set.All() {
		if v, ok := pol.Annotations()["id"]; ok {
			p.ids[id] = string(v)
		}
	}
	for _, roles := range [][]string{{"analyst"}, {"admin"}, {"system"}, {}} {
		for _, b := range []bool{false, true} {
			in := Input{Principal: "p", Roles: roles, Class: "general", Sensitive: b, Purpose: "x", Authorized: b, AuthorizationKind: "court_order", Wildcard: b, Emergency: b, Run: b, Evidence: b, Export: b, Object: "o"}
			if _, _, err := p.decide(in); err != nil {
				return nil, fmt.Errorf("policy fails to evaluate: %w", err)
			}
			act := ActInput{Principal: "p", Roles: roles, Flag: "f", Kind: "referral", Biometric: b, Confirmations: 2, Rejections: 0}
			if _, err := p.decideAct(act); err != nil {
				return nil, fmt.Errorf("policy fails to evaluate an action: %w", err)
			}
		}
	}
	return p, nil
}

// Decide evaluates the policy. It returns whether the read is permitted and
// the ids of the policies that decided it.
func (p *Policy) Decide(in Input) (bool, []string) {
	ok, ids, err := p.decide(in)
	if err != nil {
		return false, ids // an evaluation error denies
	}
	return ok, ids
}

// ActInput is an action on a flag to decide.
type ActInput struct {
	Principal     string
	Roles         []string
	Flag          string
	Kind          string
	Biometric     bool
	Confirmations int64
	Rejections    int64
}

// DecideAct evaluates the policy for an action on a flag; an evaluation
// error denies.
func (p *Policy) DecideAct(in ActInput) bool {
	ok, err := p.decideAct(in)
	return ok && err == nil
}

func (p *Policy) decideAct(in ActInput) (bool, error) {
	req := cedar.Request{
		Principal: cedar.NewEntityUID("Principal", cedar.String(in.Principal)),
		Action:    cedar.NewEntityUID("Action", "act"),
		Resource:  cedar.NewEntityUID("Flag", cedar.String(in.Flag)),
		Context: cedar.NewRecord(cedar.RecordMap{
			"roles":                 cedarSet(in.Roles),
			"kind":                  cedar.String(in.Kind),
			"biometric":             cedar.Boolean(in.Biometric),
			"confirmations":         cedar.Long(in.Confirmations),
			"unresolved_rejections": cedar.Long(in.Rejections),
		}),
	}
	decision, diag := cedar.Authorize(p.set, cedar.EntityMap{}, req)
	if len(diag.Errors) > 0 {
		return false, fmt.Errorf("%s", diag.Errors[0].Message)
	}
	return decision == cedar.Allow, nil
}

// cedarSet is a set of strings for a policy's context.
func cedarSet(ss []string) cedar.Set {
	vs := make([]cedar.Value, len(ss))
	for i, s := range ss {
		vs[i] = cedar.String(s)
	}
	return cedar.NewSet(vs...)
}

func (p *Policy) decide(in Input) (bool, []string, error) {
	req := cedar.Request{
		Principal: cedar.NewEntityUID("Principal", cedar.String(in.Principal)),
		Action:    cedar.NewEntityUID("Action", "read"),
		Resource:  cedar.NewEntityUID("Object", cedar.String(in.Object)),
		Context: cedar.NewRecord(cedar.RecordMap{
			"roles":              cedarSet(in.Roles),
			"class":              cedar.String(in.Class),
			"sensitive":          cedar.Boolean(in.Sensitive),
			"purpose":            cedar.String(in.Purpose),
			"authorized":         cedar.Boolean(in.Authorized),
			"authorization_kind": cedar.String(in.AuthorizationKind),
			"wildcard":           cedar.Boolean(in.Wildcard),
			"emergency":          cedar.Boolean(in.Emergency),
			"run":                cedar.Boolean(in.Run),
			"evidence":           cedar.Boolean(in.Evidence),
			"export":             cedar.Boolean(in.Export),
		}),
	}
	decision, diag := cedar.Authorize(p.set, cedar.EntityMap{}, req)
	var ids []string
	for _, r := range diag.Reasons {
		id := string(r.PolicyID)
		if a, ok := p.ids[r.PolicyID]; ok {
			id = a
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(diag.Errors) > 0 {
		return false, ids, fmt.Errorf("%s", diag.Errors[0].Message)
	}
	return decision == cedar.Allow, ids, nil
}
