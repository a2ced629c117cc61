package shape_test

import (
	"testing"

	"github.com/npte/npte/shape"
)

// tcTable are the knob values whose tc verdict was found by hand (on the
// user-mode Linux 6.1 kernel for netem and cake, in the sandbox for tbf)
// and the disagreements issue 10 item 9 lists. TestTcSeeds checks npte's
// side of each without a kernel; the live differential tests run them
// against tc too.
func tcTable() []shape.TcCase {
	var out []shape.TcCase
	for _, r := range tcSeeds {
		out = append(out, r.TcCase)
	}
	return out
}

// tcSeed is a case with the verdicts: npte accepts, tc accepts.
type tcSeed struct {
	shape.TcCase
	npte, tc bool
}

var tcSeeds = []tcSeed{
	// Issue 10 item 9.
	{shape.TcCase{Knob: "delay", Value: "10ms 0ms"}, false, false},           // npte used to add "distribution normal": "distribution specified but no latency and jitter values"
	{shape.TcCase{Knob: "netem-rate", Value: "10mbit 0 0 +5"}, false, false}, // tc: What is "+5"?
	{shape.TcCase{Knob: "netem-rate", Value: "10mbit +5"}, false, false},
	{shape.TcCase{Knob: "netem-rate", Value: "10mbit 0 0 5"}, true, true},
	{shape.TcCase{Knob: "netem-rate", Value: "10mbit 20 53 -5"}, true, true},
	{shape.TcCase{Knob: "rate", Value: "10mbit 20"}, true, true}, // overheads: netem, not tbf
	// Issue 10 item 16: units are case-insensitive in tc.
	{shape.TcCase{Knob: "rate", Value: "10Mbit"}, true, true},
	{shape.TcCase{Knob: "cake-child-rate", Value: "10MBIT"}, true, true},
	// Issue 10 item 8: tbf below what it can carry, and rates that read back as others.
	{shape.TcCase{Knob: "rate", Value: "8bit"}, false, true}, // kernel: burst 166b lat 3330s
	{shape.TcCase{Knob: "rate", Value: "472bit"}, false, true},
	{shape.TcCase{Knob: "rate", Value: "480bit"}, true, true},
	{shape.TcCase{Knob: "rate", Value: "100bit"}, false, true}, // reads back as 96bit
	{shape.TcCase{Knob: "rate", Value: "1tbit"}, false, true},  // tbf limit wraps: lat 15.6ms
	{shape.TcCase{Knob: "rate", Value: "500gbit"}, true, true},
	{shape.TcCase{Knob: "tbf-child-rate", Value: "8bit"}, false, true},
	{shape.TcCase{Knob: "netem-rate", Value: "8bit"}, true, true},
	{shape.TcCase{Knob: "cake-child-rate", Value: "8bit"}, true, true},
	{shape.TcCase{Knob: "netem-rate", Value: "1tbit"}, true, true},
	// Times: ticks and read-back resolution.
	{shape.TcCase{Knob: "delay", Value: "10ms 1us"}, false, true}, // jitter reads back as 0
	{shape.TcCase{Knob: "delay", Value: "9us"}, false, true},
	{shape.TcCase{Knob: "delay", Value: "0.5ms 0.25ms"}, true, true},
	{shape.TcCase{Knob: "delay", Value: "1.5us"}, false, true},
	{shape.TcCase{Knob: "delay", Value: "60s 60s"}, false, true}, // jitter reads back as 2.14748s
	{shape.TcCase{Knob: "delay", Value: "0ms"}, false, true},     // reads back as no delay
	{shape.TcCase{Knob: "slot", Value: "distribution pareto 10ms 0ms"}, false, false},
	{shape.TcCase{Knob: "slot", Value: "0ms"}, false, true},
	{shape.TcCase{Knob: "slot", Value: "1us 2us"}, true, true},
	// Percentages.
	{shape.TcCase{Knob: "loss", Value: "0%"}, false, true},
	{shape.TcCase{Knob: "loss", Value: "0.00001%"}, false, true},
	{shape.TcCase{Knob: "loss", Value: "state 1% 0%"}, true, true},
	{shape.TcCase{Knob: "loss", Value: "gemodel 0%"}, true, true},
	{shape.TcCase{Knob: "duplicate", Value: "0%"}, false, true},
	{shape.TcCase{Knob: "reorder", Value: "25% 0% gap 5"}, true, true},
	{shape.TcCase{Knob: "limit", Value: "4294967295"}, false, true},
	// Other spellings tc takes (found by TestTcDifferentialKernel on UML):
	// npte takes one spelling of each value and names it.
	{shape.TcCase{Knob: "delay", Value: "8usec"}, false, true},
	{shape.TcCase{Knob: "delay", Value: "9993"}, false, true},
	{shape.TcCase{Knob: "reorder", Value: "0x10"}, false, true},
	{shape.TcCase{Knob: "duplicate", Value: "07"}, false, true},
	{shape.TcCase{Knob: "slot", Value: "5.s"}, false, true},
	{shape.TcCase{Knob: "cake-child-rate", Value: "1e3bit"}, false, true},
	{shape.TcCase{Knob: "rate", Value: "-1mbit"}, false, true},
	{shape.TcCase{Knob: "rate", Value: "+5gbit"}, false, true},
	{shape.TcCase{Knob: "loss", Value: "1% 5."}, false, true},
	{shape.TcCase{Knob: "tbf-child-rate", Value: "53113"}, false, true},
}

// TestTcSeeds checks npte's side of tcSeeds: npte accepts exactly the
// values recorded as accepted, never one tc refuses, and each value tc
// takes but npte refuses is a deliberate narrowing or another spelling.
func TestTcSeeds(t *testing.T) {
	for _, c := range tcSeeds {
		r := shape.CheckTc([]shape.TcCase{c.TcCase}, func([]string) bool { return c.tc })[0]
		switch {
		case r.NpteAccepts() != c.npte:
			t.Errorf("%s: want npte accepts = %v", r, c.npte)
		case r.Disagrees():
			t.Errorf("disagreement: %s", r)
		}
	}
	// The generator is deterministic and covers every knob.
	a, b := shape.GenTcCases(3, 200, nil), shape.GenTcCases(3, 200, nil)
	seen := map[string]bool{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("GenTcCases is not deterministic: %v %v", a[i], b[i])
		}
		seen[a[i].Knob] = true
	}
	if len(seen) != len(shape.TcKnobs) {
		t.Errorf("generated knobs %v, want all of %v", seen, shape.TcKnobs)
	}
}
