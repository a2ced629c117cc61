package exec_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/npte/npte/exec"
	"github.com/npte/npte/netns"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/registry"
	"github.com/npte/npte/render"
	"github.com/npte/npte/shell"
)

// call is one program run recorded by the fake Starter.
type call struct {
	Path  string
	Argv  []string
	Env   []string
	Stdin string
}

// exitErr is a fake non-zero exit, like *os/exec.ExitError.
type exitErr int

func (e exitErr) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e exitErr) ExitCode() int { return int(e) }

// harness is a Runner over a private layout and a directory of fake
// programs, with a Starter that records every call and asks outcome.
type harness struct {
	t       *testing.T
	r       *exec.Runner
	bin     string
	calls   []call
	outcome func(argv []string) error
	stderr  bytes.Buffer
	// during is called inside each fake program run.
	during func(argv []string)
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o755)
	l := shell.Layout{Root: filepath.Join(dir, "npte"), RunNetns: filepath.Join(dir, "netns")}
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{l.RunNetns, bin} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range exec.Tools() {
		if err := os.WriteFile(filepath.Join(bin, tool.Name), []byte("#!/bin/false\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{t: t, bin: bin}
	h.r = &exec.Runner{
		Registry: registry.New(l, os.Getuid()),
		Stdout:   io.Discard,
		Stderr:   &h.stderr,
		Dirs:     []string{bin},
		Signals:  make(chan os.Signal, 4),
		Start: func(_ context.Context, c exec.Cmd) error {
			rec := call{Path: c.Path, Argv: c.Argv, Env: c.Env}
			if c.Stdin != nil {
				b, _ := io.ReadAll(c.Stdin)
				rec.Stdin = string(b)
			}
			h.calls = append(h.calls, rec)
			if h.during != nil {
				h.during(c.Argv)
			}
			if h.outcome != nil {
				return h.outcome(c.Argv)
			}
			return nil
		},
		Exec: func(c exec.Cmd) error {
			h.calls = append(h.calls, call{Path: c.Path, Argv: c.Argv, Env: c.Env})
			return nil
		},
	}
	return h
}

func (h *harness) layout() shell.Layout { return h.r.Registry.Layout }

// argvs returns the recorded argv, one line each.
func (h *harness) argvs() string {
	var lines []string
	for _, c := range h.calls {
		lines = append(lines, strings.Join(c.Argv, " "))
	}
	return strings.Join(lines, "\n")
}

// lockFree reports whether the npte lock can be taken right now.
func (h *harness) lockFree() bool {
	h.t.Helper()
	fd, err := syscall.Open(h.layout().LockPath(), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if errors.Is(err, syscall.ENOENT) {
		return true
	}
	if err != nil {
		h.t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return false
	}
	return true
}

// failOn makes the program whose argv joined by spaces is line exit 1.
func failOn(line string) func([]string) error {
	return func(argv []string) error {
		if strings.Join(argv, " ") == line {
			return exitErr(1)
		}
		return nil
	}
}

func stepError(t *testing.T, err error) *exec.StepError {
	t.Helper()
	var se *exec.StepError
	if !errors.As(err, &se) {
		t.Fatalf("Run = %v (%T), want a *StepError", err, err)
	}
	return se
}

func TestResolve(t *testing.T) {
	h := newHarness(t)
	other := t.TempDir()
	// The first directory that has the program wins.
	if err := os.WriteFile(filepath.Join(other, "ip"), []byte("#!/bin/false\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A non-executable or non-regular "tc" in the first directory is skipped.
	if err := os.WriteFile(filepath.Join(other, "tc"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(other, "ss"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.r.Dirs = []string{other, h.bin}
	for name, want := range map[string]string{
		"ip": filepath.Join(other, "ip"),
		"tc": filepath.Join(h.bin, "tc"),
		"ss": filepath.Join(h.bin, "ss"),
	} {
		if got, err := h.r.Resolve(name); got != want || err != nil {
			t.Errorf("Resolve(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"sh", "sudo", "bash", "/usr/sbin/ip", "./ip", "../bin/ip", "ip ", "IP", "", "ip\x00"} {
		if got, err := h.r.Resolve(name); !errors.Is(err, exec.ErrNotAllowed) {
			t.Errorf("Resolve(%q) = %q, %v; want ErrNotAllowed", name, got, err)
		}
	}
	// Allowlisted but missing: the error names the Debian package.
	if err := os.Remove(filepath.Join(h.bin, "bwrap")); err != nil {
		t.Fatal(err)
	}
	_, err := h.r.Resolve("bwrap")
	if !errors.Is(err, exec.ErrNotFound) || !strings.Contains(err.Error(), "bubblewrap") {
		t.Errorf("Resolve(bwrap) = %v, want ErrNotFound naming bubblewrap", err)
	}
}

// TestResolveNeverPATH checks that the caller's PATH chooses nothing.
func TestResolveNeverPATH(t *testing.T) {
	h := newHarness(t)
	evil := t.TempDir()
	if err := os.WriteFile(filepath.Join(evil, "modprobe"), []byte("#!/bin/false\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", evil)
	if err := os.Remove(filepath.Join(h.bin, "modprobe")); err != nil {
		t.Fatal(err)
	}
	if p, err := h.r.Resolve("modprobe"); err == nil {
		t.Errorf("Resolve(modprobe) = %s from $PATH", p)
	}
}

func TestToolsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, tool := range exec.Tools() {
		if tool.Name == "" || tool.Package == "" || tool.Purpose == "" || strings.ContainsAny(tool.Name, "/ ") {
			t.Errorf("bad allowlist entry %+v", tool)
		}
		if seen[tool.Name] {
			t.Errorf("duplicate allowlist entry %s", tool.Name)
		}
		seen[tool.Name] = true
	}
	for _, banned := range []string{"sh", "bash", "dash", "sudo", "su", "python3"} {
		if seen[banned] {
			t.Errorf("%s is in the allowlist", banned)
		}
	}
	if _, ok := exec.Lookup("ip"); !ok {
		t.Error("Lookup(ip) failed")
	}
}

func TestRunCreate(t *testing.T) {
	h := newHarness(t)
	h.r.Color = false
	p := netns.Create("demo", []string{"192.0.2.53"})
	if err := h.r.Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"modprobe -q tcp_bbr",
		"ip netns add demo",
		"ip -n demo link set dev lo up",
		"ip netns exec demo sysctl -q -w net.ipv4.tcp_rmem=4096 131072 33554432 net.ipv4.tcp_wmem=4096 131072 33554432 net.ipv4.ip_forward=1",
		"ip netns exec demo sysctl -q -w net.ipv6.conf.all.forwarding=1",
		"install -D -m 0644 /dev/stdin /etc/netns/demo/resolv.conf",
	}, "\n")
	if got := h.argvs(); got != want {
		t.Errorf("ran:\n%s\nwant:\n%s", got, want)
	}
	for _, c := range h.calls {
		if !filepath.IsAbs(c.Path) || filepath.Dir(c.Path) != h.bin || filepath.Base(c.Path) != c.Argv[0] {
			t.Errorf("%v ran from %q, want %s/%s", c.Argv, c.Path, h.bin, c.Argv[0])
		}
		if !reflect.DeepEqual(c.Env, []string{"PATH=" + shell.SafePath}) {
			t.Errorf("%v ran with env %q", c.Argv, c.Env)
		}
	}
	if got := h.calls[5].Stdin; got != "nameserver 192.0.2.53\n" {
		t.Errorf("resolv.conf payload %q", got)
	}
	if err := h.r.Registry.RequireManaged("demo"); err != nil {
		t.Errorf("marker after create: %v", err)
	}
	if _, err := os.Lstat(h.layout().Intent("demo")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("intent record left after create: %v", err)
	}
	// Echo: every command as a quoted argv, before it runs; tolerated
	// commands with the same "|| true" as the script.
	for _, l := range []string{
		"+ modprobe -q tcp_bbr 2>/dev/null || true\n",
		"+ ip netns add demo\n",
		"+ ip netns exec demo sysctl -q -w 'net.ipv4.tcp_rmem=4096 131072 33554432' ",
	} {
		if !strings.Contains(h.stderr.String(), l) {
			t.Errorf("stderr lacks %q:\n%s", l, h.stderr.String())
		}
	}
	if strings.Contains(h.stderr.String(), "\x1b[") {
		t.Error("colour without Color")
	}
	if !h.lockFree() {
		t.Error("lock held after a successful run")
	}
}

func TestColor(t *testing.T) {
	h := newHarness(t)
	h.r.Color = true
	if err := h.r.Run(context.Background(), plan.Plan{Steps: []plan.Step{plan.Command{Argv: []string{"ip", "link"}}}}); err != nil {
		t.Fatal(err)
	}
	if got := h.stderr.String(); !strings.Contains(got, "\x1b[") || !strings.Contains(got, "+ ip link") {
		t.Errorf("stderr with Color: %q", got)
	}
}

// TestStdinLikeHeredoc checks that live mode feeds the same bytes as the
// script's heredoc, which always ends with a newline.
func TestStdinLikeHeredoc(t *testing.T) {
	for payload, want := range map[string]string{
		"a\n":      "a\n",
		"a":        "a\n",
		"a\nb":     "a\nb\n",
		"\n":       "\n",
		"$(id) #'": "$(id) #'\n",
	} {
		h := newHarness(t)
		if err := h.r.Run(context.Background(), plan.Plan{Steps: []plan.Step{plan.Command{Argv: []string{"install"}, Stdin: payload}}}); err != nil {
			t.Fatal(err)
		}
		if got := h.calls[0].Stdin; got != want {
			t.Errorf("payload %q fed as %q, want %q", payload, got, want)
		}
	}
}

func TestTolerant(t *testing.T) {
	h := newHarness(t)
	h.outcome = failOn("modprobe -q tcp_bbr")
	p := plan.Plan{Steps: []plan.Step{
		plan.Command{Argv: []string{"modprobe", "-q", "tcp_bbr"}, Tolerant: true},
		plan.Command{Argv: []string{"ip", "link"}},
	}}
	if err := h.r.Run(context.Background(), p); err != nil {
		t.Fatalf("a tolerated non-zero exit failed the plan: %v", err)
	}
	// An expected failure is quiet: the program's complaint is discarded
	// (2>/dev/null in the script) and npte adds nothing.
	if strings.Contains(h.stderr.String(), "npte:") {
		t.Errorf("the expected failure was reported: %q", h.stderr.String())
	}
	// A missing tolerated program is accepted too, and reported.
	h = newHarness(t)
	if err := os.Remove(filepath.Join(h.bin, "modprobe")); err != nil {
		t.Fatal(err)
	}
	if err := h.r.Run(context.Background(), p); err != nil {
		t.Fatalf("a missing tolerated program failed the plan: %v", err)
	}
	if got := h.argvs(); got != "ip link" {
		t.Errorf("ran %q", got)
	}
	if !strings.Contains(h.stderr.String(), "kmod") {
		t.Errorf("the missing program's package is not named: %q", h.stderr.String())
	}
	// A tolerated program that cannot be started (not an exit) fails.
	h = newHarness(t)
	h.outcome = func(argv []string) error {
		if argv[0] == "modprobe" {
			return errors.New("fork/exec: permission denied")
		}
		return nil
	}
	if err := h.r.Run(context.Background(), p); err == nil {
		t.Error("a start failure of a tolerated program was ignored")
	}
}

func TestNotAllowedAndMissing(t *testing.T) {
	h := newHarness(t)
	err := h.r.Run(context.Background(), plan.Plan{Steps: []plan.Step{plan.Command{Argv: []string{"sh", "-c", "id"}}}})
	se := stepError(t, err)
	if se.Code != exec.ExitFailure || !errors.Is(err, exec.ErrNotAllowed) || len(h.calls) != 0 {
		t.Errorf("a program outside the allowlist: %v (code %d), calls %v", err, se.Code, h.calls)
	}
	if err := os.Remove(filepath.Join(h.bin, "nft")); err != nil {
		t.Fatal(err)
	}
	err = h.r.Run(context.Background(), plan.Plan{Steps: []plan.Step{plan.Command{Argv: []string{"nft", "list", "ruleset"}}}})
	se = stepError(t, err)
	if se.Code != exec.ExitFailure || !errors.Is(err, exec.ErrNotFound) || !strings.Contains(err.Error(), "nftables") {
		t.Errorf("a missing program: %v (code %d)", err, se.Code)
	}
}

func TestProbe(t *testing.T) {
	for _, c := range []struct {
		name        string
		wantSuccess bool
		outcome     error
		code        int // 0: the plan goes on
	}{
		{"success wanted, got", true, nil, 0},
		{"success wanted, failed", true, exitErr(1), exec.ExitUsage},
		{"failure wanted, got", false, exitErr(1), 0},
		{"failure wanted, succeeded", false, nil, exec.ExitUsage},
		{"cannot start", true, errors.New("fork/exec: no such file"), exec.ExitFailure},
		{"cannot start, failure wanted", false, errors.New("fork/exec: no such file"), exec.ExitFailure},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.outcome = func(argv []string) error {
				if argv[0] == "ss" {
					return c.outcome
				}
				return nil
			}
			p := plan.Plan{Steps: []plan.Step{
				plan.Lock{},
				plan.Probe{Argv: []string{"ss", "-x"}, WantSuccess: c.wantSuccess, Message: "the probe refused"},
				plan.Command{Argv: []string{"ip", "link"}},
			}}
			err := h.r.Run(context.Background(), p)
			if c.code == 0 {
				if err != nil || h.argvs() != "ss -x\nip link" {
					t.Fatalf("Run = %v, ran %q", err, h.argvs())
				}
			} else {
				se := stepError(t, err)
				if se.Code != c.code || h.argvs() != "ss -x" {
					t.Fatalf("Run = %v (code %d), ran %q; want code %d", err, se.Code, h.argvs(), c.code)
				}
				if c.code == exec.ExitUsage && se.Error() != "the probe refused" {
					t.Errorf("message %q", se.Error())
				}
			}
			if strings.Contains(h.stderr.String(), "+ ss") {
				t.Error("a probe was echoed like a command")
			}
			if !h.lockFree() {
				t.Error("lock still held")
			}
		})
	}
}

func TestStepError(t *testing.T) {
	h := newHarness(t)
	h.outcome = failOn("ip -n demo link set dev lo up")
	err := h.r.Run(context.Background(), netns.Create("demo", nil))
	se := stepError(t, err)
	if se.Code != exec.ExitFailure {
		t.Errorf("code %d, want 1", se.Code)
	}
	msg := se.Error()
	for _, want := range []string{
		"step 7/11 failed: ip -n demo link set dev lo up: exit status 1",
		"npte: already done: record the intent to create demo; load tcp_bbr so that BBR can be chosen inside namespaces; ip netns add demo",
		"npte: to clean up, run: npte netns destroy demo",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(h.argvs(), "sysctl") {
		t.Error("a step after the failing one ran")
	}
	if _, err := os.Lstat(h.layout().Marker("demo")); err == nil {
		t.Error("marker written after a failed step")
	}
	if !h.lockFree() {
		t.Error("lock still held after a failed step")
	}

	// A tolerated failure is not listed as done.
	h = newHarness(t)
	h.outcome = func(argv []string) error {
		if argv[0] == "modprobe" || strings.Join(argv, " ") == "ip -n demo link set dev lo up" {
			return exitErr(1)
		}
		return nil
	}
	se = stepError(t, h.r.Run(context.Background(), netns.Create("demo", nil)))
	if msg := se.Error(); !strings.Contains(msg, "npte: already done: record the intent to create demo; ip netns add demo\n") {
		t.Errorf("a tolerated failure is listed as done:\n%s", msg)
	}

	// Failure before anything changed.
	h = newHarness(t)
	h.outcome = func(argv []string) error {
		switch strings.Join(argv, " ") {
		case "ip netns del demo", "ip -n demo link delete group " + netns.LinkGroup: // no links: expected failure
			return exitErr(1)
		}
		return nil
	}
	if err := h.r.Registry.Prepare(); err != nil {
		t.Fatal(err)
	}
	touch(t, h.layout().Marker("demo"))
	touch(t, h.layout().Netns("demo"))
	p := netns.Destroy("demo")
	for i, s := range p.Steps { // drop the rm -rf of /etc/netns/demo
		if c, ok := s.(plan.Command); ok && c.Argv[0] == "rm" {
			p.Steps = append(p.Steps[:i], p.Steps[i+1:]...)
			break
		}
	}
	se = stepError(t, h.r.Run(context.Background(), p))
	if msg := se.Error(); !strings.HasSuffix(msg, "\nnpte: nothing was changed") || !strings.Contains(msg, "ip netns del demo") {
		t.Errorf("message %q", msg)
	}
	if !h.lockFree() {
		t.Error("lock still held")
	}
}

func TestGuardExit2(t *testing.T) {
	h := newHarness(t)
	err := h.r.Run(context.Background(), netns.Destroy("demo"))
	se := stepError(t, err)
	var ge *exec.GuardError
	if se.Code != exec.ExitUsage || !errors.As(err, &ge) {
		t.Fatalf("Run = %v (code %d), want a guard refusal with code 2", err, se.Code)
	}
	if msg := se.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "demo: not managed by npte") {
		t.Errorf("message %q, want one line", msg)
	}
	if len(h.calls) != 0 || !h.lockFree() {
		t.Errorf("calls %v, lock free %v", h.calls, h.lockFree())
	}
	// create on a taken name.
	touch(t, h.layout().Netns("demo"))
	se = stepError(t, h.r.Run(context.Background(), netns.Create("demo", nil)))
	if se.Code != exec.ExitUsage || !strings.Contains(se.Error(), "already exists") || len(h.calls) != 0 {
		t.Errorf("create on a taken name: %v (code %d), calls %v", se, se.Code, h.calls)
	}
	// An unsafe state directory is a refusal (2), not a failure.
	h = newHarness(t)
	if err := os.Symlink(t.TempDir(), h.layout().Root); err != nil {
		t.Fatal(err)
	}
	se = stepError(t, h.r.Run(context.Background(), netns.Create("demo", nil)))
	if se.Code != exec.ExitUsage || !strings.Contains(se.Error(), "symbolic link") {
		t.Errorf("symlinked root: %v (code %d)", se, se.Code)
	}
}

func TestBeforeStep(t *testing.T) {
	for _, c := range []struct {
		netns bool
		want  []int
	}{
		// 5 and 9: the namespace has no gateway record (nft, iptables),
		// and their bodies (up to 23) are skipped.
		{true, []int{1, 2, 3, 4, 5, 9, 24, 25, 26, 27, 28, 29, 30, 31}},
		{false, []int{1, 2, 3, 4, 5, 9, 24, 25, 26, 27, 30, 31}},
	} {
		h := newHarness(t)
		if err := h.r.Registry.Prepare(); err != nil {
			t.Fatal(err)
		}
		touch(t, h.layout().Marker("demo"))
		if c.netns {
			touch(t, h.layout().Netns("demo"))
		}
		var got []int
		h.r.BeforeStep = func(i int) { got = append(got, i) }
		if err := h.r.Run(context.Background(), netns.Destroy("demo")); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("netns exists %v: BeforeStep %v, want %v", c.netns, got, c.want)
		}
	}
}

// TestSignal sends SIGINT or SIGTERM while step 5 (ip netns add) runs: the
// step finishes, nothing after it starts, the lock is released, and the
// error says what was done and how to clean up.
func TestSignal(t *testing.T) {
	for sig, code := range map[os.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143} {
		h := newHarness(t)
		h.during = func(argv []string) {
			if argv[0] == "ip" && argv[1] == "netns" {
				h.r.Signals <- sig
			}
		}
		se := stepError(t, h.r.Run(context.Background(), netns.Create("demo", nil)))
		if se.Code != code {
			t.Errorf("%v: code %d, want %d", sig, se.Code, code)
		}
		if got := h.argvs(); got != "modprobe -q tcp_bbr\nip netns add demo" {
			t.Errorf("%v: ran %q", sig, got)
		}
		msg := se.Error()
		if !strings.Contains(msg, "interrupted") || !strings.Contains(msg, "ip netns add demo") || !strings.Contains(msg, "npte netns destroy demo") {
			t.Errorf("%v: message %q", sig, msg)
		}
		if !h.lockFree() {
			t.Errorf("%v: lock still held after the signal", sig)
		}
	}
}

// TestSignalWhileWaitingForLock checks that Ctrl-C while another npte
// holds the lock ends the wait, not only after the lock is free.
func TestSignalWhileWaitingForLock(t *testing.T) {
	h := newHarness(t)
	other := registry.New(h.layout(), os.Getuid())
	unlock, err := other.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	done := make(chan error, 1)
	go func() { done <- h.r.Run(context.Background(), netns.Create("demo", nil)) }()
	time.Sleep(50 * time.Millisecond)
	h.r.Signals <- syscall.SIGINT
	select {
	case err := <-done:
		se := stepError(t, err)
		if se.Code != 130 || len(h.calls) != 0 || !strings.Contains(se.Error(), "nothing was changed") {
			t.Errorf("Run = %q (code %d), calls %v", se, se.Code, h.calls)
		}
	case <-time.After(10 * time.Second):
		unlock()
		<-done
		t.Fatal("SIGINT did not end the wait for the lock")
	}
}

func TestUnlockAndHandoff(t *testing.T) {
	h := newHarness(t)
	var freeDuring bool
	h.during = func([]string) { freeDuring = h.lockFree() }
	p := plan.Plan{Steps: []plan.Step{
		plan.Lock{},
		plan.Command{Argv: []string{"ip", "link"}},
		plan.Unlock{},
		plan.Command{Argv: []string{"env", "-i", "id"}, Handoff: true},
	}}
	if err := h.r.Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if freeDuring {
		t.Error("the lock was free while a step ran under it")
	}
	if got := h.argvs(); got != "ip link\nenv -i id" {
		t.Errorf("ran %q", got)
	}
	if !strings.Contains(h.stderr.String(), "+ env -i id\n") {
		t.Errorf("the handoff was not echoed: %q", h.stderr.String())
	}
	// A failed handoff is a failed step.
	h = newHarness(t)
	h.r.Exec = func(exec.Cmd) error { return errors.New("exec format error") }
	se := stepError(t, h.r.Run(context.Background(), p))
	if se.Code != exec.ExitFailure || !h.lockFree() {
		t.Errorf("failed handoff: %v (code %d)", se, se.Code)
	}
}

func TestNote(t *testing.T) {
	h := newHarness(t)
	if err := h.r.Run(context.Background(), plan.Plan{Steps: []plan.Step{plan.Note{Text: "hello"}}}); err != nil {
		t.Fatal(err)
	}
	if h.stderr.String() != "npte: hello\n" {
		t.Errorf("stderr %q", h.stderr.String())
	}
}

func touch(t *testing.T, p string) {
	t.Helper()
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStartChildHoldsLock: a child started with the lock holds it as fd 9
// (the script's descriptor), and keeps holding it after npte's own copy is
// closed (as when npte is SIGKILLed mid-step), until the child exits.
func TestStartChildHoldsLock(t *testing.T) {
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o755)
	l := shell.Layout{Root: filepath.Join(dir, "npte"), RunNetns: filepath.Join(dir, "netns")}
	reg := registry.New(l, os.Getuid())
	lock, err := reg.LockFile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "pid")
	// The child says its pid, then becomes cat, which waits for its
	// stdin to close.
	script := `echo $$ >` + pidFile + `.tmp && mv ` + pidFile + `.tmp ` + pidFile + ` && exec cat`
	in, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	done := make(chan error, 1)
	go func() {
		done <- exec.Start(context.Background(), exec.Cmd{Path: "/bin/sh", Argv: []string{"sh", "-c", script},
			Env: exec.Env(), Stdin: in, Stdout: io.Discard, Stderr: io.Discard, Lock: lock})
	}()
	var pid string
	for start := time.Now(); ; time.Sleep(2 * time.Millisecond) {
		if b, err := os.ReadFile(pidFile); err == nil {
			pid = strings.TrimSpace(string(b))
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("the child never started")
		}
	}
	in.Close()
	var fds []string
	for start := time.Now(); ; time.Sleep(2 * time.Millisecond) {
		comm, _ := os.ReadFile("/proc/" + pid + "/comm")
		if string(comm) == "cat\n" {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("the child never became cat")
		}
	}
	// Right after its exec, cat's dynamic loader may still hold a
	// library open (fd 3, libc.so.6): read the descriptors until they are
	// what the test wants, or for a while (a descriptor that leaked into
	// the child stays, and fails the test).
	want := []string{"9 " + l.LockPath()}
	for start := time.Now(); ; time.Sleep(5 * time.Millisecond) {
		entries, err := os.ReadDir("/proc/" + pid + "/fd")
		if err != nil {
			t.Fatal(err)
		}
		fds = fds[:0]
		for _, e := range entries {
			target, _ := os.Readlink("/proc/" + pid + "/fd/" + e.Name())
			// Descriptors above 9 may come from whoever started the test.
			if n, _ := strconv.Atoi(e.Name()); n > 2 && n <= shell.LockFD {
				fds = append(fds, e.Name()+" "+target)
			}
		}
		if reflect.DeepEqual(fds, want) || time.Since(start) > 5*time.Second {
			break
		}
	}
	if !reflect.DeepEqual(fds, want) {
		t.Errorf("child's descriptors 3-9: %q, want only the lock as 9: %q", fds, want)
	}
	lock.Close() // npte's copy is gone, as if npte had been killed
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if f, err := reg.LockFile(ctx); err == nil {
		f.Close()
		t.Fatal("the lock was free while a child started under it still ran")
	}
	w.Close() // the child exits
	if err := <-done; err != nil {
		t.Fatalf("child: %v", err)
	}
	f, err := reg.LockFile(context.Background())
	if err != nil {
		t.Fatalf("the lock after the child exited: %v", err)
	}
	f.Close()
}

// TestRunPassesLock: the Runner hands the held lock to every command and
// probe run under it, and to none after Unlock or to a handoff.
func TestRunPassesLock(t *testing.T) {
	h := newHarness(t)
	var held []bool
	h.r.Start = func(_ context.Context, c exec.Cmd) error {
		held = append(held, c.Lock != nil)
		return nil
	}
	var handoffLock bool
	h.r.Exec = func(c exec.Cmd) error { handoffLock = c.Lock != nil; return nil }
	p := plan.Plan{Steps: []plan.Step{
		plan.Lock{},
		plan.Probe{Argv: []string{"ip", "link"}, WantSuccess: true, Message: "no"},
		plan.Command{Argv: []string{"ip", "link"}},
		plan.Unlock{},
		plan.Command{Argv: []string{"ip", "addr"}},
		plan.Command{Argv: []string{"env", "-i", "id"}, Handoff: true},
	}}
	if err := h.r.Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, false}; !reflect.DeepEqual(held, want) {
		t.Errorf("lock handed to children: %v, want %v", held, want)
	}
	if handoffLock {
		t.Error("the handoff was given the lock")
	}
}

// TestLockFDMatchesScript: live children get the lock on the descriptor
// the rendered script holds it on.
func TestLockFDMatchesScript(t *testing.T) {
	script, err := render.Script(plan.Plan{Steps: []plan.Step{plan.Lock{}}}, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "flock -w 2 " + strconv.Itoa(shell.LockFD) + " "; !strings.Contains(script, want) {
		t.Errorf("the script does not hold the lock on fd %d (shell.LockFD):\n%s", shell.LockFD, script)
	}
}

// TestStartStdin: the child reads its whole stdin payload, small (put in
// a pipe before it starts) or large (copied while it runs).
func TestStartStdin(t *testing.T) {
	for _, n := range []int{0, 1, 4095, 4096, 4097, 200000} {
		payload := strings.Repeat("x", n)
		var out bytes.Buffer
		err := exec.Start(context.Background(), exec.Cmd{Path: "/bin/cat", Argv: []string{"cat"}, Env: exec.Env(),
			Stdin: strings.NewReader(payload), Stdout: &out, Stderr: io.Discard})
		if err != nil || out.String() != payload {
			t.Errorf("%d bytes: err %v, cat read %d bytes", n, err, out.Len())
		}
	}
}
