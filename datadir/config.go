package datadir

import (
	"filippo.io/age"

	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/report"
	"github.com/ombud/ombud/vocab"
)

// Config is ombud.toml.
type Config struct {
	Server  ServerConfig  `toml:"server"`
	Log     LogConfig     `toml:"log"`
	Runtime RuntimeConfig `toml:"runtime"`
	Storage StorageConfig `toml:"storage"`
	Classes []ClassConfig `toml:"class"`
	Access  AccessConfig  `toml:"access"`
	Report  ReportConfig  `toml:"report"`
	Redress RedressConfig `toml:"redress"`
	Sharing SharingConfig `toml:"sharing"`
	Quorum  QuorumConfig  `toml:"quorum"`
	Tips    TipsConfig    `toml:"tips"`
	// Vocabulary registers the codes of public fields, by vocabulary
	// name ([[vocabulary.purpose]] code = "…" description = "…"). A
	// vocabulary given here replaces its default list.
	Vocabulary map[string][]vocab.Code `toml:"vocabulary"`
	// DetailRetention is how long the private detail record of each kind
	// of entry is kept ("2190d", or "keep"); kinds left out take
	// DefaultDetailRetention.
	DetailRetention map[string]string `toml:"detail_retention"`
}

// DefaultDetailRetention is how long detail records are kept, by entry
// kind, and why. Kinds not listed keep their details: an ingest's detail
// is erased with its object, a policy's detail is the policy text.
var DefaultDetailRetention = []struct {
	Kind      entry.Kind
	Retention string
	Why       string
}{
	{entry.KindAccess, "2190d", "Oversight bodies and courts reconstruct who read what, and why, for years after; six years covers common limitation periods."},
	{entry.KindPrincipal, "3650d", "Who held an account, and with which roles, must be answerable for as long as any decision of theirs can be questioned."},
	{entry.KindAuthorization, "3650d", "The signed note names the case and subjects; it proves the legal basis of every read under it for as long as those reads can be challenged."},
	{entry.KindHold, "3650d", "Which authority ordered a hold, and on which object, is evidence in the proceedings the hold served."},
	{entry.KindErase, "3650d", "The order behind an erasure is the proof that the erasure was lawful."},
	{entry.KindBreach, "3650d", "An uncovered emergency read is a violation; its record is kept for the oversight that follows."},
	{entry.KindAttestation, "3650d", "The controller's attestation that derived data was deleted closes a breach; it is kept as long as the breach."},
	{entry.KindExport, "3650d", "Which objects went to which body, who sent them and why, is what an erasure notice owes its recipients and a court's review of the transfer needs."},
	{entry.KindRun, "2190d", "A run's object list, starter and justification answer who read what in bulk, and why, for as long as its reads' own details are kept."},
	{entry.KindFlag, "2190d", "A match's inputs and candidates answer why a person was flagged, for as long as the actions on it can be challenged."},
	{entry.KindReview, "2190d", "A reviewer's rationale shows whether the human review was real, for as long as the action it allowed can be challenged."},
	{entry.KindAction, "2190d", "Who confirmed a match before an action answers for the action as long as it can be challenged."},
	{entry.KindContest, "2190d", "The person's statement and the resolution's reasons are the record of the redress, kept as long as the action can be challenged in court."},
}

// ReportConfig configures transparency reports.
type ReportConfig struct {
	// Band: counts from 1 to Band are published as the band "1-Band".
	Band int64 `toml:"band"`
}

// RedressConfig is what the notice handed to a person affected by an
// action says of the deployment, and the deadline for deciding a contest.
// SharingConfig turns exports to registered recipients on. Off by
// default: a deployment that shares nothing says so on its public pages,
// and POST /v1/exports refuses.
type SharingConfig struct {
	Enabled bool `toml:"enabled"`
}

// TipsConfig configures the whistleblower intake: the oversight body's
// age recipients, to all of which every submission is sealed before
// anything is written (the server holds none of their identities), and
// the size of a submission. This release does not serve the intake yet:
// the section is read and checked, and nothing else reads it.
type TipsConfig struct {
	Recipients []string `toml:"recipients"`
	MaxBytes   int64    `toml:"max_bytes"`
}

// MaxTipBytes bounds tips.max_bytes.
const MaxTipBytes = 64 << 20

// AgeRecipients parses the recipients.
func (t TipsConfig) AgeRecipients() ([]age.Recipient, error) {
	var out []age.Recipient
	for _, r := range t.Recipients {
		x, err := age.ParseX25519Recipient(r)
		if err != nil {
			return nil, fmt.Errorf("config: tips.recipients: %q is not an age public key (age1…): %v", r, err)
		}
		out = append(out, x)
	}
	return out, nil
}

// QuorumConfig configures multi-party approval. The quorum itself is not
// configured here: it is logged state, enabled and changed through the
// API (POST /v1/quorum), so that no one with the configuration file alone
// lowers it.
type QuorumConfig struct {
	// ProposalLifetime is how long a proposal of a privileged operation
	// stays open for its votes.
	ProposalLifetime Duration `toml:"proposal_lifetime"`
}

type RedressConfig struct {
	// Controller names the body responsible for the data and the
	// decisions; Contact says how to reach it.
	Controller string `toml:"controller"`
	Contact    string `toml:"contact"`
	// Appeal says where to turn after a contest (the data protection
	// authority, a court).
	Appeal string `toml:"appeal"`
	// ContestDeadline is how long a contest may wait for a decision, in
	// whole days; each filing logs it, and reports count late decisions.
	ContestDeadline Duration `toml:"contest_deadline"`
}

// AccessConfig configures access decisions.
type AccessConfig struct {
	// Jurisdiction of this deployment, e.g. EU-DE; a cited authorization
	// must cover it ("EU" covers "EU-DE"). Empty is the placeholder
	// vocab.JurisdictionPlaceholder, which covers no real jurisdiction.
	Jurisdiction string `toml:"jurisdiction"`
	// IssuerKinds says which authorization kinds each kind of issuer may
	// sign; kinds left out take DefaultIssuerKinds.
	IssuerKinds map[string][]string `toml:"issuer_kinds"`
	// EmergencyDeadline: an emergency read must be covered by an
	// authorization registered within this time.
	EmergencyDeadline Duration `toml:"emergency_deadline"`
	// RunTimeLimit is how long an analytic run may read after it starts;
	// it ends by itself then, with its summary entry.
	RunTimeLimit Duration `toml:"run_time_limit"`
}

// StorageConfig says where ciphertext and the KEK live.
type StorageConfig struct {
	// BlobURL is a gocloud.dev/blob URL; "" is file://DIR/blobs.
	BlobURL string `toml:"blob_url"`
	// KEKURL is a gocloud.dev/secrets URL of an external KMS; "" is the
	// local keyring DIR/keys/kek.key.
	KEKURL string `toml:"kek_url"`
	// StoreURL is the metadata store: "" is SQLite in DIR/meta.db;
	// postgres://… is a PostgreSQL database that several gateways share.
	StoreURL       string   `toml:"store_url"`
	MaxObjectBytes int64    `toml:"max_object_bytes"`
	SweepInterval  Duration `toml:"sweep_interval"`
	// KeyLifetime is how long one intermediate key wraps new objects;
	// KeyTTL how long a gateway holds an unwrapped intermediate key
	// before asking the KEK again, which bounds how long reads go on
	// after the KEK is revoked in the KMS.
	KeyLifetime Duration `toml:"key_lifetime"`
	KeyTTL      Duration `toml:"key_ttl"`
}

// ClassConfig is a [[class]] table.
type ClassConfig struct {
	Name        string `toml:"name"`
	Sensitivity string `toml:"sensitivity"`
	Retention   string `toml:"retention"` // "30d", "720h"
	Export      string `toml:"export"`
	Region      string `toml:"region"`
}

// RuntimeConfig tunes the Go runtime for a gateway whose every decision
// allocates a little: collecting less often is the largest single gain in
// log throughput (docs/PERFORMANCE.md), and the soft memory limit keeps the
// heap bounded all the same.
type RuntimeConfig struct {
	GCPercent     int   `toml:"gc_percent"`
	MemoryLimitMB int64 `toml:"memory_limit_mb"`
	// ProcsPerCore is how many goroutines run at once (GOMAXPROCS) per
	// core Go finds: SQLite's and the log's file system calls hold their
	// threads, and more threads than cores keep the cores busy meanwhile.
	ProcsPerCore int `toml:"procs_per_core"`
}

// ServerConfig configures the HTTP server.
type ServerConfig struct {
	Listen string `toml:"listen"`
	// PublicURL is where the public reaches this deployment, e.g.
	// https://records.example.org; the site names it in the commands it
	// shows. "" is http://LISTEN.
	PublicURL string `toml:"public_url"`
	// TrustedProxies are the reverse proxies (CIDR prefixes) whose
	// X-Forwarded-For the public pages believe: behind one, the client a
	// per-client limit counts is the last address the header names that is
	// not itself a trusted proxy. Empty: the connecting address, always.
	TrustedProxies    []string `toml:"trusted_proxies"`
	MaxBodyBytes      int64    `toml:"max_body_bytes"`
	ReadHeaderTimeout Duration `toml:"read_header_timeout"`
	ReadTimeout       Duration `toml:"read_timeout"`
	WriteTimeout      Duration `toml:"write_timeout"`
	IdleTimeout       Duration `toml:"idle_timeout"`
	ShutdownTimeout   Duration `toml:"shutdown_timeout"`
}

// LogConfig configures the transparency log.
type LogConfig struct {
	// Dir is where the log's files live: absolute, or relative to the data
	// directory (default "log"). A disk of its own keeps the log's fsyncs
	// apart from the database's.
	Dir string `toml:"dir"`
	// URL, when set, puts the log in a MySQL-compatible database
	// (mysql://USER@tcp(HOST:PORT)/DATABASE) that several gateways share,
	// instead of in Dir.
	URL                string   `toml:"url"`
	BatchMaxSize       uint     `toml:"batch_max_size"`
	BatchMaxAge        Duration `toml:"batch_max_age"`
	CheckpointInterval Duration `toml:"checkpoint_interval"`
	AppendTimeout      Duration `toml:"append_timeout"`
	MaxOutstanding     uint     `toml:"max_outstanding"`
	// WitnessPolicy names a witness policy file (Sigsum / Tessera policy
	// format: "witness NAME VKEY URL" lines and a "quorum" line), relative
	// to the data directory. When set, a checkpoint is published only once
	// the witnesses the policy requires have cosigned it. Empty: no
	// witnesses.
	WitnessPolicy string `toml:"witness_policy"`
	// WitnessTimeout bounds the wait for cosignatures of one checkpoint.
	WitnessTimeout Duration `toml:"witness_timeout"`
	// WitnessGrace is how long the witness policy may go unmet (no
	// checkpoint cosigned as it requires) before the gateway reports
	// itself not ready.
	WitnessGrace Duration `toml:"witness_grace"`
}

// Duration is a time.Duration written as "250ms", "10s" in TOML.
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	if v < 0 {
		return errors.New("duration must not be negative")
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Defaults returns the configuration used for anything ombud.toml leaves out.
func Defaults() Config {
	return Config{
		Server: ServerConfig{
			Listen:            "127.0.0.1:8080",
			TrustedProxies:    []string{},
			MaxBodyBytes:      1 << 20,
			ReadHeaderTimeout: Duration{5 * time.Second},
			ReadTimeout:       Duration{30 * time.Second},
			WriteTimeout:      Duration{60 * time.Second},
			IdleTimeout:       Duration{120 * time.Second},
			ShutdownTimeout:   Duration{30 * time.Second},
		},
		Log: LogConfig{
			BatchMaxSize:       4096,
			BatchMaxAge:        Duration{10 * time.Millisecond},
			CheckpointInterval: Duration{200 * time.Millisecond},
			AppendTimeout:      Duration{10 * time.Second},
			MaxOutstanding:     16384,
			WitnessTimeout:     Duration{5 * time.Second},
			WitnessGrace:       Duration{time.Minute},
		},
		Runtime: RuntimeConfig{GCPercent: DefaultGCPercent, MemoryLimitMB: DefaultMemoryLimitMB, ProcsPerCore: DefaultProcsPerCore},
		Storage: StorageConfig{MaxObjectBytes: 64 << 30, SweepInterval: Duration{time.Hour}, KeyLifetime: Duration{24 * time.Hour}, KeyTTL: Duration{5 * time.Minute}},
		Access:  AccessConfig{EmergencyDeadline: Duration{vocab.DefaultEmergencyDeadline}, RunTimeLimit: Duration{ombud.DefaultRunTimeLimit}},
		Report:  ReportConfig{Band: report.DefaultBand},
		Redress: RedressConfig{ContestDeadline: Duration{ombud.DefaultContestDeadline}},
		Quorum:  QuorumConfig{ProposalLifetime: Duration{ombud.DefaultProposalLifetime}},
		Tips:    TipsConfig{Recipients: []string{}, MaxBytes: 16 << 20},
	}
}

// DefaultIssuerKinds: a court signs warrants and orders, an
// administrative authority its own orders and consents, a supervisory
// body only administrative orders (never a warrant).
func DefaultIssuerKinds() map[string][]string {
	return map[string][]string{
		"court":          {"warrant", "court_order", "emergency"},
		"administrative": {"administrative_order", "consent", "emergency"},
		"supervisory":    {"administrative_order"},
	}
}

// Runtime defaults.
const (
	DefaultGCPercent     = 150
	DefaultMemoryLimitMB = 1024
	DefaultProcsPerCore  = 2
)

// MaxConfigSize bounds ombud.toml.
const MaxConfigSize = 1 << 20

// ParseConfig parses ombud.toml over the defaults. Unknown keys are errors,
// so a misspelt setting is not silently ignored.
func ParseConfig(b []byte) (Config, error) {
	c := Defaults()
	if len(b) > MaxConfigSize {
		return c, fmt.Errorf("config is %d bytes, more than %d", len(b), MaxConfigSize)
	}
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&c)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return c, fmt.Errorf("config: unknown settings: %s", strings.Join(keys, ", "))
	}
	return c, c.Validate()
}

// Proxies returns server.trusted_proxies as prefixes.
func (c Config) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range c.Server.TrustedProxies {
		pf, err := netip.ParsePrefix(p)
		if err != nil {
			if a, aerr := netip.ParseAddr(p); aerr == nil {
				pf = netip.PrefixFrom(a, a.BitLen())
			} else {
				return nil, fmt.Errorf("config: server.trusted_proxies: %q is not an address or a CIDR prefix", p)
			}
		}
		out = append(out, pf.Masked())
	}
	return out, nil
}

// Validate checks settings once, at load.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		return fmt.Errorf("config: server.listen %q: %v", c.Server.Listen, err)
	}
	if c.Server.PublicURL != "" {
		u, err := url.Parse(c.Server.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("config: server.public_url %q: want an http(s) URL like https://records.example.org", c.Server.PublicURL)
		}
	}
	if _, err := c.Proxies(); err != nil {
		return err
	}
	if c.Server.MaxBodyBytes < 1024 {
		return fmt.Errorf("config: server.max_body_bytes must be at least 1024")
	}
	if c.Server.ReadHeaderTimeout.Duration <= 0 {
		return fmt.Errorf("config: server.read_header_timeout must be positive")
	}
	if c.Log.BatchMaxSize == 0 || c.Log.BatchMaxSize > 65536 {
		return fmt.Errorf("config: log.batch_max_size must be 1 to 65536")
	}
	if c.Log.BatchMaxAge.Duration <= 0 || c.Log.BatchMaxAge.Duration > 10*time.Second {
		return fmt.Errorf("config: log.batch_max_age must be between 0 and 10s")
	}
	if c.Log.CheckpointInterval.Duration < 100*time.Millisecond {
		return fmt.Errorf("config: log.checkpoint_interval must be at least 100ms (Tessera's minimum)")
	}
	if c.Log.AppendTimeout.Duration <= 0 {
		return fmt.Errorf("config: log.append_timeout must be positive")
	}
	if c.Runtime.GCPercent < 25 || c.Runtime.GCPercent > 10000 {
		return fmt.Errorf("config: runtime.gc_percent must be 25 to 10000")
	}
	if c.Runtime.MemoryLimitMB < 64 {
		return fmt.Errorf("config: runtime.memory_limit_mb must be at least 64")
	}
	if c.Runtime.ProcsPerCore < 1 || c.Runtime.ProcsPerCore > 16 {
		return fmt.Errorf("config: runtime.procs_per_core must be 1 to 16")
	}
	if u := c.Storage.StoreURL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		return fmt.Errorf("config: storage.store_url must be empty (SQLite in meta.db) or a postgres:// URL")
	}
	if u := c.Log.URL; u != "" && !strings.HasPrefix(u, "mysql://") {
		return fmt.Errorf("config: log.url must be empty (files in log.dir) or a mysql:// URL")
	}
	if c.Log.URL != "" && c.Storage.StoreURL == "" {
		return fmt.Errorf("config: log.url shares the log between gateways, which share their metadata too: set storage.store_url")
	}
	if c.Storage.MaxObjectBytes < 1 {
		return fmt.Errorf("config: storage.max_object_bytes must be positive")
	}
	if d := c.Storage.KeyTTL.Duration; d < time.Second || d > 24*time.Hour {
		return fmt.Errorf("config: storage.key_ttl must be 1s to 24h: it bounds how long reads go on after the KEK is revoked")
	}
	if c.Storage.KeyLifetime.Duration < time.Minute {
		return fmt.Errorf("config: storage.key_lifetime must be at least 1m")
	}
	if c.Storage.SweepInterval.Duration < time.Second {
		return fmt.Errorf("config: storage.sweep_interval must be at least 1s")
	}
	if _, err := c.DataClasses(); err != nil {
		return err
	}
	if c.Log.MaxOutstanding == 0 {
		return fmt.Errorf("config: log.max_outstanding must be positive")
	}
	if c.Report.Band < 1 || c.Report.Band > 1000 {
		return fmt.Errorf("config: report.band must be 1 to 1000")
	}
	if c.Tips.MaxBytes < 1 || c.Tips.MaxBytes > MaxTipBytes {
		return fmt.Errorf("config: tips.max_bytes must be from 1 to %d", MaxTipBytes)
	}
	if _, err := c.Tips.AgeRecipients(); err != nil {
		return err
	}
	if d := c.Quorum.ProposalLifetime.Duration; d < time.Minute || d > 90*24*time.Hour {
		return fmt.Errorf("config: quorum.proposal_lifetime must be from 1m to 2160h (90 days)")
	}
	if d := c.Redress.ContestDeadline.Duration; d < 24*time.Hour || d > 366*24*time.Hour || d%(24*time.Hour) != 0 {
		return fmt.Errorf("config: redress.contest_deadline must be whole days, from 1 to 366 (such as \"720h\" for 30 days)")
	}
	for name, v := range map[string]string{"controller": c.Redress.Controller, "contact": c.Redress.Contact, "appeal": c.Redress.Appeal} {
		if len(v) > 500 || !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return unicode.In(r, unicode.Cc, unicode.Cf) }) {
			return fmt.Errorf("config: redress.%s must be plain text of at most 500 bytes", name)
		}
	}
	if c.Log.WitnessPolicy != "" && c.Log.WitnessTimeout.Duration <= 0 {
		return fmt.Errorf("config: log.witness_timeout must be positive")
	}
	v, err := c.Vocabularies()
	if err != nil {
		return err
	}
	if j := c.DeploymentJurisdiction(); !v.Has(vocab.Jurisdiction, j) {
		return fmt.Errorf("config: access.jurisdiction %q is not in the jurisdiction vocabulary", j)
	}
	classes, _ := c.DataClasses()
	for _, cl := range classes {
		if cl.Region != "" && !v.Has(vocab.Region, cl.Region) {
			return fmt.Errorf("config: class %s: region %q is not in the region vocabulary", cl.Name, cl.Region)
		}
	}
	if _, err := c.IssuerKindRules(); err != nil {
		return err
	}
	if _, err := c.DetailRetentions(); err != nil {
		return err
	}
	return nil
}

// DeploymentJurisdiction is the deployment's jurisdiction, the placeholder
// when none is set.
func (c Config) DeploymentJurisdiction() string {
	if c.Access.Jurisdiction == "" {
		return vocab.JurisdictionPlaceholder
	}
	return c.Access.Jurisdiction
}

// Vocabularies returns the registered codes: the defaults, with every
// vocabulary the file gives replacing its default.
func (c Config) Vocabularies() (vocab.Vocabulary, error) {
	v := vocab.Default()
	for name, codes := range c.Vocabulary {
		v[vocab.Name(name)] = codes
	}
	if err := v.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return v, nil
}

// IssuerKindRules returns which authorization kinds each issuer kind may
// sign.
func (c Config) IssuerKindRules() (map[string][]string, error) {
	out := DefaultIssuerKinds()
	for k, kinds := range c.Access.IssuerKinds {
		if !slices.Contains(ombud.IssuerKinds, k) {
			return nil, fmt.Errorf("config: access.issuer_kinds: unknown issuer kind %q (want one of %s)", k, strings.Join(ombud.IssuerKinds, ", "))
		}
		for _, a := range kinds {
			if !slices.Contains(ombud.AuthorizationKinds, a) {
				return nil, fmt.Errorf("config: access.issuer_kinds.%s: unknown authorization kind %q (want one of %s)", k, a, strings.Join(ombud.AuthorizationKinds, ", "))
			}
		}
		out[k] = kinds
	}
	return out, nil
}

// DetailRetentions returns how long detail records of each entry kind are
// kept (kinds absent are kept).
func (c Config) DetailRetentions() (map[entry.Kind]time.Duration, error) {
	out := map[entry.Kind]time.Duration{}
	for _, d := range DefaultDetailRetention {
		r, _ := ParseRetention(d.Retention)
		out[d.Kind] = r
	}
	for k, v := range c.DetailRetention {
		if !slices.Contains(entry.Kinds(), entry.Kind(k)) {
			return nil, fmt.Errorf("config: detail_retention: unknown entry kind %q", k)
		}
		if v == "keep" {
			delete(out, entry.Kind(k))
			continue
		}
		r, err := ParseRetention(v)
		if err != nil {
			return nil, fmt.Errorf("config: detail_retention.%s: %v", k, err)
		}
		if r < 24*time.Hour {
			return nil, fmt.Errorf("config: detail_retention.%s: at least 1d, or \"keep\"", k)
		}
		out[entry.Kind(k)] = r
	}
	return out, nil
}

// DataClasses returns the configured classes, or the defaults when the
// file defines none.
func (c Config) DataClasses() (map[string]ombud.Class, error) {
	out := map[string]ombud.Class{}
	if len(c.Classes) == 0 {
		for _, d := range ombud.DefaultClasses() {
			out[d.Name] = d
		}
		return out, nil
	}
	for _, cc := range c.Classes {
		ret, err := ParseRetention(cc.Retention)
		if err != nil {
			return nil, fmt.Errorf("config: class %q: retention: %v", cc.Name, err)
		}
		cl := ombud.Class{Name: cc.Name, Sensitivity: ombud.Sensitivity(cc.Sensitivity), Retention: ret, Export: ombud.ExportRule(cc.Export), Region: cc.Region}
		if cl.Export == "" {
			cl.Export = ombud.ExportDeny
		}
		if err := cl.Validate(); err != nil {
			return nil, fmt.Errorf("config: %v", err)
		}
		if _, dup := out[cl.Name]; dup {
			return nil, fmt.Errorf("config: class %q defined twice", cl.Name)
		}
		out[cl.Name] = cl
	}
	return out, nil
}

// ParseRetention reads "30d" (days) or a Go duration such as "720h".
func ParseRetention(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 || n > 36500 {
			return 0, fmt.Errorf("%q: want a number of days like 30d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		return 0, fmt.Errorf("%q: retention cannot be negative", s)
	}
	return d, err
}

func configTemplate(o CreateOptions) string {
	listen := o.Listen
	if listen == "" {
		listen = Defaults().Server.Listen
	}
	t := fmt.Sprintf(`# ombud configuration. Every setting is optional; the value shown is the default
# unless noted. Durations are written like "250ms" or "30s".
#
# The log origin (%q) is fixed when the directory is created: it is
# the name in keys/log.key and the first line of every checkpoint.

[server]
# Address the HTTP API and the log listen on.
listen = %q
# Where the public reaches this deployment (the site shows it in the audit
# command it gives). Empty: http:// and the listen address.
public_url = ""
# Reverse proxies in front of ombud (addresses or CIDR prefixes, such as
# ["10.0.0.5"]): their X-Forwarded-For names the client that the public
# pages' per-client limits count. Empty: the connecting address.
trusted_proxies = []
# Largest accepted request body for JSON API calls, in bytes.
max_body_bytes = 1048576
# Slowloris protection and request deadlines.
read_header_timeout = "5s"
read_timeout = "30s"
write_timeout = "60s"
idle_timeout = "120s"
# How long SIGINT/SIGTERM waits for in-flight requests and the log flush.
shutdown_timeout = "30s"

[log]
# Entries are sequenced in batches: a batch is written (and fsync'd) when it
# holds batch_max_size entries or its first entry is batch_max_age old.
# Throughput is roughly concurrent requests / append latency, so a longer age
# raises throughput under load and adds that much latency to every decision.
# See docs/PERFORMANCE.md for measured trade-offs.
batch_max_size = 4096
batch_max_age = "10ms"
# How often a new signed checkpoint is published (Tessera's minimum: 100ms).
# Receipts and time-to-integrate wait for it.
checkpoint_interval = "200ms"
# Where the log's files live (default: the data directory's log/). A disk
# of its own keeps the log's fsyncs apart from the database's.
# dir = "/var/lib/ombud-log"
# A log that several gateways share lives in a MySQL-compatible database
# instead (MariaDB is tested; max_allowed_packet at least 64M):
#   mysql://ombud@tcp(db.example:3306)/ombudlog
# Empty: the files above, for one gateway. The password comes from
# OMBUD_LOG_PASSWORD rather than this file. 'ombud serve --log-url URL'
# overrides this.
url = ""
# An append not durably sequenced within this time fails, and ombud denies.
append_timeout = "10s"
# Appends waiting at once before ombud pushes back (and denies).
max_outstanding = 16384
# Witnesses: a policy file in this directory, one "witness NAME VKEY URL"
# line per witness and a "quorum" line (docs/AUDITING.md). A checkpoint is
# published only once the policy is met; until then receipts wait.
# witness_policy = "witnesses.policy"
witness_timeout = "5s"
# /readyz answers 503 once the witness policy has gone unmet this long.
witness_grace = "1m"

[runtime]
# Go garbage collector target (GOGC). Every decision allocates a little;
# collecting less often than Go's default 100 raises throughput by a fifth
# on 2 cores. 400 gains no more, and lets the heap grow to five times what
# is live: a bulk read then peaks above 200 MiB. With procs_per_core = 2,
# 200 peaks near 150 MiB and 150 near 125, at the same throughput.
gc_percent = 150
# Soft memory limit in MiB: near it the collector runs as often as needed,
# whatever gc_percent says.
memory_limit_mb = 1024
# Goroutines running at once (GOMAXPROCS) per core. SQLite's and the log's
# file system calls hold their threads; with twice as many threads as
# cores, a single read's throughput on 2 cores rose by a fifth to a third.
# GOMAXPROCS in the environment, when set, wins.
procs_per_core = 2

[access]
# This deployment's jurisdiction, from the jurisdiction vocabulary. A cited
# authorization must cover it: an authorization for "EU" covers "EU-DE".
# %q is the placeholder of a deployment that was not given one
# (ombud init --jurisdiction): it covers no real jurisdiction.
jurisdiction = %q
# Which authorization kinds each kind of issuer may sign. The defaults:
#   court = ["warrant", "court_order", "emergency"]
#   administrative = ["administrative_order", "consent", "emergency"]
#   supervisory = ["administrative_order"]
# [access.issuer_kinds]
# supervisory = ["administrative_order"]
# An emergency read (allowed only where policy.cedar says so) must be
# covered by an authorization registered within this time (EU AI Act
# Art. 26(10)).
emergency_deadline = %q
# An analytic run reads for at most this long (and never past its
# authorization's window); then it ends by itself with its summary entry.
run_time_limit = %q

[report]
# Transparency reports publish counts from 1 to band as the band "1-9", so
# that no small group of people can be singled out.
band = 9

[storage]
# Where ciphertext goes: a gocloud.dev/blob URL. Empty means file://DIR/blobs.
# Azure: "azblob://CONTAINER" (credentials from AZURE_STORAGE_ACCOUNT and
# AZURE_STORAGE_KEY or a managed identity); also s3://BUCKET, gs://BUCKET.
blob_url = ""
# The key-encryption key: a gocloud.dev/secrets URL of a KMS the controller
# holds. Empty means the local keyring keys/kek.key. Examples:
#   azurekeyvault://VAULT.vault.azure.net/keys/KEY
#   awskms://alias/KEY?region=eu-central-1
#   gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K
#   hashivault://KEY
kek_url = ""
# The metadata store. Empty means SQLite in meta.db in this directory, for
# one gateway. Several gateways share a PostgreSQL database:
#   postgres://ombud@db.example:5432/ombud?sslmode=verify-full
# Keep the password out of this file: PostgreSQL's PGPASSWORD or
# ~/.pgpass supply it. 'ombud serve --store URL' overrides this.
store_url = ""
# Largest object accepted, in bytes (64 GiB).
max_object_bytes = 68719476736
# Each object's key is wrapped by an intermediate key, which the KEK wraps:
# the KMS is called when an intermediate key is made (one each
# key_lifetime) or first unwrapped by a gateway, not once per object. A
# gateway holds an unwrapped intermediate key for key_ttl: revoking the KEK
# in the KMS stops every read within that time.
key_lifetime = "24h"
key_ttl = "5m"
# How often the retention sweeper runs. 'ombud sweep' runs it on demand.
sweep_interval = "1h"

# Data classes. Each has a sensitivity (sensitive classes need a legal
# authorization to read), a retention ("30d" or "720h"), an export rule
# (deny; scoped: only under an authorization naming the recipient; allow)
# and optionally a residency region. Without any [[class]] table the same
# defaults apply.
[[class]]
name = "biometric"
sensitivity = "sensitive"
retention = "30d"
export = "scoped"

[[class]]
name = "location"
sensitivity = "sensitive"
retention = "90d"
export = "scoped"

[[class]]
name = "communications"
sensitivity = "sensitive"
retention = "180d"
export = "scoped"

[[class]]
name = "media"
sensitivity = "sensitive"
retention = "90d"
export = "scoped"

[[class]]
name = "document"
sensitivity = "ordinary"
retention = "2190d"
export = "allow"

[[class]]
name = "general"
sensitivity = "ordinary"
retention = "365d"
export = "allow"

# What the notice handed to a person affected by an action says: who is
# responsible and how to reach them, and where to appeal after a contest.
# A contest must be decided within contest_deadline (whole days); each
# filing logs it, and the public report counts contests decided late.
[redress]
# controller = "City of Example, Office of Public Safety"
# contact = "privacy@example.org, 1 Example Square, Example City"
# appeal = "the Data Protection Authority of Example (dpa.example), or the administrative court"
contest_deadline = "720h"

# Multi-party approval. A new deployment starts in a single-admin set-up
# mode; an admin enables the quorum (POST /v1/quorum, ombud quorum
# enable), which is logged, and from then on every privileged operation
# runs only on a proposal other admins approve. Lowering or disabling it
# needs its own quorum. A proposal stays open this long.
[quorum]
proposal_lifetime = "72h"

# Exports: objects sealed to a registered recipient (ombud recipient add)
# under an authorization whose sharing scope allows it, each logged. Off by
# default; while off, the public pages say the deployment shares no data
# with other bodies, and POST /v1/exports refuses (docs/EXPORT-FORMAT.md).
[sharing]
enabled = false

# The whistleblower intake at /tips (docs/WHISTLEBLOWING.md), on when
# recipients names the oversight body's keys (age1… public keys, from
# age-keygen): every submission is sealed with age to all of them before
# anything is written, and the server never holds their identities. A
# principal with the oversight role reads and answers tips (ombud tips).
# max_bytes bounds one submission with its files (at most 64 MiB).
[tips]
recipients = []
max_bytes = 16777216

# Private detail records are kept this long, by kind of entry, then erased
# by the sweep (one logged summary entry per kind). "keep" keeps them. An
# ingest's detail is erased with its object. docs/LOG-FORMAT.md gives the
# reason for each default.
[detail_retention]
access = "2190d"
principal = "3650d"
authorization = "3650d"
hold = "3650d"
erase = "3650d"
breach = "3650d"
attestation = "3650d"
run = "2190d"

# Vocabularies: every code ombud publishes in a public field is registered
# here, with a one-line description the disclosure page shows. A code not
# registered is refused. Without a [[vocabulary.NAME]] table the defaults
# apply (the disclosure page lists them); a table given replaces its
# vocabulary's defaults. Names: purpose, hold_reason, erase_reason,
# revoke_reason, emergency_reason, region, jurisdiction. For example:
#
# [[vocabulary.purpose]]
# code = "criminal_investigation"
# description = "Investigating a specific criminal offence, under a legal authorization."
`, o.Origin, listen, vocab.JurisdictionPlaceholder, jurisdiction(o.Jurisdiction), fmt.Sprintf("%dh", int(vocab.DefaultEmergencyDeadline.Hours())), fmt.Sprintf("%dh", int(ombud.DefaultRunTimeLimit.Hours())))
	// The shared engines the directory is created for, if any.
	t = strings.Replace(t, "\nstore_url = \"\"\n", fmt.Sprintf("\nstore_url = %q\n", o.StoreURL), 1)
	return strings.Replace(t, "\nurl = \"\"\n", fmt.Sprintf("\nurl = %q\n", o.LogURL), 1)
}

func jurisdiction(j string) string {
	if j == "" {
		return vocab.JurisdictionPlaceholder
	}
	return j
}
