package securitytest

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/npte/npte/internal/sandbox"
)

// mustRunOK runs npte ARGS (live, or with script its --dry-run script,
// the flag put after the first two words) and fails the test unless it
// exits 0.
func mustRunOK(t *testing.T, script bool, args ...string) result {
	t.Helper()
	if script && len(args) >= 2 {
		args = append(args[:2:2], append([]string{"--dry-run"}, args[2:]...)...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := run(ctx, t, proc{Args: args, Script: script})
	if r.Code != 0 || r.Signal != "" {
		t.Fatalf("npte %q (script %v) failed:\n%s", args, script, r)
	}
	return r
}

// pingOK pings to from inside namespace from (both made by the test).
func pingOK(t *testing.T, from, to string) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", from, "ping", "-n", "-c", "1", "-W", "5", to).CombinedOutput()
	if err != nil {
		t.Fatalf("ping %s from %s: %v\n%s", to, from, err, out)
	}
}

// TestBatchedChainLive builds a batched chain of 20 namespaces, live and
// as a script, pings from the first to the last, destroys it (one ip
// -batch, no link delete group) to exactly the state before, and
// re-creates it at once.
func TestBatchedChainLive(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeState(t)
	baseline := fullState(t)
	for _, script := range []bool{false, true} {
		for round := 0; round < 2; round++ { // the second: an immediate re-create
			r := mustRunOK(t, script, "lab", "chain", "20")
			if !script && !strings.Contains(r.Stderr, "+ ip -batch -\n") {
				t.Errorf("lab chain 20 ran no host batch:\n%s", r.Stderr)
			}
			pingOK(t, "ns1", "10.0.19.2") // ns20's address
			d := mustRunOK(t, script, "lab", "chain", "--destroy", "20")
			if !script && (!strings.Contains(d.Stderr, "+ ip -batch -\n") || strings.Contains(d.Stderr, "link delete group")) {
				t.Errorf("lab chain --destroy 20 did not take the batched teardown:\n%s", d.Stderr)
			}
			if got := fullState(t); got != baseline {
				t.Fatalf("script %v round %d: destroy did not restore the state:\n--- start\n%s\n--- now\n%s", script, round, baseline, got)
			}
		}
	}
}

// TestBatchedTeardownLeavesNoPeer: when another managed namespace is
// linked to the chain, the batched teardown falls back to deleting the
// link group of each namespace before it goes, so that destroy never
// returns while a peer of the chain's links exists: the other namespace
// has no if-ns2 left, and re-creating and re-connecting works at once.
func TestBatchedTeardownLeavesNoPeer(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeState(t)
	baseline := fullState(t)
	mustRunOK(t, false, "netns", "create", "other")
	for round := 0; round < 3; round++ {
		mustRunOK(t, false, "lab", "chain", "4")
		mustRunOK(t, false, "netns", "connect", "other", "ns2")
		d := mustRunOK(t, false, "lab", "chain", "--destroy", "4")
		if !strings.Contains(d.Stderr, "link delete group") {
			t.Errorf("round %d: the teardown did not fall back to link delete group:\n%s", round, d.Stderr)
		}
		if l := links(t, "other"); len(l) != 1 {
			t.Fatalf("round %d: destroy returned while other still has %v", round, l)
		}
	}
	mustRunOK(t, false, "netns", "destroy", "other")
	if got := fullState(t); got != baseline {
		t.Fatalf("state differs from the start:\n--- start\n%s\n--- now\n%s", baseline, got)
	}
}

// TestCrashBatchedChain kills the batched build of a chain of 6 before
// each of its steps, and its batched teardown before each of its steps;
// `lab chain --destroy 6` then restores a clean machine every time.
func TestCrashBatchedChain(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeState(t)
	baseline := fullState(t)
	destroy := func(t *testing.T, n int) {
		if r := mustRunAny(t, "lab", "chain", "--destroy", "6"); r.Code != 0 {
			t.Fatalf("kill at step %d: lab chain --destroy 6 failed:\n%s", n, r)
		}
	}
	n := killEach(t, []string{"lab", "chain", "6"}, baseline, nil, destroy)
	t.Logf("batched lab chain 6: %d kill points, each cleaned by the batched destroy", n)
	n = killEach(t, []string{"lab", "chain", "--destroy", "6"}, baseline, func() {
		if r := mustRunAny(t, "lab", "chain", "6"); r.Code != 0 {
			t.Fatalf("lab chain 6 failed:\n%s", r)
		}
	}, destroy)
	t.Logf("batched lab chain --destroy 6: %d kill points, each finished by a second destroy", n)
}

// TestCrashLabCreateNoBatch is TestCrashLabCreate (now batched, the
// default) for the one-command-per-step form.
func TestCrashLabCreateNoBatch(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	makeLabState(t)
	baseline := fullState(t)
	n := killEach(t, []string{"lab", "create", "--no-batch"}, baseline, nil, func(t *testing.T, n int) {
		if r := mustRunAny(t, "lab", "destroy", "--no-batch"); r.Code != 0 {
			t.Fatalf("kill at step %d: lab destroy failed:\n%s", n, r)
		}
	})
	t.Logf("lab create --no-batch: %d kill points", n)
}
