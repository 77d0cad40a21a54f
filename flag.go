package ombud

import (
	"context"
	"errors"
	"time"
)

// Flag is an automated match an analytic system raised in a run: what a
// human must review before any action is taken on it.
type Flag struct {
	ID          string
	Run         string
	System      string // the system's id
	Version     string
	Inputs      []string // object ids, each read in the run
	Candidates  []string // subjects, as keyed pseudonyms
	Rank        int64
	Score       float64
	Threshold   float64
	ReferenceDB string // a code
	GallerySize int64
	Matched     time.Time // when the system matched
	Created     time.Time
	By          string // its creator
	Index       uint64
}

// Review is a reviewer's verdict on a flag.
type Review struct {
	Flag     string
	Reviewer string
	Verdict  string // entry.Confirm or entry.Reject
	Created  time.Time
	Index    uint64
}

// ReviewTarget names the change target of a review: one per reviewer and
// flag.
func ReviewTarget(flag, reviewer string) string { return "review:" + flag + "/" + reviewer }

// ReviewPayload: OpReview.
type ReviewPayload struct{ Review *Review }

// Action is an action taken on a flag once its reviews allow it.
type Action struct {
	ID         string
	Flag       string
	Kind       string
	NoticeHash []byte   // SHA-256 of the notice code; nil for no_action
	Reviewers  []string // who confirmed the flag
	Created    time.Time
	By         string
	Index      uint64
}

// ActionTarget names the change target of an action.
func ActionTarget(id string) string { return "action:" + id }

// ActionPayload: OpAction, with the review counts it was decided on: the
// store takes it only if they still hold.
type ActionPayload struct {
	Action                    *Action
	Confirmations, Rejections int64
}

// ActionKinds are the actions that may follow a flag.
var ActionKinds = []string{"referral", "detention_request", "questioning", "further_investigation", "no_action"}

// FlagTarget names the change target of a flag.
func FlagTarget(id string) string { return "flag:" + id }

// FlagPayload: OpFlagCreate.
type FlagPayload struct{ Flag *Flag }

// ErrNotRead: a flag cites an input its run did not read.
var ErrNotRead = errors.New("an input was not read in the run")

// Reasons of refused flags.
const (
	// ReasonInputNotRead: a flag's input was not read in its run.
	ReasonInputNotRead = "input_not_read"
	// ReasonAlreadyReviewed: the reviewer reviewed the flag before.
	ReasonAlreadyReviewed = "already_reviewed"
	// ReasonNotIndependent: the reviewer raised the flag or started its
	// run.
	ReasonNotIndependent = "reviewer_not_independent"
	// ReasonFlagUnknown: no such flag.
	ReasonFlagUnknown = "flag_unknown"
	// ReasonNotEnoughConfirmations: the policy needs more distinct
	// confirmations before an action.
	ReasonNotEnoughConfirmations = "not_enough_confirmations"
	// ReasonUnresolvedRejection: a reviewer rejected the flag.
	ReasonUnresolvedRejection = "unresolved_rejection"
)

// FlagStore keeps flags.
type FlagStore interface {
	// Flag returns a flag by id; ErrNotFound if there is none (or it is
	// only reserved).
	Flag(ctx context.Context, id string) (*Flag, error)
	// Reviews lists a flag's reviews, oldest first.
	Reviews(ctx context.Context, flag string) ([]*Review, error)
}
