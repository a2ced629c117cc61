package exec_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/npte/npte/exec"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/registry"
	"github.com/npte/npte/shell"
)

// captureRunner is a Runner whose fake programs print "out ARGV" on stdout
// and "err ARGV" on stderr, and fail (exit 1) when fail says so. It
// records the argv of every run, safely from concurrent reads.
func captureRunner(t *testing.T, managed []string, fail func(argv []string) bool) (*exec.Runner, *bytes.Buffer, func() []string) {
	t.Helper()
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o755)
	l := shell.Layout{Root: filepath.Join(dir, "npte"), RunNetns: filepath.Join(dir, "netns")}
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{l.NetnsDir(), l.IntentDir(), l.RunNetns, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range managed {
		if err := os.WriteFile(l.Marker(n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range []string{"ip", "tc"} {
		if err := os.WriteFile(filepath.Join(bin, tool), []byte("#!/bin/false\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var ran []string
	var stderr bytes.Buffer
	r := &exec.Runner{
		Registry: registry.New(l, os.Getuid()),
		Stdout:   io.Discard,
		Stderr:   &stderr,
		Dirs:     []string{bin},
		Start: func(_ context.Context, c exec.Cmd) error {
			line := strings.Join(c.Argv, " ")
			if c.Stdin != nil {
				b, _ := io.ReadAll(c.Stdin)
				line += " <" + string(b)
			}
			mu.Lock()
			ran = append(ran, line)
			mu.Unlock()
			fmt.Fprintf(c.Stdout, "out %s\n", strings.Join(c.Argv, " "))
			fmt.Fprintf(c.Stderr, "err %s\n", strings.Join(c.Argv, " "))
			if fail != nil && fail(c.Argv) {
				return exitErr(1)
			}
			return nil
		},
	}
	return r, &stderr, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := append([]string(nil), ran...)
		sort.Strings(out)
		return out
	}
}

func TestCapture(t *testing.T) {
	ifaceMissing := func(argv []string) bool { return strings.Join(argv, " ") == "ip -n demo link show dev if-x" }
	tcFails := func(argv []string) bool { return argv[0] == "tc" }
	for _, c := range []struct {
		name    string
		managed []string
		fail    func([]string) bool
		guards  []plan.Step
		reads   []exec.Read
		code    int    // 0: no error; else the StepError's code
		msg     string // in the error
		ran     []string
		outs    []string // each read's stdout ("" for a read that did not run)
		errs    []bool   // whether each read failed
	}{
		{
			name:    "guards pass, reads run",
			managed: []string{"demo"},
			guards:  []plan.Step{plan.RequireManaged{Name: "demo"}, plan.RequireIface{NS: "demo", Iface: "if-a"}},
			reads:   []exec.Read{{Argv: []string{"tc", "-n", "demo", "qdisc", "show"}}, {Argv: []string{"ip", "-n", "demo", "addr", "show"}, Stdin: "x"}},
			ran:     []string{"ip -n demo addr show <x", "ip -n demo link show dev if-a", "tc -n demo qdisc show"},
			outs:    []string{"out tc -n demo qdisc show\n", "out ip -n demo addr show\n"},
			errs:    []bool{false, false},
		},
		{
			name:   "unmanaged: refused, nothing runs",
			guards: []plan.Step{plan.RequireManaged{Name: "demo"}},
			reads:  []exec.Read{{Argv: []string{"tc", "qdisc", "show"}}},
			code:   exec.ExitUsage,
			msg:    "demo: not managed by npte (no marker ",
		},
		{
			name:    "missing interface: refused with RequireIface's message",
			managed: []string{"demo"},
			fail:    ifaceMissing,
			guards:  []plan.Step{plan.RequireManaged{Name: "demo"}, plan.RequireIface{NS: "demo", Iface: "if-x"}},
			reads:   []exec.Read{{Argv: []string{"tc", "qdisc", "show"}}},
			code:    exec.ExitUsage,
			msg:     "demo has no interface if-x",
			ran:     []string{"ip -n demo link show dev if-x"},
		},
		{
			name:  "a failing read is reported in its result only",
			fail:  tcFails,
			reads: []exec.Read{{Argv: []string{"tc", "qdisc", "show"}}, {Argv: []string{"ip", "link", "show"}}, {Argv: []string{"ss", "-H"}}},
			ran:   []string{"ip link show", "tc qdisc show"},
			outs:  []string{"out tc qdisc show\n", "out ip link show\n", ""},
			errs:  []bool{true, false, true}, // ss is not installed here
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, stderr, ran := captureRunner(t, c.managed, c.fail)
			res, err := r.Capture(context.Background(), c.guards, c.reads...)
			var se *exec.StepError
			switch {
			case c.code == 0 && err != nil:
				t.Fatalf("error %v", err)
			case c.code != 0 && (!errors.As(err, &se) || se.Code != c.code || !strings.Contains(se.Error(), c.msg)):
				t.Fatalf("error %v, want code %d with %q", err, c.code, c.msg)
			}
			if got := ran(); strings.Join(got, "\n") != strings.Join(c.ran, "\n") {
				t.Errorf("ran %q, want %q", got, c.ran)
			}
			if stderr.Len() != 0 {
				t.Errorf("Capture wrote on the runner's stderr (an echo?): %q", stderr.String())
			}
			if c.code != 0 {
				return
			}
			for i := range c.reads {
				if string(res[i].Stdout) != c.outs[i] || (res[i].Err != nil) != c.errs[i] {
					t.Errorf("read %d: stdout %q err %v, want %q failed=%v", i, res[i].Stdout, res[i].Err, c.outs[i], c.errs[i])
				}
				if c.outs[i] != "" && string(res[i].Stderr) != "err "+strings.Join(c.reads[i].Argv, " ")+"\n" {
					t.Errorf("read %d: stderr %q", i, res[i].Stderr)
				}
			}
		})
	}
}
