package tips

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// A promise of filing is the certificate-transparency pattern of a signed
// promise with a maximum merge delay: the log's key signs that the sealed
// submission with this commitment, filed on this day, will be in the log
// by that day. It names no time of day: tip entries are appended in one
// batch a day, at a random moment, so that a tip's place in the log does
// not date it either.
// PromiseHeader is a promise's first line.
const PromiseHeader = "ombud tip promise v1"

// Promise is what a promise of filing states.
type Promise struct {
	Origin     string // the log's origin
	Commitment string // hex SHA-256 of the sealed submission
	Filed      string // the day it was filed, YYYY-MM-DD (UTC)
	LoggedBy   string // the day by which its tip entry is in the log
}

// Text is the promise's signed text.
func (p Promise) Text() string {
	return fmt.Sprintf("%s\n%s\ncommitment %s\nfiled %s\nlogged-by %s\n", PromiseHeader, p.Origin, p.Commitment, p.Filed, p.LoggedBy)
}

// SignPromise signs p with the log's signer (its origin is the signer's
// name) and returns the signed note a source keeps.
func SignPromise(p Promise, s note.Signer) ([]byte, error) {
	p.Origin = s.Name()
	if err := p.check(); err != nil {
		return nil, err
	}
	return note.Sign(&note.Note{Text: p.Text()}, s)
}

// OpenPromise verifies a signed promise with the log's verifier and
// returns what it states. The promise may come as a source pasted or
// saved it: with spaces around it, or CRLF line ends.
func OpenPromise(msg []byte, v note.Verifier) (Promise, error) {
	msg = append(bytes.TrimSpace(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))), '\n')
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return Promise{}, fmt.Errorf("tips: the promise does not verify with the log's key: %w", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	var p Promise
	if len(lines) != 5 || lines[0] != PromiseHeader {
		return Promise{}, errors.New("tips: not a promise of filing")
	}
	p.Origin = lines[1]
	for i, field := range []struct {
		key string
		to  *string
	}{{"commitment ", &p.Commitment}, {"filed ", &p.Filed}, {"logged-by ", &p.LoggedBy}} {
		v, ok := strings.CutPrefix(lines[2+i], field.key)
		if !ok {
			return Promise{}, fmt.Errorf("tips: a promise's line %d is not %q", 3+i, strings.TrimSpace(field.key))
		}
		*field.to = v
	}
	if p.Origin != v.Name() {
		return Promise{}, fmt.Errorf("tips: the promise names the log %q, not %q", p.Origin, v.Name())
	}
	return p, p.check()
}

func (p Promise) check() error {
	if b, err := hex.DecodeString(p.Commitment); err != nil || len(b) != 32 {
		return errors.New("tips: a promise's commitment is a hex SHA-256")
	}
	filed, err1 := time.Parse(time.DateOnly, p.Filed)
	by, err2 := time.Parse(time.DateOnly, p.LoggedBy)
	if err1 != nil || err2 != nil || by.Before(filed) {
		return errors.New("tips: a promise's days are YYYY-MM-DD, logged-by not before filed")
	}
	return nil
}

// Overdue reports whether p's day has passed at now with no tip entry of
// its commitment: the auditor's finding for a promise a source submits.
func (p Promise) Overdue(now time.Time) bool {
	by, err := time.Parse(time.DateOnly, p.LoggedBy)
	return err == nil && now.UTC().After(by.Add(24*time.Hour))
}
