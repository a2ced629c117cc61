package exec_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/npte/npte/batch"
	"github.com/npte/npte/exec"
	"github.com/npte/npte/lab"
	"github.com/npte/npte/plan"
)

// TestBatchFailedLine: a batch that fails at a line (iproute2's "Command
// failed -:LINE" on stderr) is reported as that line's original step,
// with the steps of the lines before it (and the steps before the batch)
// as done, and the plan's cleanup command; a batch that names no line
// says that part of it may have run.
func TestBatchFailedLine(t *testing.T) {
	p := batch.Optimize(lab.Create())
	var host plan.Batch
	for _, s := range p.Steps {
		if b, ok := s.(plan.Batch); ok && strings.Join(b.Argv, " ") == "ip -batch -" {
			host = b
		}
	}
	if len(host.Lines) < 4 {
		t.Fatalf("lab create has no host batch of 4 lines or more: %#v", host)
	}
	for _, tc := range []struct {
		name   string
		stderr string
		want   []string
		not    []string
	}{
		{"line 3", "Error: Cannot create namespace file \"/run/netns/router\": File exists\nCommand failed -:3\n", []string{
			"failed: ip netns add router: line 3 of ip -batch -: exit status 1",
			"npte: already done: record the intent to create client; record the intent to create router; record the intent to create server; load tcp_bbr so that BBR can be chosen inside namespaces; ip netns add client; ip netns exec client sysctl",
			"enable IPv6 forwarding in client, if the kernel has IPv6\n",
			"npte: to clean up, run: npte lab destroy",
		}, []string{"ip netns add router;", "possibly"}},
		{"line 1", "Command failed -:1\n", []string{
			"failed: ip netns add client: line 1 of ip -batch -",
			"npte: already done: record the intent to create client; record the intent to create router; record the intent to create server; load tcp_bbr so that BBR can be chosen inside namespaces\n",
		}, []string{"ip netns add client;"}},
		{"no line", "ip: something else\n", []string{
			"failed: ip -batch - (",
			"possibly part of ip -batch - (it named no failing line)",
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			start := h.r.Start
			h.r.Start = func(ctx context.Context, c exec.Cmd) error {
				if strings.Join(c.Argv, " ") == "ip -batch -" {
					b, _ := io.ReadAll(c.Stdin)
					if string(b) != host.Stdin() {
						t.Errorf("stdin %q, want %q", b, host.Stdin())
					}
					_, _ = io.WriteString(c.Stderr, tc.stderr)
					return exitErr(1)
				}
				return start(ctx, c)
			}
			se := stepError(t, h.r.Run(context.Background(), p))
			msg := se.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(msg, w) {
					t.Errorf("message has %q:\n%s", w, msg)
				}
			}
			if !strings.Contains(h.stderr.String(), tc.stderr) {
				t.Errorf("the program's stderr was not passed on: %q", h.stderr.String())
			}
			if strings.Contains(h.argvs(), "ip -n client -batch -") {
				t.Error("a step after the failing batch ran")
			}
		})
	}
}
