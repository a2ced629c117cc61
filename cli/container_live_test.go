package cli_test

// Live tests of the container verbs. The Debian tree is made once per
// machine (a cache under /var/tmp/npte-test-cache, or $NPTE_TEST_ROOTFS_CACHE)
// by `npte container create`, outside the network sandbox since
// debootstrap needs deb.debian.org: it runs in a private mount namespace,
// and its plan touches nothing but the tree (RequireRootfs, debootstrap:
// no lock, no /run, no namespace). Everything that runs the tree runs
// inside sandbox.Enter, in a lab the test makes, with systemd-nspawn
// joining that lab's namespace.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/npte/npte/internal/sandbox"
)

// ctSuite and ctInclude are the cached tree: bookworm, minbase, with ip
// and ping to look at the lab, systemd and dbus to boot.
const (
	ctSuite   = "bookworm"
	ctInclude = "iproute2,iputils-ping,systemd,dbus"
)

// ctCache returns the cache directory (made 0700, root's).
func ctCache(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("NPTE_TEST_ROOTFS_CACHE")
	if dir == "" {
		dir = "/var/tmp/npte-test-cache"
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ctTree returns the cached tree, making it first if needed. Called in
// the test's parent process (outside the sandbox), as root.
func ctTree(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live test skipped: container create needs root")
	}
	for _, p := range []string{"debootstrap", "systemd-nspawn"} {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed (.ci/run installs debootstrap and systemd-container)", p)
			}
			t.Skipf("live test skipped: %s is not installed", p)
		}
	}
	cache := ctCache(t)
	tree := filepath.Join(cache, ctSuite+"-"+strings.ReplaceAll(ctInclude, ",", "-"))
	done := tree + ".done"
	// One maker at a time, across test binaries.
	lock, err := os.OpenFile(filepath.Join(cache, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(done); err == nil {
		return tree
	}
	// A tree without its .done mark is a failed or interrupted create of
	// ours: remove it (never crossing into a mount) and start over.
	if strings.HasPrefix(tree, cache+"/") {
		if out, err := exec.Command("rm", "-rf", "--one-file-system", "--", tree).CombinedOutput(); err != nil {
			t.Fatalf("rm -rf %s: %v\n%s", tree, err, out)
		}
	}
	bin := filepath.Join(t.TempDir(), "npte")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/npte/npte").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	start := time.Now()
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--",
		bin, "container", "create", "--include", ctInclude, ctSuite, tree)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		tail := out.String()
		if len(tail) > 3000 {
			tail = tail[len(tail)-3000:]
		}
		t.Fatalf("npte container create --include %s %s %s: %v\n%s", ctInclude, ctSuite, tree, err, tail)
	}
	if err := os.WriteFile(done, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("made %s in %v (cached for later runs)", tree, time.Since(start).Round(time.Second))
	return tree
}

// ctNpte runs the sandbox's npte binary and returns its combined output.
func ctNpte(t *testing.T, want int, args ...string) string {
	t.Helper()
	cmd := exec.Command(sandbox.Npte(t), args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=dumb"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Stdin = nil
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != want {
		t.Fatalf("npte %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out.String())
	}
	return out.String()
}

// TestLiveContainerRun: container run inside the lab's server namespace
// sees the server's interface and address, and reaches the client across
// the router; without --netns only a loopback; an unmanaged namespace is
// refused before nspawn starts.
func TestLiveContainerRun(t *testing.T) {
	var tree string
	if !sandbox.Inside() {
		tree = ctTree(t)
		os.Setenv("NPTE_TEST_TREE", tree)
	}
	if !sandbox.Enter(t) {
		return
	}
	tree = os.Getenv("NPTE_TEST_TREE")
	defer ctCgroup(t)()
	ctNpte(t, 0, "lab", "create")
	defer ctNpte(t, 0, "lab", "destroy")
	out := ctNpte(t, 0, "container", "run", "--netns", "server", tree, "--", "ip", "-br", "addr")
	t.Logf("container run --netns server -- ip -br addr:\n%s", out)
	if !strings.Contains(out, "if-router") || !strings.Contains(out, "172.16.2.2/24") {
		t.Errorf("the container does not see the server's link:\n%s", out)
	}
	out = ctNpte(t, 0, "container", "run", "--netns", "server", tree, "--", "ping", "-n", "-c", "1", "-W", "2", "172.16.3.2")
	if !strings.Contains(out, "1 received") {
		t.Errorf("the container cannot reach the client:\n%s", out)
	}
	out = ctNpte(t, 0, "container", "run", tree, "--", "ip", "-br", "link")
	if strings.Contains(out, "if-") || !strings.Contains(out, "lo") {
		t.Errorf("without --netns the container is not alone with its loopback:\n%s", out)
	}
	out = ctNpte(t, 2, "container", "run", "--netns", "nolab", tree, "--", "true")
	if !strings.Contains(out, "not managed by npte") {
		t.Errorf("unmanaged namespace: %s", out)
	}
	// The exit status passes through.
	ctNpte(t, 3, "container", "run", "--netns", "client", tree, "--", "sh", "-c", "exit 3")
	// The dry-run script does the same: run it with dash.
	script := ctNpte(t, 0, "container", "run", "--dry-run", "--netns", "client", tree, "--", "ip", "-br", "addr")
	cmd := exec.Command("dash", "-s")
	cmd.Stdin = strings.NewReader(script)
	sout, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(sout), "172.16.3.2/24") {
		t.Errorf("the dry-run script: %v\n%s", err, sout)
	}
}

// TestLiveContainerBoot: container boot in the server namespace boots
// the tree's systemd to "running" (systemctl is-system-running, asked
// through nsenter into the container), and stops when nspawn is told to.
func TestLiveContainerBoot(t *testing.T) {
	var tree string
	if !sandbox.Inside() {
		tree = ctTree(t)
		os.Setenv("NPTE_TEST_TREE", tree)
	}
	if !sandbox.Enter(t) {
		return
	}
	tree = os.Getenv("NPTE_TEST_TREE")
	defer ctCgroup(t)()
	ctNpte(t, 0, "lab", "create")
	defer ctNpte(t, 0, "lab", "destroy")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	boot := exec.CommandContext(ctx, sandbox.Npte(t), "container", "boot", "--netns", "server", tree)
	boot.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=dumb"}
	var console bytes.Buffer
	boot.Stdout, boot.Stderr = &console, &console
	if err := boot.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- boot.Wait() }()
	// npte becomes systemd-nspawn (same pid); its child is the container's
	// PID 1.
	state, pid1 := "", 0
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) && state != "running" && state != "degraded" {
		time.Sleep(time.Second)
		if pid1 == 0 {
			data, _ := os.ReadFile("/proc/" + strconv.Itoa(boot.Process.Pid) + "/task/" + strconv.Itoa(boot.Process.Pid) + "/children")
			if f := strings.Fields(string(data)); len(f) > 0 {
				pid1, _ = strconv.Atoi(f[0])
			}
			continue
		}
		out, _ := exec.Command("nsenter", "-t", strconv.Itoa(pid1), "-m", "-u", "-i", "-n", "-p", "--", "systemctl", "is-system-running").Output()
		state = strings.TrimSpace(string(out))
	}
	if state != "running" && state != "degraded" {
		t.Errorf("systemctl is-system-running: %q after 90 s\nconsole:\n%s", state, console.String())
	} else {
		t.Logf("container boot --netns server: systemctl is-system-running: %s", state)
		out, _ := exec.Command("nsenter", "-t", strconv.Itoa(pid1), "-n", "--", "ip", "-br", "addr").Output()
		if !strings.Contains(string(out), "172.16.2.2/24") {
			t.Errorf("the booted container is not in the server namespace:\n%s", out)
		}
	}
	// SIGTERM to nspawn (the process this test started) shuts the
	// container down.
	_ = boot.Process.Signal(syscall.SIGTERM)
	select {
	case <-waited:
	case <-time.After(60 * time.Second):
		_ = boot.Process.Kill()
		<-waited
		t.Error("nspawn did not stop within 60 s of SIGTERM")
	}
}

// ctCgroup moves this process (a sandbox child) into a cgroup of its own
// in the hierarchies systemd-nspawn writes to (the unified one and
// name=systemd), and returns a function that moves it back and removes
// that cgroup with whatever nspawn made inside it. Run with --keep-unit,
// nspawn makes "supervisor" and "payload" cgroups under its caller's and
// leaves them behind when its caller is no systemd unit (as here, where
// the test runs at the root cgroup): the cgroup file system is the
// machine's, not the sandbox's.
func ctCgroup(t *testing.T) func() {
	t.Helper()
	if err := sandbox.Private(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	type moved struct{ orig, dir string }
	var done []moved
	pid := []byte(strconv.Itoa(os.Getpid()))
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		mnt := ""
		switch {
		case f[0] == "0" && f[1] == "":
			mnt = "/sys/fs/cgroup/unified"
			if _, err := os.Stat(mnt + "/cgroup.procs"); err != nil {
				mnt = "/sys/fs/cgroup"
			}
		case f[1] == "name=systemd":
			mnt = "/sys/fs/cgroup/systemd"
		default:
			continue
		}
		orig := filepath.Join(mnt, f[2])
		if _, err := os.Stat(filepath.Join(orig, "cgroup.procs")); err != nil {
			continue
		}
		dir := filepath.Join(orig, fmt.Sprintf("npte-test-%d", os.Getpid()))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatalf("cgroup for the test: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), pid, 0); err != nil {
			_ = syscall.Rmdir(dir)
			t.Fatalf("cgroup for the test: %v", err)
		}
		done = append(done, moved{orig, dir})
	}
	return func() {
		for _, m := range done {
			if err := os.WriteFile(filepath.Join(m.orig, "cgroup.procs"), pid, 0); err != nil {
				t.Errorf("back to cgroup %s: %v", m.orig, err)
				continue
			}
			// Only directories, deepest first: rmdir removes an empty
			// cgroup and fails on one that still holds a process.
			var dirs []string
			_ = filepath.WalkDir(m.dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					dirs = append(dirs, p)
				}
				return nil
			})
			sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
			for _, d := range dirs {
				if err := syscall.Rmdir(d); err != nil {
					t.Errorf("cgroup %s left behind: %v", d, err)
				}
			}
		}
	}
}
