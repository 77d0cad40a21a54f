package tlog

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Tessera's POSIX driver opens its sequencing lock file,
// .state/treeState.lock in the log's directory, for writing before every
// batch, and panics, in a goroutine of its own, when it cannot: on a
// read-only filesystem the gateway would crash at its first append instead
// of failing closed. Every other write the driver makes reports its error.
// So ombud keeps that lock file on another filesystem, one that does not
// turn read-only with the log's: .state/treeState.lock is a symbolic link
// to a file in a private directory on a memory filesystem. The lock only
// serialises sequencing between processes on this host, which the link
// preserves; it holds no data, so nothing durable moves.

const treeStateLock = "treeState.lock"

// relocateLock points the log's lock file at a file in lockDir (a private
// directory on a memory filesystem when lockDir is ""). It returns the
// private directory it made, which Close removes ("" when lockDir was
// given).
func relocateLock(logDir, lockDir string) (private string, err error) {
	abs, err := filepath.Abs(logDir)
	if err != nil {
		return "", err
	}
	if lockDir == "" {
		if lockDir, err = privateLockDir(abs); err != nil {
			return "", err
		}
		private = lockDir
	}
	state := filepath.Join(abs, ".state")
	if err := os.MkdirAll(state, 0o755); err != nil {
		return private, fmt.Errorf("failed to create the log's state directory: %w", err)
	}
	link := filepath.Join(state, treeStateLock)
	target := filepath.Join(lockDir, treeStateLock)
	if cur, err := os.Readlink(link); err == nil && cur == target {
		return private, nil
	}
	tmp := link + ".relocate"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return private, fmt.Errorf("failed to place the log's lock file: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return private, fmt.Errorf("failed to place the log's lock file: %w", err)
	}
	return private, nil
}

// privateLockDir returns a directory only this user can write, on a memory
// filesystem where one exists, named after the log's path so that every
// process opening the log locks the same file.
func privateLockDir(logDir string) (string, error) {
	sum := sha256.Sum256([]byte(logDir))
	name := "ombud-lock-" + hex.EncodeToString(sum[:8])
	var errs []error
	for _, base := range []string{"/dev/shm", "/run/user/" + fmt.Sprint(os.Getuid()), os.TempDir()} {
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			errs = append(errs, err)
			continue
		}
		// Refuse a directory someone else made, or a link to one.
		fi, err := os.Lstat(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !fi.IsDir() || fi.Mode().Perm() != 0o700 || !ok || int(st.Uid) != os.Getuid() {
			errs = append(errs, fmt.Errorf("%s is not a private directory of this user", dir))
			continue
		}
		return dir, nil
	}
	return "", fmt.Errorf("no directory for the log's lock file: %w", errors.Join(errs...))
}
