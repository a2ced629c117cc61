package shape

import (
	"errors"
	"fmt"
	"math/rand"
	"strconv"
	"strings"

	"github.com/npte/npte/validate"
)

// TcCase is one knob value for the differential check against tc: Knob
// names which flag it is given to and so which qdisc parses it:
//
//	delay, distribution, loss, duplicate, corrupt, reorder, slot, limit,
//	netem-rate (--rate with --delay 10ms: netem's rate),
//	rate (--rate alone: a root tbf),
//	tbf-child-rate, cake-child-rate (--child KIND --child-rate VALUE)
type TcCase struct {
	Knob  string
	Value string
}

// TcKnobs are the Knob names of TcCase; TbfKnobs are those a kernel
// without sch_netem and sch_cake can check (tbf only).
var (
	TcKnobs  = []string{"delay", "distribution", "loss", "duplicate", "corrupt", "reorder", "slot", "limit", "netem-rate", "rate", "tbf-child-rate", "cake-child-rate"}
	TbfKnobs = []string{"rate", "tbf-child-rate"}
)

// TcResult is what npte and tc made of one TcCase.
type TcResult struct {
	TcCase
	// NpteErr is npte's refusal (nil: accepted).
	NpteErr error
	// Argv are the qdisc words tc was given, each after
	// "tc qdisc add dev DEV root handle 1:": what npte renders when it
	// accepts, else the value's words where npte would put them.
	Argv [][]string
	// TcAccepts is true when tc accepted every one of Argv.
	TcAccepts bool
}

// NpteAccepts reports whether npte accepted the value.
func (r TcResult) NpteAccepts() bool { return r.NpteErr == nil }

// Narrowed reports whether npte refused a value tc accepts on purpose:
// the refusal is one of Narrowings (the value would not read back as
// given, or does nothing, or is beyond what npte supports).
func (r TcResult) Narrowed() bool {
	var ve *validate.Error
	if r.NpteErr == nil || !errors.As(r.NpteErr, &ve) {
		return false
	}
	for _, n := range Narrowings {
		if strings.Contains(ve.Rule, n) {
			return true
		}
	}
	return false
}

// Respelled reports whether npte refused the value by its grammar or
// charset: npte takes one spelling of each value (units us/ms/s and
// bit..tbit, percentages with "%", decimal numbers), where tc also takes
// others ("10msec", "0x10", "07", "5.", "1e3bit", bare numbers in default
// units, "+5", "-1mbit"); the refusal names the spelling npte takes.
func (r TcResult) Respelled() bool {
	var ve *validate.Error
	if r.NpteErr == nil || !errors.As(r.NpteErr, &ve) {
		return false
	}
	return strings.HasPrefix(ve.Rule, "must be ") || strings.HasPrefix(ve.Rule, "may contain only") || strings.HasPrefix(ve.Rule, "must not be empty")
}

// Disagrees reports a disagreement: npte accepts a value tc refuses (a
// bug: npte would delete the old tree and then fail), or npte refuses a
// value tc accepts for a reason that is neither a deliberate narrowing
// nor another spelling of a value npte takes.
func (r TcResult) Disagrees() bool {
	if r.NpteAccepts() {
		return !r.TcAccepts
	}
	return r.TcAccepts && !r.Narrowed() && !r.Respelled()
}

func (r TcResult) String() string {
	npte := "accepts"
	if r.NpteErr != nil {
		npte = "refuses (" + r.NpteErr.Error() + ")"
	}
	tc := "accepts"
	if !r.TcAccepts {
		tc = "refuses"
	}
	var argv []string
	for _, a := range r.Argv {
		argv = append(argv, strings.Join(a, " "))
	}
	return fmt.Sprintf("%s %q: npte %s, tc %s [%s]", r.Knob, r.Value, npte, tc, strings.Join(argv, "; "))
}

// Narrowings are the rules (substrings of validate.Error.Rule) by which
// npte refuses values tc would take: each keeps `netem show` honest (the
// value would read back as something else) or refuses a value that does
// nothing or that the kernel mangles.
var Narrowings = []string{
	"not a whole number of bytes", // 100bit reads back as 96bit
	"whole number of microseconds",
	"whole milliseconds",
	"64 ns ticks",
	"four decimals",
	"0% is nothing",
	"zero delay",
	"zero jitter",
	"slot of 0",
	"overheads of 0",
	"tbf cannot enforce",
	"more than", // times beyond MaxTime, MaxJitter
	"between 8bit and 1tbit",
	"above 100%",
	"must be an integer from",
	"MIN must not be larger",
	"needs --delay",
	"from 1 to", // --limit
	"write rates in bit",
}

// TcArgs returns the netem apply flags of a case: the knob's value and
// what the knob needs beside it.
func (c TcCase) TcArgs() []string {
	v := c.Value
	switch c.Knob {
	case "distribution":
		return []string{"--delay", "10ms 2ms", "--distribution", v}
	case "reorder":
		return []string{"--delay", "10ms", "--reorder", v}
	case "netem-rate":
		return []string{"--delay", "10ms", "--rate", v}
	case "tbf-child-rate":
		return []string{"--delay", "10ms", "--child", "tbf", "--child-rate", v}
	case "cake-child-rate":
		return []string{"--delay", "10ms", "--child", "cake", "--child-rate", v}
	}
	return []string{"--" + c.Knob, v}
}

// rawArgv is where the words of a value npte refuses would go: the same
// place as when it accepts, so that tc judges the value itself.
func (c TcCase) rawArgv() [][]string {
	w := strings.Fields(c.Value)
	if len(w) == 0 {
		w = []string{c.Value}
	}
	netem := func(pre ...string) [][]string { return [][]string{append(append([]string{"netem"}, pre...), w...)} }
	burst := func() []string { return []string{"burst", "16384", "latency", TbfLatency} }
	switch c.Knob {
	case "delay":
		return netem("delay")
	case "distribution":
		return netem("delay", "10ms", "2ms", "distribution")
	case "loss", "duplicate", "corrupt", "slot", "limit":
		return netem(c.Knob)
	case "reorder":
		return netem("delay", "10ms", "reorder")
	case "netem-rate":
		return netem("delay", "10ms", "rate")
	case "rate", "tbf-child-rate":
		a := append(append([]string{"tbf", "rate"}, w...), burst()...)
		if c.Knob == "tbf-child-rate" {
			return [][]string{{"netem", "delay", "10ms"}, a}
		}
		return [][]string{a}
	case "cake-child-rate":
		return [][]string{{"netem", "delay", "10ms"}, append([]string{"cake", "bandwidth"}, w...)}
	}
	return nil
}

// CheckTc runs each case through npte's parser and through tc:
// tcAccepts(words) must run `tc qdisc del dev DEV root` (tolerating a
// failure) and then `tc qdisc add dev DEV root handle 1: WORDS...` on a
// scratch device and report whether the add succeeded. A tree with a
// child is checked qdisc by qdisc, each as the root (tc parses a qdisc's
// options the same way wherever it sits). On a kernel without sch_netem
// or sch_cake use only TbfKnobs.
func CheckTc(cases []TcCase, tcAccepts func(words []string) bool) []TcResult {
	out := make([]TcResult, 0, len(cases))
	for _, c := range cases {
		r := TcResult{TcCase: c}
		s, err := ParseArgs(c.TcArgs())
		if err != nil {
			r.NpteErr = err
			r.Argv = c.rawArgv()
		} else {
			t := s.Tree()
			r.Argv = [][]string{t.Root}
			if t.Child != nil {
				r.Argv = append(r.Argv, t.Child)
			}
		}
		r.TcAccepts = true
		for _, a := range r.Argv {
			if !tcAccepts(a) {
				r.TcAccepts = false
				break
			}
		}
		out = append(out, r)
	}
	return out
}

// Spelling atoms for GenTcCases: numbers and units, npte's and others
// that tc or a user might write.
var (
	genNums  = []string{"0", "1", "8", "9", "10", "16", "25", "100", "480", "472", "1.5", "0.5", "0.25", "2.5", "33.3333", "33.33333", "1e3", "+5", "-1", "-5", "65535", "65536", "4294967295", "4294967296", "0x10", "07", "1000", "60000", "1.0000001", ".5", "5."}
	genTime  = []string{"us", "ms", "s", "usec", "msec", "sec", "secs", "MS", "", "ns"}
	genRate  = []string{"bit", "kbit", "mbit", "gbit", "tbit", "Mbit", "KBIT", "mbps", "kibit", "bps", "", "Kbit"}
	genPct   = []string{"%", "", "%%"}
	genWords = []string{"distribution", "normal", "uniform", "pareto", "paretonormal", "random", "state", "gemodel", "ecn", "gap", "packets", "bytes"}
)

// GenTcCases returns n generated cases for the given knobs (all of
// TcKnobs when nil), deterministic for a seed: values of one to five
// words mixing npte's spellings, tc's other spellings and edge numbers.
func GenTcCases(seed int64, n int, knobs []string) []TcCase {
	if knobs == nil {
		knobs = TcKnobs
	}
	rng := rand.New(rand.NewSource(seed))
	pick := func(a []string) string { return a[rng.Intn(len(a))] }
	word := func(knob string) string {
		num := pick(genNums)
		switch rng.Intn(8) {
		case 0:
			return pick(genWords)
		case 1:
			return num + pick(genPct)
		case 2:
			return strconv.Itoa(rng.Intn(70000) - 2)
		}
		switch knob {
		case "delay", "slot":
			return num + pick(genTime)
		case "rate", "netem-rate", "tbf-child-rate", "cake-child-rate":
			if rng.Intn(3) == 0 {
				return strconv.Itoa(8*rng.Intn(200)) + pick(genRate)
			}
			return num + pick(genRate)
		case "limit":
			return num
		}
		return num + pick(genPct)
	}
	out := make([]TcCase, 0, n)
	for i := 0; i < n; i++ {
		k := pick(knobs)
		nw := 1 + rng.Intn(3)
		if rng.Intn(4) == 0 {
			nw += 2
		}
		w := make([]string, nw)
		for j := range w {
			w[j] = word(k)
		}
		out = append(out, TcCase{Knob: k, Value: strings.Join(w, " ")})
	}
	return out
}
