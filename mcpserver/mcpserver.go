// Package mcpserver is `npte mcp serve`: a Model Context Protocol server
// (stdio, the official go-sdk) through which a coding agent drives npte
// labs as the user who started it.
//
// The server holds no privilege. Every tool that changes or reads kernel
// state runs
//
//	/usr/bin/sudo -n NPTE VERB [FLAGS] -- VALUES...
//
// where the sudo path is fixed (never looked up in $PATH), -n makes a verb
// outside the user's sudoers grant fail at once instead of prompting for
// a password, NPTE is the absolute, symlink-free path of the running npte,
// and every value the agent supplied has been validated here, with the
// validators npte itself uses, before it reaches argv: positional values
// after "--", flag values as one "--flag=VALUE" word. Tools that change
// nothing (doctor, lab_check, lab_plan's dry run) run NPTE directly,
// without sudo. Values the agent hands as file contents (a lab file) are
// written to a 0600 file in the session directory, and only that path,
// chosen by the server, reaches argv: the agent never names a path that
// root would open.
//
// Long-running commands (netns_run) get an id; their output goes to files
// under the session directory (0700, os.MkdirTemp), readable through
// netns_run_output and stoppable through netns_run_stop, which signals
// only that process group. Close stops every command still running.
package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// DefaultSudo is the sudo npte mcp serve runs: a fixed absolute path, so
// that no $PATH entry can stand in for it.
const DefaultSudo = "/usr/bin/sudo"

// Config is what a Server needs. npte mcp serve fills it from the running
// process (Sudo is always DefaultSudo there); tests fill it themselves,
// e.g. with a fake sudo that records its argv. No flag or environment
// variable reaches it.
type Config struct {
	// Npte is the absolute path of the npte binary to run (the running
	// one, symbolic links resolved).
	Npte string
	// Sudo is the absolute path of sudo.
	Sudo string
	// SessionDir is a directory of mode 0700 owned by this process, for
	// lab files and the output of commands.
	SessionDir string
	// Dir is the working directory of every child (netns_run's sandbox
	// makes it the command's only writable directory besides /tmp).
	Dir string
	// Env is the environment of every child; nil means DefaultEnv.
	Env []string
	// Version is npte's version, reported to the client.
	Version string
	// Timeout bounds each synchronous call (default 10 minutes).
	Timeout time.Duration
	// Grace is how long a stopped command gets to exit after each signal
	// (default 5 seconds).
	Grace time.Duration
}

// Server is one npte MCP server: its configuration, the SDK server with
// npte's tools, and the commands netns_run started.
type Server struct {
	cfg Config
	mcp *mcp.Server

	mu     sync.Mutex
	runs   map[string]*run
	nextID int
	files  int
	closed bool
}

// New checks cfg and returns a server with every tool registered.
func New(cfg Config) (*Server, error) {
	for _, p := range []struct{ what, path string }{
		{"npte", cfg.Npte}, {"sudo", cfg.Sudo}, {"session directory", cfg.SessionDir}, {"working directory", cfg.Dir},
	} {
		if !filepath.IsAbs(p.path) {
			return nil, fmt.Errorf("mcp serve: the %s path %q is not absolute", p.what, p.path)
		}
	}
	fi, err := os.Lstat(cfg.SessionDir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		return nil, fmt.Errorf("mcp serve: session directory %s must be a directory of mode 0700", cfg.SessionDir)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 5 * time.Second
	}
	s := &Server{cfg: cfg, runs: map[string]*run{}}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "npte", Version: cfg.Version},
		&mcp.ServerOptions{Instructions: s.instructions()})
	s.addTools()
	return s, nil
}

// MCP returns the SDK server, to connect a transport to.
func (s *Server) MCP() *mcp.Server { return s.mcp }

// Run serves one client on t until it disconnects or ctx ends, then
// stops every command still running (Close).
func (s *Server) Run(ctx context.Context, t mcp.Transport) error {
	err := s.mcp.Run(ctx, t)
	s.Close()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// Close refuses new commands, then stops every command still running:
// SIGINT to its process group, SIGTERM after the grace period, and waits
// for each at most one more grace period. It is safe to call twice.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	var running []*run
	for _, r := range s.runs {
		running = append(running, r)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range running {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.stop(s.cfg.Grace)
		}()
	}
	wg.Wait()
}

func (s *Server) instructions() string {
	return `npte builds network labs (namespaces, veth links, addresses, routes, shaping) on this
machine. This server runs as the user; every tool that reads or changes kernel state runs
` + s.cfg.Sudo + ` -n ` + s.cfg.Npte + ` VERB ... through the user's sudoers grant ('npte sudoers'
prints it). If a tool says that sudo needs a password, the user has not installed the grant
for that verb: ask them; do not retry.

Read before you run: lab_check validates a lab file, lab_plan shows the exact POSIX sh script
and the JSON plan that lab_apply would run. netns_run starts a command inside a namespace as
the user, in a bubblewrap sandbox (file system read-only except /tmp and the server's working
directory ` + s.cfg.Dir + `); it returns an id at once or after wait_seconds, and its output
stays readable with netns_run_output until the server stops; netns_run_stop interrupts it.
Output files live under ` + s.cfg.SessionDir + ` and are removed when the server stops.
Every tool result carries the argv that ran and its exit status.`
}
