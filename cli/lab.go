package cli

import (
	"github.com/npte/npte/batch"
	"github.com/npte/npte/lab"
	"github.com/npte/npte/plan"
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
// (create, destroy, netem) and labs described by a file (LabFileCmds,
// package topology).
type LabCmd struct {
	Create  LabCreateCmd  `cmd:"" help:"Create the client/router/server lab."`
	Destroy LabDestroyCmd `cmd:"" help:"Destroy a lab from a file (by name or file), or the built-in lab (also a half-built one)."`
	Netem   LabNetemCmd   `cmd:"" help:"Shape the lab's router links from a profile, or clear them."`
	Chain   LabChainCmd   `cmd:"" hidden:"" help:"Benchmark subject: create or destroy a chain ns1 - ... - nsN in one plan."`
	LabFileCmds
}

// LabCreateCmd is `npte lab create`.
type LabCreateCmd struct {
	DryRun
	NoBatch
}

// Help is the long help of lab create.
func (c *LabCreateCmd) Help() string {
	return `Creates the lab in one plan, under one lock (one script with --dry-run):

  client (if-router 172.16.3.2/24) <-> (if-client 172.16.3.1/24) router
  router (if-server 172.16.2.1/24) <-> (if-router 172.16.2.2/24) server

It runs the steps of 'netns create' for client, router and server (markers, resolv.conf,
sysctls, forwarding), 'netns connect' client-router and server-router, the four
'netns assign-addr', and 'netns add-route client default 172.16.3.1' and
'netns add-route server default 172.16.2.1'. 172.16.1.0/24 is reserved for the router's
uplink: 'npte gateway create router 172.16.1.0/24 IFACE' (password verb, not run here).
The programs it runs are ` + helpPrograms(lab.Create()) + `.

Refuses (exit 2, nothing changed): any of client, router, server already taken. If a step
fails half-way, what was made carries npte's marker or intent record: 'npte lab destroy'
removes it.

By default the operations are batched: one 'ip -batch' for the host's namespaces, links and
sysctls, one 'ip -n NS -batch' per namespace; --no-batch runs one command per operation.`
}

// Run implements the verb.
func (c *LabCreateCmd) Run(app *App) error {
	return app.Apply(c.Batched(lab.Create()), c.DryRun.DryRun)
}

// LabDestroyCmd is `npte lab destroy`.
type LabDestroyCmd struct {
	DryRun
	Target *validate.LabTarget `arg:"" optional:"" placeholder:"NAME|FILE" help:"A lab applied from a file (its name, or the file); without it, the built-in lab."`
	NoBatch
}

// Help is the long help of lab destroy.
func (c *LabDestroyCmd) Help() string {
	return `Destroys the lab under one lock: for each of client, server and router that npte made
(marker or intent record), the steps of 'netns destroy' (remove /etc/netns/NAME,
'ip netns del NAME', remove the marker and intent record). A name npte did not make is
skipped with a message and left alone, so it works on a half-built lab and succeeds when
there is no lab. A gateway that 'npte gateway create' recorded for one of them goes too:
its host table or chains, and its host link if-NAME if it carries npte's link group.
The programs it runs are ` + helpPrograms(lab.Destroy()) + `.

By default the teardown is batched: when npte's records name exactly client, router and
server, each with its namespace, one 'ip -batch' deletes the three namespaces (no link of
theirs can have a peer that survives); otherwise, and with --no-batch, each namespace's
links are deleted (ip -n NAME link delete group 28272) before the namespace goes.

With NAME or FILE, it destroys a lab applied from a file instead: exactly what its record
(/run/npte/lab/NAME/) names, uplink included, even after a crash in the middle of an apply;
FILE with no record removes the file's nodes that npte made. Refuses (exit 2) a lab that has
no record and no file.`
}

// Run implements the verb.
func (c *LabDestroyCmd) Run(app *App) error {
	if c.Target != nil {
		return app.labDestroyTarget(*c.Target, c.DryRun.DryRun, c.NoBatch)
	}
	return app.Apply(c.Batched(lab.Destroy()), c.DryRun.DryRun)
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
