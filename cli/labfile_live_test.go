package cli_test

// Live tests of the lab-file verbs (lab apply/plan/destroy), each in a
// private sandbox (internal/sandbox): every example is applied, pinged
// end to end between its own namespaces (IPv4, and IPv6 where the file
// has it), re-applied with an empty plan, changed, and destroyed to a
// clean state; live and as a script run by dash.

import (
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/npte/npte/internal/sandbox"
	"github.com/npte/npte/shape"
	"github.com/npte/npte/topology"
)

var labExamples = []string{"builtin", "chain10", "star", "dumbbell", "dualstack", "uplink"}

// lfPing6 sends IPv6 echo requests from ns to addr until one is
// answered (at most 3): a veth that has just come up drops what it is
// given until the kernel's link watcher activates its queue, up to a
// second later, and IPv6 does not retry as ARP does.
func lfPing6(ns, addr string) bool {
	return exec.Command("ip", "netns", "exec", ns, "ping", "-6", "-n", "-q", "-c", "3", "-i", "0.5", "-w", "4", addr).Run() == nil ||
		exec.Command("ip", "netns", "exec", ns, "ping", "-6", "-n", "-q", "-c", "1", "-W", "2", addr).Run() == nil
}

// lfPingAll pings, from the first node of the first link, the first
// address of each family of every other node's every link end.
func lfPingAll(t *testing.T, l *topology.Lab) {
	t.Helper()
	from := l.Links[0].A.Node
	for _, lk := range l.Links {
		for _, e := range []topology.End{lk.A, lk.B} {
			if e.Node == from {
				continue
			}
			for _, a := range e.Addrs {
				ok := false
				if a.Addr().Is6() {
					ok = lfPing6(from, a.Addr().String())
				} else {
					ok = lbPing(from, a.Addr().String())
				}
				if !ok {
					t.Errorf("%s cannot ping %s (%s %s)", from, a.Addr(), e.Node, e.Iface)
				}
			}
		}
	}
}

// lfVariant writes a changed copy of the lab file: one more node, linked
// to the first node of the first link.
func lfVariant(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	f, err := topology.Parse(src, data)
	if err != nil {
		t.Fatal(err)
	}
	f.Nodes["extra"] = &topology.Node{}
	f.Links = append(f.Links, topology.Link{Endpoints: []string{"extra", f.Links[0].Endpoints[0]}})
	out, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func lfHasShape(t *testing.T, file string) bool {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	f, err := topology.Parse(file, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, lk := range f.Links {
		if len(lk.Shape) > 0 {
			return true
		}
	}
	return false
}

func lfWithoutShape(t *testing.T, src, dst string) string {
	t.Helper()
	data, _ := os.ReadFile(src)
	f, err := topology.Parse(src, data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Links {
		f.Links[i].Shape = nil
	}
	out, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// lfState is lbState without the link-local IPv6 routes and addresses the
// kernel adds by itself, whenever it gets to them after a link comes up
// (their local and anycast routes appear once duplicate address
// detection is done): not changes npte made.
func lfState(t *testing.T) string {
	return regexp.MustCompile(`\{[^{}]*"fe80::[^{}]*\},?`).ReplaceAllString(lbState(t), "")
}

func lfDash(t *testing.T, args ...string) {
	t.Helper()
	r := lbMust(t, 0, append(args, "--dry-run")...)
	cmd := exec.Command("dash", "-s")
	cmd.Stdin = strings.NewReader(r.stdout)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npte %s --dry-run | dash: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func lfClean(t *testing.T, name string, hostLinks int) {
	t.Helper()
	if left := lbLeftovers(); left != "" {
		t.Errorf("destroy left: %s", left)
	}
	if _, err := os.Lstat("/run/npte/lab/" + name); err == nil {
		t.Errorf("destroy left the record /run/npte/lab/%s", name)
	}
	if out := sandbox.Run(t, "ip", "-o", "link", "show"); strings.Count(out, "\n") != hostLinks {
		t.Errorf("host interfaces left:\n%s", out)
	}
}

func TestLiveLabFileExamples(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	dir := t.TempDir()
	hostLinks := 1
	netem := exec.Command("unshare", append([]string{"--net", "--"}, shape.KernelProbe("netem")...)...).Run() == nil
	for _, name := range labExamples {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join("..", "examples", name+".yaml")
			if !netem && lfHasShape(t, file) {
				// This kernel has no netem: the shaping itself is tested
				// live under user-mode Linux (kerneltest); here the lab
				// is built without it.
				t.Logf("this kernel has no netem qdisc: %s is applied without its shaping", name)
				file = lfWithoutShape(t, file, filepath.Join(dir, name+".yaml"))
			}
			l, err := topology.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			if l.Uplink != nil && hostLinks == 1 {
				// The uplink's outside interface, in the sandbox's own
				// network namespace.
				// (a veth pair: the kernel may lack the dummy driver).
				sandbox.Run(t, "ip", "link", "add", "name", l.Uplink.Iface, "type", "veth", "peer", "name", "npteout")
				sandbox.Run(t, "ip", "link", "set", "dev", l.Uplink.Iface, "up")
				sandbox.Run(t, "ip", "link", "set", "dev", "npteout", "up")
				hostLinks = 3
			}
			// Live.
			lbMust(t, 0, "lab", "apply", file)
			lfPingAll(t, l)
			if l.Uplink != nil {
				host, _ := netip.PrefixFrom(l.Uplink.Subnet.Addr().Next(), 32).Addr(), 0
				if !lbPing(l.Links[0].A.Node, host.String()) {
					t.Errorf("%s cannot reach the host end of the uplink %s", l.Links[0].A.Node, host)
				}
			}
			if r := lbMust(t, 0, "lab", "plan", file); !strings.Contains(r.stdout, "no changes") {
				t.Errorf("plan after apply is not empty:\n%s", r.stdout)
			}
			if r := lbMust(t, 0, "lab", "show", l.Name); !strings.Contains(r.stdout, "the kernel matches the record") {
				t.Errorf("lab show after apply:\n%s", r.stdout)
			}
			if r := lbNpte(t, nil, "netns", "destroy", l.Nodes[0].Name); r.code != 2 || !strings.Contains(r.stderr, "use npte lab destroy "+l.Name) {
				t.Errorf("netns destroy of a lab node: exit %d: %s", r.code, r.stderr)
			}
			r := lbMust(t, 0, "lab", "apply", "--output", "json", file)
			var p struct{ Steps []map[string]any }
			if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
				t.Fatal(err)
			}
			for _, s := range p.Steps {
				if s["type"] == "Command" || s["type"] == "WriteMarker" {
					t.Errorf("re-apply plan has a change: %v", s)
				}
			}
			before := lfState(t)
			lbMust(t, 0, "lab", "apply", file)
			if after := lfState(t); after != before {
				t.Errorf("re-apply changed the state:\n%s\n---\n%s", before, after)
			}
			// A changed variant: only the new node, its link, addresses and routes.
			variant := filepath.Join(dir, name+"-extra.yaml")
			lfVariant(t, file, variant)
			r = lbMust(t, 0, "lab", "plan", variant)
			for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
				if !strings.HasPrefix(line, "+ ") && !strings.HasPrefix(line, "~ ") && !strings.HasPrefix(line, "- route") && !strings.HasPrefix(line, "lab ") {
					t.Errorf("variant plan: unexpected line %q", line)
				}
			}
			if !strings.Contains(r.stdout, "+ node extra") {
				t.Errorf("variant plan misses the new node:\n%s", r.stdout)
			}
			r = lbMust(t, 0, "lab", "apply", "--dry-run", variant)
			// "ip netns add X" unbatched, a "netns add X" line of the
			// host's ip -batch heredoc batched (the default).
			if n := strings.Count(r.stdout, "netns add "); n != 1 {
				t.Errorf("variant script adds %d namespaces, want 1", n)
			}
			lbMust(t, 0, "lab", "apply", variant)
			vl, _ := topology.Load(variant)
			last := vl.Links[len(vl.Links)-1]
			if !lbPing(last.B.Node, last.A.Addrs[0].Addr().String()) {
				t.Errorf("%s cannot ping the new node", last.B.Node)
			}
			lbMust(t, 0, "lab", "destroy", l.Name)
			lfClean(t, l.Name, hostLinks)

			// As a script.
			lfDash(t, "lab", "apply", file)
			lfPingAll(t, l)
			if r := lbMust(t, 0, "lab", "plan", file); !strings.Contains(r.stdout, "no changes") {
				t.Errorf("plan after the script is not empty:\n%s", r.stdout)
			}
			lfDash(t, "lab", "destroy", file)
			lfClean(t, l.Name, hostLinks)
		})
	}
}

// lab show flags what differs between the kernel and the record: an
// address changed by hand, an interface or a namespace removed.
func TestLiveLabShowDrift(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	file := filepath.Join("..", "examples", "builtin.yaml")
	lbMust(t, 0, "lab", "apply", file)
	sandbox.Run(t, "ip", "-n", "client", "addr", "add", "172.16.3.99/24", "dev", "if-router")
	sandbox.Run(t, "ip", "-n", "server", "link", "del", "dev", "if-router")
	r := lbMust(t, 0, "lab", "show", "builtin")
	for _, want := range []string{
		"DRIFT node client: if-router has addresses [172.16.3.2/24 172.16.3.99/24], the record [172.16.3.2/24]",
		"DRIFT node router: interface if-server is missing",
		"DRIFT node server: interface if-router is missing",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lab show misses %q:\n%s", want, r.stdout)
		}
	}
	r = lbMust(t, 0, "lab", "show", "--json", "builtin")
	var v struct {
		Lab   topology.Lab
		Drift []string
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Lab.Name != "builtin" || len(v.Drift) != 3 {
		t.Errorf("lab show --json: %v %+v\n%s", err, v, r.stdout)
	}
	lbMust(t, 0, "lab", "destroy", "builtin")
	lfClean(t, "builtin", 1)
}
