package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/npte/npte/netns"
	"github.com/npte/npte/validate"
)

// NetnsCmd groups the namespace verbs. All of them act only on namespaces
// that carry npte's marker (except create, which makes one).
type NetnsCmd struct {
	Create     NetnsCreateCmd     `cmd:"" help:"Create a managed namespace."`
	Destroy    NetnsDestroyCmd    `cmd:"" help:"Destroy a namespace that npte made."`
	List       NetnsListCmd       `cmd:"" help:"List the namespaces npte manages."`
	Connect    NetnsConnectCmd    `cmd:"" help:"Link two managed namespaces with a veth pair."`
	AssignAddr NetnsAssignAddrCmd `cmd:"" name:"assign-addr" help:"Add an IPv4 or IPv6 address to an interface of a managed namespace."`
	AddRoute   NetnsAddRouteCmd   `cmd:"" name:"add-route" help:"Add a route inside a managed namespace."`
	Run        NetnsRunCmd        `cmd:"" help:"Run a command inside a managed namespace, as the user who invoked sudo."`
	Show       NetnsShowCmd       `cmd:"" help:"Show links, addresses, routes, qdiscs, neighbours, sockets and pids of a managed namespace."`
}

// NetnsCreateCmd is `npte netns create NAME`.
type NetnsCreateCmd struct {
	DryRun
	DNS  []string       `name:"dns" placeholder:"ADDR" help:"Resolver for the namespace's /etc/netns/NAME/resolv.conf (repeatable; default 1.1.1.1 and 8.8.8.8)."`
	Name validate.Netns `arg:"" help:"Namespace name: a lowercase letter, then lowercase letters and digits, at most 12."`
}

// Help is the long help of netns create.
func (c *NetnsCreateCmd) Help() string {
	return `Creates namespace NAME and marks it as managed by npte. In order, under npte's lock:
refuses a NAME already taken (a namespace, marker or intent record), records the intent,
then runs (TCP buffers for long fat links, IPv4 and IPv6 forwarding, and the resolvers):

` + helpLines(netns.CreateActions("NAME", netns.DefaultDNS), nil) + `
install writes /etc/netns/NAME/resolv.conf (used by 'ip netns exec' and 'npte netns run')
from its stdin, one nameserver line per --dns (none for one empty --dns). The marker
/run/npte/netns/NAME is written last.

Refuses (exit 2, nothing changed): an invalid NAME, a NAME in use, an invalid --dns.`
}

// Run implements the verb.
func (c *NetnsCreateCmd) Run(app *App) error {
	dns, err := netns.Resolvers(c.DNS)
	if err != nil {
		return Usage(err)
	}
	return app.Apply(netns.Create(string(c.Name), dns), c.DryRun.DryRun)
}

// NetnsDestroyCmd is `npte netns destroy NAME`.
type NetnsDestroyCmd struct {
	DryRun
	Name validate.Netns `arg:"" predictor:"netns" help:"A namespace made by npte."`
}

// Help is the long help of netns destroy.
func (c *NetnsDestroyCmd) Help() string {
	return `Destroys namespace NAME, which must carry npte's marker (or the intent record of a
create that was interrupted). Under npte's lock, after the gateway (below), it runs

` + helpLines(withoutGateway(netns.DestroySteps("NAME")), nil) + `
that is: removes /etc/netns/NAME; if the namespace exists, deletes the links npte made in
it (their far ends go at once) and the namespace (its other interfaces go with it); then
removes the marker and the intent record.

If 'npte gateway create NAME' recorded a gateway (/run/npte/gateway/NAME.BACKEND), it
is removed first: its host table (nft) or chains (iptables, ip6tables), and the host link
if-NAME if it carries npte's link group.

Refuses (exit 2, nothing changed): an invalid NAME, a namespace npte did not make.`
}

// Run implements the verb.
func (c *NetnsDestroyCmd) Run(app *App) error {
	if err := app.refuseLabNode(string(c.Name)); err != nil {
		return err
	}
	return app.Apply(netns.Destroy(string(c.Name)), c.DryRun.DryRun)
}

// NetnsListCmd is `npte netns list`.
type NetnsListCmd struct {
	JSON bool `name:"json" help:"Print a JSON array of names."`
}

// Help is the long help of netns list.
func (c *NetnsListCmd) Help() string {
	return `Prints the names of the namespaces npte manages, one per line, sorted; nothing (and
exit 0) when there are none. As root it reads under npte's lock; otherwise it reads
without it. Namespaces made by other tools are never listed.`
}

// Run implements the verb.
func (c *NetnsListCmd) Run(app *App) error {
	names, err := app.ListManaged()
	if err != nil {
		return err
	}
	if c.JSON {
		if names == nil {
			names = []string{} // [] never null
		}
		b, _ := json.Marshal(names)
		_, err = fmt.Fprintf(app.Env.Stdout, "%s\n", b)
		return err
	}
	for _, n := range names {
		if _, err := fmt.Fprintln(app.Env.Stdout, n); err != nil {
			return err
		}
	}
	return nil
}

// ListManaged lists managed namespaces, under the lock when root. It
// creates nothing: with no state directory there is nothing to list.
func (a *App) ListManaged() ([]string, error) {
	if a.Env.Euid == 0 {
		unlock, err := a.Registry.LockExisting(a.ctx)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	names, err := a.Registry.List()
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("cannot read %s: %w", a.Env.Layout.NetnsDir(), err)
	}
	return names, err
}
