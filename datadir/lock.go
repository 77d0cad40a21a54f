package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrLocked: another process has the data directory open, and one of
// them needs it alone.
var ErrLocked = errors.New("the data directory is in use by another ombud process")

// Lock takes the data directory for this process: the embedded store
// admits one gateway, so two processes on one directory are refused. The
// kernel drops the lock when the process ends, however it ends. unlock
// releases it.
func (d *Dir) Lock() (unlock func(), err error) { return d.lock(syscall.LOCK_EX) }

// LockShared takes the data directory with other processes that share
// it, gateways whose store is a shared database: none of them may open it
// alone (Lock), nor it while they hold it.
func (d *Dir) LockShared() (unlock func(), err error) { return d.lock(syscall.LOCK_SH) }

func (d *Dir) lock(how int) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(d.Path, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to lock the data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", d.Path, ErrLocked)
		}
		return nil, fmt.Errorf("failed to lock the data directory: %w", err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
