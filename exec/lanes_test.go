package exec_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/npte/npte/exec"
	"github.com/npte/npte/plan"
)

// laneRunner is the harness's Runner with its programs recorded
// goroutine-safe, with the lane each ran in; during, when not nil, says
// how each ends.
type laneRunner struct {
	r     *exec.Runner
	mu    sync.Mutex
	ran   []string
	lane  map[string]int
	steps []int // BeforeStep's indices
}

func newLaneRunner(t *testing.T, during func(argv []string) error) *laneRunner {
	t.Helper()
	lr := &laneRunner{r: newHarness(t).r, lane: map[string]int{}}
	lr.r.Start = func(ctx context.Context, c exec.Cmd) error {
		a := strings.Join(c.Argv, " ")
		lr.mu.Lock()
		lr.ran = append(lr.ran, a)
		lr.lane[a] = exec.Lane(ctx)
		lr.mu.Unlock()
		if during != nil {
			return during(c.Argv)
		}
		return nil
	}
	lr.r.BeforeStep = func(i int) {
		lr.mu.Lock()
		lr.steps = append(lr.steps, i)
		lr.mu.Unlock()
	}
	return lr
}

func lcmd(argv ...string) plan.Step { return plan.Command{Argv: argv} }

// lanesPlan: the lock, two lanes of three commands each, one command after.
func lanesPlan() plan.Plan {
	return plan.Plan{Undo: []string{"lab", "destroy", "x"}, Steps: []plan.Step{plan.Lock{},
		plan.Lanes{Lanes: [][]plan.Step{
			{lcmd("ip", "-n", "a", "link", "set", "dev", "x", "up"), lcmd("ip", "-n", "a", "link", "set", "dev", "y", "up"), lcmd("ip", "-n", "a", "link", "set", "dev", "z", "up")},
			{lcmd("ip", "-n", "b", "link", "set", "dev", "x", "up"), lcmd("ip", "-n", "b", "link", "set", "dev", "y", "up"), lcmd("ip", "-n", "b", "link", "set", "dev", "z", "up")},
		}},
		lcmd("ip", "-n", "c", "link", "set", "dev", "x", "up"),
	}}
}

// TestLanesRun: every lane's commands run, in order within the lane,
// each with its lane in the context; BeforeStep sees every step once,
// with the index plan.Walk gives it; the step after Lanes runs after all.
func TestLanesRun(t *testing.T) {
	lr := newLaneRunner(t, nil)
	if err := lr.r.Run(context.Background(), lanesPlan()); err != nil {
		t.Fatal(err)
	}
	if len(lr.ran) != 7 || lr.ran[6] != "ip -n c link set dev x up" {
		t.Fatalf("ran %q", lr.ran)
	}
	for _, ns := range []string{"a", "b"} {
		var got []string
		for _, a := range lr.ran {
			if strings.HasPrefix(a, "ip -n "+ns+" ") {
				got = append(got, a[len(a)-4:])
			}
		}
		if !slices.Equal(got, []string{"x up", "y up", "z up"}) {
			t.Errorf("lane of %s ran %q, out of order", ns, got)
		}
	}
	if lr.lane["ip -n a link set dev y up"] != 1 || lr.lane["ip -n b link set dev z up"] != 2 || lr.lane["ip -n c link set dev x up"] != 0 {
		t.Errorf("lanes %v", lr.lane)
	}
	slices.Sort(lr.steps)
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(lr.steps, want) {
		t.Errorf("BeforeStep saw %v, want %v", lr.steps, want)
	}
}

// TestLanesFail: a failed command stops its lane, the other lane runs to
// its end, nothing after Lanes runs; the report names the step (its index
// in plan.Walk order), the lane, all that was done, lane by lane, and the
// cleanup command.
func TestLanesFail(t *testing.T) {
	lr := newLaneRunner(t, func(argv []string) error {
		if strings.Join(argv, " ") == "ip -n a link set dev y up" {
			return exitErr(2)
		}
		return nil
	})
	err := lr.r.Run(context.Background(), lanesPlan())
	se := stepError(t, err)
	if se.Code != exec.ExitFailure || se.Index != 4 || se.Total != 9 {
		t.Errorf("code %d, step %d/%d; want 1, 4/9", se.Code, se.Index, se.Total)
	}
	want := "step 4/9 failed: ip -n a link set dev y up: exit status 2 (lane 1 of 2)\n" +
		"npte: already done: ip -n a link set dev x up; ip -n b link set dev x up; ip -n b link set dev y up; ip -n b link set dev z up\n" +
		"npte: to clean up, run: npte lab destroy x"
	if se.Error() != want {
		t.Errorf("report:\n%s\nwant:\n%s", se.Error(), want)
	}
	if slices.Contains(lr.ran, "ip -n a link set dev z up") || slices.Contains(lr.ran, "ip -n c link set dev x up") {
		t.Errorf("ran after the failure: %q", lr.ran)
	}
}

// TestLanesSignal: a SIGINT during the lanes lets the running commands
// finish and starts no other, in any lane or after the lanes; exit 130.
func TestLanesSignal(t *testing.T) {
	var lr *laneRunner
	lr = newLaneRunner(t, func(argv []string) error {
		if strings.Join(argv, " ") == "ip -n a link set dev x up" {
			lr.r.Signals <- syscall.SIGINT
		}
		return nil
	})
	err := lr.r.Run(context.Background(), lanesPlan())
	se := stepError(t, err)
	if se.Code != 130 || !strings.Contains(se.Error(), "interrupted (SIGINT)") {
		t.Errorf("code %d: %v", se.Code, se)
	}
	for _, a := range []string{"ip -n a link set dev y up", "ip -n a link set dev z up", "ip -n c link set dev x up"} {
		if slices.Contains(lr.ran, a) {
			t.Errorf("%s ran after the signal: %q", a, lr.ran)
		}
	}
}

// TestLanesBatchLine: a batch in a lane that names its failing line
// ("Command failed -:2") is reported like a batch outside lanes: the
// line's own step failed, the line before it is done.
func TestLanesBatchLine(t *testing.T) {
	line := func(argv ...string) plan.BatchLine {
		return plan.BatchLine{Args: argv[3:], Steps: []plan.Step{plan.Command{Argv: argv}}}
	}
	p := plan.Plan{Steps: []plan.Step{plan.Lock{}, plan.Lanes{Lanes: [][]plan.Step{
		{plan.Batch{Argv: []string{"ip", "-n", "a", "-batch", "-"}, Lines: []plan.BatchLine{
			line("ip", "-n", "a", "link", "set", "dev", "x", "up"),
			line("ip", "-n", "a", "addr", "replace", "10.0.0.1/24", "dev", "x"),
		}}},
		{lcmd("ip", "-n", "b", "link", "set", "dev", "x", "up")},
	}}}}
	lr := newLaneRunner(t, nil)
	lr.r.Start = func(ctx context.Context, c exec.Cmd) error {
		if c.Argv[2] == "a" {
			_, _ = c.Stderr.Write([]byte("Error: bad address.\nCommand failed -:2\n"))
			return exitErr(1)
		}
		return nil
	}
	se := stepError(t, lr.r.Run(context.Background(), p))
	want := "step 3/4 failed: ip -n a addr replace 10.0.0.1/24 dev x: line 2 of ip -n a -batch -: exit status 1 (lane 1 of 2)\n" +
		"npte: already done: ip -n a link set dev x up; ip -n b link set dev x up"
	if se.Error() != want {
		t.Errorf("report:\n%s\nwant:\n%s", se.Error(), want)
	}
}
