package access

import (
	"slices"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/vocab"
)

// Summary is what the policy in force permits, found by asking it (after
// ombud's own checks, as Decide applies them) about every class, purpose,
// kind of authorization and action the configuration names. It is derived
// from the decisions, never from the policy's text or comments, so a
// summary cannot claim a rule the policy does not enforce.
type Summary struct {
	// Purposes and Kinds are what was asked: the purposes a reader may
	// state and the kinds of authorization issuers may sign.
	Purposes, Kinds []string
	Classes         []ClassSummary
	// Others are the other roles (admin, ingestor, auditor) the policy
	// lets read some class, citing an authorization or not.
	Others []string
	// Act is what an action on an automated match needs.
	Act ActSummary
}

// ClassSummary is what each kind of read of one class needs.
type ClassSummary struct {
	Class     string
	Sensitive bool
	// Analyst: a person with the analyst role reading one record.
	// Emergency is left empty for an ordinary class, which needs no
	// authorization to cover later.
	Analyst Access
	// Run: a machine principal (role system) reading through a run of its
	// own system. Emergency does not apply to runs.
	Run Access
	// Evidence: a reviewer viewing a flag's evidence (purpose "review").
	Evidence bool
}

// Access says when one kind of reader may read a class.
type Access struct {
	Plain      Cond // citing no authorization
	Authorized Cond // under an authorization that covers the read and names its subjects
	Wildcard   Cond // under an authorization naming every subject ("*")
	Emergency  Cond // claiming emergency access, citing no authorization
}

// Cond says for which purposes, and kinds of authorization, a read is
// permitted. Purposes and Kinds are those for which some read is
// permitted; All says every pair probed is.
type Cond struct {
	All      bool
	Purposes []string
	Kinds    []string // nil when the read cites no authorization
}

// Never reports whether no read is permitted under the condition.
func (c Cond) Never() bool { return len(c.Purposes) == 0 }

// ActSummary is the rule for analysts' actions on automated matches,
// one per kind of action, in the order of ombud.ActionKinds.
type ActSummary []ActRule

// ActRule is what one kind of action needs: the fewest distinct
// confirmations after which it is permitted with no rejection, for an
// ordinary match and for a biometric identification (-1: not permitted
// within MaxProbedConfirmations), and whether one unresolved rejection
// then refuses it.
type ActRule struct {
	Kind            string
	Confirmations   int64
	Biometric       int64
	RejectionBlocks bool
}

// MaxProbedConfirmations bounds the search for the two-person rule's
// number: a policy asking for more is summarised as permitting no action.
const MaxProbedConfirmations = 20

// Summarize asks p about the classes, the purposes a reader may state and
// the kinds of authorization issuers may sign.
func Summarize(p *Policy, classes []ombud.Class, purposes, kinds []string) Summary {
	s := Summary{Purposes: purposes, Kinds: kinds}
	for _, c := range classes {
		cs := ClassSummary{Class: c.Name, Sensitive: c.IsSensitive()}
		ask := func(roles []string, authorized, wildcard, emergency, run bool) Cond {
			// ombud's own checks, before the policy: a sensitive class
			// needs an authorization, except in an emergency (which an
			// ordinary class never is) and never in a run.
			switch {
			case !authorized && c.IsSensitive() && (run || !emergency):
				return Cond{}
			case emergency && !c.IsSensitive():
				return Cond{}
			}
			ks := []string{""}
			if authorized {
				ks = kinds
			}
			return probe(purposes, ks, authorized, func(purpose, kind string) bool {
				ok, _ := p.Decide(Input{Principal: "p", Roles: roles, Class: c.Name, Sensitive: c.IsSensitive(), Purpose: purpose,
					Authorized: authorized, AuthorizationKind: kind, Wildcard: wildcard, Emergency: emergency, Run: run, Object: "o"})
				return ok
			})
		}
		analyst, system := []string{string(ombud.RoleAnalyst)}, []string{string(ombud.RoleSystem)}
		cs.Analyst = Access{Plain: ask(analyst, false, false, false, false), Authorized: ask(analyst, true, false, false, false),
			Wildcard: ask(analyst, true, true, false, false), Emergency: ask(analyst, false, false, true, false)}
		cs.Run = Access{Plain: ask(system, false, false, false, true), Authorized: ask(system, true, false, false, true),
			Wildcard: ask(system, true, true, false, true)}
		cs.Evidence, _ = p.Decide(Input{Principal: "p", Roles: []string{string(ombud.RoleReviewer)}, Class: c.Name, Sensitive: c.IsSensitive(),
			Purpose: vocab.PurposeReview, Evidence: true, Object: "o"})
		s.Classes = append(s.Classes, cs)
		for _, r := range []ombud.Role{ombud.RoleAdmin, ombud.RoleIngestor, ombud.RoleAuditor} {
			if slices.Contains(s.Others, string(r)) {
				continue
			}
			roles := []string{string(r)}
			if !ask(roles, false, false, false, false).Never() || !ask(roles, true, false, false, false).Never() || !ask(roles, true, true, false, false).Never() {
				s.Others = append(s.Others, string(r))
			}
		}
	}
	s.Act = summarizeAct(p)
	return s
}

// probe asks every purpose and kind.
func probe(purposes, kinds []string, authorized bool, ok func(purpose, kind string) bool) Cond {
	c := Cond{All: true}
	kindOK := map[string]bool{}
	for _, purpose := range purposes {
		any := false
		for _, k := range kinds {
			if ok(purpose, k) {
				any, kindOK[k] = true, true
			} else {
				c.All = false
			}
		}
		if any {
			c.Purposes = append(c.Purposes, purpose)
		}
	}
	if authorized {
		for _, k := range kinds {
			if kindOK[k] {
				c.Kinds = append(c.Kinds, k)
			}
		}
	}
	if len(c.Purposes) == 0 {
		c.All = false
	}
	return c
}

func summarizeAct(p *Policy) ActSummary {
	decide := func(kind string, biometric bool, n, rejections int64) bool {
		return p.DecideAct(ActInput{Principal: "p", Roles: []string{string(ombud.RoleAnalyst)}, Flag: "f", Kind: kind,
			Biometric: biometric, Confirmations: n, Rejections: rejections})
	}
	least := func(kind string, biometric bool) int64 {
		for n := int64(0); n <= MaxProbedConfirmations; n++ {
			if decide(kind, biometric, n, 0) {
				return n
			}
		}
		return -1
	}
	var out ActSummary
	for _, k := range ombud.ActionKinds {
		r := ActRule{Kind: k, Confirmations: least(k, false), Biometric: least(k, true)}
		n := max(r.Confirmations, r.Biometric)
		r.RejectionBlocks = !decide(k, false, n, 1) && !decide(k, true, n, 1)
		out = append(out, r)
	}
	return out
}
