package custody

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/keys"
)

// ReadRequest asks to read one object for a stated purpose.
type ReadRequest struct {
	ID      string
	Purpose string // a purpose code, e.g. criminal_investigation
	By      string
}

// Release is a permitted read: the decision is already durably logged at
// Index, and Body yields the plaintext, verified segment by segment; it
// fails rather than return a truncated or altered object.
type Release struct {
	Object *ombud.Object
	Index  uint64
	Body   io.ReadCloser
}

// Read decides a read and logs the decision, permit or deny, before any
// plaintext is available. In this version only ordinary classes can be
// read; sensitive classes need an authorization, which is denied until
// authorizations exist. A denial is returned as a *Decision.
func (s *Service) Read(ctx context.Context, req ReadRequest) (*Release, error) {
	if !isCode(req.Purpose) {
		return nil, ombud.Errorf(ombud.CodeInvalid, "Ombud-Purpose must be a purpose code (a-z 0-9 _ - ., up to 64), e.g. audit_sample")
	}
	o, err := s.Store.Object(ctx, req.ID)
	switch {
	case errors.Is(err, ombud.ErrNotFound):
		return nil, s.deny(ctx, req, "", "not_found", ombud.CodeNotFound, "no such object")
	case err != nil:
		return nil, err
	case o.Pending:
		return nil, s.deny(ctx, req, o.Class, "not_found", ombud.CodeNotFound, "no such object")
	case o.Erased != nil || o.WrappedKeyset == nil:
		return nil, s.deny(ctx, req, o.Class, "erased", ombud.CodeGone, "the object was erased")
	}
	c, err := s.class(o.Class)
	if err != nil {
		return nil, err
	}
	if c.IsSensitive() {
		return nil, s.deny(ctx, req, o.Class, "authorization_required", ombud.CodeForbidden,
			"class "+o.Class+" is sensitive: reading it needs a registered authorization")
	}
	// Prepare everything that can fail before the permit is logged, so a
	// logged permit is a release that really starts.
	keeper, err := s.Keys.Keeper(o.KEKVersion)
	if err != nil {
		return nil, err
	}
	key, err := keys.Unwrap(ctx, keeper, o.WrappedKeyset, o.ID)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", o.ID, err)
	}
	rc, size, err := s.Bucket.Get(ctx, blob.Key(o.ID))
	if err != nil {
		return nil, &ombud.Error{Code: ombud.CodeUnavailable, Message: "the object's ciphertext cannot be read from the object store", Err: err}
	}
	if size != o.CipherSize {
		rc.Close()
		return nil, fmt.Errorf("object %s: %w: stored %d bytes, recorded %d", o.ID, blob.ErrIntegrity, size, o.CipherSize)
	}
	vr := blob.Verifying(rc, o.CipherSize, o.CipherSHA)
	pt, err := key.Decrypter(vr, o.ID)
	if err != nil {
		vr.Close()
		rc.Close()
		return nil, fmt.Errorf("object %s: %w: %v", o.ID, blob.ErrIntegrity, err)
	}
	w, err := s.Journal.Write(ctx, s.accessRecord(req, o.Class, "permit", "ordinary_class"))
	if err != nil {
		vr.Close()
		rc.Close()
		return nil, wrapLog(err)
	}
	return &Release{Object: o, Index: w.Index, Body: readCloser{pt, []io.Closer{vr, rc}}}, nil
}

type readCloser struct {
	io.Reader
	cs []io.Closer
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

func (s *Service) accessRecord(req ReadRequest, class, decision, reason string) ombud.Record {
	fields := map[string]any{"decision": decision, "purpose": req.Purpose, "reasons": []string{reason}}
	if class != "" {
		fields["class"] = class
	}
	refs := map[string][]string{"object": {req.ID}}
	if req.By != "" {
		refs["by"] = []string{req.By}
	}
	return ombud.Record{Kind: ombud.KindAccess, Fields: fields, Refs: refs,
		Detail: map[string]any{"object": req.ID, "purpose": req.Purpose, "principal": req.By}}
}

// deny logs a denial and returns it as a *Decision; if the log cannot be
// written, the error says so (the request is refused either way).
func (s *Service) deny(ctx context.Context, req ReadRequest, class, reason string, code ombud.Code, msg string) error {
	w, err := s.Journal.Write(ctx, s.accessRecord(req, class, "deny", reason))
	if err != nil {
		return wrapLog(err)
	}
	return &Decision{Code: code, Message: msg, Reason: reason, Index: w.Index}
}
