// Package review keeps what stands between an automated match and an
// action on it: the flags analytic runs raise, each logged with the run,
// the system version and the match's figures, so that humans review them
// before anything is done.
package review

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/reason"
	"github.com/ombud/ombud/vocab"
)

// Store is what review reads of the metadata store: flags and what
// followed them, the runs that raised them and the authorizations those
// cited, the systems' versions, and detail records for contests. It
// changes state only through the journal. store.Store satisfies it.
type Store interface {
	Flag(ctx context.Context, id string) (*ombud.Flag, error)
	Reviews(ctx context.Context, flag string) ([]*ombud.Review, error)
	Actions(ctx context.Context, flag string) ([]*ombud.Action, error)
	Action(ctx context.Context, id string) (*ombud.Action, error)
	ActionByNotice(ctx context.Context, sum []byte) (*ombud.Action, error)
	ActionsBy(ctx context.Context, principal string, limit int) ([]*ombud.Action, error)
	AwaitingReview(ctx context.Context, reviewer string, since time.Time, limit int) ([]*ombud.Flag, error)
	Contest(ctx context.Context, id string) (*ombud.Contest, error)
	ContestOf(ctx context.Context, action string) (*ombud.Contest, error)
	OpenContests(ctx context.Context, limit int) ([]*ombud.Contest, error)
	Run(ctx context.Context, id string) (*ombud.Run, error)
	Authorization(ctx context.Context, id string) (*ombud.RegisteredAuthorization, error)
	AnalyticSystem(ctx context.Context, id string) (*ombud.AnalyticSystem, error)
	Detail(ctx context.Context, k ombud.DetailKey) (journal.Detail, error)
}

// Config is what a review service is built from (New). Store, Journal
// and Policy are required.
type Config struct {
	Store   Store
	Journal *journal.Journal
	// Policy returns the Cedar policy in force, which decides actions.
	Policy func() *access.Policy
	// Vocabulary holds the registered codes; a flag's reference database
	// is one (it is public).
	Vocabulary vocab.Vocabulary
	// Gate holds a flag's gate alone while a review, an action or a
	// resolution is logged (custody.Gates.FlagExclusive), so that no
	// viewing of its evidence that the change ends is logged after it.
	Gate func(ctx context.Context, flag string) (release func(), err error)
	Now  func() time.Time
	// ContestDeadline is how long a contest may wait for its resolution
	// (DefaultContestDeadline when zero); each filing logs it.
	ContestDeadline time.Duration
	// Redress is what notices say of the deployment.
	Redress Redress
}

// Service raises flags, records their reviews and takes actions on them.
// Build it with New.
type Service struct {
	Config
}

// New checks c and returns the service it describes.
func New(c Config) (*Service, error) {
	switch {
	case c.Store == nil:
		return nil, errors.New("review: no metadata store")
	case c.Journal == nil:
		return nil, errors.New("review: no journal")
	case c.Policy == nil:
		return nil, errors.New("review: no policy")
	}
	return &Service{Config: c}, nil
}

func (s *Service) gate(ctx context.Context, flag string) (release func(), err error) {
	if s.Gate == nil {
		return func() {}, nil
	}
	return s.Gate(ctx, flag)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// FlagRequest is a match to record: the run that read the inputs, the
// candidates it matched against a reference database, and the figures.
type FlagRequest struct {
	Principal  *ombud.Principal
	Run        string
	Inputs     []string // object ids read in the run
	Candidates []string // subject identifiers; only keyed pseudonyms are kept
	// References are the candidates' reference images held in custody,
	// as object ids: optional, each of a candidate.
	References []string
	Rank       int64
	Score      float64
	Threshold  float64
	// OperatingPoint names the error rate the threshold was set for:
	// fmr, fnmr, fpir or fnir, a dash and the rate, such as fpir-1e-3
	// (optional; it is public, so nothing else is taken).
	OperatingPoint string
	ReferenceDB    string
	GallerySize    int64
	Matched        time.Time // zero for now
}

// operatingPoint is the shape of an operating point: a rate's name and its
// value in e-notation.
var operatingPoint = regexp.MustCompile(`^(fmr|fnmr|fpir|fnir)-[1-9](\.[0-9]{1,3})?e-[0-9]{1,2}$`)

// The bounds of a flag.
const (
	MaxInputs     = 64
	MaxCandidates = 64
)

// refuse is a refusal with its own reason: a refused operation, which
// logs nothing.
func refuse(code ombud.Code, reason, msg string) *ombud.Error {
	return &ombud.Error{Code: code, Reason: reason, Message: msg}
}

func invalid(format string, a ...any) error { return ombud.Errorf(ombud.CodeInvalid, format, a...) }

func (s *Service) check(req FlagRequest) error {
	if err := ombud.ValidateIdentifier("run", req.Run); err != nil {
		return err
	}
	switch {
	case len(req.Inputs) == 0 || len(req.Inputs) > MaxInputs:
		return invalid("inputs: name 1 to %d objects the run read", MaxInputs)
	case len(req.Candidates) == 0 || len(req.Candidates) > MaxCandidates:
		return invalid("candidates: name 1 to %d subjects", MaxCandidates)
	case req.Rank < 1:
		return invalid("rank: the candidates' rank, from 1")
	case math.IsNaN(req.Score) || math.IsInf(req.Score, 0) || math.IsNaN(req.Threshold) || math.IsInf(req.Threshold, 0):
		return invalid("score and threshold must be numbers")
	case req.GallerySize < 0:
		return invalid("gallery_size must not be negative")
	case req.OperatingPoint != "" && !operatingPoint.MatchString(req.OperatingPoint):
		return invalid("operating_point: a rate and its value, such as fpir-1e-3 or fmr-1e-4")
	case req.GallerySize > 0 && req.Rank > req.GallerySize:
		return invalid("rank: %d is past the gallery's %d entries", req.Rank, req.GallerySize)
	}
	if err := s.Vocabulary.Check(vocab.ReferenceDB, "reference_db", req.ReferenceDB); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, id := range req.Inputs {
		if err := ombud.ValidateIdentifier("input", id); err != nil {
			return err
		}
		if seen[id] {
			return invalid("inputs: object %s is named twice", id)
		}
		seen[id] = true
	}
	cands := map[string]bool{}
	for _, id := range req.Candidates {
		if err := ombud.ValidateIdentifier("candidate", id); err != nil {
			return err
		}
		if cands[id] {
			return invalid("candidates: %s is named twice", id)
		}
		cands[id] = true
	}
	if len(req.References) > MaxCandidates {
		return invalid("references: at most %d reference images", MaxCandidates)
	}
	for _, id := range req.References {
		if err := ombud.ValidateIdentifier("reference", id); err != nil {
			return err
		}
		if seen[id] {
			return invalid("object %s is named twice", id)
		}
		seen[id] = true
	}
	return nil
}

// Raise records a flag through the one pattern. Its creator is the run's
// starter or a machine of the run's system; each input must have been
// read in the run, the run must be open and its version in service (the
// store checks all three with the reservation, against a close or a
// retirement at the same time).
func (s *Service) Raise(ctx context.Context, req FlagRequest) (*ombud.Flag, journal.Leaf, error) {
	p := req.Principal
	if p == nil {
		return nil, journal.Leaf{}, errors.New("review: a flag without a principal")
	}
	if err := s.check(req); err != nil {
		return nil, journal.Leaf{}, err
	}
	run, err := s.Store.Run(ctx, req.Run)
	if errors.Is(err, ombud.ErrNotFound) || (err == nil && p.ID != run.Principal && !(p.Has(ombud.RoleSystem) && p.System == run.System)) {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "no such run")
	}
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	sys, err := s.Store.AnalyticSystem(ctx, run.System)
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	sv := sys.Version(run.Version)
	if sv == nil {
		return nil, journal.Leaf{}, errors.New("review: a run of an unregistered version")
	}
	// The threshold that counts is the stricter of the one the flag states
	// and the version's registered operating threshold, at which its
	// accuracy was published (and which the person's notice quotes): a
	// machine cannot lower it by stating another.
	if bar := max(req.Threshold, sv.Accuracy.Threshold); req.Score < bar && !ombud.ListsCandidates(sys.Task) {
		return nil, journal.Leaf{}, refuse(ombud.CodeInvalid, reason.BelowThreshold,
			fmt.Sprintf("the score %g is below the threshold %g (the flag's, or the version's registered operating threshold): only a system whose task produces investigative candidate lists (face_investigation) flags below its threshold", req.Score, bar))
	}
	if err := s.standing(ctx, run); err != nil {
		return nil, journal.Leaf{}, err
	}
	now := s.now().Truncate(time.Millisecond)
	matched := req.Matched.UTC().Truncate(time.Millisecond)
	switch {
	case req.Matched.IsZero():
		matched = now
	case matched.After(now) || matched.Before(run.Started):
		return nil, journal.Leaf{}, invalid("matched_at must lie between the run's start and now")
	}
	f := &ombud.Flag{ID: ombud.NewID(), Run: run.ID, System: run.System, Version: run.Version, Inputs: req.Inputs, Rank: req.Rank, Score: req.Score,
		Threshold: req.Threshold, ReferenceDB: req.ReferenceDB, GallerySize: req.GallerySize, Matched: matched, Created: now, By: p.ID}
	for _, c := range req.Candidates {
		f.Candidates = append(f.Candidates, s.Journal.Key.Pseudonym("subject", c))
	}
	// Stored sorted, so that the same match is found again (one flag per
	// match and run).
	f.Inputs = slices.Sorted(slices.Values(req.Inputs))
	slices.Sort(f.Candidates)
	f.References = req.References
	class := ""
	if len(run.Classes) == 1 {
		class = run.Classes[0]
	}
	body := entry.Flag{System: sys.Name, Model: sv.Model, ModelVersion: sv.Version, ReferenceDB: req.ReferenceDB, GallerySize: req.GallerySize,
		Rank: req.Rank, Score: req.Score, Threshold: req.Threshold, OperatingPoint: req.OperatingPoint, Class: class, Flag: f.ID, Input: f.Inputs, Candidate: req.Candidates, Reference: req.References, Run: run.ID, By: p.ID}
	detail := entry.FlagDetail{Candidates: f.Candidates, Flag: f.ID, Inputs: req.Inputs, MatchedAt: matched.Format(time.RFC3339Nano), References: req.References, Run: run.ID}
	c, err := journal.FlagCreate.Change(f.ID, journal.FlagPayload{Flag: f})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{Body: body, Detail: detail}, nil)
	switch {
	case errors.Is(err, ombud.ErrRunClosed):
		return nil, journal.Leaf{}, refuse(ombud.CodeConflict, reason.RunClosed, "the run is closed: a flag cites an open run")
	case errors.Is(err, ombud.ErrRetired):
		return nil, journal.Leaf{}, refuse(ombud.CodeConflict, reason.VersionRetired, "the run's version is retired")
	case errors.Is(err, ombud.ErrExists):
		return nil, journal.Leaf{}, refuse(ombud.CodeConflict, reason.FlagDuplicate, "the run flagged this match already (the same inputs and candidates)")
	case errors.Is(err, ombud.ErrNotCandidate):
		return nil, journal.Leaf{}, refuse(ombud.CodeConflict, reason.ReferenceInvalid, "a reference image is not a live object of a candidate the run's authorization names")
	case errors.Is(err, ombud.ErrNotRead):
		return nil, journal.Leaf{}, refuse(ombud.CodeConflict, reason.InputNotRead, "an input or reference image of the flag was not read in its run")
	case errors.Is(err, ombud.ErrRevoked):
		return nil, journal.Leaf{}, errRevoked
	case err != nil:
		return nil, w, err
	}
	f.Index = w.Index
	return f, w, nil
}

// MaxRationale bounds a review's rationale, kept only in its detail.
const MaxRationale = 4096

// Review records a reviewer's verdict on a flag, with its rationale, through
// the one pattern. The flag's creator and whoever started its run may not
// review it; no reviewer reviews a flag twice (the store refuses the
// second, even at the same time).
func (s *Service) Review(ctx context.Context, p *ombud.Principal, flagID, verdict, rationale string) (*ombud.Review, journal.Leaf, error) {
	if p == nil {
		return nil, journal.Leaf{}, errors.New("review: a review without a principal")
	}
	if err := ombud.ValidateIdentifier("flag", flagID); err != nil {
		return nil, journal.Leaf{}, err
	}
	if verdict != entry.Confirm && verdict != entry.Reject {
		return nil, journal.Leaf{}, invalid("verdict must be %q or %q", entry.Confirm, entry.Reject)
	}
	if strings.TrimSpace(rationale) == "" || len(rationale) > MaxRationale {
		return nil, journal.Leaf{}, invalid("rationale: say why, in 1 to %d bytes (kept only in the private detail record)", MaxRationale)
	}
	if err := ombud.ValidateText("rationale", rationale); err != nil {
		return nil, journal.Leaf{}, err
	}
	f, err := s.Store.Flag(ctx, flagID)
	if errors.Is(err, ombud.ErrNotFound) {
		return nil, journal.Leaf{}, refuse(ombud.CodeNotFound, reason.FlagUnknown, "no such flag")
	}
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	run, err := s.Store.Run(ctx, f.Run)
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	if p.ID == f.By || p.ID == run.Principal {
		return nil, journal.Leaf{}, refuse(ombud.CodeForbidden, reason.NotIndependent, "the flag's creator and the run's starter may not review it")
	}
	if err := s.standing(ctx, run); err != nil {
		return nil, journal.Leaf{}, err
	}
	rv := &ombud.Review{Flag: f.ID, Reviewer: p.ID, Verdict: verdict, Created: s.now().Truncate(time.Millisecond)}
	c, err := journal.FlagReview.Change(journal.Pair(f.ID, p.ID), journal.ReviewPayload{Review: rv})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	release, err := s.gate(ctx, f.ID)
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	defer release()
	w, err := s.Journal.Apply(ctx, c, journal.Record{Body: entry.Review{Outcome: verdict, Flag: f.ID, By: p.ID},
		Detail: entry.ReviewDetail{Flag: f.ID, Rationale: rationale}}, nil)
	switch {
	case errors.Is(err, ombud.ErrActed):
		return nil, journal.Leaf{}, refuse(ombud.CodeConflict, reason.FlagActed, "an action was taken on this flag; it is closed to review (the person affected may contest the action)")
	case errors.Is(err, ombud.ErrRejected):
		return nil, journal.Leaf{}, errRejected
	case errors.Is(err, ombud.ErrRevoked):
		return nil, journal.Leaf{}, errRevoked
	case errors.Is(err, ombud.ErrNotViewed):
		return nil, journal.Leaf{}, refuse(ombud.CodeConflict, reason.EvidenceNotViewed,
			"view every input of the flag before you confirm it (each viewing is logged): GET /v1/objects/{id} with Ombud-Purpose: review and Ombud-Flag, or the evidence page at /review")
	case errors.Is(err, ombud.ErrExists), errors.Is(err, ombud.ErrBusy):
		return nil, journal.Leaf{}, refuse(ombud.CodeConflict, reason.AlreadyReviewed, "you reviewed this flag already")
	case err != nil:
		return nil, w, err
	}
	rv.Index = w.Index
	return rv, w, nil
}

// Act takes an action on a flag if the policy allows it on the flag's
// reviews (by default: at least two distinct confirmations and no
// rejection), through the one pattern: the store takes the action only if
// the reviews it was decided on still stand. An action other than
// no_action gets a notice code for the person affected, returned once and
// kept only as its SHA-256. A refused action logs nothing.
func (s *Service) Act(ctx context.Context, p *ombud.Principal, flagID, kind string) (*ombud.Action, string, journal.Leaf, error) {
	fail := func(err error) (*ombud.Action, string, journal.Leaf, error) { return nil, "", journal.Leaf{}, err }
	if p == nil {
		return fail(errors.New("review: an action without a principal"))
	}
	if err := ombud.ValidateIdentifier("flag", flagID); err != nil {
		return fail(err)
	}
	if !slices.Contains(ombud.ActionKinds, kind) {
		return fail(invalid("kind must be one of %s", strings.Join(ombud.ActionKinds, ", ")))
	}
	f, err := s.Store.Flag(ctx, flagID)
	if errors.Is(err, ombud.ErrNotFound) {
		return fail(refuse(ombud.CodeNotFound, reason.FlagUnknown, "no such flag"))
	}
	if err != nil {
		return fail(err)
	}
	if acts, err := s.Store.Actions(ctx, f.ID); err != nil || len(acts) > 0 {
		return fail(cmp.Or(err, error(refuse(ombud.CodeConflict, reason.FlagActed, "an action was taken on this flag already; a flag has one action"))))
	}
	reviews, err := s.Store.Reviews(ctx, f.ID)
	if err != nil {
		return fail(err)
	}
	for _, r := range reviews {
		if r.Reviewer == p.ID {
			return fail(refuse(ombud.CodeForbidden, reason.NotIndependent, "you reviewed this flag: someone else takes the action"))
		}
	}
	run, err := s.Store.Run(ctx, f.Run)
	if err != nil {
		return fail(err)
	}
	if p.Has(ombud.RoleReviewer) && p.ID != f.By && p.ID != run.Principal {
		// A reviewer who may still review the flag takes no action on it:
		// the action's answer would tell them the reviews so far, and
		// reviews are blind.
		return fail(refuse(ombud.CodeForbidden, reason.NotIndependent,
			"you may review this flag: a reviewer takes no action on a flag they have not reviewed, and none on one they have"))
	}
	var confirms, rejects int64
	var reviewers []string
	for _, r := range reviews {
		if r.Verdict == entry.Confirm {
			confirms++
			reviewers = append(reviewers, r.Reviewer)
		} else {
			rejects++
		}
	}
	if rejects > 0 {
		return fail(errRejected)
	}
	if err := s.standing(ctx, run); err != nil {
		return fail(err)
	}
	sys, err := s.Store.AnalyticSystem(ctx, f.System)
	if err != nil {
		return fail(err)
	}
	pol := s.Policy()
	if pol == nil {
		return fail(errors.New("review: no policy loaded"))
	}
	in := access.ActInput{Principal: p.ID, Roles: access.RoleNames(p), Flag: f.ID, Kind: kind, Biometric: ombud.IsBiometricTask(sys.Task), Confirmations: confirms, Rejections: rejects}
	if !pol.DecideAct(in) {
		more := in
		more.Confirmations, more.Rejections = 1<<40, 0
		if pol.DecideAct(more) {
			return fail(refuse(ombud.CodeConflict, reason.NotEnoughConfirmations, fmt.Sprintf("the flag has %d distinct confirmations; the policy needs more before an action", confirms)))
		}
		return fail(refuse(ombud.CodeForbidden, reason.PolicyDenied, "the access policy does not permit this action"))
	}
	a := &ombud.Action{ID: ombud.NewID(), Flag: f.ID, Kind: kind, Reviewers: reviewers, Created: s.now().Truncate(time.Millisecond), By: p.ID}
	notice := ""
	if kind != "no_action" {
		notice = NewNotice()
		sum := NoticeHash(notice)
		a.NoticeHash = sum[:]
	}
	keyed := make([]string, len(reviewers))
	for i, r := range reviewers {
		keyed[i] = s.Journal.Key.Pseudonym("principal", r)
	}
	c, err := journal.FlagAction.Change(a.ID, journal.ActionPayload{Action: a, Confirmations: confirms, Rejections: rejects})
	if err != nil {
		return fail(err)
	}
	release, err := s.gate(ctx, f.ID)
	if err != nil {
		return fail(err)
	}
	defer release()
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body:   entry.Action{ActionKind: kind, Confirmations: confirms, ModelVersion: f.Version, Flag: f.ID, Action: a.ID, Reviewer: keyed, By: p.ID},
		Detail: entry.ActionDetail{Flag: f.ID, Kind: kind, Reviewers: reviewers},
	}, nil)
	switch {
	case errors.Is(err, ombud.ErrActed):
		return fail(refuse(ombud.CodeConflict, reason.FlagActed, "an action was taken on this flag already; a flag has one action"))
	case errors.Is(err, ombud.ErrRejected):
		return fail(errRejected)
	case errors.Is(err, ombud.ErrRevoked):
		return fail(errRevoked)
	case errors.Is(err, ombud.ErrStale), errors.Is(err, ombud.ErrBusy):
		return fail(refuse(ombud.CodeConflict, reason.ReviewsChanged, "a review of the flag was recorded meanwhile, or its run's authorization is being revoked; decide again"))
	case err != nil:
		return nil, "", w, err
	}
	a.Index = w.Index
	return a, notice, w, nil
}

// The refusals that end a flag's pipeline.
var (
	errRejected = refuse(ombud.CodeConflict, reason.FlagRejected, "a reviewer rejected the flag, which closes it: no review or action follows a rejection")
	errRevoked  = refuse(ombud.CodeConflict, reason.AuthRevoked, "the authorization of the flag's run was revoked: its flags, reviews and actions end with it")
)

// standing refuses a flag, review or action whose run's authorization was
// revoked or has expired: the authorization bounds what follows from its
// reads, not only the reads. (The store checks the revocation again with
// the reservation, against one at the same time.) Exhaustion does not end
// it: the run itself spent the use that may have exhausted it.
func (s *Service) standing(ctx context.Context, run *ombud.Run) error {
	if run.Authorization == "" {
		return nil
	}
	ra, err := s.Store.Authorization(ctx, run.Authorization)
	switch {
	case errors.Is(err, ombud.ErrNotFound) || (err == nil && ra.Revoked != nil):
		return errRevoked
	case err != nil:
		return err
	case !s.now().Before(ra.NotAfter):
		return refuse(ombud.CodeConflict, reason.AuthExpired, "the authorization of the flag's run has expired: its flags, reviews and actions end with it")
	}
	return nil
}

// NewNotice returns a fresh notice code: 80 random bits, as four groups of
// four letters and digits (Crockford's base32, no I, L, O or U).
func NewNotice() string {
	var b [10]byte
	rand.Read(b[:])
	s := noticeEncoding.EncodeToString(b[:])
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}

const noticeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var noticeEncoding = base32.NewEncoding(noticeAlphabet).WithPadding(base32.NoPadding)

// normalizeNotice reads a code as a person may type it: case, dashes and
// spaces do not count, and O, I and L are read as 0, 1 and 1.
func normalizeNotice(code string) string {
	return strings.NewReplacer("-", "", " ", "", "O", "0", "I", "1", "L", "1").Replace(strings.ToUpper(code))
}

// NoticeHash hashes a notice code as entered (see normalizeNotice).
func NoticeHash(code string) [32]byte {
	return sha256.Sum256([]byte("ombud/notice/v1\x00" + normalizeNotice(code)))
}
