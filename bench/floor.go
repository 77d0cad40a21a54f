package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/gateway"
	"github.com/ombud/ombud/keys"
	"github.com/ombud/ombud/store/sqlite"
)

// Floor parameters: what a run's stream does (custody's page of a run's
// list, and how many objects it opens at once).
const (
	floorPage    = 256
	floorOpeners = 8
)

// floorRead measures the work floor of a run's bulk read, in this
// process, beside the server: the run's objects listed from the store in
// the run's pages, one query each; each object's ciphertext read whole
// from the same bucket and its SHA-256 checked, its key unwrapped under
// its intermediate key (unwrapped by the KEK once, as a gateway holds it)
// and its ciphertext decrypted, floorOpeners at a time. No log, no gates,
// no HTTP. It returns the seconds the n objects took.
func floorRead(ctx context.Context, dir *datadir.Dir, runID string, n int) (float64, error) {
	st, err := sqlite.New(ctx, sqlite.Config{Path: dir.DBPath()})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	bucket, ring, err := gateway.OpenStorage(ctx, dir)
	if err != nil {
		return 0, err
	}
	defer bucket.Close()
	var mu sync.Mutex
	held := map[string]*keys.Intermediate{}
	intermediate := func(id string) (*keys.Intermediate, error) {
		mu.Lock()
		defer mu.Unlock()
		if ik, ok := held[id]; ok {
			return ik, nil
		}
		k, err := st.IntermediateKey(ctx, id)
		if err != nil {
			return nil, err
		}
		keeper, err := ring.Keeper(k.KEKVersion)
		if err != nil {
			return nil, err
		}
		ik, err := keys.UnwrapIntermediate(ctx, keeper, k.Wrapped, id)
		if err == nil {
			held[id] = ik
		}
		return ik, err
	}
	open := func(o *ombud.Object) error {
		if o.WrappingKey == "" {
			return errors.New("the floor reads objects wrapped by intermediate keys")
		}
		ik, err := intermediate(o.WrappingKey)
		if err != nil {
			return err
		}
		key, err := keys.UnwrapWith(ik, o.WrappedKeyset, o.ID, keys.Format(o.KeyFormat))
		if err != nil {
			return err
		}
		if o.CipherSize > 1<<20 {
			rc, _, err := bucket.GetDirect(ctx, blob.Key(o.ID))
			if err != nil {
				return err
			}
			defer rc.Close()
			pt, err := key.NewStream(rc, o.CipherSize, o.CipherSHA, o.ID)
			if err != nil {
				return err
			}
			defer pt.Close()
			_, err = pt.WriteTo(io.Discard)
			return err
		}
		ct, err := bucket.ReadAll(ctx, blob.Key(o.ID), o.CipherSize)
		if err != nil {
			return err
		}
		if sum := sha256.Sum256(ct); !bytes.Equal(sum[:], o.CipherSHA) {
			return blob.ErrIntegrity
		}
		_, err = key.DecryptOneSegment(ct, o.ID)
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	begin := time.Now()
	objects := make(chan *ombud.Object, floorPage)
	var listErr error
	go func() {
		defer close(objects)
		for pos := 0; ; {
			page, err := st.RunObjects(ctx, runID, pos, floorPage)
			if err != nil || len(page) == 0 {
				listErr = err
				return
			}
			for _, ro := range page {
				select {
				case objects <- ro.Object:
				case <-ctx.Done():
					return
				}
			}
			pos = page[len(page)-1].Position + 1
		}
	}()
	var wg sync.WaitGroup
	var failed error
	var failOnce sync.Once
	var done int
	var doneMu sync.Mutex
	for range floorOpeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := 0
			for o := range objects {
				if err := open(o); err != nil {
					failOnce.Do(func() { failed = fmt.Errorf("object %s: %w", o.ID, err); cancel() })
					return
				}
				k++
			}
			doneMu.Lock()
			done += k
			doneMu.Unlock()
		}()
	}
	wg.Wait()
	secs := time.Since(begin).Seconds()
	switch {
	case failed != nil:
		return 0, failed
	case listErr != nil:
		return 0, listErr
	case done != n:
		return 0, fmt.Errorf("the floor read %d objects, want %d", done, n)
	}
	return secs, nil
}
