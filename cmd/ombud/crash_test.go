package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/poll"
	"github.com/ombud/ombud/receipt"
)

// buildBinary returns the ombud the tests run as a child: this test
// binary, which runs main instead of the tests when its environment says
// so (TestMain sets runAsOmbud for every child). Building ombud apart cost
// a link of the whole program, the package's slowest step.
var buildBinary = sync.OnceValues(os.Executable)

// childEnv is added to the environment of child servers.
var childEnv []string

type child struct {
	cmd    *exec.Cmd
	url    string
	stdout *syncBuffer
	// stderr is every line the child wrote there: its log.
	stderr *syncBuffer
}

// token waits briefly for the admin token line: stdout is copied from the
// child's pipe on another goroutine and may trail its stderr.
func (c *child) token(t *testing.T) string {
	var tok string
	poll.Until(t, 5*time.Second, 10*time.Millisecond, "the admin token on the child's stdout", func() bool {
		tok = lastLine(c.stdout.String())
		return strings.HasPrefix(tok, "omb_")
	})
	return tok
}

// startFresh serves a new data directory from a child ombud and
// returns the binary, the directory, the child and the admin token.
func startFresh(t *testing.T) (bin, dir string, c *child, admin string) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(t.TempDir(), "data")
	c = startChild(t, bin, dir)
	return bin, dir, c, c.token(t)
}

var listenRE = regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:[0-9]+)`)

// startChild runs 'ombud serve' as a child process on a loopback port,
// with flags added.
func startChild(t *testing.T, bin, dir string, flags ...string) *child {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:0", "--log-level", "info"}, flags...)...)
	cmd.Env = append(os.Environ(), childEnv...)
	stdout := &syncBuffer{}
	cmd.Stdout = stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	logged := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
			t.Logf("the child's last lines on stderr:\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logged.Write(append(sc.Bytes(), '\n'))
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return &child{cmd: cmd, url: "http://" + a, stdout: stdout, stderr: logged}
	case <-time.After(30 * time.Second):
		t.Fatal("child did not start listening")
	}
	return nil
}

func getJSON(url string, token string, v any) (int, error) {
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == 200 {
		return resp.StatusCode, json.Unmarshal(b, v)
	}
	return resp.StatusCode, nil
}

// TestCrashLosesNothingAcknowledged kills 'ombud serve' with SIGKILL in the
// middle of a stream of appends, restarts it, and checks that every
// acknowledged append is in the log and that the tree is consistent with the
// last checkpoint seen before the kill.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a child process")
	}
	t.Parallel()
	// Kill at different points of the stream.
	for _, killAt := range []int{50, 300, 1000} {
		t.Run(fmt.Sprintf("kill after %d", killAt), func(t *testing.T) { crashOnce(t, killAt) })
	}
}

func crashOnce(t *testing.T, killAt int) {
	bin, dir, c, admin := startFresh(t)
	if admin == "" {
		t.Fatalf("no admin token on stdout: %q", c.stdout.String())
	}
	dd, err := datadir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}

	type ack struct {
		id    string
		index uint64
	}
	var mu sync.Mutex
	var acks []ack
	var lastCP []byte
	killNow := make(chan struct{}) // closed at the killAt-th acknowledgement
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	// 32 writers, bounded in count and time.
	const writers, perWriter = 32, 400
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				body := fmt.Sprintf(`{"name":"w%d-%d","roles":["analyst"]}`, w, i)
				req, _ := http.NewRequestWithContext(ctx, "POST", c.url+"/v1/principals", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+admin)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server is gone
				}
				var p apiv1.Principal
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 201 || json.Unmarshal(b, &p) != nil || p.Receipt == nil {
					continue
				}
				mu.Lock()
				if acks = append(acks, ack{p.ID, *p.Receipt}); len(acks) == killAt {
					close(killNow)
				}
				mu.Unlock()
			}
		}()
	}
	// A watcher samples the checkpoint the child publishes every 20 ms,
	// and keeps the last it saw.
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for ; ctx.Err() == nil; <-tick.C {
			resp, err := http.Get(c.url + "/log/checkpoint")
			if err != nil {
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				mu.Lock()
				lastCP = b
				mu.Unlock()
			}
		}
	}()
	// Kill once killAt appends were acknowledged, mid-stream.
	select {
	case <-killNow:
	case <-time.After(15 * time.Second):
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(acks) < killAt || lastCP == nil {
		t.Fatalf("only %d acknowledged appends before the kill", len(acks))
	}
	if len(acks) >= writers*perWriter {
		t.Fatalf("the stream finished before the kill; not a crash test")
	}
	before, _, _, err := log.ParseCheckpoint(lastCP, dd.Verifier.Name(), dd.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed after %d acknowledged appends; last checkpoint seen: size %d", len(acks), before.Size)

	c2 := startChild(t, bin, dir)
	if strings.Contains(c2.stdout.String(), "omb_") {
		t.Fatal("restart printed a new admin token")
	}
	check := func(a ack) error {
		var r receipt.Receipt
		if code, err := getJSON(fmt.Sprintf("%s/v1/receipts/%d", c2.url, a.index), "", &r); code != 200 || err != nil {
			return fmt.Errorf("acknowledged entry %d lost: %d %v", a.index, code, err)
		}
		_, e, err := receipt.Verify(&r, dd.Verifier)
		if err != nil {
			return fmt.Errorf("entry %d: %v", a.index, err)
		}
		if e.Kind != entry.KindPrincipal || e.Refs["principal"][0] != dd.Linkage.Pseudonym("principal", a.id) {
			return fmt.Errorf("entry %d is not the creation of principal %s", a.index, a.id)
		}
		if code, _ := getJSON(c2.url+"/v1/principals/"+a.id, admin, nil); code != 200 {
			return fmt.Errorf("acknowledged principal %s lost: %d", a.id, code)
		}
		return nil
	}
	// Every acknowledged append, eight at a time.
	eightAtATime(t, len(acks), func(i int) error { return check(acks[i]) })
	// The tree after restart is consistent with the checkpoint seen before.
	var rawAfter []byte
	poll.Until(t, 10*time.Second, 50*time.Millisecond, "the restarted child's checkpoint", func() bool {
		resp, err := http.Get(c2.url + "/log/checkpoint")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		rawAfter, _ = io.ReadAll(resp.Body)
		return resp.StatusCode == 200
	})
	after, _, _, err := log.ParseCheckpoint(rawAfter, dd.Verifier.Name(), dd.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	if after.Size < before.Size {
		t.Fatalf("log shrank: %d → %d", before.Size, after.Size)
	}
	if before.Size == 0 {
		return // every tree is consistent with the empty one
	}
	if after.Size == before.Size {
		if !bytes.Equal(after.Hash, before.Hash) {
			t.Fatal("same size, different root: a fork")
		}
		return
	}
	var p struct {
		Proof [][]byte `json:"proof"`
	}
	if code, err := getJSON(fmt.Sprintf("%s/v1/proofs/consistency?from=%d&tree_size=%d", c2.url, before.Size, after.Size), "", &p); code != 200 || err != nil {
		t.Fatalf("consistency proof: %d %v", code, err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, before.Size, after.Size, p.Proof, before.Hash, after.Hash); err != nil {
		t.Fatalf("tree after restart is not consistent with the checkpoint seen before the kill: %v", err)
	}
}

// TestSIGTERMFlushes sends SIGTERM to a child 'ombud serve' right after a
// burst of appends: it exits 0, and its last checkpoint covers every entry.
func TestSIGTERMFlushes(t *testing.T) {
	if testing.Short() {
		t.Skip("signals a child process")
	}
	t.Parallel()
	_, dir, c, admin := startFresh(t)
	var last uint64
	for i := range 20 {
		req, _ := http.NewRequest("POST", c.url+"/v1/principals", strings.NewReader(fmt.Sprintf(`{"name":"p%d","roles":["auditor"]}`, i)))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 201 {
			t.Fatalf("principal add: %d", resp.StatusCode)
		}
		var p struct{ Receipt uint64 }
		json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		last = p.Receipt
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}
	dd, _ := datadir.Open(dir)
	raw, err := os.ReadFile(filepath.Join(dir, "log", "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	cp, _, _, err := log.ParseCheckpoint(raw, dd.Verifier.Name(), dd.Verifier)
	if err != nil || cp.Size != last+1 {
		t.Fatalf("checkpoint after SIGTERM: size %d, want %d (%v)", cp.Size, last+1, err)
	}
}

// eightAtATime calls check(i) for every i below n, eight at a time, and
// fails t with the first error they return and how many there were.
func eightAtATime(t *testing.T, n int, check func(i int) error) {
	t.Helper()
	failed := make(chan error, n)
	var checks sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		checks.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; checks.Done() }()
			if err := check(i); err != nil {
				failed <- err
			}
		}()
	}
	checks.Wait()
	close(failed)
	if len(failed) > 0 {
		n := len(failed)
		t.Fatalf("%v (and %d more)", <-failed, n-1)
	}
}

// putMany stores n objects, body(i) each, from uploaders clients at once
// (each ingest waits for its log batch, so many at once share the
// batches), and returns their ids in order.
func putMany(ctx context.Context, t *testing.T, c *client.Client, n, uploaders int, body func(i int) []byte, put client.Put) []string {
	t.Helper()
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, uploaders)
	for range uploaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				b := body(i)
				p := put
				p.Size = int64(len(b))
				o, err := c.PutObject(ctx, bytes.NewReader(b), p)
				if err != nil {
					errs <- err
					return
				}
				ids[i] = o.ID
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	return ids
}
