package securitytest

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/npte/npte/internal/sandbox"
)

// TestCrashLanes kills the batched build of a chain of 10 (whose
// namespaces' own work runs in plan.Lanes) before each of its steps,
// the steps inside the lanes included: a kill there stops npte while the
// other lanes' programs run on, holding the lock. `lab chain --destroy
// 10` waits for them and then restores a clean machine every time; the
// last run, past every step, builds a chain that pings end to end.
func TestCrashLanes(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeState(t)
	baseline := fullState(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	inLanes := 0
	for n := 1; n < 200; n++ {
		r := run(ctx, t, proc{Args: []string{"lab", "chain", "10"}, Env: []string{"NPTE_TEST_KILL_AT=" + strconv.Itoa(n)}})
		if r.Signal == "" {
			if r.Code != 0 {
				t.Fatalf("the run past the last step failed:\n%s", r)
			}
			pingOK(t, "ns1", "10.0.9.2")
			if d := mustRunAny(t, "lab", "chain", "--destroy", "10"); d.Code != 0 {
				t.Fatalf("destroy after the complete run failed:\n%s", d)
			}
			if got := fullState(t); got != baseline {
				t.Fatalf("after the complete run and destroy:\n--- start\n%s\n--- now\n%s", baseline, got)
			}
			t.Logf("lab chain 10: %d kill points, %d of them inside the lanes", n-1, inLanes)
			if inLanes < 8 {
				t.Errorf("only %d kill points inside the lanes", inLanes)
			}
			return
		}
		if r.Signal != syscall.SIGKILL.String() {
			t.Fatalf("kill at step %d: killed by %s", n, r.Signal)
		}
		// A kill inside the lanes: a lane had started (a program had
		// entered a namespace with nsenter), and not every namespace's
		// own batch had.
		if strings.Contains(r.Stderr, "+ nsenter ") && strings.Count(r.Stderr, "' ip -batch -\n") < 10 {
			inLanes++
		}
		if d := mustRunAny(t, "lab", "chain", "--destroy", "10"); d.Code != 0 {
			t.Fatalf("kill at step %d: lab chain --destroy 10 failed:\n%s", n, d)
		}
		if !lockFree(t) {
			t.Fatalf("kill at step %d: the lock is still held after the destroy", n)
		}
		if got := fullState(t); got != baseline {
			t.Fatalf("kill at step %d: destroy did not restore the state:\n--- start\n%s\n--- now\n%s", n, baseline, got)
		}
	}
	t.Fatal("lab chain 10 never completed")
}

// TestLanesSameState: a chain of 12 built by live npte (its namespaces'
// own work in lanes), by its script run with dash (background lanes), and
// one command per step (--no-batch, no lanes) leaves the same kernel
// state and files: links, addresses, routes, and each namespace's
// sysctls; the chain pings end to end each time.
func TestLanesSameState(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeState(t)
	baseline := fullState(t)
	var first string
	for _, form := range []struct {
		name   string
		script bool
		args   []string
	}{
		{"live", false, []string{"lab", "chain", "12"}},
		{"dash", true, []string{"lab", "chain", "12"}},
		{"no-batch", false, []string{"lab", "chain", "--no-batch", "12"}},
	} {
		mustRunOK(t, form.script, form.args...)
		pingOK(t, "ns1", "10.0.11.2")
		got := lanesState(t, 12)
		if first == "" {
			first = got
		} else if got != first {
			t.Errorf("%s: the state differs from the live build's:\n--- live\n%s\n--- %s\n%s", form.name, first, form.name, got)
		}
		mustRunOK(t, false, "lab", "chain", "--destroy", "12")
		if got := fullState(t); got != baseline {
			t.Fatalf("%s: destroy did not restore the state", form.name)
		}
	}
}

var macAddr = regexp.MustCompile(`\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b`)

// lanesState is labState, without the veths' random MAC addresses, plus,
// for each namespace of a chain of n, the sysctls npte sets in it.
func lanesState(t *testing.T, n int) string {
	t.Helper()
	s := macAddr.ReplaceAllString(labState(t), "MAC")
	for i := 1; i <= n; i++ {
		// Forwarding of every interface too: the lanes set it after
		// the veths exist, the unlaned plan before (all.forwarding sets
		// the default and each interface's).
		for _, args := range [][]string{{"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}, {"-a", "--pattern", `^net\.ipv[46]\.(ip_forward|conf\..*\.forwarding)$`}} {
			out, err := exec.Command("ip", append([]string{"netns", "exec", "ns" + strconv.Itoa(i), "sysctl"}, args...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("sysctl in ns%d: %v\n%s", i, err, out)
			}
			s += string(out)
		}
	}
	return s
}
