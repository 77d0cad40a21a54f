package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestREADMETour runs the README's tour as written: its commands,
// extracted from README.md (so the test fails when the README drifts), in
// order, in a fresh temporary folder with a fresh data directory. The
// first command, serve, runs as a child on a free loopback port; the
// others run in one bash with -e, -u and pipefail. Three things are
// substituted, those the tour itself tells the reader to supply: this
// test binary, run as ombud (TestMain), for 'go run ./cmd/ombud'; the
// child's address for http://127.0.0.1:8080 (and OMBUD_SERVER); and the
// admin token serve printed for 'omb_…'. The repository's files it names
// (a fixture of contracts) are copied into the folder. A command whose comment says it is refused or
// denied must fail, and say the reason named in the comment's
// parentheses. The first start must say in plain words that a new log
// was created, without Tessera's line about a missing checkpoint, and
// serve must log no error.
func TestREADMETour(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's tour against a child ombud")
	}
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "head", "tail", "date", "cat", "printf"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's tour needs %s: %v", tool, err)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds := tourCommands(string(readme))
	if len(cmds) < 20 {
		t.Fatalf("found %d commands in the README's tour", len(cmds))
	}
	const goRun = "go run ./cmd/ombud "
	serve := shellWords(cmds[0])
	if !strings.HasPrefix(cmds[0], goRun+"serve ") {
		t.Fatalf("the tour does not begin with serve: %q", cmds[0])
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	// The repository's files the tour names, where a reader in the
	// repository's folder finds them.
	for _, f := range []string{"contracts/testdata/registry-package.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(work, filepath.Dir(filepath.FromSlash(f))), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, filepath.FromSlash(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	// Terminal one.
	srv := exec.Command(bin, append(serve[3:], "--listen", "127.0.0.1:0")...)
	srv.Dir = work
	srv.Env = os.Environ()
	var srvOut syncBuffer
	srv.Stdout = &srvOut
	stderr, err := srv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	var srvErr syncBuffer
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			srvErr.Write([]byte(sc.Text() + "\n"))
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	var url string
	select {
	case a := <-addr:
		url = "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start listening:\n%s", srvErr.String())
	}
	admin := (&child{stdout: &srvOut}).token(t)
	first := srvOut.String() + srvErr.String()
	if !strings.Contains(first, "a new, empty transparency log") || strings.Contains(first, "Failed to fetch old checkpoint") || strings.Contains(first, "ONCE per log") {
		t.Errorf("the first start does not say plainly that a new log was created:\n%s", first)
	}

	// Terminal two.
	var script strings.Builder
	script.WriteString("set -eu -o pipefail\n")
	tokens := 0
	for _, c := range cmds[1:] {
		tokens += strings.Count(c, "omb_…")
		c = strings.ReplaceAll(c, goRun, shellQuote(bin)+" ")
		c = strings.ReplaceAll(c, "http://127.0.0.1:8080", url)
		c = strings.ReplaceAll(c, "omb_…", admin)
		script.WriteString("printf '%s\\n' " + shellQuote("+ "+c) + "\n")
		code, comment := cutComment(c)
		refusal := regexp.MustCompile(`^(?:refused|denied)\b(?: \(([a-z_0-9]+)\))?`).FindStringSubmatch(comment)
		if refusal == nil {
			script.WriteString(c + "\n")
			continue
		}
		if refusal[1] == "" {
			t.Fatalf("the tour says %q is refused, without its reason in parentheses", c)
		}
		script.WriteString("if tour_out=$( { " + code + " ; } 2>&1 ); then printf '%s\\n' \"$tour_out\"; echo 'TOUR: the command above was not refused' >&2; exit 90; fi\n")
		script.WriteString("printf '%s\\n' \"$tour_out\"\n")
		script.WriteString("case \"$tour_out\" in *" + shellQuote(refusal[1]) + "*) ;; *) echo " + shellQuote("TOUR: the refusal above does not say "+refusal[1]) + " >&2; exit 91;; esac\n")
	}
	if tokens != 1 {
		t.Fatalf("the tour asks for the admin token %d times; the test supplies it once", tokens)
	}
	sh := exec.CommandContext(ctx, "bash", "-c", script.String())
	sh.Dir = work
	sh.Env = append(os.Environ(), "OMBUD_SERVER="+url, "OMBUD_TOKEN=", "OMBUD_AUDITOR_TOKEN=")
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's tour failed: %v\n%s\nserve:\n%s", err, out, srvErr.String())
	}
	t.Logf("the README's tour ran %d commands in %s\n%s", len(cmds), work, out)

	srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		t.Errorf("serve: %v\n%s", err, srvErr.String())
	}
	if strings.Contains(srvErr.String(), "level=ERROR") {
		t.Errorf("serve logged an error during the tour:\n%s", srvErr.String())
	}
}

// tourCommands returns the shell commands of the README's tour: the sh
// blocks of its section, without comment lines, with continued lines
// joined.
func tourCommands(readme string) []string {
	_, sec, _ := strings.Cut(readme, "\n## A five-minute tour\n")
	sec, _, _ = strings.Cut(sec, "\n## ")
	var cmds []string
	for {
		_, rest, ok := strings.Cut(sec, "\n```sh\n")
		if !ok {
			return cmds
		}
		block, after, _ := strings.Cut(rest, "\n```\n")
		sec = after
		cur := ""
		for _, line := range strings.Split(block, "\n") {
			if t := strings.TrimSpace(line); cur == "" && (t == "" || strings.HasPrefix(t, "#")) {
				continue
			}
			if l, ok := strings.CutSuffix(line, "\\"); ok {
				cur += l
				continue
			}
			cmds = append(cmds, strings.TrimSpace(cur+line))
			cur = ""
		}
	}
}

// cutComment splits a command line at its trailing comment: a # after a
// blank, outside quotes.
func cutComment(s string) (code, comment string) {
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && i > 0 && (s[i-1] == ' ' || s[i-1] == '\t'):
			return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
		}
	}
	return s, ""
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
