package securitytest

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/npte/npte/internal/sandbox"
)

// startIn starts `sleep 600` inside namespace ns (made by the test) and
// returns its pid; the test kills it (by that pid) when it ends.
func startIn(t *testing.T, ns string) *exec.Cmd {
	t.Helper()
	mustBeSandboxed(t)
	cmd := exec.Command("ip", "netns", "exec", ns, "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(cmd) })
	// ip netns exec execs sleep in the same process once it has entered
	// the namespace: wait until the pid's namespace is ns's.
	for start := time.Now(); ; time.Sleep(time.Millisecond) {
		a, _ := exec.Command("stat", "-L", "-c", "%i", "/proc/"+strconv.Itoa(cmd.Process.Pid)+"/ns/net").Output()
		b, _ := exec.Command("stat", "-L", "-c", "%i", "/run/netns/"+ns).Output()
		if len(a) > 0 && string(a) == string(b) {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("sleep never entered %s", ns)
		}
	}
	return cmd
}

// stop kills a process the test started, by its pid, and reaps it.
func stop(cmd *exec.Cmd) {
	if cmd.ProcessState == nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

// groupLinks lists the interfaces of npte's link group (28272) in the
// network namespace of process pid, read from inside it.
func groupLinks(t *testing.T, pid int) []string {
	t.Helper()
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", "ip", "-o", "link", "show", "group", "28272").Output()
	if err != nil {
		t.Fatalf("nsenter -t %d -n ip -o link: %v", pid, err)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			n, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			names = append(names, n)
		}
	}
	return names
}

// TestBusyTeardownCutsLinks: processes in ns2 and ns3 of a chain of 4
// keep those namespaces alive after `lab chain --destroy 4` (ip netns del
// only removes their names); the batched teardown must not leave the
// veth between them, over which the processes could go on talking: from
// inside their namespaces, no link of npte's group to the other busy
// namespace is left when destroy returns, and none at all once the
// process-free ns1 and ns4 (whose links die with them, asynchronously)
// are gone. Without processes the teardown runs no `ip link` at all.
// Live and as a script run by sh (dash); each time an immediate
// re-create works and the end state is the start state.
func TestBusyTeardownCutsLinks(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeState(t)
	baseline := fullState(t)
	for _, script := range []bool{false, true} {
		t.Run(map[bool]string{false: "live", true: "script"}[script], func(t *testing.T) { busyTeardown(t, script, baseline) })
	}
}

func busyTeardown(t *testing.T, script bool, baseline string) {
	{
		// No process: no link read or deleted (live npte echoes each).
		mustRunOK(t, script, "lab", "chain", "4")
		d := mustRunOK(t, script, "lab", "chain", "--destroy", "4")
		if strings.Contains(d.Stderr, "link delete") || strings.Contains(d.Stderr, "link show") || !script && !strings.Contains(d.Stderr, "+ ip -batch -\n") {
			t.Errorf("script %v: the teardown without processes ran more than the netns del batch:\n%s", script, d.Stderr)
		}
		if got := fullState(t); got != baseline {
			t.Fatalf("script %v: state differs from the start:\n--- start\n%s\n--- now\n%s", script, baseline, got)
		}

		mustRunOK(t, script, "lab", "chain", "4")
		p2, p3 := startIn(t, "ns2"), startIn(t, "ns3")
		d = mustRunOK(t, script, "lab", "chain", "--destroy", "4")
		if !script && strings.Count(d.Stderr, "link delete group") != 1 {
			t.Errorf("live: want one link delete group for two adjacent busy namespaces:\n%s", d.Stderr)
		}
		l2, l3 := groupLinks(t, p2.Process.Pid), groupLinks(t, p3.Process.Pid)
		if contains(l2, "if-ns3") || contains(l3, "if-ns2") {
			t.Errorf("script %v: destroy returned with the link between the busy ns2 and ns3 still there: ns2 has %v, ns3 has %v", script, l2, l3)
		}
		for start := time.Now(); len(l2)+len(l3) > 0; l2, l3 = groupLinks(t, p2.Process.Pid), groupLinks(t, p3.Process.Pid) {
			if time.Since(start) > 20*time.Second {
				t.Fatalf("script %v: links of npte's group left in the busy namespaces: ns2 has %v, ns3 has %v", script, l2, l3)
			}
			time.Sleep(10 * time.Millisecond)
		}
		// An immediate re-create, with the old namespaces still alive.
		mustRunOK(t, script, "lab", "chain", "4")
		pingOK(t, "ns1", "10.0.3.2") // ns4's address
		mustRunOK(t, script, "lab", "chain", "--destroy", "4")
		stop(p2)
		stop(p3)
		if got := fullState(t); got != baseline {
			t.Fatalf("script %v: state differs from the start:\n--- start\n%s\n--- now\n%s", script, baseline, got)
		}
	}
}

// TestCrashBusyTeardown kills the batched teardown of a chain of 6 with
// processes in ns2 to ns5 before each of its steps (CutBusyLinks among
// them); a second destroy then finishes it: the end state is the start
// state, and no link of npte's group is left between the busy namespaces.
func TestCrashBusyTeardown(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeState(t)
	baseline := fullState(t)
	var busy []*exec.Cmd
	n := killEach(t, []string{"lab", "chain", "--destroy", "6"}, baseline, func() {
		mustRunOK(t, false, "lab", "chain", "6")
		busy = nil
		for _, ns := range []string{"ns2", "ns3", "ns4", "ns5"} {
			busy = append(busy, startIn(t, ns))
		}
	}, func(t *testing.T, n int) {
		if r := mustRunAny(t, "lab", "chain", "--destroy", "6"); r.Code != 0 {
			t.Fatalf("kill at step %d: lab chain --destroy 6 failed:\n%s", n, r)
		}
		for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
			var left []string
			for _, c := range busy {
				left = append(left, groupLinks(t, c.Process.Pid)...)
			}
			if len(left) == 0 {
				break
			}
			if time.Since(start) > 20*time.Second {
				t.Fatalf("kill at step %d: links of npte's group left in the busy namespaces: %v", n, left)
			}
		}
		for _, c := range busy {
			stop(c)
		}
	})
	t.Logf("batched lab chain --destroy 6 with 4 busy namespaces: %d kill points, each finished by a second destroy", n)
}
