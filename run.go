package ombud

import (
	"context"
	"time"

	"github.com/ombud/ombud/reason"
)

// Run is an analytic run: one version of a registered system reading a
// fixed list of objects for one purpose, under at most one authorization,
// until it is closed or reaches its time limit. Starting it spends one use
// of the authorization, however many objects it reads.
type Run struct {
	ID            string
	System        string // the analytic system's id
	Version       string // the system version
	Purpose       string
	Authorization string // "" when no object is of a sensitive class
	Principal     string // who started it
	Objects       int    // how many objects its list holds
	Classes       []string
	Started       time.Time
	Deadline      time.Time // its time limit
	Index         uint64    // the run entry
	Closed        *time.Time
	CloseIndex    uint64
	CloseReason   string // RunClosed or RunTimeLimit
	Read          int64  // objects released
	Bytes         int64  // plaintext bytes released
}

// Open reports whether the run may still read at now.
func (r *Run) Open(now time.Time) bool { return r.Closed == nil && now.Before(r.Deadline) }

// How a run ended, as its close entry says.
const (
	RunClosed    = "closed"     // closed by its starter or an admin
	RunTimeLimit = "time_limit" // ended by itself at its time limit
)

// EndsRun reports whether a denial of a run's read ends the run's reading
// (the stream stops after it) rather than refusing one object of it.
func EndsRun(why string) bool {
	switch why {
	case reason.RunClosed, reason.RunTimeLimit, reason.AuthRevoked, reason.StarterDisabled, reason.VersionRetired:
		return true
	}
	return false
}

// MaxRunObjects bounds the object list of one run; a larger job is several
// runs. The list is kept in the run entry's detail record.
const MaxRunObjects = 100_000

// DefaultRunTimeLimit is how long a run may read when the configuration
// does not say.
const DefaultRunTimeLimit = 24 * time.Hour

// RunRead is an object of a run's list read: its position and its
// permit's entry.
type RunRead struct {
	Position int
	Index    uint64
}

// RunObject is one object of a run's list, at its position.
type RunObject struct {
	Position int
	Object   *Object
}

// ObjectFacts is what a run's checks need of one object.
type ObjectFacts struct {
	Class    string
	Subjects string // keyed pseudonyms, comma-separated
	Erased   bool
}

// RunCount is one system version's runs for one purpose.
type RunCount struct {
	Version, Purpose string
	Runs, Open, Read int64
}

// RunStore keeps runs and their object lists.
type RunStore interface {
	// Run returns a run by id; ErrNotFound if there is none (or it is only
	// reserved).
	Run(ctx context.Context, id string) (*Run, error)
	// RunObjects returns up to limit objects of a run's list from position
	// from, in order, with what a read needs of each: its id, class,
	// subjects, sizes, ciphertext hash, wrapped keyset and KEK version, and
	// whether it is erased (Erased set, its time only).
	RunObjects(ctx context.Context, id string, from, limit int) ([]RunObject, error)
	// Runs lists the runs of a system ("" for all), newest first, at most
	// limit.
	Runs(ctx context.Context, system string, limit int) ([]*Run, error)
	// RunCounts counts a system's runs by version and purpose: runs, runs
	// open at now, objects read.
	RunCounts(ctx context.Context, system string, now time.Time) ([]RunCount, error)
	// OpenRunsBefore lists runs not closed whose deadline is before t.
	OpenRunsBefore(ctx context.Context, t time.Time) ([]*Run, error)
	// ObjectFacts returns what a run's checks need of each of ids that
	// exists and is logged: its class, its subjects and whether it is
	// erased, by id.
	ObjectFacts(ctx context.Context, ids []string) (map[string]ObjectFacts, error)
	// ErasedRunObjects lists the positions in [from, to) of a run's list
	// whose objects are erased.
	ErasedRunObjects(ctx context.Context, id string, from, to int) ([]int, error)
	// SelectObjects lists the ids of up to limit live objects of class
	// whose subjects include the keyed pseudonym subject, oldest first.
	SelectObjects(ctx context.Context, class, subject string, limit int) ([]string, error)
	// RecordRunReads records the objects of a run's list whose permits
	// were logged (position and entry), and adds them and their bytes to
	// the run's counts.
	RecordRunReads(ctx context.Context, id string, reads []RunRead, bytes int64) error
}
