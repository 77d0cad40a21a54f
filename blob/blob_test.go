package blob_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/blob/blobtest"
	"github.com/ombud/ombud/internal/poll"
)

func TestFile(t *testing.T) {
	blobtest.TestBucket(t, func(t *testing.T) *blob.Bucket {
		dir := t.TempDir()
		b, err := blob.Open(context.Background(), "file://"+filepath.ToSlash(dir)+"?no_tmp_dir=true&metadata=skip")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	})
}

// Azurite's well-known development account.
const (
	azAccount = "devstoreaccount1"
	azKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// azurite starts Azurite's blob service on a loopback port. It is installed
// by 'npm ci' in tools/azurite (.ci/run does it); without it the test is
// skipped, unless OMBUD_REQUIRE_AZURITE=1, as in CI, makes that a failure.
func azurite(t *testing.T) string {
	t.Helper()
	addr, _ := startAzurite(t)
	t.Setenv("AZURE_STORAGE_ACCOUNT", azAccount)
	t.Setenv("AZURE_STORAGE_KEY", azKey)
	return addr
}

func startAzurite(t *testing.T) (string, func()) {
	t.Helper()
	bin, _ := filepath.Abs(filepath.Join("..", "tools", "azurite", "node_modules", ".bin", "azurite-blob"))
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("OMBUD_REQUIRE_AZURITE") != "" {
			t.Fatalf("Azurite is not installed (%v); run: (cd tools/azurite && npm ci)", err)
		}
		t.Skip("Azurite is not installed; run: (cd tools/azurite && npm ci)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port), "--skipApiVersionCheck", "--inMemoryPersistence", "--silent")
	cmd.Dir = t.TempDir() // Azurite writes its debug and lock files here
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	t.Cleanup(stop)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	poll.Until(t, 30*time.Second, 100*time.Millisecond, "Azurite to start", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr, stop
}

func azClient(t *testing.T, addr string) *azblob.Client {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(azAccount, azKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := azblob.NewClientWithSharedKeyCredential(fmt.Sprintf("http://%s/%s", addr, azAccount), cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// createContainer makes a container through the Azure SDK itself.
func createContainer(t *testing.T, addr, name string) {
	t.Helper()
	if _, err := azClient(t, addr).CreateContainer(context.Background(), name, nil); err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
}

func deleteContainer(t *testing.T, addr, name string) {
	t.Helper()
	if _, err := azClient(t, addr).DeleteContainer(context.Background(), name, nil); err != nil {
		t.Fatalf("DeleteContainer: %v", err)
	}
}

func azURL(addr, container string) string {
	return fmt.Sprintf("azblob://%s?protocol=http&domain=%s&localemu=true", container, addr)
}

func TestAzurite(t *testing.T) {
	addr := azurite(t)
	n := 0
	blobtest.TestBucket(t, func(t *testing.T) *blob.Bucket {
		n++
		name := fmt.Sprintf("ombud-test-%d", n)
		createContainer(t, addr, name)
		b, err := blob.Open(context.Background(), azURL(addr, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	})
	// gocloud.dev's azureblob writer panics when an upload fails; the
	// adapter must turn that into an error.
	t.Run("missing container", func(t *testing.T) {
		if _, err := blob.Open(context.Background(), azURL(addr, "no-such-container")); err == nil || !strings.Contains(err.Error(), "not accessible") {
			t.Fatalf("Open of a missing container: %v", err)
		}
		// The container vanishes after Open: the upload fails, and the
		// driver's panic on that path becomes an error.
		createContainer(t, addr, "short-lived")
		b, err := blob.Open(context.Background(), azURL(addr, "short-lived"))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		deleteContainer(t, addr, "short-lived")
		_, _, err = b.Put(context.Background(), "objects/aa/x", strings.NewReader(strings.Repeat("x", 1<<20)))
		if err == nil {
			t.Fatal("upload into a missing container succeeded")
		}
		t.Logf("missing container: %v", err)
	})
	t.Run("server down", func(t *testing.T) {
		// A second Azurite, stopped after Open.
		addr2, stop := startAzurite(t)
		createContainer(t, addr2, "gone-soon")
		b, err := blob.Open(context.Background(), azURL(addr2, "gone-soon"))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		stop()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if _, _, err := b.Put(ctx, "objects/aa/x", strings.NewReader("x")); err == nil {
			t.Fatal("upload to a stopped server succeeded")
		} else {
			t.Logf("server down: %v", err)
		}
	})
}
