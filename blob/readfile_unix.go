//go:build unix

package blob

import (
	"io/fs"
	"syscall"
)

// readFile reads the file at path into buf, up to len(buf) bytes, with
// one open, one read (for a regular file that fits) and one close: the
// bare system calls, without the os package's poller registration and
// stat, which nearly double the cost of reading a small file.
func readFile(path string, buf []byte) (int, error) {
	var fd int
	var err error
	for {
		// O_NONBLOCK changes nothing for a regular file; a FIFO or a
		// device put in the bucket's place fails instead of blocking.
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return 0, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	n := 0
	for n < len(buf) {
		k, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		n += k
		if k == 0 || n < len(buf) {
			// The end: a regular file's read returns less than asked
			// only there.
			break
		}
	}
	return n, nil
}
