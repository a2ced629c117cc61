package securitytest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/npte/npte/internal/sandbox"
	"github.com/npte/npte/netns"
)

// killEach runs args with NPTE_TEST_KILL_AT=1, 2, ... until a run
// completes without being killed. After each kill it checks that the lock
// is free and calls recover, then compares the state with baseline. It
// returns the number of kill points tried.
func killEach(t *testing.T, args []string, baseline string, setup func(), recover func(t *testing.T, n int)) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for n := 1; n < 200; n++ {
		if setup != nil {
			setup()
		}
		r := run(ctx, t, proc{Args: args, Env: []string{"NPTE_TEST_KILL_AT=" + strconv.Itoa(n)}})
		if r.Signal == "" {
			if r.Code != 0 {
				t.Fatalf("run past the last step failed:\n%s", r)
			}
			recover(t, n)
			if got := fullState(t); got != baseline {
				t.Fatalf("after a complete run and cleanup, state differs from the start:\n--- start\n%s\n--- now\n%s", baseline, got)
			}
			return n - 1
		}
		if r.Signal != syscall.SIGKILL.String() {
			t.Fatalf("kill at step %d: killed by %s", n, r.Signal)
		}
		if !lockFree(t) {
			t.Fatalf("kill at step %d: the lock is still held", n)
		}
		if l := links(t, ""); len(l) != 1 {
			t.Errorf("kill at step %d: stray host interfaces %v", n, l)
		}
		recover(t, n)
		if got := fullState(t); got != baseline {
			t.Fatalf("kill at step %d of npte %q: cleanup did not restore the state:\n--- start\n%s\n--- now\n%s", n, args, baseline, got)
		}
	}
	t.Fatalf("npte %q never completed", args)
	return 0
}

// fullState is sandbox.State plus a byte-for-byte snapshot of npte's files.
func fullState(t testing.TB) string {
	return sandbox.State(t.(*testing.T)) + fsSnapshot("/run/npte", "/etc/netns")
}

// destroyOwned runs `netns destroy NAME` and accepts exit 2 only when
// nothing of NAME was left (a kill before the intent record).
func destroyOwned(t *testing.T, n int, name string) {
	t.Helper()
	owned := exists("/run/npte/netns/"+name) || exists("/run/npte/intent/"+name)
	r := mustRunAny(t, "netns", "destroy", name)
	switch {
	case owned && r.Code != 0:
		t.Fatalf("kill at step %d: destroy %s failed:\n%s", n, name, r)
	case !owned && r.Code != 2:
		t.Fatalf("kill at step %d: destroy of an unowned %s: want exit 2, got:\n%s", n, name, r)
	case !owned && (exists("/run/netns/"+name) || exists("/etc/netns/"+name)):
		t.Fatalf("kill at step %d: %s was left without an intent record or marker", n, name)
	}
}

func mustRunAny(t testing.TB, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return run(ctx, t, proc{Args: args})
}

// TestCrashNetnsCreate kills `netns create` before each of its steps;
// `netns destroy` then restores a clean machine every time, including
// after `ip netns add` ran without its marker (the intent record).
func TestCrashNetnsCreate(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeState(t) // /run/npte and its lock file
	baseline := fullState(t)
	addAt := stepIndex(t, netns.Create("kx", netns.DefaultDNS), "ip netns add kx")
	sawOrphan := false
	n := killEach(t, []string{"netns", "create", "kx"}, baseline, nil, func(t *testing.T, n int) {
		if n > addAt && exists("/run/netns/kx") && !exists("/run/npte/netns/kx") {
			sawOrphan = true
			if !exists("/run/npte/intent/kx") {
				t.Fatalf("kill at step %d: namespace kx exists without marker or intent record", n)
			}
		}
		destroyOwned(t, n, "kx")
	})
	if !sawOrphan {
		t.Errorf("no kill point left a namespace without its marker; the test did not cover that case")
	}
	t.Logf("netns create: %d kill points tried, each cleaned by netns destroy, nothing lost", n)
}

// TestCrashNetnsConnect kills `netns connect` before each of its steps:
// there is never a half-made link or a host-side interface, and
// destroying both namespaces restores a clean machine.
func TestCrashNetnsConnect(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeState(t)
	if r := mustRunAny(t, "netns", "connect", "--dry-run", "ca", "cb"); r.Code != 0 {
		t.Fatalf("netns connect --dry-run failed: %s", r)
	}
	baseline := fullState(t)
	setup := func() {
		mustRun(t, 0, "netns", "create", "ca")
		mustRun(t, 0, "netns", "create", "cb")
	}
	n := killEach(t, []string{"netns", "connect", "ca", "cb"}, baseline, setup, func(t *testing.T, n int) {
		a, b := links(t, "ca"), links(t, "cb")
		hasA, hasB := contains(a, "if-cb"), contains(b, "if-ca")
		if hasA != hasB {
			t.Fatalf("kill at step %d: half a link: ca %v, cb %v", n, a, b)
		}
		mustRun(t, 0, "netns", "destroy", "ca")
		mustRun(t, 0, "netns", "destroy", "cb")
	})
	t.Logf("netns connect: %d kill points tried, never half a link, cleaned by netns destroy", n)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestCrashLabCreate kills `lab create` before each of its steps; `lab
// destroy` then restores a clean machine.
func TestCrashLabCreate(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeLabState(t)
	if r := mustRunAny(t, "lab", "create", "--dry-run"); r.Code != 0 {
		t.Fatalf("lab create --dry-run failed: %s", r)
	}
	baseline := fullState(t)
	n := killEach(t, []string{"lab", "create"}, baseline, nil, func(t *testing.T, n int) {
		if r := mustRunAny(t, "lab", "destroy"); r.Code != 0 {
			t.Fatalf("kill at step %d: lab destroy failed:\n%s", n, r)
		}
	})
	t.Logf("lab create: %d kill points tried, each cleaned by lab destroy, nothing lost", n)
}

// TestSignalDuringStep sends SIGINT or SIGTERM while a step of `netns
// create` is in progress: that step ends, no further step starts, npte
// exits 130 or 143, says what was done and how to clean up, and the lock
// is free.
func TestSignalDuringStep(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeState(t)
	baseline := fullState(t)
	p := netns.Create("sx", netns.DefaultDNS)
	steps := flatten(p.Steps)
	addAt := stepIndex(t, p, "ip netns add sx")
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
		name string
	}{{syscall.SIGINT, 130, "SIGINT"}, {syscall.SIGTERM, 143, "SIGTERM"}} {
		pause := filepath.Join(t.TempDir(), "pause")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		done := make(chan result, 1)
		go func() {
			done <- run(ctx, t, proc{Args: []string{"netns", "create", "sx"},
				Env: []string{"NPTE_TEST_PAUSE_AT=" + strconv.Itoa(addAt), "NPTE_TEST_PAUSE_FILE=" + pause}})
		}()
		pid := waitFile(t, pause)
		if err := syscall.Kill(pid, tc.sig); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // the signal is pending in npte
		os.Remove(pause)                   // step addAt goes on
		r := <-done
		cancel()
		if r.Code != tc.code {
			t.Fatalf("%s: want exit %d, got:\n%s", tc.name, tc.code, r)
		}
		want := []string{
			"interrupted (" + tc.name + ") before step " + strconv.Itoa(addAt+1) + "/" + strconv.Itoa(len(steps)),
			"no further step was started",
			"already done: record the intent to create sx; ",
			"; ip netns add sx\n",
			"to clean up, run: npte netns destroy sx",
		}
		for _, w := range want {
			if !strings.Contains(r.Stderr, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", tc.name, w, r.Stderr)
			}
		}
		// Step addAt ran to its end; step addAt+1 (lo up) never started.
		if !exists("/run/netns/sx") || exists("/run/npte/netns/sx") || !exists("/run/npte/intent/sx") {
			t.Errorf("%s: want namespace and intent record, no marker: %s", tc.name, fsSnapshot("/run/netns", "/run/npte"))
		}
		if strings.Contains(sandbox.Run(t, "ip", "-n", "sx", "-o", "link", "show", "dev", "lo"), "UP") {
			t.Errorf("%s: step %d (lo up) ran after the signal", tc.name, addAt+1)
		}
		if !lockFree(t) {
			t.Errorf("%s: the lock is held", tc.name)
		}
		mustRun(t, 0, "netns", "destroy", "sx")
		if got := fullState(t); got != baseline {
			t.Fatalf("%s: destroy did not restore the state:\n--- start\n%s\n--- now\n%s", tc.name, baseline, got)
		}
		t.Logf("%s during step %d/%d: exit %d, step finished, none started after, cleaned by destroy", tc.name, addAt, len(steps), r.Code)
	}
}

// TestSignalWhileWaitingForLock: Ctrl-C while npte waits for the lock
// (another npte or a script holds it) ends npte at once, with nothing done.
func TestSignalWhileWaitingForLock(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeState(t)
	release := holdLock(t)
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan result, 1)
	started := make(chan int, 1)
	go func() {
		done <- run(ctx, t, proc{Args: []string{"netns", "create", "wx"}, Started: started})
	}()
	pid := <-started
	time.Sleep(300 * time.Millisecond) // npte is waiting for the lock
	syscall.Kill(pid, syscall.SIGINT)
	select {
	case r := <-done:
		if r.Code != 130 || !strings.Contains(r.Stderr, "nothing was changed") {
			t.Errorf("want exit 130 and 'nothing was changed', got:\n%s", r)
		}
		t.Logf("SIGINT while waiting for the lock: exit %d after %v", r.Code, r.Duration)
	case <-time.After(5 * time.Second):
		release()
		r := <-done
		t.Fatalf("SIGINT did not end npte while it waited for the lock (it went on once the lock was free):\n%s", r)
	}
	if exists("/run/netns/wx") || exists("/run/npte/intent/wx") {
		t.Errorf("npte changed state after SIGINT")
	}
}

func waitFile(t *testing.T, path string) int {
	t.Helper()
	for start := time.Now(); time.Since(start) < time.Minute; time.Sleep(2 * time.Millisecond) {
		if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
			pid, err := strconv.Atoi(string(data))
			if err == nil {
				return pid
			}
		}
	}
	t.Fatalf("%s never appeared", path)
	return 0
}
