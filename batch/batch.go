// Package batch is npte's batching pass: a pure function from a Plan, as
// the builders made it (one command per operation), to a Plan that does
// the same with far fewer processes. Composite plans (lab create, lab
// destroy, lab files) run it; single verbs do not (--no-batch keeps the
// one-command-per-step form everywhere).
//
// Building (a run of consecutive steps the pass understands):
//   - intent records are all written first (one plan.WriteRecords: one
//     subshell in the script), markers all written and intent records
//     dropped last (one WriteRecords, one RemoveRecords: one rm);
//   - `modprobe` of the same module runs once;
//   - host-side kernel work (`ip netns add`, `ip link add` of veth pairs
//     born in their namespaces, `ip netns exec NS sysctl ...`) becomes one
//     `ip -batch -`; a tolerated IPv6 sysctl joins its namespace's sysctl
//     line with sysctl's -e (ignore unknown keys: a kernel without IPv6);
//   - per namespace, one `ip -n NS -batch -` for links, addresses and
//     routes (one more for `ip -n NS -6 ...`), one `tc -n NS -batch -`,
//     run in that order (each may depend on the ones before it: a tc
//     line on a link an ip line made), after the host batch;
//   - when LaneMin or more namespaces have work of their own, that work
//     (their sysctl lines, out of the host batch, and their batches) runs
//     in plan.Lanes: LaneCount lanes at once, each namespace whole in one
//     lane, so that the start-up of their processes overlaps, each
//     program entering its namespace with nsenter (plan.EnterNetns);
//   - a run of namespace-creation guards (RequireAbsent and
//     RequireEtcNetnsAbsent of each name) becomes one
//     plan.RequireAllAbsent, which checks /run/netns and /etc/netns once
//     (one find in the script) instead of once per name;
//   - guards that the plan's own earlier steps prove are dropped: the
//     marker of a namespace this plan marked, the absence of an interface
//     in a namespace this plan created (and did not give it), the presence
//     of an interface this plan created.
//
// Any other step (a guard the pass cannot prove, a tolerated command, a
// program it does not know, a word iproute2's batch parser cannot carry)
// ends the run: what came before it runs first, in the order above, so
// every step still runs after everything it depends on.
//
// Teardown: consecutive IfOwned blocks holding exactly netns.DestroySteps
// become one plan.IfOnlyOwned: when npte's records name exactly those
// namespaces, each with its kernel namespace, and no gateway, no link of theirs can have
// a peer in a namespace that survives by name, so one `ip -batch -` of
// `netns del` lines (and one `rm -rf` of their /etc/netns directories)
// tears them down; before it, plan.CutBusyLinks deletes the links (`ip -n
// NS link delete group`) of as few as it can of those that a process
// keeps alive, so that no link joins two namespaces that outlive the
// teardown (none at all when no process is in any of them); otherwise
// the original one-namespace-at-a-time steps run.
package batch

import (
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/npte/npte/netns"
	"github.com/npte/npte/plan"
)

// Optimize returns p with its steps batched (see the package comment).
// It is pure: p is not modified, and the same p gives the same result.
func Optimize(p plan.Plan) plan.Plan {
	o := &optimizer{
		marked:  map[string]bool{},
		created: map[string]bool{},
		ifaces:  map[string]bool{},
		ran:     map[string]bool{},
		slab:    make([]plan.Step, 0, len(p.Steps)),
	}
	out := p
	out.Steps = o.steps(p.Steps)
	return out
}

type optimizer struct {
	marked  map[string]bool // namespaces this plan marked so far
	created map[string]bool // namespaces this plan added so far
	ifaces  map[string]bool // "NS/IFACE" this plan created so far
	ran     map[string]bool // tolerated commands already kept once (modprobe)
	out     []plan.Step
	r       run
	// cur is the step add was called with, as the plan holds it (an
	// interface value: a batch line keeps it without boxing it again);
	// slab holds the one-step lists of batch lines, allocated once.
	cur  plan.Step
	slab []plan.Step
}

// one returns the one-step list of the current step, from the slab.
func (o *optimizer) one() []plan.Step {
	o.slab = append(o.slab, o.cur)
	n := len(o.slab)
	return o.slab[n-1 : n : n]
}

// run is what the current run of batchable steps will emit.
type run struct {
	intents  []plan.Step
	pre      []plan.Step // modprobe
	host     []plan.BatchLine
	nsKeys   [][]string     // batch argv prefixes in first-appearance order
	nsAll    []nsLine       // their lines, in order (lists cuts them per prefix)
	nsIndex  map[string]int // key(prefix) to its index in nsKeys
	last     int            // index of the prefix of the last line + 1, or 0
	files    []plan.Step    // resolv.conf writes
	markers  []plan.Step
	removals []plan.Step
	notes    []plan.Step
}

// nsLine is a line of the batch of prefix nsKeys[i].
type nsLine struct {
	i int
	l plan.BatchLine
}

// lists returns the lines of each prefix of the run, in order, cut from
// one slab.
func (r *run) lists() [][]plan.BatchLine {
	out := make([][]plan.BatchLine, len(r.nsKeys))
	count := make([]int, len(r.nsKeys))
	for _, e := range r.nsAll {
		count[e.i]++
	}
	slab := make([]plan.BatchLine, len(r.nsAll))
	off := 0
	for i, c := range count {
		out[i] = slab[off:off:(off + c)]
		off += c
	}
	for _, e := range r.nsAll {
		out[e.i] = append(out[e.i], e.l)
	}
	return out
}

func key(prefix []string) string {
	return strings.Join(prefix, "\x00")
}

func (o *optimizer) steps(steps []plan.Step) []plan.Step {
	for i := 0; i < len(steps); i++ {
		s := steps[i]
		// Teardown: a run of IfOwned{N, netns.DestroySteps(N)}.
		if names := destroyRun(steps[i:]); len(names) > 1 {
			o.flush()
			o.out = append(o.out, teardown(names, steps[i:i+len(names)]))
			i += len(names) - 1
			continue
		}
		if g, n := guards(steps[i:]); n > 1 {
			o.flush()
			o.out = append(o.out, g)
			i += n - 1
			continue
		}
		o.cur = s
		if !o.add(s) {
			o.flush()
			o.out = append(o.out, s)
		}
	}
	o.flush()
	return o.out
}

// add takes s into the current run, or returns false when s ends it.
func (o *optimizer) add(s plan.Step) bool {
	switch s := s.(type) {
	case plan.RequireManaged:
		return o.marked[s.Name]
	case plan.RequireIface:
		return o.ifaces[s.NS+"/"+s.Iface]
	case plan.Probe:
		// ip -n NS link show dev IFACE must fail: NS is new and this plan
		// did not give it IFACE.
		a := s.Argv
		return !s.WantSuccess && len(a) == 7 && a[0] == "ip" && a[1] == "-n" && a[3] == "link" && a[4] == "show" && a[5] == "dev" &&
			o.created[a[2]] && !o.ifaces[a[2]+"/"+a[6]]
	case plan.WriteIntent:
		o.r.intents = append(o.r.intents, s)
	case plan.WriteMarker:
		o.marked[s.Name] = true
		o.r.markers = append(o.r.markers, s)
	case plan.RemoveIntent:
		o.r.removals = append(o.r.removals, s)
	case plan.Note:
		o.r.notes = append(o.r.notes, s)
	case plan.Command:
		return o.command(s)
	default:
		return false
	}
	return true
}

func (o *optimizer) command(s plan.Command) bool {
	a := s.Argv
	if s.Handoff {
		return false
	}
	if s.Tolerant {
		if len(a) == 3 && a[0] == "modprobe" && a[1] == "-q" && s.Stdin == "" {
			k := key(a)
			if !o.ran[k] {
				o.ran[k] = true
				o.r.pre = append(o.r.pre, s)
			}
			return true
		}
		// ip netns exec NS sysctl -q -w KEY=VALUE, tolerated: joins the
		// namespace's sysctl line (right before it) with -e.
		if len(a) == 8 && isSysctl(a) && s.Stdin == "" && len(o.r.host) > 0 {
			last := &o.r.host[len(o.r.host)-1]
			if isSysctl(append([]string{"ip"}, last.Args...)) && last.Args[2] == a[3] && batchable(a[7:]) {
				args := slices.Concat(last.Args[:5], []string{"-e"}, last.Args[5:], a[7:])
				if last.Args[5] == "-e" {
					args = slices.Concat(last.Args, a[7:])
				}
				last.Args = args
				last.Steps = append(slices.Clip(last.Steps), s)
				return true
			}
		}
		return false
	}
	if s.Stdin != "" {
		// install -D -m 0644 /dev/stdin /etc/netns/NS/resolv.conf
		if len(a) == 6 && a[0] == "install" && a[1] == "-D" && a[2] == "-m" && a[3] == "0644" && a[4] == "/dev/stdin" &&
			strings.HasPrefix(a[5], plan.EtcNetns+"/") && strings.HasSuffix(a[5], "/resolv.conf") {
			o.r.files = append(o.r.files, s)
			return true
		}
		return false
	}
	switch {
	case len(a) == 4 && a[0] == "ip" && a[1] == "netns" && a[2] == "add" && batchable(a[1:]):
		o.created[a[3]] = true
		o.r.host = append(o.r.host, plan.BatchLine{Args: a[1:], Steps: o.one()})
		return true
	case len(a) > 3 && a[0] == "ip" && a[1] == "link" && a[2] == "add" && batchable(a[1:]):
		for _, f := range vethEnds(a) {
			o.ifaces[f] = true
		}
		o.r.host = append(o.r.host, plan.BatchLine{Args: a[1:], Steps: o.one()})
		return true
	case isSysctl(a) && batchable(a[1:]):
		o.r.host = append(o.r.host, plan.BatchLine{Args: a[1:], Steps: o.one()})
		return true
	case len(a) > 4 && (a[0] == "ip" || a[0] == "tc") && a[1] == "-n" && a[3] != "netns":
		n := 3
		if a[0] == "ip" && (a[3] == "-6" || a[3] == "-4") {
			n = 4
		}
		if a[n][0] == '-' || !batchable(a[n:]) {
			return false
		}
		prefix := a[:n]
		// Runs of one namespace's commands are the rule: the prefix of
		// the last line is tried first, without a key or a map.
		i := o.r.last - 1
		if i < 0 || !slices.Equal(o.r.nsKeys[i], prefix) {
			k := key(prefix)
			if o.r.nsIndex == nil {
				o.r.nsIndex = map[string]int{}
			}
			var ok bool
			if i, ok = o.r.nsIndex[k]; !ok {
				i = len(o.r.nsKeys)
				o.r.nsIndex[k] = i
				o.r.nsKeys = append(o.r.nsKeys, prefix)
			}
			o.r.last = i + 1
		}
		o.r.nsAll = append(o.r.nsAll, nsLine{i, plan.BatchLine{Args: a[n:], Steps: o.one()}})
		return true
	}
	return false
}

// isSysctl: ip netns exec NS sysctl -q -w KEY=VALUE...
func isSysctl(a []string) bool {
	return len(a) > 7 && a[0] == "ip" && a[1] == "netns" && a[2] == "exec" && a[4] == "sysctl" && a[5] == "-q" && a[6] == "-w"
}

func batchable(words []string) bool {
	for _, w := range words {
		if _, ok := plan.BatchWord(w); !ok {
			return false
		}
	}
	return true
}

// vethEnds reads "NS/IFACE" of both ends of
// ip link add name A netns L ... peer name B netns R ...
func vethEnds(a []string) []string {
	var out []string
	name, ns := "", ""
	for i := 3; i+1 < len(a); i++ {
		switch a[i] {
		case "name":
			name = a[i+1]
		case "netns":
			ns = a[i+1]
		case "peer":
			if name != "" && ns != "" {
				out = append(out, ns+"/"+name)
			}
			name, ns = "", ""
		}
	}
	if name != "" && ns != "" {
		out = append(out, ns+"/"+name)
	}
	return out
}

// flush emits the current run.
func (o *optimizer) flush() {
	r := o.r
	o.r = run{}
	o.out = append(o.out, records(r.intents)...)
	o.out = append(o.out, r.pre...)
	// ip -n NS (links, addresses) before ip -n NS -6 (routes that need
	// them) before tc -n NS (qdiscs on those links); in each class, in
	// order of first appearance.
	order := make([]int, len(r.nsKeys))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return class(r.nsKeys[a]) - class(r.nsKeys[b]) })
	all := r.lists()
	keys := make([][]string, len(order))
	lines := make([][]plan.BatchLine, len(order))
	for i, j := range order {
		keys[i], lines[i] = r.nsKeys[j], all[j]
	}
	if host, l, ok := lanes(r.host, keys, lines); ok {
		o.out = append(o.out, batchOf([]string{"ip", "-batch", "-"}, host)...)
		o.out = append(o.out, l)
	} else {
		o.out = append(o.out, batchOf([]string{"ip", "-batch", "-"}, r.host)...)
		for i, prefix := range keys {
			o.out = append(o.out, batchOf(slices.Concat(prefix, []string{"-batch", "-"}), lines[i])...)
		}
	}
	o.out = append(o.out, files(r.files)...)
	o.out = append(o.out, records(r.markers)...)
	o.out = append(o.out, records(r.removals)...)
	o.out = append(o.out, r.notes...)
}

// LaneCount is the number of lanes of a plan.Lanes: the per-namespace
// work of a run is spread over this many processes at a time. Most of
// that work is process start-up (an `ip -n NS -batch` is a fork, an exec
// and a mount namespace of its own; a sysctl line is another), which
// lanes overlap; the kernel work itself still takes the rtnl lock one at
// a time. A constant, so that a script is the same on every machine.
const LaneCount = 4

// LaneMin is the fewest namespaces with work of their own for which a
// run gets lanes: below it, the gain is a few milliseconds, and the
// script stays a plain list of commands.
const LaneMin = 8

// lanes splits the per-namespace work of a run (its namespaces' sysctl
// lines, taken out of the host batch, and their batches: prefixes in
// class order, and the lines of each) into plan.Lanes, and returns the host lines left with it; ok is
// false (nothing split) when the run has fewer than LaneMin such
// namespaces, or when a namespace's line names another namespace (a
// `link set ... netns OTHER`): then one lane could depend on another.
//
// Each namespace goes whole to one lane: in each lane, the sysctl lines
// of its namespaces first, then their batches, each namespace's in class
// order. Inside lanes, the programs enter their namespace with nsenter
// (plan.EnterNetns): `nsenter --net=/run/netns/NS sysctl ...` for a sysctl
// line, `nsenter --net=/run/netns/NS ip -batch -` (or tc) for a batch,
// whose start-up does not grow with the number of namespaces as that of
// `ip -n NS` and `ip netns exec NS` does; a batch of one line stays the
// command it was. Namespaces are dealt in order of first
// appearance, each to the lane with the least work so far (a process
// counts 4, a line 1; ties to the first lane), so the result depends
// only on the plan.
func lanes(host []plan.BatchLine, keys [][]string, nsLines [][]plan.BatchLine) ([]plan.BatchLine, plan.Lanes, bool) {
	type unit struct {
		sysctl []plan.BatchLine
		keys   []int // indices in keys
		cost   int
	}
	units := map[string]*unit{}
	var order []string
	get := func(ns string) *unit {
		u, ok := units[ns]
		if !ok {
			u = &unit{}
			units[ns] = u
			order = append(order, ns)
		}
		return u
	}
	var rest []plan.BatchLine
	for _, l := range host {
		if len(l.Args) > 3 && l.Args[0] == "netns" && l.Args[1] == "exec" && l.Args[3] == "sysctl" {
			u := get(l.Args[2])
			u.sysctl = append(u.sysctl, l)
			u.cost += 4
			continue
		}
		rest = append(rest, l)
	}
	for i, k := range keys {
		lines := nsLines[i]
		for _, l := range lines {
			if slices.Contains(l.Args, "netns") {
				return nil, plan.Lanes{}, false
			}
		}
		u := get(k[2])
		u.keys = append(u.keys, i)
		u.cost += 4 + len(lines)
	}
	if len(order) < LaneMin {
		return nil, plan.Lanes{}, false
	}
	n := min(LaneCount, len(order))
	cost := make([]int, n)
	sysctl := make([][]plan.BatchLine, n)
	work := make([][]plan.Step, n)
	for _, ns := range order {
		u := units[ns]
		j := 0
		for i := range cost {
			if cost[i] < cost[j] {
				j = i
			}
		}
		cost[j] += u.cost
		sysctl[j] = append(sysctl[j], u.sysctl...)
		for _, i := range u.keys {
			// ip -n NS [-6] LINE...: nsenter --net=/run/netns/NS ip [-6] -batch -
			k := keys[i]
			argv := slices.Concat(plan.EnterNetns(k[2]), k[:1], k[3:], []string{"-batch", "-"})
			work[j] = append(work[j], batchOf(argv, nsLines[i])...)
		}
	}
	l := plan.Lanes{Lanes: make([][]plan.Step, n)}
	for j := range l.Lanes {
		for _, line := range sysctl[j] {
			// netns exec NS sysctl ARGS: nsenter --net=/run/netns/NS sysctl ARGS
			l.Lanes[j] = append(l.Lanes[j], plan.Command{Argv: slices.Concat(plan.EnterNetns(line.Args[2]), line.Args[3:])})
		}
		l.Lanes[j] = append(l.Lanes[j], work[j]...)
	}
	return rest, l, true
}

// WriteAll is the awk program that copies its standard input into every
// file named by its operands (created with the umask, 022: mode 0644).
const WriteAll = `BEGIN { for (i = 1; i < ARGC; i++) { f[i] = ARGV[i]; ARGV[i] = "" } n = ARGC - 1 } { for (i = 1; i <= n; i++) print > f[i] }`

// files writes the resolv.conf files of a run (install -D -m 0644
// /dev/stdin FILE, one process each): those with the same content in two
// processes, whatever their number: one `install -d -m 0755` of their
// directories, one awk (WriteAll) that writes them all.
func files(steps []plan.Step) []plan.Step {
	var order []string
	group := map[string][]plan.Command{}
	for _, s := range steps {
		c := s.(plan.Command)
		if _, ok := group[c.Stdin]; !ok {
			order = append(order, c.Stdin)
		}
		group[c.Stdin] = append(group[c.Stdin], c)
	}
	var out []plan.Step
	for _, content := range order {
		g := group[content]
		if len(g) == 1 {
			out = append(out, g[0])
			continue
		}
		dirs := []string{"install", "-d", "-m", "0755"}
		awk := []string{"awk", WriteAll}
		for _, c := range g {
			f := c.Argv[5]
			dirs = append(dirs, f[:strings.LastIndexByte(f, '/')])
			awk = append(awk, f)
		}
		n := strconv.Itoa(len(g))
		out = append(out,
			plan.Command{Argv: dirs, Show: "make the /etc/netns directories of " + n + " namespaces"},
			plan.Command{Argv: awk, Stdin: content, Show: "write the resolv.conf of " + n + " namespaces"})
	}
	return out
}

// records joins record steps of one kind (all WriteIntent, all
// WriteMarker or all RemoveIntent) into one WriteRecords or RemoveRecords;
// a single one stays as it is.
func records(steps []plan.Step) []plan.Step {
	if len(steps) < 2 {
		return steps
	}
	names := make([]string, len(steps))
	for i, s := range steps {
		switch s := s.(type) {
		case plan.WriteIntent:
			names[i] = s.Name
		case plan.WriteMarker:
			names[i] = s.Name
		case plan.RemoveIntent:
			names[i] = s.Name
		}
	}
	switch steps[0].(type) {
	case plan.WriteIntent:
		return []plan.Step{plan.WriteRecords{Intent: true, Names: names}}
	case plan.WriteMarker:
		return []plan.Step{plan.WriteRecords{Names: names}}
	}
	return []plan.Step{plan.RemoveRecords{Intent: true, Names: names}}
}

// class orders the batch prefixes of a run: ip -n NS, ip -n NS -4/-6, tc.
func class(prefix []string) int {
	switch {
	case prefix[0] == "tc":
		return 2
	case len(prefix) > 3:
		return 1
	}
	return 0
}

// batchOf is one Batch of lines, or, for a single line, its own step(s):
// a batch of one saves nothing.
func batchOf(argv []string, lines []plan.BatchLine) []plan.Step {
	switch {
	case len(lines) == 0:
		return nil
	case len(lines) == 1 && len(lines[0].Steps) == 1:
		return lines[0].Steps
	}
	return []plan.Step{plan.Batch{Argv: argv, Lines: lines}}
}

// guards coalesces the run of RequireAbsent and RequireEtcNetnsAbsent
// steps at the start of steps into one plan.RequireAllAbsent, when the run
// has both guards for each of its names (as netns.CreateGuards makes
// them), and returns it with the run's length; otherwise it returns 0.
func guards(steps []plan.Step) (plan.Step, int) {
	var absent, etc []string
	n := 0
	for _, s := range steps {
		switch s := s.(type) {
		case plan.RequireAbsent:
			absent = append(absent, s.Name)
		case plan.RequireEtcNetnsAbsent:
			etc = append(etc, s.Name)
		default:
			goto done
		}
		n++
	}
done:
	if len(absent) < 2 || len(absent) != len(etc) {
		return nil, 0
	}
	seen := make(map[string]bool, len(absent))
	for _, a := range absent {
		if seen[a] {
			return nil, 0
		}
		seen[a] = true
	}
	for _, e := range etc {
		if !seen[e] {
			return nil, 0
		}
		delete(seen, e)
	}
	return plan.RequireAllAbsent{Names: absent}, n
}

// destroyRun returns the names of the IfOwned{N, netns.DestroySteps(N)}
// steps at the start of steps (distinct names only).
func destroyRun(steps []plan.Step) []string {
	var names []string
	seen := map[string]bool{}
	for _, s := range steps {
		io, ok := s.(plan.IfOwned)
		if !ok || seen[io.Name] || !reflect.DeepEqual(io.Then, netns.DestroySteps(io.Name)) {
			break
		}
		seen[io.Name] = true
		names = append(names, io.Name)
	}
	return names
}

// teardown is the batched destroy of names, whose one-at-a-time steps are
// orig (see the package comment).
func teardown(names []string, orig []plan.Step) plan.Step {
	then := []plan.Step{plan.RequireNoSymlink{Paths: []string{plan.EtcNetns}}}
	rm := []string{"rm", "-rf", "--"}
	var del []plan.BatchLine
	for _, n := range names {
		// No gateway step: IfOnlyOwned takes this branch only when npte
		// has no gateway record.
		rm = append(rm, plan.EtcNetnsDir(n))
		c := plan.Command{Argv: []string{"ip", "netns", "del", n}}
		del = append(del, plan.BatchLine{Args: c.Argv[1:], Steps: []plan.Step{c}})
	}
	// A namespace that a process is in outlives its netns del, with its
	// links: cut those that would join two such namespaces first.
	then = append(then, plan.CutBusyLinks{Names: slices.Clone(names), Group: netns.LinkGroup})
	then = append(then, plan.Command{Argv: rm})
	then = append(then, batchOf([]string{"ip", "-batch", "-"}, del)...)
	then = append(then, plan.RemoveRecords{Names: names}, plan.RemoveRecords{Intent: true, Names: names})
	return plan.IfOnlyOwned{Names: names, Then: then, Else: slices.Clone(orig)}
}
