package shape

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/google/shlex"

	"github.com/npte/npte/validate"
)

// Atoms of the knob grammars. Every knob value is checked whole against an
// anchored regular expression built from these, then split into argv words
// with shlex (the charset check guarantees no quote or escape survives, so
// the split is exactly "on blanks"), then range-checked word by word.
const (
	numA  = `[0-9]+(?:\.[0-9]+)?`
	spA   = `[ \t]+`
	timeA = numA + `(?:us|ms|s)`
	pctA  = numA + `%`
	rateA = numA + `(?:bit|kbit|mbit|gbit|tbit)`
	distA = `(?:uniform|normal|pareto|paretonormal)`
	uintA = `[0-9]+`
	sintA = `[+-]?[0-9]+`
)

// lazyRE is a regular expression compiled on its first use: compiling
// the knob grammars took about 1 ms, most of npte's package
// initialisation, and every invocation paid it, shaping or not.
type lazyRE func() *regexp.Regexp

// MatchString reports whether s matches.
func (l lazyRE) MatchString(s string) bool { return l().MatchString(s) }

func whole(re string) lazyRE {
	return sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[ \t]*` + re + `[ \t]*$`)
	})
}

func opt(re string) string { return `(?:` + spA + re + `)?` }

// Grammars, one per knob (see the Knob doc comments for the prose form).
var (
	delayRE     = whole(timeA + `(?:` + spA + timeA + opt(pctA) + `)?` + opt(`distribution`+spA+distA))
	percentRE   = whole(pctA + opt(pctA))
	reorderRE   = whole(pctA + opt(pctA) + opt(`gap`+spA+uintA))
	lossRE      = whole(`(?:(?:random` + spA + `)?` + pctA + opt(pctA) + `|state` + spA + pctA + `(?:` + spA + pctA + `){0,4}|gemodel` + spA + pctA + `(?:` + spA + pctA + `){0,3})` + opt(`ecn`))
	rateRE      = whole(rateA + `(?:` + spA + sintA + `(?:` + spA + uintA + opt(sintA) + `)?)?`)
	slotRE      = whole(`(?:` + timeA + opt(timeA) + `|distribution` + spA + distA + spA + timeA + spA + timeA + `)` + opt(`packets`+spA+uintA) + opt(`bytes`+spA+uintA))
	limitRE     = whole(uintA)
	plainRateRE = whole(rateA)
)

// allowed is the charset of every knob value: lowercase letters, digits,
// ".", "%", "+", "-", spaces and tabs. Quotes, "$", ";", "#", newlines and
// everything else a shell or tc could read specially are refused up front.
func allowed(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '%' || c == '+' || c == '-' || c == ' ' || c == '\t') {
			return false
		}
	}
	return true
}

const charsetRule = `may contain only lowercase letters, digits, ".", "%", "+", "-" and blanks between words (no quotes, ";", "$", "#", "|" or newlines)`

// words validates s against re (after the charset check) and splits it
// into argv words with shlex. kind and rule make the error message.
func words(kind, s string, re lazyRE, rule string) ([]string, error) {
	switch {
	case strings.TrimSpace(s) == "":
		return nil, &validate.Error{Kind: kind, Value: s, Rule: "must not be empty; leave the flag out instead"}
	case strings.ContainsAny(s, "\n\r"):
		return nil, &validate.Error{Kind: kind, Value: s, Rule: "must be on one line"}
	case !allowed(s):
		return nil, &validate.Error{Kind: kind, Value: s, Rule: charsetRule}
	case strings.Contains(s, "bps") || strings.Contains(s, "ibit"):
		return nil, &validate.Error{Kind: kind, Value: s, Rule: `write rates in bit, kbit, mbit, gbit or tbit (tc reads "bps" as BYTES per second, and npte leaves out the binary "ibit" units)`}
	case !re.MatchString(s):
		return nil, &validate.Error{Kind: kind, Value: s, Rule: rule}
	}
	w, err := shlex.Split(s)
	if err != nil { // unreachable after the charset check
		return nil, &validate.Error{Kind: kind, Value: s, Rule: err.Error()}
	}
	return w, nil
}

// MaxTime is the largest TIME npte accepts (one minute): enough for any
// real link, and far below the range where tc's tick arithmetic overflows.
const MaxTime = 60.0

// parseTime returns seconds for a TIME word (checked by the grammar).
func parseTime(kind, value, w string) (float64, error) {
	unit, scale := "s", 1.0
	switch {
	case strings.HasSuffix(w, "us"):
		unit, scale = "us", 1e-6
	case strings.HasSuffix(w, "ms"):
		unit, scale = "ms", 1e-3
	}
	f, _ := strconv.ParseFloat(strings.TrimSuffix(w, unit), 64)
	sec := f * scale
	if sec > MaxTime {
		return 0, &validate.Error{Kind: kind, Value: value, Rule: fmt.Sprintf("%s is more than %gs, the largest time npte accepts", w, MaxTime)}
	}
	return sec, nil
}

// parsePct returns the percentage of a PCT word, refusing values above 100.
func parsePct(kind, value, w string) (float64, error) {
	f, _ := strconv.ParseFloat(strings.TrimSuffix(w, "%"), 64)
	if f > 100 {
		return 0, &validate.Error{Kind: kind, Value: value, Rule: fmt.Sprintf("%s is above 100%%", w)}
	}
	return f, nil
}

// Rate bounds: at least 8 bit/s (one byte a second), at most 1 tbit/s.
const (
	MinRate = 8.0
	MaxRate = 1e12
)

var rateUnits = []struct {
	suffix string
	scale  float64
}{{"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {"tbit", 1e12}, {"bit", 1}}

// parseRate returns bits per second for a RATE word (checked by the
// grammar). tc's units are decimal: 1mbit is 1 000 000 bit/s.
func parseRate(kind, value, w string) (float64, error) {
	for _, u := range rateUnits {
		if strings.HasSuffix(w, u.suffix) {
			f, _ := strconv.ParseFloat(strings.TrimSuffix(w, u.suffix), 64)
			bps := f * u.scale
			if bps < MinRate || bps > MaxRate {
				return 0, &validate.Error{Kind: kind, Value: value, Rule: fmt.Sprintf("rate %s must be between 8bit and 1tbit", w)}
			}
			return bps, nil
		}
	}
	return 0, &validate.Error{Kind: kind, Value: value, Rule: "no rate unit"}
}

// parseUint returns a non-negative integer word, refusing values above max.
func parseUint(kind, value, w string, min, max uint64) (uint64, error) {
	n, err := strconv.ParseUint(w, 10, 64)
	if err != nil || n < min || n > max {
		return 0, &validate.Error{Kind: kind, Value: value, Rule: fmt.Sprintf("%s must be an integer from %d to %d", w, min, max)}
	}
	return n, nil
}

// parseSint returns a signed integer word within ±max.
func parseSint(kind, value, w string, max int64) (int64, error) {
	n, err := strconv.ParseInt(w, 10, 64)
	if err != nil || n < -max || n > max {
		return 0, &validate.Error{Kind: kind, Value: value, Rule: fmt.Sprintf("%s must be an integer from %d to %d", w, -max, max)}
	}
	return n, nil
}

// Delay is a parsed --delay value: TIME [JITTER [CORRELATION%]], optionally
// followed by "distribution D" (the same as --distribution D).
type Delay struct {
	Delay, Jitter float64 // seconds
	Words         []string
	Distribution  string // "" when not given in the value
}

const delayRule = `must be TIME [JITTER [CORRELATION%]] [distribution uniform|normal|pareto|paretonormal], like "10ms" or "10ms 2ms 25%" (TIME: a number with us, ms or s)`

// ParseDelay validates a --delay value.
func ParseDelay(s string) (Delay, error) {
	const kind = "--delay value"
	w, err := words(kind, s, delayRE, delayRule)
	if err != nil {
		return Delay{}, err
	}
	var d Delay
	if i := indexWord(w, "distribution"); i >= 0 {
		d.Distribution = w[i+1]
		w = w[:i]
	}
	if d.Delay, err = parseTime(kind, s, w[0]); err != nil {
		return Delay{}, err
	}
	if len(w) > 1 {
		if d.Jitter, err = parseTime(kind, s, w[1]); err != nil {
			return Delay{}, err
		}
	}
	if len(w) > 2 {
		if _, err = parsePct(kind, s, w[2]); err != nil {
			return Delay{}, err
		}
	}
	if d.Distribution != "" && len(w) < 2 {
		return Delay{}, &validate.Error{Kind: kind, Value: s, Rule: "a distribution needs a jitter (10ms 2ms distribution normal): without one there is nothing to distribute"}
	}
	d.Words = w
	return d, nil
}

func indexWord(w []string, s string) int {
	for i, x := range w {
		if x == s {
			return i
		}
	}
	return -1
}

// Distributions are the delay distributions tc ships tables for, plus
// uniform (the kernel's behaviour when no table is loaded).
var Distributions = []string{"uniform", "normal", "pareto", "paretonormal"}

// ParseDistribution validates a --distribution value.
func ParseDistribution(s string) (string, error) {
	for _, d := range Distributions {
		if s == d {
			return s, nil
		}
	}
	return "", &validate.Error{Kind: "--distribution value", Value: s, Rule: "must be one of uniform, normal, pareto, paretonormal"}
}

const percentRule = `must be PERCENT% [CORRELATION%], like "1%" or "1% 25%"`

// ParsePercent validates a --duplicate or --corrupt value:
// PERCENT% [CORRELATION%], each at most 100%.
func ParsePercent(flag, s string) ([]string, error) {
	kind := flag + " value"
	w, err := words(kind, s, percentRE, percentRule)
	if err != nil {
		return nil, err
	}
	for _, x := range w {
		if _, err := parsePct(kind, s, x); err != nil {
			return nil, err
		}
	}
	return w, nil
}

const reorderRule = `must be PERCENT% [CORRELATION%] [gap DISTANCE], like "25%" or "25% 50% gap 5"`

// ParseReorder validates a --reorder value:
// PERCENT% [CORRELATION%] [gap N] with 1 <= N <= 4294967295.
func ParseReorder(s string) ([]string, error) {
	const kind = "--reorder value"
	w, err := words(kind, s, reorderRE, reorderRule)
	if err != nil {
		return nil, err
	}
	for i, x := range w {
		switch {
		case x == "gap":
		case i > 0 && w[i-1] == "gap":
			if _, err := parseUint(kind, s, x, 1, math.MaxUint32); err != nil {
				return nil, err
			}
		default:
			if _, err := parsePct(kind, s, x); err != nil {
				return nil, err
			}
		}
	}
	return w, nil
}

const lossRule = `must be [random] PERCENT% [CORRELATION%], or "state P13% [P31% [P32% [P23% [P14%]]]]", or "gemodel P% [R% [1-H% [1-K%]]]", optionally followed by "ecn"`

// ParseLoss validates a --loss value: random loss, the 4-state Markov
// model ("state", 1 to 5 percentages) or the Gilbert-Elliott model
// ("gemodel", 1 to 4 percentages), optionally followed by "ecn" (mark
// instead of drop). A bare PERCENT is rendered as "random PERCENT".
func ParseLoss(s string) ([]string, error) {
	const kind = "--loss value"
	w, err := words(kind, s, lossRE, lossRule)
	if err != nil {
		return nil, err
	}
	for _, x := range w {
		if strings.HasSuffix(x, "%") {
			if _, err := parsePct(kind, s, x); err != nil {
				return nil, err
			}
		}
	}
	if strings.HasSuffix(w[0], "%") {
		w = append([]string{"random"}, w...)
	}
	return w, nil
}

// Rate is a parsed --rate value.
type Rate struct {
	BitsPerSecond float64
	Words         []string
	// Overheads is true when PACKETOVERHEAD (and more) was given: only
	// netem's rate can model them.
	Overheads bool
}

const rateRule = `must be RATE [PACKETOVERHEAD [CELLSIZE [CELLOVERHEAD]]], like "10mbit" or "10mbit 20 53 -5" (RATE: a number with bit, kbit, mbit, gbit or tbit)`

// ParseRate validates a --rate value. Overheads are bytes: PACKETOVERHEAD
// and CELLOVERHEAD within ±65535, CELLSIZE up to 65535.
func ParseRate(s string) (Rate, error) {
	const kind = "--rate value"
	w, err := words(kind, s, rateRE, rateRule)
	if err != nil {
		return Rate{}, err
	}
	r := Rate{Words: w, Overheads: len(w) > 1}
	if r.BitsPerSecond, err = parseRate(kind, s, w[0]); err != nil {
		return Rate{}, err
	}
	for i, x := range w[1:] {
		if i == 1 {
			_, err = parseUint(kind, s, x, 0, 65535)
		} else {
			_, err = parseSint(kind, s, x, 65535)
		}
		if err != nil {
			return Rate{}, err
		}
	}
	return r, nil
}

// ParsePlainRate validates a single RATE (--child-rateA), returning bit/s.
func ParsePlainRate(flag, s string) (float64, string, error) {
	kind := flag + " value"
	w, err := words(kind, s, plainRateRE, `must be one RATE, like "30mbit" (a number with bit, kbit, mbit, gbit or tbit)`)
	if err != nil {
		return 0, "", err
	}
	bps, err := parseRate(kind, s, w[0])
	return bps, w[0], err
}

const slotRule = `must be MIN [MAX] or "distribution normal|pareto|paretonormal DELAY JITTER", then optionally "packets N" and "bytes N", like "5ms 10ms packets 64"`

// ParseSlot validates a --slot value: MIN [MAX] (MIN <= MAX), or
// "distribution D DELAY JITTER", then optional "packets N" and "bytes N"
// (1..2147483647). Distribution files and "uniform" are refused: tc has no
// uniform table, and MIN MAX is already uniform.
func ParseSlot(s string) ([]string, error) {
	const kind = "--slot value"
	w, err := words(kind, s, slotRE, slotRule)
	if err != nil {
		return nil, err
	}
	if w[0] == "distribution" && w[1] == "uniform" {
		return nil, &validate.Error{Kind: kind, Value: s, Rule: `tc has no "uniform" slot table; "MIN MAX" already spreads slots uniformly`}
	}
	var times []float64
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case "distribution":
			i++
		case "packets", "bytes":
			if _, err := parseUint(kind, s, w[i+1], 1, math.MaxInt32); err != nil {
				return nil, err
			}
			i++
		default:
			t, err := parseTime(kind, s, w[i])
			if err != nil {
				return nil, err
			}
			times = append(times, t)
		}
	}
	if w[0] != "distribution" && len(times) == 2 && times[0] > times[1] {
		return nil, &validate.Error{Kind: kind, Value: s, Rule: "MIN must not be larger than MAX"}
	}
	return w, nil
}

// MaxLimit is the largest --limit (packets) npte accepts.
const MaxLimit = 1000000

// ParseLimit validates a --limit value: an integer from 1 to MaxLimit.
func ParseLimit(s string) (uint64, error) {
	const kind = "--limit value"
	w, err := words(kind, s, limitRE, fmt.Sprintf("must be a number of packets from 1 to %d", MaxLimit))
	if err != nil {
		return 0, err
	}
	return parseUint(kind, s, w[0], 1, MaxLimit)
}
