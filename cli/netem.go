package cli

import (
	"encoding/json"
	"fmt"

	"github.com/npte/npte/exec"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/shape"
	"github.com/npte/npte/shell"
	"github.com/npte/npte/validate"
)

// NetemCmd groups the shaping verbs. They act only on namespaces that
// carry npte's marker.
type NetemCmd struct {
	Apply NetemApplyCmd `cmd:"" help:"Shape an interface of a managed namespace: delay, loss, rate caps (netem, tbf, cake)."`
	Clear NetemClearCmd `cmd:"" help:"Remove npte's shaping from an interface (idempotent)."`
	Show  NetemShowCmd  `cmd:"" help:"Show the shaping of a managed namespace in npte's knob terms."`
}

// NetemApplyCmd is `npte netem apply [KNOBS] NS IFACE`.
type NetemApplyCmd struct {
	DryRun
	Knobs     knobFlags `embed:""`
	Direction string    `default:"egress" placeholder:"DIR" help:"egress (leaving IFACE), ingress (arriving on IFACE, through an ifb device) or both."`
	Netns     string    `arg:"" predictor:"netns" name:"ns" help:"A managed namespace."`
	Iface     string    `arg:"" name:"iface" help:"An interface inside it."`
}

// knobFlags are the shaping flags of netem apply: the fields of
// shape.Spec, the one list of knobs (names, placeholders and help come
// from its tags; each value is decoded and checked by its type's
// UnmarshalText). It is a defined type, without Spec's methods, so that
// kong does not call Spec.Validate while parsing: Run checks NS and IFACE
// first, then the knobs together, with its one-line refusals.
type knobFlags shape.Spec

// Help is the long help of netem apply.
func (c *NetemApplyCmd) Help() string {
	return `Makes IFACE in namespace NS carry exactly the shaping asked for, whatever it carried
before: under npte's lock, checks that NS is managed and has IFACE, removes the previous
shaping of that direction ('tc qdisc del ... || true') and builds the new tree. Applying the
same arguments twice is not an error, and changing one knob needs no 'netem clear'.
If building the new tree fails (a kernel without sch_netem, say), the interface is
left unshaped, not with its old shaping; the error says which step failed.

The tree is the simplest that gives what was asked:
  impairments (--delay, --loss, --duplicate, --corrupt, --reorder, --slot, --limit):
      tc qdisc add dev IFACE root handle 1: netem ...   (--rate goes inside netem)
  a rate cap alone (--rate RATE):
      tc qdisc add dev IFACE root handle 1: tbf rate RATE burst B latency 50ms
      (B = 10 ms of traffic at RATE, at least 16384 bytes; works without sch_netem)
  --child cake|tbf|fq_codel [--child-rate RATE]:
      tc qdisc add dev IFACE parent 1: handle 2: cake bandwidth RATE   (alone: the root)
      (fq_codel takes no rate: it is the AQM most distributions use by default)
--direction ingress shapes packets arriving on IFACE: npte creates an ifb device in NS named
ifb-IFACE (IFACE of at most 11 bytes; longer names become ifb- + 5 bytes + 6 hex digits of
their SHA-256), shapes its egress, and redirects IFACE's ingress to it (ingress qdisc ffff:,
u32 match-all filter, mirred redirect).

Honest rendering: with a jitter the distribution is always spelled out (normal unless
--distribution says otherwise); jitter without --rate warns that packets will be reordered;
when a rate times the delay exceeds netem's default queue of 1000 packets and --limit is not
given, the limit is raised to twice that product (a note says so).

Every value npte accepts is one tc accepts and one 'netem show' reads back as the same flag:
rate units are read case-insensitively (10Mbit is 10mbit) and rendered in lower case; a rate
is a whole number of bytes per second (100bit would read back as 96bit); a tbf (--rate alone,
--child tbf) carries 480bit to 500gbit (below, its bucket wraps the kernel's 32-bit tick count
and no MTU-sized packet passes); times are whole microseconds (whole milliseconds from 1s);
a netem delay or jitter of 8k+1 us is the same as 8k us in the kernel's 64 ns ticks and is
refused; a jitter is above 0 and at most 2s; percentages have at most four decimals; zero
knobs (0% loss, a 0ms delay, a 0 slot) do nothing and are refused. Values are rendered in a
canonical form: 0.5ms as 500us, 'state 1%' with tc's defaults spelled out.

Before anything changes, each qdisc kind the tree needs (and, for ingress, an ifb device)
is tried in a throwaway network namespace ('unshare --net -- tc qdisc add dev lo root KIND');
on a kernel without it, apply stops with "this kernel has no KIND qdisc: see npte doctor" and
the old shaping stays.

Refuses (exit 2, nothing changed): a kernel without a qdisc the tree needs, a value outside
its grammar (each knob is validated whole, then split into words) or the rules above, a
percentage above 100, a distribution without jitter, --reorder without --delay, --rate
together with --child, a namespace npte did not make, a missing IFACE.`
}

func validateTarget(ns, iface string) error {
	if err := validate.NetnsName(ns); err != nil {
		return Usage(err)
	}
	if err := validate.IfaceName(iface); err != nil {
		return Usage(err)
	}
	return nil
}

// Run implements the verb.
func (c *NetemApplyCmd) Run(app *App) error {
	if err := validateTarget(c.Netns, c.Iface); err != nil {
		return err
	}
	dir, err := shape.ParseDirection(c.Direction)
	if err != nil {
		return Usage(err)
	}
	spec := shape.Spec(c.Knobs)
	if err := spec.Validate(); err != nil {
		return Usage(err)
	}
	p := shape.Apply(c.Netns, c.Iface, dir, spec)
	if c.DryRun.DryRun {
		// Live runs print notes as they go; a dry run keeps them as
		// comments in the script and warns on stderr.
		for _, w := range spec.Tree().Warnings {
			fmt.Fprintf(app.Env.Stderr, "npte: %s/%s: %s\n", c.Netns, c.Iface, w)
		}
	}
	return app.Apply(p, c.DryRun.DryRun)
}

// NetemClearCmd is `npte netem clear NS IFACE`.
type NetemClearCmd struct {
	DryRun
	Direction string `default:"both" placeholder:"DIR" help:"egress, ingress or both (default both)."`
	Netns     string `arg:"" predictor:"netns" name:"ns" help:"A managed namespace."`
	Iface     string `arg:"" name:"iface" help:"An interface inside it."`
}

// Help is the long help of netem clear.
func (c *NetemClearCmd) Help() string {
	return `Removes npte's shaping from IFACE in namespace NS. Under npte's lock, checks that NS is
managed and has IFACE, then runs, each tolerated when there is nothing to remove:
  egress:  tc -n NS qdisc del dev IFACE root || true
  ingress: tc -n NS qdisc del dev IFACE ingress || true; ip -n NS link del dev ifb-IFACE || true
Clearing an interface that carries no shaping succeeds. Deleting the root also removes any
child qdisc.

Refuses (exit 2, nothing changed): invalid names, a namespace npte did not make, a missing IFACE.`
}

// Run implements the verb.
func (c *NetemClearCmd) Run(app *App) error {
	if err := validateTarget(c.Netns, c.Iface); err != nil {
		return err
	}
	dir, err := shape.ParseDirection(c.Direction)
	if err != nil {
		return Usage(err)
	}
	return app.Apply(shape.Clear(c.Netns, c.Iface, dir), c.DryRun.DryRun)
}

// NetemShowCmd is `npte netem show NS [IFACE]`.
type NetemShowCmd struct {
	JSON  bool   `name:"json" help:"Print a JSON array (netns, iface, direction, qdisc, state, shaped, args, note)."`
	Netns string `arg:"" predictor:"netns" name:"ns" help:"A managed namespace."`
	Iface string `arg:"" optional:"" name:"iface" help:"Only this interface."`
}

// Help is the long help of netem show.
func (c *NetemShowCmd) Help() string {
	return `Prints what each interface of NS carries, egress and ingress, in npte's own knob terms:
the 'netem apply' flags that rebuild it. It runs 'tc -n NS -j qdisc show' under npte's lock
(after checking that NS is managed) and reads npte's trees back: netem (delay, loss, ...,
--limit when not the default 1000), a root tbf as --rate, cake and tbf children as
--child/--child-rate, ingress shaping through the interface's ifb device. The kernel does not
report a delay distribution; the note column says so. Needs root (it enters NS); read-only.

A tree is shown as npte's (state "npte", shaped) only when every part is what 'netem apply'
builds: the root and child kinds, handles and parameters (a tbf's burst and latency, cake's
defaults), and for ingress the ingress qdisc, the ifb device and the u32/mirred filter (read
with 'tc -j filter show dev IFACE parent ffff:'). Anything else is "foreign", or, when part of
npte's tree is missing (an interrupted apply or clear), "incomplete: run npte netem clear NS
IFACE". --json prints every key always (args [] and note "" when empty).

Refuses (exit 2): invalid names, a namespace npte did not make, a missing IFACE.`
}

// Run implements the verb.
func (c *NetemShowCmd) Run(app *App) error {
	if err := validate.NetnsName(c.Netns); err != nil {
		return Usage(err)
	}
	if c.Iface != "" {
		if err := validate.IfaceName(c.Iface); err != nil {
			return Usage(err)
		}
	}
	if err := app.RequireRootToRead("netem show", "reading the qdiscs of namespace "+c.Netns+" (tc -n "+c.Netns+")"); err != nil {
		return err
	}
	// Read-only: the lock is taken only if it exists (creating nothing),
	// outside the plan.
	unlock, err := app.Registry.LockExisting(app.Context())
	if err != nil {
		return err
	}
	defer unlock()
	guards := []plan.Step{plan.RequireManaged{Name: c.Netns}}
	if c.Iface != "" {
		guards = append(guards, plan.RequireIface{NS: c.Netns, Iface: c.Iface})
	}
	out, err := c.read(app, guards, exec.Read{Argv: []string{"tc", "-n", c.Netns, "-j", "qdisc", "show"}})
	if err != nil {
		return err
	}
	qdiscs := out[0]
	// The ingress filters of each device with an ingress qdisc, one JSON
	// array per device in IngressDevs order: npte's ingress shaping is
	// npte's only with its u32/mirred redirect.
	devs, err := shape.IngressDevs(qdiscs)
	if err != nil {
		return err
	}
	filters := map[string][]byte{}
	if len(devs) > 0 {
		// Under the same lock as the qdisc read above (held until Run
		// returns), so that qdiscs and filters are read as one state.
		reads := make([]exec.Read, len(devs))
		for i, d := range devs {
			reads[i].Argv = []string{"tc", "-n", c.Netns, "-j", "filter", "show", "dev", d, "parent", "ffff:"}
		}
		out, err := c.read(app, []plan.Step{plan.RequireManaged{Name: c.Netns}}, reads...)
		if err != nil {
			return err
		}
		for i, d := range devs {
			var raw json.RawMessage
			if err := json.Unmarshal(out[i], &raw); err != nil {
				return fmt.Errorf("cannot read tc -j filter show dev %s: %w", d, err)
			}
			filters[d] = raw
		}
	}
	shapings, err := shape.ReadQdiscs(c.Netns, c.Iface, qdiscs, filters)
	if err != nil {
		return err
	}
	if c.JSON {
		b, _ := json.Marshal(shapings)
		_, err = fmt.Fprintf(app.Env.Stdout, "%s\n", b)
		return err
	}
	return shape.WriteTable(app.Env.Stdout, shapings, shell.CommandLine)
}

// read runs guards, then reads, with exec.Runner.Capture and returns what
// each read printed on stdout. A read that fails passes its diagnostics
// on, and fails netem show (exit 1) naming its command.
func (c *NetemShowCmd) read(app *App, guards []plan.Step, reads ...exec.Read) ([][]byte, error) {
	res, err := app.Runner().Capture(app.Context(), guards, reads...)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(res))
	for i, r := range res {
		if r.Err != nil {
			_, _ = app.Env.Stderr.Write(r.Stderr)
			return nil, fmt.Errorf("netem show %s: %s failed: %w", c.Netns, shell.CommandLine(reads[i].Argv), r.Err)
		}
		out[i] = r.Stdout
	}
	return out, nil
}
