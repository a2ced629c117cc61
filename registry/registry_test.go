package registry_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/npte/npte/registry"
	"github.com/npte/npte/shell"
)

// newReg returns a Registry over a fresh layout in a temporary directory,
// owned by the test's own uid, so that no test needs root.
func newReg(t *testing.T) *registry.Registry {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	l := shell.Layout{Root: filepath.Join(dir, "npte"), RunNetns: filepath.Join(dir, "netns")}
	if err := os.Mkdir(l.RunNetns, 0o755); err != nil {
		t.Fatal(err)
	}
	return registry.New(l, os.Getuid())
}

// prepared is newReg with the state directories made.
func prepared(t *testing.T) *registry.Registry {
	t.Helper()
	r := newReg(t)
	if err := r.Prepare(); err != nil {
		t.Fatal(err)
	}
	return r
}

func touch(t *testing.T, p string) {
	t.Helper()
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultLayout(t *testing.T) {
	l := shell.DefaultLayout()
	for got, want := range map[string]string{
		l.Root:            "/run/npte",
		l.NetnsDir():      "/run/npte/netns",
		l.IntentDir():     "/run/npte/intent",
		l.LockPath():      "/run/npte/lock",
		l.Marker("demo"):  "/run/npte/netns/demo",
		l.Intent("demo"):  "/run/npte/intent/demo",
		l.Netns("demo"):   "/run/netns/demo",
		l.RunNetns + "/x": "/run/netns/x",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestListMissingDir(t *testing.T) {
	r := newReg(t)
	names, err := r.List()
	if err != nil || names == nil || len(names) != 0 {
		t.Fatalf("List on a missing directory = %#v, %v; want an empty non-nil slice", names, err)
	}
}

func TestListSortedAndFiltered(t *testing.T) {
	r := prepared(t)
	l := r.Layout
	for _, n := range []string{"zeta", "alpha", "m1", "beta"} {
		touch(t, l.Marker(n))
	}
	// Entries List must skip: malformed names, a symlink (even to a
	// regular file), a dangling symlink, a directory, a FIFO.
	for _, n := range []string{"Bad", "1x", ".hidden", "abcdefghijklm", "a-b", "a b", "é"} {
		touch(t, filepath.Join(l.NetnsDir(), n))
	}
	touch(t, filepath.Join(l.Root, "target"))
	symlink(t, filepath.Join(l.Root, "target"), l.Marker("link"))
	symlink(t, "/nonexistent", l.Marker("dangling"))
	if err := os.Mkdir(l.Marker("dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(l.Marker("fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	names, err := r.List()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(names, " "), "alpha beta m1 zeta"; got != want {
		t.Errorf("List = %q, want %q", got, want)
	}
}

func TestRequireManaged(t *testing.T) {
	r := prepared(t)
	l := r.Layout
	touch(t, l.Marker("good"))
	touch(t, filepath.Join(l.Root, "target"))
	symlink(t, filepath.Join(l.Root, "target"), l.Marker("link"))
	symlink(t, "/nonexistent", l.Marker("dangling"))
	if err := os.Mkdir(l.Marker("dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(l.Marker("fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	touch(t, l.Intent("intent")) // an intent record alone is not a marker
	touch(t, l.Netns("foreign")) // a kernel namespace without a marker

	if err := r.RequireManaged("good"); err != nil {
		t.Errorf("RequireManaged(good) = %v", err)
	}
	for _, n := range []string{"missing", "intent", "foreign"} {
		err := r.RequireManaged(n)
		if !errors.Is(err, registry.ErrNotManaged) {
			t.Errorf("RequireManaged(%s) = %v, want ErrNotManaged", n, err)
		} else if !strings.Contains(err.Error(), n) || !strings.Contains(err.Error(), l.Marker(n)) {
			t.Errorf("RequireManaged(%s) = %q, want the name and marker path in it", n, err)
		}
	}
	for _, n := range []string{"link", "dangling", "dir", "fifo"} {
		err := r.RequireManaged(n)
		if err == nil {
			t.Errorf("RequireManaged(%s) = nil, want a refusal", n)
			continue
		}
		if !errors.Is(err, registry.ErrUnsafe) {
			t.Errorf("RequireManaged(%s) = %v, want ErrUnsafe", n, err)
		}
		if !strings.Contains(err.Error(), l.Marker(n)) {
			t.Errorf("RequireManaged(%s) = %q, want the path in it", n, err)
		}
	}
	// Invalid names never reach the file system.
	for _, n := range []string{"", "../good", "Bad", "a/b", "-h", "good\x00"} {
		if err := r.RequireManaged(n); err == nil || errors.Is(err, registry.ErrNotManaged) {
			t.Errorf("RequireManaged(%q) = %v, want a validation error", n, err)
		}
	}
}

func TestRegister(t *testing.T) {
	r := prepared(t)
	l := r.Layout
	if err := r.Register("alpha"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(l.Marker("alpha"))
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 {
		t.Fatalf("marker: %v %v", fi, err)
	}
	if err := r.RequireManaged("alpha"); err != nil {
		t.Errorf("RequireManaged after Register: %v", err)
	}
	// O_EXCL: an existing marker is refused.
	if err := r.Register("alpha"); !errors.Is(err, os.ErrExist) {
		t.Errorf("second Register = %v, want EEXIST", err)
	}
	// O_EXCL|O_NOFOLLOW: a dangling symlink is refused and not followed.
	target := filepath.Join(t.TempDir(), "target")
	symlink(t, target, l.Marker("beta"))
	if err := r.Register("beta"); err == nil {
		t.Error("Register over a dangling symlink succeeded")
	}
	if _, err := os.Lstat(target); err == nil {
		t.Error("Register followed a dangling symlink and created its target")
	}
	// A symlink to an existing file is refused too, and the file untouched.
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	symlink(t, victim, l.Marker("gamma"))
	if err := r.Register("gamma"); err == nil {
		t.Error("Register over a symlink succeeded")
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Error("Register changed a symlink's target")
	}
	if err := r.Register("../x"); err == nil {
		t.Error("Register(../x) succeeded")
	}
}

func TestUnregister(t *testing.T) {
	r := prepared(t)
	l := r.Layout
	touch(t, l.Marker("alpha"))
	if err := r.Unregister("alpha"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(l.Marker("alpha")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("marker still there: %v", err)
	}
	if err := r.Unregister("alpha"); err != nil {
		t.Errorf("Unregister of a missing marker = %v, want nil", err)
	}
	// A symlinked marker is removed, its target kept.
	victim := filepath.Join(t.TempDir(), "victim")
	touch(t, victim)
	symlink(t, victim, l.Marker("beta"))
	if err := r.Unregister("beta"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("Unregister removed a symlink's target: %v", err)
	}
	if err := r.Unregister("../x"); err == nil {
		t.Error("Unregister(../x) succeeded")
	}
}

func TestIntents(t *testing.T) {
	r := prepared(t)
	l := r.Layout
	if err := r.WriteIntent("alpha"); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteIntent("alpha"); err == nil {
		t.Error("second WriteIntent succeeded")
	}
	if ok, err := r.Owned("alpha"); !ok || err != nil {
		t.Errorf("Owned(alpha) with an intent = %v, %v", ok, err)
	}
	if err := r.RequireManaged("alpha"); !errors.Is(err, registry.ErrNotManaged) {
		t.Errorf("RequireManaged with only an intent = %v", err)
	}
	if err := r.RemoveIntent("alpha"); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveIntent("alpha"); err != nil {
		t.Errorf("RemoveIntent of a missing record = %v", err)
	}
	if ok, err := r.Owned("alpha"); ok || err != nil {
		t.Errorf("Owned(alpha) after RemoveIntent = %v, %v", ok, err)
	}
	symlink(t, "/nonexistent", l.Intent("beta"))
	if ok, err := r.Owned("beta"); ok || err == nil {
		t.Errorf("Owned(beta) with a symlinked intent = %v, %v; want a refusal", ok, err)
	}
}

func TestTaken(t *testing.T) {
	r := prepared(t)
	l := r.Layout
	touch(t, l.Marker("marker"))
	touch(t, l.Intent("intent"))
	touch(t, l.Netns("kernel"))
	symlink(t, "/nonexistent", l.Marker("dangling"))
	for n, want := range map[string]bool{"marker": true, "intent": true, "kernel": true, "dangling": true, "free": false} {
		if got, err := r.Taken(n); got != want || err != nil {
			t.Errorf("Taken(%s) = %v, %v; want %v", n, got, err, want)
		}
	}
	if ok, err := r.NetnsExists("kernel"); !ok || err != nil {
		t.Errorf("NetnsExists(kernel) = %v, %v", ok, err)
	}
	if ok, err := r.NetnsExists("marker"); ok || err != nil {
		t.Errorf("NetnsExists(marker) = %v, %v", ok, err)
	}
	if _, err := r.Taken("../kernel"); err == nil {
		t.Error("Taken(../kernel) succeeded")
	}
}

func TestLockCreatesDirs(t *testing.T) {
	r := newReg(t)
	unlock, err := r.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	l := r.Layout
	for _, d := range []string{l.Root, l.NetnsDir(), l.IntentDir()} {
		fi, err := os.Lstat(d)
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v %v, want a directory with mode 0755", d, fi, err)
		}
	}
	if fi, err := os.Lstat(l.LockPath()); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v %v, want a regular file with mode 0600", fi, err)
	}
	unlock()
	unlock() // safe twice
}

// TestLockCreatesDirsUnderUmask checks the 0755 mode under a restrictive
// umask (sudo may pass one through).
func TestLockCreatesDirsUnderUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	r := newReg(t)
	unlock, err := r.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if fi, err := os.Lstat(r.Layout.NetnsDir()); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("%s: %v %v, want mode 0755", r.Layout.NetnsDir(), fi, err)
	}
}

func TestLockRefusesUnsafe(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, r *registry.Registry)
		want  string
	}{
		{"symlinked root", func(t *testing.T, r *registry.Registry) {
			real := t.TempDir()
			_ = os.Chmod(real, 0o755)
			symlink(t, real, r.Layout.Root)
			t.Cleanup(func() {
				if e, _ := os.ReadDir(real); len(e) != 0 {
					t.Errorf("Lock created %v behind a symlink", e)
				}
			})
		}, "symbolic link"},
		{"symlinked netns dir", func(t *testing.T, r *registry.Registry) {
			mkdir(t, r.Layout.Root, 0o755)
			real := t.TempDir()
			_ = os.Chmod(real, 0o755)
			symlink(t, real, r.Layout.NetnsDir())
		}, "symbolic link"},
		{"dangling symlinked intent dir", func(t *testing.T, r *registry.Registry) {
			mkdir(t, r.Layout.Root, 0o755)
			symlink(t, "/nonexistent", r.Layout.IntentDir())
		}, "symbolic link"},
		{"symlinked lock", func(t *testing.T, r *registry.Registry) {
			if err := r.Prepare(); err != nil {
				t.Fatal(err)
			}
			symlink(t, filepath.Join(t.TempDir(), "elsewhere"), r.Layout.LockPath())
		}, "symbolic link"},
		{"FIFO lock", func(t *testing.T, r *registry.Registry) {
			if err := r.Prepare(); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(r.Layout.LockPath(), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"root is a file", func(t *testing.T, r *registry.Registry) {
			touch(t, r.Layout.Root)
		}, "not a directory"},
		{"group-writable root", func(t *testing.T, r *registry.Registry) {
			mkdir(t, r.Layout.Root, 0o775)
		}, "writable by group or others"},
		{"world-writable netns dir", func(t *testing.T, r *registry.Registry) {
			mkdir(t, r.Layout.Root, 0o755)
			mkdir(t, r.Layout.NetnsDir(), 0o777)
		}, "writable by group or others"},
		{"not owned by Owner", func(t *testing.T, r *registry.Registry) {
			r.Owner = os.Getuid() + 1
		}, "owned by uid"},
		{"directory lock", func(t *testing.T, r *registry.Registry) {
			if err := r.Prepare(); err != nil {
				t.Fatal(err)
			}
			mkdir(t, r.Layout.LockPath(), 0o700)
		}, "not a regular file"},
		{"netns dir is a file", func(t *testing.T, r *registry.Registry) {
			mkdir(t, r.Layout.Root, 0o755)
			touch(t, r.Layout.NetnsDir())
		}, "not a directory"},
		// An older npte's lock (0644) is refused, not repaired: chmod
		// would not close what other users opened while they could.
		{"lock readable by others", func(t *testing.T, r *registry.Registry) {
			if err := r.Prepare(); err != nil {
				t.Fatal(err)
			}
			touch(t, r.Layout.LockPath())
		}, "has mode 0644, not 0600"},
		{"lock group-readable", func(t *testing.T, r *registry.Registry) {
			if err := r.Prepare(); err != nil {
				t.Fatal(err)
			}
			touch(t, r.Layout.LockPath())
			if err := os.Chmod(r.Layout.LockPath(), 0o640); err != nil {
				t.Fatal(err)
			}
		}, "has mode 0640"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newReg(t)
			c.setup(t, r)
			unlock, err := r.Lock(context.Background())
			if err == nil {
				unlock()
				t.Fatal("Lock succeeded")
			}
			if !errors.Is(err, registry.ErrUnsafe) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Lock = %v, want ErrUnsafe mentioning %q", err, c.want)
			}
		})
	}
}

func mkdir(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(p, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// TestLockSerializes checks that a second Lock waits for the first to be
// released, and that a waiting Lock gives up when its context is done.
func TestLockSerializes(t *testing.T) {
	r := newReg(t)
	unlock1, err := r.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Another Registry value (as another npte process would have) on the
	// same layout: flock conflicts between open file descriptions.
	r2 := registry.New(r.Layout, r.Owner)
	got := make(chan func(), 1)
	errc := make(chan error, 1)
	go func() {
		u, err := r2.Lock(context.Background())
		if err != nil {
			errc <- err
			return
		}
		got <- u
	}()
	select {
	case u := <-got:
		u()
		t.Fatal("the second Lock did not wait for the first")
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(200 * time.Millisecond):
	}
	unlock1()
	select {
	case u := <-got:
		u()
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("the second Lock did not get the lock after the first was released")
	}

	// Cancellation while waiting.
	unlock1, err = r.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock1()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		u, err := r2.Lock(ctx)
		if err != nil {
			errc <- err
			return
		}
		got <- u
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case u := <-got:
		u()
		t.Fatal("Lock succeeded while the lock was held")
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Lock after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Lock did not honour the cancelled context")
	}
}

// TestLockReleasedByUnlock checks that Unlock releases the flock at once
// (an flock(1) from another process could take it).
func TestLockReleasedByUnlock(t *testing.T) {
	r := newReg(t)
	for range 3 {
		unlock, err := r.Lock(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fd, err := syscall.Open(r.Layout.LockPath(), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			t.Error("the lock was free while held")
		}
		unlock()
		if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			t.Errorf("the lock is still held after unlock: %v", err)
		}
		syscall.Close(fd)
	}
}

// TestLockExistingCreatesNothing checks that the read-only lock creates
// neither the state directories nor the lock, and takes an existing lock.
func TestLockExistingCreatesNothing(t *testing.T) {
	r := newReg(t)
	unlock, err := r.LockExisting(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if _, err := os.Lstat(r.Layout.Root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LockExisting made %s: %v", r.Layout.Root, err)
	}
	if err := r.Prepare(); err != nil {
		t.Fatal(err)
	}
	unlock, err = r.LockExisting(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if _, err := os.Lstat(r.Layout.LockPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LockExisting made the lock: %v", err)
	}
	// An existing lock is taken: a held one makes LockExisting wait.
	held, err := r.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer held()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if u, err := r.LockExisting(ctx); !errors.Is(err, context.DeadlineExceeded) {
		if u != nil {
			u()
		}
		t.Errorf("LockExisting of a held lock = %v, want it to wait until the context ends", err)
	}
	// And it applies Lock's rules to what exists.
	if err := os.Chmod(r.Layout.LockPath(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.LockExisting(context.Background()); !errors.Is(err, registry.ErrUnsafe) {
		t.Errorf("LockExisting of a 0644 lock = %v, want ErrUnsafe", err)
	}
}

// TestLockWaitNotice checks that a Lock kept waiting says once, after
// 2 s, which pid holds the lock.
func TestLockWaitNotice(t *testing.T) {
	r := newReg(t)
	held, err := r.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	r2 := registry.New(r.Layout, r.Owner)
	r2.Stderr = &out
	got := make(chan error, 1)
	go func() {
		u, err := r2.Lock(context.Background())
		if err == nil {
			u()
		}
		got <- err
	}()
	want := "held by pid " + strconv.Itoa(os.Getpid())
	for start := time.Now(); !strings.Contains(out.String(), want); time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("no notice naming the holder after 30 s: %q", out.String())
		}
	}
	held()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.Count(s, "\n") != 1 || !strings.HasPrefix(s, "npte: waiting for the lock "+r.Layout.LockPath()) {
		t.Errorf("notice %q, want one line", s)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHoldersOf(t *testing.T) {
	locks := `1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF
1: -> FLOCK  ADVISORY  WRITE 999 00:1a:5678 0 EOF
2: POSIX  ADVISORY  WRITE 77 00:1a:5678 0 EOF
3: FLOCK  ADVISORY  WRITE 4321 00:1b:5678 0 EOF
4: FLOCK  ADVISORY  WRITE 55 103:02:5678 0 EOF
garbage
`
	for _, c := range []struct {
		dev, ino uint64
		want     []int
	}{
		{0x1a, 5678, []int{1234}},
		{0x1b, 5678, []int{4321}},
		{0x1a, 5679, nil},
		{0x10302, 5678, []int{55}}, // major 0x103, minor 2
	} {
		if got := registry.HoldersOf(locks, c.dev, c.ino); !slices.Equal(got, c.want) {
			t.Errorf("HoldersOf(%#x, %d) = %v, want %v", c.dev, c.ino, got, c.want)
		}
	}
}
