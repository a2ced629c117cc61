package securitytest

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/npte/npte/internal/sandbox"
)

// makeLabState is makeState plus the directory of lab records, which
// `lab create` (an apply of the built-in lab file) makes with the lab's
// record and `lab destroy` leaves, as `netns destroy` leaves
// /run/npte/netns: the baseline of a kill-point test of lab create.
func makeLabState(t testing.TB) {
	t.Helper()
	makeState(t)
	if err := os.MkdirAll("/run/npte/lab", 0o755); err != nil {
		t.Fatal(err)
	}
}

// labState is npte's files, the namespaces and, in each, its links and
// IPv4 addresses: fullState without the IPv6 link-local addresses and
// routes the kernel keeps adding while duplicate address detection runs
// (so that two snapshots around a refusal compare equal).
func labState(t *testing.T) string {
	t.Helper()
	// After a kill, the kernel may still be settling what the last step
	// did: a veth's carrier, and with it its operational state, its
	// NO-CARRIER and LOWER_UP flags and the linkdown flag of its routes,
	// follows its peer up to a second later (linkwatch). npte changes
	// none of those directly, so they are left out of the snapshot.
	s := labSnapshot(t)
	s = operState.ReplaceAllString(s, "$1")
	s = carrierFlag.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, " linkdown", "")
	return blanks.ReplaceAllString(s, " ")
}

// operState is the state column of ip -br (a word of its own, outside
// the <FLAGS>); carrierFlag a flag that follows the carrier.
var (
	operState   = regexp.MustCompile(`(\s)(?:UP|DOWN|UNKNOWN|LOWERLAYERDOWN|DORMANT|NOTPRESENT|TESTING)(\s)`)
	carrierFlag = regexp.MustCompile(`NO-CARRIER,|,LOWER_UP`)
	blanks      = regexp.MustCompile(`[ \t]+`)
)

// labSnapshot is one snapshot of labState.
func labSnapshot(t *testing.T) string {
	t.Helper()
	s := fsSnapshot("/run/npte", "/etc/netns")
	ns, _ := os.ReadDir("/run/netns")
	for _, n := range ns {
		for _, args := range [][]string{{"-br", "link", "show"}, {"-4", "-br", "addr", "show"}, {"-4", "route", "show", "table", "all"}} {
			out, err := exec.Command("ip", append([]string{"-n", n.Name()}, args...)...).CombinedOutput()
			if err != nil {
				out = append(out, []byte(err.Error())...)
			}
			s += n.Name() + " " + string(out)
		}
	}
	return s
}

// TestCrashLabCreateThenCreate kills `lab create` (batched and
// --no-batch) before each of its steps, then runs `lab create` again: it
// either refuses (exit 2, nothing changed) or, exit 0, leaves the whole
// lab (the client pings the server through the router). It never says
// "no changes" over a half-built lab, whose record was written before
// the first change. `lab destroy` then restores the baseline.
func TestCrashLabCreateThenCreate(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeLabState(t)
	baseline := fullState(t)
	for _, args := range [][]string{{"lab", "create"}, {"lab", "create", "--no-batch"}} {
		refused, completed := 0, 0
		n := killEach(t, args, baseline, nil, func(t *testing.T, n int) {
			before := labState(t)
			r := mustRunAny(t, "lab", "create")
			switch r.Code {
			case 2:
				refused++
				if got := labState(t); got != before {
					t.Fatalf("kill at step %d of %q: a refused lab create changed the state:\n%s\n--- before\n%s\n--- after\n%s", n, args, r, before, got)
				}
			case 0:
				completed++
				if err := exec.Command("ip", "netns", "exec", "client", "ping", "-n", "-q", "-c", "1", "-W", "2", "172.16.2.2").Run(); err != nil {
					t.Fatalf("kill at step %d of %q: lab create after the crash exited 0, but the lab does not work (%v):\n%s", n, args, err, r)
				}
			default:
				t.Fatalf("kill at step %d of %q: lab create after the crash:\n%s", n, args, r)
			}
			if r := mustRunAny(t, "lab", "destroy"); r.Code != 0 {
				t.Fatalf("kill at step %d of %q: lab destroy failed:\n%s", n, args, r)
			}
		})
		t.Logf("%q: %d kill points; the next lab create refused %d times and completed the lab %d times", args, n, refused, completed)
	}
}
