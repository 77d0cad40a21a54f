package ombud

import (
	"context"
	"errors"
	"time"
)

// Flag is an automated match an analytic system raised in a run: what a
// human must review before any action is taken on it.
type Flag struct {
	ID         string
	Run        string
	System     string // the system's id
	Version    string
	Inputs     []string // object ids, each read in the run
	Candidates []string // subjects, as keyed pseudonyms
	// References are the candidates' reference images held in custody
	// (object ids), which reviewers may view as evidence.
	References  []string
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
	// Withdrawn is when a contest of the action was overturned (zero while
	// it stands): the overturning resolution, logged at WithdrawnIndex,
	// withdraws it.
	Withdrawn      time.Time
	WithdrawnIndex uint64
}

// ActionKinds are the actions that may follow a flag.
var ActionKinds = []string{"referral", "detention_request", "questioning", "further_investigation", "no_action"}

// ErrNotRead: a flag cites an input or a reference its run did not read.
var ErrNotRead = errors.New("an input was not read in the run")

// ErrNotCandidate: a flag's reference image is not an object of one of
// its candidates.
var ErrNotCandidate = errors.New("a reference image is not of a candidate")

// ErrActed: an action was taken on the flag (one per flag), which closes
// it to reviews and further actions.
var ErrActed = errors.New("an action was taken on the flag")

// ReviewWindow is how long after it is raised a flag's evidence may be
// viewed for its review (never past its run's authorization's window); a
// contest of its action opens it again for the contest's resolver.
const ReviewWindow = 30 * 24 * time.Hour

// Contest is an affected person's contest of an action, filed with the
// action's notice code, and its resolution by a reviewer. The person's
// statement and the reviewer's rationale are kept only in detail records.
type Contest struct {
	ID      string
	Action  string
	Filed   time.Time
	Index   uint64 // the filing's entry
	Outcome string // "" while open, else ContestUpheld or ContestOverturned
	// Resolved, ResolvedBy and ResolveIndex are the resolution's.
	Resolved     time.Time
	ResolvedBy   string
	ResolveIndex uint64
	// Statement and Resolution are the keys of the filing's and the
	// resolution's detail records: the person's statement, the
	// reviewer's rationale.
	Statement, Resolution DetailKey
	// Due is when the contest must be resolved by: its filing's time and
	// the deployment's contest deadline, both public in the filing entry.
	Due time.Time
}

// DefaultContestDeadline is how long a contest may wait for its
// resolution unless the configuration says otherwise.
const DefaultContestDeadline = 30 * 24 * time.Hour

// Overdue reports whether the contest was, or is at now, past its due
// time unresolved.
func (c *Contest) Overdue(now time.Time) bool {
	if c.Due.IsZero() {
		return false
	}
	if c.Outcome != "" {
		return c.Resolved.After(c.Due)
	}
	return now.After(c.Due)
}

// The outcomes of a contest.
const (
	// ContestUpheld: the action stands.
	ContestUpheld = "upheld"
	// ContestOverturned: the action was wrong and is withdrawn.
	ContestOverturned = "overturned"
)

// ErrRejected: a reviewer rejected the flag, which closes it.
var ErrRejected = errors.New("a reviewer rejected the flag")

// ErrNotViewed: the reviewer has not viewed every input of the flag.
var ErrNotViewed = errors.New("the reviewer has not viewed every input")

// Viewing is a reviewer's logged viewing of one object as evidence of a
// flag: the permit's index.
type Viewing struct {
	Flag, Reviewer, Object string
	Index                  uint64
}

// ErrResolved: the contest is resolved already.
var ErrResolved = errors.New("the contest is resolved already")

// FlagStore keeps flags, their reviews and actions, and contests.
type FlagStore interface {
	// Flag returns a flag by id; ErrNotFound if there is none (or it is
	// only reserved).
	Flag(ctx context.Context, id string) (*Flag, error)
	// Reviews lists a flag's reviews, oldest first.
	Reviews(ctx context.Context, flag string) ([]*Review, error)
	// Actions lists a flag's actions, oldest first.
	Actions(ctx context.Context, flag string) ([]*Action, error)
	// ActionByNotice returns the action whose notice code hashes to
	// sum; ErrNotFound if none.
	ActionByNotice(ctx context.Context, sum []byte) (*Action, error)
	// Contest returns a contest by id; ErrNotFound if none.
	Contest(ctx context.Context, id string) (*Contest, error)
	// ContestOf returns the contest of an action; ErrNotFound if none.
	ContestOf(ctx context.Context, action string) (*Contest, error)
	// OpenContests lists the contests not yet resolved, oldest first.
	OpenContests(ctx context.Context, limit int) ([]*Contest, error)
	// AwaitingReview lists flags raised since since on which no action
	// was taken and that reviewer may review: not raised by them, not of
	// a run they started, not reviewed by them. Oldest first, at most
	// limit.
	AwaitingReview(ctx context.Context, reviewer string, since time.Time, limit int) ([]*Flag, error)
	// Action returns an action by id; ErrNotFound if none.
	Action(ctx context.Context, id string) (*Action, error)
	// ActionsBy lists the actions a principal took, newest first, at
	// most limit.
	ActionsBy(ctx context.Context, principal string, limit int) ([]*Action, error)
	// RecordViewing records a reviewer's logged viewing of a flag's
	// evidence; recording one twice keeps the first.
	RecordViewing(ctx context.Context, v Viewing) error
	// ReviewCounts counts a system's flags by version: flags, reviews
	// by verdict, actions by kind, contests by outcome ("open" while
	// open).
	ReviewCounts(ctx context.Context, system string) ([]ReviewCount, error)
}

// ReviewCount is one system version's flags and what followed them.
type ReviewCount struct {
	Version                             string
	Flags, Reviews, Confirmed, Rejected int64
	Actions                             map[string]int64 // by kind
	Contests                            map[string]int64 // by outcome, "open" while open
}
