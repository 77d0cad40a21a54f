package gateway

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/approval"
	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/contracts"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/gate"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/keys"
	"github.com/ombud/ombud/publish"
	"github.com/ombud/ombud/registry"
	"github.com/ombud/ombud/review"
	"github.com/ombud/ombud/sharing"
	"github.com/ombud/ombud/tips"
	"github.com/ombud/ombud/vocab"
	"github.com/prometheus/client_golang/prometheus"
)

// openServices builds the services, each whole: first what they share
// (the custody gates, the access service and the reports), then review,
// whose evidence rule custody takes, then custody.
func (g *Gateway) openServices(ctx context.Context, dir *datadir.Dir) error {
	classes, err := dir.Config.DataClasses()
	if err != nil {
		return err
	}
	vocab, err := dir.Config.Vocabularies()
	if err != nil {
		return err
	}
	acc, err := openAccess(dir, g.Store, g.Journal, classes, vocab, g.gates())
	if err != nil {
		return err
	}
	gates := &custody.Gates{Set: acc.Gates()}
	if g.Analytics, err = registry.New(registry.Config{Store: g.Store, Journal: g.Journal, Classes: classes, Gate: gates.VersionExclusive}); err != nil {
		return err
	}
	if g.Approval, err = approval.New(approval.Config{Store: g.Store, Journal: g.Journal, Lifetime: dir.Config.Quorum.ProposalLifetime.Duration}); err != nil {
		return err
	}
	if g.Sharing, err = sharing.New(sharing.Config{Store: g.Store, Journal: g.Journal, Vocabulary: vocab, Gate: gates.RecipientExclusive}); err != nil {
		return err
	}
	rc := dir.Config.Redress
	if g.Review, err = review.New(review.Config{Store: g.Store, Journal: g.Journal, Policy: acc.Current, Vocabulary: vocab,
		Gate: gates.FlagExclusive, ContestDeadline: rc.ContestDeadline.Duration,
		Redress: review.Redress{Controller: rc.Controller, Contact: rc.Contact, Appeal: rc.Appeal, PublicURL: dir.Config.Server.PublicURL}}); err != nil {
		return err
	}
	if g.Reports, err = publish.New(publish.Config{Dir: filepath.Join(dir.Path, "reports"), Log: g.Log, Journal: g.Journal, Signer: dir.Signer, Band: dir.Config.Report.Band}); err != nil {
		return err
	}
	if tc := dir.Config.Tips; len(tc.Recipients) > 0 {
		rs, err := tc.AgeRecipients()
		if err != nil {
			return err
		}
		if g.Tips, err = tips.NewService(&tips.Service{Store: g.Store, Journal: g.Journal, Recipients: rs, MaxBytes: tc.MaxBytes,
			Salt: dir.Linkage.Derive(tips.SaltLabel), Signer: dir.Signer, Logger: g.logger}); err != nil {
			return err
		}
	}
	if g.Contracts, err = contracts.NewService(contracts.Config{Store: g.Store, Journal: g.Journal, Log: g.Log}); err != nil {
		return err
	}
	kekCalls := prometheus.NewCounter(prometheus.CounterOpts{Name: "ombud_kek_calls_total",
		Help: "Calls of the key-encryption key's keeper (KMS calls, for a KMS): an intermediate key made, unwrapped or rewrapped, or an older object's keyset."})
	if err := g.Registry.Register(kekCalls); err != nil {
		return err
	}
	g.Custody, err = openCustody(ctx, dir, g.opts.KeeperLatency, kekCalls.Inc, custody.Config{
		Store: g.Store, Journal: g.Journal, Log: g.Log, Access: acc, Gates: gates, Classes: classes, Vocabulary: vocab,
		Evidence:   g.Review.Evidence,
		Receipts:   g.Log.Receipts,
		Signer:     dir.Signer,
		Committers: []func(journal.Op) journal.Committer{acc.Committer, g.Reports.Committer, g.Contracts.Committer},
		Undoers:    []func(context.Context, *journal.Change) error{g.Reports.Undo},
		Logger:     g.logger,
		// The sweep closes the proposals past their expiry.
		ExpireProposals: g.Approval.Expire,
	})
	return err
}

// openAccess builds the access service of a data directory, writing the
// default policy file if it has none. The policy is not loaded yet: load
// it (LoadPolicy) once recovery has settled what a crash left in flight.
func openAccess(dir *datadir.Dir, st access.Store, j *journal.Journal, classes map[string]ombud.Class, vocab vocab.Vocabulary, gates *gate.Set) (*access.Service, error) {
	kinds, err := dir.Config.IssuerKindRules()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir.PolicyPath()); os.IsNotExist(err) {
		// A data directory from before policies: start from the default.
		if err := os.WriteFile(dir.PolicyPath(), []byte(access.DefaultPolicy), 0o644); err != nil {
			return nil, err
		}
	}
	return access.New(access.Config{Store: st, Journal: j, PolicyPath: dir.PolicyPath(), Jurisdiction: dir.Config.DeploymentJurisdiction(),
		IssuerKinds: kinds, Vocabulary: vocab, Classes: classes, Gates: gates})
}

// OpenStorage opens a data directory's blob store (file://DIR/blobs
// unless storage.blob_url says otherwise) and its KEK keyring
// (keys/kek.key unless storage.kek_url names a KMS).
func OpenStorage(ctx context.Context, dir *datadir.Dir) (*blob.Bucket, keys.VersionedKeyring, error) {
	sc := dir.Config.Storage
	url := sc.BlobURL
	if url == "" {
		if err := os.MkdirAll(dir.BlobPath(), 0o700); err != nil {
			return nil, nil, err
		}
		abs, err := filepath.Abs(dir.BlobPath())
		if err != nil {
			return nil, nil, err
		}
		url = "file://" + filepath.ToSlash(abs) + "?no_tmp_dir=true&metadata=skip"
	}
	bucket, err := blob.Open(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	var ring keys.VersionedKeyring
	if sc.KEKURL == "" {
		ring, err = keys.OpenLocal(dir.KEKPath())
	} else {
		ring, err = keys.OpenURL(ctx, sc.KEKURL, 1)
	}
	if err != nil {
		bucket.Close()
		return nil, nil, fmt.Errorf("failed to open the key-encryption key: %w", err)
	}
	return bucket, ring, nil
}

// openCustody builds the custody service of a data directory from c, with
// its storage (OpenStorage) and the limits the configuration sets.
func openCustody(ctx context.Context, dir *datadir.Dir, keeperLatency time.Duration, kekCall func(), c custody.Config) (*custody.Service, error) {
	sc := dir.Config.Storage
	retention, err := dir.Config.DetailRetentions()
	if err != nil {
		return nil, err
	}
	bucket, ring, err := OpenStorage(ctx, dir)
	if err != nil {
		return nil, err
	}
	c.Keys = keys.Metered(ring, kekCall, keeperLatency)
	c.Bucket, c.DetailRetention = bucket, retention
	c.MaxObjectBytes, c.EmergencyDeadline = sc.MaxObjectBytes, dir.Config.Access.EmergencyDeadline.Duration
	c.RunTimeLimit = dir.Config.Access.RunTimeLimit.Duration
	c.KeyLifetime, c.KeyTTL = sc.KeyLifetime.Duration, sc.KeyTTL.Duration
	s, err := custody.New(c)
	if err != nil {
		bucket.Close()
		return nil, err
	}
	return s, nil
}
