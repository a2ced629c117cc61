package mcpserver

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/npte/npte/shape"
	"github.com/npte/npte/validate"
)

// The tool inputs. Each field's jsonschema tag is its description in the
// schema the client sees; a field without omitempty is required, and no
// other field is accepted.

// NoInput is the input of a tool that takes none.
type NoInput struct{}

// LabFileInput names a lab file by its contents.
type LabFileInput struct {
	File string `json:"file" jsonschema:"the lab file itself (its YAML text, not a path); the server writes it to a 0600 file of its own"`
}

// LabTargetInput names a lab: by name, or by its file's contents.
type LabTargetInput struct {
	Name string `json:"name,omitempty" jsonschema:"the lab's name (as in its file's name: key)"`
	File string `json:"file,omitempty" jsonschema:"or the lab file itself (its YAML text, not a path)"`
}

// LabNameInput names an applied lab.
type LabNameInput struct {
	Name string `json:"name" jsonschema:"the lab's name (as in its file's name: key)"`
}

// NetnsShowInput is netns_show's input.
type NetnsShowInput struct {
	Netns    string   `json:"netns" jsonschema:"a namespace npte manages"`
	Sections []string `json:"sections,omitempty" jsonschema:"only these sections: link, addr, route, route6, qdisc, neigh, sockets, pids (default all)"`
	JSON     bool     `json:"json,omitempty" jsonschema:"JSON output (ip -j / tc -j) instead of text"`
}

// NetnsRunInput is netns_run's input.
type NetnsRunInput struct {
	Netns       string            `json:"netns" jsonschema:"a namespace npte manages"`
	Argv        []string          `json:"argv" jsonschema:"the command and its arguments, e.g. [\"ping\", \"-c\", \"3\", \"172.16.2.2\"]; no shell unless you run one"`
	Env         map[string]string `json:"env,omitempty" jsonschema:"variables for the command's otherwise empty environment (PATH, HOME, USER are set)"`
	WaitSeconds *int              `json:"wait_seconds,omitempty" jsonschema:"wait this long (0 to 600, default 10) for the command to exit before returning its id and output so far"`
}

// RunIDInput names a command netns_run started.
type RunIDInput struct {
	ID        string `json:"id" jsonschema:"the id netns_run returned"`
	TailBytes *int   `json:"tail_bytes,omitempty" jsonschema:"return at most this many bytes from the end of stdout and of stderr (default 16384, at most 4194304)"`
}

// NetemApplyInput is netem_apply's input: the knobs of 'npte netem apply'.
type NetemApplyInput struct {
	Netns        string  `json:"netns" jsonschema:"a namespace npte manages"`
	Iface        string  `json:"iface" jsonschema:"an interface inside it"`
	Delay        *string `json:"delay,omitempty" jsonschema:"delay: TIME [JITTER [CORR%]], e.g. 25ms or '10ms 2ms 25%'"`
	Distribution *string `json:"distribution,omitempty" jsonschema:"jitter distribution: uniform, normal, pareto, paretonormal"`
	Loss         *string `json:"loss,omitempty" jsonschema:"loss: 'PCT [CORR]', 'state ...' or 'gemodel ...', optionally then 'ecn'"`
	Duplicate    *string `json:"duplicate,omitempty" jsonschema:"duplicate packets: PCT [CORR]"`
	Corrupt      *string `json:"corrupt,omitempty" jsonschema:"corrupt packets: PCT [CORR]"`
	Reorder      *string `json:"reorder,omitempty" jsonschema:"reorder: PCT [CORR] [gap N] (needs delay)"`
	Rate         *string `json:"rate,omitempty" jsonschema:"rate cap, e.g. 20mbit"`
	Slot         *string `json:"slot,omitempty" jsonschema:"slotted delivery: 'MIN [MAX]' or 'distribution D DELAY JITTER', then 'packets N', 'bytes N'"`
	Limit        *string `json:"limit,omitempty" jsonschema:"netem's queue length in packets"`
	Child        *string `json:"child,omitempty" jsonschema:"child qdisc: cake, tbf or fq_codel"`
	ChildRate    *string `json:"child-rate,omitempty" jsonschema:"the child's rate (cake bandwidth, tbf cap)"`
	Direction    string  `json:"direction,omitempty" jsonschema:"egress (default), ingress or both"`
}

// NetemClearInput is netem_clear's input.
type NetemClearInput struct {
	Netns     string `json:"netns" jsonschema:"a namespace npte manages"`
	Iface     string `json:"iface" jsonschema:"an interface inside it"`
	Direction string `json:"direction,omitempty" jsonschema:"egress, ingress or both (default both)"`
}

// NetemShowInput is netem_show's input.
type NetemShowInput struct {
	Netns string `json:"netns" jsonschema:"a namespace npte manages"`
	Iface string `json:"iface,omitempty" jsonschema:"only this interface"`
}

// showSections are the sections netns show knows.
var showSections = []string{"link", "addr", "route", "route6", "qdisc", "neigh", "sockets", "pids"}

// maxLabFile bounds a lab file handed as contents.
const maxLabFile = 1 << 20

// The argv builders below validate every value the agent supplied, with
// the validators npte uses, and return the arguments after the npte path.
// Positional values always follow "--"; flag values are one
// "--flag=VALUE" word, so that no value can be read as another flag.

func netnsShowArgs(in NetnsShowInput) (call, error) {
	if err := validate.NetnsName(in.Netns); err != nil {
		return call{}, err
	}
	args := []string{"netns", "show"}
	if in.JSON {
		args = append(args, "--json")
	}
	seen := map[string]bool{}
	for _, s := range in.Sections {
		if !slices.Contains(showSections, s) {
			return call{}, fmt.Errorf("invalid section %q: must be one of %s", s, strings.Join(showSections, ", "))
		}
		if !seen[s] {
			seen[s] = true
			args = append(args, "--section="+s)
		}
	}
	return call{sudo: true, args: append(args, "--", in.Netns)}, nil
}

func netnsRunArgs(in NetnsRunInput) (call, error) {
	if err := validate.NetnsName(in.Netns); err != nil {
		return call{}, err
	}
	if len(in.Argv) == 0 {
		return call{}, fmt.Errorf("argv is empty: name the command to run, e.g. [\"ping\", \"-c\", \"3\", \"172.16.2.2\"]")
	}
	for _, a := range in.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return call{}, fmt.Errorf("invalid argument %q: must not contain a NUL byte", a)
		}
	}
	switch c := in.Argv[0]; {
	case c == "":
		return call{}, fmt.Errorf("invalid command \"\": must not be empty")
	case strings.HasPrefix(c, "-"):
		return call{}, fmt.Errorf("invalid command %q: must not start with \"-\"", c)
	case strings.Contains(c, "="):
		return call{}, fmt.Errorf("invalid command %q: must not contain \"=\" (env(1) would take it for a variable assignment)", c)
	case !utf8.ValidString(c):
		return call{}, fmt.Errorf("invalid command %q: must be valid UTF-8", c)
	}
	// --sandbox always: the agent cannot turn it off.
	args := []string{"netns", "run", "--sandbox"}
	for _, k := range slices.Sorted(maps.Keys(in.Env)) {
		// The name alone first: "A=B" as a name would pass as A.
		if err := validate.EnvVarName(k); err != nil {
			return call{}, err
		}
		kv := k + "=" + in.Env[k]
		if _, _, err := validate.EnvAssignment(kv); err != nil {
			return call{}, err
		}
		args = append(args, "--env="+kv)
	}
	args = append(args, "--", in.Netns)
	return call{sudo: true, args: append(args, in.Argv...)}, nil
}

// knobs maps each shaping knob's name (shape.Knobs) to its value in in.
func (in NetemApplyInput) knobs() map[string]*string {
	return map[string]*string{
		"delay": in.Delay, "distribution": in.Distribution, "loss": in.Loss, "duplicate": in.Duplicate,
		"corrupt": in.Corrupt, "reorder": in.Reorder, "rate": in.Rate, "slot": in.Slot, "limit": in.Limit,
		"child": in.Child, "child-rate": in.ChildRate,
	}
}

func netemApplyArgs(in NetemApplyInput) (call, error) {
	if err := target(in.Netns, in.Iface); err != nil {
		return call{}, err
	}
	vals := in.knobs()
	var pairs []string
	args := []string{"netem", "apply"}
	for _, k := range shape.Knobs() {
		if v := vals[k.Name]; v != nil {
			pairs = append(pairs, k.Flag(), *v)
			args = append(args, k.Flag()+"="+*v)
		}
	}
	// The knobs' grammars and the rules between them, as netem apply
	// checks them.
	if _, err := shape.ParseArgs(pairs); err != nil {
		return call{}, err
	}
	if in.Direction != "" {
		if _, err := shape.ParseDirection(in.Direction); err != nil {
			return call{}, err
		}
		args = append(args, "--direction="+in.Direction)
	}
	return call{sudo: true, args: append(args, "--", in.Netns, in.Iface)}, nil
}

func netemClearArgs(in NetemClearInput) (call, error) {
	if err := target(in.Netns, in.Iface); err != nil {
		return call{}, err
	}
	args := []string{"netem", "clear"}
	if in.Direction != "" {
		if _, err := shape.ParseDirection(in.Direction); err != nil {
			return call{}, err
		}
		args = append(args, "--direction="+in.Direction)
	}
	return call{sudo: true, args: append(args, "--", in.Netns, in.Iface)}, nil
}

func netemShowArgs(in NetemShowInput) (call, error) {
	if err := validate.NetnsName(in.Netns); err != nil {
		return call{}, err
	}
	args := []string{"netem", "show", "--json", "--", in.Netns}
	if in.Iface != "" {
		if err := validate.IfaceName(in.Iface); err != nil {
			return call{}, err
		}
		args = append(args, in.Iface)
	}
	return call{sudo: true, args: args}, nil
}

func target(ns, iface string) error {
	if err := validate.NetnsName(ns); err != nil {
		return err
	}
	return validate.IfaceName(iface)
}

// checkLabFile checks a lab file handed as contents before it is written:
// not empty, not huge, valid UTF-8 without NUL. Its grammar is npte lab
// check's business.
func checkLabFile(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("file is empty: pass the lab file's YAML text")
	case len(s) > maxLabFile:
		return fmt.Errorf("file is %d bytes: at most %d", len(s), maxLabFile)
	case !utf8.ValidString(s):
		return fmt.Errorf("file is not valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("file contains a NUL byte")
	}
	return nil
}
