package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/reason"
	"github.com/ombud/ombud/receipt"
	"github.com/ombud/ombud/tips"
)

// The intake's limit of wrong codenames: at most wrongCodenames in
// wrongCodenameWindow, counted for the whole deployment, since the intake
// keeps nothing of who asks. Only a codename that opens nothing counts,
// and a right one is never refused: a codename has about 90 random bits,
// which no rate a server answers at brings within reach; the limit keeps
// guessing from running unnoticed. It answers after the codename's hash,
// so it does not bound that work: the service's slots do (tips.Work).
const (
	wrongCodenames      = 30
	wrongCodenameWindow = 10 * time.Minute
	// maxTipFiles bounds the files of one submission.
	maxTipFiles = 20
	// tipFormOverhead is what a form's parts add to a submission's bytes.
	tipFormOverhead = 64 << 10
	// tipUploadTime bounds one submission's upload: a source on Tor may
	// send 16 MiB at some tens of kilobytes a second.
	tipUploadTime = 15 * time.Minute
	// tipUploadMemory bounds the submissions read into memory at once, on
	// one gateway: uploads past it are answered busy.
	tipUploadMemory = 256 << 20
)

// tipUploadSlots is how many submissions of at most max bytes one
// gateway reads at once: tipUploadMemory's worth, from 2 to 32.
func tipUploadSlots(maxBytes int64) int {
	return int(min(32, max(2, tipUploadMemory/maxBytes)))
}

// upload takes one of the gateway's upload slots for a submission, gives
// its body the time an upload may take, and returns the slot's release;
// nil, having answered busy, when every slot is taken.
func (s *Site) upload(w http.ResponseWriter, r *http.Request) func() {
	select {
	case s.tipUploads <- struct{}{}:
	default:
		w.Header().Set("Retry-After", "60")
		s.render(w, r, "tips", http.StatusServiceUnavailable, s.tipsPage("The intake is receiving many submissions right now. Nothing was kept; please try again in a minute.", nil))
		return nil
	}
	rc := http.NewResponseController(w)
	// The answer (the codename and the proof of filing) must reach the
	// source however long the upload took.
	rc.SetWriteDeadline(time.Now().Add(tipUploadTime + time.Minute))
	stall := s.uploadStall
	if stall == 0 {
		stall = tipUploadStall
	}
	u := &uploadBody{r: r.Body, rc: rc, start: time.Now(), stall: stall}
	u.extend(u.start)
	r.Body = u
	return func() { <-s.tipUploads }
}

// A submission's body is given time as long as it arrives: each read
// pushes the read deadline tipUploadStall on, up to tipUploadTime in all,
// and a body slower than tipUploadRate on average past its first
// tipUploadStall is cut. A connection that sends headers and then nothing,
// or a byte now and then, holds an upload slot for tipUploadStall, not
// for tipUploadTime.
const (
	tipUploadStall = 30 * time.Second
	tipUploadRate  = 1 << 10 // bytes a second
)

// errTooSlow ends an upload slower than tipUploadRate.
var errTooSlow = errors.New("web: the upload is too slow")

type uploadBody struct {
	r     io.ReadCloser
	rc    *http.ResponseController
	stall time.Duration // tipUploadStall, shorter in tests
	start time.Time
	n     int64
	last  time.Time // the deadline was last pushed on
}

func (u *uploadBody) extend(now time.Time) {
	u.last = now
	d := now.Add(u.stall)
	if end := u.start.Add(tipUploadTime); d.After(end) {
		d = end
	}
	u.rc.SetReadDeadline(d)
}

func (u *uploadBody) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	u.n += int64(n)
	now := time.Now()
	if el := now.Sub(u.start); el > u.stall && float64(u.n) < el.Seconds()*tipUploadRate {
		return n, errTooSlow
	}
	if now.Sub(u.last) >= time.Second {
		u.extend(now)
	}
	return n, err
}

func (u *uploadBody) Close() error { return u.r.Close() }

// tipsView is what the intake's pages show.
type tipsView struct {
	MaxBytes string
	MaxFiles int
	// Filed is what a submission just filed gives the source: the
	// codename (a new tip's) and the promise.
	Filed *tips.Filed
	// Thread is the source's tip, opened with its codename.
	Thread *threadView
	// Codename is carried in the thread's follow-up form: the pages set
	// no cookie.
	Codename string
}

type threadView struct {
	Filed    string
	Logged   bool
	Messages []threadMessage
}

type threadMessage struct {
	FromSource bool
	What       string
	Day        string
	Logged     bool
	Index      uint64
	Text       string // a reply's
	Unopened   bool   // a reply the codename does not open
}

func bytesText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

func (s *Site) tipsPage(msg string, v *tipsView) *page {
	if v == nil {
		v = &tipsView{}
	}
	v.MaxBytes, v.MaxFiles = bytesText(s.Tips.MaxBytes), maxTipFiles
	return &page{Nav: "tips", Message: msg, Tips: v}
}

// intake lets a request reach the intake: the deployment has one, and a
// post comes from this site (another site's page may not file, or spend
// the limit of wrong codenames, in a visitor's browser). The intake's
// pages are never cached (they may show a codename) and set no cookie. It
// answers and returns false when the request goes no further.
func (s *Site) intake(w http.ResponseWriter, r *http.Request) bool {
	if s.Tips == nil {
		s.fail(w, r, http.StatusNotFound, "No such page", "This deployment has no whistleblower intake.")
		return false
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodPost && !sameOrigin(r) {
		s.render(w, r, "tips", http.StatusForbidden, s.tipsPage("The form came from another site, so it was not accepted. Open this page at its own address and try again.", nil))
		return false
	}
	return true
}

func (s *Site) tipsHome(w http.ResponseWriter, r *http.Request) {
	if s.intake(w, r) {
		s.render(w, r, "tips", http.StatusOK, s.tipsPage("", nil))
	}
}

// errTipForm is a submission the form could not carry: its message says
// why, to the source.
type errTipForm struct{ msg string }

func (e errTipForm) Error() string { return e.msg }

// readSubmission reads a multipart form part by part: the message, the
// files and the codename go from the connection into memory, bounded, and
// nothing of them reaches a disk (ParseMultipartForm would write large
// files to temporary files, in the clear).
func (s *Site) readSubmission(w http.ResponseWriter, r *http.Request) (tips.Submission, string, error) {
	var sub tips.Submission
	max := s.Tips.MaxBytes
	r.Body = http.MaxBytesReader(w, r.Body, max+tipFormOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		return sub, "", errTipForm{"The form could not be read: send it from this page."}
	}
	tooLarge := errTipForm{"The submission is larger than this intake takes (" + bytesText(max) + " with its files). Send less, or split it across follow-ups."}
	tooSlow := errTipForm{"The submission arrived too slowly, and was cut off. Nothing was kept; please try again, or send less."}
	var total int64
	var codename string
	seenMessage, seenCodename := false, false
	read := func(p *multipart.Part, limit int64) ([]byte, error) {
		b, err := io.ReadAll(io.LimitReader(p, limit+1))
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, tooLarge
		}
		if errors.Is(err, errTooSlow) || errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, tooSlow
		}
		if err != nil {
			return nil, errTipForm{"The form could not be read whole; please send it again."}
		}
		return b, nil
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return sub, "", tooLarge
		}
		if errors.Is(err, errTooSlow) || errors.Is(err, os.ErrDeadlineExceeded) {
			return sub, "", tooSlow
		}
		if err != nil {
			return sub, "", errTipForm{"The form could not be read whole. If a file's name holds unusual characters (tabs, control characters), rename the file; then send it again."}
		}
		switch p.FormName() {
		case "message":
			if seenMessage {
				return sub, "", errTipForm{"The form holds two messages; send one, with everything in it."}
			}
			seenMessage = true
			b, err := read(p, max-total)
			if err != nil {
				return sub, "", err
			}
			total += int64(len(b))
			if total > max {
				return sub, "", tooLarge
			}
			if !utf8.Valid(b) {
				return sub, "", errTipForm{"The message is not text this page can read; send documents as files."}
			}
			sub.Message = string(b)
		case "files":
			b, err := read(p, max-total)
			if err != nil {
				return sub, "", err
			}
			if p.FileName() == "" && len(b) == 0 {
				continue // the empty part of a file field left empty
			}
			total += int64(len(b))
			if total > max {
				return sub, "", tooLarge
			}
			if len(sub.Files) == maxTipFiles {
				return sub, "", errTipForm{fmt.Sprintf("At most %d files go with one submission; send more in a follow-up.", maxTipFiles)}
			}
			sub.Files = append(sub.Files, tips.File{Name: p.FileName(), Body: bytes.NewReader(b)})
		case "codename":
			if seenCodename {
				return sub, "", errTipForm{"The form holds two codenames."}
			}
			seenCodename = true
			b, err := read(p, tips.MaxCodename)
			if err != nil {
				return sub, "", err
			}
			codename = string(b)
		default:
			if _, err := io.Copy(io.Discard, p); err != nil {
				return sub, "", tooLarge
			}
		}
	}
	if strings.TrimSpace(sub.Message) == "" && len(sub.Files) == 0 {
		return sub, "", errTipForm{"Write a message or attach a file: the submission was empty."}
	}
	return sub, codename, nil
}

// submission lets a submission through the intake's checks, takes an
// upload slot and reads the form: the submission, the codename it carries
// (a follow-up's), and the slot's release; false, having answered, when
// any of these refuses it.
func (s *Site) submission(w http.ResponseWriter, r *http.Request) (tips.Submission, string, func(), bool) {
	if !s.intake(w, r) {
		return tips.Submission{}, "", nil, false
	}
	release := s.upload(w, r)
	if release == nil {
		return tips.Submission{}, "", nil, false
	}
	sub, codename, err := s.readSubmission(w, r)
	if err != nil {
		release()
		s.tipFormError(w, r, err, nil)
		return tips.Submission{}, "", nil, false
	}
	return sub, codename, release, true
}

// postTip files a new tip.
func (s *Site) postTip(w http.ResponseWriter, r *http.Request) {
	sub, _, release, ok := s.submission(w, r)
	if !ok {
		return
	}
	defer release()
	f, err := s.Tips.File(r.Context(), sub)
	if err != nil {
		s.tipUnavailable(w, r, err, nil)
		return
	}
	s.render(w, r, "tips", http.StatusOK, s.tipsPage("", &tipsView{Filed: f}))
}

func (s *Site) tipFormError(w http.ResponseWriter, r *http.Request, err error, v *tipsView) {
	var fe errTipForm
	if errors.As(err, &fe) {
		status := http.StatusBadRequest
		if strings.HasPrefix(fe.msg, "The submission is larger") {
			status = http.StatusRequestEntityTooLarge
		}
		s.render(w, r, "tips", status, s.tipsPage(fe.msg, v))
		return
	}
	s.tipUnavailable(w, r, err, v)
}

// tipUnavailable answers a request the intake could not serve. Nothing is
// logged now (a line's time would date the source's visit): the intake
// counts it for the day's summary in the gateway's log.
func (s *Site) tipUnavailable(w http.ResponseWriter, r *http.Request, err error, v *tipsView) {
	s.Tips.Failed(err)
	s.render(w, r, "tips", http.StatusServiceUnavailable, s.tipsPage("Your submission could not be recorded now ("+ombud.ErrorMessage(err)+"). Nothing was kept; please try again later.", v))
}

// openTip opens the tip of a codename: its messages and the replies.
func (s *Site) openTip(w http.ResponseWriter, r *http.Request) {
	if !s.intake(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		s.render(w, r, "tips", http.StatusBadRequest, s.tipsPage("The form is too large or malformed.", nil))
		return
	}
	s.showThread(w, r, r.PostForm.Get("codename"))
}

// showThread answers the thread of codename's tip; a codename that
// opens nothing is answered the same way whatever was typed, and counted
// against the deployment's limit.
func (s *Site) showThread(w http.ResponseWriter, r *http.Request, codename string) {
	th, err := s.Tips.Open(r.Context(), codename)
	if s.wrongCodename(w, r, err) {
		return
	}
	if err != nil {
		s.tipUnavailable(w, r, err, nil)
		return
	}
	c, _ := tips.NormalizeCodename(codename)
	s.render(w, r, "tips", http.StatusOK, s.tipsPage("", &tipsView{Thread: threadOf(th), Codename: c}))
}

// threadOf is what the source's page shows of a thread.
func threadOf(th *tips.Thread) *threadView {
	v := &threadView{Filed: th.Tip.Filed, Logged: th.Tip.Logged}
	for _, m := range th.Tip.Messages {
		tm := threadMessage{FromSource: m.FromSource(), Day: m.Day, Logged: m.Logged, Index: m.Index}
		switch m.Op {
		case ombud.TipFiled:
			tm.What = "Your report"
		case ombud.TipFollowedUp:
			tm.What = "Your follow-up"
		case ombud.TipAcknowledged:
			tm.What = "Acknowledgment of receipt"
		case ombud.TipAnswered:
			tm.What = "Feedback"
		default:
			tm.What = "Message"
		}
		if !tm.FromSource {
			tm.Text = th.Replies[m.N]
			tm.Unopened = tm.Text == ""
		}
		v.Messages = append(v.Messages, tm)
	}
	return v
}

// wrongCodename answers a codename that opens nothing, and reports
// whether it did.
func (s *Site) wrongCodename(w http.ResponseWriter, r *http.Request, err error) bool {
	var oe *ombud.Error
	if !errors.As(err, &oe) || oe.Reason != reason.CodenameWrong {
		return false
	}
	if ok, wait := s.wrongCodenames.allow(r.Context(), "deployment", time.Now()); !ok {
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		s.render(w, r, "tips", http.StatusTooManyRequests, s.tipsPage(fmt.Sprintf("Too many codenames that open nothing were tried here lately. Please try again in %d minutes.", int(wait.Minutes())+1), nil))
		return true
	}
	s.render(w, r, "tips", http.StatusNotFound, s.tipsPage("This codename opens nothing here. Check each of its seven words, as you wrote them down.", nil))
	return true
}

// followUpTip files a later message on the tip of the codename the form
// carries.
func (s *Site) followUpTip(w http.ResponseWriter, r *http.Request) {
	sub, codename, release, ok := s.submission(w, r)
	if !ok {
		return
	}
	defer release()
	f, th, err := s.Tips.FollowUp(r.Context(), codename, sub)
	if s.wrongCodename(w, r, err) {
		return
	}
	if err != nil {
		s.tipUnavailable(w, r, err, nil)
		return
	}
	c, _ := tips.NormalizeCodename(codename)
	v := &tipsView{Filed: f, Codename: c}
	if th != nil {
		v.Thread = threadOf(th)
	}
	s.render(w, r, "tips", http.StatusOK, s.tipsPage("", v))
}

// promiseResult checks a pasted promise of filing: signed with the log's
// key, and whether its tip entry is in the log, due, or overdue.
type promiseResult struct {
	Commitment, Filed, LoggedBy string
	// Logged: its entry is in the log (the receipt verified); Overdue:
	// its day passed without one; Misdated: the entry states another
	// filing day than the promise.
	Logged, Overdue, Misdated bool
}

// checkPromise verifies a promise of filing and, once it is logged,
// returns the receipt of its entry.
func (s *Site) checkPromise(ctx context.Context, pasted string) (*promiseResult, *receipt.Receipt, error) {
	p, err := tips.OpenPromise([]byte(pasted), s.Verifier)
	if err != nil {
		return nil, nil, &entry.Error{Refused: "promise does not verify", Reason: err.Error()}
	}
	res := &promiseResult{Commitment: p.Commitment, Filed: p.Filed, LoggedBy: p.LoggedBy}
	if s.TipIndex == nil {
		res.Overdue = p.Overdue(time.Now())
		return res, nil, nil
	}
	idx, ok, err := s.TipIndex(ctx, p.Commitment)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		res.Overdue = p.Overdue(time.Now())
		return res, nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rc, err := s.Log.Receipt(ctx, idx, 3*time.Second)
	return res, rc, err
}
