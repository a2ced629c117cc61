package shape_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/npte/npte/shape"
	"github.com/npte/npte/shell"
	"github.com/npte/npte/validate"
)

// grammarSeeds are valid knob values, their boundaries, and hostile
// values; `go test` runs them, `go test -fuzz=FuzzGrammars ./shape`
// explores from them.
var grammarSeeds = []string{
	"10ms", "10ms 2ms", "10ms 2ms 25%", "10ms 2ms 25% distribution normal", "10ms distribution normal",
	"1us", "4294s", "0ms", "-1ms", "10", "10 ms", "10ms;id", "10ms\n2ms", "10ms  2ms", " 10ms", "10ms ",
	"1%", "1% 25%", "100%", "100.1%", "101%", "-1%", "0.0001%", "1e3%", "NaN%", "1%%", "1",
	"state 1%", "state 1% 2% 3% 4% 5%", "state 1% 2% 3% 4% 5% 6%", "gemodel 1%", "gemodel 1% 10% 70% 0.1%", "1% ecn", "ecn",
	"25% gap 5", "25% 50% gap 5", "25% gap 0", "25% gap 4294967296", "gap 5",
	"10mbit", "10mbit 20 53 -5", "1bit", "0mbit", "10Mbit", "10mbps", "10mbit 20 53 -5 9", "10tbit", "99999999999tbit",
	"10ms 20ms", "distribution normal 10ms 2ms", "10ms packets 5", "10ms bytes 1500", "10ms packets 0",
	"1", "1000", "4294967295", "4294967296", "0", "-1", "0x10", "1e3",
	"uniform", "normal", "pareto", "paretonormal", "Normal", "egress", "ingress", "both", "",
	"10ms 0ms", "10mbit 0 0 +5", "100bit", "8usec", "0x10", "07", "5.s", "1e3bit", "-1mbit", "9us", "0.5ms 0.25ms", "state 1% 0%",
	"$(id)", "`id`", "a;b", "'", "\"", "#", "\x00", "\u00a0", "\uff11\uff10ms", "10\u200bms",
}

// words splits an accepted value's argv words the way npte hands them to
// tc; each must render in a script as itself (or single-quoted, for a
// shell reserved word), carry no space, control character or NUL.
func checkWords(t *testing.T, in string, words []string) {
	t.Helper()
	for _, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\n\x00") {
			t.Fatalf("%q: accepted, but word %q is empty or has a separator", in, w)
		}
		for _, r := range w {
			if !unicode.IsPrint(r) || r > unicode.MaxASCII {
				t.Fatalf("%q: accepted, but word %q has %U", in, w, r)
			}
		}
		if q, err := shell.Word(w); err != nil || q != w && q != "'"+w+"'" {
			t.Fatalf("%q: accepted, but word %q needs quoting: %s %v", in, w, q, err)
		}
	}
}

func checkErr(t *testing.T, in string, err error) {
	t.Helper()
	var ve *validate.Error
	if !errors.As(err, &ve) {
		t.Fatalf("%q: error %T %v is not a *validate.Error", in, err, err)
	}
	msg := err.Error()
	for _, r := range msg {
		if unicode.IsControl(r) {
			t.Fatalf("%q: message has control character %U: %q", in, r, msg)
		}
	}
}

// FuzzGrammars runs every knob grammar of netem apply on the same input:
// none panics; each either refuses with a one-line *validate.Error or
// returns words that are safe argv for tc, and parsing those words again
// gives the same words.
func FuzzGrammars(f *testing.F) {
	for _, s := range grammarSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		type parser func(string) ([]string, error)
		parsers := map[string]parser{
			"delay": func(s string) ([]string, error) {
				d, err := shape.ParseDelay(s)
				if err == nil && d.Distribution != "" {
					return append(append([]string{}, d.Words...), "distribution", d.Distribution), nil
				}
				return d.Words, err
			},
			"distribution": func(s string) ([]string, error) { d, err := shape.ParseDistribution(s); return []string{d}, err },
			"duplicate":    func(s string) ([]string, error) { return shape.ParsePercent("--duplicate", s) },
			"reorder":      shape.ParseReorder,
			"loss":         shape.ParseLoss,
			"rate":         func(s string) ([]string, error) { r, err := shape.ParseRate(s); return r.Words, err },
			"child-rate": func(s string) ([]string, error) {
				_, w, err := shape.ParsePlainRate("--child-rate", s)
				return []string{w}, err
			},
			"slot": shape.ParseSlot,
			"limit": func(s string) ([]string, error) {
				n, err := shape.ParseLimit(s)
				if err != nil {
					return nil, err
				}
				if n < 1 {
					t.Fatalf("limit %q accepted as %d", s, n)
				}
				return []string{strconv.FormatUint(n, 10)}, nil
			},
			"direction": func(s string) ([]string, error) { d, err := shape.ParseDirection(s); return []string{string(d)}, err },
		}
		for name, p := range parsers {
			w, err := p(s)
			if err != nil {
				checkErr(t, s, err)
				continue
			}
			checkWords(t, s, w)
			if name == "limit" || name == "child-rate" {
				continue
			}
			again, err := p(strings.Join(w, " "))
			if err != nil || strings.Join(again, " ") != strings.Join(w, " ") {
				t.Fatalf("%s %q: words %q do not parse back the same: %q %v", name, s, w, again, err)
			}
		}
	})
}
