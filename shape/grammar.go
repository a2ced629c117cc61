package shape

import (
	"errors"
	"fmt"
	"math"
	"math/big"
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
	sintA = `-?[0-9]+` // tc's NEXT_IS_NUMBER refuses a leading "+"
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

// Grammars, one per knob (the prose form of each is its Parse function's
// doc comment and its rule constant).
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

// MaxJitter is the largest netem jitter npte accepts: the kernel reports
// a jitter above 2^31 ns (2.147 s) back wrapped, so 2 s is the largest
// round number that reads back as given.
const MaxJitter = 2.0

// exactDecimal returns the exact value of a decimal number word (checked
// by the grammar) times scale.
func exactDecimal(num string, scale int64) *big.Rat {
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		r = new(big.Rat)
	}
	return r.Mul(r, new(big.Rat).SetInt64(scale))
}

// parseTime returns seconds for a TIME word (checked by the grammar).
// Times are whole microseconds (the resolution of tc's read-back), and
// whole milliseconds from one second up (tc prints six significant
// digits), so that every accepted time reads back as itself.
func parseTime(kind, value, w string) (float64, error) {
	unit, scale := "s", int64(1e6)
	switch {
	case strings.HasSuffix(w, "us"):
		unit, scale = "us", 1
	case strings.HasSuffix(w, "ms"):
		unit, scale = "ms", 1e3
	}
	us := exactDecimal(strings.TrimSuffix(w, unit), scale)
	if !us.IsInt() {
		return 0, &validate.Error{Kind: kind, Value: value, Rule: w + " is not a whole number of microseconds (tc keeps no finer time)"}
	}
	n := us.Num()
	if n.Cmp(big.NewInt(int64(MaxTime*1e6))) > 0 {
		return 0, &validate.Error{Kind: kind, Value: value, Rule: fmt.Sprintf("%s is more than %gs, the largest time npte accepts", w, MaxTime)}
	}
	v := n.Int64()
	if v >= 1e6 && v%1000 != 0 {
		return 0, &validate.Error{Kind: kind, Value: value, Rule: fmt.Sprintf("%s: from 1s up, times are whole milliseconds (tc reads back six digits), like %s", w, FormatTime(float64(v/1000)/1e3))}
	}
	return float64(v) / 1e6, nil
}

// netemTime checks a netem delay or jitter: the kernel keeps them in
// 64 ns ticks (15.625 per microsecond) and tc reads them back truncated
// to whole microseconds, so 8k+1 us reads back as 8k us, the same as
// 8k us itself. Those times are refused with the nearest ones.
func netemTime(kind, value, w string, sec float64) error {
	us := int64(math.Round(sec * 1e6))
	if us < 1e6 && us%8 == 1 {
		return &validate.Error{Kind: kind, Value: value, Rule: fmt.Sprintf("%s: the kernel keeps netem delays in 64 ns ticks, so it is the same delay as %s; write %s or %s", w, FormatTime(float64(us-1)/1e6), FormatTime(float64(us-1)/1e6), FormatTime(float64(us+1)/1e6))}
	}
	return nil
}

// TickTime maps a netem delay or jitter as tc reads it back (truncated to
// whole microseconds) to the time npte was given (see netemTime).
func TickTime(sec float64) float64 {
	us := int64(math.Round(sec * 1e6))
	if us < 1e6 && us%8 != 0 {
		us++
	}
	return float64(us) / 1e6
}

// parsePct returns the percentage of a PCT word, refusing values above
// 100 and more than four decimals (tc keeps percentages as 32-bit
// fractions and npte reads them back to four decimals).
func parsePct(kind, value, w string) (float64, error) {
	num := strings.TrimSuffix(w, "%")
	if i := strings.IndexByte(num, '.'); i >= 0 && len(num)-i-1 > 4 {
		return 0, &validate.Error{Kind: kind, Value: value, Rule: fmt.Sprintf("%s has more than four decimals (npte keeps percentages to 0.0001%%)", w)}
	}
	f, _ := strconv.ParseFloat(num, 64)
	if f > 100 {
		return 0, &validate.Error{Kind: kind, Value: value, Rule: fmt.Sprintf("%s is above 100%%", w)}
	}
	return f, nil
}

// pctWord is the canonical form of a percentage (as FormatPct prints it).
func pctWord(p float64) string { return FormatPct(p / 100) }

// Rate bounds: at least 8 bit/s (one byte a second), at most 1 tbit/s.
// A rate that tbf enforces has tighter bounds (MinTbfRate, MaxTbfRate).
const (
	MinRate = 8.0
	MaxRate = 1e12
)

var rateUnits = []struct {
	suffix string
	scale  int64
}{{"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {"tbit", 1e12}, {"bit", 1}}

// parseRate returns bits per second for a RATE word (checked by the
// grammar, units in lower case). tc's units are decimal: 1mbit is
// 1 000 000 bit/s. The kernel keeps rates in whole bytes per second, so a
// rate must be a multiple of 8 bit/s (100bit would read back as 96bit).
func parseRate(kind, value, w string) (float64, error) {
	for _, u := range rateUnits {
		if strings.HasSuffix(w, u.suffix) {
			r := exactDecimal(strings.TrimSuffix(w, u.suffix), u.scale)
			bps, _ := r.Float64()
			if bps < MinRate || bps > MaxRate {
				return 0, &validate.Error{Kind: kind, Value: value, Rule: fmt.Sprintf("rate %s must be between 8bit and 1tbit", w)}
			}
			if !r.IsInt() || new(big.Int).Mod(r.Num(), big.NewInt(8)).Sign() != 0 {
				lo := math.Floor(bps/8) * 8
				return 0, &validate.Error{Kind: kind, Value: value, Rule: fmt.Sprintf("rate %s is not a whole number of bytes per second (the kernel keeps bytes/s; it would read back as %s): use %s or %s", w, FormatRate(lo), FormatRate(lo), FormatRate(lo+8))}
			}
			return bps, nil
		}
	}
	return 0, &validate.Error{Kind: kind, Value: value, Rule: "no rate unit"}
}

// asGiven makes a refusal name the value as the user gave it.
func asGiven(err error, s string) error {
	var ve *validate.Error
	if errors.As(err, &ve) {
		e := *ve
		e.Value = s
		return &e
	}
	return err
}

// lowerRate lower-cases the ASCII letters of a rate value: tc reads rate
// units case-insensitively (10Mbit is 10mbit), and npte renders them in
// lower case. Other bytes are left for the charset check to refuse.
func lowerRate(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
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

// ParseDelay validates a --delay value. Its Words are canonical: each
// TIME in the largest exact unit, a zero correlation left out.
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
	if err = netemTime(kind, s, w[0], d.Delay); err != nil {
		return Delay{}, err
	}
	canon := []string{FormatTime(d.Delay)}
	if len(w) > 1 {
		if d.Jitter, err = parseTime(kind, s, w[1]); err != nil {
			return Delay{}, err
		}
		switch {
		case d.Jitter == 0:
			return Delay{}, &validate.Error{Kind: kind, Value: s, Rule: "a zero jitter is no jitter (and tc refuses a distribution for it): write only the delay, like " + canon[0]}
		case d.Jitter > MaxJitter:
			return Delay{}, &validate.Error{Kind: kind, Value: s, Rule: fmt.Sprintf("jitter %s is more than %gs (the kernel reads larger jitters back wrapped)", w[1], MaxJitter)}
		}
		if err = netemTime(kind, s, w[1], d.Jitter); err != nil {
			return Delay{}, err
		}
		canon = append(canon, FormatTime(d.Jitter))
	} else if d.Delay == 0 {
		return Delay{}, &validate.Error{Kind: kind, Value: s, Rule: "a zero delay is no delay: leave --delay out"}
	}
	if len(w) > 2 {
		c, err := parsePct(kind, s, w[2])
		if err != nil {
			return Delay{}, err
		}
		if c != 0 {
			canon = append(canon, pctWord(c))
		}
	}
	if d.Distribution != "" && len(w) < 2 {
		return Delay{}, &validate.Error{Kind: kind, Value: s, Rule: "a distribution needs a jitter (10ms 2ms distribution normal): without one there is nothing to distribute"}
	}
	d.Words = canon
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

// pctPair checks PERCENT% [CORRELATION%] words: the percentage must not
// be zero (tc would keep nothing, and nothing reads back), a zero
// correlation is left out. It returns the canonical words.
func pctPair(kind, s string, w []string) ([]string, error) {
	var canon []string
	for i, x := range w {
		p, err := parsePct(kind, s, x)
		if err != nil {
			return nil, err
		}
		switch {
		case i == 0 && p == 0:
			return nil, &validate.Error{Kind: kind, Value: s, Rule: "0% is nothing: leave the flag out"}
		case i > 0 && p == 0:
		default:
			canon = append(canon, pctWord(p))
		}
	}
	return canon, nil
}

// ParsePercent validates a --duplicate or --corrupt value:
// PERCENT% [CORRELATION%], each at most 100%, the percentage above 0.
func ParsePercent(flag, s string) ([]string, error) {
	kind := flag + " value"
	w, err := words(kind, s, percentRE, percentRule)
	if err != nil {
		return nil, err
	}
	return pctPair(kind, s, w)
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
	var gap []string
	if i := indexWord(w, "gap"); i >= 0 {
		n, err := parseUint(kind, s, w[i+1], 1, math.MaxUint32)
		if err != nil {
			return nil, err
		}
		gap = []string{"gap", strconv.FormatUint(n, 10)}
		w = w[:i]
	}
	canon, err := pctPair(kind, s, w)
	if err != nil {
		return nil, err
	}
	return append(canon, gap...), nil
}

const lossRule = `must be [random] PERCENT% [CORRELATION%], or "state P13% [P31% [P32% [P23% [P14%]]]]", or "gemodel P% [R% [1-H% [1-K%]]]", optionally followed by "ecn"`

// ParseLoss validates a --loss value: random loss, the 4-state Markov
// model ("state", 1 to 5 percentages) or the Gilbert-Elliott model
// ("gemodel", 1 to 4 percentages), optionally followed by "ecn" (mark
// instead of drop). A bare PERCENT is rendered as "random PERCENT". The
// words are canonical: the models are spelled out with tc's defaults for
// the parameters not given (state: P31 = 100% - P13, P32 0%, P23 100%,
// P14 0%; gemodel: R = 100% - P, 1-H 100%, 1-K 0%), which is how the
// kernel reports them.
func ParseLoss(s string) ([]string, error) {
	const kind = "--loss value"
	w, err := words(kind, s, lossRE, lossRule)
	if err != nil {
		return nil, err
	}
	ecn := w[len(w)-1] == "ecn"
	if ecn {
		w = w[:len(w)-1]
	}
	var canon []string
	switch w[0] {
	case "state", "gemodel":
		var ps []float64
		for _, x := range w[1:] {
			p, err := parsePct(kind, s, x)
			if err != nil {
				return nil, err
			}
			ps = append(ps, p)
		}
		defaults := []float64{0, 100 - ps[0], 0, 100, 0} // state
		if w[0] == "gemodel" {
			defaults = []float64{0, 100 - ps[0], 100, 0}
		}
		canon = []string{w[0]}
		for i := range defaults {
			p := defaults[i]
			if i < len(ps) {
				p = ps[i]
			}
			canon = append(canon, pctWord(p))
		}
	default:
		if w[0] == "random" {
			w = w[1:]
		}
		if canon, err = pctPair(kind, s, w); err != nil {
			return nil, err
		}
		canon = append([]string{"random"}, canon...)
	}
	if ecn {
		canon = append(canon, "ecn")
	}
	return canon, nil
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
// and CELLOVERHEAD within ±65535, CELLSIZE up to 65535. Units are read
// case-insensitively, as tc does; the words are canonical (the rate in
// its largest exact lower-case unit, trailing zero overheads left out).
func ParseRate(s string) (Rate, error) {
	const kind = "--rate value"
	w, err := words(kind, lowerRate(s), rateRE, rateRule)
	if err != nil {
		return Rate{}, asGiven(err, s)
	}
	var r Rate
	if r.BitsPerSecond, err = parseRate(kind, s, w[0]); err != nil {
		return Rate{}, err
	}
	words := []string{FormatRate(r.BitsPerSecond)}
	var over []string
	for i, x := range w[1:] {
		var n int64
		if i == 1 {
			var u uint64
			u, err = parseUint(kind, s, x, 0, 65535)
			n = int64(u)
		} else {
			n, err = parseSint(kind, s, x, 65535)
		}
		if err != nil {
			return Rate{}, err
		}
		over = append(over, strconv.FormatInt(n, 10))
	}
	for len(over) > 0 && over[len(over)-1] == "0" {
		over = over[:len(over)-1]
	}
	if len(w) > 1 && len(over) == 0 {
		return Rate{}, &validate.Error{Kind: kind, Value: s, Rule: "overheads of 0 are no overheads: write only the rate, like " + words[0]}
	}
	r.Words = append(words, over...)
	r.Overheads = len(over) > 0
	return r, nil
}

// ParsePlainRate validates a single RATE (--child-rate), returning bit/s
// and the canonical word. Units are read case-insensitively.
func ParsePlainRate(flag, s string) (float64, string, error) {
	kind := flag + " value"
	w, err := words(kind, lowerRate(s), plainRateRE, `must be one RATE, like "30mbit" (a number with bit, kbit, mbit, gbit or tbit)`)
	if err != nil {
		return 0, "", asGiven(err, s)
	}
	bps, err := parseRate(kind, s, w[0])
	if err != nil {
		return 0, "", err
	}
	return bps, FormatRate(bps), nil
}

const slotRule = `must be MIN [MAX] or "distribution normal|pareto|paretonormal DELAY JITTER", then optionally "packets N" and "bytes N", like "5ms 10ms packets 64"`

// ParseSlot validates a --slot value: MIN [MAX] (MIN <= MAX), or
// "distribution D DELAY JITTER", then optional "packets N" and "bytes N"
// (1..2147483647). Distribution files and "uniform" are refused: tc has no
// uniform table, and MIN MAX is already uniform. The words are canonical:
// MAX equal to MIN is left out, times in their largest exact unit.
func ParseSlot(s string) ([]string, error) {
	const kind = "--slot value"
	w, err := words(kind, s, slotRE, slotRule)
	if err != nil {
		return nil, err
	}
	if w[0] == "distribution" && w[1] == "uniform" {
		return nil, &validate.Error{Kind: kind, Value: s, Rule: `tc has no "uniform" slot table; "MIN MAX" already spreads slots uniformly`}
	}
	var canon, times, tail []string
	var secs []float64
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case "distribution":
			canon = append(canon, w[i], w[i+1])
			i++
		case "packets", "bytes":
			n, err := parseUint(kind, s, w[i+1], 1, math.MaxInt32)
			if err != nil {
				return nil, err
			}
			tail = append(tail, w[i], strconv.FormatUint(n, 10))
			i++
		default:
			t, err := parseTime(kind, s, w[i])
			if err != nil {
				return nil, err
			}
			secs = append(secs, t)
			times = append(times, FormatTime(t))
		}
	}
	if w[0] == "distribution" {
		if secs[1] == 0 {
			return nil, &validate.Error{Kind: kind, Value: s, Rule: "a slot distribution needs a jitter above 0 (tc refuses a non-positive jitter)"}
		}
	} else {
		if len(secs) == 2 && secs[0] > secs[1] {
			return nil, &validate.Error{Kind: kind, Value: s, Rule: "MIN must not be larger than MAX"}
		}
		if len(secs) == 2 && secs[0] == secs[1] {
			times = times[:1]
		}
		if len(times) == 1 && secs[0] == 0 {
			return nil, &validate.Error{Kind: kind, Value: s, Rule: "a slot of 0 is no slot: leave --slot out"}
		}
	}
	return append(append(canon, times...), tail...), nil
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
