package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ombud/ombud/access"
)

// PolicySummary is the access policy in plain words, as the disclosure
// page shows it first. Every sentence is written from access.Summarize,
// which asks the policy in force; none is written by hand about it.
type PolicySummary struct {
	Classes   []PolicyRow
	Others    string
	Acts      []string
	Emergency string
	// EmergencyAllowed: some class may be read in an emergency.
	EmergencyAllowed bool
}

// PolicyRow is who may read some classes, and when: classes the policy
// treats alike share a row.
type PolicyRow struct {
	Classes                []string // each with "(sensitive)" when it is
	Analyst, Run, Evidence string
}

// summarize writes s in plain words; deadline is how soon an emergency
// read must be covered.
func summarize(s access.Summary, deadline time.Duration) PolicySummary {
	var out PolicySummary
	var emergency []string
	for _, c := range s.Classes {
		row := PolicyRow{Analyst: readPhrase(s, c.Analyst), Run: readPhrase(s, c.Run), Evidence: "no"}
		if c.Evidence {
			row.Evidence = "yes, the evidence of a flag they may review, each viewing logged"
		}
		if !c.Analyst.Emergency.Never() {
			emergency = append(emergency, c.Class+purposeClause(s, c.Analyst.Emergency))
		}
		name := c.Class
		if c.Sensitive {
			name += " (sensitive)"
		}
		i := slices.IndexFunc(out.Classes, func(r PolicyRow) bool {
			return r.Analyst == row.Analyst && r.Run == row.Run && r.Evidence == row.Evidence
		})
		if i < 0 {
			out.Classes = append(out.Classes, row)
			i = len(out.Classes) - 1
		}
		out.Classes[i].Classes = append(out.Classes[i].Classes, name)
	}
	if len(s.Others) == 0 {
		out.Others = "No other role (admin, ingestor, auditor) may read a record."
	} else {
		out.Others = "The policy also lets these roles read records: " + strings.Join(s.Others, ", ") + "."
	}
	out.Acts = actSentences(s.Act)
	out.EmergencyAllowed = len(emergency) > 0
	if len(emergency) == 0 {
		out.Emergency = "Emergency access without a prior authorization is not allowed for any class."
	} else {
		out.Emergency = fmt.Sprintf("Emergency access without a prior authorization is allowed for %s. An authorization covering each such read must be registered within %s; otherwise a breach is logged, shown on the status page, and the reader's emergency access is suspended.",
			strings.Join(emergency, "; "), hours(deadline))
	}
	return out
}

// readPhrase says when a reader may read a class.
func readPhrase(s access.Summary, a access.Access) string {
	var parts []string
	if !a.Plain.Never() {
		parts = append(parts, "without an authorization"+purposeClause(s, a.Plain))
	}
	if !a.Plain.All {
		if !a.Authorized.Never() {
			p := "under " + kindClause(s, a.Authorized) + " that covers the read and names its subjects" + purposeClause(s, a.Authorized)
			if a.Wildcard.Never() {
				p += ", never under one naming every subject"
			}
			parts = append(parts, p)
		}
		if !a.Wildcard.Never() {
			parts = append(parts, "under "+kindClause(s, a.Wildcard)+" naming every subject"+purposeClause(s, a.Wildcard))
		}
	}
	if !a.Emergency.Never() {
		parts = append(parts, "in an emergency, before an authorization"+purposeClause(s, a.Emergency))
	}
	if len(parts) == 0 {
		return "never"
	}
	p := strings.Join(parts, "; or ")
	return strings.ToUpper(p[:1]) + p[1:]
}

func purposeClause(s access.Summary, c access.Cond) string {
	if len(c.Purposes) == len(s.Purposes) {
		return ", for any stated purpose"
	}
	return ", only for the purposes " + strings.Join(c.Purposes, ", ")
}

func kindClause(s access.Summary, c access.Cond) string {
	if len(c.Kinds) == len(s.Kinds) {
		return "a registered authorization"
	}
	return "a registered " + strings.Join(c.Kinds, " or ")
}

// actSentences states the two-person rule, one sentence per group of
// kinds of action that share it.
func actSentences(a access.ActSummary) []string {
	type rule struct {
		n, bio int64
		blocks bool
	}
	var order []rule
	kinds := map[rule][]string{}
	for _, r := range a {
		k := rule{r.Confirmations, r.Biometric, r.RejectionBlocks}
		if _, ok := kinds[k]; !ok {
			order = append(order, k)
		}
		kinds[k] = append(kinds[k], r.Kind)
	}
	var out []string
	for _, k := range order {
		what := "Every action on an automated match"
		if len(order) > 1 {
			what = "An action of kind " + strings.Join(kinds[k], ", ")
		}
		var s string
		switch {
		case k.n < 0 && k.bio < 0:
			s = what + " is refused: the policy permits it to no analyst."
		case k.n == 0 && k.bio == 0:
			s = what + " may be taken by an analyst without any human review."
		default:
			s = what + " needs " + confirmations(k.n) + " before an analyst may take it"
			if k.bio != k.n {
				s += "; a biometric identification needs " + confirmations(k.bio)
			}
			if k.blocks {
				s += ", and none of its reviewers may have rejected the match."
			} else {
				s += "; a rejection does not stop it."
			}
		}
		out = append(out, s)
	}
	return out
}

func confirmations(n int64) string {
	switch {
	case n < 0:
		return fmt.Sprintf("more than %d confirmations (it is never permitted)", access.MaxProbedConfirmations)
	case n == 0:
		return "no confirmation"
	case n == 1:
		return "the confirmation of one reviewer"
	}
	return fmt.Sprintf("the confirmations of %d distinct reviewers", n)
}

func hours(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	}
	return d.String()
}

// policyText serves the policy in force exactly as loaded, so that its
// SHA-256 can be checked against the one every decision names.
func (s *Site) policyText(w http.ResponseWriter, r *http.Request) {
	if s.Disclosure == nil {
		s.fail(w, r, http.StatusNotFound, "Not available", "This deployment publishes no disclosure page.")
		return
	}
	d, err := s.Disclosure(r.Context())
	if err != nil || d.PolicyText == "" {
		if err != nil {
			s.Logger.ErrorContext(r.Context(), "site: disclosure", "err", err)
		}
		s.fail(w, r, http.StatusInternalServerError, "Policy unavailable", "The access policy could not be read.")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write([]byte(d.PolicyText))
}
