// Package witness is a C2SP tlog-witness: it cosigns a log's checkpoint
// only when it is consistent with the last checkpoint it cosigned for that
// log, and it keeps that checkpoint durably, so that no log can show two
// different histories to parties that trust the same witness.
//
// Protocol: https://c2sp.org/tlog-witness. Cosignatures:
// https://c2sp.org/tlog-cosignature (Ed25519 cosignature/v1, key type
// 0x04).
package witness

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud/internal/fsutil"
)

// MaxRequest bounds an add-checkpoint body: 63 proof lines of 45 bytes, a
// size line and a checkpoint with a few dozen signatures fit well within.
const MaxRequest = 64 << 10

// maxProof is the protocol's limit on consistency proof lines.
const maxProof = 63

// A Log is one log this witness cosigns: its origin and the keys its
// checkpoints may be signed with.
type Log struct {
	Origin    string
	Verifiers []note.Verifier
}

// ParseLog reads "ORIGIN=VKEY" or a bare "VKEY" (whose name is then the
// origin). The key's name must be the origin, as C2SP tlog-checkpoint
// requires.
func ParseLog(s string) (Log, error) {
	origin, vkey, ok := strings.Cut(s, "=")
	if !ok || strings.Contains(origin, "+") {
		origin, vkey = "", s
	}
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return Log{}, fmt.Errorf("log key %q: %w", s, err)
	}
	if origin == "" {
		origin = v.Name()
	}
	if v.Name() != origin {
		return Log{}, fmt.Errorf("log key is named %q, but the origin is %q: the key's name must be the origin", v.Name(), origin)
	}
	return Log{Origin: origin, Verifiers: []note.Verifier{v}}, nil
}

// Witness holds the witness key, the logs it knows and the latest
// checkpoint it cosigned for each, in Dir.
type Witness struct {
	signer note.Signer
	logs   map[string]Log
	dir    string

	mu     sync.Mutex // serializes the check and the update of a log's state
	latest map[string]*log.Checkpoint
}

// NewSigner returns the cosignature/v1 signer for a note signer key
// ("PRIVATE+KEY+name+hash+key", Ed25519).
func NewSigner(skey string) (note.Signer, error) {
	s, err := fnote.NewSignerForCosignatureV1(strings.TrimSpace(skey))
	if err != nil {
		return nil, fmt.Errorf("witness key: %w", err)
	}
	return s, nil
}

// VerifierKey is the cosignature/v1 verifier key (type 0x04) that matches
// the note verifier key vkey: the form logs and auditors configure.
func VerifierKey(vkey string) (string, error) {
	return fnote.VKeyToCosignatureV1(strings.TrimSpace(vkey))
}

// New opens (creating it if needed) the state directory dir and returns a
// witness for logs, cosigning with signer.
func New(dir string, signer note.Signer, logs []Log) (*Witness, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	w := &Witness{signer: signer, logs: map[string]Log{}, dir: dir, latest: map[string]*log.Checkpoint{}}
	for _, l := range logs {
		if _, dup := w.logs[l.Origin]; dup {
			return nil, fmt.Errorf("log %q is configured twice", l.Origin)
		}
		w.logs[l.Origin] = l
		raw, err := os.ReadFile(w.statePath(l.Origin))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		n, err := note.Open(raw, note.VerifierList(l.Verifiers...))
		if err != nil {
			return nil, fmt.Errorf("stored checkpoint of %s does not verify with its configured key: %w", l.Origin, err)
		}
		cp := &log.Checkpoint{}
		if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
			return nil, fmt.Errorf("stored checkpoint of %s: %w", l.Origin, err)
		}
		w.latest[l.Origin] = cp
	}
	return w, nil
}

func (w *Witness) statePath(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return filepath.Join(w.dir, hex.EncodeToString(h[:16])+".checkpoint")
}

// Latest returns the size and root hash of the last checkpoint cosigned for
// origin (0 and nil if none).
func (w *Witness) Latest(origin string) (uint64, []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cp := w.latest[origin]; cp != nil {
		return cp.Size, cp.Hash
	}
	return 0, nil
}

// Error is a refusal with the HTTP status the protocol assigns to it.
type Error struct {
	Status int
	Msg    string
	// Size is set with 409 Conflict: the size of the latest cosigned
	// checkpoint.
	Size uint64
}

func (e *Error) Error() string { return e.Msg }

func refuse(status int, format string, args ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// Request is a parsed add-checkpoint body.
type Request struct {
	OldSize    uint64
	Proof      [][]byte
	Checkpoint []byte
}

// ParseRequest parses an add-checkpoint body strictly: "old N", up to 63
// base64 hashes, an empty line, then the checkpoint note.
func ParseRequest(body []byte) (*Request, error) {
	if len(body) > MaxRequest {
		return nil, refuse(http.StatusRequestEntityTooLarge, "request of %d bytes exceeds %d", len(body), MaxRequest)
	}
	r := &Request{}
	rest := body
	line := func() (string, bool) {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return "", false
		}
		l := string(rest[:i])
		rest = rest[i+1:]
		return l, true
	}
	l, ok := line()
	if !ok {
		return nil, refuse(http.StatusBadRequest, "missing old size line")
	}
	num, ok := strings.CutPrefix(l, "old ")
	if !ok || num == "" || (len(num) > 1 && num[0] == '0') || strings.TrimLeft(num, "0123456789") != "" {
		return nil, refuse(http.StatusBadRequest, "first line must be \"old SIZE\" in decimal without leading zeros")
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "old size: %v", err)
	}
	r.OldSize = n
	for {
		l, ok := line()
		if !ok {
			return nil, refuse(http.StatusBadRequest, "missing the empty line before the checkpoint")
		}
		if l == "" {
			break
		}
		if len(r.Proof) == maxProof {
			return nil, refuse(http.StatusBadRequest, "more than %d consistency proof lines", maxProof)
		}
		// The length check also refuses '\r' inside a line, which the
		// decoder would otherwise skip.
		h, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(h) != sha256.Size || len(l) != base64.StdEncoding.EncodedLen(sha256.Size) {
			return nil, refuse(http.StatusBadRequest, "consistency proof line %d is not a base64 SHA-256 hash", len(r.Proof)+1)
		}
		r.Proof = append(r.Proof, h)
	}
	r.Checkpoint = rest
	return r, nil
}

// AddCheckpoint checks a request and, when the checkpoint is signed by the
// log and consistent with the latest one cosigned, stores it durably and
// returns the cosignature lines. Refusals are *Error values.
func (w *Witness) AddCheckpoint(body []byte) ([]byte, error) {
	req, err := ParseRequest(body)
	if err != nil {
		return nil, err
	}
	origin, _, _ := bytes.Cut(req.Checkpoint, []byte("\n"))
	l, ok := w.logs[string(origin)]
	if !ok {
		return nil, refuse(http.StatusNotFound, "unknown log %.64q", origin)
	}
	n, err := note.Open(req.Checkpoint, note.VerifierList(l.Verifiers...))
	if err != nil {
		var unv *note.UnverifiedNoteError
		var inv *note.InvalidSignatureError
		if errors.As(err, &unv) || errors.As(err, &inv) {
			return nil, refuse(http.StatusForbidden, "no valid signature from a known key of %s", l.Origin)
		}
		return nil, refuse(http.StatusBadRequest, "checkpoint is not a signed note: %v", err)
	}
	cp := &log.Checkpoint{}
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil || cp.Origin != l.Origin {
		return nil, refuse(http.StatusBadRequest, "malformed checkpoint body")
	}
	if req.OldSize > cp.Size {
		return nil, refuse(http.StatusBadRequest, "old size %d is larger than the checkpoint size %d", req.OldSize, cp.Size)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	var curSize uint64
	var curRoot []byte
	if cur := w.latest[l.Origin]; cur != nil {
		curSize, curRoot = cur.Size, cur.Hash
	}
	if req.OldSize != curSize {
		return nil, &Error{Status: http.StatusConflict, Msg: fmt.Sprintf("old size %d is not the latest cosigned size %d", req.OldSize, curSize), Size: curSize}
	}
	switch {
	case req.OldSize == 0:
		if len(req.Proof) != 0 {
			return nil, refuse(http.StatusBadRequest, "the consistency proof must be empty when the old size is 0")
		}
	case req.OldSize == cp.Size:
		if !bytes.Equal(curRoot, cp.Hash) {
			return nil, &Error{Status: http.StatusConflict, Msg: fmt.Sprintf("a different root hash for size %d than the one already cosigned: the log forked", cp.Size), Size: curSize}
		}
	default:
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, req.OldSize, cp.Size, req.Proof, curRoot, cp.Hash); err != nil {
			return nil, refuse(http.StatusUnprocessableEntity, "consistency proof from %d to %d does not verify: %v", req.OldSize, cp.Size, err)
		}
	}
	if err := fsutil.WriteFile(w.statePath(l.Origin), req.Checkpoint, 0o600); err != nil {
		return nil, fmt.Errorf("failed to store the checkpoint: %w", err)
	}
	w.latest[l.Origin] = cp
	signed, err := note.Sign(&note.Note{Text: n.Text}, w.signer)
	if err != nil {
		return nil, err
	}
	return signed[len(n.Text)+1:], nil
}

// Handler serves POST /add-checkpoint and, for people, GET / with the
// witness's name and the latest size of each log.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequest+1))
		if err != nil {
			http.Error(rw, "failed to read the request", http.StatusBadRequest)
			return
		}
		sigs, err := w.AddCheckpoint(body)
		var e *Error
		switch {
		case errors.As(err, &e) && e.Status == http.StatusConflict:
			rw.Header().Set("Content-Type", "text/x.tlog.size")
			rw.WriteHeader(http.StatusConflict)
			fmt.Fprintf(rw, "%d\n", e.Size)
		case errors.As(err, &e):
			http.Error(rw, e.Msg, e.Status)
		case err != nil:
			http.Error(rw, "internal error", http.StatusInternalServerError)
		default:
			rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
			rw.Write(sigs)
		}
	})
	mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		var b strings.Builder
		fmt.Fprintf(&b, "ombud witness %s\n\n", w.signer.Name())
		for origin := range w.logs {
			size, root := w.Latest(origin)
			fmt.Fprintf(&b, "%s\t%d\t%s\n", origin, size, base64.StdEncoding.EncodeToString(root))
		}
		io.WriteString(rw, b.String())
	})
	return mux
}
