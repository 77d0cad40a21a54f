package custody

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/keys"
	"github.com/ombud/ombud/vocab"
)

// copyBufs holds the 1 MiB buffers ingests copy through, shared so that
// a small object does not allocate (and zero) one of its own.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

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

// Ingest encrypts req.Body under a fresh key into the blob store, then
// reserves the object, logs its ingest entry and commits it (the one
// pattern). A crash before the commit leaves a reservation that recovery
// settles: an ingest whose entry is not in the log is discarded, blob and
// keyset included; one whose entry is, but which no client was told of, is
// erased (logged, reason ingest_unacknowledged).
func (s *Service) Ingest(ctx context.Context, req IngestRequest) (*ombud.Object, journal.Leaf, error) {
	c, err := s.class(req.Class)
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	if c.IsSensitive() && len(req.Subjects) == 0 {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeInvalid, "class %s is sensitive: Ombud-Subjects is required", c.Name)
	}
	if req.Source == "" {
		req.Source = "unspecified"
	}
	if err := ombud.ValidateIdentifier("source", req.Source); err != nil {
		return nil, journal.Leaf{}, err
	}
	if req.Region == "" {
		req.Region = c.Region
	}
	if req.Region != "" {
		if err := s.Vocabulary.Check(vocab.Region, "Ombud-Region", req.Region); err != nil {
			return nil, journal.Leaf{}, err
		}
	}
	if c.Region != "" && req.Region != c.Region {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeInvalid, "class %s must reside in region %s, not %s", c.Name, c.Region, req.Region)
	}
	now := s.now()
	if req.CollectedAt.IsZero() {
		req.CollectedAt = now
	}
	if req.CollectedAt.After(now.Add(5 * time.Minute)) {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeInvalid, "Ombud-Collected-At is in the future")
	}
	id := ombud.NewID()
	key, err := keys.NewObjectKey()
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	var wrapped []byte
	body := &countingReader{r: req.Body, limit: s.MaxObjectBytes}
	blobKey := blob.Key(id)
	// The plaintext's SHA-256, on a goroutine of its own, for exports to
	// name; kept sealed under the object's key.
	plain := blob.NewAsyncHash()
	var digest []byte
	defer func() {
		if digest == nil {
			plain.Sum()
		}
	}()
	cn, sum, err := s.Bucket.Write(ctx, blobKey, func(w io.Writer) error {
		enc, err := key.Encrypter(w, id)
		if err != nil {
			return err
		}
		buf := copyBufs.Get().(*[]byte)
		defer copyBufs.Put(buf)
		if _, err := io.CopyBuffer(enc, io.TeeReader(body, plain), *buf); err != nil {
			return err
		}
		return enc.Close()
	})
	if err != nil {
		s.Bucket.Delete(context.WithoutCancel(ctx), blobKey)
		if errors.Is(err, errTooLarge) {
			return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeTooLarge, "object is larger than %d bytes", s.MaxObjectBytes)
		}
		if ctx.Err() != nil {
			return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeInvalid, "upload aborted")
		}
		return nil, journal.Leaf{}, &ombud.Error{Code: ombud.CodeUnavailable, Message: "the object store did not accept the upload", Err: err}
	}
	// The keyset is wrapped once the upload is in: a refused upload makes
	// no intermediate key.
	digest = plain.Sum()
	sealedDigest, err := key.SealDigest(digest, id)
	if err != nil {
		s.Bucket.Delete(context.WithoutCancel(ctx), blobKey)
		return nil, journal.Leaf{}, err
	}
	wrapping, ik, ver, err := s.wrappingKey(ctx, req.By)
	if err == nil {
		wrapped, err = key.WrapWith(ik, id)
	}
	if err != nil {
		s.Bucket.Delete(context.WithoutCancel(ctx), blobKey)
		return nil, journal.Leaf{}, &ombud.Error{Code: ombud.CodeUnavailable, Message: "the object's key could not be wrapped", Err: err}
	}
	subjects := make([]string, len(req.Subjects))
	for i, sub := range req.Subjects {
		subjects[i] = s.Journal.Key.Pseudonym("subject", sub)
	}
	o := &ombud.Object{
		ID: id, Class: c.Name, Subjects: subjects, Source: req.Source, Region: req.Region,
		CollectedAt: req.CollectedAt.UTC().Truncate(time.Millisecond), Created: now.Truncate(time.Millisecond),
		RetainUntil: ombud.RetainUntil(c, req.CollectedAt), Size: body.n, CipherSize: cn, CipherSHA: sum,
		WrappedKeyset: wrapped, WrappingKey: wrapping, KEKVersion: ver, KeyFormat: int(key.Format()), PlainDigest: sealedDigest,
	}
	w, err := s.logIngest(ctx, o, req.Subjects, req.By)
	if err != nil {
		if w.Entry == nil {
			// Nothing took effect: the reservation is undone (or, if even
			// that failed, recovery undoes it); the ciphertext goes too.
			s.Bucket.Delete(context.WithoutCancel(ctx), blobKey)
		}
		return nil, journal.Leaf{}, err
	}
	o.IngestIndex = w.Index
	return o, w, nil
}

// logIngest records o through the one pattern: the object is reserved in
// the store, invisible to every reader, its ingest entry is logged, and
// only then is it live. subjects are the real identifiers.
func (s *Service) logIngest(ctx context.Context, o *ombud.Object, subjects []string, by string) (journal.Leaf, error) {
	keyed := make([]string, len(subjects))
	for i, sub := range subjects {
		keyed[i] = s.Journal.Key.Pseudonym("subject", sub)
	}
	rec := journal.Record{
		Body: entry.Ingest{Class: o.Class, Region: o.Region, SizeBand: ombud.SizeBand(o.Size), RetainUntil: ombud.Day(o.RetainUntil),
			Object: o.ID, Subject: keyed, By: by},
		Detail: entry.IngestDetail{Bytes: o.Size, CollectedAt: fmtTime(o.CollectedAt), Object: o.ID, RetainUntil: fmtTime(o.RetainUntil), Source: o.Source},
	}
	e, leaf, d, err := s.Journal.Build(rec)
	if err != nil {
		return journal.Leaf{}, err
	}
	o.IngestDetail = journal.DetailKeyOf(e)
	c, err := journal.Ingest.Change(o.ID, journal.ObjectPayload{Object: o})
	if err != nil {
		return journal.Leaf{}, err
	}
	return s.Journal.ApplyBuilt(ctx, c, e, leaf, d, nil)
}
