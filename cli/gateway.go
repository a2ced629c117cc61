package cli

import (
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
	Firewall string         `name:"firewall" default:"nft" enum:"nft,iptables" help:"Where the NAT and forward rules go: nft (npte's own table) or iptables (npte's own chains)."`
	Subnet6  validate.Net   `name:"subnet6" placeholder:"PREFIX" help:"Also give the link this unique local IPv6 subnet (fc00::/7, /48 to /126; ::1 host, ::2 namespace), with NAT66 and IPv6 forwarding."`
	NS       validate.Netns `arg:"" name:"ns" predictor:"netns" help:"The namespace (it must exist; it need not be managed by npte; not \"host\")."`
	Subnet   validate.Net   `arg:"" name:"subnet" help:"Private IPv4 subnet of the link, /16 to /30, e.g. 10.200.0.0/24: .1 on the host, .2 in the namespace."`
	Ext      validate.Iface `arg:"" name:"ext-iface" help:"The host interface to masquerade out of, e.g. eth0."`
}

// Help is the long help of gateway create.
func (c *GatewayCreateCmd) Help() string {
	return `Gives namespace NS an uplink through the host. Under npte's lock, in order: checks that
NS exists and has no if-host yet, that EXT_IFACE exists and if-NS does not, that npte has
no record of a gateway of NS and that no table or chain of an earlier one is left, and
that SUBNET overlaps no route or address of the host other than a default route (ip -o
route show table all root/match SUBNET, ip -o addr show to SUBNET); records the gateway
and its firewall backend in /run/npte/gateway/NS.BACKEND; loads the host firewall (nft:
table inet npte-gw-NS, created atomically; it masquerades SUBNET out of EXT_IFACE,
forwards SUBNET out by EXT_IFACE and only the replies back, and drops anything else
forwarded through if-NS); creates the veth pair if-NS (host) / if-host (NS) in one
command, both in npte's link group 28272, .1 on the host side and .2 inside; a default
route inside NS via .1; a masquerade table inside NS (so that networks behind NS, such as
a lab client behind its router, get out too); then turns on net.ipv4.ip_forward on the
host (sysctl).

SUBNET must be private: inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 (RFC 1918) or
100.64.0.0/10 (RFC 6598), from /16 (the widest) to /30. With --subnet6 the same for
IPv6 with a unique local subnet (fc00::/7, /48 to /126): NAT66,
net.ipv6.conf.all.forwarding=1; mind that this makes the host ignore router
advertisements on interfaces with accept_ra=1.

--firewall iptables puts the rules in npte's own chains NPTE-GW-NS (nat and filter),
reached by one tagged jump rule from POSTROUTING and FORWARD (iptables; ip6tables for
--subnet6). Use it on hosts without
nft, or where another firewall's FORWARD chain drops by default (Docker does): in
nftables every table sees the packet and a drop anywhere wins, so npte's accept cannot
override it, while an iptables ACCEPT in FORWARD can.

Not part of the NOPASSWD grant: this changes the host. NS needs no npte marker.
Refuses (exit 2, nothing changed): invalid names or subnets, NS named "host", a subnet
that is public, wider than /16 (/48) or narrower than /30 (/126), host bits set, a
subnet that overlaps the host's routes or addresses, NS missing, a gateway (or the
leftovers of one) already there: 'npte gateway destroy NS' removes those.
If a step fails, 'npte gateway destroy NS' removes what was made.`
}

// Run implements the verb.
func (c *GatewayCreateCmd) Run(app *App) error {
	cfg := gateway.Config{NS: string(c.NS), Subnet: c.Subnet.Prefix, Ext: string(c.Ext),
		Firewall: gateway.Firewall(c.Firewall), Subnet6: c.Subnet6.Prefix}
	if err := cfg.Check(); err != nil {
		return Usage(err)
	}
	return app.Apply(gateway.Create(cfg), c.DryRun.DryRun)
}

// GatewayDestroyCmd is `npte gateway destroy NS`.
type GatewayDestroyCmd struct {
	DryRun
	Firewall string         `name:"firewall" default:"nft" enum:"nft,iptables" hidden:"" help:"Ignored: destroy removes what create recorded (kept for old scripts)."`
	NS       validate.Netns `arg:"" name:"ns" predictor:"netns" help:"The namespace whose gateway to remove (it may already be gone)."`
}

// Help is the long help of gateway destroy.
func (c *GatewayDestroyCmd) Help() string {
	return `Removes the gateway of NS, whatever is left of it, and succeeds when nothing is. It
removes only what npte recorded at create (/run/npte/gateway/NS.BACKEND) and marked as
its own. Under npte's lock, for the recorded backend: nft: deletes the host table inet
npte-gw-NS (declared then deleted in one nft transaction, so a missing table is not an
error); iptables: deletes the jump rules tagged npte:gw:NS one by one (-D), then flushes
and deletes the chains NPTE-GW-NS, for iptables and ip6tables (each may already be
gone). Then it deletes if-NS (ip link) only if it is in npte's link group 28272 (which takes the
addresses and the default route inside NS with it), and, if NS still exists, the rules
inside it; then the record. It never rewrites rules it did not make: other tables and
chains keep their rules and counters.

With no record (a gateway made by an older npte), it removes the table and chains of
both backends, tolerantly, and leaves any interface if-NS alone: npte deletes no
interface it has no record of making.

'npte netns destroy NS' and 'npte lab destroy' remove a recorded gateway of the
namespaces they destroy, too. Leaves net.ipv4.ip_forward as it is. Works before or after
'npte netns destroy NS'. --firewall is accepted for old scripts and ignored.`
}

// Run implements the verb.
func (c *GatewayDestroyCmd) Run(app *App) error {
	if err := gateway.CheckName(string(c.NS)); err != nil {
		return Usage(err) // "host"
	}
	return app.Apply(gateway.Destroy(string(c.NS)), c.DryRun.DryRun)
}
