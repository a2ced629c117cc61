package securitytest

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/npte/npte/mcpserver/mcpservertest"
	"github.com/npte/npte/shape"
	"github.com/npte/npte/validate"
)

// mcpSlot is one place in one MCP tool's arguments that hostile values go
// into (issue 15, npte mcp serve).
type mcpSlot struct {
	tool string
	// args builds the tool's arguments with v in the slot; every other
	// value is valid.
	args func(v string) map[string]any
	// valid reports values the server must accept in this slot (as the
	// server receives them, after JSON).
	valid func(v string) bool
	// labFile: the value is a lab file's contents, which reach npte as
	// the path of a file the server wrote, never in argv.
	labFile bool
}

func mcpSlots() []mcpSlot {
	netns := func(v string) bool { return validate.NetnsName(v) == nil }
	iface := func(v string) bool { return validate.IfaceName(v) == nil }
	noNUL := func(v string) bool { return !strings.ContainsRune(v, 0) }
	direction := func(v string) bool { _, err := shape.ParseDirection(v); return v == "" || err == nil }
	command := func(v string) bool {
		return v != "" && !strings.HasPrefix(v, "-") && !strings.Contains(v, "=") && noNUL(v)
	}
	labText := func(v string) bool {
		return strings.TrimSpace(v) != "" && len(v) <= 1<<20 && noNUL(v)
	}
	none := func(string) bool { return false } // no run exists: every id is unknown
	run := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"netns": "ha", "argv": []string{"true"}, "wait_seconds": 60} // returns when the fake exits: its log is complete
		mod(m)
		return m
	}
	slots := []mcpSlot{
		{tool: "netns_show", args: func(v string) map[string]any { return map[string]any{"netns": v} }, valid: netns},
		{tool: "netns_show", args: func(v string) map[string]any { return map[string]any{"netns": "ha", "sections": []string{v}} },
			valid: func(v string) bool {
				return slices.Contains([]string{"link", "addr", "route", "route6", "qdisc", "neigh", "sockets", "pids"}, v)
			}},
		{tool: "netns_run", args: func(v string) map[string]any { return run(func(m map[string]any) { m["netns"] = v }) }, valid: netns},
		{tool: "netns_run", args: func(v string) map[string]any { return run(func(m map[string]any) { m["argv"] = []string{v} }) }, valid: command},
		// The command's own arguments are the user's data: they pass as
		// they are (after the command), NUL excepted.
		{tool: "netns_run", args: func(v string) map[string]any { return run(func(m map[string]any) { m["argv"] = []string{"echo", v} }) }, valid: noNUL},
		{tool: "netns_run", args: func(v string) map[string]any {
			return run(func(m map[string]any) { m["env"] = map[string]string{v: "x"} })
		}, valid: func(v string) bool { return validate.EnvVarName(v) == nil }},
		{tool: "netns_run", args: func(v string) map[string]any {
			return run(func(m map[string]any) { m["env"] = map[string]string{"K": v} })
		}, valid: noNUL},
		{tool: "netem_clear", args: func(v string) map[string]any { return map[string]any{"netns": v, "iface": "eth0"} }, valid: netns},
		{tool: "netem_clear", args: func(v string) map[string]any { return map[string]any{"netns": "ha", "iface": v} }, valid: iface},
		{tool: "netem_clear", args: func(v string) map[string]any { return map[string]any{"netns": "ha", "iface": "eth0", "direction": v} }, valid: direction},
		{tool: "netem_show", args: func(v string) map[string]any { return map[string]any{"netns": v} }, valid: netns},
		{tool: "netem_show", args: func(v string) map[string]any { return map[string]any{"netns": "ha", "iface": v} },
			valid: func(v string) bool { return v == "" || iface(v) }},
		{tool: "netem_apply", args: func(v string) map[string]any { return map[string]any{"netns": v, "iface": "eth0", "delay": "10ms"} }, valid: netns},
		{tool: "netem_apply", args: func(v string) map[string]any { return map[string]any{"netns": "ha", "iface": v, "delay": "10ms"} }, valid: iface},
		{tool: "netem_apply", args: func(v string) map[string]any {
			return map[string]any{"netns": "ha", "iface": "eth0", "delay": "10ms", "direction": v}
		}, valid: direction},
		{tool: "lab_destroy", args: func(v string) map[string]any { return map[string]any{"name": v} }, valid: netns},
		{tool: "lab_show", args: func(v string) map[string]any { return map[string]any{"name": v} }, valid: netns},
		{tool: "lab_check", args: func(v string) map[string]any { return map[string]any{"file": v} }, valid: labText, labFile: true},
		{tool: "lab_plan", args: func(v string) map[string]any { return map[string]any{"file": v} }, valid: labText, labFile: true},
		{tool: "lab_apply", args: func(v string) map[string]any { return map[string]any{"file": v} }, valid: labText, labFile: true},
		{tool: "lab_destroy", args: func(v string) map[string]any { return map[string]any{"file": v} }, valid: labText, labFile: true},
		{tool: "netns_run_output", args: func(v string) map[string]any { return map[string]any{"id": v} }, valid: none},
		{tool: "netns_run_stop", args: func(v string) map[string]any { return map[string]any{"id": v} }, valid: none},
	}
	// Every shaping knob, with the other knobs it needs.
	for _, k := range shape.Knobs() {
		base := map[string]any{"netns": "ha", "iface": "eth0"}
		var basePairs []string
		switch k.Name {
		case "distribution", "reorder":
			base["delay"] = "10ms 2ms"
			basePairs = []string{"--delay", "10ms 2ms"}
		case "child-rate":
			base["child"] = "cake"
			basePairs = []string{"--child", "cake"}
		}
		slots = append(slots, mcpSlot{tool: "netem_apply",
			args: func(v string) map[string]any {
				m := maps.Clone(base)
				m[k.Name] = v
				return m
			},
			valid: func(v string) bool {
				_, err := shape.ParseArgs(append(slices.Clone(basePairs), k.Flag(), v))
				return err == nil
			}})
	}
	return slots
}

// mcpFlagWord reports whether w, a word before "--" in a forwarded argv,
// is one the server may put there: a verb, a fixed flag, or a flag whose
// value passed npte's own validator.
func mcpFlagWord(w string) bool {
	switch w {
	case "netns", "netem", "lab", "doctor", "show", "list", "run", "apply", "clear", "check", "destroy",
		"--json", "--sandbox", "--dry-run", "--output=json":
		return true
	}
	flag, v, ok := strings.Cut(w, "=")
	if !ok {
		return false
	}
	switch flag {
	case "--section":
		return slices.Contains([]string{"link", "addr", "route", "route6", "qdisc", "neigh", "sockets", "pids"}, v)
	case "--env":
		_, _, err := validate.EnvAssignment(v)
		return err == nil
	case "--direction":
		_, err := shape.ParseDirection(v)
		return err == nil
	}
	if _, ok := shape.KnobNamed(flag); ok && strings.HasPrefix(flag, "--") {
		// One word, whatever the value: the value itself passed
		// shape.ParseArgs (the slot's valid function, checked before).
		return true
	}
	return false
}

// TestMCPHostileArguments pushes the hostile corpus through every
// argument of every MCP tool (in-memory transport, a fake sudo and a fake
// npte that record their argv). A value the slot's validator refuses must
// be refused by the server with nothing run; a value it accepts may reach
// argv only as the slot's own word: after "--" for a positional, inside
// one "--flag=VALUE" word for a flag, never as a word of its own before
// "--". Every argv starts with the fixed sudo path, -n and the npte path
// (or the npte path alone for the verbs that change nothing). Lab file
// contents and run ids never reach argv at all.
func TestMCPHostileArguments(t *testing.T) {
	h := mcpservertest.New(t, mcpservertest.Options{})
	sudo, npte := h.Config.Sudo, h.Config.Npte
	values := hostileValues()
	var tried, accepted, refused int
	var failures []string
	fail := func(format string, args ...any) {
		if len(failures) < 40 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	for _, s := range mcpSlots() {
		for _, raw := range values {
			tried++
			// What the server receives: JSON carries no invalid UTF-8.
			b, _ := json.Marshal(raw)
			var v string
			_ = json.Unmarshal(b, &v)
			res := h.Call(t, s.tool, s.args(raw))
			calls := h.Calls(t)
			if !s.valid(v) {
				refused++
				if !res.IsError {
					fail("%s %q: accepted an invalid value: %s", s.tool, raw, mcpservertest.Text(res))
				}
				if len(calls) > 0 {
					fail("%s %q: invalid value reached argv: %q", s.tool, raw, calls)
				}
				continue
			}
			accepted++
			if len(calls) == 0 {
				fail("%s %q: a valid value ran nothing: %s", s.tool, raw, mcpservertest.Text(res))
			}
			for _, argv := range calls {
				rest := argv
				switch {
				case len(argv) >= 3 && argv[0] == sudo && argv[1] == "-n" && argv[2] == npte:
					rest = argv[3:]
				case len(argv) >= 1 && argv[0] == npte:
					rest = argv[1:]
				default:
					fail("%s %q: argv %q does not start with sudo -n NPTE or NPTE", s.tool, raw, argv)
					continue
				}
				sep := slices.Index(rest, "--")
				before := rest
				if sep >= 0 {
					before = rest[:sep]
				}
				for _, w := range before {
					if !mcpFlagWord(w) {
						fail("%s %q: word %q before \"--\" in %q", s.tool, raw, w, argv)
					}
				}
				if s.labFile {
					// After "--": exactly one word, a file the server wrote
					// in its session directory, holding the text.
					path := ""
					if sep >= 0 && sep == len(rest)-2 {
						path = rest[sep+1]
					}
					got, err := os.ReadFile(path)
					if !strings.HasPrefix(path, h.Config.SessionDir+"/labs/") || err != nil || string(got) != v {
						fail("%s %q: argv %q does not end with -- and the server's file of the text (%v)", s.tool, raw, argv, err)
					}
				}
			}
		}
	}
	if len(failures) > 0 {
		t.Fatalf("%d values x slots tried; failures:\n%s", tried, strings.Join(failures, "\n"))
	}
	t.Logf("%d hostile values x %d slots: %d refused before anything ran, %d valid for their slot and forwarded in place",
		len(values), len(mcpSlots()), refused, accepted)
}
