// Package api is ombud's JSON HTTP API and the HTTP face of its log: routes,
// authentication, error codes, body limits and request metrics.
package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/transparency-dev/formats/log"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/approval"
	"github.com/ombud/ombud/contracts"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/publish"
	"github.com/ombud/ombud/receipt"
	"github.com/ombud/ombud/registry"
	"github.com/ombud/ombud/review"
	"github.com/ombud/ombud/sharing"
	"github.com/ombud/ombud/tips"
)

// Log is what the API reads of the transparency log (tlog.Log).
type Log interface {
	// Health reports whether appends succeed and checkpoints are
	// published (within grace of the witness policy).
	Health(grace time.Duration) (appends, publish error)
	Checkpoint(ctx context.Context) ([]byte, error)
	ParsedCheckpoint(ctx context.Context) (*log.Checkpoint, []byte, error)
	Scan(ctx context.Context, from, to, treeSize uint64, f func(index uint64, leaf []byte) error) error
	// Tile returns a tlog-tiles resource by its path below /log/;
	// ombud.ErrNotFound for any other path.
	Tile(path string) ([]byte, error)
	Receipt(ctx context.Context, index uint64, wait time.Duration) (*receipt.Receipt, error)
	InclusionProof(ctx context.Context, index, treeSize uint64) ([][]byte, error)
	ConsistencyProof(ctx context.Context, smaller, larger uint64) ([][]byte, error)
}

// Store is what the API reads of the metadata store directly; the
// services read the rest. store.Store satisfies it.
type Store interface {
	PrincipalStore
	Principals(ctx context.Context) ([]*ombud.Principal, error)
	Object(ctx context.Context, id string) (*ombud.Object, error)
	Issuers(ctx context.Context) ([]*ombud.Issuer, error)
	Authorization(ctx context.Context, id string) (*ombud.RegisteredAuthorization, error)
	AnalyticSystems(ctx context.Context) ([]*ombud.AnalyticSystem, error)
	Recipients(ctx context.Context) ([]*ombud.Recipient, error)
	Recipient(ctx context.Context, id string) (*ombud.Recipient, error)
	Quorum(ctx context.Context) (*ombud.Quorum, error)
	Proposal(ctx context.Context, id string) (*ombud.Proposal, error)
	Proposals(ctx context.Context, state string, limit int) ([]*ombud.Proposal, error)
	Notices(ctx context.Context, f ombud.NoticeFilter) ([]*ombud.Notice, error)
	Detail(ctx context.Context, k ombud.DetailKey) (journal.Detail, error)
	// Ping reports whether the store can serve (/readyz).
	Ping(ctx context.Context) error
}

// Config is what an API server is built from (New). Store, Log and
// Journal are required; a service left nil leaves its routes out.
type Config struct {
	Store       Store
	Log         Log
	Journal     *journal.Journal
	Custody     *custody.Service
	VerifierKey string
	// StreamTimeout bounds one object upload or download.
	StreamTimeout time.Duration
	// MaxBodyBytes bounds JSON request bodies.
	MaxBodyBytes int64
	// ReceiptWait bounds how long a receipt request waits for a checkpoint
	// that covers a freshly appended entry.
	ReceiptWait time.Duration
	Logger      *slog.Logger
	Registry    *prometheus.Registry
	// Analytics keeps the registry of analytic systems (/v1/systems).
	Analytics *registry.Service
	// Review records the flags runs raise (/v1/flags).
	Review *review.Service
	// Sharing keeps the registry of recipients (/v1/recipients).
	Sharing *sharing.Service
	// Approval keeps the quorum and the proposals (/v1/proposals,
	// /v1/quorum).
	Approval *approval.Service
	// Contracts keeps the registry of procurement contracts
	// (/v1/contracts).
	Contracts *contracts.Service
	// Tips is the whistleblower intake (/v1/tips); nil when the
	// deployment has none.
	Tips *tips.Service
	// Exports: the deployment's configuration turns exports on
	// ([sharing] enabled); while off, POST /v1/exports refuses.
	Exports bool
	// Reports publishes transparency reports (POST /v1/reports).
	Reports *publish.Service
	// Site, when set, serves every path outside the API's: the public web
	// site, which answers its own 404s and 405s as pages.
	Site http.Handler
	// WitnessGrace is how long the witness policy may go unmet before
	// /readyz answers 503.
	WitnessGrace time.Duration
	// Witnessed: the log publishes only cosigned checkpoints.
	Witnessed bool
}

// Server serves the API. Build it with New.
type Server struct {
	Config

	draining atomic.Bool
	// routes are the privileged operations' routes, by operation: a
	// proposal approved by the quorum runs through its operation's.
	routes   map[string]privilegedRoute
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// Drain makes /readyz fail so load balancers stop sending traffic before
// shutdown.
func (s *Server) Drain() { s.draining.Store(true) }

// New checks c, fills in its defaults and registers the request
// metrics in its registry.
func New(c Config) (*Server, error) {
	switch {
	case c.Store == nil:
		return nil, errors.New("api: no metadata store")
	case c.Log == nil:
		return nil, errors.New("api: no log")
	case c.Journal == nil:
		return nil, errors.New("api: no journal")
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.StreamTimeout == 0 {
		c.StreamTimeout = 6 * time.Hour
	}
	if c.ReceiptWait == 0 {
		c.ReceiptWait = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	s := &Server{Config: c}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ombud_http_requests_total",
		Help: "HTTP requests by route and status code.",
	}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ombud_http_request_seconds",
		Help:    "HTTP request latency by route.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"route"})
	for _, m := range []prometheus.Collector{s.requests, s.latency} {
		if err := c.Registry.Register(m); err != nil {
			return nil, fmt.Errorf("api: failed to register metrics: %w", err)
		}
	}
	return s, nil
}

// Handler returns the routed, hardened handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))

	mux.HandleFunc("GET /log/checkpoint", s.checkpoint)
	mux.HandleFunc("GET /log/key", s.logKey)
	mux.HandleFunc("GET /log/tile/", s.tile)

	mux.HandleFunc("GET /v1/receipts/{index}", s.receipt)
	mux.HandleFunc("GET /v1/proofs/inclusion", s.inclusionProof)
	mux.HandleFunc("GET /v1/proofs/consistency", s.consistencyProof)

	mux.Handle("GET /v1/whoami", s.auth(nil, s.whoami))
	s.privileged(mux, ombud.OpAdminCreate, []ombud.Role{ombud.RoleAdmin}, s.createPrincipal)
	mux.Handle("GET /v1/principals", s.auth([]ombud.Role{ombud.RoleAdmin, ombud.RoleAuditor}, s.listPrincipals))
	mux.Handle("GET /v1/principals/{id}", s.auth([]ombud.Role{ombud.RoleAdmin, ombud.RoleAuditor}, s.getPrincipal))
	mux.Handle("GET /v1/audit/details", s.auth([]ombud.Role{ombud.RoleAuditor}, s.auditDetails))
	mux.HandleFunc("HEAD /v1/audit/details", noHead("detail records"))
	mux.Handle("DELETE /v1/principals/{id}", s.auth([]ombud.Role{ombud.RoleAdmin}, noBody(s.disablePrincipal)))

	if s.Custody != nil {
		admin := []ombud.Role{ombud.RoleAdmin}
		mux.Handle("PUT /v1/objects", s.auth([]ombud.Role{ombud.RoleIngestor}, s.putObject))
		mux.Handle("GET /v1/objects/{id}", s.auth(nil, s.getObject))
		mux.HandleFunc("HEAD /v1/objects/{id}", s.headObject)
		mux.Handle("GET /v1/objects/{id}/status", s.auth([]ombud.Role{ombud.RoleAdmin, ombud.RoleAuditor, ombud.RoleIngestor}, s.objectStatus))
		mux.Handle("POST /v1/objects/{id}/hold", s.auth(admin, s.objectOrder((*custody.Service).SetHold, "hold", true)))
		s.privileged(mux, ombud.OpHoldRelease, admin, s.objectOrder((*custody.Service).ReleaseHold, "hold", false))
		s.privileged(mux, ombud.OpObjectErase, admin, s.objectOrder((*custody.Service).Erase, "erased", true))
		mux.Handle("POST /v1/sweep", s.auth(admin, noBody(s.sweep)))
		s.privileged(mux, ombud.OpKeyRotate, admin, noBody(s.rotateKeys))
		s.privileged(mux, ombud.OpIssuerRegister, admin, s.registerIssuer)
		mux.Handle("GET /v1/issuers", s.auth([]ombud.Role{ombud.RoleAdmin, ombud.RoleAuditor}, s.listIssuers))
		mux.Handle("POST /v1/authorizations", s.auth(admin, s.registerAuthorization))
		mux.Handle("GET /v1/authorizations/{id}", s.auth([]ombud.Role{ombud.RoleAdmin, ombud.RoleAuditor, ombud.RoleAnalyst}, s.getAuthorization))
		mux.Handle("POST /v1/authorizations/{id}/revoke", s.auth(admin, s.revokeAuthorization))
		s.privileged(mux, ombud.OpPolicyReload, admin, s.reloadPolicy)
		s.privileged(mux, ombud.OpEmergencyRestore, admin, noBody(s.restoreEmergency))
		mux.Handle("POST /v1/emergencies/{index}/attest", s.auth(admin, s.attestEmergency))
		runners := []ombud.Role{ombud.RoleAnalyst, ombud.RoleSystem}
		mux.Handle("POST /v1/runs", s.auth(runners, s.startRun))
		mux.Handle("GET /v1/runs/{id}", s.auth(nil, s.getRun))
		mux.Handle("GET /v1/runs/{id}/objects", s.auth(runners, s.runObjects))
		mux.HandleFunc("HEAD /v1/runs/{id}/objects", noHead("a run's objects"))
		mux.Handle("POST /v1/runs/{id}/close", s.auth([]ombud.Role{ombud.RoleAnalyst, ombud.RoleSystem, ombud.RoleAdmin}, noBody(s.closeRun)))
	}

	if s.Review != nil {
		mux.Handle("POST /v1/flags", s.auth([]ombud.Role{ombud.RoleAnalyst, ombud.RoleSystem}, s.raiseFlag))
		reviewer := []ombud.Role{ombud.RoleReviewer}
		mux.Handle("GET /v1/flags/awaiting", s.auth(reviewer, s.awaitingFlags))
		mux.Handle("POST /v1/flags/{id}/reviews", s.auth(reviewer, s.reviewFlag))
		mux.Handle("GET /v1/contests", s.auth(reviewer, s.openContests))
		mux.Handle("POST /v1/contests/{id}/resolution", s.auth(reviewer, s.resolveContest))
		mux.Handle("POST /v1/actions", s.auth([]ombud.Role{ombud.RoleAnalyst}, s.takeAction))
		mux.Handle("GET /v1/actions", s.auth([]ombud.Role{ombud.RoleAnalyst}, s.listActions))
		mux.Handle("GET /v1/actions/{id}", s.auth([]ombud.Role{ombud.RoleAnalyst, ombud.RoleAdmin, ombud.RoleAuditor}, s.getAction))
	}
	if s.Analytics != nil {
		admin := []ombud.Role{ombud.RoleAdmin}
		mux.HandleFunc("GET /v1/systems", s.listSystems)
		s.privileged(mux, ombud.OpSystemRegister, admin, s.registerSystem)
		s.privileged(mux, ombud.OpSystemVersion, admin, s.registerVersion)
		mux.Handle("POST /v1/systems/{id}/versions/{version}/retire", s.auth(admin, noBody(s.retireVersion)))
	}
	if s.Contracts != nil {
		admin := []ombud.Role{ombud.RoleAdmin}
		mux.HandleFunc("GET /v1/contracts", s.listContracts)
		mux.Handle("POST /v1/contracts", s.auth(admin, s.importContracts))
		s.privileged(mux, ombud.OpContractAmend, admin, s.amendContract)
	}
	if s.Sharing != nil {
		admin := []ombud.Role{ombud.RoleAdmin}
		s.privileged(mux, ombud.OpRecipientAdd, admin, s.registerRecipient)
		mux.Handle("GET /v1/recipients", s.auth([]ombud.Role{ombud.RoleAdmin, ombud.RoleAuditor, ombud.RoleAnalyst}, s.listRecipients))
		mux.Handle("POST /v1/recipients/{id}/retire", s.auth(admin, noBody(s.retireRecipient)))
		mux.Handle("GET /v1/notices", s.auth([]ombud.Role{ombud.RoleAdmin, ombud.RoleAuditor}, s.listNotices))
		mux.Handle("POST /v1/notices/{id}/sent", s.auth(admin, s.sendNotice))
		if s.Custody != nil {
			mux.Handle("POST /v1/exports", s.auth([]ombud.Role{ombud.RoleAnalyst}, s.startExport))
		}
	}
	if s.Approval != nil {
		admin := []ombud.Role{ombud.RoleAdmin}
		mux.Handle("GET /v1/quorum", s.auth([]ombud.Role{ombud.RoleAdmin, ombud.RoleAuditor}, s.getQuorum))
		s.privileged(mux, ombud.OpQuorumSet, admin, s.setQuorum)
		mux.Handle("POST /v1/proposals", s.auth(admin, s.propose))
		mux.Handle("GET /v1/proposals", s.auth([]ombud.Role{ombud.RoleAdmin, ombud.RoleAuditor}, s.listProposals))
		mux.Handle("GET /v1/proposals/{id}", s.auth([]ombud.Role{ombud.RoleAdmin, ombud.RoleAuditor}, s.getProposal))
		mux.Handle("POST /v1/proposals/{id}/approve", s.auth(admin, noBody(s.vote(true))))
		mux.Handle("POST /v1/proposals/{id}/refuse", s.auth(admin, noBody(s.vote(false))))
		mux.Handle("POST /v1/proposals/{id}/run", s.auth(admin, noBody(s.runProposal)))
	}
	if s.Tips != nil {
		oversight := []ombud.Role{ombud.RoleOversight}
		mux.Handle("GET /v1/tips", s.auth(oversight, s.listTips))
		mux.Handle("GET /v1/tips/{id}", s.auth(oversight, s.getTip))
		mux.Handle("GET /v1/tips/{id}/messages/{n}", s.auth(oversight, s.tipMessage))
		mux.Handle("POST /v1/tips/{id}/replies", s.auth(oversight, s.replyTip))
		mux.HandleFunc("GET /v1/tips/receipt/{commitment}", s.tipReceipt)
	}
	if s.Reports != nil {
		mux.Handle("POST /v1/reports", s.auth([]ombud.Role{ombud.RoleAdmin}, s.publishReport))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, ombud.Errorf(ombud.CodeNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return s.observe(secureHeaders(textPath(methodNotAllowed(mux, s.Site))))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, apiv1.Status{Status: "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if s.draining.Load() {
		writeError(w, r, ombud.Errorf(ombud.CodeUnavailable, "shutting down"))
		return
	}
	if err := s.Store.Ping(ctx); err != nil {
		s.Logger.ErrorContext(ctx, "readyz: store", "err", err)
		writeError(w, r, ombud.Errorf(ombud.CodeUnavailable, "metadata store is not ready"))
		return
	}
	appends, publish := s.Log.Health(s.WitnessGrace)
	if appends != nil {
		s.Logger.ErrorContext(ctx, "readyz: log", "err", appends)
		writeError(w, r, ombud.Errorf(ombud.CodeUnavailable, "transparency log is not accepting appends"))
		return
	}
	if publish != nil {
		s.Logger.ErrorContext(ctx, "readyz: log", "err", publish)
		msg := "no checkpoint is being published"
		if s.Witnessed {
			msg = "no checkpoint is being published: the witness policy is not met"
		}
		writeError(w, r, ombud.Errorf(ombud.CodeUnavailable, "%s", msg))
		return
	}
	if _, _, err := s.Log.ParsedCheckpoint(ctx); err != nil {
		s.Logger.ErrorContext(ctx, "readyz: log", "err", err)
		writeError(w, r, ombud.Errorf(ombud.CodeUnavailable, "transparency log is not ready"))
		return
	}
	writeJSON(w, http.StatusOK, apiv1.Status{Status: "ready"})
}

// statusRecorder captures the status code for metrics.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) observe(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/tips" || strings.HasPrefix(r.URL.Path, "/tips/") || strings.HasPrefix(r.URL.Path, "/v1/tips/receipt/") ||
			r.URL.Path == "/receipt" && r.Method == http.MethodPost {
			// The whistleblower intake, and the pasted receipts and
			// proofs of filing, are not counted: a counter that moves
			// when a source submits, or checks a proof, would date it to
			// whoever reads /metrics.
			h.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		s.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
		s.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// secureHeaders sets the headers every response carries: the API serves
// JSON and binary tiles only, so nothing may be sniffed, framed or scripted.
func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// isAPIPath reports whether p belongs to the API or the log; every other
// path belongs to the public site.
func isAPIPath(p string) bool {
	switch p {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/log/")
}

// noBody refuses a request with a body, for the actions that take none:
// a body sent there is a client's mistake (another request meant), and
// acting on it anyway would hide that.
func noBody(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b [1]byte
		if n, _ := io.ReadFull(http.MaxBytesReader(w, r.Body, 1), b[:]); n > 0 || r.ContentLength > 0 {
			writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "%s takes no request body", r.Pattern))
			return
		}
		h(w, r)
	}
}

// textPath refuses a request whose path, decoded, is not UTF-8 text or
// holds a control character (an id of %00 or %ff): no identifier has one,
// and the database would refuse it as an internal error.
func textPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if !utf8.ValidString(p) || strings.ContainsFunc(p, unicode.IsControl) {
			writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "the path is not UTF-8 text, or holds a control character"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// methodNotAllowed answers a known path with the wrong method with a coded
// 405 and an Allow header, instead of the catch-all 404. When the site is
// mounted, paths outside the API's are the site's: it answers their 404s
// and 405s itself, as pages.
func methodNotAllowed(mux *http.ServeMux, site http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "/" {
			if site != nil && !isAPIPath(r.URL.Path) {
				site.ServeHTTP(w, r)
				return
			}
			var allow []string
			for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				r2 := r.Clone(r.Context())
				r2.Method = m
				if _, p := mux.Handler(r2); p != "/" {
					allow = append(allow, m)
				}
			}
			if len(allow) > 0 {
				w.Header().Set("Allow", strings.Join(allow, ", "))
				writeError(w, r, ombud.Errorf(ombud.CodeMethodNotAllowed, "method %s is not allowed on %s", r.Method, r.URL.Path))
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}
