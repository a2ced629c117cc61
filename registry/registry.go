// Package registry tracks the network namespaces that npte manages.
//
// A namespace is managed by npte when a regular-file marker
// /run/npte/netns/NAME exists. create writes the marker last and destroy
// removes it last, so the marker's presence means the namespace is complete
// and npte made it. Verbs open to a NOPASSWD grant touch only managed
// namespaces (RequireManaged).
//
// An intent record /run/npte/intent/NAME is written under the lock before
// create changes the kernel, and removed once the marker exists. It lets
// destroy clean up after a create that was killed half-way, and only such a
// namespace: the record exists only if npte checked the name was free.
//
// Every state-changing npte process holds the global lock (an exclusive
// flock(2) on /run/npte/lock) around its kernel and marker operations, so
// "kernel operation, then marker" looks atomic to other npte processes and
// to scripts rendered by npte, which flock the same file. The lock is
// root's with mode 0600 (see Lock): flock needs only a read descriptor, so
// a lock that others can open is one they can hold. Read-only verbs use
// LockExisting, which creates nothing.
//
// The state root is fixed at build time (shell.DefaultLayout). Tests use another
// Layout through the value they construct; no flag or environment variable
// can move it.
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/npte/npte/shell"
	"github.com/npte/npte/validate"
)

// ErrNotManaged is returned (wrapped, with the name) by RequireManaged when
// a namespace has no marker. Match it with errors.Is.
var ErrNotManaged = errors.New("not managed by npte")

// ErrUnsafe is returned (wrapped) when a state path is a symbolic link, not
// a directory where one is expected, or not owned by the expected user.
var ErrUnsafe = errors.New("unsafe npte state path")

// Registry reads and writes npte's state under a Layout.
type Registry struct {
	Layout shell.Layout
	// Owner is the uid that must own the state directories (0 on a real
	// system; tests running without root use their own uid).
	Owner int
	// Stderr, when not nil, receives one line when Lock has waited 2 s
	// for the lock, naming the pid that holds it.
	Stderr io.Writer
}

// New returns a Registry for layout whose directories must belong to owner.
func New(layout shell.Layout, owner int) *Registry { return &Registry{Layout: layout, Owner: owner} }

func checkName(name string) error {
	if err := validate.NetnsName(name); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	return nil
}

// checkDir verifies that path is a real directory (not a symlink) owned by
// r.Owner and not writable by group or others. With create, a missing
// directory is made with mode 0755.
func (r *Registry) checkDir(path string, create bool) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("registry: %w", err)
		}
		if err := os.Chmod(path, 0o755); err != nil {
			return fmt.Errorf("registry: %w", err)
		}
		fi, err = os.Lstat(path)
	}
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: %s is a symbolic link; refusing to follow it", ErrUnsafe, path)
	case !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrUnsafe, path)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%w: %s is writable by group or others (mode %04o)", ErrUnsafe, path, fi.Mode().Perm())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != r.Owner {
		return fmt.Errorf("%w: %s is owned by uid %d, not %d", ErrUnsafe, path, st.Uid, r.Owner)
	}
	return nil
}

// Prepare makes sure the state directories exist (mode 0755) and are safe,
// without taking the lock.
func (r *Registry) Prepare() error {
	for _, d := range []string{r.Layout.Root, r.Layout.NetnsDir(), r.Layout.IntentDir()} {
		if err := r.checkDir(d, true); err != nil {
			return err
		}
	}
	return nil
}

// LockMode is the only mode npte's lock file may have: flock(2) needs only
// a read descriptor, so a lock that other users can open is a lock that any
// of them can hold forever (issue 10 item 3).
const LockMode = 0o600

// lockWaitNotice is how long Lock waits before it says who holds the lock.
const lockWaitNotice = 2 * time.Second

// Lock prepares the state directories and takes the global lock, waiting
// for other npte processes (and rendered scripts) that hold it. It gives up
// when ctx is done. The returned unlock function is safe to call more than
// once; the kernel also drops the lock when the process exits, however it
// exits.
//
// The lock file is created with mode 0600 and must be a regular file owned
// by r.Owner with exactly that mode. An existing lock with another type,
// owner or mode is refused (ErrUnsafe), not repaired: chmod would not close
// the descriptors other users opened while it was readable, and any of
// them could still hold the lock. Root removes it (when no npte runs) and
// the next npte makes a new one. Rendered scripts apply the same rules.
//
// When the lock is held for more than 2 s, Lock writes one line to
// r.Stderr (when set) naming the pid that holds it, read from /proc/locks.
func (r *Registry) Lock(ctx context.Context) (unlock func(), err error) {
	f, err := r.LockFile(ctx)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, nil
}

// LockFile is Lock returning the locked file itself (close-on-exec) rather
// than an unlock function. The flock belongs to the open file description,
// so it is held until the file is closed here and in every child the file
// was handed to (os/exec's ExtraFiles): exec passes it to each program it
// runs under the lock, as the rendered script's children inherit fd 9, so
// that a child outliving a killed npte still holds the lock. Closing the
// file releases the lock once no child holds it.
func (r *Registry) LockFile(ctx context.Context) (*os.File, error) {
	if err := r.Prepare(); err != nil {
		return nil, err
	}
	return r.acquire(ctx, true)
}

// LockExisting is Lock for read-only verbs: it creates nothing. When the
// state root does not exist (npte never ran since boot) there is nothing
// to read and nothing to lock, and it returns a no-op unlock; when the
// root exists but the lock file does not, no npte ever held it and none
// can be half-way through a change, and it reads without it. Otherwise it
// checks the state directories and the lock like Lock, and takes it.
func (r *Registry) LockExisting(ctx context.Context) (unlock func(), err error) {
	noop := func() {}
	if _, err := os.Lstat(r.Layout.Root); errors.Is(err, fs.ErrNotExist) {
		return noop, nil
	}
	for _, d := range []string{r.Layout.Root, r.Layout.NetnsDir(), r.Layout.IntentDir()} {
		if err := r.checkDir(d, false); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if _, err := os.Lstat(r.Layout.LockPath()); errors.Is(err, fs.ErrNotExist) {
		return noop, nil
	}
	f, err := r.acquire(ctx, false)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, nil
}

// checkLockPath refuses a lock path that exists and is not a regular file
// (a directory, a FIFO, a symbolic link...), before anything opens it:
// opening a FIFO could block.
func (r *Registry) checkLockPath() error {
	fi, err := os.Lstat(r.Layout.LockPath())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("registry: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: %s is a symbolic link; refusing to follow it", ErrUnsafe, r.Layout.LockPath())
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%w: the lock %s is not a regular file (%s)", ErrUnsafe, r.Layout.LockPath(), fi.Mode().Type())
	}
	return nil
}

// acquire opens the lock (creating it with mode 0600 when create is set),
// checks it and waits for the flock.
func (r *Registry) acquire(ctx context.Context, create bool) (*os.File, error) {
	path := r.Layout.LockPath()
	if err := r.checkLockPath(); err != nil {
		return nil, err
	}
	// O_NONBLOCK: should a FIFO appear after the check, opening it must not
	// block (it is refused below); it has no effect on a regular file.
	flags := syscall.O_RDWR | syscall.O_NOFOLLOW | syscall.O_CLOEXEC | syscall.O_NONBLOCK
	if create {
		flags |= syscall.O_CREAT
	}
	fd, err := syscall.Open(path, flags, LockMode)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%w: %s is a symbolic link; refusing to follow it", ErrUnsafe, path)
		}
		return nil, fmt.Errorf("registry: open lock %s: %w", path, err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("registry: %s: %w", path, err)
	}
	switch {
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		err = fmt.Errorf("%w: the lock %s is not a regular file", ErrUnsafe, path)
	case int(st.Uid) != r.Owner:
		err = fmt.Errorf("%w: the lock %s is owned by uid %d, not %s; remove it when no npte runs", ErrUnsafe, path, st.Uid, shell.OwnerName(r.Owner))
	case st.Mode&0o7777 != LockMode:
		err = fmt.Errorf("%w: the lock %s has mode %04o, not %04o (other users may hold it open); remove it when no npte runs", ErrUnsafe, path, st.Mode&0o7777, LockMode)
	}
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	start := time.Now()
	told := false
	wait := 100 * time.Microsecond
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			syscall.Close(fd)
			return nil, fmt.Errorf("registry: lock %s: %w", path, err)
		}
		if !told && r.Stderr != nil && time.Since(start) >= lockWaitNotice {
			told = true
			fmt.Fprintf(r.Stderr, "npte: waiting for the lock %s, held by %s\n", path, holders(st.Dev, st.Ino))
		}
		select {
		case <-ctx.Done():
			syscall.Close(fd)
			return nil, fmt.Errorf("registry: waiting for the lock: %w", ctx.Err())
		case <-time.After(wait):
		}
		// Back off up to 2 ms: a waiter wakes at most that late after the
		// holder lets go, at the cost of a few hundred cheap syscalls a
		// second while it waits.
		if wait < 2*time.Millisecond {
			wait *= 2
		}
	}
	return os.NewFile(uintptr(fd), r.Layout.LockPath()), nil
}

// holders describes the processes that hold a flock on the file dev:ino,
// from /proc/locks ("pid 1234 (flock)"), or says it cannot tell.
func holders(dev, ino uint64) string {
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return "another process (/proc/locks is not readable)"
	}
	pids := HoldersOf(string(data), dev, ino)
	if len(pids) == 0 {
		return "another process (not found in /proc/locks)"
	}
	var parts []string
	for _, pid := range pids {
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if c := strings.TrimSpace(string(comm)); c != "" {
			parts = append(parts, fmt.Sprintf("pid %d (%s)", pid, strings.Map(printable, c)))
		} else {
			parts = append(parts, fmt.Sprintf("pid %d", pid))
		}
	}
	return strings.Join(parts, ", ")
}

// printable maps control characters of a process name to '?'.
func printable(r rune) rune {
	if r < ' ' || r == 0x7f {
		return '?'
	}
	return r
}

// HoldersOf parses /proc/locks text and returns the pids holding (not
// waiting for) a FLOCK on the file whose device is dev and inode ino.
// A line reads "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF", with
// the device as hex major:minor; waiters' lines have "->" after the id.
func HoldersOf(locks string, dev, ino uint64) []int {
	// Linux's dev_t encoding, as glibc's major(3) and minor(3) decode it.
	major := uint32((dev>>8)&0xfff | (dev>>32)&^uint64(0xfff))
	minor := uint32(dev&0xff | (dev>>12)&^uint64(0xff))
	var pids []int
	for _, line := range strings.Split(locks, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "FLOCK" {
			continue
		}
		id := strings.Split(f[5], ":")
		if len(id) != 3 {
			continue
		}
		ma, err1 := strconv.ParseUint(id[0], 16, 32)
		mi, err2 := strconv.ParseUint(id[1], 16, 32)
		in, err3 := strconv.ParseUint(id[2], 10, 64)
		pid, err4 := strconv.Atoi(f[4])
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			continue
		}
		if uint32(ma) == major && uint32(mi) == minor && in == ino {
			pids = append(pids, pid)
		}
	}
	return pids
}

// isRegular reports whether path is a regular file, without following a
// final symlink. A symlink or other non-regular entry is an error wrapping
// ErrUnsafe.
func isRegular(path string) (bool, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("registry: %w", err)
	case !fi.Mode().IsRegular():
		kind := "not a regular file"
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			kind = "a symbolic link (refusing to follow it)"
		case fi.IsDir():
			kind = "a directory"
		}
		return false, fmt.Errorf("%w: %s is %s, not an npte marker file", ErrUnsafe, path, kind)
	}
	return true, nil
}

// RequireManaged returns nil when name has a regular-file marker, an error
// wrapping ErrNotManaged when it has none, and an error wrapping ErrUnsafe
// when the marker path is a symlink, a directory or anything else.
func (r *Registry) RequireManaged(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	ok, err := isRegular(r.Layout.Marker(name))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: %w (no marker %s)", name, ErrNotManaged, r.Layout.Marker(name))
	}
	return nil
}

// Owned reports whether name has a marker or an intent record: whether
// npte made it, completely or not.
func (r *Registry) Owned(name string) (bool, error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	m, err := isRegular(r.Layout.Marker(name))
	if err != nil || m {
		return m, err
	}
	return isRegular(r.Layout.Intent(name))
}

// Taken reports whether name is in use: a marker, an intent record or a
// kernel namespace of that name exists (whatever their type). A namespace
// directory (/run/netns) that exists but is not a directory is an error
// wrapping ErrUnsafe: ip netns add would fail after npte wrote its intent.
func (r *Registry) Taken(name string) (bool, error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	if fi, err := os.Stat(r.Layout.RunNetns); err == nil && !fi.IsDir() {
		return false, fmt.Errorf("%w: %s is not a directory; refusing to create a namespace", ErrUnsafe, r.Layout.RunNetns)
	}
	for _, p := range []string{r.Layout.Marker(name), r.Layout.Intent(name), r.Layout.Netns(name)} {
		_, err := os.Lstat(p)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("registry: %w", err)
		}
	}
	return false, nil
}

// NetnsExists reports whether the kernel namespace /run/netns/NAME exists.
func (r *Registry) NetnsExists(name string) (bool, error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	_, err := os.Lstat(r.Layout.Netns(name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// List returns the sorted names of the managed namespaces: the regular-file
// markers whose names pass validate.NetnsName. A missing directory is an
// empty list; symlinks, directories and malformed names are skipped.
func (r *Registry) List() ([]string, error) {
	entries, err := os.ReadDir(r.Layout.NetnsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() && validate.NetnsName(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

func createExcl(path string) error {
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("registry: create %s: %w", path, err)
	}
	return syscall.Close(fd)
}

func remove(path string) error {
	err := os.Remove(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("registry: %w", err)
	}
	return nil
}

// Register writes the marker of name (O_CREAT|O_EXCL|O_NOFOLLOW, mode
// 0644). The caller holds the lock.
func (r *Registry) Register(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return createExcl(r.Layout.Marker(name))
}

// Unregister removes the marker of name; a missing marker is not an error.
// A symlink is removed, never followed.
func (r *Registry) Unregister(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return remove(r.Layout.Marker(name))
}

// WriteIntent writes the intent record of name (O_CREAT|O_EXCL|O_NOFOLLOW).
func (r *Registry) WriteIntent(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return createExcl(r.Layout.Intent(name))
}

// RemoveIntent removes the intent record of name; a missing record is not
// an error.
func (r *Registry) RemoveIntent(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return remove(r.Layout.Intent(name))
}
