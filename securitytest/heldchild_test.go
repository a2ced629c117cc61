package securitytest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/npte/npte/internal/sandbox"
	"github.com/npte/npte/shell"
)

// The held-child tests kill npte with SIGKILL while one of its children
// (ip, tc, install, rm, sysctl, modprobe...) is still running, not only at
// step boundaries: the child must keep npte's lock until it exits, so
// that a `destroy` started right after the kill waits for it and then
// leaves a clean machine, as it does for a rendered script (whose children
// inherit fd 9).
//
// In this test binary only, NPTE_TEST_DIRS=DIR puts DIR first in the
// directories live npte finds its programs in (exec.Runner.Dirs). DIR
// holds, for each allowlisted program that changes state, a wrapper
// (holdWrappers) that counts the children npte starts and blocks the
// TARGET-th one until the test removes DIR/hold, then execs the real
// program.

// heldDirsVar names the wrapper directory (test binary only).
const heldDirsVar = "NPTE_TEST_DIRS"

// testDirs is exec.Runner.Dirs for npteMain: nil (the real directories)
// unless heldDirsVar is set.
func testDirs() []string {
	d := os.Getenv(heldDirsVar)
	if d == "" {
		return nil
	}
	return append([]string{d}, strings.Split(shell.SafePath, ":")...)
}

// heldPrograms are the programs that get a blocking wrapper.
var heldPrograms = []string{"ip", "tc", "sysctl", "modprobe", "install", "rm", "nft", "iptables", "ip6tables"}

// holdWrappers writes the wrappers into a new directory and returns it.
func holdWrappers(t *testing.T) string {
	t.Helper()
	mustBeSandboxed(t)
	d := t.TempDir()
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	for _, name := range heldPrograms {
		real := ""
		for _, dir := range strings.Split(shell.SafePath, ":") {
			if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.Mode().IsRegular() {
				real = filepath.Join(dir, name)
				break
			}
		}
		if real == "" {
			continue // not installed: npte reports it as it would anyway
		}
		script := "#!/bin/sh\n" +
			"d=" + q(d) + "\n" +
			`n=$(( $(cat "$d/count") + 1 ))` + "\n" +
			`echo "$n" >"$d/count"` + "\n" +
			`if test "$n" -eq "$(cat "$d/target")"; then` + "\n" +
			`	echo "$$ ` + name + ` $*" >"$d/held.tmp" && mv "$d/held.tmp" "$d/held"` + "\n" +
			`	while test -e "$d/hold"; do sleep 0.01; done` + "\n" +
			"fi\n" +
			"exec " + q(real) + ` "$@"` + "\n"
		if err := os.WriteFile(filepath.Join(d, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// holdEach runs `npte ARGS` once for each child it starts, k = 1, 2, ...:
// run k blocks the k-th child, SIGKILLs npte while that child still runs,
// checks the lock is still held (by the child), runs recover (a destroy)
// while the child is blocked, releases the child after a while, and
// checks that recover finished only after the child did and that the
// state is baseline again. It stops at the first run that completes
// without reaching child k, and returns the number of children held.
func holdEach(t *testing.T, args []string, baseline string, setup func(), recover func(t *testing.T, k int)) int {
	t.Helper()
	return holdEachState(t, args, fullState, baseline, setup, recover)
}

// holdEachState is holdEach comparing state(t) with baseline.
func holdEachState(t *testing.T, args []string, state func(testing.TB) string, baseline string, setup func(), recover func(t *testing.T, k int)) int {
	t.Helper()
	d := holdWrappers(t)
	hold := filepath.Join(d, "hold")
	t.Cleanup(func() { os.Remove(hold) }) // never leave a child blocked
	bin := npteBin(t)
	for k := 1; k < 300; k++ {
		if setup != nil {
			setup()
		}
		for name, content := range map[string]string{"count": "0\n", "target": strconv.Itoa(k) + "\n", "hold": ""} {
			if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_ = os.Remove(filepath.Join(d, "held"))
		// Files, not pipes, for npte's output: a child that outlives npte
		// keeps them open, and os/exec would wait for a pipe's EOF.
		out, err := os.Create(filepath.Join(d, "out"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), heldDirsVar+"="+d)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		held := ""
		for start := time.Now(); held == ""; time.Sleep(2 * time.Millisecond) {
			if b, err := os.ReadFile(filepath.Join(d, "held")); err == nil {
				held = strings.TrimSpace(string(b))
				break
			}
			select {
			case err := <-exited:
				out.Close()
				log, _ := os.ReadFile(out.Name())
				if err != nil {
					t.Fatalf("npte %q with no child held: %v\n%s", args, err, log)
				}
				os.Remove(hold)
				recover(t, k)
				if got := state(t); got != baseline {
					t.Fatalf("after a complete run and cleanup, state differs from the start:\n--- start\n%s\n--- now\n%s", baseline, got)
				}
				return k - 1
			default:
			}
			if time.Since(start) > time.Minute {
				t.Fatalf("npte %q: child %d never started", args, k)
			}
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err = <-exited
		out.Close()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("child %d (%s): npte was not killed by SIGKILL: %v", k, held, err)
		}
		if lockFree(t) {
			t.Fatalf("child %d (%s) still runs after npte was SIGKILLed, but the lock is free: a destroy now would race it", k, held)
		}
		released := make(chan time.Time, 1)
		go func() {
			time.Sleep(300 * time.Millisecond)
			now := time.Now()
			os.Remove(hold)
			released <- now
		}()
		recover(t, k)
		finished := time.Now()
		if at := <-released; finished.Before(at) {
			t.Fatalf("child %d (%s): the recovery finished while the child still ran: it did not wait for the lock", k, held)
		}
		if got := state(t); got != baseline {
			t.Fatalf("child %d (%s) held across SIGKILL: cleanup did not restore the state:\n--- start\n%s\n--- now\n%s", k, held, baseline, got)
		}
	}
	t.Fatalf("npte %q never completed", args)
	return 0
}

// TestHeldChildNetnsCreate: SIGKILL of `netns create` while each of its
// children runs; `netns destroy` right after waits for the child and
// leaves a clean machine (before the fix, the lock was free at once and
// the child's namespace or /etc/netns entry outlived the destroy).
func TestHeldChildNetnsCreate(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeState(t) // netns list creates nothing: make the state directories as a first create would
	baseline := fullState(t)
	n := holdEach(t, []string{"netns", "create", "hx"}, baseline, nil, func(t *testing.T, k int) {
		destroyOwned(t, k, "hx")
	})
	if n < 4 {
		t.Fatalf("netns create started only %d children", n)
	}
	t.Logf("netns create: SIGKILL with each of its %d children running; netns destroy waited for the child every time, nothing lost", n)
}

// TestHeldChildNetnsDestroy: SIGKILL of `netns destroy` while each of its
// children runs; a second destroy waits for that child and finishes the
// job.
func TestHeldChildNetnsDestroy(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeState(t) // netns list creates nothing: make the state directories as a first create would
	baseline := fullState(t)
	n := holdEach(t, []string{"netns", "destroy", "hd"}, baseline, func() {
		mustRun(t, 0, "netns", "create", "hd")
	}, func(t *testing.T, k int) {
		destroyOwned(t, k, "hd")
	})
	t.Logf("netns destroy: SIGKILL with each of its %d children running; a second destroy waited and cleaned up", n)
}

// TestHeldChildLabCreate: SIGKILL of `lab create` while each of its
// children runs; `lab destroy` waits for it and leaves a clean machine.
func TestHeldChildLabCreate(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeLabState(t) // netns list creates nothing: make the state directories as a first create would
	baseline := fullState(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	n := holdEach(t, []string{"lab", "create"}, baseline, nil, func(t *testing.T, k int) {
		if r := run(ctx, t, proc{Args: []string{"lab", "destroy"}}); r.Code != 0 {
			t.Fatalf("child %d held: lab destroy failed:\n%s", k, r)
		}
	})
	t.Logf("lab create: SIGKILL with each of its %d children running; lab destroy waited for the child every time, nothing lost", n)
}

// TestHeldChildNetemIngress: SIGKILL of `netem apply --direction ingress`
// and of `netem clear` while each of their children runs (ifb link, ingress
// qdisc, mirred filter); `netem clear` right after waits for the child and
// leaves no ifb and no qdisc behind.
func TestHeldChildNetemIngress(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	mustRun(t, 0, "netns", "create", "na")
	mustRun(t, 0, "netns", "create", "nb")
	mustRun(t, 0, "netns", "connect", "na", "nb")
	_ = settledState(t)
	baseline := fullState(t)
	apply := []string{"netem", "apply", "--direction", "ingress", "--rate", "20mbit", "na", "if-nb"}
	clear := func(t *testing.T, k int) {
		if r := mustRunAny(t, "netem", "clear", "na", "if-nb"); r.Code != 0 {
			t.Fatalf("child %d held: netem clear failed:\n%s", k, r)
		}
	}
	n := holdEach(t, apply, baseline, nil, clear)
	m := holdEach(t, []string{"netem", "clear", "na", "if-nb"}, baseline, func() { mustRun(t, 0, apply...) }, clear)
	t.Logf("netem apply --direction ingress: %d children, netem clear: %d children, each held across SIGKILL; netem clear waited and left no ifb", n, m)
}

// gatewayState is fullState plus the host's firewall (nft ruleset and
// iptables/ip6tables rules, where installed).
func gatewayState(t testing.TB) string {
	s := fullState(t)
	for _, argv := range [][]string{{"nft", "list", "ruleset"}, {"iptables-save"}, {"ip6tables-save"}} {
		if _, err := exec.LookPath(argv[0]); err != nil {
			continue
		}
		out, err := exec.Command(argv[0], argv[1:]...).Output()
		if err != nil {
			t.Fatalf("%v: %v", argv, err)
		}
		var keep []string
		for _, l := range strings.Split(string(out), "\n") {
			if !strings.HasPrefix(l, "#") { // iptables-save's dated comments
				keep = append(keep, l)
			}
		}
		s += strings.Join(argv, " ") + ":\n" + strings.Join(keep, "\n")
	}
	return s
}

// TestHeldChildGateway: SIGKILL of `gateway create` and of `gateway
// destroy` while each of their children runs (nft, ip, sysctl); `gateway
// destroy` right after waits for the child and leaves no host veth and no
// npte table.
func TestHeldChildGateway(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft is not installed (.ci/run installs it)")
	}
	mustBeSandboxed(t)
	sandbox.Run(t, "ip", "link", "add", "name", "uplink", "type", "veth", "peer", "name", "wan0")
	sandbox.Run(t, "ip", "addr", "add", "198.51.100.1/24", "dev", "uplink")
	sandbox.Run(t, "ip", "link", "set", "dev", "uplink", "up")
	// gateway create turns forwarding on and destroy leaves it on: start
	// with it on, in the sandbox's own network namespace.
	sandbox.Run(t, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	mustRun(t, 0, "netns", "create", "gw")
	create := []string{"gateway", "create", "gw", "172.16.9.0/24", "uplink"}
	// A first gateway makes npte's gateway record directory, which stays
	// (empty) like the marker directory: the baseline has it.
	mustRun(t, 0, create...)
	mustRun(t, 0, "gateway", "destroy", "gw")
	_ = settledState(t)
	baseline := gatewayState(t)
	destroy := func(t *testing.T, k int) {
		if r := mustRunAny(t, "gateway", "destroy", "gw"); r.Code != 0 {
			t.Fatalf("child %d held: gateway destroy failed:\n%s", k, r)
		}
	}
	n := holdEachState(t, create, gatewayState, baseline, nil, destroy)
	m := holdEachState(t, []string{"gateway", "destroy", "gw"}, gatewayState, baseline, func() { mustRun(t, 0, create...) }, destroy)
	t.Logf("gateway create: %d children, gateway destroy: %d children, each held across SIGKILL; gateway destroy waited and left no host veth or npte table", n, m)
}
