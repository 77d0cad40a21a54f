package web

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/report"
	"github.com/ombud/ombud/vocab"
)

// DisclosureFor builds the disclosure page from the live configuration,
// the policy in force and the registered issuers, at every request. It
// names kinds of services, never their addresses or credentials.
func DisclosureFor(cfg datadir.Config, caps report.Capabilities, policy func() *access.Policy, issuers func(context.Context) ([]*ombud.Issuer, error),
	recipients func(context.Context) ([]*ombud.Recipient, error)) func(context.Context) (*Disclosure, error) {
	sums := &summaries{}
	return func(ctx context.Context) (*Disclosure, error) {
		classes, err := cfg.DataClasses()
		if err != nil {
			return nil, err
		}
		d := &Disclosure{Keeper: keeperOf(cfg.Storage.KEKURL), KeyTTL: plainDuration(cfg.Storage.KeyTTL.Duration), TipRecipients: len(cfg.Tips.Recipients)}
		d.Backend, d.Region = backendOf(cfg.Storage.BlobURL)
		var list []ombud.Class
		for _, c := range classes {
			// A class's export rule is configured, but shown only where
			// the deployment shares data at all.
			export := "never"
			if caps.Sharing {
				export = map[ombud.ExportRule]string{
					ombud.ExportScoped: "only under an authorization whose sharing scope names the recipient",
					ombud.ExportAllow:  "to registered recipients, each export logged",
				}[c.Export]
			}
			region := c.Region
			if region == "" {
				region = d.Region
			}
			d.Classes = append(d.Classes, DisclosedClass{Name: c.Name, Sensitive: c.IsSensitive(), Retention: days(c.Retention), Export: export, Region: region})
			list = append(list, c)
		}
		slices.SortFunc(list, func(a, b ombud.Class) int { return strings.Compare(a.Name, b.Name) })
		slices.SortFunc(d.Classes, func(a, b DisclosedClass) int { return strings.Compare(a.Name, b.Name) })
		v, err := cfg.Vocabularies()
		if err != nil {
			return nil, err
		}
		if d.IssuerKinds, err = cfg.IssuerKindRules(); err != nil {
			return nil, err
		}
		if p := policy(); p != nil {
			d.PolicySHA, d.PolicyText = p.SHA, string(p.Text)
			d.Policy = sums.get(p, list, v[vocab.Purpose], d.IssuerKinds, cfg.Access.EmergencyDeadline.Duration)
		}
		if issuers != nil {
			if d.Issuers, err = issuers(ctx); err != nil {
				return nil, err
			}
		}
		d.Jurisdiction = cfg.DeploymentJurisdiction()
		d.Placeholder = d.Jurisdiction == vocab.JurisdictionPlaceholder
		if caps.Sharing && recipients != nil {
			rs, err := recipients(ctx)
			if err != nil {
				return nil, err
			}
			count := map[[2]string]int{}
			for _, r := range rs {
				if r.Retired == nil {
					count[[2]string{r.Category, r.Jurisdiction}]++
				}
			}
			for k, n := range count {
				d.Recipients = append(d.Recipients, DisclosedRecipients{Category: k[0], Jurisdiction: k[1], Count: n, Abroad: !ombud.JurisdictionCovers(d.Jurisdiction, k[1])})
			}
			slices.SortFunc(d.Recipients, func(a, b DisclosedRecipients) int {
				return strings.Compare(a.Category+"\x00"+a.Jurisdiction, b.Category+"\x00"+b.Jurisdiction)
			})
		}
		for _, name := range vocab.Names {
			dv := DisclosedVocabulary{Name: string(name), Title: name.Title(), Codes: v[name]}
			switch name {
			case vocab.EraseReason:
				dv.System = vocab.SystemEraseReasons
			case vocab.Purpose:
				dv.System = vocab.SystemPurposes
			}
			d.Vocabularies = append(d.Vocabularies, dv)
		}
		ret, err := cfg.DetailRetentions()
		if err != nil {
			return nil, err
		}
		for _, r := range datadir.DefaultDetailRetention {
			dr := DisclosedRetention{Kind: string(r.Kind), Why: r.Why, Kept: "kept"}
			if d, ok := ret[r.Kind]; ok {
				dr.Kept = days(d)
			}
			d.DetailRetention = append(d.DetailRetention, dr)
		}
		return d, nil
	}
}

// summaries keeps the plain-language summary of the policy in force: it
// is asked about every class, purpose and kind once per policy loaded,
// not at every request.
type summaries struct {
	mu  sync.Mutex
	sha string
	sum *PolicySummary
}

func (s *summaries) get(p *access.Policy, classes []ombud.Class, purposes []vocab.Code, issuerKinds map[string][]string, deadline time.Duration) *PolicySummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sum != nil && s.sha == p.SHA {
		return s.sum
	}
	var ps, kinds []string
	for _, c := range purposes {
		ps = append(ps, c.Code)
	}
	for _, ks := range issuerKinds {
		for _, k := range ks {
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	slices.Sort(kinds)
	if deadline <= 0 {
		deadline = vocab.DefaultEmergencyDeadline
	}
	sum := summarize(access.Summarize(p, classes, ps, kinds), deadline)
	s.sha, s.sum = p.SHA, &sum
	return s.sum
}

func days(d time.Duration) string {
	n := int(d / (24 * time.Hour))
	switch {
	case d%(24*time.Hour) != 0:
		return d.String()
	case n == 1:
		return "1 day"
	case n%365 == 0:
		return fmt.Sprintf("%d days (%d years)", n, n/365)
	}
	return fmt.Sprintf("%d days", n)
}

func keeperOf(kek string) string {
	if kek == "" {
		return "The data controller, in a key file on the gateway's own host (keys/kek.key)"
	}
	scheme, _, _ := strings.Cut(kek, "://")
	switch scheme {
	case "azurekeyvault":
		return "The data controller, in Azure Key Vault"
	case "awskms":
		return "The data controller, in AWS Key Management Service"
	case "gcpkms":
		return "The data controller, in Google Cloud Key Management"
	case "hashivault":
		return "The data controller, in HashiCorp Vault"
	}
	return "The data controller, in an external key management service (" + scheme + ")"
}

func backendOf(blobURL string) (backend, region string) {
	if blobURL == "" {
		return "Local disk of the gateway's host", "the gateway's location"
	}
	u, err := url.Parse(blobURL)
	if err != nil {
		return "Object storage", "not stated"
	}
	region = u.Query().Get("region")
	if region == "" {
		region = "not stated in the configuration"
	}
	switch u.Scheme {
	case "file":
		return "Local disk of the gateway's host", "the gateway's location"
	case "azblob":
		return "Azure Blob Storage", region
	case "s3":
		return "Amazon S3 (or an S3-compatible store)", region
	case "gs":
		return "Google Cloud Storage", region
	}
	return "Object storage (" + u.Scheme + ")", region
}

// plainDuration says d in words: "5 minutes", "1 hour", "90 seconds".
func plainDuration(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.FormatInt(n, 10) + " " + one + "s"
	}
	switch {
	case d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return unit(int64(d/time.Minute), "minute")
	}
	return unit(int64(d/time.Second), "second")
}
