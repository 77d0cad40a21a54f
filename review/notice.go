package review

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ombud/ombud"
)

// Redress is what a notice tells the person affected about the deployment
// itself: who the controller is and how to reach it, where the contest
// page is, and where to appeal next. It comes from the configuration.
type Redress struct {
	// Controller names the body responsible for the data and the
	// decision; Contact says how to reach it (an address, an e-mail
	// address or a web page).
	Controller, Contact string
	// Appeal says where to turn after a contest: the data protection
	// authority or a court.
	Appeal string
	// PublicURL is the site's address, for the contest page's.
	PublicURL string
}

// The defaults a notice uses where the configuration names nothing.
const (
	DefaultController = "the body that operates this ombud deployment"
	DefaultContact    = "ask the body that handed you this notice for its contact details"
	DefaultAppeal     = "the data protection supervisory authority of your country, or a court"
)

// Notice is what the person affected by an action is told, in plain
// words: the decision and when, the automated system's part and what its
// accuracy means, the controller, the right to a copy of the data used,
// how to contest and the deadline for a decision, and where to appeal.
// The same facts are the notice handed out with the code, the printable
// page and the /contest status page.
type Notice struct {
	Code string // "" where the code is not shown (the status page)
	// Decision is the action in plain words; Decided when it was taken.
	Decision string
	Decided  time.Time
	// System, Task and Model name the system; Accuracy says what its
	// published figures mean, one sentence each.
	System, Task, Model string
	Accuracy            []string
	AccuracySource      string
	// Confirmations is how many people confirmed the match before the
	// action.
	Confirmations int
	Controller    string
	Contact       string
	ContestURL    string
	Deadline      int64 // days the controller has to decide a contest
	Appeal        string
	// Withdrawn is when the action was withdrawn (zero while it stands).
	Withdrawn time.Time
	// Contested is when a contest was filed (zero if none); Due when it
	// must be decided by; Outcome and Decided how and when it was ("" and
	// zero while open).
	Contested, Due, ContestDecided time.Time
	Outcome                        string
}

// decisions say each action kind in plain words.
var decisions = map[string]string{
	"referral":              "to refer your case to another authority",
	"detention_request":     "to request your detention",
	"questioning":           "to question you",
	"further_investigation": "to investigate further",
	"no_action":             "to take no action",
}

// tasks say each task in plain words.
var tasks = map[string]string{
	"face_identification": "face identification: it searches a database of face images for a match",
	"face_investigation":  "face search for investigators: it lists candidate faces from a database for a person to examine",
	"face_verification":   "face verification: it checks whether two face images show the same person",
	"plate_reading":       "number plate reading",
	"object_detection":    "object detection",
	"transcription":       "transcription of speech",
	"translation":         "translation",
	"other":               "automated analysis",
}

// NoticeOf returns the notice of a case. code is shown on the notice
// handed out with the action ("" where it is not); base is the site's
// address as the caller reached it, used when no public URL is
// configured.
func (s *Service) NoticeOf(cs *Case, code, base string) Notice {
	r := s.Redress
	n := Notice{Code: code, Decision: cmpOr(decisions[cs.Action.Kind], strings.ReplaceAll(cs.Action.Kind, "_", " ")), Decided: cs.Action.Created,
		System: cs.System.Name, Task: cmpOr(tasks[cs.System.Task], cs.System.Task), Confirmations: len(cs.Confirmations),
		Controller: cmpOr(r.Controller, DefaultController), Contact: cmpOr(r.Contact, DefaultContact), Appeal: cmpOr(r.Appeal, DefaultAppeal),
		ContestURL: strings.TrimSuffix(cmpOr(r.PublicURL, base), "/") + "/contest", Deadline: s.deadlineDays(), Withdrawn: cs.Action.Withdrawn}
	if ct := cs.Contest; ct != nil {
		n.Contested, n.Due, n.Outcome, n.ContestDecided = ct.Filed, ct.Due, ct.Outcome, ct.Resolved
		if !ct.Due.IsZero() {
			// The deadline the filing logged, not today's configuration.
			n.Deadline = int64(ct.Due.Sub(ct.Filed).Round(24*time.Hour) / (24 * time.Hour))
		}
	}
	if v := cs.Version; v != nil {
		n.Model = v.Model + " version " + v.Version
		n.Accuracy = AccuracyInWords(v.Accuracy)
		n.AccuracySource = v.Accuracy.Source
	}
	return n
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// AccuracyInWords says what each published rate means, as a count out of
// a round number of searches or comparisons, then the figure itself.
func AccuracyInWords(a ombud.Accuracy) []string {
	var out []string
	say := func(rate float64, what, figure string) {
		if rate > 0 {
			out = append(out, fmt.Sprintf("about %s %s (%s %g at threshold %g)", outOf(rate), what, figure, rate, a.Threshold))
		}
	}
	say(a.FPIR, "searches for a person who is not in the database return a wrong match", "false positive identification rate")
	say(a.FNIR, "searches for a person who is in the database miss them", "false negative identification rate")
	say(a.FMR, "comparisons of two different people wrongly find a match", "false match rate")
	say(a.FNMR, "comparisons of the same person wrongly find no match", "false non-match rate")
	return out
}

// outOf says a rate as "3 in 1,000": out of the smallest round number,
// from a thousand up, that makes the count at least one.
func outOf(rate float64) string {
	of := 1000.0
	for rate*of < 0.95 && of < 1e9 {
		of *= 10
	}
	n := math.Round(rate * of)
	return fmt.Sprintf("%s in %s", thousands(int64(n)), thousands(int64(of)))
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Date says a time as a person reads it.
func Date(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") }

// Text is the notice as plain text, to print or send.
func (n Notice) Text() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	p("NOTICE OF A DECISION IN WHICH AN AUTOMATED SYSTEM TOOK PART")
	p("")
	if n.Code != "" {
		p("Your notice code: %s", n.Code)
		p("Keep it: you need it to contest the decision or to see its status.")
		p("")
	}
	p("What was decided")
	p("  On %s, %s decided %s.", Date(n.Decided), n.Controller, n.Decision)
	if !n.Withdrawn.IsZero() {
		p("  This decision was WITHDRAWN on %s, after a contest: it was found wrong.", Date(n.Withdrawn))
	}
	p("")
	p("The part an automated system played")
	p("  The system %q (%s), model %s, suggested a match.", n.System, n.Task, n.Model)
	p("  %d %s reviewed the match and confirmed it before the decision was taken.", n.Confirmations, plural(n.Confirmations, "person", "people"))
	if len(n.Accuracy) > 0 {
		p("  How often this system is wrong, as its published figures say:")
		for _, a := range n.Accuracy {
			p("  - %s.", a)
		}
		if n.AccuracySource != "" {
			p("  Source of these figures: %s.", n.AccuracySource)
		}
	}
	p("")
	p("Who is responsible")
	p("  Responsible for the data and the decision: %s.", n.Controller)
	p("  Contact: %s.", n.Contact)
	p("  You have the right to a copy of the data about you that was used, and to")
	p("  know how it was used. Ask the controller, quoting your notice code.")
	p("")
	switch {
	case n.Outcome != "":
		p("Your contest")
		p("  You contested this decision on %s. It was decided on %s:", Date(n.Contested), Date(n.ContestDecided))
		if n.Outcome == ombud.ContestOverturned {
			p("  the decision was overturned, and is withdrawn.")
		} else {
			p("  the decision was upheld: the reviewer found it stands.")
		}
		p("  At %s, with your notice code, you can read the reviewer's reasons.", n.ContestURL)
	case !n.Contested.IsZero():
		p("Your contest")
		p("  You contested this decision on %s. A reviewer who took no part in the", Date(n.Contested))
		if n.Due.IsZero() {
			p("  decision will decide it.")
		} else {
			p("  decision must decide it by %s.", Date(n.Due))
		}
		p("  At %s, with your notice code, you can see its status.", n.ContestURL)
	default:
		p("How to contest")
		p("  Go to %s, enter your notice code and say why you think the decision is", n.ContestURL)
		p("  wrong. There is no deadline for contesting. A reviewer who took no part in")
		p("  the decision must decide your contest within %d days of its filing; the", n.Deadline)
		p("  public log records when it was filed and decided, and the public")
		p("  transparency report counts contests decided late.")
		p("  With the same code you can see the status and the reviewer's reasons.")
	}
	p("")
	p("Where to appeal next")
	p("  If you disagree with the outcome of your contest, or it is not decided in")
	p("  time, you can turn to %s.", n.Appeal)
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
