package cli

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/npte/npte/mcpserver"
)

// McpCmd groups the MCP verbs.
type McpCmd struct {
	Serve McpServeCmd `cmd:"" help:"Serve npte's tools over MCP on stdin/stdout, as the user, through sudo -n."`
}

// McpServeCmd is `npte mcp serve`.
type McpServeCmd struct{}

// Help is the long help of mcp serve.
func (c *McpServeCmd) Help() string {
	return `Serves the Model Context Protocol on stdin and stdout, for a coding agent that drives
npte labs. Start it from the agent's configuration as the user, never with sudo, e.g. in
.mcp.json: {"mcpServers": {"npte": {"command": "/usr/local/sbin/npte", "args": ["mcp", "serve"]}}}

Tools: lab_check, lab_plan (the dry-run script and the JSON plan), lab_apply, lab_destroy,
lab_show, netns_list, netns_show, netns_run (with netns_run_output, netns_run_stop and
netns_run_list), netem_apply, netem_clear, netem_show and doctor.

The server holds no privilege. A tool that reads or changes kernel state runs
'/usr/bin/sudo -n NPTE VERB ... -- VALUES...': sudo at that fixed path, -n so that a verb
outside the user's sudoers grant fails at once instead of asking for a password, NPTE the
absolute path of this npte with symbolic links resolved; every value from the agent is
validated first and comes after '--' (or as one --flag=VALUE word). doctor, lab_check and
lab_plan run npte without sudo. mcp serve itself needs no sudoers grant: 'npte sudoers'
grants what its tools call (netns, netem, lab).

A lab file reaches npte as a 0600 file the server writes into its session directory (a
new 0700 directory /tmp/npte-mcp-RANDOM, removed when the server stops); the agent hands the
file's text, never a path for root to open. netns_run always adds --sandbox; each command
gets an id, its output is kept in the session directory, and netns_run_stop sends SIGINT
to its process group (SIGTERM 5 seconds later). When the client disconnects, or on SIGINT
or SIGTERM, every command still running is stopped the same way.

Refuses (exit 2): root (euid 0).`
}

// Run implements the verb.
func (c *McpServeCmd) Run(app *App) error {
	if app.Env.Euid == 0 {
		return Usagef("mcp serve runs as the user and calls sudo -n for each privileged verb; it refuses to run as root: start it without sudo")
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return fmt.Errorf("mcp serve: cannot find the running npte: %w", err)
	}
	getwd := app.Env.Getwd
	if getwd == nil {
		getwd = RealWd
	}
	wd, err := getwd()
	if err != nil {
		return fmt.Errorf("mcp serve: %w", err)
	}
	dir, err := mcpSessionDir()
	if err != nil {
		return fmt.Errorf("mcp serve: session directory: %w", err)
	}
	defer os.RemoveAll(dir)
	srv, err := mcpserver.New(mcpserver.Config{
		Npte:       exe,
		Sudo:       mcpserver.DefaultSudo,
		SessionDir: dir,
		Dir:        wd,
		Version:    app.Env.Version,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(app.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.Run(ctx, &mcp.IOTransport{Reader: io.NopCloser(app.Env.Stdin), Writer: nopWriteCloser{app.Env.Stdout}})
}

// mcpSessionDir creates the session directory of npte mcp serve: a new
// directory /tmp/npte-mcp-RANDOM of mode 0700. Not os.MkdirTemp: npte
// takes no path from the environment ($TMPDIR).
func mcpSessionDir() (string, error) {
	for range 100 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		dir := "/tmp/npte-mcp-" + hex.EncodeToString(b[:])
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			return dir, os.Chmod(dir, 0o700) // whatever the umask
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", errors.New("no free name under /tmp")
}

// mcpSudoStatus is doctor's line for the sudo that npte mcp serve runs:
// exactly mcpserver.DefaultSudo, never looked up elsewhere. It is optional
// (only mcp serve needs it), and named with its package in the line itself
// rather than in the install line, which lists the allowlist's packages.
func mcpSudoStatus() ToolStatus {
	st := ToolStatus{Name: "sudo", Package: "sudo", Purpose: "npte mcp serve (it runs " + mcpserver.DefaultSudo + " -n, at that path only)"}
	if fi, err := os.Stat(mcpserver.DefaultSudo); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		st.Found, st.Path = true, mcpserver.DefaultSudo
	}
	return st
}

// nopWriteCloser is a Writer whose Close does nothing: stdout stays open.
type nopWriteCloser struct{ io.Writer }

// Close does nothing.
func (nopWriteCloser) Close() error { return nil }
