package web

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/datadir"
)

// DisclosureFor builds the disclosure page from the live configuration,
// the policy in force and the registered issuers, at every request. It
// names kinds of services, never their addresses or credentials.
func DisclosureFor(cfg datadir.Config, policy func() *access.Policy, issuers func(context.Context) ([]*ombud.Issuer, error)) func(context.Context) (*Disclosure, error) {
	return func(ctx context.Context) (*Disclosure, error) {
		classes, err := cfg.DataClasses()
		if err != nil {
			return nil, err
		}
		d := &Disclosure{Keeper: keeperOf(cfg.Storage.KEKURL)}
		d.Backend, d.Region = backendOf(cfg.Storage.BlobURL)
		for _, c := range classes {
			export := map[ombud.ExportRule]string{
				ombud.ExportScoped: "only under an authorization whose sharing scope names the recipient",
				ombud.ExportAllow:  "to registered recipients, each export logged",
			}[c.Export]
			if export == "" {
				export = "never"
			}
			region := c.Region
			if region == "" {
				region = d.Region
			}
			d.Classes = append(d.Classes, DisclosedClass{Name: c.Name, Sensitive: c.IsSensitive(), Retention: days(c.Retention), Export: export, Region: region})
		}
		slices.SortFunc(d.Classes, func(a, b DisclosedClass) int { return strings.Compare(a.Name, b.Name) })
		if p := policy(); p != nil {
			d.PolicySHA, d.PolicyText = p.SHA, string(p.Text)
		}
		if issuers != nil {
			if d.Issuers, err = issuers(ctx); err != nil {
				return nil, err
			}
		}
		d.Jurisdiction = cfg.DeploymentJurisdiction()
		d.Placeholder = d.Jurisdiction == ombud.JurisdictionPlaceholder
		if d.IssuerKinds, err = cfg.IssuerKindRules(); err != nil {
			return nil, err
		}
		v, err := cfg.Vocabularies()
		if err != nil {
			return nil, err
		}
		for _, name := range ombud.VocabNames {
			dv := DisclosedVocabulary{Name: string(name), Title: name.Title(), Codes: v[name]}
			switch name {
			case ombud.VocabEraseReason:
				dv.System = ombud.SystemEraseReasons
			case ombud.VocabPurpose:
				dv.System = ombud.SystemPurposes
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
