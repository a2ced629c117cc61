package cli_test

// Script-versus-live checks of the guards' refusal messages (issue 11
// item 2): each refusal is written once, on its step in plan, and
// fidelity.Check compares the npte: lines a script and a live run print.

import (
	"os"
	"strings"
	"testing"

	"github.com/npte/npte/internal/fidelity"
	"github.com/npte/npte/shell"
)

func TestRefusalFidelity(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup fidelity.Setup
		args  []string
		want  string // in the refusal line
	}{
		{
			// sh's read -r a b c keeps the blanks inside c.
			name: "host route line with inner blanks",
			setup: fidelity.Setup{Managed: []string{"router"}, Output: outputs(map[string]string{
				"ip -o -4 route show table all root 10.77.0.0/24": "10.77.0.0/24  dev eth0\tproto kernel  scope link\n",
			})},
			args: []string{"gateway", "create", "router", "10.77.0.0/24", "eth0"},
			want: "10.77.0.0/24 dev eth0\tproto kernel  scope link",
		},
		{
			name: "symlinked marker",
			setup: fidelity.Setup{Plant: func(l shell.Layout) error {
				return os.Symlink("/nonexistent", l.Marker("evil"))
			}},
			args: []string{"netns", "destroy", "evil"},
			want: "refusing to follow it: $STATE/npte/netns/evil $STATE/npte/intent/evil",
		},
		{
			name: "run netns is a file",
			setup: fidelity.Setup{Plant: func(l shell.Layout) error {
				if err := os.Remove(l.RunNetns); err != nil {
					return err
				}
				return os.WriteFile(l.RunNetns, nil, 0o644)
			}},
			args: []string{"netns", "create", "demo"},
			want: "$STATE/netns is not a directory; refusing to create a namespace",
		},
		{
			// batched: one RequireAllAbsent for the chain's names.
			name:  "batched create, a name taken",
			setup: fidelity.Setup{Managed: []string{"ns3"}},
			args:  []string{"lab", "chain", "4"},
			want:  "ns3: already exists",
		},
		{
			name: "batched create, run netns is a file",
			setup: fidelity.Setup{Plant: func(l shell.Layout) error {
				if err := os.Remove(l.RunNetns); err != nil {
					return err
				}
				return os.WriteFile(l.RunNetns, nil, 0o644)
			}},
			args: []string{"lab", "chain", "4"},
			want: "$STATE/netns is not a directory; refusing to create a namespace",
		},
		{
			name: "lock is a directory",
			setup: fidelity.Setup{Plant: func(l shell.Layout) error {
				return os.Mkdir(l.LockPath(), 0o700)
			}},
			args: []string{"netns", "create", "demo"},
			want: "(the lock: not a regular file)",
		},
		{
			name: "marker directory writable by group",
			setup: fidelity.Setup{Plant: func(l shell.Layout) error {
				return os.Chmod(l.NetnsDir(), 0o775)
			}},
			args: []string{"netns", "create", "demo"},
			want: "or is writable by group or others",
		},
		{
			name: "gateway record directory is a file",
			setup: fidelity.Setup{Managed: []string{"router"}, Plant: func(l shell.Layout) error {
				return os.WriteFile(l.GatewayDir(), nil, 0o644)
			}},
			args: []string{"gateway", "create", "router", "10.77.0.0/24", "eth0"},
			want: "$STATE/npte/gateway is a symbolic link or not a directory",
		},
		{
			name: "gateway record is a directory",
			setup: fidelity.Setup{Managed: []string{"router"}, Plant: func(l shell.Layout) error {
				if err := os.MkdirAll(l.GatewayRecord("router", "nft"), 0o755); err != nil {
					return err
				}
				return nil
			}},
			args: []string{"gateway", "destroy", "router"},
			want: "a gateway record path of npte is a symbolic link or of the wrong type",
		},
		{
			// RequireIface (issue 11 item 5), in each verb that names an
			// interface.
			name:  "assign-addr to a missing interface",
			setup: fidelity.Setup{Managed: []string{"a"}},
			args:  []string{"netns", "assign-addr", "a", "if-x", "10.0.0.1/24"},
			want:  "npte: a has no interface if-x",
		},
		{
			name:  "add-route through a missing interface",
			setup: fidelity.Setup{Managed: []string{"a"}},
			args:  []string{"netns", "add-route", "--dev", "if-x", "a", "default", "10.0.0.1"},
			want:  "npte: a has no interface if-x",
		},
		{
			name:  "netem apply on a missing interface",
			setup: fidelity.Setup{Managed: []string{"a"}},
			args:  []string{"netem", "apply", "--delay", "5ms", "a", "if-x"},
			want:  "npte: a has no interface if-x",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live := fidelity.Check(t, tc.setup, gwWorldNone, tc.args...)
			if live.Exit != 2 {
				t.Errorf("exit %d, want 2 (refused)\n%s", live.Exit, live.Stderr)
			}
			got := fidelity.Diagnostics(live.Stderr, "", live.Dir)
			if strings.Count(got, "\n") != 1 || !strings.Contains(got, tc.want) {
				t.Errorf("npte: lines %q, want one with %q", got, tc.want)
			}
		})
	}
}
