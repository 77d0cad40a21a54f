package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/keys"
	"github.com/ombud/ombud/store"
)

// openCustody builds the custody service of a data directory: its blob store (file://
// DIR/blobs unless storage.blob_url says otherwise), its KEK keyring
// (keys/kek.key unless storage.kek_url names a KMS) and its access
// service. The policy is not loaded yet: load it (Access.LoadPolicy) once
// recovery has settled what a crash left in flight.
func openCustody(ctx context.Context, dir *datadir.Dir, st store.Store, j *journal.Journal, lr journal.LogReader, logger *slog.Logger) (*custody.Service, error) {
	sc := dir.Config.Storage
	classes, err := dir.Config.DataClasses()
	if err != nil {
		return nil, err
	}
	url := sc.BlobURL
	if url == "" {
		if err := os.MkdirAll(dir.BlobPath(), 0o700); err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(dir.BlobPath())
		if err != nil {
			return nil, err
		}
		url = "file://" + filepath.ToSlash(abs) + "?no_tmp_dir=true&metadata=skip"
	}
	bucket, err := blob.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	var ring custody.Keyring
	if sc.KEKURL == "" {
		ring, err = keys.OpenLocal(dir.KEKPath())
	} else {
		ring, err = keys.OpenURL(ctx, sc.KEKURL, 1)
	}
	if err != nil {
		bucket.Close()
		return nil, fmt.Errorf("failed to open the key-encryption key: %w", err)
	}
	vocab, err := dir.Config.Vocabularies()
	if err != nil {
		bucket.Close()
		return nil, err
	}
	kinds, err := dir.Config.IssuerKindRules()
	if err != nil {
		bucket.Close()
		return nil, err
	}
	retention, err := dir.Config.DetailRetentions()
	if err != nil {
		bucket.Close()
		return nil, err
	}
	acc := &access.Service{Store: st, Journal: j, PolicyPath: dir.PolicyPath(), Jurisdiction: dir.Config.DeploymentJurisdiction(),
		IssuerKinds: kinds, Vocabulary: vocab, Classes: classes}
	if _, err := os.Stat(dir.PolicyPath()); os.IsNotExist(err) {
		// A data directory from before policies: start from the default.
		if err := os.WriteFile(dir.PolicyPath(), []byte(access.DefaultPolicy), 0o644); err != nil {
			bucket.Close()
			return nil, err
		}
	}
	return &custody.Service{
		Store: st, Journal: j, Log: lr, Bucket: bucket, Keys: ring, Access: acc, Classes: classes, Vocabulary: vocab, DetailRetention: retention,
		Committers:     []func(journal.Op) journal.Committer{acc.Committer},
		MaxObjectBytes: sc.MaxObjectBytes, EmergencyDeadline: dir.Config.Access.EmergencyDeadline.Duration,
		RunTimeLimit: dir.Config.Access.RunTimeLimit.Duration, Logger: logger,
	}, nil
}
