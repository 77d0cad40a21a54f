package tips

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/reason"
)

// LoggedWithin is how many days after its filing day a submission's
// entry is promised to be in the log by (the end of that day): its batch
// runs the day after the filing, and a day more leaves room for an outage.
const LoggedWithin = 2

// MaxSealedReply bounds a sealed reply the oversight body sends: MaxReply
// of text and age's header and overhead.
const MaxSealedReply = 64 << 10

// ageHeader begins every age file.
const ageHeader = "age-encryption.org/v1\n"

// Service is the whistleblower intake: it files a source's submissions
// sealed to the oversight body, finds a tip by its codename alone, logs
// the day's submissions in one batch, and records the oversight body's
// sealed replies.
type Service struct {
	Store   ombud.TipStore
	Journal *journal.Journal
	// Recipients are the oversight body's keys: every submission is
	// sealed to them before anything is written. The server holds none of
	// their identities.
	Recipients []age.Recipient
	// MaxBytes bounds a submission, message and files.
	MaxBytes int64
	// Salt is the deployment's salt of the codenames' hash.
	Salt []byte
	// Signer is the log's key, which signs the promises of filing.
	Signer note.Signer
	Now    func() time.Time
	Logger *slog.Logger
	// work bounds the codename hashes and sealed submissions in memory
	// at once: each hash takes 32 MiB. openings bounds those of returning
	// sources, so that filings always have one.
	work, openings chan struct{}

	// failures counts the requests the intake could not serve since the
	// last summary (Failures), with the last one's error: nothing on the
	// source's path is logged when it happens, since a log line's time
	// would date the visit.
	mu       sync.Mutex
	failures int
	lastErr  string
	summary  string // the day of the last summary
}

// Failed records a request the intake could not serve, for the day's
// summary.
func (s *Service) Failed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures++
	s.lastErr = err.Error()
	if len(s.lastErr) > 300 {
		s.lastErr = s.lastErr[:300]
	}
}

// Failures returns, once a day, how many requests the intake could not
// serve since the last summary and the last one's error; zero on other
// calls. A summary says only the day.
func (s *Service) Failures(now time.Time) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	day := ombud.Day(now)
	if day == s.summary {
		return 0, ""
	}
	s.summary = day
	n, last := s.failures, s.lastErr
	s.failures, s.lastErr = 0, ""
	return n, last
}

// SaltLabel names the deployment's codename salt, which every gateway
// derives from the linkage key they share (ombud.LinkageKey.Derive).
const SaltLabel = "tips/codename-salt"

// Work is how many codename hashes and sealed submissions a gateway
// works on at once; more wait.
const Work = 2

// busyWait is how long a request waits for a Work slot.
const busyWait = 30 * time.Second

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// acquire takes one of the Work slots, waiting for one up to busyWait.
// A return (opening set) takes one of the Work-1 slots returns may hold
// first: a flood of codenames, right or wrong, which anyone can send,
// always leaves a slot to a new filing.
func (s *Service) acquire(ctx context.Context, opening bool) (func(), error) {
	if s.work == nil {
		panic("tips: a Service is made with NewService")
	}
	ctx, cancel := context.WithTimeout(ctx, busyWait)
	defer cancel()
	busy := ombud.Errorf(ombud.CodeUnavailable, "the intake is busy; please try again in a minute")
	if opening {
		select {
		case s.openings <- struct{}{}:
		case <-ctx.Done():
			return nil, busy
		}
	}
	select {
	case s.work <- struct{}{}:
		return func() {
			<-s.work
			if opening {
				<-s.openings
			}
		}, nil
	case <-ctx.Done():
		if opening {
			<-s.openings
		}
		return nil, busy
	}
}

// NewService returns s ready to serve.
func NewService(s *Service) (*Service, error) {
	switch {
	case s.Store == nil || s.Journal == nil || s.Signer == nil:
		return nil, errors.New("tips: a Service needs a store, a journal and the log's signer")
	case len(s.Recipients) == 0:
		return nil, errors.New("tips: a Service needs the oversight body's recipients")
	case len(s.Salt) < 16:
		return nil, errors.New("tips: a Service needs a salt of at least 16 bytes")
	case s.MaxBytes <= 0:
		return nil, errors.New("tips: a Service needs a size limit")
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	s.work, s.openings = make(chan struct{}, Work), make(chan struct{}, Work-1)
	return s, nil
}

// Filed is what a source takes away from a submission: the codename (of
// a new tip only; shown once) and the signed promise of filing.
type Filed struct {
	Codename string
	Promise  []byte
	// Commitment and LoggedBy are the promise's.
	Commitment string
	LoggedBy   string
}

// seal seals sub to the oversight body.
func (s *Service) seal(sub Submission) ([]byte, Sealed, error) {
	var buf bytes.Buffer
	sealed, err := Seal(&buf, s.Recipients, sub)
	if err != nil {
		return nil, Sealed{}, err
	}
	return buf.Bytes(), sealed, nil
}

// promise signs the promise of filing of a submission with commitment,
// filed on day.
func (s *Service) promise(commitment, day string) (*Filed, error) {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return nil, err
	}
	p := Promise{Commitment: commitment, Filed: day, LoggedBy: d.AddDate(0, 0, LoggedWithin).Format(time.DateOnly)}
	msg, err := SignPromise(p, s.Signer)
	if err != nil {
		return nil, err
	}
	return &Filed{Promise: msg, Commitment: commitment, LoggedBy: p.LoggedBy}, nil
}

// File files a new tip: it draws a codename, seals sub to the oversight
// body, and records the tip under the codename's lookup, with the day
// alone. The codename is in the answer only.
func (s *Service) File(ctx context.Context, sub Submission) (*Filed, error) {
	release, err := s.acquire(ctx, false)
	if err != nil {
		return nil, err
	}
	defer release()
	raw, sealed, err := s.seal(sub)
	if err != nil {
		return nil, err
	}
	day := ombud.Day(s.now())
	for attempt := 0; ; attempt++ {
		codename, err := NewCodename()
		if err != nil {
			return nil, err
		}
		keys, err := DeriveKeys(codename, s.Salt)
		if err != nil {
			return nil, err
		}
		t := &ombud.Tip{ID: ombud.NewID(), Commitment: sealed.Commitment, Filed: day, ReplyKey: keys.ReplyKey(),
			Messages: []ombud.TipMessage{{Op: ombud.TipFiled, Day: day, Commitment: sealed.Commitment}}}
		err = s.Store.FileTip(ctx, t, keys.Lookup, raw)
		if errors.Is(err, ombud.ErrExists) && attempt < 2 {
			continue // a codename or an id drawn twice: draw again
		}
		if err != nil {
			return nil, err
		}
		f, err := s.promise(sealed.Commitment, day)
		if err != nil {
			return nil, err
		}
		f.Codename = codename
		return f, nil
	}
}

// wrongCodename is the one answer to a codename that opens nothing.
func wrongCodename() error {
	return &ombud.Error{Code: ombud.CodeNotFound, Reason: reason.CodenameWrong, Err: ErrCodename,
		Message: "this codename opens nothing here"}
}

// Thread is what a source reads on coming back: the tip's messages, and
// the oversight body's replies opened with the codename.
type Thread struct {
	Tip *ombud.Tip
	// Replies holds the text of each reply, by its message number.
	Replies map[int]string
}

// find derives a codename's keys and finds its tip: wrongCodename for a
// codename that is not one or opens no tip, alike.
func (s *Service) find(ctx context.Context, codename string) (*ombud.Tip, *Keys, error) {
	keys, err := DeriveKeys(codename, s.Salt)
	if errors.Is(err, ErrCodename) {
		return nil, nil, wrongCodename()
	}
	if err != nil {
		return nil, nil, err
	}
	t, err := s.Store.TipByLookup(ctx, keys.Lookup)
	if errors.Is(err, ombud.ErrNotFound) {
		return nil, nil, wrongCodename()
	}
	return t, keys, err
}

// Open finds the tip of a codename and opens its replies.
func (s *Service) Open(ctx context.Context, codename string) (*Thread, error) {
	release, err := s.acquire(ctx, true)
	if err != nil {
		return nil, err
	}
	defer release()
	t, keys, err := s.find(ctx, codename)
	if err != nil {
		return nil, err
	}
	return s.thread(ctx, t, keys)
}

// thread opens the replies of tip t with the codename's keys.
func (s *Service) thread(ctx context.Context, t *ombud.Tip, keys *Keys) (*Thread, error) {
	th := &Thread{Tip: t, Replies: map[int]string{}}
	for _, m := range t.Messages {
		if m.FromSource() {
			continue
		}
		sealed, err := s.Store.TipSealed(ctx, t.ID, m.N)
		if err != nil {
			return nil, err
		}
		// A reply that the codename does not open was sealed to another
		// key: the source's page says so. Nothing is logged: a line's
		// time would date the source's visit.
		text, _ := OpenReply(sealed, keys.Identity)
		th.Replies[m.N] = text
	}
	return th, nil
}

// FollowUp files a later message of the source of codename's tip. It
// returns the follow-up's promise and, when it can be read again, the
// thread with it: a follow-up is kept once FollowUpTip returns, whatever
// happens to the reading after.
func (s *Service) FollowUp(ctx context.Context, codename string, sub Submission) (*Filed, *Thread, error) {
	release, err := s.acquire(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	t, keys, err := s.find(ctx, codename)
	if err != nil {
		return nil, nil, err
	}
	raw, sealed, err := s.seal(sub)
	if err != nil {
		return nil, nil, err
	}
	day := ombud.Day(s.now())
	if _, err := s.Store.FollowUpTip(ctx, t.ID, ombud.TipMessage{Op: ombud.TipFollowedUp, Day: day, Commitment: sealed.Commitment}, raw); err != nil {
		return nil, nil, err
	}
	f, err := s.promise(sealed.Commitment, day)
	if err != nil {
		return nil, nil, err
	}
	var th *Thread
	if t, err = s.Store.Tip(ctx, t.ID); err == nil {
		th, _ = s.thread(ctx, t, keys)
	}
	return f, th, nil
}

// batchWindow is when in the day a batch may be drawn: not in the hour
// either side of midnight, so that no submission of the day before is
// still being recorded when its batch runs.
const batchWindow = 22 * time.Hour

// Batch logs the source's submissions of the days before today, once
// today's batch moment has come: in random order, each entry with its
// filing day for its time. The moment is drawn at random once a day and
// kept in the store, so that every gateway keeps the same one; the
// gateway that holds the background lease runs the batch. It returns how
// many it logged.
func (s *Service) Batch(ctx context.Context) (int, error) {
	return Batch(ctx, s.Store, s.Journal, s.now())
}

// Batch is Service.Batch for a deployment whose intake is off (no
// recipients configured any more): what it took before is still logged,
// as its promises say.
func Batch(ctx context.Context, st ombud.TipStore, j *journal.Journal, now time.Time) (int, error) {
	now = now.UTC()
	today := ombud.Day(now)
	// A read first: the lease holder calls this every half minute, and
	// most calls find nothing to log (on a deployment without an intake,
	// every call does), so the day's moment is drawn and written only
	// when there is something to log.
	pending, err := st.TipsPending(ctx, today)
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	midnight, _ := time.Parse(time.DateOnly, today)
	r, err := rand.Int(rand.Reader, big.NewInt(int64(batchWindow/time.Millisecond)))
	if err != nil {
		return 0, err
	}
	due, err := st.TipBatchDue(ctx, today, midnight.Add(time.Hour+time.Duration(r.Int64())*time.Millisecond))
	if err != nil || now.Before(due) {
		return 0, err
	}
	// Fisher–Yates with crypto/rand: the order says nothing of arrival.
	for i := len(pending) - 1; i > 0; i-- {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return 0, err
		}
		pending[i], pending[k.Int64()] = pending[k.Int64()], pending[i]
	}
	logged := 0
	for _, p := range pending {
		day, err := time.Parse(time.DateOnly, p.Day)
		if err != nil {
			return logged, fmt.Errorf("tips: tip %s message %d has the day %q", p.Tip, p.N, p.Day)
		}
		c, err := journal.TipLog.Change(journal.TipMessageID(p.Tip, p.N), journal.TipLogPayload{Tip: p.Tip, N: p.N})
		if err != nil {
			return logged, err
		}
		_, err = j.Apply(ctx, c, journal.Record{Body: entry.Tip{Op: p.Op, Commitment: p.Commitment, Tip: p.TipCommitment}, Time: day}, nil)
		switch {
		case errors.Is(err, ombud.ErrExists):
			// Another gateway logged it.
		case err != nil:
			return logged, err
		default:
			logged++
		}
	}
	return logged, nil
}

// Reply records the oversight body's reply to the source of tip id,
// sealed off the server to the tip's reply key: op says what it is (an
// acknowledgment of receipt, feedback, or another message). It is logged
// at once, once the tip's filing is logged (tip_pending until then).
func (s *Service) Reply(ctx context.Context, by *ombud.Principal, id, op string, sealed []byte) (*ombud.Tip, journal.Leaf, error) {
	switch op {
	case ombud.TipAcknowledged, ombud.TipAnswered, ombud.TipReplied:
	default:
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeInvalid, "op: one of acknowledged, answered, replied")
	}
	if len(sealed) > MaxSealedReply {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeTooLarge, "a sealed reply has at most %d bytes", MaxSealedReply)
	}
	if err := CheckSealed(sealed); err != nil {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeInvalid, "the reply is not sealed (%v): send it as an age file sealed to the tip's reply key, as ombud tips reply does", err)
	}
	t, err := s.Store.Tip(ctx, id)
	if errors.Is(err, ombud.ErrNotFound) {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "no tip %q", id)
	}
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	sum := sha256.Sum256(sealed)
	commitment := hex.EncodeToString(sum[:])
	c, err := journal.TipReply.Change(id, journal.TipReplyPayload{Tip: id, Op: op, Day: ombud.Day(s.Journal.Clock()), Commitment: commitment, Sealed: sealed, By: by.ID})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{Body: entry.Tip{Op: op, Commitment: commitment, Tip: t.Commitment, By: by.ID}}, nil)
	switch {
	case errors.Is(err, ombud.ErrExists):
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeConflict, "tip %s holds this reply already", id)
	case errors.Is(err, ombud.ErrNotFound):
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "no tip %q", id)
	case err != nil:
		return nil, w, err
	}
	t, err = s.Store.Tip(ctx, id)
	return t, w, err
}
