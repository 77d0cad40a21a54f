package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/review"
	"github.com/ombud/ombud/vocab"
)

// The reviewer pages' sessions: a cookie holding a random id, kept in the
// store as its SHA-256 (every gateway sees it; a restart signs no one
// out). A session ends after sessionIdle without a request, or sessionMax
// after sign-in.
const (
	sessionCookie = "__Host-ombud-review"
	sessionIdle   = 30 * time.Minute
	sessionMax    = 8 * time.Hour
	maxSessions   = 10_000
	maxReviewForm = review.MaxRationale + 4096
	signinsPerMin = 10
)

type session struct {
	principal string
	csrf      string
}

// sessions keeps the reviewer pages' sessions in the store, which every
// gateway shares: a reviewer signed in on one is signed in on all. The
// store keeps a session id only as its SHA-256, so a lookup takes no time
// that depends on how much of an id matches.
type sessions struct {
	store  ombud.SessionStore
	logger *slog.Logger
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashID(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// expiry is when a session used at now ends unless used again.
func expiry(created, now time.Time) time.Time {
	if end := created.Add(sessionMax); end.Before(now.Add(sessionIdle)) {
		return end
	}
	return now.Add(sessionIdle)
}

func (ss sessions) start(ctx context.Context, principal string, now time.Time) (id string, s *session) {
	id = randomToken()
	s = &session{principal: principal, csrf: randomToken()}
	err := ss.store.StartSession(ctx, &ombud.Session{IDHash: hashID(id), Principal: principal, CSRF: s.csrf, Created: now, Expires: expiry(now, now)}, maxSessions)
	if err != nil {
		if !errors.Is(err, ombud.ErrBusy) {
			ss.logger.ErrorContext(ctx, "site: a session could not be started", "err", err)
		}
		return "", nil
	}
	return id, s
}

func (ss sessions) get(ctx context.Context, id string, now time.Time) *session {
	st, err := ss.store.Session(ctx, hashID(id), now)
	if err != nil {
		if !errors.Is(err, ombud.ErrNotFound) {
			ss.logger.ErrorContext(ctx, "site: a session could not be read", "err", err)
		}
		return nil
	}
	if err := ss.store.ExtendSession(ctx, st.IDHash, expiry(st.Created, now)); err != nil {
		ss.logger.ErrorContext(ctx, "site: a session could not be extended", "err", err)
	}
	return &session{principal: st.Principal, csrf: st.CSRF}
}

func (ss sessions) end(ctx context.Context, id string) {
	if err := ss.store.EndSession(ctx, hashID(id)); err != nil {
		ss.logger.ErrorContext(ctx, "site: a session could not be ended", "err", err)
	}
}

// Reviewers is what the reviewer pages need of the deployment.
type Reviewers struct {
	// Authenticate resolves a token to an enabled principal.
	Authenticate func(ctx context.Context, token string) (*ombud.Principal, error)
	// Principal returns a principal by id: a session's, on each request,
	// so a disabled reviewer is signed out at once.
	Principal func(ctx context.Context, id string) (*ombud.Principal, error)
	// Read views an object as a flag's evidence through the logged
	// access path (custody.Service.Read with the purpose review).
	Read func(ctx context.Context, req custody.ReadRequest) (*custody.Release, error)
}

type sitePage = func(*Site, http.ResponseWriter, *http.Request)

// staffPage serves h only on a deployment that has the staff pages of
// area ("reviewer", "approver"), as has reports.
func staffPage(area string, has func(*Site) bool, h sitePage) sitePage {
	return func(s *Site, w http.ResponseWriter, r *http.Request) {
		if s.Reviewers == nil || !has(s) {
			s.fail(w, r, http.StatusNotFound, "No such page", "This deployment has no "+area+" pages.")
			return
		}
		h(s, w, r)
	}
}

// reviewing serves h only on a deployment with reviewer pages.
func reviewing(h sitePage) sitePage {
	return staffPage("reviewer", func(s *Site) bool { return s.Review != nil }, h)
}

// reviewer returns the signed-in reviewer of r and their session, or nil.
func (s *Site) reviewer(r *http.Request) (*ombud.Principal, *session, string) {
	return s.signedIn(r, ombud.RoleReviewer)
}

// signedIn returns the principal signed in on r, with role, and their
// session, or nil. A session whose principal is gone or disabled ends; one
// whose principal lacks role stays (an admin who is not a reviewer keeps
// their approver pages) but is not signed in here.
func (s *Site) signedIn(r *http.Request, role ombud.Role) (*ombud.Principal, *session, string) {
	p, ss, id := s.staff(r)
	if p == nil || !p.Has(role) {
		return nil, nil, ""
	}
	return p, ss, id
}

// staff returns the reviewer or admin signed in on r, their session and
// its id, or nil; a session whose principal is gone, disabled or neither
// ends.
func (s *Site) staff(r *http.Request) (*ombud.Principal, *session, string) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) > 64 {
		return nil, nil, ""
	}
	ss := s.sessions.get(r.Context(), c.Value, time.Now())
	if ss == nil {
		return nil, nil, ""
	}
	p, err := s.Reviewers.Principal(r.Context(), ss.principal)
	if err != nil || p.Disabled || !(p.Has(ombud.RoleReviewer) || p.Has(ombud.RoleAdmin)) {
		s.sessions.end(r.Context(), c.Value)
		return nil, nil, ""
	}
	return p, ss, c.Value
}

// sameOrigin refuses a form posted from another site. Browsers say where
// a request comes from in Sec-Fetch-Site; without it, in Origin (which
// the site's no-referrer policy makes "null" even for its own forms, so
// "null" counts only with Sec-Fetch-Site). A client that sends neither is
// not a browser, and a cross-site form cannot reach it.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return o != "null" && err == nil && u.Host == r.Host
}

// reviewPost checks a reviewer's form post: signed in, same origin, the
// session's CSRF token, within the size limit. It answers and returns nil
// when the post is refused.
func (s *Site) reviewPost(w http.ResponseWriter, r *http.Request) (*ombud.Principal, *session) {
	return s.staffPost(w, r, ombud.RoleReviewer, s.renderReview)
}

// staffPost checks a form post of a signed-in principal with role, as
// reviewPost does, answering a refusal with render.
func (s *Site) staffPost(w http.ResponseWriter, r *http.Request, role ombud.Role, render func(http.ResponseWriter, *http.Request, int, *page)) (*ombud.Principal, *session) {
	p, ss, _ := s.signedIn(r, role)
	if p == nil {
		render(w, r, http.StatusUnauthorized, &page{Message: "Your session has ended. Sign in again."})
		return nil, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxReviewForm)
	if err := r.ParseForm(); err != nil {
		render(w, r, http.StatusBadRequest, &page{Message: "The form is too large or malformed."})
		return nil, nil
	}
	tok := r.PostForm.Get("csrf")
	if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(tok), []byte(ss.csrf)) != 1 {
		render(w, r, http.StatusForbidden, &page{Message: "The form did not come from this page (its security token is missing or stale). Reload the page and try again."})
		return nil, nil
	}
	return p, ss
}

func (s *Site) renderReview(w http.ResponseWriter, r *http.Request, status int, p *page) {
	w.Header().Set("Cache-Control", "no-store")
	p.Nav = "review"
	if p.Reviewer == nil {
		p.Area = "review"
		s.render(w, r, "signin", status, p)
		return
	}
	s.render(w, r, "review", status, p)
}

// reviewQueue serves /review: the sign-in form, or the signed-in
// reviewer's queue of flags and the contests awaiting resolution.
func (s *Site) reviewQueue(w http.ResponseWriter, r *http.Request) {
	p, ss, _ := s.reviewer(r)
	if p == nil {
		s.renderReview(w, r, http.StatusOK, &page{})
		return
	}
	pg := &page{Message: flash(r.URL.Query().Get("done"))}
	s.fillQueue(r.Context(), pg, p, ss)
	s.renderReview(w, r, http.StatusOK, pg)
}

// flash is the message of a finished form, named by a code in the
// redirect (never free text from the URL).
func flash(code string) string {
	switch code {
	case "confirm":
		return "Your confirmation was recorded."
	case "reject":
		return "Your rejection was recorded."
	case "upheld", "overturned":
		return "The contest was resolved as " + code + "."
	}
	return ""
}

func (s *Site) fillQueue(ctx context.Context, pg *page, p *ombud.Principal, ss *session) {
	pg.Reviewer, pg.CSRF = p, ss.csrf
	var err error
	if pg.Queue, err = s.Review.Awaiting(ctx, p, 100); err != nil {
		s.Logger.ErrorContext(ctx, "site: review queue", "err", err)
		pg.Message = "The queue could not be read."
	}
	if pg.Contests, err = s.Review.OpenContests(ctx, p, 100); err != nil {
		s.Logger.ErrorContext(ctx, "site: open contests", "err", err)
		pg.Message = "The contests could not be read."
	}
}

func (s *Site) signIn(w http.ResponseWriter, r *http.Request) {
	if ok, wait := s.signins.allow(r.Context(), s.client(r), time.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		s.renderReview(w, r, http.StatusTooManyRequests, &page{Message: "Too many sign-in attempts from your connection; wait a minute."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil || !sameOrigin(r) {
		s.renderReview(w, r, http.StatusBadRequest, &page{Message: "The sign-in form was malformed or came from another site."})
		return
	}
	area := r.PostForm.Get("next")
	render := s.renderReview
	if area == "approvals" && s.Approvers != nil {
		render = s.renderApprovals
	}
	p, err := s.Reviewers.Authenticate(r.Context(), r.PostForm.Get("token"))
	if err != nil || !(p.Has(ombud.RoleReviewer) || p.Has(ombud.RoleAdmin) && s.Approvers != nil) {
		render(w, r, http.StatusUnauthorized, &page{Message: "This token is invalid or disabled, or its principal is neither a reviewer nor an admin."})
		return
	}
	id, _ := s.sessions.start(r.Context(), p.ID, time.Now())
	if id == "" {
		render(w, r, http.StatusServiceUnavailable, &page{Message: "Too many sessions are open; try again later."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionMax.Seconds())})
	to := "/review"
	if p.Has(ombud.RoleAdmin) && s.Approvers != nil && (area == "approvals" || !p.Has(ombud.RoleReviewer)) {
		to = "/approvals"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (s *Site) signOut(w http.ResponseWriter, r *http.Request) {
	// Any signed-in reviewer or admin signs out, from either area's form.
	p, ss, id := s.staff(r)
	if p == nil {
		s.renderReview(w, r, http.StatusUnauthorized, &page{Message: "Your session has ended. Sign in again."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if r.ParseForm() != nil || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(ss.csrf)) != 1 {
		s.renderReview(w, r, http.StatusForbidden, &page{Message: "The form did not come from this page (its security token is missing or stale). Reload the page and try again."})
		return
	}
	s.sessions.end(r.Context(), id)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/review", http.StatusSeeOther)
}

// reviewRefused shows the queue again with why the form was refused.
func (s *Site) reviewRefused(w http.ResponseWriter, r *http.Request, p *ombud.Principal, ss *session, err error) {
	pg := &page{}
	status := http.StatusServiceUnavailable
	var oe *ombud.Error
	if errors.As(err, &oe) {
		pg.Message = oe.Message
		status = apiv1.HTTPStatus(oe.Code)
	} else {
		s.Logger.ErrorContext(r.Context(), "site: review", "err", err)
		pg.Message = "It could not be recorded now (" + ombud.ErrorMessage(err) + "); nothing was recorded."
	}
	s.fillQueue(r.Context(), pg, p, ss)
	s.renderReview(w, r, status, pg)
}

func (s *Site) postReview(w http.ResponseWriter, r *http.Request) {
	p, ss := s.reviewPost(w, r)
	if p == nil {
		return
	}
	verdict := r.PostForm.Get("verdict")
	if _, _, err := s.Review.Review(r.Context(), p, r.PathValue("id"), verdict, r.PostForm.Get("rationale")); err != nil {
		s.reviewRefused(w, r, p, ss, err)
		return
	}
	http.Redirect(w, r, "/review?done="+url.QueryEscape(verdict), http.StatusSeeOther)
}

func (s *Site) postResolve(w http.ResponseWriter, r *http.Request) {
	p, ss := s.reviewPost(w, r)
	if p == nil {
		return
	}
	c, _, err := s.Review.Resolve(r.Context(), p, r.PathValue("id"), r.PostForm.Get("outcome"), r.PostForm.Get("rationale"))
	if err != nil {
		s.reviewRefused(w, r, p, ss, err)
		return
	}
	http.Redirect(w, r, "/review?done="+url.QueryEscape(c.Outcome), http.StatusSeeOther)
}

// evidence serves /review/flags/{flag}/evidence/{object}: the signed-in
// reviewer views one of a flag's inputs or reference images. The viewing
// is a read through the access path with the purpose review: decided,
// logged, then released. Images are shown; anything else is a download.
func (s *Site) evidence(w http.ResponseWriter, r *http.Request) {
	p, _, _ := s.reviewer(r)
	if p == nil {
		s.renderReview(w, r, http.StatusUnauthorized, &page{Message: "Sign in to view evidence."})
		return
	}
	rel, err := s.Reviewers.Read(r.Context(), custody.ReadRequest{ID: r.PathValue("object"), Purpose: vocab.PurposeReview, Flag: r.PathValue("flag"), Principal: p})
	var d *custody.Denial
	switch {
	case errors.As(err, &d):
		w.Header().Set("Ombud-Receipt", strconv.FormatUint(d.Index, 10))
		s.fail(w, r, apiv1.HTTPStatus(d.AsError().Code), "Not released", d.AsError().Message+" This refusal is logged as entry "+strconv.FormatUint(d.Index, 10)+".")
		return
	case err != nil:
		s.fail(w, r, apiv1.HTTPStatus(ombud.ErrorCode(err)), "Not released", ombud.ErrorMessage(err))
		return
	}
	defer rel.Body.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(rel.Body, head)
	head = head[:n]
	h := w.Header()
	h.Set("Ombud-Receipt", strconv.FormatUint(rel.Index, 10))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Length", strconv.FormatInt(rel.Object.Size, 10))
	switch ct := http.DetectContentType(head); ct {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		h.Set("Content-Type", ct)
		h.Set("Content-Disposition", `inline; filename="`+rel.Object.ID+`"`)
	default:
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="`+rel.Object.ID+`"`)
	}
	w.Write(head)
	if _, err := io.Copy(w, rel.Body); err != nil {
		s.Logger.ErrorContext(r.Context(), "site: evidence release stopped", "object", rel.Object.ID, "receipt", rel.Index, "err", err)
	}
}

// desk serves /review/flags/{id}: one flag's evidence desk. The inputs
// stand beside the reference images, each an image fetched from the
// evidence path, so each is a viewing decided and logged on its own; the
// match's facts and the legal basis of the run that read them stand
// above; the verdict form below. It shows nothing of other reviews.
func (s *Site) desk(w http.ResponseWriter, r *http.Request) {
	p, ss, _ := s.reviewer(r)
	if p == nil {
		s.renderReview(w, r, http.StatusUnauthorized, &page{Message: "Sign in to review a flag."})
		return
	}
	d, err := s.Review.DeskFor(r.Context(), p, r.PathValue("id"))
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		s.fail(w, r, apiv1.HTTPStatus(ombud.ErrorCode(err)), "No such flag", "There is no flag here that you may review. Go back to the review queue at /review.")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, "desk", http.StatusOK, &page{Nav: "review", Reviewer: p, CSRF: ss.csrf, Desk: d})
}
