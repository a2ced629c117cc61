package cli

import (
	"github.com/npte/npte/batch"
	"github.com/npte/npte/lab"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/shell"
	"github.com/npte/npte/topology"
	"github.com/npte/npte/validate"
)

// NoBatch is the --no-batch flag of the composite verbs.
type NoBatch struct {
	NoBatch bool `name:"no-batch" help:"Run (or print) one command per operation instead of batching them (one ip -batch for the host, one per namespace)."`
}

// Batched is p through the batching pass, unless --no-batch.
func (n NoBatch) Batched(p plan.Plan) plan.Plan {
	if n.NoBatch {
		return p
	}
	return batch.Optimize(p)
}

// LabCmd groups the lab verbs: the built-in client/router/server lab
// (create, destroy, netem: create applies the embedded lab file
// examples/builtin.yaml) and labs described by a file (LabFileCmds,
// package topology).
type LabCmd struct {
	Create  LabCreateCmd  `cmd:"" help:"Create the built-in client/router/server lab (lab apply of the built-in lab file)."`
	Destroy LabDestroyCmd `cmd:"" help:"Destroy a lab from a file (by name or file), or the built-in lab (also a half-built one)."`
	Netem   LabNetemCmd   `cmd:"" help:"Shape the lab's router links from a profile, or clear them."`
	Chain   LabChainCmd   `cmd:"" hidden:"" help:"Benchmark subject: create or destroy a chain ns1 - ... - nsN in one plan."`
	LabFileCmds
}

// LabCreateCmd is `npte lab create`: `npte lab apply` of the built-in
// lab file (topology.Builtin).
type LabCreateCmd struct {
	DryRun
	NoBatch
}

// builtinPlans are the plans lab create and lab destroy describe in
// their help: the first apply of the built-in lab and its teardown.
func builtinPlans() (create, destroy plan.Plan) {
	l, err := topology.Builtin()
	if err != nil {
		return plan.Plan{}, plan.Plan{}
	}
	root := shell.DefaultLayout().Root
	return topology.Apply(l, nil, root, []string{"lab", "create"}),
		topology.Destroy(l.Name, []*topology.Lab{l}, root)
}

// Help is the long help of lab create.
func (c *LabCreateCmd) Help() string {
	create, _ := builtinPlans()
	return `Applies the built-in lab file, exactly as 'npte lab apply' applies a file: the lab
'builtin' (examples/builtin.yaml, embedded in npte; once it is made, 'npte lab show builtin'
and 'npte lab graph builtin' show it), in one plan under one lock (one script with --dry-run):

  client (if-router 172.16.3.2/24) <-> (if-client 172.16.3.1/24) router
  router (if-server 172.16.2.1/24) <-> (if-router 172.16.2.2/24) server

It runs the steps of 'netns create' for client, router and server (markers, resolv.conf,
sysctls, forwarding), a veth pair per link (each end born in its namespace, link group
28272), the four addresses, and the default routes of client (via 172.16.3.1) and server
(via 172.16.2.1). The lab is recorded in /run/npte/lab/builtin/. 172.16.1.0/24 is reserved
for the router's uplink: 'npte gateway create router 172.16.1.0/24 IFACE' (password verb,
not run here). The programs it runs are ` + helpPrograms(create) + `.

Like apply, create converges: on a built lab it changes nothing (the plan holds only its
guards) and exits 0; on a lab 'builtin' applied from another file it changes that lab into
the built-in one.

Refuses (exit 2, nothing changed): any of client, router, server taken by a namespace
outside the lab (for instance one made by 'netns create', or by the lab create of an older
npte, which kept no record: 'npte lab destroy' removes it), a record left by an apply that
did not finish. If a step fails half-way, 'npte lab destroy' removes what was made.

By default the operations are batched: one 'ip -batch' for the host's namespaces, links and
sysctls, one 'ip -n NS -batch' per namespace; --no-batch runs one command per operation.`
}

// Run implements the verb.
func (c *LabCreateCmd) Run(app *App) error {
	l, err := topology.Builtin()
	if err != nil {
		return err
	}
	return app.labApply(l, topology.BuiltinFile, []string{"lab", "create"}, c.DryRun.DryRun, c.NoBatch, "text", false)
}

// LabDestroyCmd is `npte lab destroy`.
type LabDestroyCmd struct {
	DryRun
	Target *validate.LabTarget `arg:"" optional:"" placeholder:"NAME|FILE" help:"A lab applied from a file (its name, or the file); without it, the built-in lab."`
	NoBatch
}

// Help is the long help of lab destroy.
func (c *LabDestroyCmd) Help() string {
	_, destroy := builtinPlans()
	return `Destroys a lab under one lock: exactly what its record (/run/npte/lab/NAME/) names, even
after a crash in the middle of an apply. For each node that npte made (marker or intent
record), the steps of 'netns destroy' (remove /etc/netns/NAME, delete the node's links,
'ip netns del NAME', remove the marker and intent record); a name npte did not make is
skipped with a message and left alone. A gateway that 'npte gateway create' (or the lab's
uplink) recorded for a node goes too: its host table or chains, and its host link if-NAME if
it carries npte's link group. Then the record goes.
The programs it runs are ` + helpPrograms(destroy) + `.

Without NAME (or with NAME builtin), it destroys the built-in lab of 'npte lab create': by
its record (written before the first change, so it covers a lab create killed at any step),
or, when there is none (a lab made by an older npte, which kept no record), client, router and
server as the built-in lab file names them, each only if npte made it. So it works on a
half-built lab and succeeds when there is no lab. Refuses (exit 2) a node that another lab's record names (use npte lab destroy LAB).

With FILE and no record, it removes the file's nodes that npte made. Refuses (exit 2) a lab
that has no record and no file.

By default the teardown is batched: when npte's records name exactly the lab's nodes, each
with its namespace, one 'ip -batch' deletes the namespaces (no link of theirs can have a peer
in a namespace that keeps its name); before it, the links of as few as needed of the nodes
that a process keeps alive are deleted (ip -n NAME link delete group 28272), so that no lab
link joins two namespaces that outlive the destroy (none when no process is in any node);
otherwise, and with --no-batch, each namespace's links are deleted before the namespace goes.`
}

// Run implements the verb.
func (c *LabDestroyCmd) Run(app *App) error {
	if c.Target == nil || string(*c.Target) == topology.BuiltinLab {
		return app.labDestroyBuiltin(c.Target != nil, c.DryRun.DryRun, c.NoBatch)
	}
	return app.labDestroyTarget(*c.Target, c.DryRun.DryRun, c.NoBatch)
}

// labDestroyBuiltin is `npte lab destroy [builtin]`: topology.Destroy of
// the built-in lab's record, or, with no record (or a record directory an
// apply left before it wrote lab.json), of the embedded lab file's
// nodes, refusing any that another lab's record names. named says the
// name was given (the script's header says so).
func (a *App) labDestroyBuiltin(named, dry bool, nb NoBatch) error {
	l, err := topology.Builtin()
	if err != nil {
		return err
	}
	rec, err := a.labRecord(l.Name)
	if err != nil {
		return err
	}
	var labs []*topology.Lab
	if rec != nil && (rec.Lab != nil || rec.Previous != nil) {
		labs = append(labs, rec.Lab, rec.Previous)
	} else {
		for _, n := range l.Nodes {
			if other, err := a.labOwning(n.Name, l.Name); err != nil {
				return err
			} else if other != "" {
				return Usagef("%s is a node of lab %s, and the built-in lab has no record: use npte lab destroy %s", n.Name, other, other)
			}
		}
		labs = append(labs, l)
	}
	p := topology.Destroy(l.Name, labs, a.Env.Layout.Root)
	if !named {
		p.Argv = []string{"lab", "destroy"}
	}
	return a.Apply(nb.Batched(p), dry)
}

// LabNetemCmd is `npte lab netem [--profile NAME | --list]`.
type LabNetemCmd struct {
	DryRun
	Profile *string `placeholder:"NAME" help:"A profile from --list; without it, the router links are cleared."`
	List    bool    `help:"Print the profile table and exit."`
}

// Help is the long help of lab netem.
func (c *LabNetemCmd) Help() string {
	return `Shapes the router's two lab links from a profile: the downlink (router if-client, traffic
to the client) and the uplink (router if-server, traffic to the server), egress, each with
the steps of 'netem apply' (clear then build, so switching profiles needs no clear; any
ingress shaping of those links is removed). Without --profile, both links are cleared
(egress and ingress). --list prints the profiles with their flags and sources.
The programs it runs are ` + labNetemPrograms() + `.

Refuses (exit 2, nothing changed): an unknown profile (the message lists them), no managed
router, a router without its lab links.`
}

// Run implements the verb.
func (c *LabNetemCmd) Run(app *App) error {
	if c.List {
		return lab.WriteTable(app.Env.Stdout)
	}
	var prof *lab.Profile
	if c.Profile != nil {
		p, err := lab.FindProfile(*c.Profile)
		if err != nil {
			return Usage(err)
		}
		prof = p
	}
	p, err := lab.Netem(prof)
	if err != nil {
		return err
	}
	return app.Apply(p, c.DryRun.DryRun)
}

// labNetemPrograms lists the programs lab netem runs with a profile.
func labNetemPrograms() string {
	ps := lab.Profiles()
	if len(ps) == 0 {
		return "ip and tc"
	}
	p, err := lab.Netem(&ps[0])
	if err != nil {
		return "ip and tc"
	}
	return helpPrograms(p)
}
