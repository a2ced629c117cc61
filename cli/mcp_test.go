package cli_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/mcpserver"
)

func TestMcpServeRefusesRoot(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := cli.Main(cli.Env{Args: []string{"mcp", "serve"}, Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(string) string { return "" }, Euid: 0, Version: "test"})
	if code != 2 || stdout.Len() != 0 || strings.Count(stderr.String(), "\n") != 1 ||
		!strings.HasPrefix(stderr.String(), "npte: mcp serve runs as the user") || !strings.Contains(stderr.String(), "refuses to run as root") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

// TestMcpServeStdio runs npte mcp serve through Main, as a non-root euid,
// with an MCP client on its stdin and stdout: it lists every tool, says
// in its instructions which sudo and npte it runs, refuses a bad value,
// keeps its session directory 0700 while it runs and removes it when the
// client goes. (No tool that runs anything is called: in npte the sudo
// path is fixed; mcpserver's tests inject a fake one.)
func TestMcpServeStdio(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(cli.Env{Args: []string{"mcp", "serve"}, Stdin: inR, Stdout: outW, Stderr: &stderr,
			Getenv: func(string) string { return "" }, Euid: 1000, Version: "test",
			Getwd: func() (string, error) { return "/nonexistent-wd", nil }})
		outW.Close()
	}()
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "test"}, nil)
	cs, err := client.Connect(context.Background(), &mcp.IOTransport{Reader: outR, Writer: inW}, nil)
	if err != nil {
		t.Fatal(err)
	}
	instr := cs.InitializeResult().Instructions
	exe, _ := os.Executable()
	if !strings.Contains(instr, mcpserver.DefaultSudo+" -n /") || !strings.Contains(instr, "/nonexistent-wd") {
		t.Errorf("instructions: %s (exe %s)", instr, exe)
	}
	session := regexp.MustCompile(`/tmp/npte-mcp-[0-9a-f]{16}`).FindString(instr)
	if fi, err := os.Stat(session); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("session directory %q: %v %v", session, fi, err)
	}
	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tools.Tools) != len(mcpserver.ToolNames) {
		t.Errorf("%d tools, want %d", len(tools.Tools), len(mcpserver.ToolNames))
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "netns_show", Arguments: map[string]any{"netns": "$(id)"}})
	if err != nil || !res.IsError {
		t.Errorf("netns_show $(id): %v %+v", err, res)
	}
	cs.Close()
	inW.Close()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(session); !os.IsNotExist(err) {
		t.Errorf("session directory %s left behind: %v", session, err)
	}
}

func TestMcpCompletionAndHelp(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{"npte mc", "mcp"},
		{"npte mcp ", "serve"},
	} {
		o := newOpEnv(t, 1000, nil, nil, nil, nil, "completion", "--complete", c.line)
		if code := o.run(); code != 0 || strings.Join(strings.Fields(o.stdout.String()), " ") != c.want {
			t.Errorf("%q: exit %d, got %q, want %q", c.line, code, o.stdout.String(), c.want)
		}
	}
	o := newOpEnv(t, 1000, nil, nil, nil, nil, "mcp", "serve", "--help")
	if code := o.run(); code != 0 || !strings.Contains(o.stdout.String(), "/usr/bin/sudo -n NPTE VERB") ||
		!strings.Contains(o.stdout.String(), "needs no sudoers") {
		t.Errorf("mcp serve --help: exit %d\n%s", code, o.stdout.String())
	}
}

// TestDoctorListsMcpSudo: doctor reports the sudo npte mcp serve runs, at
// its fixed path, as optional.
func TestDoctorListsMcpSudo(t *testing.T) {
	o := newOpEnv(t, 0, nil, nil, nil, nil, "doctor")
	o.run()
	_, err := os.Stat(mcpserver.DefaultSudo)
	want := regexp.MustCompile(`(?m)^  ok +sudo +/usr/bin/sudo$`)
	if err != nil {
		want = regexp.MustCompile(`(?m)^  missing +sudo +package sudo \(optional\); without it: no npte mcp serve`)
	}
	if !want.MatchString(o.stdout.String()) {
		t.Errorf("doctor lacks %q:\n%s", want, o.stdout.String())
	}
}
