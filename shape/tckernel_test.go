package shape_test

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/npte/npte/internal/uml"
	"github.com/npte/npte/shape"
)

// onUML reports whether this process runs on a user-mode Linux kernel
// (a disposable guest: changing its network state touches no machine).
func onUML() bool {
	b, err := os.ReadFile("/proc/cpuinfo")
	return err == nil && bytes.Contains(b, []byte("User Mode Linux"))
}

// TestTcDifferentialKernel is the differential check of every knob
// grammar against a kernel that has sch_netem, sch_cake and sch_tbf: on
// the host it boots a user-mode Linux kernel (internal/uml; it skips with
// one loud line only when linux.uml is not installed) and runs itself
// there, on a scratch veth of the guest. By hand, on a guest of the
// issue-12 recipe:
//
//	NPTE_TC_DIFF_DEV=va shape.test -test.run '^TestTcDifferentialKernel$' -test.v
//
// It prints one line per disagreement and fails on any.
func TestTcDifferentialKernel(t *testing.T) {
	dev := os.Getenv("NPTE_TC_DIFF_DEV")
	if !onUML() {
		if !uml.Enter(t, uml.StandardModules, 8*time.Minute) {
			return
		}
	}
	if dev == "" {
		uml.Must(t) // a disposable guest: its network state is its own
		dev = "tcdiff"
		if out, err := exec.Command("ip", "link", "add", "name", dev, "type", "veth", "peer", "name", dev+"-p").CombinedOutput(); err != nil {
			t.Fatalf("ip link add: %v\n%s", err, out)
		}
	}
	cases := append(tcTable(), shape.GenTcCases(1, genCount(), nil)...)
	res := shape.CheckTc(cases, TcAcceptsOn(dev))
	reportTc(t, res)
}

// TcAcceptsOn returns the tcAccepts function of shape.CheckTc for a
// scratch device of the current network namespace.
func TcAcceptsOn(dev string) func([]string) bool {
	return func(words []string) bool {
		_ = exec.Command("tc", "qdisc", "del", "dev", dev, "root").Run()
		argv := append([]string{"qdisc", "add", "dev", dev, "root", "handle", "1:"}, words...)
		return exec.Command("tc", argv...).Run() == nil
	}
}

func reportTc(t *testing.T, res []shape.TcResult) {
	t.Helper()
	var acc, narrowed, respelled, refused int
	for _, r := range res {
		switch {
		case r.Disagrees():
			t.Errorf("DISAGREE %s", r)
		case r.NpteAccepts():
			acc++
		case r.TcAccepts && r.Narrowed():
			narrowed++
			if strings.Contains(os.Getenv("NPTE_TC_DIFF_LOG"), "narrowed") {
				t.Logf("narrowed %s", r)
			}
		case r.TcAccepts:
			respelled++
			if strings.Contains(os.Getenv("NPTE_TC_DIFF_LOG"), "respelled") {
				t.Logf("respelled %s", r)
			}
		default:
			refused++
		}
	}
	t.Logf("tc differential: %d cases: %d accepted by both, %d refused by both, %d narrowed (tc takes them, npte refuses on purpose), %d other spellings npte refuses, 0 disagreements", len(res), acc, refused, narrowed, respelled)
}

// genCount is how many generated cases the live differential tests run:
// NPTE_TC_DIFF_N, default 300 (each costs two tc runs; under user-mode
// Linux about 40 ms).
func genCount() int {
	if n, err := strconv.Atoi(os.Getenv("NPTE_TC_DIFF_N")); err == nil && n >= 0 {
		return n
	}
	return 300
}
