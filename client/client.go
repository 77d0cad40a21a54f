// Package client is a Go client of ombud's HTTP API (docs/API.md). The
// CLI uses it, and so can integrators: every call takes and returns the
// request and response types of package apiv1, which the server uses too.
//
//	c, err := client.New("https://records.example.org", os.Getenv("OMBUD_TOKEN"))
//	p, err := c.CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "Case team 4", Roles: []ombud.Role{ombud.RoleAnalyst}})
//
// An error answer is an *Error, with the server's status, stable code and
// message, and the receipt of the decision when the refusal was logged. A
// call's answer is never a nil pointer, also with an error (then it holds
// zero values), so a caller may name its fields before it looks at err.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/receipt"
)

// Client talks to one ombud server with one token.
type Client struct {
	server string
	token  string
	// HTTP makes the JSON calls; its timeout bounds each. Streams (objects
	// up and down) use Stream, which has no overall timeout: objects may
	// be large, and the server bounds each stream itself.
	HTTP   *http.Client
	Stream *http.Client
}

// New returns a client of the server at base, such as
// https://records.example.org, authenticating with token ("" for the
// public endpoints).
func New(base, token string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q: want a URL like http://127.0.0.1:8080", base)
	}
	return &Client{server: strings.TrimRight(u.String(), "/"), token: token,
		HTTP: &http.Client{Timeout: 60 * time.Second}, Stream: &http.Client{}}, nil
}

// Server is the server's base URL.
func (c *Client) Server() string { return c.server }

// MaxAnswer bounds a JSON answer.
const MaxAnswer = 16 << 20

// Error is an error answer from the server.
type Error struct {
	Status  int        // the HTTP status
	Code    ombud.Code // the stable code, "" when the answer was not ombud's
	Message string
	// Reason is the refusal's own code within Code, when it has one.
	Reason string
	// Receipt is the log entry of a logged refusal (a denied read).
	Receipt *uint64
	// Problems are every problem of an invalid input, each at its field.
	Problems []ombud.Problem
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("server refused (%d", e.Status)
	if e.Code != "" {
		msg += fmt.Sprintf(" %s: %s", e.Code, e.Message)
		if e.Reason != "" {
			msg += " [" + e.Reason + "]"
		}
	} else {
		msg += " " + http.StatusText(e.Status)
	}
	msg += ")"
	if len(e.Problems) > 1 {
		for _, p := range e.Problems {
			msg += "\n  " + p.Path + ": " + p.Message
		}
	}
	if e.Receipt != nil {
		msg += fmt.Sprintf(" (decision logged as entry %d)", *e.Receipt)
	}
	return msg
}

// ErrorCode returns the code of an *Error in err's chain, or "".
func ErrorCode(err error) ombud.Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// send is the one way the client talks to the server: it sets the token,
// and turns an error answer into an *Error.
func (c *Client) send(ctx context.Context, hc *http.Client, method, path string, hdr http.Header, body io.Reader, size int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, body)
	if err != nil {
		return nil, err
	}
	if size >= 0 && body != nil {
		req.ContentLength = size // a known length: no chunked encoding
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach %s: %w", c.server, err)
	}
	if resp.StatusCode < 400 {
		return resp, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e := &Error{Status: resp.StatusCode}
	var eb apiv1.ErrorBody
	if json.Unmarshal(raw, &eb) == nil && eb.Error.Code != "" {
		e.Code, e.Message, e.Reason, e.Problems = eb.Error.Code, eb.Error.Message, eb.Error.Reason, eb.Error.Problems
	}
	if r, err := strconv.ParseUint(resp.Header.Get("Ombud-Receipt"), 10, 64); err == nil {
		e.Receipt = &r
	}
	return nil, e
}

// call sends in (nil for no body) as JSON and decodes the answer into out.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	hdr := http.Header{}
	size := int64(-1)
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, size = bytes.NewReader(b), int64(len(b))
		hdr.Set("Content-Type", "application/json")
	}
	resp, err := c.send(ctx, c.HTTP, method, path, hdr, body, size)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp.Body, out)
}

func decode(r io.Reader, out any) error {
	if err := json.NewDecoder(io.LimitReader(r, MaxAnswer)).Decode(out); err != nil {
		return fmt.Errorf("unexpected answer from the server: %w", err)
	}
	return nil
}

func esc(s string) string { return url.PathEscape(s) }

// Whoami returns the principal the token belongs to.
func (c *Client) Whoami(ctx context.Context) (*apiv1.Principal, error) {
	var out apiv1.Principal
	return &out, c.call(ctx, "GET", "/v1/whoami", nil, &out)
}

// CreatePrincipal creates a principal; the answer holds its token, shown
// this once.
func (c *Client) CreatePrincipal(ctx context.Context, in apiv1.CreatePrincipal) (*apiv1.Principal, error) {
	var out apiv1.Principal
	return &out, c.call(ctx, "POST", "/v1/principals", in, &out)
}

// Principals lists the principals.
func (c *Client) Principals(ctx context.Context) ([]apiv1.Principal, error) {
	var out apiv1.Principals
	err := c.call(ctx, "GET", "/v1/principals", nil, &out)
	return out.Principals, err
}

// DisablePrincipal disables a principal.
func (c *Client) DisablePrincipal(ctx context.Context, id string) (*apiv1.PrincipalDisabled, error) {
	var out apiv1.PrincipalDisabled
	return &out, c.call(ctx, "DELETE", "/v1/principals/"+esc(id), nil, &out)
}

// RestoreEmergency gives back a principal's emergency access, suspended
// after a breach.
func (c *Client) RestoreEmergency(ctx context.Context, id string) (*apiv1.EmergencyRestored, error) {
	var out apiv1.EmergencyRestored
	return &out, c.call(ctx, "POST", "/v1/principals/"+esc(id)+"/emergency/restore", nil, &out)
}

// Attest records that the data derived from the emergency read logged at
// index was deleted.
func (c *Client) Attest(ctx context.Context, index uint64, in apiv1.Attest) (*apiv1.Attested, error) {
	var out apiv1.Attested
	return &out, c.call(ctx, "POST", "/v1/emergencies/"+strconv.FormatUint(index, 10)+"/attest", in, &out)
}

// Put is what PutObject needs beside the bytes.
type Put struct {
	Class       string
	Subjects    []string // identifiers of the people it is about
	Source      string
	CollectedAt string // RFC 3339; "" for now
	Region      string
	// Size is the body's length, or -1 when unknown.
	Size int64
}

// PutObject stores body as a new object.
func (c *Client) PutObject(ctx context.Context, body io.Reader, p Put) (*apiv1.Object, error) {
	hdr := http.Header{}
	hdr.Set("Ombud-Class", p.Class)
	hdr.Set("Content-Type", "application/octet-stream")
	if len(p.Subjects) > 0 {
		hdr.Set("Ombud-Subjects", strings.Join(p.Subjects, ","))
	}
	for k, v := range map[string]string{"Ombud-Source": p.Source, "Ombud-Collected-At": p.CollectedAt, "Ombud-Region": p.Region} {
		if v != "" {
			hdr.Set(k, v)
		}
	}
	var out apiv1.Object
	resp, err := c.send(ctx, c.Stream, "PUT", "/v1/objects", hdr, body, p.Size)
	if err != nil {
		return &out, err
	}
	defer resp.Body.Close()
	return &out, decode(resp.Body, &out)
}

// Read is a read request: the stated purpose, and what it relies on.
type Read struct {
	Purpose       string // a registered purpose code
	Authorization string // the authorization's id, for sensitive classes
	Justification string // free text, kept only in the private detail record
	Emergency     string // an emergency reason code, where policy allows
	Range         string // an HTTP Range, such as bytes=0-1023
	// Flag, with the purpose review, views the object as evidence of
	// that flag (a reviewer's viewing, logged as such).
	Flag string
}

// Object is an object being read: its bytes, and the receipt of the
// decision that released them.
type Object struct {
	io.ReadCloser
	Size    int64 // -1 when unknown
	Receipt string
}

// GetObject reads an object; the decision is logged before a byte is
// sent. Close the answer.
func (c *Client) GetObject(ctx context.Context, id string, r Read) (*Object, error) {
	hdr := http.Header{}
	hdr.Set("Ombud-Purpose", r.Purpose)
	for k, v := range map[string]string{"Ombud-Authorization": r.Authorization, "Ombud-Justification": r.Justification, "Ombud-Emergency": r.Emergency, "Range": r.Range, "Ombud-Flag": r.Flag} {
		if v != "" {
			hdr.Set(k, v)
		}
	}
	resp, err := c.send(ctx, c.Stream, "GET", "/v1/objects/"+esc(id), hdr, nil, -1)
	if err != nil {
		return nil, err
	}
	return &Object{ReadCloser: resp.Body, Size: resp.ContentLength, Receipt: resp.Header.Get("Ombud-Receipt")}, nil
}

// ObjectStatus returns an object's metadata.
func (c *Client) ObjectStatus(ctx context.Context, id string) (*apiv1.Object, error) {
	var out apiv1.Object
	return &out, c.call(ctx, "GET", "/v1/objects/"+esc(id)+"/status", nil, &out)
}

// SetHold puts a legal hold on an object.
func (c *Client) SetHold(ctx context.Context, id string, in apiv1.Order) (*apiv1.OrderDone, error) {
	var out apiv1.OrderDone
	return &out, c.call(ctx, "POST", "/v1/objects/"+esc(id)+"/hold", in, &out)
}

// ReleaseHold lifts a legal hold.
func (c *Client) ReleaseHold(ctx context.Context, id string, in apiv1.Order) (*apiv1.OrderDone, error) {
	var out apiv1.OrderDone
	return &out, c.call(ctx, "POST", "/v1/objects/"+esc(id)+"/hold/release", in, &out)
}

// Erase crypto-shreds an object.
func (c *Client) Erase(ctx context.Context, id string, in apiv1.Order) (*apiv1.OrderDone, error) {
	var out apiv1.OrderDone
	return &out, c.call(ctx, "POST", "/v1/objects/"+esc(id)+"/erase", in, &out)
}

// Sweep runs the retention sweep now.
func (c *Client) Sweep(ctx context.Context) (*apiv1.SweepResult, error) {
	var out apiv1.SweepResult
	return &out, c.call(ctx, "POST", "/v1/sweep", nil, &out)
}

// RotateKeys rotates the key-encryption key.
func (c *Client) RotateKeys(ctx context.Context) (*apiv1.Rotated, error) {
	var out apiv1.Rotated
	return &out, c.call(ctx, "POST", "/v1/keys/rotate", nil, &out)
}

// RegisterIssuer registers an authority that signs authorizations.
func (c *Client) RegisterIssuer(ctx context.Context, in apiv1.RegisterIssuer) (*apiv1.Issuer, error) {
	var out apiv1.Issuer
	return &out, c.call(ctx, "POST", "/v1/issuers", in, &out)
}

// Issuers lists the registered issuers.
func (c *Client) Issuers(ctx context.Context) ([]apiv1.Issuer, error) {
	var out apiv1.Issuers
	err := c.call(ctx, "GET", "/v1/issuers", nil, &out)
	return out.Issuers, err
}

// RegisterAuthorization registers a signed authorization note.
func (c *Client) RegisterAuthorization(ctx context.Context, signed []byte) (*apiv1.Authorization, error) {
	var out apiv1.Authorization
	if len(signed) > ombud.MaxAuthorizationSize {
		return &out, fmt.Errorf("the authorization is %d bytes, more than %d", len(signed), ombud.MaxAuthorizationSize)
	}
	hdr := http.Header{}
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := c.send(ctx, c.HTTP, "POST", "/v1/authorizations", hdr, bytes.NewReader(signed), int64(len(signed)))
	if err != nil {
		return &out, err
	}
	defer resp.Body.Close()
	return &out, decode(resp.Body, &out)
}

// Authorization returns a registered authorization.
func (c *Client) Authorization(ctx context.Context, id string) (*apiv1.Authorization, error) {
	var out apiv1.Authorization
	return &out, c.call(ctx, "GET", "/v1/authorizations/"+esc(id), nil, &out)
}

// RevokeAuthorization revokes a registered authorization.
func (c *Client) RevokeAuthorization(ctx context.Context, id string, in apiv1.Revoke) (*apiv1.Revoked, error) {
	var out apiv1.Revoked
	return &out, c.call(ctx, "POST", "/v1/authorizations/"+esc(id)+"/revoke", in, &out)
}

// ReloadPolicy loads the policy file again and logs a change.
func (c *Client) ReloadPolicy(ctx context.Context) (*apiv1.PolicyLoaded, error) {
	var out apiv1.PolicyLoaded
	return &out, c.call(ctx, "POST", "/v1/policy/reload", nil, &out)
}

// PublishReport publishes the transparency report of a period.
func (c *Client) PublishReport(ctx context.Context, in apiv1.PublishReport) (*apiv1.Published, error) {
	var out apiv1.Published
	return &out, c.call(ctx, "POST", "/v1/reports", in, &out)
}

// Receipt returns the raw receipt of the log entry at index (see
// receipt.Parse and receipt.Verify).
func (c *Client) Receipt(ctx context.Context, index uint64) ([]byte, error) {
	return c.receipt(ctx, "/v1/receipts/"+strconv.FormatUint(index, 10))
}

// receipt fetches a receipt from path, as the server sends it.
func (c *Client) receipt(ctx context.Context, path string) ([]byte, error) {
	resp, err := c.send(ctx, c.HTTP, "GET", path, nil, nil, -1)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, receipt.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read the receipt: %w", err)
	}
	if len(b) > receipt.MaxSize {
		return nil, fmt.Errorf("the receipt is larger than %d bytes", receipt.MaxSize)
	}
	return b, nil
}

// RegisterSystem registers an analytic system with its first version.
func (c *Client) RegisterSystem(ctx context.Context, in apiv1.RegisterSystem) (*apiv1.SystemVersionDone, error) {
	var out apiv1.SystemVersionDone
	return &out, c.call(ctx, "POST", "/v1/systems", in, &out)
}

// RegisterVersion registers a further version of a system.
func (c *Client) RegisterVersion(ctx context.Context, system string, in apiv1.RegisterVersion) (*apiv1.SystemVersionDone, error) {
	var out apiv1.SystemVersionDone
	return &out, c.call(ctx, "POST", "/v1/systems/"+esc(system)+"/versions", in, &out)
}

// RetireVersion retires a version of a system.
func (c *Client) RetireVersion(ctx context.Context, system, version string) (*apiv1.SystemVersionDone, error) {
	var out apiv1.SystemVersionDone
	return &out, c.call(ctx, "POST", "/v1/systems/"+esc(system)+"/versions/"+esc(version)+"/retire", nil, &out)
}

// Systems lists the registry of analytic systems (public).
func (c *Client) Systems(ctx context.Context) ([]apiv1.System, error) {
	var out apiv1.Systems
	err := c.call(ctx, "GET", "/v1/systems", nil, &out)
	return out.Systems, err
}

// ImportContracts registers raw, an OCDS release or release package, in
// the registry of procurement contracts: all of it or none.
func (c *Client) ImportContracts(ctx context.Context, raw []byte) (*apiv1.ContractsImported, error) {
	var out apiv1.ContractsImported
	return &out, c.callRaw(ctx, "POST", "/v1/contracts", raw, &out)
}

// AmendContract records raw, a later release of the registered contract
// ocid.
func (c *Client) AmendContract(ctx context.Context, ocid string, raw []byte) (*apiv1.ContractRegistered, error) {
	var out apiv1.ContractRegistered
	return &out, c.callRaw(ctx, "POST", "/v1/contracts/"+esc(ocid)+"/releases", raw, &out)
}

// Contracts lists the registry of procurement contracts.
func (c *Client) Contracts(ctx context.Context) ([]apiv1.Contract, error) {
	var out apiv1.Contracts
	err := c.call(ctx, "GET", "/v1/contracts", nil, &out)
	return out.Contracts, err
}

// callRaw sends raw, JSON as it is, and decodes the answer into out.
func (c *Client) callRaw(ctx context.Context, method, path string, raw []byte, out any) error {
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	resp, err := c.send(ctx, c.HTTP, method, path, hdr, bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp.Body, out)
}

// RegisterRecipient registers a body that exports may go to.
func (c *Client) RegisterRecipient(ctx context.Context, in apiv1.RegisterRecipient) (*apiv1.RecipientDone, error) {
	var out apiv1.RecipientDone
	return &out, c.call(ctx, "POST", "/v1/recipients", in, &out)
}

// RetireRecipient retires a recipient: no export goes to it from then on.
func (c *Client) RetireRecipient(ctx context.Context, id string) (*apiv1.RecipientDone, error) {
	var out apiv1.RecipientDone
	return &out, c.call(ctx, "POST", "/v1/recipients/"+esc(id)+"/retire", nil, &out)
}

// Recipients lists the registry of recipients, names included.
func (c *Client) Recipients(ctx context.Context) ([]apiv1.Recipient, error) {
	var out apiv1.Recipients
	err := c.call(ctx, "GET", "/v1/recipients", nil, &out)
	return out.Recipients, err
}

// Notices lists the erasure notices f selects, one page: its Next is
// the After of the next.
func (c *Client) Notices(ctx context.Context, recipient, state, after string) (*apiv1.Notices, error) {
	q := url.Values{}
	for k, v := range map[string]string{"recipient": recipient, "state": state, "after": after} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out apiv1.Notices
	return &out, c.call(ctx, "GET", "/v1/notices?"+q.Encode(), nil, &out)
}

// SendNotice marks an erasure notice sent, with how it was sent.
func (c *Client) SendNotice(ctx context.Context, id, note string) (*apiv1.Notice, error) {
	var out apiv1.Notice
	return &out, c.call(ctx, "POST", "/v1/notices/"+esc(id)+"/sent", apiv1.SendNotice{Note: note}, &out)
}

// Quorum returns the quorum in force.
func (c *Client) Quorum(ctx context.Context) (*apiv1.Quorum, error) {
	var out apiv1.Quorum
	return &out, c.call(ctx, "GET", "/v1/quorum", nil, &out)
}

// SetQuorum enables, raises, lowers or disables the quorum.
func (c *Client) SetQuorum(ctx context.Context, in apiv1.SetQuorum) (*apiv1.Quorum, error) {
	var out apiv1.Quorum
	return &out, c.call(ctx, "POST", "/v1/quorum", in, &out)
}

// Propose proposes a privileged operation.
func (c *Client) Propose(ctx context.Context, in apiv1.Propose) (*apiv1.Proposal, error) {
	var out apiv1.Proposal
	return &out, c.call(ctx, "POST", "/v1/proposals", in, &out)
}

// Proposals lists the proposals in state ("" for all).
func (c *Client) Proposals(ctx context.Context, state string) ([]apiv1.Proposal, error) {
	var out apiv1.Proposals
	q := ""
	if state != "" {
		q = "?state=" + url.QueryEscape(state)
	}
	return out.Proposals, c.call(ctx, "GET", "/v1/proposals"+q, nil, &out)
}

// Vote approves or refuses a proposal; the answer's Executed holds what
// the operation answered when this vote reached the quorum.
func (c *Client) Vote(ctx context.Context, id string, approve bool) (*apiv1.Proposal, error) {
	how := "refuse"
	if approve {
		how = "approve"
	}
	var out apiv1.Proposal
	return &out, c.call(ctx, "POST", "/v1/proposals/"+esc(id)+"/"+how, nil, &out)
}

// RunProposal runs an approved proposal's operation again after its run
// was refused (POST /v1/proposals/{id}/run).
func (c *Client) RunProposal(ctx context.Context, id string) (*apiv1.Proposal, error) {
	var out apiv1.Proposal
	return &out, c.call(ctx, "POST", "/v1/proposals/"+esc(id)+"/run", nil, &out)
}

// Export asks for an export and returns its sealed package as a stream,
// with the export's id and its entry's index; the caller closes it. A
// refusal is an error (an *Error, with its receipt when it was logged).
func (c *Client) Export(ctx context.Context, in apiv1.StartExport) (io.ReadCloser, string, uint64, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, "", 0, err
	}
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	resp, err := c.send(ctx, c.Stream, "POST", "/v1/exports", hdr, bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, "", 0, err
	}
	idx, _ := strconv.ParseUint(resp.Header.Get("Ombud-Receipt"), 10, 64)
	return resp.Body, resp.Header.Get(apiv1.HeaderExport), idx, nil
}

// StartRun starts an analytic run.
func (c *Client) StartRun(ctx context.Context, in apiv1.StartRun) (*apiv1.RunStarted, error) {
	var out apiv1.RunStarted
	return &out, c.call(ctx, "POST", "/v1/runs", in, &out)
}

// RaiseFlag records an automated match raised in a run.
func (c *Client) RaiseFlag(ctx context.Context, in apiv1.CreateFlag) (*apiv1.FlagCreated, error) {
	var out apiv1.FlagCreated
	return &out, c.call(ctx, "POST", "/v1/flags", in, &out)
}

// AwaitingFlags lists the flags awaiting the caller's review.
func (c *Client) AwaitingFlags(ctx context.Context) ([]apiv1.Flag, error) {
	var out []apiv1.Flag
	return out, c.call(ctx, "GET", "/v1/flags/awaiting", nil, &out)
}

// ReviewFlag confirms or rejects a flag, with a rationale.
func (c *Client) ReviewFlag(ctx context.Context, flag string, in apiv1.ReviewFlag) (*apiv1.Reviewed, error) {
	var out apiv1.Reviewed
	return &out, c.call(ctx, "POST", "/v1/flags/"+esc(flag)+"/reviews", in, &out)
}

// TakeAction takes an action on a reviewed flag; the answer holds the
// notice code for the person affected, shown once.
func (c *Client) TakeAction(ctx context.Context, in apiv1.TakeAction) (*apiv1.ActionTaken, error) {
	var out apiv1.ActionTaken
	return &out, c.call(ctx, "POST", "/v1/actions", in, &out)
}

// Actions lists the actions the caller took, newest first, each standing
// or withdrawn.
func (c *Client) Actions(ctx context.Context) ([]apiv1.Action, error) {
	var out []apiv1.Action
	return out, c.call(ctx, "GET", "/v1/actions", nil, &out)
}

// Action returns one action, to the analyst who took it or oversight.
func (c *Client) Action(ctx context.Context, id string) (*apiv1.Action, error) {
	var out apiv1.Action
	return &out, c.call(ctx, "GET", "/v1/actions/"+url.PathEscape(id), nil, &out)
}

// OpenContests lists the contests awaiting resolution.
func (c *Client) OpenContests(ctx context.Context) ([]apiv1.Contest, error) {
	var out []apiv1.Contest
	return out, c.call(ctx, "GET", "/v1/contests", nil, &out)
}

// ResolveContest upholds or overturns a contested action, with a
// rationale.
func (c *Client) ResolveContest(ctx context.Context, id string, in apiv1.ResolveContest) (*apiv1.ContestResolved, error) {
	var out apiv1.ContestResolved
	return &out, c.call(ctx, "POST", "/v1/contests/"+esc(id)+"/resolution", in, &out)
}

// Run returns a run.
func (c *Client) Run(ctx context.Context, id string) (*apiv1.Run, error) {
	var out apiv1.Run
	return &out, c.call(ctx, "GET", "/v1/runs/"+esc(id), nil, &out)
}

// CloseRun closes a run, which logs its summary.
func (c *Client) CloseRun(ctx context.Context, id string) (*apiv1.Run, error) {
	var out apiv1.Run
	return &out, c.call(ctx, "POST", "/v1/runs/"+esc(id)+"/close", nil, &out)
}

// RunPart is one object of a run's stream. A denied object has no bytes.
type RunPart struct {
	Object   string
	Class    string
	Position int
	Receipt  uint64
	Denied   bool
	Reason   string // a denial's reason
	Size     int64  // the object's bytes (-1 when not given)
	Body     io.Reader
}

// RunStream is a run's objects being read; Next returns each in turn.
// Close it.
type RunStream struct {
	body io.ReadCloser
	mr   *multipart.Reader
	part *multipart.Part
}

// ReadRun opens the stream of a run's objects from position from.
func (c *Client) ReadRun(ctx context.Context, id string, from int) (*RunStream, error) {
	resp, err := c.send(ctx, c.Stream, "GET", "/v1/runs/"+esc(id)+"/objects?from="+strconv.Itoa(from), nil, nil, -1)
	if err != nil {
		return nil, err
	}
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		resp.Body.Close()
		return nil, fmt.Errorf("unexpected answer from the server: Content-Type %q", resp.Header.Get("Content-Type"))
	}
	return &RunStream{body: resp.Body, mr: multipart.NewReader(resp.Body, params["boundary"])}, nil
}

// Next returns the next object, io.EOF at the end of the stream. Read its
// Body before calling Next again. A stream that breaks midway returns an
// error, never io.EOF: resume from the position after the last whole part.
func (s *RunStream) Next() (*RunPart, error) {
	if s.part != nil {
		s.part.Close()
	}
	p, err := s.mr.NextPart()
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("the stream broke: %w", err)
	}
	s.part = p
	h := p.Header
	rp := &RunPart{Object: h.Get(apiv1.PartObject), Class: h.Get(apiv1.PartClass), Denied: h.Get(apiv1.PartDecision) == "deny",
		Reason: h.Get(apiv1.PartReason), Size: -1, Body: p}
	var perr error
	if rp.Position, perr = strconv.Atoi(h.Get(apiv1.PartPosition)); perr != nil {
		return nil, fmt.Errorf("unexpected part: no %s", apiv1.PartPosition)
	}
	if rp.Receipt, perr = strconv.ParseUint(h.Get(apiv1.PartReceipt), 10, 64); perr != nil {
		return nil, fmt.Errorf("unexpected part: no %s", apiv1.PartReceipt)
	}
	if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil {
		rp.Size = n
		rp.Body = &exactReader{r: p, left: n}
	}
	return rp, nil
}

// Close ends the stream.
func (s *RunStream) Close() error { return s.body.Close() }

// exactReader reads exactly left bytes: fewer is an error, not an end.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// Tips lists the whistleblower intake's tips from after (""), only the
// unanswered ones when unanswered is set.
func (c *Client) Tips(ctx context.Context, unanswered bool, after string) (*apiv1.Tips, error) {
	q := url.Values{}
	if unanswered {
		q.Set("unanswered", "true")
	}
	if after != "" {
		q.Set("after", after)
	}
	var out apiv1.Tips
	return &out, c.call(ctx, "GET", "/v1/tips?"+q.Encode(), nil, &out)
}

// Tip returns a tip with its messages.
func (c *Client) Tip(ctx context.Context, id string) (*apiv1.Tip, error) {
	var out apiv1.Tip
	return &out, c.call(ctx, "GET", "/v1/tips/"+esc(id), nil, &out)
}

// TipMessage returns the sealed bytes of a tip's message n, at most max.
func (c *Client) TipMessage(ctx context.Context, id string, n int, max int64) ([]byte, error) {
	resp, err := c.send(ctx, c.HTTP, "GET", "/v1/tips/"+esc(id)+"/messages/"+strconv.Itoa(n), nil, nil, -1)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read message %d of tip %s: %w", n, id, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("message %d of tip %s is larger than %d bytes", n, id, max)
	}
	return b, nil
}

// ReplyTip sends a reply sealed to the tip's reply key: op is
// acknowledged, answered or replied. It returns the tip and the reply's
// log entry.
func (c *Client) ReplyTip(ctx context.Context, id, op string, sealed []byte) (*apiv1.Tip, uint64, error) {
	var out apiv1.Tip
	resp, err := c.send(ctx, c.HTTP, "POST", "/v1/tips/"+esc(id)+"/replies?op="+url.QueryEscape(op),
		http.Header{"Content-Type": {"application/age"}}, bytes.NewReader(sealed), int64(len(sealed)))
	if err != nil {
		return &out, 0, err
	}
	defer resp.Body.Close()
	if err := decode(resp.Body, &out); err != nil {
		return &out, 0, err
	}
	idx, _ := strconv.ParseUint(resp.Header.Get("Ombud-Receipt"), 10, 64)
	return &out, idx, nil
}

// TipReceipt returns the receipt of the tip entry of a source's
// submission with this commitment; a 404 *Error until it is logged.
func (c *Client) TipReceipt(ctx context.Context, commitment string) ([]byte, error) {
	return c.receipt(ctx, "/v1/tips/receipt/"+esc(commitment))
}
