package bench_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/npte/npte/bench"
	"github.com/npte/npte/internal/sandbox"
)

// TestPrintOps checks that run.sh times the same operations as the Go
// benchmarks (bench.Ops), so that the two cannot drift apart.
func TestPrintOps(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bench/run.sh needs bash")
	}
	for _, n := range []int{1, 2, 3, 10, 257} {
		out, err := exec.Command("bash", "run.sh", "--print-ops", strconv.Itoa(n)).Output()
		if err != nil {
			t.Fatalf("run.sh --print-ops %d: %v", n, err)
		}
		var want strings.Builder
		for _, argv := range bench.Ops(n) {
			want.WriteString(strings.Join(argv, " ") + "\n")
		}
		if string(out) != want.String() {
			t.Errorf("run.sh --print-ops %d:\n%s\nwant (bench.Ops):\n%s", n, out, want.String())
		}
	}
}

// TestOpPlansMatchOps checks that each plan of OpPlans carries the npte
// command line of the same operation in Ops, and that Chain holds all of
// their steps under one lock.
func TestOpPlansMatchOps(t *testing.T) {
	const n = 4
	ops, plans := bench.Ops(n), bench.OpPlans(n)
	if len(ops) != 5*n-3+n-3 || len(plans) != len(ops) {
		t.Fatalf("got %d ops and %d plans, want %d", len(ops), len(plans), 5*n-3+n-3)
	}
	steps := 1
	for i := range ops {
		if got, want := strings.Join(plans[i].Argv, " "), strings.Join(ops[i], " "); got != want {
			t.Errorf("plan %d: argv %q, want %q", i, got, want)
		}
		steps += len(plans[i].Steps) - 1 // each has its own lock
	}
	if got := len(bench.Chain(n).Steps); got != steps {
		t.Errorf("Chain(%d) has %d steps, want %d", n, got, steps)
	}
}

// TestRunScript runs bench/run.sh in a tiny configuration (chains of 1
// and 2, one run) with a freshly built npte, so that `make bench` cannot
// rot. run.sh enters its own private sandbox; the test runs inside
// sandbox.Enter's as well, so nothing can reach the host even if run.sh
// were broken.
func TestRunScript(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	for _, tool := range []string{"bash", "ip", "unshare", "flock", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("bench/run.sh needs %s", tool)
		}
	}
	npte := filepath.Join(t.TempDir(), "npte")
	build := exec.Command("go", "build", "-o", npte, "github.com/npte/npte")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command("bash", "run.sh", npte)
	cmd.Env = append(os.Environ(), "NPTE_BENCH_SIZES=1 2", "NPTE_BENCH_RUNS=1", "NPTE_BENCH_DRY=2")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run.sh: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	t.Logf("run.sh output:\n%s", out)
	for _, re := range []string{
		`(?m)^\s+1\s+1\s+[0-9.]+ ms\s+[0-9.]+ ms\s+[0-9.]+ ms\s+[0-9.]+\s+[0-9.]+\s+-?[0-9.]+ ms$`,
		`(?m)^\s+2\s+7\s+[0-9.]+ ms\s+[0-9.]+ ms\s+[0-9.]+ ms\s+[0-9.]+\s+[0-9.]+\s+-?[0-9.]+ ms$`,
		`\(d\) npte netns create --dry-run ns1, start to exit: median [0-9.]+ ms`,
		// The whole-lab table: build, ratios, per node, teardown, tasks.
		`(?m)^\s+2\s+iproute2 floor \(ip -batch\)\s+[0-9.]+ ms\s+1\.00\s+\S+\s+[0-9.]+ ms\s+[0-9.]+ ms\s+[0-9]+$`,
		`(?m)^\s+2\s+\(l\) npte lab apply FILE\s+[0-9.]+ ms\s+[0-9.]+\s+\S+\s+[0-9.]+ ms\s+[0-9.]+ ms\s+[0-9]+$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("run.sh output lacks %s", re)
		}
	}
	// run.sh's sandbox is gone with it: nothing it made is left here.
	if names, _ := os.ReadDir("/run/netns"); len(names) != 0 {
		t.Errorf("namespaces left behind: %v", names)
	}
}

// TestRatio: run.sh's ratio rounds to two decimals, carrying into the
// units (10261/10288 once printed as "0.100").
func TestRatio(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bench/run.sh needs bash")
	}
	for _, tc := range []struct{ a, b, want string }{
		{"10261", "10288", "1.00"}, {"795", "727", "1.09"}, {"3702", "508", "7.29"}, {"1", "3", "0.33"}, {"2", "3", "0.67"}, {"5", "5", "1.00"},
	} {
		script := `eval "$(sed -n '/^ratio()/,/^}/p' run.sh)"; ratio "$1" "$2"`
		out, err := exec.Command("bash", "-c", script, "bash", tc.a, tc.b).Output()
		if err != nil || string(out) != tc.want {
			t.Errorf("ratio %s %s = %q (%v), want %s", tc.a, tc.b, out, err, tc.want)
		}
	}
}
