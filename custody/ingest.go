package custody

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/keys"
)

// IngestRequest is one object to store.
type IngestRequest struct {
	Class       string
	Subjects    []string // real identifiers; stored only as keyed pseudonyms
	Source      string
	Region      string
	CollectedAt time.Time // zero: now
	By          string    // the ingesting principal
	Body        io.Reader
}

// Ingest encrypts req.Body under a fresh key into the blob store, records
// the object, and logs an ingest entry. The order makes a crash safe: the
// object is recorded as pending before the entry is logged, is served to no
// one while pending, and Sweep logs any pending object it finds.
func (s *Service) Ingest(ctx context.Context, req IngestRequest) (*ombud.Object, ombud.Written, error) {
	c, err := s.class(req.Class)
	if err != nil {
		return nil, ombud.Written{}, err
	}
	if c.IsSensitive() && len(req.Subjects) == 0 {
		return nil, ombud.Written{}, ombud.Errorf(ombud.CodeInvalid, "class %s is sensitive: Ombud-Subjects is required", c.Name)
	}
	if req.Source == "" {
		req.Source = "unspecified"
	}
	if err := ombud.ValidateIdentifier("source", req.Source); err != nil {
		return nil, ombud.Written{}, err
	}
	if req.Region == "" {
		req.Region = c.Region
	}
	if req.Region != "" && !isCode(req.Region) {
		return nil, ombud.Written{}, ombud.Errorf(ombud.CodeInvalid, "region must be a code like eu-central")
	}
	if c.Region != "" && req.Region != c.Region {
		return nil, ombud.Written{}, ombud.Errorf(ombud.CodeInvalid, "class %s must reside in region %s, not %s", c.Name, c.Region, req.Region)
	}
	now := s.now()
	if req.CollectedAt.IsZero() {
		req.CollectedAt = now
	}
	if req.CollectedAt.After(now.Add(5 * time.Minute)) {
		return nil, ombud.Written{}, ombud.Errorf(ombud.CodeInvalid, "Ombud-Collected-At is in the future")
	}
	id := ombud.NewID()
	key, err := keys.NewObjectKey()
	if err != nil {
		return nil, ombud.Written{}, err
	}
	ver, keeper := s.Keys.Current()
	wrapped, err := key.Wrap(ctx, keeper, id)
	if err != nil {
		return nil, ombud.Written{}, err
	}
	body := &countingReader{r: req.Body, limit: s.MaxObjectBytes}
	blobKey := blob.Key(id)
	cn, sum, err := s.Bucket.Write(ctx, blobKey, func(w io.Writer) error {
		enc, err := key.Encrypter(w, id)
		if err != nil {
			return err
		}
		buf := make([]byte, 1<<20)
		if _, err := io.CopyBuffer(enc, body, buf); err != nil {
			return err
		}
		return enc.Close()
	})
	if err != nil {
		s.Bucket.Delete(context.WithoutCancel(ctx), blobKey)
		if errors.Is(err, errTooLarge) {
			return nil, ombud.Written{}, ombud.Errorf(ombud.CodeTooLarge, "object is larger than %d bytes", s.MaxObjectBytes)
		}
		if ctx.Err() != nil {
			return nil, ombud.Written{}, ombud.Errorf(ombud.CodeInvalid, "upload aborted")
		}
		return nil, ombud.Written{}, &ombud.Error{Code: ombud.CodeUnavailable, Message: "the object store did not accept the upload", Err: err}
	}
	subjects := make([]string, len(req.Subjects))
	for i, sub := range req.Subjects {
		subjects[i] = s.Journal.Key.Pseudonym("subject", sub)
	}
	o := &ombud.Object{
		ID: id, Class: c.Name, Subjects: subjects, Source: req.Source, Region: req.Region,
		CollectedAt: req.CollectedAt.UTC().Truncate(time.Millisecond), Created: now.Truncate(time.Millisecond),
		RetainUntil: ombud.RetainUntil(c, req.CollectedAt), Size: body.n, CipherSize: cn, CipherSHA: sum,
		WrappedKeyset: wrapped, KEKVersion: ver, Pending: true,
	}
	if err := s.Store.CreateObject(ctx, o); err != nil {
		s.Bucket.Delete(context.WithoutCancel(ctx), blobKey)
		return nil, ombud.Written{}, fmt.Errorf("failed to record object: %w", err)
	}
	w, err := s.logIngest(ctx, o, req.Subjects, req.By)
	if err != nil {
		// The object stays pending: invisible, and Sweep will log or the
		// next attempt at it will. The caller is told it failed.
		return nil, ombud.Written{}, wrapLog(err)
	}
	o.Pending, o.IngestIndex = false, w.Index
	return o, w, nil
}

// logIngest writes the ingest entry and marks the object logged. subjects
// are the real identifiers when known (at ingest), or nil during recovery,
// when only their pseudonyms remain; the entry then carries those.
func (s *Service) logIngest(ctx context.Context, o *ombud.Object, subjects []string, by string) (ombud.Written, error) {
	refs := map[string][]string{"object": {o.ID}}
	if by != "" {
		refs["by"] = []string{by}
	}
	rec := ombud.Record{
		Kind:   ombud.KindIngest,
		Fields: map[string]any{"class": o.Class, "size_band": ombud.SizeBand(o.Size), "retain_until": fmtTime(o.RetainUntil)},
		Refs:   refs,
		Detail: map[string]any{"object": o.ID, "source": o.Source, "collected_at": fmtTime(o.CollectedAt), "bytes": o.Size},
	}
	if o.Region != "" {
		rec.Fields["region"] = o.Region
	}
	if len(subjects) > 0 {
		rec.Refs["subject"] = subjects
	}
	e, leaf, d, err := s.Journal.Build(rec)
	if err != nil {
		return ombud.Written{}, err
	}
	if len(subjects) == 0 && len(o.Subjects) > 0 {
		// Recovery: the pseudonyms are all that is kept.
		e.Refs["subject"] = o.Subjects
		if leaf, err = e.Marshal(); err != nil {
			return ombud.Written{}, err
		}
	}
	w, err := s.Journal.Append(ctx, e, leaf, d)
	if err != nil {
		return ombud.Written{}, err
	}
	if err := s.Store.SetIngestIndex(ctx, o.ID, w.Index); err != nil {
		return ombud.Written{}, fmt.Errorf("failed to mark object logged: %w", err)
	}
	return w, nil
}
