package mcpserver

import (
	"bytes"
	"context"
	"errors"
	osexec "os/exec"
	"sync"
	"syscall"
	"time"
)

// call is one npte invocation: its arguments after the npte path, and
// whether it goes through sudo.
type call struct {
	sudo bool
	args []string
}

// argv is the full command line of c: sudo -n NPTE ARGS, or NPTE ARGS.
func (s *Server) argv(c call) []string {
	if c.sudo {
		return append([]string{s.cfg.Sudo, "-n", s.cfg.Npte}, c.args...)
	}
	return append([]string{s.cfg.Npte}, c.args...)
}

// Result is what a synchronous tool returns: the command that ran and
// what it said.
type Result struct {
	Argv     []string `json:"argv" jsonschema:"the command line that ran"`
	ExitCode int      `json:"exit_code" jsonschema:"its exit status (0 success, 1 failure, 2 refused input; -1 if it could not start or was killed)"`
	Stdout   string   `json:"stdout" jsonschema:"its standard output"`
	Stderr   string   `json:"stderr" jsonschema:"its standard error"`
}

// maxOutput bounds what a synchronous call keeps of each stream.
const maxOutput = 4 << 20

// capped is a buffer that keeps the first maxOutput bytes.
type capped struct {
	mu        sync.Mutex
	b         bytes.Buffer
	truncated bool
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := maxOutput - c.b.Len(); len(p) > room {
		c.b.Write(p[:max(room, 0)])
		c.truncated = true
		return len(p), nil
	}
	return c.b.Write(p)
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.truncated {
		return c.b.String() + "\n[npte mcp: output truncated]\n"
	}
	return c.b.String()
}

// DefaultEnv is the environment of every child unless Config.Env says
// otherwise: a fixed PATH and nothing of the server's own environment, so
// that no variable of the agent's (GODEBUG, LD_PRELOAD...) reaches npte
// or sudo (which resets the environment anyway).
var DefaultEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}

// command builds the exec.Cmd of argv: the configured working directory
// and environment, no stdin, its own process group (so that stopping it
// signals it and its children, and nothing else).
func (s *Server) command(argv []string) *osexec.Cmd {
	cmd := &osexec.Cmd{Path: argv[0], Args: argv, Dir: s.cfg.Dir, Env: s.cfg.Env}
	if cmd.Env == nil {
		cmd.Env = DefaultEnv
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// run runs c to completion (or until ctx ends or the timeout passes: then
// its process group gets SIGINT, and SIGTERM after the grace period).
func (s *Server) run(ctx context.Context, c call) Result {
	argv := s.argv(c)
	res := Result{Argv: argv, ExitCode: -1}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	cmd := s.command(argv)
	var stdout, stderr capped
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		res.Stderr = "npte mcp: cannot start: " + err.Error()
		return res
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = stopGroup(cmd.Process.Pid, done, s.cfg.Grace)
	}
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	var ee *osexec.ExitError
	switch {
	case err == nil:
		res.ExitCode = 0
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	default:
		res.Stderr += "npte mcp: " + err.Error() + "\n"
	}
	if ctx.Err() != nil {
		res.Stderr += "npte mcp: stopped: " + ctx.Err().Error() + "\n"
	}
	return res
}

// stopGroup interrupts process group pgid (SIGINT, then SIGTERM after
// grace) and returns the Wait result from done, or errStillRunning if
// the process did not exit within another grace period. SIGKILL is never
// sent: sudo cannot relay it, so it would kill sudo and orphan the
// command it runs.
func stopGroup(pgid int, done <-chan error, grace time.Duration) error {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		_ = syscall.Kill(-pgid, sig)
		select {
		case err := <-done:
			return err
		case <-time.After(grace):
		}
	}
	return errStillRunning
}

var errStillRunning = errors.New("still running after SIGINT and SIGTERM")
