package custody

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/gate"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/keys"
	"github.com/ombud/ombud/reason"
	"github.com/ombud/ombud/vocab"
)

// ReadRequest asks to read one object.
type ReadRequest struct {
	ID              string
	Purpose         string // a purpose code, e.g. criminal_investigation
	Principal       *ombud.Principal
	AuthorizationID string // the cited authorization; required for sensitive classes
	Justification   string // free text, kept only in the detail record
	Emergency       string // an emergency reason code; "" for none
	// Flag, with the purpose review, makes the read a reviewer's viewing
	// of that flag's evidence: custody checks the object is the flag's and
	// the reader may review it (Service.Evidence), then the policy decides.
	Flag string
	// Satisfiable, when set, says whether the request (a byte range) can
	// be served from an object of size bytes. It is asked after the
	// decision, so that it tells nothing about an object the caller may
	// not read; an unsatisfiable request is a logged denial that spends no
	// authorization use.
	Satisfiable func(size int64) bool
}

// Release is a permitted read: the decision is already durably logged at
// Index, and Body yields the plaintext, verified segment by segment; it
// fails rather than return a truncated or altered object.
type Release struct {
	Object *ombud.Object
	Index  uint64
	Body   io.ReadCloser
}

// evidence asks Service.Evidence whether p may view object as evidence
// of flag: "" if so, else the denial's reason and message.
func (s *Service) evidence(ctx context.Context, p *ombud.Principal, flag, object string, hold func(string) error) (string, string, error) {
	if s.Evidence == nil {
		return reason.NotEvidence, "this deployment takes no viewings of evidence", nil
	}
	return s.Evidence(ctx, p, flag, object, hold)
}

// Read decides a read and logs the decision, permit or deny, before any
// plaintext is available. The checks run in order: the object's state
// (missing, erased), the cited authorization, then the Cedar policy (see
// access.Service.Decide), then whether the object can be served (its
// range, its key, its ciphertext and, for objects of one segment, its
// integrity). A denial is returned as a *Denial. The reader's gate, the
// object's and the cited authorization's are held shared until the
// decision is logged, so a disabling, an erasure or a revocation is logged
// after every read already decided.
func (s *Service) Read(ctx context.Context, req ReadRequest) (*Release, error) {
	if err := s.checkReadRequest(req); err != nil {
		return nil, err
	}
	// The gates are held, all taken at once, until the decision is
	// logged: the reader's (a disabling or a breach that suspends
	// emergency access waits for the reads already decided), the
	// object's, the cited authorization's and, for a viewing of
	// evidence, the flag's.
	h := s.gates.Begin()
	defer h.Release()
	gates := []string{principalGate(req.Principal.ID), objectGate(req.ID), access.PolicyGate}
	if req.AuthorizationID != "" {
		gates = append(gates, access.Gate(req.AuthorizationID))
	}
	if req.Flag != "" {
		gates = append(gates, flagGate(req.Flag))
	}
	if err := h.Shared(ctx, gates...); err != nil {
		return nil, err
	}
	p, err := s.checkReader(ctx, req.Principal)
	if err != nil {
		return nil, err
	}
	req.Principal = p
	targets := []string{journal.PrincipalDisable.Target(p.ID), journal.Erase.Target(req.ID)}
	if req.AuthorizationID != "" {
		targets = append(targets, journal.AuthorizationRevoke.Target(req.AuthorizationID))
	}
	if err := s.checkSettled(ctx, targets...); err != nil {
		return nil, err
	}
	// Check the object and, for a viewing of evidence, the flag.
	o, err := s.checkObject(ctx, req)
	if err != nil {
		return nil, err
	}
	if req.Flag != "" {
		if err := s.checkViewing(ctx, h, req, o); err != nil {
			return nil, err
		}
	}
	// Decide, reserving a use of the authorization in memory.
	v, err := s.decideRead(ctx, req, o)
	if err != nil {
		return nil, err
	}
	// Prepare everything that can fail before the permit is logged, so a
	// logged permit is a release that really starts.
	op, err := s.prepareRead(ctx, req, o, v)
	if err != nil {
		return nil, err
	}
	// Log the permit and commit the use.
	w, err := s.logPermit(ctx, h, req, o, v, op)
	if err != nil {
		return nil, err
	}
	return s.release(ctx, req, o, v, op, w), nil
}

// endsReads are the operations whose changes end reads.
var endsReads = []journal.Op{journal.Erase.Op, journal.AuthorizationRevoke.Op, journal.PrincipalDisable.Op, journal.RunClose.Op, journal.SystemRetire.Op}

// checkSettled fails closed while a change that ends reads is in flight
// on one of a read's targets. The read holds the gates that every such
// change holds alone from its reservation to its commit, so the change
// was left in flight: its commit failed, or its gateway died, and its
// entry may be in the log already. Until recovery settles it (the sweep,
// within custody.SettleAge and a little more), the read cannot tell
// whether it took effect, and is refused. A gateway alone on its store
// knows without asking whether it left any (journal.Journal.Unsettled).
func (s *Service) checkSettled(ctx context.Context, targets ...string) error {
	if !s.Access.Shared() && !s.Journal.Unsettled() {
		// Alone on its store, the gateway knows: it left nothing.
		return nil
	}
	ops, err := s.Store.OpsInFlight(ctx, targets)
	if err != nil {
		return err
	}
	for _, op := range ops {
		if slices.Contains(endsReads, op) {
			return ombud.Errorf(ombud.CodeUnavailable, "a change that may end this read (%s) was left unfinished and is being settled; retry in a few minutes", op)
		}
	}
	return nil
}

// checkReadRequest refuses a malformed request: bad input, logged nowhere.
func (s *Service) checkReadRequest(req ReadRequest) error {
	switch {
	case req.Flag != "" || req.Purpose == vocab.PurposeReview:
		if req.Flag == "" || req.Purpose != vocab.PurposeReview {
			return ombud.Errorf(ombud.CodeInvalid, "the purpose review is for viewing a flag's evidence: give both Ombud-Purpose: review and Ombud-Flag")
		}
		if err := ombud.ValidateIdentifier("Ombud-Flag", req.Flag); err != nil {
			return err
		}
		if req.AuthorizationID != "" || req.Emergency != "" {
			return ombud.Errorf(ombud.CodeInvalid, "a viewing of a flag's evidence cites no authorization and claims no emergency")
		}
	default:
		if err := s.checkPurpose(req.Purpose); err != nil {
			return err
		}
	}
	if len(req.Justification) > 1024 {
		return ombud.Errorf(ombud.CodeInvalid, "Ombud-Justification is limited to 1024 bytes")
	}
	if req.AuthorizationID != "" {
		if err := ombud.ValidateIdentifier("authorization", req.AuthorizationID); err != nil {
			return err
		}
	}
	if req.Emergency != "" {
		if err := s.Vocabulary.Check(vocab.EmergencyReason, "Ombud-Emergency", req.Emergency); err != nil {
			return err
		}
	}
	if req.Principal == nil {
		return errors.New("custody: read without a principal")
	}
	return nil
}

// checkReader checks the reader under its gate. Authentication saw the
// principal a moment before; what changed since, under the gate, is noted
// in memory and checked here without a database read, unless other
// gateways share the store: then it is read again.
func (s *Service) checkReader(ctx context.Context, p *ombud.Principal) (*ombud.Principal, error) {
	if s.Access.Shared() {
		now, err := s.Store.Principal(ctx, p.ID)
		switch {
		case errors.Is(err, ombud.ErrNotFound) || (err == nil && now.Disabled):
			return nil, ombud.Errorf(ombud.CodeUnauthenticated, "invalid or disabled token")
		case err != nil:
			return nil, err
		}
		return now, nil
	}
	if _, gone := s.disabled.Load(p.ID); gone {
		return nil, ombud.Errorf(ombud.CodeUnauthenticated, "invalid or disabled token")
	}
	if at, ok := s.suspended.Load(p.ID); ok && p.EmergencySuspended == 0 {
		suspended := *p
		suspended.EmergencySuspended = at.(uint64)
		return &suspended, nil
	}
	return p, nil
}

// checkObject reads the object and denies, logged, a read of one missing
// or erased, or a direct read by a machine.
func (s *Service) checkObject(ctx context.Context, req ReadRequest) (*ombud.Object, error) {
	o, err := s.Store.Object(ctx, req.ID)
	switch {
	case errors.Is(err, ombud.ErrNotFound):
		return nil, s.deny(ctx, req, nil, access.Verdict{Reason: reason.NotFound, Code: ombud.CodeNotFound, Message: "no such object"})
	case err != nil:
		return nil, err
	case o.Erased != nil || o.WrappedKeyset == nil:
		return nil, s.deny(ctx, req, o, access.Verdict{Reason: reason.Erased, Code: ombud.CodeGone, Message: "the object was erased"})
	}
	if req.Principal.Has(ombud.RoleSystem) {
		// A machine reads only through its system's runs: a direct read is
		// a decision on the object, and a logged denial.
		return nil, s.deny(ctx, req, o, access.Verdict{Reason: reason.SystemOutsideRun, Code: ombud.CodeForbidden,
			Message: "a system principal reads only through a run of its system"})
	}
	return o, nil
}

// checkViewing denies, logged, a viewing of o as evidence of req.Flag that
// the reader may not make now. It is checked under the flag's gate,
// which the read holds, and the run's authorization's, which it takes on
// h; both are held until the viewing is logged, so that a review, an
// action, a resolution or a revocation that ends the viewer's task is
// logged after this viewing, or before its check.
func (s *Service) checkViewing(ctx context.Context, h *gate.Hold, req ReadRequest, o *ombud.Object) error {
	reason, msg, err := s.evidence(ctx, req.Principal, req.Flag, o.ID, func(auth string) error { return h.Shared(ctx, access.Gate(auth)) })
	if err != nil {
		return err
	}
	if reason != "" {
		return s.deny(ctx, req, o, access.Verdict{Reason: reason, Code: ombud.CodeForbidden, Message: msg})
	}
	return nil
}

// decideRead decides the read (access.Service.Decide) and logs a denial.
// A permit holds the use it admitted, until it is committed or refunded.
func (s *Service) decideRead(ctx context.Context, req ReadRequest, o *ombud.Object) (access.Verdict, error) {
	c, err := s.class(o.Class)
	if err != nil {
		return access.Verdict{}, err
	}
	v, err := s.Access.Decide(ctx, access.Read{Principal: req.Principal, Object: o, Class: c, Purpose: req.Purpose, AuthorizationID: req.AuthorizationID,
		Emergency: req.Emergency != "", Evidence: req.Flag != ""})
	if err != nil {
		return access.Verdict{}, err
	}
	if !v.Permit {
		return access.Verdict{}, s.deny(ctx, req, o, v)
	}
	return v, nil
}

// refuseRead refuses a permitted read that cannot be served: it gives the
// verdict's use back and logs a denial instead.
func (s *Service) refuseRead(ctx context.Context, req ReadRequest, o *ombud.Object, v access.Verdict, rf *refusal) error {
	s.Access.Refund(context.WithoutCancel(ctx), v, false)
	if rf.cause != nil {
		s.logger().ErrorContext(ctx, "read refused", "object", o.ID, "reason", rf.reason, "err", rf.cause)
	}
	d := v
	d.Permit, d.Reason, d.Code, d.Message, d.Use = false, rf.reason, rf.code, rf.msg, 0
	return s.deny(ctx, req, o, d)
}

// prepareRead checks that the permitted read can be served (its range)
// and opens the object; a read that cannot be served is refused.
func (s *Service) prepareRead(ctx context.Context, req ReadRequest, o *ombud.Object, v access.Verdict) (*opened, error) {
	if req.Satisfiable != nil && !req.Satisfiable(o.Size) {
		err := s.refuseRead(ctx, req, o, v, &refusal{reason.Range, ombud.CodeRangeNotSatisfiable, fmt.Sprintf("the range lies outside the object's %d bytes", o.Size), nil})
		if d, ok := err.(*Denial); ok {
			d.Size = o.Size
		}
		return nil, err
	}
	op, rf := s.open(ctx, o)
	if rf != nil {
		return nil, s.refuseRead(ctx, req, o, v, rf)
	}
	return op, nil
}

// logPermit logs the permit and commits its use, or records the
// emergency read; on failure it closes op and releases nothing.
func (s *Service) logPermit(ctx context.Context, h *gate.Hold, req ReadRequest, o *ombud.Object, v access.Verdict, op *opened) (journal.Leaf, error) {
	if v.Reason == reason.Emergency {
		// An emergency read spends no use; it must be covered later. It
		// is recorded through the one pattern, so a crash between its
		// permit and its record leaves no read the sweep cannot see.
		w, err := s.emergencyPermit(ctx, req, o, v)
		if err != nil {
			op.close()
			return journal.Leaf{}, err
		}
		return w, nil
	}
	return s.logPermitUsed(ctx, h, req, o, v, op)
}

// logPermitUsed logs a permit after its use is committed, so that the
// store, which every gateway's commits meet, refuses the uses past the
// last (or under an authorization another gateway revoked) before their
// permits are logged; the refusal is logged as a denial instead. A permit
// logged before its use was durable would, after a crash, leave the store
// one use behind the log. The use is committed in flight, with a lower
// bound of its permit's index, and leaves that state once the permit is
// logged; a gateway that dies between the two leaves it in flight, and
// recovery (Settle) looks for the permit in the log and gives the use
// back if it is not there: no use is spent without its logged decision.
func (s *Service) logPermitUsed(ctx context.Context, h *gate.Hold, req ReadRequest, o *ombud.Object, v access.Verdict, op *opened) (journal.Leaf, error) {
	from, err := s.Journal.LowerBound(ctx)
	if err != nil {
		op.close()
		s.Access.Refund(context.WithoutCancel(ctx), v, false)
		return journal.Leaf{}, wrapLog(err)
	}
	use, err := s.Access.CommitUseCounted(context.WithoutCancel(ctx), v, from)
	if err != nil {
		op.close()
		s.Access.Refund(context.WithoutCancel(ctx), v, false)
		d := v
		d.Permit, d.Code, d.Use = false, ombud.CodeForbidden, 0
		switch {
		case errors.Is(err, ombud.ErrExhausted):
			d.Reason, d.Message = reason.AuthExhausted, "the authorization has no uses left"
		case errors.Is(err, ombud.ErrRevoked):
			d.Reason, d.Message = reason.AuthRevoked, "the authorization was revoked"
		default:
			return journal.Leaf{}, err
		}
		return journal.Leaf{}, s.deny(ctx, req, o, d)
	}
	if use > 0 {
		v.Use = use // the deployment's count, which the entry states
	}
	// The gates still hold, or another gateway may have taken them and
	// logged the change they keep this read before.
	if err := h.Check(ctx); err != nil {
		op.close()
		s.Access.Refund(context.WithoutCancel(ctx), v, true)
		return journal.Leaf{}, err
	}
	key := useKey{req.AuthorizationID, v.Use}
	s.reading.Store(key, struct{}{})
	w, err := s.Journal.Write(ctx, s.accessRecord(req, o, entry.Permit, v))
	s.reading.Delete(key)
	if err != nil {
		// The permit may be in the log all the same (its detail failed
		// after the append, or the log failed midway): the use stays in
		// flight, and recovery keeps it or gives it back as the log says.
		op.close()
		return journal.Leaf{}, wrapLog(err)
	}
	s.Access.UseLogged(v)
	return w, nil
}

// useKey names a use of an authorization.
type useKey struct {
	authorization string
	n             int
}

// release hands out the logged read: it records a viewing of evidence,
// and logs the failure of a segment that fails its check as it is read.
func (s *Service) release(ctx context.Context, req ReadRequest, o *ombud.Object, v access.Verdict, op *opened, w journal.Leaf) *Release {
	pt := op.body
	if req.Flag != "" {
		// A confirmation needs a viewing of every input: the store keeps
		// the logged ones. Unrecorded, the viewing still stands in the
		// log; the reviewer is asked to view again before confirming.
		if err := s.Store.RecordViewing(ctx, ombud.Viewing{Flag: req.Flag, Reviewer: req.Principal.ID, Object: o.ID, Index: w.Index}); err != nil {
			s.logger().ErrorContext(ctx, "a logged viewing of evidence could not be recorded", "flag", req.Flag, "object", o.ID, "receipt", w.Index, "err", err)
		}
	}
	if o.CipherSize > smallObject {
		// A segment past the first is authenticated only when it is
		// read. If one fails, the release stops there (the segments before
		// it were authentic) and the failure is logged as a decision.
		pt = &failureLogged{ctx: ctx, r: pt, log: func(cause error) {
			d := v
			d.Permit, d.Reason, d.Use = false, stopReason(op.body, cause), 0
			s.logger().ErrorContext(ctx, "a release stopped: "+d.Reason, "object", o.ID, "receipt", w.Index, "err", cause)
			s.deny(context.WithoutCancel(ctx), req, o, d)
		}}
	}
	rc := readCloser{pt, op.closers}
	if _, ok := op.body.(io.WriterTo); ok && o.CipherSize > smallObject {
		// A stream decrypted ahead writes its segments out as they are.
		return &Release{Object: o, Index: w.Index, Body: writerToCloser{rc}}
	}
	return &Release{Object: o, Index: w.Index, Body: rc}
}

// opened is an object ready to release: its plaintext, verified whole
// (an object of one segment) or verified as it is read, and what to close
// after.
type opened struct {
	body    io.Reader
	closers []io.Closer
}

// close closes what reading the object opened, for a read not released.
func (op *opened) close() {
	for _, c := range op.closers {
		c.Close()
	}
}

// refusal is why an object cannot be released although the decision
// permitted it.
type refusal struct {
	reason string
	code   ombud.Code
	msg    string
	cause  error
}

// open prepares o's plaintext: its key unwrapped, its ciphertext checked
// against its recorded size and SHA-256 and decrypted: verified whole for
// an object of one segment (up to smallObject), read whole in one call to
// the object store; or, for a larger one, verified and decrypted as it is
// read. Nothing damaged is ever permitted, and Tink's 2 MiB of streaming
// buffers are not allocated for a few kilobytes.
func (s *Service) open(ctx context.Context, o *ombud.Object) (*opened, *refusal) {
	key, err := s.objectKey(ctx, o)
	if err != nil {
		return nil, &refusal{reason.KeyUnavailable, ombud.CodeUnavailable, "the object's key cannot be unwrapped", err}
	}
	unavailable := func(err error) *refusal {
		return &refusal{reason.Unavailable, ombud.CodeUnavailable, "the object's ciphertext cannot be read from the object store", err}
	}
	integrity := func(err error) *refusal {
		return &refusal{reason.Integrity, ombud.CodeInternal, "the object failed its integrity check", err}
	}
	if o.CipherSize <= smallObject {
		ct, err := s.Bucket.ReadAll(ctx, blob.Key(o.ID), o.CipherSize)
		switch {
		case errors.Is(err, blob.ErrIntegrity):
			return nil, integrity(err)
		case err != nil:
			return nil, unavailable(err)
		}
		if sum := sha256.Sum256(ct); !bytes.Equal(sum[:], o.CipherSHA) {
			return nil, integrity(blob.ErrIntegrity)
		}
		plain, err := key.DecryptOneSegment(ct, o.ID)
		if errors.Is(err, keys.ErrNotOneSegment) {
			var r io.Reader
			if r, err = key.Decrypter(bytes.NewReader(ct), o.ID); err == nil {
				plain, err = io.ReadAll(r)
			}
		}
		if err != nil {
			return nil, integrity(fmt.Errorf("%w: %v", blob.ErrIntegrity, err))
		}
		return &opened{body: bytes.NewReader(plain)}, nil
	}
	rc, size, err := s.Bucket.GetDirect(ctx, blob.Key(o.ID))
	if err != nil {
		return nil, unavailable(err)
	}
	if size != o.CipherSize {
		rc.Close()
		return nil, integrity(fmt.Errorf("%w: stored %d bytes, recorded %d", blob.ErrIntegrity, size, o.CipherSize))
	}
	// Read, hashed and decrypted on three goroutines, a segment ahead.
	st, err := key.NewStream(rc, o.CipherSize, o.CipherSHA, o.ID)
	switch {
	case err == nil:
		// The header's salt and the first segment are authenticated
		// before the release is logged: a read that would stop before
		// its first byte is refused, its use given back.
		if err := st.First(); err != nil {
			st.Close()
			rc.Close()
			if keys.Damaged(err) {
				return nil, integrity(fmt.Errorf("%w: %v", blob.ErrIntegrity, err))
			}
			return nil, unavailable(err)
		}
		return &opened{body: st, closers: []io.Closer{st, rc}}, nil
	case keys.Damaged(err):
		rc.Close()
		return nil, integrity(fmt.Errorf("%w: %v", blob.ErrIntegrity, err))
	case !errors.Is(err, keys.ErrNotOneSegment):
		rc.Close()
		return nil, unavailable(err)
	}
	// A keyset of another shape: Tink's streaming reader, through a
	// verifying reader that reads ahead.
	rc.Close()
	if rc, _, err = s.Bucket.Get(ctx, blob.Key(o.ID)); err != nil {
		return nil, unavailable(err)
	}
	vr := blob.Verifying(rc, o.CipherSize, o.CipherSHA)
	pt, err := key.Decrypter(vr, o.ID)
	if err != nil {
		vr.Close()
		rc.Close()
		return nil, integrity(fmt.Errorf("%w: %v", blob.ErrIntegrity, err))
	}
	return &opened{body: pt, closers: []io.Closer{vr, rc}}, nil
}

// emergencyPermit logs the permit of an emergency read and records the
// read, with its deadline, in one change.
func (s *Service) emergencyPermit(ctx context.Context, req ReadRequest, o *ombud.Object, v access.Verdict) (journal.Leaf, error) {
	dl := s.EmergencyDeadline
	if dl == 0 {
		dl = vocab.DefaultEmergencyDeadline
	}
	now := s.now()
	em := &ombud.Emergency{ObjectID: o.ID, Principal: req.Principal.ID, Purpose: req.Purpose, Reason: req.Emergency, At: now, Deadline: now.Add(dl)}
	c, err := journal.EmergencyRead.Change(ombud.NewID(), journal.EmergencyPayload{Emergency: em})
	if err != nil {
		return journal.Leaf{}, err
	}
	return s.Journal.Apply(ctx, c, s.accessRecord(req, o, entry.Permit, v), nil)
}

// failureLogged calls log once, with the error, when r fails, unless ctx
// (the request's) is done first: a client that hangs up while the handler
// waits on a cloud store, whose reader is bound to the request, makes the
// store's reader fail, and that is no failure of the object or the store.
type failureLogged struct {
	ctx    context.Context
	r      io.Reader
	log    func(error)
	logged bool
}

func (f *failureLogged) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != io.EOF {
		f.failed(err)
	}
	return n, err
}

// failed logs err, once, if it is one and the request is not done.
func (f *failureLogged) failed(err error) {
	if err != nil && !f.logged && f.ctx.Err() == nil {
		f.logged = true
		f.log(err)
	}
}

// stopReason is the reason logged for a release that stopped midway with
// cause: the object failed its check, or, for a stream whose store failed
// to deliver the ciphertext (a network error of a cloud bucket), it was
// unavailable; the log claims no damage it did not see. Tink's reader,
// for keysets of another shape, does not tell the two apart: its
// failures are integrity failures, as they always were.
func stopReason(body io.Reader, cause error) string {
	if _, ok := body.(*keys.Stream); ok && !keys.Damaged(cause) {
		return reason.Unavailable
	}
	return reason.Integrity
}

// WriteTo is failureLogged's for a reader that writes itself out: a
// failure of the reader is logged, one of w (a client that hangs up) is
// not.
func (f *failureLogged) WriteTo(w io.Writer) (int64, error) {
	wt, ok := f.r.(io.WriterTo)
	if !ok {
		return io.Copy(w, struct{ io.Reader }{f})
	}
	ew := &errWriter{w: w}
	n, err := wt.WriteTo(ew)
	if ew.err == nil {
		f.failed(err)
	}
	return n, err
}

// errWriter keeps the first error of w.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// smallObject is the ciphertext size up to which a read is done in memory:
// one Tink segment.
const smallObject = 1 << 20

type readCloser struct {
	io.Reader
	cs []io.Closer
}

// writerToCloser is a readCloser whose reader writes itself out
// (io.WriterTo), which io.Copy and the API use.
type writerToCloser struct{ readCloser }

func (r writerToCloser) WriteTo(w io.Writer) (int64, error) {
	return r.Reader.(io.WriterTo).WriteTo(w)
}

func (r readCloser) Close() error {
	var err error
	for _, c := range r.cs {
		if e := c.Close(); err == nil {
			err = e
		}
	}
	return err
}

func (s *Service) accessRecord(req ReadRequest, o *ombud.Object, decision string, v access.Verdict) journal.Record {
	body := entry.Access{Decision: decision, Purpose: req.Purpose, Reasons: []string{v.Reason}, PolicySHA256: v.PolicySHA, AuthKind: v.AuthKind,
		Use: int64(v.Use), Object: req.ID, Authorization: req.AuthorizationID, Flag: req.Flag, By: req.Principal.ID}
	// Claimed and refused, or granted as an emergency.
	body.Emergency = req.Emergency != "" && (decision == entry.Deny || v.Reason == reason.Emergency)
	if o != nil {
		body.Class, body.Subject = o.Class, o.Subjects
	}
	return journal.Record{Body: body,
		Detail: entry.AccessDetail{Authorization: req.AuthorizationID, Emergency: req.Emergency, Flag: req.Flag,
			Justification: req.Justification, Object: req.ID, Principal: req.Principal.ID, Purpose: req.Purpose}}
}

// deny logs a denial and returns it as a *Denial; if the log cannot be
// written, the error says so (the request is refused either way).
func (s *Service) deny(ctx context.Context, req ReadRequest, o *ombud.Object, v access.Verdict) error {
	if v.PolicySHA == "" && s.Access != nil {
		if p := s.Access.Policy(); p != nil {
			v.PolicySHA = p.SHA
		}
	}
	w, err := s.Journal.Write(ctx, s.accessRecord(req, o, entry.Deny, v))
	if err != nil {
		return wrapLog(err)
	}
	return &Denial{Code: v.Code, Message: v.Message, Reason: v.Reason, Index: w.Index}
}
