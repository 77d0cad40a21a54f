package witness_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	_ "modernc.org/sqlite" // litewitness's database

	"github.com/ombud/ombud/internal/poll"
	"github.com/ombud/ombud/tlog"
	"github.com/ombud/ombud/witness"
)

// litewitnessBin finds litewitness (filippo.io/torchwood v0.9.0), built by
// .ci/run into $OMBUD_TORCHWOOD_BIN. Without it the test
// is skipped, unless OMBUD_REQUIRE_LITEWITNESS=1 (as in CI).
func litewitnessBin(t *testing.T) string {
	dir := os.Getenv("OMBUD_TORCHWOOD_BIN")
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "litewitness")); err == nil {
			return dir
		}
	}
	if os.Getenv("OMBUD_REQUIRE_LITEWITNESS") == "1" {
		t.Fatalf("litewitness not found in OMBUD_TORCHWOOD_BIN=%q; build it with: GOBIN=DIR go install filippo.io/torchwood/cmd/litewitness@v0.9.0", dir)
	}
	t.Skip("litewitness not available (set OMBUD_TORCHWOOD_BIN; .ci/run builds it)")
	return ""
}

func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// sshEd25519 reads the raw key from an OpenSSH ed25519 public key line.
func sshEd25519(t *testing.T, line string) []byte {
	t.Helper()
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "ssh-ed25519" {
		t.Fatalf("not an ssh-ed25519 key: %q", line)
	}
	b, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		t.Fatal(err)
	}
	var parts [][]byte
	for len(b) >= 4 {
		n := binary.BigEndian.Uint32(b)
		if uint64(len(b)-4) < uint64(n) {
			break
		}
		parts = append(parts, b[4:4+n])
		b = b[4+n:]
	}
	if len(parts) != 2 || string(parts[0]) != "ssh-ed25519" || len(parts[1]) != 32 {
		t.Fatalf("malformed ssh-ed25519 key")
	}
	return parts[1]
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestGatewayCosignedByLitewitness: ombud's log, configured with a witness
// policy naming litewitness (an implementation the project did not write),
// publishes checkpoints that carry litewitness's cosignature, first and
// after growth (with a consistency proof).
func TestGatewayCosignedByLitewitness(t *testing.T) {
	bin := litewitnessBin(t)
	for _, tool := range []string{"ssh-keygen", "ssh-agent", "ssh-add"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	work := t.TempDir()

	// The witness key, held by a dedicated ssh-agent as litewitness wants.
	keyPath := filepath.Join(work, "witness")
	run(t, nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", keyPath)
	sock := filepath.Join(work, "agent.sock")
	agent := exec.CommandContext(ctx, "ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer agent.Process.Kill()
	poll.Until(t, 5*time.Second, 20*time.Millisecond, "ssh-agent's socket", func() bool {
		_, err := os.Stat(sock)
		return err == nil
	})
	run(t, []string{"SSH_AUTH_SOCK=" + sock}, "ssh-add", "-q", keyPath)
	fp := strings.Fields(run(t, nil, "ssh-keygen", "-l", "-E", "sha256", "-f", keyPath+".pub"))[1]
	pubLine, _ := os.ReadFile(keyPath + ".pub")
	const wname = "litewitness.test/w1"
	vkey01, err := note.NewEd25519VerifierKey(wname, sshEd25519(t, string(pubLine)))
	if err != nil {
		t.Fatal(err)
	}
	wvkey, err := witness.VerifierKey(vkey01)
	if err != nil {
		t.Fatal(err)
	}

	// The log, and litewitness told about it.
	skey, lvkey, _ := note.GenerateKey(rand.Reader, "gateway.test/log")
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(lvkey)
	db := filepath.Join(work, "litewitness.db")
	addLitewitnessLog(t, db, signer.Name(), lvkey)
	addr := freeAddr(t)
	lw := exec.CommandContext(ctx, filepath.Join(bin, "litewitness"), "-db", db, "-name", wname, "-key", fp, "-ssh-agent", sock, "-listen", addr)
	var lwOut strings.Builder
	lw.Stdout, lw.Stderr = &lwOut, &lwOut
	if err := lw.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		lw.Process.Kill()
		lw.Wait()
		if t.Failed() {
			t.Logf("litewitness output:\n%s", lwOut.String())
		}
	}()
	poll.Until(t, 5*time.Second, 25*time.Millisecond, "litewitness to start", func() bool {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})

	policy := fmt.Sprintf("witness lw %s http://%s\nquorum lw\n", wvkey, addr)
	lg, err := tlog.New(ctx, tlog.Config{Dir: filepath.Join(work, "log"), Signer: signer, Verifier: verifier,
		BatchMaxAge: 5 * time.Millisecond, CheckpointInterval: 100 * time.Millisecond,
		WitnessPolicy: []byte(policy), WitnessTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close(context.Background())
	cosig, err := fnote.NewVerifierForCosignatureV1(wvkey)
	if err != nil {
		t.Fatal(err)
	}
	for round, n := range []int{3, 30} {
		var last uint64
		for i := range n {
			idx, err := lg.Append(ctx, fmt.Appendf(nil, `{"round":%d,"i":%d}`, round, i))
			if err != nil {
				t.Fatal(err)
			}
			last = idx
		}
		// The log publishes on its own schedule, litewitness cosigns.
		poll.Until(t, 30*time.Second, 50*time.Millisecond, fmt.Sprintf("round %d: a published checkpoint past %d with litewitness's cosignature", round, last), func() bool {
			raw, err := lg.Checkpoint(ctx)
			if err != nil {
				return false
			}
			n, err := note.Open(raw, note.VerifierList(verifier, cosig))
			if err != nil || len(n.Sigs) != 2 {
				return false
			}
			var size uint64
			fmt.Sscanf(strings.Split(n.Text, "\n")[1], "%d", &size)
			return size > last
		})
	}
}

// addLitewitnessLog tells litewitness about a log the way its witnessctl
// add-log and add-key do: a row in its log table at the empty tree and the
// log's verifier key. witnessctl itself needs sigsum.org/sigsum-go, which
// not every module proxy serves, so the test writes litewitness's schema
// (torchwood v0.9.0, internal/witness.OpenDB) itself.
func addLitewitnessLog(t *testing.T, path, origin, vkey string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	empty := sha256.Sum256(nil) // RFC 6962: the hash of the empty tree
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS log (origin TEXT PRIMARY KEY, tree_size INTEGER NOT NULL, tree_hash TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS key (origin TEXT NOT NULL, key TEXT NOT NULL, FOREIGN KEY(origin) REFERENCES log(origin))`,
		`CREATE TABLE IF NOT EXISTS bastion (origin TEXT NOT NULL, bastion TEXT NOT NULL, FOREIGN KEY(origin) REFERENCES log(origin))`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO log (origin, tree_size, tree_hash) VALUES (?, 0, ?)`, origin, base64.StdEncoding.EncodeToString(empty[:])); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO key (origin, key) VALUES (?, ?)`, origin, vkey); err != nil {
		t.Fatal(err)
	}
}
