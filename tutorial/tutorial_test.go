package tutorial_test

import (
	"bytes"
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/npte/npte/cli"
	"github.com/npte/npte/exec"
	"github.com/npte/npte/shell"
	"github.com/npte/npte/tutorial"
)

func TestChapters(t *testing.T) {
	want := []string{"basics", "routing", "shaping-and-bufferbloat", "gateway", "sudoers-and-security", "dry-run-workflows"}
	if got := tutorial.Slugs(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("chapters %v, want %v", got, want)
	}
	for _, c := range tutorial.Chapters() {
		if c.Title == c.Slug || c.Title == "" {
			t.Errorf("%s: no '# ' title", c.Slug)
		}
		if _, ok := tutorial.Lookup(c.Slug); !ok {
			t.Errorf("%s: lookup", c.Slug)
		}
		if !strings.Contains(tutorial.Contents(), c.Slug) || !strings.Contains(tutorial.All(), c.Title) {
			t.Errorf("%s: missing from the contents or from all", c.Slug)
		}
	}
}

func TestCommandsExtraction(t *testing.T) {
	c := tutorial.Chapter{Slug: "x", Text: "text $ npte not-in-block\n```sh\n$ sudo npte lab create\n$ npte lab create --dry-run | sudo sh\n$ npte netns create --dry-run 'a b' > f.sh\n$ npte netns create -n Bad    # exit 2\n$ ip link\nnpte no-prompt\n```\n"}
	cmds, err := tutorial.Commands(c)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cmds {
		got = append(got, strings.Join(c.Args, "|"))
	}
	want := "lab|create;lab|create|--dry-run;netns|create|--dry-run|a b;netns|create|-n|Bad"
	if strings.Join(got, ";") != want {
		t.Errorf("got %q, want %q", strings.Join(got, ";"), want)
	}
	if !cmds[0].Sudo || cmds[1].Sudo || cmds[3].Exit != 2 {
		t.Errorf("sudo/exit flags wrong: %+v", cmds)
	}
	if _, err := tutorial.Commands(tutorial.Chapter{Slug: "y", Text: "```\n$ npte x\n"}); err == nil {
		t.Error("unclosed block accepted")
	}
}

// env is a fidelity-like environment: a private state layout where the
// chapters' namespaces are managed, fake programs that all succeed and are
// never run, an unprivileged caller named alice who also is $SUDO_USER.
func env(t *testing.T, args []string) (cli.Env, *bytes.Buffer, *bytes.Buffer) {
	root := t.TempDir()
	layout := shell.Layout{Root: filepath.Join(root, "npte"), RunNetns: filepath.Join(root, "netns")}
	bin := filepath.Join(root, "bin")
	for _, d := range []string{layout.NetnsDir(), layout.IntentDir(), layout.RunNetns, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range exec.Tools() {
		if err := os.WriteFile(filepath.Join(bin, tool.Name), []byte("#!/bin/false\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The namespaces the chapters build exist, so that read-only verbs
	// (netns show, netem show) get past their ownership checks.
	for _, n := range []string{"alpha", "beta", "client", "router", "server"} {
		for _, p := range []string{layout.Marker(n), layout.Netns(n)} {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var stdout, stderr bytes.Buffer
	vars := map[string]string{"USER": "alice", "SUDO_USER": "alice", "TERM": "xterm"}
	return cli.Env{
		Args: args, Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(k string) string { return vars[k] }, Euid: 1000, Version: "test",
		Layout: layout, Owner: os.Getuid(), Dirs: []string{bin},
		Start: func(context.Context, exec.Cmd) error { return nil },
		Exec:  func(exec.Cmd) error { return nil },
		LookupUser: func(name string) (*user.User, error) {
			if name == "alice" {
				return &user.User{Username: "alice", Uid: "1000", Gid: "1000", HomeDir: "/home/alice"}, nil
			}
			return nil, user.UnknownUserError(name)
		},
		Getwd: func() (string, error) { return "/home/alice", nil },
	}, &stdout, &stderr
}

// takesDryRun reports whether the verb args select has a --dry-run flag,
// and whether that verb is still a placeholder (no flags, no arguments, no
// subcommands: a later issue's verb not built yet).
func takesDryRun(t *testing.T, args []string) (dry, placeholder bool) {
	parser, err := cli.NewParser("test", kong.Writers(&bytes.Buffer{}, &bytes.Buffer{}), kong.Exit(func(int) {}))
	if err != nil {
		t.Fatal(err)
	}
	node := parser.Model.Node
	for _, a := range args {
		var next *kong.Node
		for _, c := range node.Children {
			if c.Name == a {
				next = c
			}
		}
		if next == nil {
			break
		}
		node = next
	}
	if len(node.Children) == 0 && len(node.Positional) == 0 && len(node.Flags) == 0 && node != parser.Model.Node {
		return false, true
	}
	for _, f := range node.Flags {
		if f.Name == "dry-run" {
			return true, false
		}
	}
	return false, false
}

// TestTutorialCommandsRun runs every npte command line of every chapter,
// with --dry-run added where the verb changes state, in a private
// environment where no program really runs. A command the chapter shows
// must parse, validate and succeed (or exit as its "# exit N" says); a
// read-only verb that asks the (fake) kernel may fail at run time (exit
// 1), never with a usage error.
func TestTutorialCommandsRun(t *testing.T) {
	total := 0
	for _, ch := range tutorial.Chapters() {
		cmds, err := tutorial.Commands(ch)
		if err != nil {
			t.Fatal(err)
		}
		if len(cmds) == 0 && ch.Slug != "index" {
			t.Errorf("%s shows no npte command", ch.Slug)
		}
		for _, c := range cmds {
			total++
			c := c
			t.Run(ch.Slug+"/"+strings.ReplaceAll(c.Text, "/", "_"), func(t *testing.T) {
				args := append([]string(nil), c.Args...)
				dry, placeholder := takesDryRun(t, args)
				if placeholder {
					t.Skipf("%s:%d: %q uses a verb that is not built yet (a placeholder on this branch)", ch.Slug, c.Line, c.Text)
				}
				hasDry := false
				for _, a := range args {
					hasDry = hasDry || a == "--dry-run" || a == "-n"
				}
				if dry && !hasDry {
					args = append(args, "--dry-run")
					if i := indexOf(args, "--"); i >= 0 {
						args = append(append(append([]string(nil), args[:i]...), "--dry-run"), args[i:len(args)-1]...)
					}
				}
				e, stdout, stderr := env(t, args)
				if c.Sudo {
					e.Euid = 0 // sudo npte: root, with $SUDO_USER=alice
				}
				code := cli.Main(e)
				switch {
				case c.Exit != 0:
					if code != c.Exit {
						t.Errorf("%s:%d: npte %s: exit %d, the chapter says %d\n%s", ch.Slug, c.Line, strings.Join(args, " "), code, c.Exit, stderr)
					}
				case dry || hasDry:
					if code != 0 {
						t.Errorf("%s:%d: npte %s: exit %d\n%s", ch.Slug, c.Line, strings.Join(args, " "), code, stderr)
					} else if stdout.Len() == 0 {
						t.Errorf("%s:%d: npte %s printed nothing", ch.Slug, c.Line, strings.Join(args, " "))
					}
				default:
					if code == 2 || code > 1 {
						t.Errorf("%s:%d: npte %s: exit %d\n%s", ch.Slug, c.Line, strings.Join(args, " "), code, stderr)
					}
				}
			})
		}
	}
	t.Logf("%d command lines in %d chapters", total, len(tutorial.Chapters()))
}

func indexOf(s []string, w string) int {
	for i, a := range s {
		if a == w {
			return i
		}
	}
	return -1
}
