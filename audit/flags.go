package audit

import (
	"slices"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/vocab"
)

// FlagState is a flag's creator and the reviewers who confirmed it.
type FlagState struct {
	Creator   []string `json:"creator"`
	Confirms  []string `json:"confirms"`
	Reviewers []string `json:"reviewers,omitempty"` // everyone who reviewed it, either way
	Acted     bool     `json:"acted,omitempty"`     // an action was taken on it
	// Contested: a contest of its action is filed and not resolved.
	Contested bool `json:"contested,omitempty"`
	// At, Run and Objects: when it was raised, its run, and its inputs
	// and reference images, the only objects its reviewers may view.
	At      time.Time `json:"at,omitzero"`
	Run     string    `json:"run,omitempty"`
	Objects []string  `json:"objects,omitempty"`
	// Inputs is how many of Objects, first, are inputs; Viewed holds each
	// viewing of one by a reviewer, as "reviewer object": a confirmation
	// needs the confirming reviewer's viewing of every input.
	Inputs int      `json:"inputs,omitempty"`
	Viewed []string `json:"viewed,omitempty"`
}

// flag records a flag raised: its creators (its raiser and its run's
// starter, who may not review it) and the objects its reviewers may view.
func (r *rules) flag(e *entry.Entry, b *entry.Flag) {
	if b.Flag == "" {
		return
	}
	var creator []string
	if b.By != "" {
		creator = []string{b.By}
	}
	f := &FlagState{Creator: creator, At: e.Time, Run: b.Run, Objects: append(slices.Clone(b.Input), b.Reference...), Inputs: len(b.Input)}
	if run := r.st.Runs[b.Run]; run != nil && run.Starter != "" && !slices.Contains(creator, run.Starter) {
		f.Creator = append(f.Creator, run.Starter)
	}
	r.st.Flags[b.Flag] = f
}

// evidenceRead checks a reviewer's viewing of a flag's evidence: of a
// logged flag, for the purpose review, not by the flag's creator, and
// records the viewing.
func (r *rules) evidenceRead(e *entry.Entry, b *entry.Access, add adder) {
	obj, purpose := b.Object, b.Purpose
	switch f := r.st.Flags[b.Flag]; {
	case f == nil:
		add(RuleEvidenceReadInvalid, "a viewing of evidence of flag %s, which was never logged", b.Flag)
	case purpose != vocab.PurposeReview:
		add(RuleEvidenceReadInvalid, "a viewing of a flag's evidence for the purpose %s, not %s", purpose, vocab.PurposeReview)
	case b.By != "" && slices.Contains(f.Creator, b.By):
		add(RuleEvidenceReadInvalid, "the creator of flag %s, or the starter of its run, viewed its evidence as a reviewer", b.Flag)
	case len(f.Objects) > 0 && !slices.Contains(f.Objects, obj):
		add(RuleEvidenceReadInvalid, "a viewing as evidence of flag %s of an object that is neither its input nor its reference image", b.Flag)
	case r.evidenceAuthEnded(f, e.Time):
		add(RuleEvidenceReadInvalid, "a viewing of the evidence of flag %s after its run's authorization was revoked or, outside a contest, its review window closed", b.Flag)
	case b.By != "" && slices.Contains(f.Reviewers, b.By):
		add(RuleEvidenceReadInvalid, "a reviewer viewed the evidence of flag %s after reviewing it", b.Flag)
	case f.Acted && !f.Contested:
		add(RuleEvidenceReadInvalid, "a viewing of the evidence of flag %s after its action, with no contest open", b.Flag)
	default:
		if v := b.By + " " + obj; b.By != "" && !slices.Contains(f.Viewed, v) {
			f.Viewed = append(f.Viewed, v)
		}
	}
}

// evidenceAuthEnded reports whether a viewing of f's evidence at t comes
// after its run's authorization was revoked or, for a review (no contest
// open), after the review window or the authorization's window closed.
func (r *rules) evidenceAuthEnded(f *FlagState, t time.Time) bool {
	deadline := f.At.Add(ombud.ReviewWindow)
	if run := r.st.Runs[f.Run]; run != nil && run.Authorization != "" {
		if a := r.st.Auths[run.Authorization]; a != nil {
			if a.Revoked != nil {
				return true
			}
			if !a.NotAfter.IsZero() && a.NotAfter.Before(deadline) {
				deadline = a.NotAfter
			}
		}
	}
	return !f.Contested && !f.At.IsZero() && !t.Before(deadline.Add(r.cfg.TimeTolerance))
}

// review checks that a review is of a logged flag and that a confirmation
// follows the reviewer's viewing of every input, and records the reviewer.
func (r *rules) review(b *entry.Review, add adder) {
	f := r.st.Flags[b.Flag]
	if f == nil {
		add(RuleReviewUnknownFlag, "a review of flag %s, which was never logged", b.Flag)
		return
	}
	if b.Outcome == entry.Confirm && b.By != "" && !slices.Contains(f.Confirms, b.By) {
		f.Confirms = append(f.Confirms, b.By)
		for _, in := range f.Objects[:min(f.Inputs, len(f.Objects))] {
			if !slices.Contains(f.Viewed, b.By+" "+in) {
				add(RuleConfirmationUnviewed, "a reviewer confirmed flag %s without a logged viewing of its input %s", b.Flag, in)
				break
			}
		}
	}
	if b.By != "" && !slices.Contains(f.Reviewers, b.By) {
		f.Reviewers = append(f.Reviewers, b.By)
	}
}

// contest records a contest filed against an action, with the time it is
// due by, and checks that its resolution came in time.
func (r *rules) contest(e *entry.Entry, b *entry.Contest, add adder) {
	if f := r.st.Flags[r.st.ActionFlags[b.Action]]; f != nil && b.Action != "" {
		f.Contested = b.Op == entry.OpFiled
	}
	switch due, ok := r.st.ContestsDue[b.Contest]; {
	case b.Op == entry.OpFiled && b.DeadlineDays > 0 && b.Contest != "":
		r.st.ContestsDue[b.Contest] = e.Time.Add(time.Duration(b.DeadlineDays) * 24 * time.Hour)
	case b.Op == entry.OpResolved && ok:
		if e.Time.After(due) {
			add(RuleContestOverdue, "contest %s was resolved at %s, after it was due at %s", b.Contest, e.Time.Format(time.RFC3339), due.Format(time.RFC3339))
		}
		delete(r.st.ContestsDue, b.Contest)
	}
}

// action checks that an action on a flag follows enough distinct
// confirming reviewers other than its creators, claims no more than the
// log shows, and is the flag's only one; it records the action.
func (r *rules) action(b *entry.Action, add adder) {
	id := b.Flag
	f := r.st.Flags[id]
	if f == nil {
		add(RuleActionWithoutReviews, "an action on flag %s, which was never logged", id)
		return
	}
	n := 0
	for _, c := range f.Confirms {
		if !slices.Contains(f.Creator, c) {
			n++
		}
	}
	if n < r.cfg.MinReviews {
		add(RuleActionWithoutReviews, "an action on flag %s after %d distinct confirming reviewers (not its creator); %d are required", id, n, r.cfg.MinReviews)
	}
	if b.Confirmations > int64(n) {
		add(RuleActionWithoutReviews, "the action claims %d confirmations; the log shows %d", b.Confirmations, n)
	}
	if f.Acted {
		add(RuleActionRepeated, "a second action on flag %s, which has one already", id)
	}
	f.Acted = true
	if b.Action != "" {
		r.st.ActionFlags[b.Action] = id
	}
}
