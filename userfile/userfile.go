// Package userfile reads a file named by the user who invoked npte
// through sudo, with that user's file-system rights rather than root's.
//
// npte's NOPASSWD verbs take file names (lab files). Opened as root, any
// path would do, and a parse error quoting the file's first line would
// leak a root-only file such as /etc/shadow to the caller. Read does the
// open and the read on an operating-system thread of its own whose
// file-system uid, gid and supplementary groups are the caller's
// (setfsuid, setfsgid, setgroups: per-thread credentials in Linux), so
// the kernel applies exactly the checks it would apply to the caller:
// modes, ACLs and search rights on every directory of the path. The
// thread is never handed back to the Go scheduler: it exits with its
// goroutine, so no other code ever runs with the changed credentials.
package userfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// MaxSize is the largest file Read accepts (lab files are a few KiB).
const MaxSize = 4 << 20

// Cred is who a file is read as.
type Cred struct {
	UID, GID uint32
	Groups   []uint32 // supplementary groups
}

// ErrTooLarge is returned for a file of more than MaxSize bytes.
var ErrTooLarge = fmt.Errorf("larger than %d bytes", MaxSize)

// Read returns the contents of path, opened and read with c's
// file-system rights. With a nil c it reads with the process's own.
func Read(path string, c *Cred) ([]byte, error) {
	if c == nil {
		return readFile(path)
	}
	type result struct {
		data []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		// Never unlocked: when this goroutine returns, the runtime ends
		// the thread instead of reusing it with the caller's rights.
		runtime.LockOSThread()
		if err := become(c); err != nil {
			ch <- result{err: err}
			return
		}
		data, err := readFile(path)
		ch <- result{data, err}
	}()
	r := <-ch
	return r.data, r.err
}

// become sets this thread's supplementary groups, fsgid and fsuid to
// c's, with raw system calls (the syscall package's Setgroups would
// change every thread of the process), and checks that they took.
func become(c *Cred) error {
	groups := c.Groups
	if len(groups) == 0 {
		groups = []uint32{c.GID}
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETGROUPS, uintptr(len(groups)), uintptr(unsafe.Pointer(&groups[0])), 0); e != 0 {
		return fmt.Errorf("setgroups: %w", e)
	}
	// setfsgid and setfsuid return the previous value and no error; a
	// second call with an invalid id (-1) changes nothing and returns
	// the current one.
	syscall.RawSyscall(syscall.SYS_SETFSGID, uintptr(c.GID), 0, 0)
	syscall.RawSyscall(syscall.SYS_SETFSUID, uintptr(c.UID), 0, 0)
	g, _, _ := syscall.RawSyscall(syscall.SYS_SETFSGID, ^uintptr(0), 0, 0)
	u, _, _ := syscall.RawSyscall(syscall.SYS_SETFSUID, ^uintptr(0), 0, 0)
	if uint32(g) != c.GID || uint32(u) != c.UID {
		return errors.New("could not take the caller's file-system rights")
	}
	return nil
}

// readFile reads at most MaxSize bytes of path.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, ErrTooLarge
	}
	return data, nil
}
