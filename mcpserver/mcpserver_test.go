package mcpserver_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/npte/npte/mcpserver"
	"github.com/npte/npte/mcpserver/mcpservertest"
)

func TestToolsListed(t *testing.T) {
	h := mcpservertest.New(t, mcpservertest.Options{})
	res, err := h.Session.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		b, _ := json.Marshal(tool.InputSchema)
		var schema struct {
			Type                 string          `json:"type"`
			AdditionalProperties json.RawMessage `json:"additionalProperties"`
		}
		if err := json.Unmarshal(b, &schema); err != nil {
			t.Fatal(err)
		}
		if schema.Type != "object" || string(schema.AdditionalProperties) != "false" {
			t.Errorf("%s: input schema %s: want an object that accepts no other property", tool.Name, b)
		}
		if tool.Description == "" {
			t.Errorf("%s: no description", tool.Name)
		}
	}
	want := slices.Clone(mcpserver.ToolNames)
	slices.Sort(want)
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Errorf("tools %v, want %v", names, want)
	}
	for _, need := range []string{"lab_check", "lab_plan", "lab_apply", "lab_destroy", "lab_show", "netns_list",
		"netns_show", "netns_run", "netem_apply", "netem_clear", "netem_show", "doctor"} {
		if !slices.Contains(names, need) {
			t.Errorf("tool %s missing", need)
		}
	}
}

// TestToolArgv calls each tool with valid arguments and checks the exact
// argv the fakes saw: sudo -n NPTE VERB ... -- VALUES for the privileged
// verbs, NPTE VERB ... for the others.
func TestToolArgv(t *testing.T) {
	h := mcpservertest.New(t, mcpservertest.Options{})
	S, N := h.Config.Sudo, h.Config.Npte
	lab := filepath.Join(h.Config.SessionDir, "labs")
	sudo := func(args ...string) []string { return append([]string{S, "-n", N}, args...) }
	direct := func(args ...string) []string { return append([]string{N}, args...) }
	const file = "name: demo\nnodes: {a: {}, b: {}}\nlinks: [[a, b]]\n"
	ms := func(s string) *string { return &s }
	for _, c := range []struct {
		tool string
		args any
		want [][]string
	}{
		{"lab_check", map[string]any{"file": file}, [][]string{direct("lab", "check", "--", lab+"/lab-1.yaml")}},
		{"lab_plan", map[string]any{"file": file}, [][]string{
			direct("lab", "apply", "--dry-run", "--", lab+"/lab-2.yaml"),
			direct("lab", "apply", "--dry-run", "--output=json", "--", lab+"/lab-2.yaml")}},
		{"lab_apply", map[string]any{"file": file}, [][]string{sudo("lab", "apply", "--", lab+"/lab-3.yaml")}},
		{"lab_destroy", map[string]any{"name": "demo"}, [][]string{sudo("lab", "destroy", "--", "demo")}},
		{"lab_destroy", map[string]any{"file": file}, [][]string{sudo("lab", "destroy", "--", lab+"/lab-4.yaml")}},
		{"lab_show", map[string]any{"name": "demo"}, [][]string{sudo("lab", "show", "--json", "--", "demo")}},
		{"netns_list", map[string]any{}, [][]string{sudo("netns", "list", "--json")}},
		{"netns_list", nil, [][]string{sudo("netns", "list", "--json")}},
		{"netns_show", map[string]any{"netns": "client"}, [][]string{sudo("netns", "show", "--", "client")}},
		{"netns_show", map[string]any{"netns": "client", "sections": []string{"route", "addr", "route"}, "json": true},
			[][]string{sudo("netns", "show", "--json", "--section=route", "--section=addr", "--", "client")}},
		{"netns_run", map[string]any{"netns": "client", "argv": []string{"ping", "-c", "3", "--", "-x", "$(id)"}, "env": map[string]string{"B": "x y", "A": "1=2"}},
			[][]string{sudo("netns", "run", "--sandbox", "--env=A=1=2", "--env=B=x y", "--", "client", "ping", "-c", "3", "--", "-x", "$(id)")}},
		{"netem_apply", mcpserver.NetemApplyInput{Netns: "router", Iface: "if-client", Delay: ms("10ms 2ms"), Rate: ms("20mbit"), Direction: "ingress"},
			[][]string{sudo("netem", "apply", "--delay=10ms 2ms", "--rate=20mbit", "--direction=ingress", "--", "router", "if-client")}},
		{"netem_apply", mcpserver.NetemApplyInput{Netns: "router", Iface: "if-client", Loss: ms("1%"), Child: ms("cake"), ChildRate: ms("10mbit")},
			[][]string{sudo("netem", "apply", "--loss=1%", "--child=cake", "--child-rate=10mbit", "--", "router", "if-client")}},
		{"netem_clear", map[string]any{"netns": "router", "iface": "if-client"}, [][]string{sudo("netem", "clear", "--", "router", "if-client")}},
		{"netem_clear", map[string]any{"netns": "router", "iface": "if-client", "direction": "egress"},
			[][]string{sudo("netem", "clear", "--direction=egress", "--", "router", "if-client")}},
		{"netem_show", map[string]any{"netns": "router"}, [][]string{sudo("netem", "show", "--json", "--", "router")}},
		{"netem_show", map[string]any{"netns": "router", "iface": "if-client"}, [][]string{sudo("netem", "show", "--json", "--", "router", "if-client")}},
		{"doctor", map[string]any{}, [][]string{direct("doctor")}},
	} {
		res := h.Call(t, c.tool, c.args)
		got := h.Calls(t)
		if c.tool == "netns_run" {
			// The fake exits at once; the run's state is tested elsewhere.
			var st mcpserver.RunStatus
			mcpservertest.Decode(t, res, &st)
			if !reflect.DeepEqual(st.Argv, c.want[0]) {
				t.Errorf("netns_run reported argv %q, want %q", st.Argv, c.want[0])
			}
		} else if res.IsError {
			t.Errorf("%s %v: error: %s", c.tool, c.args, mcpservertest.Text(res))
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %v:\n got %q\nwant %q", c.tool, c.args, got, c.want)
		}
	}
	// Lab files: 0600, in a 0700 directory, holding exactly the text.
	for _, f := range []string{"lab-1.yaml", "lab-4.yaml"} {
		fi, err := os.Stat(filepath.Join(lab, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, fi.Mode())
		}
		if b, _ := os.ReadFile(filepath.Join(lab, f)); string(b) != file {
			t.Errorf("%s holds %q", f, b)
		}
	}
	if fi, err := os.Stat(lab); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("lab directory: %v %v, want mode 0700", fi, err)
	}
}

// TestRefusedBeforeExec: invalid values are refused by the server, as
// tool errors naming the value, and nothing runs.
func TestRefusedBeforeExec(t *testing.T) {
	h := mcpservertest.New(t, mcpservertest.Options{})
	for _, c := range []struct {
		tool string
		args map[string]any
		msg  string
	}{
		{"netns_show", map[string]any{"netns": "Bad"}, `"Bad"`},
		{"netns_show", map[string]any{"netns": "client", "sections": []string{"addr,link"}}, `"addr,link"`},
		{"netns_show", map[string]any{"netns": "client", "extra": 1}, "extra"},
		{"netns_show", map[string]any{}, "netns"},
		{"netns_list", map[string]any{"sudo": "/bin/sh"}, "sudo"},
		{"netns_run", map[string]any{"netns": "client", "argv": []string{}}, "argv is empty"},
		{"netns_run", map[string]any{"netns": "client", "argv": []string{"--", "id"}}, `"--"`},
		{"netns_run", map[string]any{"netns": "client", "argv": []string{"-x"}}, `"-x"`},
		{"netns_run", map[string]any{"netns": "client", "argv": []string{"A=B"}}, `"A=B"`},
		{"netns_run", map[string]any{"netns": "client", "argv": []string{"id", "a\x00b"}}, "NUL"},
		{"netns_run", map[string]any{"netns": "client", "argv": []string{"id"}, "env": map[string]string{"1X": "y"}}, "1X"},
		{"netns_run", map[string]any{"netns": "client", "argv": []string{"id"}, "env": map[string]string{"A": "a\x00"}}, "NUL"},
		{"netns_run", map[string]any{"netns": "client", "argv": []string{"id"}, "env": map[string]string{"PATH=/tmp": "x"}}, `"PATH=/tmp"`},
		{"netns_run", map[string]any{"netns": "client", "argv": []string{"id"}, "wait_seconds": 601}, "wait_seconds"},
		{"netns_run", map[string]any{"netns": "-n", "argv": []string{"id"}}, `"-n"`},
		{"netem_apply", map[string]any{"netns": "router", "iface": "if-client", "delay": "10ms; reboot"}, "10ms; reboot"},
		{"netem_apply", map[string]any{"netns": "router", "iface": "if-client", "rate": "--help"}, "--help"},
		{"netem_apply", map[string]any{"netns": "router", "iface": "eth 0", "delay": "10ms"}, `"eth 0"`},
		{"netem_apply", map[string]any{"netns": "router", "iface": "if-client", "delay": "10ms", "direction": "up"}, `"up"`},
		{"netem_clear", map[string]any{"netns": "router", "iface": "--all"}, `"--all"`},
		{"netem_show", map[string]any{"netns": "router", "iface": "a/b"}, `"a/b"`},
		{"lab_destroy", map[string]any{"name": "../x"}, `"../x"`},
		{"lab_destroy", map[string]any{"name": "demo", "file": "name: demo\n"}, "not both"},
		{"lab_destroy", map[string]any{}, "name or its file"},
		{"lab_show", map[string]any{"path": "/etc/shadow"}, "path"},
		{"lab_show", map[string]any{"name": "demo", "file": "name: demo\n"}, "file"},
		{"lab_check", map[string]any{"file": "  \n"}, "empty"},
		{"lab_check", map[string]any{"file": "a\x00b"}, "NUL"},
		{"lab_check", map[string]any{"file": strings.Repeat("x", 1<<20+1)}, "at most"},
		{"netns_run_output", map[string]any{"id": "run-99"}, `"run-99"`},
		{"netns_run_stop", map[string]any{"id": "../../x"}, `"../../x"`},
	} {
		res := h.Call(t, c.tool, c.args)
		if !res.IsError {
			t.Errorf("%s %q: accepted: %s", c.tool, c.args, mcpservertest.Text(res))
		}
		if !strings.Contains(mcpservertest.Text(res), c.msg) {
			t.Errorf("%s %q: message %q does not name %q", c.tool, c.args, mcpservertest.Text(res), c.msg)
		}
		if calls := h.Calls(t); len(calls) != 0 {
			t.Errorf("%s %q: ran %q", c.tool, c.args, calls)
		}
	}
}

// TestNetnsRun runs real processes through the fake sudo (which execs the
// command): output and exit status of a short command; a long one that
// keeps running, is read while it runs, and is stopped through its
// process group.
func TestNetnsRun(t *testing.T) {
	h := mcpservertest.New(t, mcpservertest.Options{Exec: true})
	res := h.Call(t, "netns_run", map[string]any{"netns": "client", "argv": []string{"sh", "-c", "echo out; echo err >&2; exit 3"}})
	var st mcpserver.RunStatus
	mcpservertest.Decode(t, res, &st)
	if st.Running || st.ExitCode == nil || *st.ExitCode != 3 || st.Stdout != "out\n" || st.Stderr != "err\n" || !res.IsError {
		t.Errorf("short command: %+v (isError %v)", st, res.IsError)
	}
	for name, mode := range map[string]os.FileMode{"": 0o700, "argv.json": 0o600, "stdout": 0o600, "stderr": 0o600, "exit": 0o600} {
		fi, err := os.Stat(filepath.Join(st.Dir, name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s/%s: %v %v, want mode %v", st.Dir, name, fi, err, mode)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(st.Dir, "argv.json")); !strings.Contains(string(b), `"--sandbox"`) {
		t.Errorf("argv.json: %s", b)
	}

	// A long command: it runs on after netns_run returns.
	res = h.Call(t, "netns_run", map[string]any{"netns": "client", "wait_seconds": 0,
		"argv": []string{"sh", "-c", "echo started; exec sleep 300"}})
	mcpservertest.Decode(t, res, &st)
	if !st.Running || st.ID != "run-2" || res.IsError {
		t.Fatalf("long command: %+v", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mcpservertest.Decode(t, h.Call(t, "netns_run_output", map[string]any{"id": st.ID}), &st)
		if st.Stdout == "started\n" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !st.Running || st.Stdout != "started\n" {
		t.Fatalf("output of the running command: %+v", st)
	}
	var list mcpserver.RunList
	mcpservertest.Decode(t, h.Call(t, "netns_run_list", nil), &list)
	if len(list.Runs) != 2 || list.Runs[0].ID != "run-1" || list.Runs[0].Running || !list.Runs[1].Running {
		t.Errorf("netns_run_list: %+v", list)
	}
	res = h.Call(t, "netns_run_stop", map[string]any{"id": st.ID})
	mcpservertest.Decode(t, res, &st)
	if st.Running || st.ExitCode == nil || *st.ExitCode != -1 {
		t.Errorf("after stop: %+v %s", st, mcpservertest.Text(res))
	}
	// tail_bytes keeps the end.
	mcpservertest.Decode(t, h.Call(t, "netns_run_output", map[string]any{"id": "run-1", "tail_bytes": 2}), &st)
	if st.Stdout != "t\n" || st.StdoutBytes != 4 {
		t.Errorf("tail_bytes 2: %+v", st)
	}
}

// TestCloseStopsRuns: closing the server stops what netns_run started, and
// a netns_run after Close starts nothing.
func TestCloseStopsRuns(t *testing.T) {
	h := mcpservertest.New(t, mcpservertest.Options{Exec: true})
	var st mcpserver.RunStatus
	mcpservertest.Decode(t, h.Call(t, "netns_run", map[string]any{"netns": "client", "wait_seconds": 0, "argv": []string{"sleep", "300"}}), &st)
	b, err := os.ReadFile(filepath.Join(st.Dir, "argv.json"))
	if err != nil || !st.Running {
		t.Fatalf("%v %+v", err, st)
	}
	_ = b
	h.Server.Close()
	mcpservertest.Decode(t, h.Call(t, "netns_run_output", map[string]any{"id": st.ID}), &st)
	if st.Running {
		t.Fatalf("still running after Close: %+v", st)
	}
	res := h.Call(t, "netns_run", map[string]any{"netns": "client", "wait_seconds": 0, "argv": []string{"sleep", "300"}})
	if !res.IsError || !strings.Contains(mcpservertest.Text(res), "shutting down") {
		t.Errorf("netns_run after Close: %s", mcpservertest.Text(res))
	}
	h.Calls(t)
}

// TestStopSignalsOnlyItsGroup: netns_run_stop signals the command's
// process group and no other process: a process of the test's own group
// (a sleep started here) survives it.
func TestStopSignalsOnlyItsGroup(t *testing.T) {
	h := mcpservertest.New(t, mcpservertest.Options{Exec: true})
	bystander, err := os.StartProcess("/bin/sleep", []string{"sleep", "300"}, &os.ProcAttr{})
	if err != nil {
		t.Skip(err)
	}
	defer func() { _ = bystander.Kill(); _, _ = bystander.Wait() }()
	var st mcpserver.RunStatus
	mcpservertest.Decode(t, h.Call(t, "netns_run", map[string]any{"netns": "client", "wait_seconds": 0, "argv": []string{"sleep", "300"}}), &st)
	mcpservertest.Decode(t, h.Call(t, "netns_run_stop", map[string]any{"id": st.ID}), &st)
	if st.Running {
		t.Fatalf("not stopped: %+v", st)
	}
	if err := bystander.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the bystander died: %v", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	open := t.TempDir()
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []mcpserver.Config{
		{Npte: "npte", Sudo: "/usr/bin/sudo", SessionDir: open, Dir: "/"},
		{Npte: "/x/npte", Sudo: "sudo", SessionDir: open, Dir: "/"},
		{Npte: "/x/npte", Sudo: "/usr/bin/sudo", SessionDir: open, Dir: "/"},
	} {
		if _, err := mcpserver.New(cfg); err == nil {
			t.Errorf("%+v: accepted", cfg)
		}
	}
}

var _ = mcp.CallToolParams{}
