package topology

import (
	"fmt"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
	"reflect"
	"strings"

	"github.com/npte/npte/lab"
	"github.com/npte/npte/shape"
)

// Shape is the shaping of one direction of a link: exactly the knobs of
// `npte netem apply` (shape.Spec, the one list of knobs: the same keys,
// grammar and errors as the command line and the profiles), or a
// built-in profile.
type Shape struct {
	shape.Spec `yaml:",inline"`
	// Profile names a built-in profile (npte lab netem --list): NAME takes
	// its downlink shaping, NAME/up its uplink. No knob may be given with
	// it.
	Profile string `yaml:"profile,omitempty" doc:"a built-in profile (npte lab netem --list): NAME for its downlink shaping, NAME/up for its uplink; alone"`
}

// Validated returns the validated shaping: the profile's, or the knobs'
// checked together (shape.Spec.Validate).
func (s *Shape) Validated() (shape.Spec, error) {
	if s.Profile != "" {
		if !reflect.ValueOf(s.Spec).IsZero() {
			return shape.Spec{}, fmt.Errorf("profile %s cannot be combined with other shaping keys", s.Profile)
		}
		name, side, _ := strings.Cut(s.Profile, "/")
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
		return shape.Spec{}, fmt.Errorf("profile %s: the side after / must be down or up", s.Profile)
	}
	spec := s.Spec
	if err := spec.Validate(); err != nil {
		return shape.Spec{}, err
	}
	return spec, nil
}

// String is the shaping as written, in the knobs' order ("delay 20ms,
// rate 10mbit"), or "profile NAME": what the graph and the diff show.
func (s *Shape) String() string {
	if s == nil {
		return ""
	}
	if s.Profile != "" {
		return "profile " + s.Profile
	}
	var out []string
	for _, k := range shape.Knobs() {
		if k.Given(s.Spec) {
			out = append(out, k.Name+" "+k.Text(s.Spec))
		}
	}
	return strings.Join(out, ", ")
}

// posError is an error at a token of the file, from a decoder of ours.
type posError struct {
	tk  *token.Token
	msg string
}

func (e *posError) Error() string { return e.msg }

// UnmarshalYAML reads a direction's shaping key by key, so that a bad
// knob's error points at its value: each knob's text goes through the
// knob's own decoder (shape.Knob.Set, the command line's grammar).
func (s *Shape) UnmarshalYAML(n ast.Node) error {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		if fm, ok2 := n.(*ast.MappingValueNode); ok2 {
			m = &ast.MappingNode{Values: []*ast.MappingValueNode{fm}}
		} else {
			return &posError{n.GetToken(), "a direction's shaping is a mapping of netem knobs (delay: 20ms, rate: 10mbit, ...) or {profile: NAME}"}
		}
	}
	var out Shape
	seen := map[string]bool{}
	for _, kv := range m.Values {
		key := kv.Key.GetToken().Value
		if seen[key] {
			return &posError{kv.Key.GetToken(), fmt.Sprintf("shaping key %q given twice", key)}
		}
		seen[key] = true
		v := kv.Value
		if _, scalar := v.(ast.ScalarNode); !scalar || v.Type() == ast.NullType {
			return &posError{v.GetToken(), fmt.Sprintf("%s: must be a single value (a word or a number)", key)}
		}
		text := v.GetToken().Value
		if key == "profile" {
			out.Profile = text
			continue
		}
		k, ok := shape.KnobNamed(key)
		if !ok || strings.HasPrefix(key, "-") {
			var names []string
			for _, k := range shape.Knobs() {
				names = append(names, k.Name)
			}
			return &posError{kv.Key.GetToken(), fmt.Sprintf("unknown shaping key %q: the keys are %s and profile", key, strings.Join(names, ", "))}
		}
		if err := k.Set(&out.Spec, text); err != nil {
			return &posError{v.GetToken(), err.Error()}
		}
	}
	*s = out
	return nil
}
