package shape

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/npte/npte/validate"
)

// grammarCase is one knob value: want is the argv words it must split
// into, or nil when it must be refused with an error mentioning rule.
type grammarCase struct {
	in   string
	want []string
	rule string
}

// injections are refused by every knob, whatever its grammar.
var injections = []string{
	"10ms; reboot", "10ms;reboot", "$(reboot)", "`reboot`", "10ms\nreboot", "10ms\r",
	"10ms # comment", "#", "10ms | cat", "10ms && true", "10ms > /etc/passwd", "'10ms'",
	`"10ms"`, `10ms\ 2ms`, "10ms\x00", "10MS", "10ms dev lo", "--help", "-1ms", "10ms\u00a02ms",
	"1%; x", "${IFS}", "*", "~", "10ms 2ms 25% root",
}

func checkGrammar(t *testing.T, name string, parse func(string) ([]string, error), cases []grammarCase) {
	t.Helper()
	for _, c := range cases {
		got, err := parse(c.in)
		if c.want != nil {
			if err != nil {
				t.Errorf("%s(%q): unexpected error %v", name, c.in, err)
			} else if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s(%q) = %q, want %q", name, c.in, got, c.want)
			}
			continue
		}
		var ve *validate.Error
		switch {
		case err == nil:
			t.Errorf("%s(%q) = %q, want an error", name, c.in, got)
		case !errors.As(err, &ve):
			t.Errorf("%s(%q): error %v is not a *validate.Error", name, c.in, err)
		case !strings.Contains(err.Error(), c.rule):
			t.Errorf("%s(%q): error %q does not mention %q", name, c.in, err, c.rule)
		case strings.Contains(err.Error(), "\n"):
			t.Errorf("%s(%q): error is not one line: %q", name, c.in, err)
		}
	}
	for _, in := range injections {
		if got, err := parse(in); err == nil {
			t.Errorf("%s(%q) = %q, want the injection refused", name, in, got)
		}
	}
}

func delayWords(s string) ([]string, error) {
	d, err := ParseDelay(s)
	if err != nil {
		return nil, err
	}
	if d.Distribution != "" {
		return append(append([]string{}, d.Words...), "distribution", d.Distribution), nil
	}
	return d.Words, nil
}

func TestDelayGrammar(t *testing.T) {
	checkGrammar(t, "ParseDelay", delayWords, []grammarCase{
		{in: "10ms", want: []string{"10ms"}},
		{in: "0ms", rule: "a zero delay is no delay"},
		{in: "10ms 0ms", rule: "a zero jitter is no jitter"}, // issue 10 item 9: tc refuses a distribution for it
		{in: "10ms 0ms distribution normal", rule: "a zero jitter"},
		{in: "0ms 5ms", want: []string{"0ms", "5ms"}},
		{in: "9us", rule: "64 ns ticks"}, // reads back as 8us
		{in: "10us", want: []string{"10us"}},
		{in: "1.5us", rule: "whole number of microseconds"},
		{in: "1.5s", want: []string{"1500ms"}},
		{in: "1.0005s", rule: "whole milliseconds"},
		{in: "10ms 3s", rule: "more than 2s"},
		{in: "0.5ms", want: []string{"500us"}},
		{in: "250us", want: []string{"250us"}},
		{in: "1s", want: []string{"1s"}},
		{in: "60s", want: []string{"60s"}},                   // the largest time
		{in: "60000ms", want: []string{"60s"}},               // the same, in ms
		{in: "  10ms\t2ms  ", want: []string{"10ms", "2ms"}}, // blanks are separators
		{in: "10ms 2ms", want: []string{"10ms", "2ms"}},      // jitter
		{in: "10ms 2ms 25%", want: []string{"10ms", "2ms", "25%"}},
		{in: "10ms 2ms 100%", want: []string{"10ms", "2ms", "100%"}}, // boundary
		{in: "10ms 2ms 0%", want: []string{"10ms", "2ms"}},
		{in: "10ms 2ms 33.33333%", rule: "four decimals"},
		{in: "10ms 2ms distribution pareto", want: []string{"10ms", "2ms", "distribution", "pareto"}},
		{in: "10ms 2ms 25% distribution paretonormal", want: []string{"10ms", "2ms", "25%", "distribution", "paretonormal"}},
		{in: "60.001s", rule: "largest time"},
		{in: "61s", rule: "largest time"},
		{in: "10ms 61s", rule: "largest time"},
		{in: "10ms 2ms 100.1%", rule: "above 100%"},
		{in: "10ms 2ms 101%", rule: "above 100%"},
		{in: "10ms distribution normal", rule: "needs a jitter"},
		{in: "", rule: "must not be empty"},
		{in: "   ", rule: "must not be empty"},
		{in: "10", rule: "must be TIME"},
		{in: "10 ms", rule: "must be TIME"},
		{in: "ms", rule: "must be TIME"},
		{in: ".5ms", rule: "must be TIME"},
		{in: "5.ms", rule: "must be TIME"},
		{in: "10ms 25%", rule: "must be TIME"},
		{in: "10ms 2ms 25", rule: "must be TIME"},
		{in: "10ms 2ms 25% 3%", rule: "must be TIME"},
		{in: "10ms 2ms distribution", rule: "must be TIME"},
		{in: "10ms 2ms distribution custom", rule: "must be TIME"},
		{in: "10ms 2ms distribution /etc/shadow", rule: "may contain only"},
		{in: "10min", rule: "must be TIME"},
		{in: "10msec", rule: "must be TIME"},
		{in: "1e3ms", rule: "must be TIME"},
		{in: "10ms\n", rule: "one line"},
		{in: "10ms;", rule: "may contain only"},
	})
}

func TestDistribution(t *testing.T) {
	for _, d := range []string{"uniform", "normal", "pareto", "paretonormal"} {
		if _, err := ParseDistribution(d); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	for _, d := range []string{"", "Normal", "custom", "experimental", "normal;", "../normal", "normal\n"} {
		if _, err := ParseDistribution(d); err == nil {
			t.Errorf("%q accepted", d)
		}
	}
}

func TestLossGrammar(t *testing.T) {
	checkGrammar(t, "ParseLoss", ParseLoss, []grammarCase{
		{in: "1%", want: []string{"random", "1%"}},
		{in: "0%", rule: "0% is nothing"},
		{in: "1% 0%", want: []string{"random", "1%"}},
		{in: "state 1% 0%", want: []string{"state", "1%", "0%", "0%", "100%", "0%"}},
		{in: "100%", want: []string{"random", "100%"}},
		{in: "0.01%", want: []string{"random", "0.01%"}},
		{in: "1% 25%", want: []string{"random", "1%", "25%"}},
		{in: "random 1%", want: []string{"random", "1%"}},
		{in: "random 1% 25% ecn", want: []string{"random", "1%", "25%", "ecn"}},
		{in: "1% ecn", want: []string{"random", "1%", "ecn"}},
		{in: "state 1%", want: []string{"state", "1%", "99%", "0%", "100%", "0%"}},
		{in: "state 1% 2% 3% 4% 5%", want: []string{"state", "1%", "2%", "3%", "4%", "5%"}},
		{in: "gemodel 1%", want: []string{"gemodel", "1%", "99%", "100%", "0%"}},
		{in: "gemodel 1% 10% 70% 0.1%", want: []string{"gemodel", "1%", "10%", "70%", "0.1%"}},
		{in: "gemodel 1% 10% 70% 0.1% ecn", want: []string{"gemodel", "1%", "10%", "70%", "0.1%", "ecn"}},
		{in: "100.5%", rule: "above 100%"},
		{in: "101%", rule: "above 100%"},
		{in: "1% 101%", rule: "above 100%"},
		{in: "state 1% 2% 3% 4% 500%", rule: "above 100%"},
		{in: "gemodel 200%", rule: "above 100%"},
		{in: "1", rule: "must be [random]"},
		{in: "0.01", rule: "must be [random]"},
		{in: "1% 2% 3%", rule: "must be [random]"},
		{in: "state", rule: "must be [random]"},
		{in: "state 1% 2% 3% 4% 5% 6%", rule: "must be [random]"},
		{in: "gemodel", rule: "must be [random]"},
		{in: "gemodel 1% 2% 3% 4% 5%", rule: "must be [random]"},
		{in: "gemodel 0.1 0.05", rule: "must be [random]"},
		{in: "ecn", rule: "must be [random]"},
		{in: "ecn 1%", rule: "must be [random]"},
		{in: "random", rule: "must be [random]"},
		{in: "", rule: "must not be empty"},
	})
}

func TestPercentGrammar(t *testing.T) {
	for _, flag := range []string{"--duplicate", "--corrupt"} {
		parse := func(s string) ([]string, error) { return ParsePercent(flag, s) }
		checkGrammar(t, flag, parse, []grammarCase{
			{in: "1%", want: []string{"1%"}},
			{in: "0%", rule: "0% is nothing"},
			{in: "100%", want: []string{"100%"}},
			{in: "0.1% 25%", want: []string{"0.1%", "25%"}},
			{in: "100.01%", rule: "above 100%"},
			{in: "1% 150%", rule: "above 100%"},
			{in: "1", rule: "must be PERCENT%"},
			{in: "1% 2% 3%", rule: "must be PERCENT%"},
			{in: "-1%", rule: "must be PERCENT%"},
			{in: "", rule: "must not be empty"},
		})
	}
}

func TestReorderGrammar(t *testing.T) {
	checkGrammar(t, "ParseReorder", ParseReorder, []grammarCase{
		{in: "25%", want: []string{"25%"}},
		{in: "25% 50%", want: []string{"25%", "50%"}},
		{in: "25% gap 5", want: []string{"25%", "gap", "5"}},
		{in: "25% 50% gap 1", want: []string{"25%", "50%", "gap", "1"}},
		{in: "25% 50% gap 4294967295", want: []string{"25%", "50%", "gap", "4294967295"}},
		{in: "25% 50% gap 4294967296", rule: "integer from 1 to 4294967295"},
		{in: "25% 50% gap 0", rule: "integer from 1 to 4294967295"},
		{in: "101%", rule: "above 100%"},
		{in: "25% gap", rule: "must be PERCENT%"},
		{in: "gap 5", rule: "must be PERCENT%"},
		{in: "25% gap -5", rule: "must be PERCENT%"},
		{in: "25% gap 5.5", rule: "must be PERCENT%"},
	})
}

func rateWords(s string) ([]string, error) {
	r, err := ParseRate(s)
	return r.Words, err
}

func TestRateGrammar(t *testing.T) {
	checkGrammar(t, "ParseRate", rateWords, []grammarCase{
		{in: "20mbit", want: []string{"20mbit"}},
		{in: "8bit", want: []string{"8bit"}}, // the smallest rate
		{in: "1tbit", want: []string{"1tbit"}},
		{in: "1000gbit", want: []string{"1tbit"}}, // the largest, spelled in gbit
		{in: "1.5mbit", want: []string{"1500kbit"}},
		{in: "100bit", rule: "not a whole number of bytes"}, // reads back as 96bit
		{in: "1.0000001mbit", rule: "not a whole number of bytes"},
		{in: "10mbit 0 0 +5", rule: "must be RATE"}, // tc: What is "+5"?
		{in: "10mbit 0 0 5", want: []string{"10mbit", "0", "0", "5"}},
		{in: "10mbit 20 0 0", want: []string{"10mbit", "20"}},
		{in: "10mbit 0", rule: "overheads of 0"},
		{in: "10MBit", want: []string{"10mbit"}},
		{in: "10MBps", rule: "BYTES per second"},
		{in: "768kbit", want: []string{"768kbit"}},
		{in: "10mbit 20", want: []string{"10mbit", "20"}},
		{in: "10mbit -20", want: []string{"10mbit", "-20"}},
		{in: "10mbit +20 53", rule: "must be RATE"},
		{in: "10mbit 20 53 -5", want: []string{"10mbit", "20", "53", "-5"}},
		{in: "10mbit 65535 65535 -65535", want: []string{"10mbit", "65535", "65535", "-65535"}},
		{in: "10mbit 65536", rule: "integer from -65535 to 65535"},
		{in: "10mbit 20 65536", rule: "integer from 0 to 65535"},
		{in: "10mbit 20 -53", rule: "must be RATE"},
		{in: "7bit", rule: "between 8bit and 1tbit"},
		{in: "0bit", rule: "between 8bit and 1tbit"},
		{in: "0mbit", rule: "between 8bit and 1tbit"},
		{in: "1.1tbit", rule: "between 8bit and 1tbit"},
		{in: "1001gbit", rule: "between 8bit and 1tbit"},
		{in: "10mbps", rule: "BYTES per second"},
		{in: "10bps", rule: "BYTES per second"},
		{in: "10mibit", rule: "ibit"},
		{in: "10Mbit", want: []string{"10mbit"}}, // issue 10 item 16: tc reads units case-insensitively
		{in: "10", rule: "must be RATE"},
		{in: "mbit", rule: "must be RATE"},
		{in: "10mbit 1 2 3 4", rule: "must be RATE"},
		{in: "10mbit burst 32k", rule: "must be RATE"},
		{in: "", rule: "must not be empty"},
	})
}

func TestPlainRate(t *testing.T) {
	if bps, w, err := ParsePlainRate("--child-rate", "30mbit"); err != nil || bps != 30e6 || w != "30mbit" {
		t.Errorf("30mbit: %v %q %v", bps, w, err)
	}
	for _, in := range append([]string{"30mbit 20", "", "30", "4bit", "2tbit", "30mbps"}, injections...) {
		if _, _, err := ParsePlainRate("--child-rate", in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestSlotGrammar(t *testing.T) {
	checkGrammar(t, "ParseSlot", ParseSlot, []grammarCase{
		{in: "5ms", want: []string{"5ms"}},
		{in: "5ms 10ms", want: []string{"5ms", "10ms"}},
		{in: "5ms 5ms", want: []string{"5ms"}},
		{in: "0ms", rule: "a slot of 0"},
		{in: "distribution normal 10ms 0ms", rule: "jitter above 0"},
		{in: "5ms 10ms packets 64", want: []string{"5ms", "10ms", "packets", "64"}},
		{in: "5ms bytes 1500", want: []string{"5ms", "bytes", "1500"}},
		{in: "5ms 10ms packets 1 bytes 2147483647", want: []string{"5ms", "10ms", "packets", "1", "bytes", "2147483647"}},
		{in: "distribution normal 10ms 2ms", want: []string{"distribution", "normal", "10ms", "2ms"}},
		{in: "distribution pareto 10ms 2ms packets 8", want: []string{"distribution", "pareto", "10ms", "2ms", "packets", "8"}},
		{in: "10ms 5ms", rule: "MIN must not be larger than MAX"},
		{in: "5ms packets 0", rule: "integer from 1 to 2147483647"},
		{in: "5ms bytes 2147483648", rule: "integer from 1 to 2147483647"},
		{in: "distribution uniform 10ms 2ms", rule: "no \"uniform\" slot table"},
		{in: "distribution custom 10ms 2ms", rule: "must be MIN"},
		{in: "distribution normal 10ms", rule: "must be MIN"},
		{in: "5ms 10ms 15ms", rule: "must be MIN"},
		{in: "packets 64", rule: "must be MIN"},
		{in: "5ms bytes 10 packets 3", rule: "must be MIN"},
		{in: "61s", rule: "largest time"},
	})
}

func TestLimitGrammar(t *testing.T) {
	parse := func(s string) ([]string, error) {
		n, err := ParseLimit(s)
		if err != nil {
			return nil, err
		}
		return []string{strings.TrimSpace(s), string(rune('0' + n%10))}, nil
	}
	checkGrammar(t, "ParseLimit", parse, []grammarCase{
		{in: "1", want: []string{"1", "1"}},
		{in: "1000", want: []string{"1000", "0"}},
		{in: "1000000", want: []string{"1000000", "0"}},
		{in: "0", rule: "integer from 1 to 1000000"},
		{in: "1000001", rule: "integer from 1 to 1000000"},
		{in: "99999999999999999999999", rule: "integer from 1 to 1000000"},
		{in: "-1", rule: "must be a number of packets"},
		{in: "1.5", rule: "must be a number of packets"},
		{in: "1 2", rule: "must be a number of packets"},
		{in: "1k", rule: "must be a number of packets"},
		{in: "", rule: "must not be empty"},
	})
}

func TestDirection(t *testing.T) {
	for _, d := range []string{"egress", "ingress", "both"} {
		if _, err := ParseDirection(d); err != nil {
			t.Error(err)
		}
	}
	for _, d := range []string{"", "in", "Egress", "both;", "egress\n"} {
		if _, err := ParseDirection(d); err == nil {
			t.Errorf("%q accepted", d)
		}
	}
}

func FuzzKnobs(f *testing.F) {
	for _, s := range append([]string{"10ms 2ms 25%", "gemodel 1% 2%", "10mbit 20 53 -5", "5ms 10ms packets 4"}, injections...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		check := func(w []string, err error) {
			if err != nil {
				return
			}
			for _, x := range w {
				if x == "" || !allowed(x) || strings.ContainsAny(x, " \t") {
					t.Fatalf("%q: accepted with word %q", s, x)
				}
			}
		}
		check(delayWords(s))
		check(ParseLoss(s))
		check(ParsePercent("--corrupt", s))
		check(ParseReorder(s))
		check(rateWords(s))
		check(ParseSlot(s))
	})
}
