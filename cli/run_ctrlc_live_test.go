package cli_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/npte/npte/internal/sandbox"
)

// TestLiveRunCtrlC: Ctrl-C reaches netns run's command (the terminal
// signals the foreground process group): it dies of SIGINT and npte's
// exit status says so, 130.
//
// npte hands off (execve) to ip netns exec, which execs runuser; runuser
// forks the command and only then, in the parent, blocks SIGINT (runuser
// -u runs the command in the caller's session and leaves Ctrl-C to it)
// and waits, exiting 128+N for a command killed by signal N. A SIGINT
// that lands in runuser's parent between its fork and that sigprocmask
// kills runuser itself ("signal: interrupt", 3 runs in 60 under load):
// the command can print "started" inside that window. So the test, like a
// person at a terminal, presses Ctrl-C only once runuser is waiting, that
// is once /proc/PID/status shows SIGINT blocked or caught.
func TestLiveRunCtrlC(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	wThrowawayUser(t, "npteuser")
	wOK(t, "netns", "create", "lab")
	ctrlC := exec.Command(sandbox.Npte(t), "netns", "run", "lab", "--", "sh", "-c", "echo started; exec sleep 30")
	ctrlC.Env = []string{"PATH=/usr/bin:/bin", "SUDO_USER=npteuser", "TERM=dumb"}
	ctrlC.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pipe, err := ctrlC.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ctrlC.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syscall.Kill(-ctrlC.Process.Pid, syscall.SIGKILL) }()
	line := make([]byte, 8)
	if _, err := io.ReadFull(pipe, line); err != nil || string(line) != "started\n" {
		t.Fatalf("read %q: %v", line, err)
	}
	wWaitSignalSetup(t, ctrlC.Process.Pid, "runuser", syscall.SIGINT)
	if err := syscall.Kill(-ctrlC.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = ctrlC.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("after Ctrl-C: %v, want exit status 130", err)
	}
}

// wWaitSignalSetup waits until process pid runs program name and blocks
// or catches sig (the SigBlk and SigCgt masks of /proc/PID/status).
func wWaitSignalSetup(t *testing.T, pid int, name string, sig syscall.Signal) {
	t.Helper()
	bit := uint64(1) << (uint(sig) - 1)
	var status string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			t.Fatalf("process %d: %v", pid, err)
		}
		status = string(b)
		fields := map[string]string{}
		for _, l := range strings.Split(status, "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				fields[k] = strings.TrimSpace(v)
			}
		}
		blk, err1 := strconv.ParseUint(fields["SigBlk"], 16, 64)
		cgt, err2 := strconv.ParseUint(fields["SigCgt"], 16, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("process %d: no signal masks in its status:\n%s", pid, status)
		}
		if fields["Name"] == name && (blk|cgt)&bit != 0 {
			return
		}
	}
	t.Fatalf("process %d did not become %s blocking or catching %v:\n%s", pid, name, sig, status)
}
