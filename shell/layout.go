package shell

import "strconv"

// Layout names the paths npte keeps state in. A script and a live run of
// the same plan read and write the same paths: render writes them into the
// script, exec (through package registry) opens them.
type Layout struct {
	// Root is npte's state directory, /run/npte (a tmpfs: it is empty
	// after a reboot, as are the kernel namespaces it describes).
	Root string
	// RunNetns is where iproute2 keeps named namespaces, /run/netns.
	RunNetns string
	// Proc is the proc file system whose PID/ns/net links say which
	// network namespace each process is in; empty means /proc (ProcDir).
	Proc string
}

// ProcDir is the proc file system, Proc or /proc.
func (l Layout) ProcDir() string {
	if l.Proc == "" {
		return "/proc"
	}
	return l.Proc
}

// DefaultLayout is the layout npte uses on a real system.
func DefaultLayout() Layout { return Layout{Root: "/run/npte", RunNetns: "/run/netns"} }

// NetnsDir is the marker directory, ROOT/netns.
func (l Layout) NetnsDir() string { return l.Root + "/netns" }

// IntentDir is the intent record directory, ROOT/intent.
func (l Layout) IntentDir() string { return l.Root + "/intent" }

// LockPath is the global lock file, ROOT/lock.
func (l Layout) LockPath() string { return l.Root + "/lock" }

// Marker is the marker path of name.
func (l Layout) Marker(name string) string { return l.NetnsDir() + "/" + name }

// Intent is the intent record path of name.
func (l Layout) Intent(name string) string { return l.IntentDir() + "/" + name }

// Netns is the kernel namespace path of name, /run/netns/NAME.
func (l Layout) Netns(name string) string { return l.RunNetns + "/" + name }

// GatewayFirewalls are the backends a gateway record can name, in the
// order destroy handles them (plan.GatewayNFT, plan.GatewayIPTables).
func GatewayFirewalls() []string { return []string{"nft", "iptables"} }

// GatewayDir is the gateway record directory, ROOT/gateway.
func (l Layout) GatewayDir() string { return l.Root + "/gateway" }

// GatewayRecord is the record of the gateway of ns made with backend fw:
// ROOT/gateway/NS.FW.
func (l Layout) GatewayRecord(ns, fw string) string { return l.GatewayDir() + "/" + ns + "." + fw }

// GatewayRecords are the record paths of ns, one per backend.
func (l Layout) GatewayRecords(ns string) []string {
	var out []string
	for _, fw := range GatewayFirewalls() {
		out = append(out, l.GatewayRecord(ns, fw))
	}
	return out
}

// OwnerName names a uid in messages: "root" for 0, else "uid N".
func OwnerName(uid int) string {
	if uid == 0 {
		return "root"
	}
	return "uid " + strconv.Itoa(uid)
}
