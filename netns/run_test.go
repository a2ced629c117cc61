package netns_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/npte/npte/netns"
	"github.com/npte/npte/plan"
)

func TestRunSteps(t *testing.T) {
	p := netns.RunPlan(netns.Run{Netns: "client", User: "alice", UID: "1000", Home: "/home/alice", Command: []string{"id", "-u"}})
	if len(p.Steps) != 6 {
		t.Fatalf("steps: %#v", p.Steps)
	}
	// The lock is held for the ownership, /etc/netns and user checks only,
	// and released before the hand-off, which is the last step. The
	// /etc/netns check comes before anything runs in the overlay.
	if _, ok := p.Steps[0].(plan.Lock); !ok {
		t.Errorf("step 1 is %T, want Lock", p.Steps[0])
	}
	if s, ok := p.Steps[1].(plan.RequireManaged); !ok || s.Name != "client" {
		t.Errorf("step 2 is %#v, want RequireManaged client", p.Steps[1])
	}
	if s, ok := p.Steps[2].(plan.RequireEtcNetnsClean); !ok || s.Name != "client" {
		t.Errorf("step 3 is %#v, want RequireEtcNetnsClean client", p.Steps[2])
	}
	if s, ok := p.Steps[3].(plan.RequireRunAs); !ok || s != (plan.RequireRunAs{Netns: "client", User: "alice", UID: "1000"}) {
		t.Errorf("step 4 is %#v, want RequireRunAs client alice 1000", p.Steps[3])
	}
	if _, ok := p.Steps[4].(plan.Unlock); !ok {
		t.Errorf("step 5 is %T, want Unlock", p.Steps[4])
	}
	c, ok := p.Steps[5].(plan.Command)
	if !ok || !c.Handoff || c.Tolerant || c.Stdin != "" {
		t.Fatalf("step 6 is %#v, want a plain hand-off", p.Steps[5])
	}
	if got := c.Describe(); got != "run id in client as alice" {
		t.Errorf("Describe = %q", got)
	}
	if p.Undo != nil {
		t.Errorf("Undo = %q, want none", p.Undo)
	}
	s := plan.RequireRunAs{Netns: "client", User: "alice", UID: "1000"}
	if got := strings.Join(s.UIDArgv(), " "); got != "ip netns exec client id -u -- alice" {
		t.Errorf("UIDArgv = %q", got)
	}
	if got := strings.Join(s.GroupsArgv(), " "); got != "ip netns exec client id -G -- alice" {
		t.Errorf("GroupsArgv = %q", got)
	}
}

func TestCreateGuardsEtcNetns(t *testing.T) {
	g := netns.CreateGuards("demo")
	want := []plan.Step{plan.RequireAbsent{Name: "demo"}, plan.RequireEtcNetnsAbsent{Name: "demo"}}
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("CreateGuards = %#v, want %#v", g, want)
	}
}

func TestRunArgv(t *testing.T) {
	env := []string{"env", "-i", "--", "PATH=" + netns.RunPath}
	for _, tc := range []struct {
		name string
		run  netns.Run
		argv string // the npte command line
		want []string
	}{
		{
			name: "plain",
			run:  netns.Run{Netns: "client", User: "alice", Home: "/home/alice", Command: []string{"id", "-u"}},
			argv: "netns run client -- id -u",
			want: cat([]string{"ip", "netns", "exec", "client", "runuser", "-u", "alice", "--"}, env,
				[]string{"HOME=/home/alice", "USER=alice", "LOGNAME=alice", "id", "-u"}),
		},
		{
			name: "term and env pairs in order, after the minimal environment",
			run: netns.Run{Netns: "client", User: "bob", Home: "/srv/bob", Term: "xterm-256color",
				Env: []string{"A=B=C", "PATH=/opt/bin", "EMPTY="}, Command: []string{"printenv"}},
			argv: "netns run -e A=B=C -e PATH=/opt/bin -e EMPTY= client -- printenv",
			want: cat([]string{"ip", "netns", "exec", "client", "runuser", "-u", "bob", "--"}, env,
				[]string{"HOME=/srv/bob", "USER=bob", "LOGNAME=bob", "TERM=xterm-256color", "A=B=C", "PATH=/opt/bin", "EMPTY=", "printenv"}),
		},
		{
			name: "a root login names the user with --user",
			run:  netns.Run{Netns: "client", User: "alice", UserFlag: true, Home: "/home/alice", Command: []string{"id"}},
			argv: "netns run --user alice client -- id",
			want: cat([]string{"ip", "netns", "exec", "client", "runuser", "-u", "alice", "--"}, env,
				[]string{"HOME=/home/alice", "USER=alice", "LOGNAME=alice", "id"}),
		},
		{
			name: "sandbox",
			run:  netns.Run{Netns: "server", User: "alice", Home: "/home/alice", Sandbox: true, Dir: "/home/alice/lab", Command: []string{"touch", "x"}},
			argv: "netns run --sandbox server -- touch x",
			want: cat([]string{"ip", "netns", "exec", "server", "runuser", "-u", "alice", "--"},
				netns.BwrapArgv("/home/alice/lab"), env,
				[]string{"HOME=/home/alice", "USER=alice", "LOGNAME=alice", "touch", "x"}),
		},
		{
			name: "the command keeps its own options and odd words",
			run:  netns.Run{Netns: "client", User: "alice", Home: "/home/alice", Command: []string{"-dash", "--", "a b", "$(x)", "#", "line\nbreak", ""}},
			argv: "netns run client -- -dash -- a b $(x) # line\nbreak ",
			want: cat([]string{"ip", "netns", "exec", "client", "runuser", "-u", "alice", "--"}, env,
				[]string{"HOME=/home/alice", "USER=alice", "LOGNAME=alice", "-dash", "--", "a b", "$(x)", "#", "line\nbreak", ""}),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := netns.RunPlan(tc.run)
			if got := strings.Join(p.Argv, " "); got != tc.argv {
				t.Errorf("Argv = %q, want %q", got, tc.argv)
			}
			got := p.Steps[len(p.Steps)-1].(plan.Command).Argv
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("hand-off argv\n got %q\nwant %q", got, tc.want)
			}
			// The user's command is the tail of the argv, after everything
			// npte controls: nothing of it can be read as an option or an
			// assignment by ip, runuser, bwrap or env.
			tail := got[len(got)-len(tc.run.Command):]
			if !reflect.DeepEqual(tail, tc.run.Command) {
				t.Errorf("command is not the tail of the argv: %q", got)
			}
		})
	}
}

func TestBwrapArgv(t *testing.T) {
	got := strings.Join(netns.BwrapArgv("/w"), " ")
	want := "bwrap --ro-bind / / --tmpfs /tmp --proc /proc --dev /dev --bind /w /w --chdir /w --share-net --unshare-pid --unshare-ipc --unshare-uts --die-with-parent --"
	if got != want {
		t.Errorf("BwrapArgv = %q\nwant %q", got, want)
	}
}

func TestRunDescribeStaysOneLine(t *testing.T) {
	p := netns.RunPlan(netns.Run{Netns: "a", User: "u", Home: "/", Command: []string{"x\ny"}})
	if d := p.Steps[len(p.Steps)-1].Describe(); strings.ContainsAny(d, "\n\r") {
		t.Errorf("Describe = %q", d)
	}
}

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func BenchmarkRunPlan(b *testing.B) {
	r := netns.Run{Netns: "client", User: "alice", Home: "/home/alice", Term: "xterm", Env: []string{"A=1", "B=2"}, Sandbox: true, Dir: "/home/alice", Command: []string{"iperf3", "-c", "172.16.2.2"}}
	for b.Loop() {
		_ = netns.RunPlan(r)
	}
}
