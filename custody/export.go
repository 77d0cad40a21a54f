package custody

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/keys"
	"github.com/ombud/ombud/reason"
	"github.com/ombud/ombud/sharing"
	"github.com/ombud/ombud/vocab"
)

// MaxExportObjects bounds the objects of one export: each is decided and
// logged, and its gate held, before the package's first byte.
const MaxExportObjects = 10_000

// exportReceiptWait bounds the wait for a checkpoint that covers an
// export's entries, which its manifest's receipts need.
const exportReceiptWait = 30 * time.Second

// ExportRequest asks to export objects to a registered recipient.
type ExportRequest struct {
	Principal *ombud.Principal
	Recipient string // the recipient's id
	// Objects lists the objects; or Run names a run whose list the
	// export takes (the caller may see the run: its starter, or a machine
	// of its system). Exactly one of the two.
	Objects       []string
	Run           string
	Purpose       string
	Authorization string
	Justification string
}

// Exported is an export decided and logged: every object's permit is in
// the log, and the package is ready to stream (WriteExport).
type Exported struct {
	Export    *ombud.Export
	Recipient *ombud.Recipient
	Manifest  *sharing.Manifest
	objects   []*ombud.Object
	principal *ombud.Principal
}

// exportStart is an export being decided: what the steps of Export share.
type exportStart struct {
	s         *Service
	req       ExportRequest
	x         *ombud.Export
	recipient *ombud.Recipient
	objects   []*ombud.Object
	digests   [][]byte
	sets      []access.RunSet
	body      entry.Export
	detail    entry.ExportDetail
	v         access.Verdict
	auth      *ombud.RegisteredAuthorization
}

// Export decides an export whole, before any byte leaves, and logs it:
// the recipient is registered and not retired; every object exists, is
// not erased, and is covered by the cited authorization as a read would
// be; a class whose rule is scoped leaves only under a sharing scope
// naming the recipient; a recipient outside the deployment's jurisdiction
// needs the transfer scope to name its; the policy permits it. The export
// spends one use of the authorization, taken with its reservation, and is
// logged as an export entry; then each object's permit is logged as an
// access entry (reasons in_export) naming the export. All of it is logged
// while the gates of the objects and the authorization are held, so an
// erasure or a revocation is logged before the export or after every
// permit of it, never in between; so is a retirement of the recipient.
//
// A malformed request is refused as bad input and logs nothing; every
// other refusal is logged as an export entry with decision deny and the
// refusal's reason (a *Denial with its Index).
func (s *Service) Export(ctx context.Context, req ExportRequest) (*Exported, error) {
	p := req.Principal
	if p == nil {
		return nil, errors.New("custody: an export without a principal")
	}
	if s.Receipts == nil || s.Signer == nil {
		return nil, ombud.Errorf(ombud.CodeUnavailable, "this gateway makes no exports: it cannot build receipts")
	}
	if !p.Has(ombud.RoleAnalyst) {
		return nil, ombud.Errorf(ombud.CodeForbidden, "an export needs the analyst role")
	}
	if req.Run != "" {
		if len(req.Objects) > 0 {
			return nil, ombud.Errorf(ombud.CodeInvalid, "give objects or run, not both")
		}
		var err error
		if req.Objects, err = s.runList(ctx, p, req.Run); err != nil {
			return nil, err
		}
	}
	if err := s.checkExportRequest(req); err != nil {
		return nil, err
	}
	h := s.gates.Begin()
	defer h.Release()
	gates := []string{principalGate(p.ID), access.PolicyGate, access.Gate(req.Authorization), recipientGate(req.Recipient)}
	for _, id := range req.Objects {
		gates = append(gates, objectGate(id))
	}
	slices.Sort(gates)
	if err := h.Shared(ctx, gates...); err != nil {
		return nil, err
	}
	if _, err := s.checkReader(ctx, p); err != nil {
		return nil, err
	}
	st := s.newExportStart(req)
	if err := st.checkRecipient(ctx); err != nil {
		return nil, err
	}
	if err := st.checkObjects(ctx); err != nil {
		return nil, err
	}
	if err := st.decide(ctx); err != nil {
		return nil, err
	}
	if err := st.checkDigests(ctx); err != nil {
		return nil, err
	}
	if err := h.Check(ctx); err != nil {
		st.refund(ctx)
		return nil, err
	}
	w, err := st.apply(ctx)
	if err != nil {
		return nil, err
	}
	st.x.Index = w.Index
	// The gates still hold (another gateway may otherwise have taken
	// them): the permits are logged under them, or not at all.
	if err := h.Check(ctx); err != nil {
		return nil, err
	}
	reads, err := st.logReads(ctx)
	if err != nil {
		return nil, err
	}
	h.Release()
	m, err := st.manifest(ctx, w.Index, reads)
	if err != nil {
		return nil, err
	}
	return &Exported{Export: st.x, Recipient: st.recipient, Manifest: m, objects: st.objects, principal: p}, nil
}

// runList returns the object list of run id, for an export of it: a run
// the caller may not see is as one that does not exist.
func (s *Service) runList(ctx context.Context, p *ombud.Principal, id string) ([]string, error) {
	r, err := s.Store.Run(ctx, id)
	if errors.Is(err, ombud.ErrNotFound) || (err == nil && !maySee(p, r)) {
		return nil, ombud.Errorf(ombud.CodeNotFound, "no run %q of yours", id)
	}
	if err != nil {
		return nil, err
	}
	if r.Objects > MaxExportObjects {
		return nil, ombud.Errorf(ombud.CodeInvalid, "run %s holds %d objects; an export holds at most %d", id, r.Objects, MaxExportObjects)
	}
	objs, err := s.Store.RunObjects(ctx, id, 0, r.Objects)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(objs))
	for i, o := range objs {
		ids[i] = o.Object.ID
	}
	return ids, nil
}

// checkExportRequest refuses a malformed request: bad input, logged
// nowhere.
func (s *Service) checkExportRequest(req ExportRequest) error {
	bad := func(format string, a ...any) error { return ombud.Errorf(ombud.CodeInvalid, format, a...) }
	switch {
	case req.Recipient == "" || len(req.Recipient) > 64:
		return bad("recipient: the id of a registered recipient (ombud recipient list)")
	case req.Authorization == "" || len(req.Authorization) > 64:
		return bad("authorization: an export cites the registered authorization whose sharing scope allows it")
	case len(req.Objects) == 0:
		return bad("objects: name at least one object")
	case len(req.Objects) > MaxExportObjects:
		return bad("objects: an export holds at most %d objects", MaxExportObjects)
	case len(req.Justification) > 1024:
		return bad("justification: at most 1024 bytes")
	}
	if err := s.Vocabulary.Check(vocab.Purpose, "purpose", req.Purpose); err != nil {
		return err
	}
	seen := make(map[string]bool, len(req.Objects))
	for i, id := range req.Objects {
		if id == "" || len(id) > 64 || strings.ContainsAny(id, "/\\") {
			return bad("objects: entry %d is not an object id", i)
		}
		if seen[id] {
			return bad("objects: entry %d names an object given before", i)
		}
		seen[id] = true
	}
	return nil
}

func (s *Service) newExportStart(req ExportRequest) *exportStart {
	p := req.Principal
	x := &ombud.Export{ID: ombud.NewID(), Recipient: req.Recipient, Authorization: req.Authorization, Principal: p.ID, Purpose: req.Purpose,
		Objects: len(req.Objects), Created: s.now().Truncate(time.Millisecond)}
	body := entry.Export{Decision: entry.Deny, Purpose: req.Purpose, Objects: int64(len(req.Objects)), Export: x.ID, Recipient: req.Recipient,
		Authorization: req.Authorization, By: p.ID}
	detail := entry.ExportDetail{Export: x.ID, Justification: req.Justification, Objects: req.Objects, Principal: p.ID}
	return &exportStart{s: s, req: req, x: x, body: body, detail: detail}
}

func (st *exportStart) refund(ctx context.Context) {
	st.s.Access.Refund(context.WithoutCancel(ctx), st.v, false)
	st.v.Use = 0
}

// refuse logs a refusal as the export's denial and returns it.
func (st *exportStart) refuse(ctx context.Context, code ombud.Code, why, format string, a ...any) error {
	st.refund(ctx)
	st.body.Decision, st.body.Reasons, st.body.Use, st.body.ClassCounts = entry.Deny, []string{why}, 0, nil
	if st.body.PolicySHA256 == "" {
		if pol := st.s.Access.Policy(); pol != nil {
			st.body.PolicySHA256 = pol.SHA
		}
	}
	w, err := st.s.Journal.Write(ctx, journal.Record{Body: st.body, Detail: st.detail})
	if err != nil {
		return wrapLog(err)
	}
	return &Denial{Code: code, Reason: why, Message: fmt.Sprintf(format, a...), Index: w.Index}
}

func (st *exportStart) fail(ctx context.Context, err error) error {
	st.refund(ctx)
	return err
}

// checkRecipient finds the recipient: registered (a retired one is
// refused by the decision).
func (st *exportStart) checkRecipient(ctx context.Context) error {
	r, err := st.s.Store.Recipient(ctx, st.req.Recipient)
	if errors.Is(err, ombud.ErrNotFound) {
		return st.refuse(ctx, ombud.CodeNotFound, reason.RecipientUnknown, "no such recipient is registered")
	}
	if err != nil {
		return err
	}
	st.recipient = r
	st.body.RecipientCategory, st.body.Jurisdiction = r.Category, r.Jurisdiction
	st.body.CrossBorder = st.s.Access.CrossBorder(r.Jurisdiction)
	return nil
}

// checkObjects reads every object (existing, not erased) and gathers
// their distinct (class, subjects) sets and their counts by class.
func (st *exportStart) checkObjects(ctx context.Context) error {
	bySet := map[string]bool{}
	for i, id := range st.req.Objects {
		o, err := st.s.Store.Object(ctx, id)
		switch {
		case errors.Is(err, ombud.ErrNotFound):
			return st.refuse(ctx, ombud.CodeNotFound, reason.ObjectUnknown, "object %d of the export (%s) does not exist", i, id)
		case err != nil:
			return err
		case o.Erased != nil || o.WrappedKeyset == nil:
			return st.refuse(ctx, ombud.CodeGone, reason.ObjectErased, "object %d of the export (%s) was erased", i, id)
		}
		if key := o.Class + "\x00" + strings.Join(o.Subjects, ","); !bySet[key] {
			bySet[key] = true
			st.sets = append(st.sets, access.RunSet{First: i, Class: o.Class, Subjects: o.Subjects})
		}
		st.objects = append(st.objects, o)
	}
	return nil
}

// decide takes the export's decision; a permit holds the use it admitted.
func (st *exportStart) decide(ctx context.Context) error {
	req := st.req
	var err error
	st.v, err = st.s.Access.DecideExport(ctx, access.ExportRequest{Principal: req.Principal, ExportID: st.x.ID, Purpose: req.Purpose,
		AuthorizationID: req.Authorization, Recipient: st.recipient, Sets: st.sets, Classes: st.s.Classes})
	if err != nil {
		return err
	}
	st.body.PolicySHA256, st.body.AuthKind = st.v.PolicySHA, st.v.AuthKind
	if !st.v.Permit {
		return st.refuse(ctx, st.v.Code, st.v.Reason, "%s", st.v.Message)
	}
	if st.auth, err = st.s.Store.Authorization(ctx, req.Authorization); err != nil {
		return st.fail(ctx, err)
	}
	counts := map[string]int{}
	for _, o := range st.objects {
		counts[o.Class]++
	}
	for c, n := range counts {
		st.body.ClassCounts = append(st.body.ClassCounts, c+":"+strconv.Itoa(n))
	}
	slices.Sort(st.body.ClassCounts)
	st.body.Decision, st.body.Reasons, st.body.Use = entry.Permit, []string{st.v.Reason}, int64(st.v.Use)
	return nil
}

// checkDigests opens each object's plaintext SHA-256: sealed under its
// key since digests are kept, or, for an object stored before, computed
// by reading it whole. An object that cannot be read is refused here,
// before anything is logged but the refusal.
func (st *exportStart) checkDigests(ctx context.Context) error {
	st.digests = make([][]byte, len(st.objects))
	for i, o := range st.objects {
		d, err := st.s.PlainDigest(ctx, o)
		if errors.Is(err, keys.ErrNoDigest) {
			d, err = st.s.hashPlaintext(ctx, o)
		}
		if err != nil {
			var rf *refusal
			if errors.As(err, &rf) {
				return st.refuse(ctx, rf.code, rf.reason, "object %d of the export (%s): %s", i, o.ID, rf.msg)
			}
			if keys.Damaged(err) {
				return st.refuse(ctx, ombud.CodeInternal, reason.Integrity, "object %d of the export (%s) failed its integrity check", i, o.ID)
			}
			return st.refuse(ctx, ombud.CodeUnavailable, reason.KeyUnavailable, "the key of object %d of the export (%s) cannot be unwrapped", i, o.ID)
		}
		st.digests[i] = d
	}
	return nil
}

func (rf *refusal) Error() string { return rf.msg }

// hashPlaintext reads an object whole, verified, and returns its
// plaintext's SHA-256: for objects stored before digests were kept.
func (s *Service) hashPlaintext(ctx context.Context, o *ombud.Object) ([]byte, error) {
	op, rf := s.open(ctx, o)
	if rf != nil {
		return nil, rf
	}
	defer op.close()
	h := sha256.New()
	if _, err := io.Copy(h, op.body); err != nil {
		if keys.Damaged(err) {
			return nil, &refusal{reason.Integrity, ombud.CodeInternal, "the object failed its integrity check", err}
		}
		return nil, &refusal{reason.Unavailable, ombud.CodeUnavailable, "the object's ciphertext cannot be read from the object store", err}
	}
	return h.Sum(nil), nil
}

// apply reserves the export's change with its use, logs its entry and
// commits it.
func (st *exportStart) apply(ctx context.Context) (journal.Leaf, error) {
	c, err := journal.ExportStart.Change(st.x.ID, journal.ExportPayload{Export: st.x, Objects: st.req.Objects})
	if err != nil {
		return journal.Leaf{}, st.fail(ctx, err)
	}
	w, err := st.s.Journal.Apply(ctx, c, journal.Record{Body: st.body, Detail: st.detail}, nil)
	if err != nil && w.Entry == nil {
		return journal.Leaf{}, st.refuseChanged(ctx, err)
	}
	return w, err
}

// refuseChanged refuses an export whose reservation failed: decided
// against a state that changed meanwhile, the refusal is logged.
func (st *exportStart) refuseChanged(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, ombud.ErrRetired):
		return st.refuse(ctx, ombud.CodeForbidden, reason.RecipientRetired, "the recipient was retired meanwhile")
	case errors.Is(err, ombud.ErrErased):
		return st.refuse(ctx, ombud.CodeGone, reason.ObjectErased, "an object of the export was erased meanwhile")
	case errors.Is(err, ombud.ErrRevoked):
		return st.refuse(ctx, ombud.CodeForbidden, reason.AuthRevoked, "the authorization was revoked meanwhile")
	case errors.Is(err, ombud.ErrExhausted):
		return st.refuse(ctx, ombud.CodeForbidden, reason.AuthExhausted, "the authorization has no uses left")
	case errors.Is(err, ombud.ErrNotFound):
		return st.refuse(ctx, ombud.CodeNotFound, reason.ObjectUnknown, "an object, the recipient or the authorization of the export is gone")
	}
	return st.fail(ctx, err)
}

// exportAppends bounds the object permits of one export appended at once.
const exportAppends = 256

// logReads logs each object's permit, in the export, concurrently, and
// returns their indexes in the export's order. A failure leaves the
// export logged and nothing released.
func (st *exportStart) logReads(ctx context.Context) ([]uint64, error) {
	idx := make([]uint64, len(st.objects))
	g, gctx := errgroup.WithContext(context.WithoutCancel(ctx))
	g.SetLimit(exportAppends)
	for i, o := range st.objects {
		g.Go(func() error {
			body := entry.Access{Decision: entry.Permit, Class: o.Class, Purpose: st.req.Purpose, Reasons: []string{reason.InExport},
				PolicySHA256: st.v.PolicySHA, AuthKind: st.v.AuthKind, Object: o.ID, Subject: o.Subjects, Export: st.x.ID, By: st.req.Principal.ID}
			w, err := st.s.Journal.Write(gctx, journal.Record{Body: body, Detail: entry.ExportReadDetail{Export: st.x.ID, Object: o.ID, Position: i}})
			if err != nil {
				return wrapLog(err)
			}
			idx[i] = w.Index
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		st.s.logger().ErrorContext(ctx, "an export's permits could not all be logged; nothing of it is released", "export", st.x.ID, "err", err)
		return nil, err
	}
	return idx, nil
}

// manifest builds the package's manifest: the export's receipt and each
// object's, once a checkpoint covers them, and the onward limits.
func (st *exportStart) manifest(ctx context.Context, index uint64, reads []uint64) (*sharing.Manifest, error) {
	rs, err := st.s.Receipts(ctx, append([]uint64{index}, reads...), exportReceiptWait)
	if err != nil {
		return nil, fmt.Errorf("the export's receipts: %w", err)
	}
	xr := rs[0]
	a := st.auth.Authorization
	origin, _, _ := strings.Cut(xr.Checkpoint, "\n") // a checkpoint's first line
	m := &sharing.Manifest{Format: sharing.ManifestFormat, Export: st.x.ID, LogOrigin: origin, Receipt: xr,
		Recipient: sharing.ManifestRecipient{ID: st.recipient.ID, Category: st.recipient.Category, Jurisdiction: st.recipient.Jurisdiction},
		Purpose:   st.req.Purpose,
		Limits:    sharing.Limits{Authorization: a.ID, Purposes: a.Purposes, DeleteBy: a.ShareDeadline(), OnwardTransfer: a.ShareOnward}}
	for i, o := range st.objects {
		m.Objects = append(m.Objects, sharing.ManifestObject{ID: o.ID, Class: o.Class, Size: o.Size, SHA256: hex.EncodeToString(st.digests[i]),
			File: sharing.ObjectFile(o.ID), Receipt: rs[i+1]})
	}
	return m, m.Check()
}

// WriteExport streams x's package to w: each object opened, checked and
// decrypted as a read is, and sealed to the recipient. An object that
// fails (damaged, or its store failing) is logged as a denial in the
// export, and the package is abandoned unended, so that it does not open
// whole.
func (s *Service) WriteExport(ctx context.Context, x *Exported, w io.Writer) (err error) {
	// The package's writes to w (the connection) go on their own
	// goroutine, so that the socket's waits overlap the sealing; whole
	// buffers of it, not age's 64 KiB chunks.
	aw := blob.NewAsyncWriter(w)
	defer func() {
		if cerr := aw.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(aw, exportBuffer)
	if err := s.writePackage(ctx, x, bw); err != nil {
		return err
	}
	return bw.Flush()
}

// exportBuffer is how much of a package is handed to the connection's
// goroutine at a time.
const exportBuffer = 1 << 20

func (s *Service) writePackage(ctx context.Context, x *Exported, w io.Writer) error {
	pw, err := sharing.NewPackageWriter(w, x.Recipient.Key, x.Manifest, s.Signer)
	if err != nil {
		return err
	}
	for i, o := range x.objects {
		op, rf := s.open(ctx, o)
		if rf != nil {
			s.exportStopLogged(ctx, x, o, i, rf.reason, rf.cause)
			return fmt.Errorf("object %s of the export: %s", o.ID, rf.msg)
		}
		body := io.Reader(op.body)
		if o.CipherSize > smallObject {
			body = &failureLogged{ctx: ctx, r: op.body, log: func(cause error) { s.exportStopLogged(ctx, x, o, i, stopReason(op.body, cause), cause) }}
		}
		// The read checks the ciphertext against the SHA-256 logged at
		// ingest before the last of it goes out, and fails otherwise.
		err := pw.VerifiedObject(body)
		op.close()
		if err != nil {
			return fmt.Errorf("object %s of the export: %w", o.ID, err)
		}
	}
	return pw.Close()
}

// exportStopLogged logs, as a denial of the object in the export, an
// object whose release stopped (a failed check, or its store failing).
func (s *Service) exportStopLogged(ctx context.Context, x *Exported, o *ombud.Object, pos int, why string, cause error) {
	// An erasure logged after the export's permits, and committed before
	// the object was opened or while it streamed, took its key and its
	// ciphertext: the stop is the erasure, not the store failing.
	if now, err := s.Store.Object(context.WithoutCancel(ctx), o.ID); err == nil && now.Erased != nil {
		why = reason.ObjectErased
	}
	s.logger().ErrorContext(ctx, "an export's stream stopped: "+why, "export", x.Export.ID, "object", o.ID, "err", cause)
	body := entry.Access{Decision: entry.Deny, Class: o.Class, Purpose: x.Export.Purpose, Reasons: []string{why}, Object: o.ID, Subject: o.Subjects,
		Export: x.Export.ID, By: x.principal.ID}
	if _, err := s.Journal.Write(context.WithoutCancel(ctx), journal.Record{Body: body, Detail: entry.ExportReadDetail{Export: x.Export.ID, Object: o.ID, Position: pos}}); err != nil {
		s.logger().ErrorContext(ctx, "the stopped export could not be logged", "export", x.Export.ID, "object", o.ID, "err", err)
	}
}
