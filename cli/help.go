package cli

import (
	"reflect"
	"sort"
	"strings"

	"github.com/npte/npte/plan"
	"github.com/npte/npte/shell"
)

// The long helps show the commands a verb runs as its builder makes them,
// built with placeholder names (NS, IFACE...), so that the help cannot
// drift from the plan (TestHelpNamesPrograms checks the rest).

// helpWidth is where helpLines wraps a command line.
const helpWidth = 86

// helpLines renders, one per line and indented for a long help, the
// plan.Command steps among steps (those inside conditional steps too)
// for which keep is true (every one when keep is nil), in order. A
// tolerated command ends in "|| true", as in the script. subs are
// strings.Replacer pairs applied to each line (e.g. an example address
// given to the builder -> its placeholder); a line longer than helpWidth
// continues on the next, further indented.
func helpLines(steps []plan.Step, keep func(plan.Command) bool, subs ...string) string {
	var b strings.Builder
	r := strings.NewReplacer(subs...)
	for _, c := range commands(steps) {
		if keep != nil && !keep(c) {
			continue
		}
		words := make([]string, len(c.Argv))
		for i, a := range c.Argv {
			words[i] = r.Replace(shell.CommandLine([]string{a}))
		}
		if c.Tolerant {
			words = append(words, "|| true")
		}
		b.WriteString(wrapWords(words))
	}
	return b.String()
}

// wrapWords joins words into lines of at most helpWidth, the first
// indented by two spaces, the others by six.
func wrapWords(words []string) string {
	var b strings.Builder
	line := "  "
	for i, w := range words {
		if i > 0 && len(line)+1+len(w) > helpWidth {
			b.WriteString(line + "\n")
			line = "      " + w
			continue
		}
		if i > 0 {
			line += " "
		}
		line += w
	}
	return b.String() + line + "\n"
}

// helpProbe renders the command line of a probe step, quoted, for a
// sentence of a long help.
func helpProbe(s plan.Step) string {
	p, _ := s.(plan.Probe)
	return "'" + shell.CommandLine(p.Argv) + "'"
}

// helpPrograms lists the programs p runs, for a sentence of a long help:
// "ip, sysctl and tc".
func helpPrograms(p plan.Plan) string {
	progs := programs(p.Steps)
	if len(progs) < 2 {
		return strings.Join(progs, "")
	}
	return strings.Join(progs[:len(progs)-1], ", ") + " and " + progs[len(progs)-1]
}

// withoutGateway returns steps without the removal of a recorded
// gateway (plan.IfGatewayRecord), which a help describes in words.
func withoutGateway(steps []plan.Step) []plan.Step {
	var out []plan.Step
	for _, s := range steps {
		if _, ok := s.(plan.IfGatewayRecord); !ok {
			out = append(out, s)
		}
	}
	return out
}

// startsWith reports whether a command's argv begins with words.
func startsWith(words ...string) func(plan.Command) bool {
	return func(c plan.Command) bool {
		return len(c.Argv) >= len(words) && reflect.DeepEqual(c.Argv[:len(words)], words)
	}
}

// commands returns the plan.Command steps among steps, those inside
// conditional steps included, in order.
func commands(steps []plan.Step) []plan.Command {
	var out []plan.Command
	plan.Walk(steps, func(s plan.Step) {
		if c, ok := s.(plan.Command); ok {
			out = append(out, c)
		}
	})
	return out
}

// programs returns, sorted, the programs steps run: the first word of
// every argv a step carries (commands, probes, the gateway's read-only
// listings, also inside conditional steps), and the program that `ip
// netns exec NS` starts. It reads the steps by reflection, so that a new
// step type's argv counts without a change here.
func programs(steps []plan.Step) []string {
	seen := map[string]bool{}
	add := func(argv []string) {
		if len(argv) == 0 {
			return
		}
		seen[argv[0]] = true
		if len(argv) > 4 && argv[0] == "ip" && argv[1] == "netns" && argv[2] == "exec" {
			seen[argv[4]] = true
		}
	}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.String {
				return
			}
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				f := v.Field(i)
				if v.Type().Field(i).Name == "Argv" && f.Type() == reflect.TypeOf([]string(nil)) {
					add(f.Interface().([]string))
					continue
				}
				walk(f)
			}
			if s, ok := v.Interface().(plan.RequireRunAs); ok {
				add(s.UIDArgv())
				add(s.GroupsArgv())
			}
		}
	}
	for _, s := range steps {
		walk(reflect.ValueOf(&s).Elem())
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
