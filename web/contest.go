package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/reason"
	"github.com/ombud/ombud/review"
)

// The contest page's limit: a client is told that no decision has a code
// at most wrongCodes times in wrongWindow. Only such codes count, and a
// code that names a decision is never refused: guessing one of 80 random
// bits takes about 2^79 tries, which no rate a server answers at brings
// within reach, so refusing a right code would only let anyone sharing
// the person's address lock them out.
const (
	wrongCodes     = 10
	wrongWindow    = time.Hour
	maxContestForm = review.MaxStatement + 4096
)

// contestView is what the contest page shows of a case.
type contestView struct {
	System, Task, Model, Version string
	Accuracy                     *ombud.Accuracy
	Score, Threshold             float64
	ReferenceDB                  string
	GallerySize                  int64
	Matched                      string
	Confirmations                []string // when each was given
	Rejections                   int
	Action                       string
	ActionAt                     string
	Filed, Outcome, Resolved     string
	Rationale                    string // the resolving reviewer's
	Receipt                      uint64 // the filing's entry
	JustFiled                    bool
	// Due is when the contest must be decided by; Late, that it was not
	// (or is not yet, past it).
	Due       string
	Late      bool
	Withdrawn string // when the action was withdrawn, "" while it stands
	// Code is the notice code as the person typed it, for the printable
	// notice's form; Notice the notice in plain words.
	Code   string
	Notice review.Notice
}

func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func (s *Site) viewCase(r *http.Request, c *review.Case, code string) *contestView {
	v := &contestView{System: c.System.Name, Task: c.System.Task, Score: c.Flag.Score, Threshold: c.Flag.Threshold,
		ReferenceDB: c.Flag.ReferenceDB, GallerySize: c.Flag.GallerySize, Matched: when(c.Flag.Matched),
		Rejections: c.Rejections, Action: strings.ReplaceAll(c.Action.Kind, "_", " "), ActionAt: when(c.Action.Created)}
	if c.Version != nil {
		v.Model, v.Version = c.Version.Model, c.Version.Version
		acc := c.Version.Accuracy
		v.Accuracy = &acc
	}
	for _, t := range c.Confirmations {
		v.Confirmations = append(v.Confirmations, when(t))
	}
	v.Code, v.Notice = code, s.Review.NoticeOf(c, "", s.baseURL(r))
	if !c.Action.Withdrawn.IsZero() {
		v.Withdrawn = when(c.Action.Withdrawn)
	}
	if ct := c.Contest; ct != nil {
		v.Filed, v.Receipt = when(ct.Filed), ct.Index
		if !ct.Due.IsZero() {
			v.Due, v.Late = when(ct.Due), s.Review.Overdue(ct)
		}
		if ct.Outcome != "" {
			v.Outcome, v.Resolved, v.Rationale = ct.Outcome, when(ct.Resolved), c.Rationale
		}
	}
	return v
}

// contest serves /contest: a person given a notice code contests the
// decision, or checks the status of their contest. A wrong code says only
// that no decision has it, and each client may enter only a few.
func (s *Site) contest(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p := &page{Nav: "contest"}
	if s.Review == nil {
		s.fail(w, r, http.StatusNotFound, "No such page", "This deployment takes no contests.")
		return
	}
	if r.Method != http.MethodPost {
		s.render(w, r, "contest", http.StatusOK, p)
		return
	}
	// The same check as the reviewer's forms: another site's page may not
	// post here for the person's browser (to file in their name, or to
	// spend their address's wrong codes).
	if !sameOrigin(r) {
		p.Message = "The form came from another site, so it was not accepted. Open this page at its own address and try again."
		s.render(w, r, "contest", http.StatusForbidden, p)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxContestForm)
	if err := r.ParseForm(); err != nil {
		p.Message = "The form is too large or malformed: a statement may have up to " + strconv.Itoa(review.MaxStatement) + " bytes."
		s.render(w, r, "contest", http.StatusBadRequest, p)
		return
	}
	// The code is looked up (by its hash) before any limit is asked: only
	// a code that names no decision counts, and only it is refused.
	code := r.PostForm.Get("code")
	var c *review.Case
	var err error
	filing := r.PostForm.Get("do") == "file"
	if filing {
		p.Pasted = r.PostForm.Get("statement")
		c, _, err = s.Review.File(r.Context(), code, p.Pasted)
	} else {
		c, err = s.Review.Lookup(r.Context(), code)
	}
	var oe *ombud.Error
	if errors.As(err, &oe) && oe.Reason == reason.NoticeUnknown {
		if ok, wait := s.wrongCodes.allow(r.Context(), s.client(r), time.Now()); !ok {
			s.tooMany(w, r, p, wait)
			return
		}
	}
	switch {
	case errors.As(err, &oe) && oe.Reason == reason.NoticeUnknown:
		p.Message = "No decision has this notice code. Check the code in your letter: it has sixteen letters and digits, such as 7K2M-9QXA-4T8D-R3VW."
		s.render(w, r, "contest", http.StatusNotFound, p)
		return
	case errors.As(err, &oe) && oe.Reason == reason.ContestFiled:
		p.Message = "This decision was contested already; its status is below."
		p.Pasted = ""
	case errors.As(err, &oe) && oe.Code == ombud.CodeInvalid:
		p.Message = oe.Message
		s.render(w, r, "contest", http.StatusBadRequest, p)
		return
	case err != nil:
		s.Logger.ErrorContext(r.Context(), "site: contest", "err", err)
		p.Message = "Your request could not be recorded now (" + ombud.ErrorMessage(err) + "). Nothing was filed; please try again later."
		s.render(w, r, "contest", http.StatusServiceUnavailable, p)
		return
	}
	if c == nil {
		p.Message = "Your request could not be completed now; please try again later."
		s.render(w, r, "contest", http.StatusServiceUnavailable, p)
		return
	}
	if r.PostForm.Get("do") == "notice" {
		s.notice(w, r, s.Review.NoticeOf(c, code, s.baseURL(r)), r.PostForm.Get("format"))
		return
	}
	p.Case = s.viewCase(r, c, code)
	if filing && err == nil {
		p.Case.JustFiled = true
		p.Pasted = ""
	}
	s.render(w, r, "contest", http.StatusOK, p)
}

func (s *Site) tooMany(w http.ResponseWriter, r *http.Request, p *page, wait time.Duration) {
	mins := int(wait.Minutes()) + 1
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	p.Message = fmt.Sprintf("Too many attempts from your connection. Please try again in %d minutes.", mins)
	s.render(w, r, "contest", http.StatusTooManyRequests, p)
}

// notice answers the notice of a case, to print or keep: a page of its
// own, or plain text.
func (s *Site) notice(w http.ResponseWriter, r *http.Request, n review.Notice, format string) {
	if format == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Disposition", `inline; filename="notice.txt"`)
		io.WriteString(w, n.Text())
		return
	}
	s.render(w, r, "notice", http.StatusOK, &page{Nav: "contest", Notice: &n})
}
