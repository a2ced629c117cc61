package topology

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/npte/npte/lab"
	"github.com/npte/npte/shape"
)

// Word is a scalar knob value; numbers are taken as written.
type Word string

// UnmarshalYAML takes any scalar as written (10mbit, 1000, 0.1%).
func (w *Word) UnmarshalYAML(n ast.Node) error {
	if _, ok := n.(ast.ScalarNode); !ok || n.Type() == ast.NullType {
		return fmt.Errorf("must be a single value (a word or a number), not %s", n.Type())
	}
	*w = Word(n.GetToken().Value)
	return nil
}

// Shape is the shaping of one direction of a link: exactly the knobs of
// `npte netem apply` (the same grammar, package shape), or a profile.
// TODO(knobs): replace with the typed knob list of package shape once it
// lands, so that the CLI, the profiles and the file share one list.
type Shape struct {
	Delay        *Word `yaml:"delay,omitempty" doc:"netem delay: TIME [JITTER [CORRELATION]], as netem apply --delay"`
	Distribution *Word `yaml:"distribution,omitempty" doc:"jitter distribution: uniform, normal, pareto, paretonormal"`
	Loss         *Word `yaml:"loss,omitempty" doc:"as netem apply --loss"`
	Duplicate    *Word `yaml:"duplicate,omitempty" doc:"as netem apply --duplicate"`
	Corrupt      *Word `yaml:"corrupt,omitempty" doc:"as netem apply --corrupt"`
	Reorder      *Word `yaml:"reorder,omitempty" doc:"as netem apply --reorder"`
	Rate         *Word `yaml:"rate,omitempty" doc:"as netem apply --rate"`
	Slot         *Word `yaml:"slot,omitempty" doc:"as netem apply --slot"`
	Limit        *Word `yaml:"limit,omitempty" doc:"netem queue length in packets, as netem apply --limit"`
	Child        *Word `yaml:"child,omitempty" doc:"child qdisc: cake, tbf or fq_codel" enum:"cake,tbf,fq_codel"`
	ChildRate    *Word `yaml:"child-rate,omitempty" doc:"the child's rate cap, as netem apply --child-rate"`
	// Profile names a built-in profile (npte lab netem --list): NAME takes
	// its downlink shaping, NAME/up its uplink. No other key may be given
	// with it.
	Profile *Word `yaml:"profile,omitempty" doc:"a built-in profile (npte lab netem --list): NAME for its downlink shaping, NAME/up for its uplink; alone"`
}

func (w *Word) ptr() *string {
	if w == nil {
		return nil
	}
	s := string(*w)
	return &s
}

// Spec validates the shaping with package shape's grammar.
func (s *Shape) Spec() (shape.Spec, error) {
	if s.Profile != nil {
		if s.Delay != nil || s.Distribution != nil || s.Loss != nil || s.Duplicate != nil || s.Corrupt != nil ||
			s.Reorder != nil || s.Rate != nil || s.Slot != nil || s.Limit != nil || s.Child != nil || s.ChildRate != nil {
			return shape.Spec{}, fmt.Errorf("profile %s cannot be combined with other shaping keys", *s.Profile)
		}
		name, side, _ := strings.Cut(string(*s.Profile), "/")
		p, err := lab.FindProfile(name)
		if err != nil {
			return shape.Spec{}, err
		}
		down, up, err := p.Specs()
		if err != nil {
			return shape.Spec{}, err
		}
		switch side {
		case "", "down":
			return down, nil
		case "up":
			return up, nil
		}
		return shape.Spec{}, fmt.Errorf("profile %s: the side after / must be down or up", *s.Profile)
	}
	return shape.Parse(shape.Options{
		Delay: s.Delay.ptr(), Distribution: s.Distribution.ptr(), Loss: s.Loss.ptr(),
		Duplicate: s.Duplicate.ptr(), Corrupt: s.Corrupt.ptr(), Reorder: s.Reorder.ptr(),
		Rate: s.Rate.ptr(), Slot: s.Slot.ptr(), Limit: s.Limit.ptr(),
		Child: s.Child.ptr(), ChildRate: s.ChildRate.ptr(),
	})
}

// String is the shaping as netem apply flags (or the profile), in a
// stable order: what the graph and the diff show.
func (s *Shape) String() string {
	if s == nil {
		return ""
	}
	var out []string
	add := func(k string, w *Word) {
		if w != nil {
			out = append(out, k+" "+string(*w))
		}
	}
	add("profile", s.Profile)
	add("delay", s.Delay)
	add("distribution", s.Distribution)
	add("loss", s.Loss)
	add("duplicate", s.Duplicate)
	add("corrupt", s.Corrupt)
	add("reorder", s.Reorder)
	add("rate", s.Rate)
	add("slot", s.Slot)
	add("limit", s.Limit)
	add("child", s.Child)
	add("child-rate", s.ChildRate)
	return strings.Join(out, ", ")
}
