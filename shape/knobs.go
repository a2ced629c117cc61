package shape

import (
	"encoding"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/npte/npte/validate"
)

// Spec is one shaping request: npte's netem knobs, the one list of them.
// Every surface derives from this struct: its fields are the flags of
// `netem apply` (embedded with kong's `embed:""`; name, placeholder and
// help come from the tags), the keys of a lab file's shaping (yaml and
// json tags), the `netem apply` flags of Args, ParseArgs and `netem
// show`'s read-back, and the profile table of `lab netem --list`.
//
// Each field's type decodes its value through UnmarshalText, which checks
// it against the knob's grammar (grammar.go) with the same *validate.Error
// as the command line, and renders it canonically through MarshalText. A
// zero field is a knob not given. Validate checks the knobs together
// (kong calls it while parsing when Spec is embedded as is; netem apply
// embeds a method-less copy of the type so that NS and IFACE are checked
// first). Lab files decode the same fields: goccy/go-yaml calls
// UnmarshalText for any scalar (limit: 2500 too), encoding/json for
// strings (and Limit reads a JSON number).
//
// Add a knob by adding a field here (with its name, placeholder, help,
// yaml and json tags and a type with UnmarshalText and MarshalText), its
// words to Tree and its read-back to netemArgs or childArgs;
// TestEveryKnobRoundTrips fails until all of them, and a recorded kernel
// fixture that sets the knob, exist.
type Spec struct {
	Delay        *Delay       `name:"delay" placeholder:"'TIME [JITTER [CORR%]]'" help:"Delay, e.g. 25ms or '10ms 2ms 25%' (us, ms, s)." yaml:"delay,omitempty" json:"delay,omitempty"`
	Distribution Distribution `name:"distribution" placeholder:"DIST" help:"Jitter distribution: uniform, normal, pareto, paretonormal (needs a jitter; default normal, always spelled out)." modifies:"delay" yaml:"distribution,omitempty" json:"distribution,omitempty"`
	Loss         Loss         `name:"loss" placeholder:"LOSS" help:"Loss: 'PCT [CORR]', 'state P13 [P31 [P32 [P23 [P14]]]]' or 'gemodel P [R [1-H [1-K]]]', then optionally 'ecn'." yaml:"loss,omitempty" json:"loss,omitempty"`
	Duplicate    Duplicate    `name:"duplicate" placeholder:"'PCT [CORR]'" help:"Duplicate packets, e.g. 1%." yaml:"duplicate,omitempty" json:"duplicate,omitempty"`
	Corrupt      Corrupt      `name:"corrupt" placeholder:"'PCT [CORR]'" help:"Corrupt packets (one bit flipped), e.g. 0.1%." yaml:"corrupt,omitempty" json:"corrupt,omitempty"`
	Reorder      Reorder      `name:"reorder" placeholder:"'PCT [CORR] [gap N]'" help:"Send this share of packets without the delay (needs --delay)." yaml:"reorder,omitempty" json:"reorder,omitempty"`
	Rate         *Rate        `name:"rate" placeholder:"'RATE [OVERHEAD [CELL [CELLOVERHEAD]]]'" help:"Rate cap, e.g. 20mbit (bit, kbit, mbit, gbit, tbit). Alone: a root tbf; with impairments: netem's rate." yaml:"rate,omitempty" json:"rate,omitempty"`
	Slot         Slot         `name:"slot" placeholder:"SLOT" help:"Slotted delivery: 'MIN [MAX]' or 'distribution D DELAY JITTER', then 'packets N', 'bytes N'." yaml:"slot,omitempty" json:"slot,omitempty"`
	Limit        Limit        `name:"limit" placeholder:"PACKETS" help:"netem's queue length in packets (default 1000, raised by npte when a rate times the delay needs more)." yaml:"limit,omitempty" json:"limit,omitempty"`
	Child        Child        `name:"child" placeholder:"KIND" help:"Child qdisc under netem: cake, tbf or fq_codel." yaml:"child,omitempty" json:"child,omitempty"`
	ChildRate    *ChildRate   `name:"child-rate" placeholder:"RATE" help:"The child's rate: cake's bandwidth, tbf's cap (required for tbf)." modifies:"child" yaml:"child-rate,omitempty" json:"child-rate,omitempty"`
}

// Knob describes one field of Spec, read from its tags.
type Knob struct {
	// Name is the flag without its dashes and the key in a lab file:
	// "delay", "child-rate".
	Name        string
	Placeholder string
	Help        string
	// Modifies names the knob this one only qualifies (the distribution
	// of --delay's jitter, the rate of --child): it does nothing alone.
	Modifies string
	index    int
}

// Knobs returns the knobs in Spec's field order, which is the order of
// Args and of `netem apply --help`.
func Knobs() []Knob {
	t := reflect.TypeFor[Spec]()
	out := make([]Knob, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		out = append(out, Knob{Name: f.Tag.Get("name"), Placeholder: f.Tag.Get("placeholder"),
			Help: f.Tag.Get("help"), Modifies: f.Tag.Get("modifies"), index: i})
	}
	return out
}

// Flag is the knob's flag: "--" + Name.
func (k Knob) Flag() string { return "--" + k.Name }

// Given reports whether s sets the knob.
func (k Knob) Given(s Spec) bool { return !reflect.ValueOf(s).Field(k.index).IsZero() }

// Text is the knob's value in s, as a flag value (MarshalText); "" when
// not given.
func (k Knob) Text(s Spec) string {
	if !k.Given(s) {
		return ""
	}
	b, _ := reflect.ValueOf(s).Field(k.index).Interface().(encoding.TextMarshaler).MarshalText()
	return string(b)
}

// Set decodes text as the knob's value into s (UnmarshalText: the knob's
// grammar, with the command line's *validate.Error). On an error s is
// unchanged.
func (k Knob) Set(s *Spec, text string) error {
	f := reflect.ValueOf(s).Elem().Field(k.index)
	v := reflect.New(f.Type()) // *T
	target := v
	if f.Kind() == reflect.Pointer {
		v.Elem().Set(reflect.New(f.Type().Elem()))
		target = v.Elem()
	}
	if err := target.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
		return err
	}
	f.Set(v.Elem())
	return nil
}

// KnobNamed returns the knob called name ("delay" or "--delay").
func KnobNamed(name string) (Knob, bool) {
	for _, k := range Knobs() {
		if k.Name == strings.TrimPrefix(name, "--") {
			return k, true
		}
	}
	return Knob{}, false
}

// ParseArgs reads `netem apply` flags, each followed by its value (as
// Args writes them and `netem show` reads them back), into a validated
// Spec.
func ParseArgs(args []string) (Spec, error) {
	var s Spec
	if len(args)%2 != 0 {
		return Spec{}, errors.New("netem apply flags: odd number of words in " + strconv.Quote(strings.Join(args, " ")))
	}
	for i := 0; i < len(args); i += 2 {
		k, ok := KnobNamed(args[i])
		if !ok || !strings.HasPrefix(args[i], "--") {
			return Spec{}, errors.New("netem apply flags: unknown flag " + strconv.Quote(args[i]))
		}
		if err := k.Set(&s, args[i+1]); err != nil {
			return Spec{}, err
		}
	}
	return s, s.Validate()
}

// Args renders s as canonical `netem apply` flags, in Knobs order (the
// limit as given, not as raised by Tree). s should be validated.
func (s Spec) Args() []string {
	var a []string
	for _, k := range Knobs() {
		if k.Given(s) {
			a = append(a, k.Flag(), k.Text(s))
		}
	}
	return a
}

// Validate checks s whole, as `netem apply` does: every knob against its
// grammar (each value is read again from its text, so that a Spec built
// in Go is held to the same rules as one decoded from a flag or a file),
// then the knobs together. It makes s canonical: a distribution given
// inside the delay value moves to Distribution, and a jitter without one
// gets "normal", spelled out. Errors are *validate.Error (one line naming
// the value and the rule), except for a Spec with no knob at all.
func (s *Spec) Validate() error {
	var c Spec
	for _, k := range Knobs() {
		if k.Given(*s) {
			if err := k.Set(&c, k.Text(*s)); err != nil {
				return err
			}
		}
	}
	jitter := c.Delay != nil && len(c.Delay.Words) >= 2
	inDelay := Distribution("")
	if c.Delay != nil {
		inDelay, c.Delay.Distribution = Distribution(c.Delay.Distribution), ""
	}
	switch {
	case c.Distribution != "" && !jitter:
		return &validate.Error{Kind: "--distribution value", Value: string(c.Distribution), Rule: "needs a jitter: give --delay 'TIME JITTER' (a distribution of no jitter is nothing)"}
	case c.Distribution != "" && inDelay != "" && inDelay != c.Distribution:
		return &validate.Error{Kind: "--distribution value", Value: string(c.Distribution), Rule: "contradicts the distribution " + string(inDelay) + " given in --delay; give it once"}
	case c.Distribution == "":
		c.Distribution = inDelay
	}
	if jitter && c.Distribution == "" {
		// tc-netem(8) documents Normal as the default; npte makes that
		// true by always spelling the distribution out.
		c.Distribution = "normal"
	}
	if c.Reorder != nil && c.Delay == nil {
		return &validate.Error{Kind: "--reorder value", Value: c.Reorder.String(), Rule: "needs --delay: netem reorders by sending some packets without the delay"}
	}
	if c.ChildRate != nil {
		switch c.Child {
		case "":
			return &validate.Error{Kind: "--child-rate value", Value: c.ChildRate.Word, Rule: "needs --child cake or --child tbf"}
		case "fq_codel":
			return &validate.Error{Kind: "--child-rate value", Value: c.ChildRate.Word, Rule: "fq_codel has no rate: give the cap with --child cake or --child tbf"}
		}
	}
	if c.Child == "tbf" && c.ChildRate == nil {
		return &validate.Error{Kind: "--child value", Value: "tbf", Rule: "needs --child-rate RATE (the cap tbf enforces)"}
	}
	if c.Child != "" && c.Rate != nil {
		return &validate.Error{Kind: "--rate value", Value: c.Rate.String(), Rule: "cannot be combined with --child: a rate inside netem keeps the backlog in netem's queue and starves the child of it; give the cap to the child with --child-rate"}
	}
	if c.Rate != nil && !c.netem() && c.Child == "" {
		if err := TbfRateOK("--rate", c.Rate.String(), c.Rate.BitsPerSecond); err != nil {
			return err
		}
	}
	if c.Child == "tbf" {
		if err := TbfRateOK("--child-rate", c.ChildRate.Word, c.ChildRate.BitsPerSecond); err != nil {
			return err
		}
	}
	if !c.netem() && c.Rate == nil && c.Child == "" {
		var alone []string
		for _, k := range Knobs() {
			if k.Modifies == "" {
				alone = append(alone, k.Flag())
			}
		}
		return errors.New("netem apply needs at least one of " + strings.Join(alone, ", ") + " (to remove shaping, use netem clear)")
	}
	*s = c
	return nil
}

// The knob types. Each UnmarshalText is the knob's parser (grammar.go);
// each MarshalText its canonical words, joined by one space.

// UnmarshalText parses a --delay value (ParseDelay).
func (d *Delay) UnmarshalText(b []byte) error {
	v, err := ParseDelay(string(b))
	if err == nil {
		*d = v
	}
	return err
}

// String is the delay's canonical words (and a distribution given in the
// value, until Validate moves it to Spec.Distribution).
func (d Delay) String() string {
	w := d.Words
	if d.Distribution != "" {
		w = append(append([]string(nil), w...), "distribution", d.Distribution)
	}
	return strings.Join(w, " ")
}

// MarshalText is String.
func (d Delay) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// NewDelay is a --delay of d (whole microseconds; Validate checks it).
func NewDelay(d time.Duration) *Delay {
	sec := d.Seconds()
	return &Delay{Delay: sec, Words: []string{FormatTime(sec)}}
}

// Distribution is a --distribution value: one of Distributions.
type Distribution string

// UnmarshalText parses a --distribution value (ParseDistribution).
func (d *Distribution) UnmarshalText(b []byte) error {
	v, err := ParseDistribution(string(b))
	if err == nil {
		*d = Distribution(v)
	}
	return err
}

// MarshalText is the distribution's name.
func (d Distribution) MarshalText() ([]byte, error) { return []byte(d), nil }

// Loss is a --loss value's canonical words (ParseLoss).
type Loss []string

// UnmarshalText parses a --loss value (ParseLoss).
func (l *Loss) UnmarshalText(b []byte) error { return setWords((*[]string)(l), b, ParseLoss) }

// MarshalText is the words, joined.
func (l Loss) MarshalText() ([]byte, error) { return []byte(strings.Join(l, " ")), nil }

// RandomLoss is a --loss of pct percent, random.
func RandomLoss(pct float64) Loss { return Loss{"random", pctWord(pct)} }

// Duplicate is a --duplicate value's canonical words (ParsePercent).
type Duplicate []string

// UnmarshalText parses a --duplicate value.
func (d *Duplicate) UnmarshalText(b []byte) error {
	return setWords((*[]string)(d), b, func(s string) ([]string, error) { return ParsePercent("--duplicate", s) })
}

// MarshalText is the words, joined.
func (d Duplicate) MarshalText() ([]byte, error) { return []byte(strings.Join(d, " ")), nil }

// Corrupt is a --corrupt value's canonical words (ParsePercent).
type Corrupt []string

// UnmarshalText parses a --corrupt value.
func (c *Corrupt) UnmarshalText(b []byte) error {
	return setWords((*[]string)(c), b, func(s string) ([]string, error) { return ParsePercent("--corrupt", s) })
}

// MarshalText is the words, joined.
func (c Corrupt) MarshalText() ([]byte, error) { return []byte(strings.Join(c, " ")), nil }

// Reorder is a --reorder value's canonical words (ParseReorder).
type Reorder []string

// UnmarshalText parses a --reorder value.
func (r *Reorder) UnmarshalText(b []byte) error { return setWords((*[]string)(r), b, ParseReorder) }

// String is the words, joined.
func (r Reorder) String() string { return strings.Join(r, " ") }

// MarshalText is String.
func (r Reorder) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Slot is a --slot value's canonical words (ParseSlot).
type Slot []string

// UnmarshalText parses a --slot value.
func (s *Slot) UnmarshalText(b []byte) error { return setWords((*[]string)(s), b, ParseSlot) }

// MarshalText is the words, joined.
func (s Slot) MarshalText() ([]byte, error) { return []byte(strings.Join(s, " ")), nil }

func setWords(dst *[]string, b []byte, parse func(string) ([]string, error)) error {
	w, err := parse(string(b))
	if err == nil {
		*dst = w
	}
	return err
}

// UnmarshalText parses a --rate value (ParseRate).
func (r *Rate) UnmarshalText(b []byte) error {
	v, err := ParseRate(string(b))
	if err == nil {
		*r = v
	}
	return err
}

// String is the rate's canonical words.
func (r Rate) String() string { return strings.Join(r.Words, " ") }

// MarshalText is String.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Rate units, in bit/s (tc's units are decimal).
const (
	Kbit = 1e3
	Mbit = 1e6
	Gbit = 1e9
)

// NewRate is a --rate of bps bit/s, without overheads.
func NewRate(bps float64) *Rate {
	return &Rate{BitsPerSecond: bps, Words: []string{FormatRate(bps)}}
}

// Limit is a --limit value: netem's queue in packets (ParseLimit).
type Limit uint64

// UnmarshalText parses a --limit value.
func (l *Limit) UnmarshalText(b []byte) error {
	v, err := ParseLimit(string(b))
	if err == nil {
		*l = Limit(v)
	}
	return err
}

// MarshalText is the number.
func (l Limit) MarshalText() ([]byte, error) { return []byte(strconv.FormatUint(uint64(l), 10)), nil }

// MarshalJSON is the number, as a JSON number (a lab file writes
// `limit: 2500`, and its schema says integer).
func (l Limit) MarshalJSON() ([]byte, error) { return l.MarshalText() }

// UnmarshalJSON reads a JSON number or string through UnmarshalText.
func (l *Limit) UnmarshalJSON(b []byte) error {
	if s, err := strconv.Unquote(string(b)); err == nil {
		b = []byte(s)
	}
	return l.UnmarshalText(b)
}

// Child is a --child value: one of Children.
type Child string

// UnmarshalText checks a --child value against Children.
func (c *Child) UnmarshalText(b []byte) error {
	for _, k := range Children {
		if string(b) == k {
			*c = Child(k)
			return nil
		}
	}
	return &validate.Error{Kind: "--child value", Value: string(b), Rule: "must be cake, tbf or fq_codel"}
}

// MarshalText is the qdisc kind.
func (c Child) MarshalText() ([]byte, error) { return []byte(c), nil }

// ChildRate is a --child-rate value: one RATE (ParsePlainRate).
type ChildRate struct {
	BitsPerSecond float64
	Word          string // canonical
}

// UnmarshalText parses a --child-rate value.
func (r *ChildRate) UnmarshalText(b []byte) error {
	bps, w, err := ParsePlainRate("--child-rate", string(b))
	if err == nil {
		*r = ChildRate{BitsPerSecond: bps, Word: w}
	}
	return err
}

// MarshalText is the canonical word.
func (r ChildRate) MarshalText() ([]byte, error) { return []byte(r.Word), nil }

// NewChildRate is a --child-rate of bps bit/s.
func NewChildRate(bps float64) *ChildRate {
	return &ChildRate{BitsPerSecond: bps, Word: FormatRate(bps)}
}
