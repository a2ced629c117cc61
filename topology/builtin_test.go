package topology

import (
	"bytes"
	"os"
	"strings"
	"testing"

	embedded "github.com/npte/npte/examples"
	"github.com/npte/npte/lab"
	"github.com/npte/npte/netns"
)

// TestBuiltinIsTheExample pins that the built-in lab is the example file
// itself, byte for byte, and the same lab as package lab's names and
// addresses (the ones lab netem shapes).
func TestBuiltinIsTheExample(t *testing.T) {
	disk, err := os.ReadFile("../examples/builtin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(disk, embedded.Builtin()) {
		t.Fatal("the embedded built-in lab differs from examples/builtin.yaml")
	}
	l, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	fromDisk, err := Load("../examples/builtin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if l.Digest() != fromDisk.Digest() {
		t.Error("lab create and lab apply examples/builtin.yaml resolve to different labs")
	}
	if l.Name != BuiltinLab {
		t.Errorf("name %q", l.Name)
	}
	var nodes []string
	for _, n := range l.Nodes {
		nodes = append(nodes, n.Name)
	}
	if got, want := strings.Join(nodes, " "), strings.Join(lab.Names, " "); got != want {
		t.Errorf("nodes %q, want %q", got, want)
	}
	ends := map[string]string{} // "node iface" -> addresses
	for _, lk := range l.Links {
		for _, e := range []End{lk.A, lk.B} {
			var as []string
			for _, a := range e.Addrs {
				as = append(as, a.String())
			}
			ends[e.Node+" "+e.Iface] = strings.Join(as, ",")
		}
	}
	for end, want := range map[string]string{
		lab.Client + " if-router":       lab.ClientAddr.String(),
		lab.Router + " " + lab.Downlink: lab.RouterClientAddr.String(),
		lab.Server + " if-router":       lab.ServerAddr.String(),
		lab.Router + " " + lab.Uplink:   lab.RouterServerAddr.String(),
	} {
		if ends[end] != want {
			t.Errorf("%s: addresses %q, want %q", end, ends[end], want)
		}
	}
	if len(ends) != 4 {
		t.Errorf("interfaces %v", ends)
	}
	var routes []string
	for _, r := range l.Routes {
		routes = append(routes, r.Node+" "+r.To+" via "+r.Via.String()+" dev "+r.Dev)
	}
	want := "client default via " + lab.RouterClientAddr.Addr().String() + " dev if-router; server default via " + lab.RouterServerAddr.Addr().String() + " dev if-router"
	if got := strings.Join(routes, "; "); got != want {
		t.Errorf("routes %q, want %q", got, want)
	}
	if l.Uplink != nil {
		t.Error("the built-in lab has an uplink (it is left to npte gateway create)")
	}
	for _, n := range l.Nodes {
		if strings.Join(n.DNS, ",") != strings.Join(netns.DefaultDNS, ",") {
			t.Errorf("%s: dns %v", n.Name, n.DNS)
		}
	}
}
