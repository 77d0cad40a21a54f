// Package receipt is the proof, handed to a caller, that its decision is in
// the log: the entry's exact bytes, a signed checkpoint and the inclusion
// proof that links them, verifiable offline with the log's key
// (docs/LOG-FORMAT.md).
package receipt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud/entry"
)

// Version is the version of the receipt format.
const Version = 1

// MaxSize bounds a receipt file: an entry, a checkpoint with a few
// cosignatures and a proof of at most 64 hashes fit well within it.
const MaxSize = 64 << 10

// Receipt proves that an entry is in the log: the entry's exact bytes, a
// signed checkpoint and the RFC 6962 inclusion proof that links them. Anyone
// holding the log's verifier key can check it offline.
type Receipt struct {
	V          int      `json:"v"`
	Index      uint64   `json:"index"`
	Entry      []byte   `json:"entry"`      // base64 in JSON: the exact leaf bytes
	Checkpoint string   `json:"checkpoint"` // C2SP tlog-checkpoint signed note
	Proof      [][]byte `json:"inclusion_proof"`
}

// receiptErr says why a receipt does not verify, as an *entry.Error.
func receiptErr(format string, a ...any) error {
	return &entry.Error{Refused: "receipt does not verify", Reason: fmt.Sprintf(format, a...)}
}

// Parse decodes a receipt strictly.
func Parse(b []byte) (*Receipt, error) {
	if len(b) > MaxSize {
		return nil, receiptErr("%d bytes, more than %d", len(b), MaxSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Receipt
	if err := dec.Decode(&r); err != nil {
		return nil, receiptErr("malformed: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, receiptErr("trailing data")
	}
	if r.V != Version {
		return nil, receiptErr("version %d, want %d", r.V, Version)
	}
	return &r, nil
}

// Verify checks the checkpoint's signature with v, that the entry is a
// valid ombud entry, and that the proof includes it at r.Index. It returns
// the verified checkpoint and entry.
func Verify(r *Receipt, v note.Verifier) (*log.Checkpoint, *entry.Entry, error) {
	if r == nil || v == nil {
		return nil, nil, receiptErr("no receipt or no verifier key")
	}
	cp, _, _, err := log.ParseCheckpoint([]byte(r.Checkpoint), v.Name(), v)
	if err != nil {
		return nil, nil, receiptErr("the checkpoint is not signed with the log's key (%v)", err)
	}
	if r.Index >= cp.Size {
		return nil, nil, receiptErr("index %d is not below checkpoint size %d", r.Index, cp.Size)
	}
	if len(r.Proof) > 64 {
		return nil, nil, receiptErr("proof has %d hashes", len(r.Proof))
	}
	for i, h := range r.Proof {
		if len(h) != 32 {
			return nil, nil, receiptErr("proof hash %d is %d bytes", i, len(h))
		}
	}
	e, err := entry.Parse(r.Entry)
	if err != nil {
		return nil, nil, receiptErr("%v", err)
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(r.Entry)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, r.Index, cp.Size, leaf, r.Proof, cp.Hash); err != nil {
		return nil, nil, receiptErr("the inclusion proof does not lead from this entry at index %d to the checkpoint's root: the entry or its index was changed, or the receipt is from another log", r.Index)
	}
	return cp, e, nil
}
