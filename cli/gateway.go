package cli

import (
	"net/netip"

	"github.com/npte/npte/gateway"
	"github.com/npte/npte/validate"
)

// GatewayCmd groups the gateway verbs. They change host state (a veth on
// the host, firewall rules, forwarding), so they are not part of the
// NOPASSWD set that `npte sudoers` prints.
type GatewayCmd struct {
	Create  GatewayCreateCmd  `cmd:"" help:"Give a namespace a NAT'd uplink through the host."`
	Destroy GatewayDestroyCmd `cmd:"" help:"Remove a namespace's uplink, whatever is left of it."`
}

// GatewayCreateCmd is `npte gateway create NS SUBNET EXT_IFACE`.
type GatewayCreateCmd struct {
	DryRun
	Firewall string `name:"firewall" default:"nft" enum:"nft,iptables" help:"Where the NAT and forward rules go: nft (npte's own table) or iptables (npte's own chains)."`
	Subnet6  string `name:"subnet6" placeholder:"PREFIX" help:"Also give the link this IPv6 subnet (::1 host, ::2 namespace), with NAT66 and IPv6 forwarding."`
	NS       string `arg:"" name:"ns" predictor:"netns" help:"The namespace (it must exist; it need not be managed by npte; not \"host\")."`
	Subnet   string `arg:"" name:"subnet" help:"IPv4 subnet of the link, /30 or wider, e.g. 10.200.0.0/24: .1 on the host, .2 in the namespace."`
	Ext      string `arg:"" name:"ext-iface" help:"The host interface to masquerade out of, e.g. eth0."`
}

// Help is the long help of gateway create.
func (c *GatewayCreateCmd) Help() string {
	return `Gives namespace NS an uplink through the host. Under npte's lock, in order: checks that
NS exists and has no if-host yet, that EXT_IFACE exists and if-NS does not; loads the
host firewall (nft: table inet npte-gw-NS, created atomically; it masquerades SUBNET out
of EXT_IFACE, forwards SUBNET out by EXT_IFACE and only the replies back, and drops
anything else forwarded through if-NS); creates the veth pair if-NS (host) / if-host (NS)
in one command, .1 on the host side and .2 inside; a default route inside NS via .1; a
masquerade table inside NS (so that networks behind NS, such as a lab client behind its
router, get out too); then turns on net.ipv4.ip_forward on the host.

With --subnet6 the same for IPv6 (NAT66, net.ipv6.conf.all.forwarding=1; mind that this
makes the host ignore router advertisements on interfaces with accept_ra=1).

--firewall iptables puts the rules in npte's own chains NPTE-GW-NS (nat and filter),
reached by one tagged jump rule from POSTROUTING and FORWARD. Use it on hosts without
nft, or where another firewall's FORWARD chain drops by default (Docker does): in
nftables every table sees the packet and a drop anywhere wins, so npte's accept cannot
override it, while an iptables ACCEPT in FORWARD can.

Not part of the NOPASSWD grant: this changes the host. NS needs no npte marker.
Refuses (exit 2, nothing changed): invalid names or subnets, NS named "host", a subnet
narrower than /30 (/126), host bits set, NS missing, a gateway already there.
If a step fails, 'npte gateway destroy NS' removes what was made.`
}

// Run implements the verb.
func (c *GatewayCreateCmd) Run(app *App) error {
	if err := gateway.CheckName(c.NS); err != nil {
		return Usage(err)
	}
	subnet, err := validate.Subnet(c.Subnet)
	if err != nil {
		return Usage(err)
	}
	if err := validate.IfaceName(c.Ext); err != nil {
		return Usage(err)
	}
	cfg := gateway.Config{NS: c.NS, Subnet: subnet, Ext: c.Ext, Firewall: gateway.Firewall(c.Firewall)}
	if c.Subnet6 != "" {
		var s6 netip.Prefix
		if s6, err = validate.Subnet(c.Subnet6); err != nil {
			return Usage(err)
		}
		cfg.Subnet6 = s6
	}
	if err := cfg.Check(); err != nil {
		return Usage(err)
	}
	return app.Apply(gateway.Create(cfg), c.DryRun.DryRun)
}

// GatewayDestroyCmd is `npte gateway destroy NS`.
type GatewayDestroyCmd struct {
	DryRun
	Firewall string `name:"firewall" default:"nft" enum:"nft,iptables" help:"The backend the gateway was created with."`
	NS       string `arg:"" name:"ns" predictor:"netns" help:"The namespace whose gateway to remove (it may already be gone)."`
}

// Help is the long help of gateway destroy.
func (c *GatewayDestroyCmd) Help() string {
	return `Removes the gateway of NS, whatever is left of it, and succeeds when nothing is. Under
npte's lock: deletes the host table inet npte-gw-NS (declared then deleted in one nft
transaction, so a missing table is not an error), deletes if-NS if it exists (which
takes the addresses and the default route inside NS with it), and, if NS still exists,
the table npte-gw-NS inside it. It never rewrites rules it did not make: other tables
and chains keep their rules and counters.

With --firewall iptables (use the backend the gateway was created with): deletes the
jump rules tagged npte:gw:NS one by one (-D), then flushes and deletes the chains
NPTE-GW-NS, for iptables and ip6tables, on the host and inside NS; each of these may
already be gone, and its failure is accepted.

Leaves net.ipv4.ip_forward as it is. Works before or after 'npte netns destroy NS'.`
}

// Run implements the verb.
func (c *GatewayDestroyCmd) Run(app *App) error {
	if err := gateway.CheckName(c.NS); err != nil {
		return Usage(err)
	}
	fw := gateway.Firewall(c.Firewall)
	if err := gateway.CheckFirewall(fw); err != nil {
		return Usage(err)
	}
	return app.Apply(gateway.Destroy(c.NS, fw), c.DryRun.DryRun)
}
