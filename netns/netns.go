package netns

import (
	"slices"
	"strings"

	"github.com/npte/npte/plan"
)

// DefaultDNS are the resolvers written to a new namespace's resolv.conf
// when the user names none (as the original npte did).
var DefaultDNS = []string{"1.1.1.1", "8.8.8.8"}

// Sysctls are set inside every new namespace: TCP buffers large enough for
// a long fat link (4 KiB min, 128 KiB default, 32 MiB max), and IPv4
// forwarding on, so that any namespace can act as a router. IPv6
// forwarding (IPv6ForwardingSysctl) is set by a step of its own, tolerated
// on a kernel without IPv6.
var Sysctls = []string{
	"net.ipv4.tcp_rmem=4096 131072 33554432",
	"net.ipv4.tcp_wmem=4096 131072 33554432",
	"net.ipv4.ip_forward=1",
}

// Create is `npte netns create NAME`: it takes the lock, then runs
// CreateSteps. name must have passed validate.NetnsName and every
// entry of dns validate.IPAddr.
func Create(name string, dns []string) plan.Plan {
	steps := []plan.Step{plan.Lock{}}
	steps = append(steps, CreateSteps(name, dns)...)
	return plan.Plan{
		Argv:  append([]string{"netns", "create"}, append(dnsFlags(dns), name)...),
		Steps: steps,
		Undo:  []string{"netns", "destroy", name},
	}
}

func dnsFlags(dns []string) []string {
	if slices.Equal(dns, DefaultDNS) {
		return nil
	}
	var out []string
	for _, d := range dns {
		out = append(out, "--dns", d)
	}
	if len(dns) == 0 {
		out = append(out, "--dns", "")
	}
	return out
}

// CreateSteps creates namespace name without taking the lock (the
// caller holds it): CreateGuards, then CreateActions.
func CreateSteps(name string, dns []string) []plan.Step {
	return append(CreateGuards(name), CreateActions(name, dns)...)
}

// CreateGuards refuses (exit 2, before any change) a name that is
// taken, an /etc/netns that is not a root-only directory, and an
// /etc/netns/NAME that exists at all (npte never made it: the name has no
// marker nor intent record). A plan that creates several namespaces puts
// the guards of all of them before the first action, so that a refusal
// still means nothing changed.
func CreateGuards(name string) []plan.Step {
	return []plan.Step{
		plan.RequireAbsent{Name: name},
		plan.RequireEtcNetnsAbsent{Name: name},
	}
}

// CreateActions creates namespace name, whose guards passed: record
// the intent, load tcp_bbr (tolerated: kernels without modules), add the
// namespace, bring up lo, set Sysctls, set IPv6ForwardingSysctl (tolerated:
// kernels without IPv6), write /etc/netns/NAME/resolv.conf,
// write the marker last, drop the intent record.
func CreateActions(name string, dns []string) []plan.Step {
	etc := plan.EtcNetns + "/" + name
	sysctl := make([]string, 0, 7+len(Sysctls))
	sysctl = append(sysctl, "ip", "netns", "exec", name, "sysctl", "-q", "-w")
	steps := make([]plan.Step, 0, 9) // sized once: a lab or a long chain builds many
	steps = append(steps,
		plan.WriteIntent{Name: name},
		plan.Command{Argv: []string{"modprobe", "-q", "tcp_bbr"}, Tolerant: true, Show: "load tcp_bbr so that BBR can be chosen inside namespaces"},
		plan.Command{Argv: []string{"ip", "netns", "add", name}},
		plan.Command{Argv: []string{"ip", "-n", name, "link", "set", "dev", "lo", "up"}},
		plan.Command{Argv: append(sysctl, Sysctls...)},
		plan.Command{Argv: append(sysctl[:len(sysctl):len(sysctl)], IPv6ForwardingSysctl), Tolerant: true,
			Show: "enable IPv6 forwarding in " + name + ", if the kernel has IPv6"},
	)
	if len(dns) > 0 {
		var conf strings.Builder
		for _, d := range dns {
			conf.WriteString("nameserver " + d + "\n")
		}
		steps = append(steps, plan.Command{
			Argv:  []string{"install", "-D", "-m", "0644", "/dev/stdin", etc + "/resolv.conf"},
			Stdin: conf.String(),
		})
	}
	return append(steps, plan.WriteMarker{Name: name}, plan.RemoveIntent{Name: name})
}

// Destroy is `npte netns destroy NAME`: lock, then DestroySteps.
func Destroy(name string) plan.Plan {
	return plan.Plan{
		Argv:  []string{"netns", "destroy", name},
		Steps: append([]plan.Step{plan.Lock{}, plan.RequireOwned{Name: name}}, DestroySteps(name)...),
	}
}

// DestroySteps destroys a namespace that npte made (the caller holds
// the lock and checked ownership): after the guards, remove the host state
// of its gateway if npte recorded one (GatewayRemoveSteps); remove
// /etc/netns/NAME; if the kernel
// namespace exists, delete npte's links in it (LinkGroup; their peers go at
// once) and then the namespace (which deletes its other interfaces); then
// remove the marker and any intent record.
//
// Renders as:
//
//	if test -L /etc/netns; then ... exit 2; fi
//	(the gateway's removal, if recorded: see GatewayRemoveSteps)
//	rm -rf -- /etc/netns/NAME
//	if test -e /run/netns/NAME; then
//		ip -n NAME link delete group 28272 2>/dev/null || true
//		ip netns del NAME
//	fi
//	rm -f -- MARKER; rm -f -- INTENT
func DestroySteps(name string) []plan.Step {
	steps := []plan.Step{plan.RequireNoSymlink{Paths: []string{plan.EtcNetns}}}
	// Its guard comes first, so a refusal still means nothing changed.
	steps = append(steps, GatewayRemoveSteps(name, false)...)
	return append(steps,
		plan.Command{Argv: []string{"rm", "-rf", "--", plan.EtcNetns + "/" + name}},
		plan.IfNetns{Name: name, Then: []plan.Step{
			plan.Command{Argv: []string{"ip", "-n", name, "link", "delete", "group", LinkGroup}, Tolerant: true, Show: "delete the links npte made in " + name + ", if any"},
			plan.Command{Argv: []string{"ip", "netns", "del", name}},
		}},
		plan.RemoveMarker{Name: name},
		plan.RemoveIntent{Name: name},
	)
}
