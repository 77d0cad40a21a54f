package ombud

import (
	"context"
	"time"
)

// Tip is a tip filed with the whistleblower intake, as the store keeps
// it: no word of it in the clear, no time of day, nothing of its source.
// It is found by the slow hash of its codename, which the store holds
// instead of the codename.
type Tip struct {
	ID string
	// Commitment is its first submission's (hex SHA-256 of the sealed
	// bytes): every entry about the tip carries its pseudonym.
	Commitment string
	Filed      string // the day, YYYY-MM-DD (UTC)
	// ReplyKey is the age recipient the oversight body's replies are
	// sealed to: only the codename opens them.
	ReplyKey string
	// Acknowledged is the day the oversight body first wrote back, and
	// Answered the day of its first feedback; "" until then.
	Acknowledged, Answered string
	// Logged says the tip's filed entry is in the log: the oversight body
	// may answer only then, so that no answer dates the tip.
	Logged bool
	// Messages are the tip's messages in order (Tip and TipByLookup only).
	Messages []TipMessage
}

// TipMessage is one message of a tip: the source's (op filed or
// followed_up) or the oversight body's (acknowledged, answered, replied),
// sealed.
type TipMessage struct {
	N          int
	Op         string
	Day        string
	Commitment string
	Size       int64
	Logged     bool
	Index      uint64 // its entry's, when Logged
	By         string // the oversight body's principal, for its messages
}

// FromSource says the message is the source's.
func (m TipMessage) FromSource() bool { return m.Op == TipFiled || m.Op == TipFollowedUp }

// A tip message's op: its entry's (entry.Op*).
const (
	TipFiled        = "filed"
	TipFollowedUp   = "followed_up"
	TipAcknowledged = "acknowledged"
	TipAnswered     = "answered"
	TipReplied      = "replied"
)

// TipReplyOps are the ops of the oversight body's messages.
var TipReplyOps = []string{TipAcknowledged, TipAnswered, TipReplied}

// The deadlines of the EU Whistleblower Directive (2019/1937, Art. 9(1)(b)
// and (f)), as anyone counts them from the log alone: receipt acknowledged
// (by any message of the oversight body) by the end of the 7th day after
// the filing day, and feedback given by the end of the day three months
// after it. Fixed, not configured, so that every reader of the log counts
// the same tips late.
const (
	TipAckDays       = 7
	TipFeedbackMonth = 3
)

// TipAckDue is when a tip filed on day filed must have been acknowledged
// by; the zero time when filed is not a day.
func TipAckDue(filed string) time.Time {
	d, err := time.Parse(time.DateOnly, filed)
	if err != nil {
		return time.Time{}
	}
	return d.AddDate(0, 0, TipAckDays+1)
}

// TipFeedbackDue is when a tip filed on day filed must have been answered
// by; the zero time when filed is not a day.
func TipFeedbackDue(filed string) time.Time {
	d, err := time.Parse(time.DateOnly, filed)
	if err != nil {
		return time.Time{}
	}
	return d.AddDate(0, TipFeedbackMonth, 1)
}

// TipPending is a source's submission waiting for its day's batch.
type TipPending struct {
	Tip           string
	N             int
	Op            string
	Day           string
	Commitment    string
	TipCommitment string // the tip's first submission's
}

// TipFilter selects tips.
type TipFilter struct {
	// Unanswered selects the tips not yet answered.
	Unanswered bool
	After      string // the last id of the previous page
	Limit      int
}

// TipStore keeps the whistleblower intake's tips. A tip's filing and a
// source's follow-up are recorded at once and logged in the next day's
// batch (the tip.log operation); the oversight body's messages are logged
// when sent (tip.reply).
type TipStore interface {
	// FileTip records a new tip with its first message (t.Messages[0])
	// and its sealed bytes.
	FileTip(ctx context.Context, t *Tip, lookup, sealed []byte) error
	// FollowUpTip records a source's later message on tip id and returns
	// its number.
	FollowUpTip(ctx context.Context, id string, m TipMessage, sealed []byte) (int, error)
	// TipByLookup returns the tip of a codename's lookup, with its
	// messages; ErrNotFound when there is none.
	TipByLookup(ctx context.Context, lookup []byte) (*Tip, error)
	// Tip returns a tip with its messages; ErrNotFound when there is none.
	Tip(ctx context.Context, id string) (*Tip, error)
	// Tips lists the tips f selects, by id, without their messages.
	Tips(ctx context.Context, f TipFilter) ([]*Tip, error)
	// TipSealed returns the sealed bytes of message n of tip id.
	TipSealed(ctx context.Context, id string, n int) ([]byte, error)
	// TipsPending lists the source's submissions not yet logged, of days
	// before day.
	TipsPending(ctx context.Context, before string) ([]TipPending, error)
	// TipIndex returns the index of the entry of the source's submission
	// with this commitment; false while it is not logged, or there is
	// none.
	TipIndex(ctx context.Context, commitment string) (uint64, bool, error)
	// TipBatchDue returns the moment of day's batch: draw's, if no
	// gateway drew one before.
	TipBatchDue(ctx context.Context, day string, draw time.Time) (time.Time, error)
}
