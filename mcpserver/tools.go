package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/npte/npte/validate"
)

// ToolNames lists the server's tools, in the order they are registered.
var ToolNames = []string{
	"lab_check", "lab_plan", "lab_apply", "lab_destroy", "lab_show",
	"netns_list", "netns_show", "netns_run", "netns_run_output", "netns_run_stop", "netns_run_list",
	"netem_apply", "netem_clear", "netem_show", "doctor",
}

// PlanResult is lab_plan's output: the script and the JSON plan that
// lab_apply would run.
type PlanResult struct {
	Script Result `json:"script" jsonschema:"npte lab apply --dry-run: the POSIX sh script"`
	Plan   Result `json:"plan" jsonschema:"npte lab apply --dry-run --output=json: the typed steps"`
}

// RunStatus is the state of a command netns_run started.
type RunStatus struct {
	ID          string   `json:"id" jsonschema:"its id, for netns_run_output and netns_run_stop"`
	Argv        []string `json:"argv" jsonschema:"the command line that runs it"`
	Running     bool     `json:"running" jsonschema:"whether it is still running"`
	ExitCode    *int     `json:"exit_code,omitempty" jsonschema:"its exit status once it has exited (-1: ended by a signal)"`
	Stdout      string   `json:"stdout,omitempty" jsonschema:"the end of its standard output"`
	Stderr      string   `json:"stderr,omitempty" jsonschema:"the end of its standard error"`
	StdoutBytes int64    `json:"stdout_bytes" jsonschema:"the size of its whole standard output"`
	StderrBytes int64    `json:"stderr_bytes" jsonschema:"the size of its whole standard error"`
	Dir         string   `json:"dir" jsonschema:"the directory holding argv.json, stdout, stderr and exit"`
}

// RunList is netns_run_list's output.
type RunList struct {
	Runs []RunStatus `json:"runs" jsonschema:"every command netns_run started, oldest first"`
}

func (s *Server) addTools() {
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "lab_check", Description: "Check a lab file (npte lab check): its grammar, names, links, addresses, routes. Changes nothing; runs without sudo."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in LabFileInput) (*mcp.CallToolResult, Result, error) {
			path, err := s.labFile(in.File)
			if err != nil {
				return nil, Result{}, err
			}
			return s.finish(s.run(ctx, call{args: []string{"lab", "check", "--", path}}))
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "lab_plan", Description: "Show what lab_apply would run for a lab file, without running it: the POSIX sh script (npte lab apply --dry-run) and the JSON plan (--output=json). Read it before lab_apply. Runs without sudo."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in LabFileInput) (*mcp.CallToolResult, PlanResult, error) {
			path, err := s.labFile(in.File)
			if err != nil {
				return nil, PlanResult{}, err
			}
			out := PlanResult{
				Script: s.run(ctx, call{args: []string{"lab", "apply", "--dry-run", "--", path}}),
				Plan:   s.run(ctx, call{args: []string{"lab", "apply", "--dry-run", "--output=json", "--", path}}),
			}
			return &mcp.CallToolResult{IsError: out.Script.ExitCode != 0 || out.Plan.ExitCode != 0}, out, nil
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "lab_apply", Description: "Build or converge a lab from its file (sudo -n npte lab apply). lab_plan shows the script first."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in LabFileInput) (*mcp.CallToolResult, Result, error) {
			path, err := s.labFile(in.File)
			if err != nil {
				return nil, Result{}, err
			}
			return s.finish(s.run(ctx, call{sudo: true, args: []string{"lab", "apply", "--", path}}))
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "lab_destroy", Description: "Destroy a lab, named by name or by its file (sudo -n npte lab destroy)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in LabTargetInput) (*mcp.CallToolResult, Result, error) {
			t, err := s.labTarget(in)
			if err != nil {
				return nil, Result{}, err
			}
			return s.finish(s.run(ctx, call{sudo: true, args: []string{"lab", "destroy", "--", t}}))
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "lab_show", Description: "Show an applied lab as JSON: its record, nodes, links, addresses and shaping (sudo -n npte lab show --json)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in LabNameInput) (*mcp.CallToolResult, Result, error) {
			if err := validate.NetnsName(in.Name); err != nil {
				return nil, Result{}, fmt.Errorf("lab name: %w", err)
			}
			return s.finish(s.run(ctx, call{sudo: true, args: []string{"lab", "show", "--json", "--", in.Name}}))
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "netns_list", Description: "List the namespaces npte manages, as a JSON array (sudo -n npte netns list --json)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ NoInput) (*mcp.CallToolResult, Result, error) {
			return s.finish(s.run(ctx, call{sudo: true, args: []string{"netns", "list", "--json"}}))
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "netns_show", Description: "Show a managed namespace's links, addresses, routes, qdiscs, neighbours, sockets and pids (sudo -n npte netns show)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in NetnsShowInput) (*mcp.CallToolResult, Result, error) {
			c, err := netnsShowArgs(in)
			if err != nil {
				return nil, Result{}, err
			}
			return s.finish(s.run(ctx, c))
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "netns_run", Description: "Start a command inside a managed namespace, as the user, in a bubblewrap sandbox (sudo -n npte netns run --sandbox). Returns its id, and its output if it exits within wait_seconds; netns_run_output reads more, netns_run_stop interrupts it. Use it for servers (iperf3 -s) and measurements (ping, curl, iperf3 -c)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in NetnsRunInput) (*mcp.CallToolResult, RunStatus, error) {
			c, err := netnsRunArgs(in)
			if err != nil {
				return nil, RunStatus{}, err
			}
			wait := 10
			if in.WaitSeconds != nil {
				wait = *in.WaitSeconds
			}
			if wait < 0 || wait > 600 {
				return nil, RunStatus{}, fmt.Errorf("invalid wait_seconds %d: must be 0 to 600", wait)
			}
			r, err := s.start(c)
			if err != nil {
				return nil, RunStatus{}, err
			}
			select {
			case <-r.done:
			case <-time.After(time.Duration(wait) * time.Second):
			case <-ctx.Done():
			}
			st, err := r.status(defaultTail)
			return &mcp.CallToolResult{IsError: st.ExitCode != nil && *st.ExitCode != 0}, st, err
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "netns_run_output", Description: "Read the state and the end of the output of a command netns_run started."},
		func(_ context.Context, _ *mcp.CallToolRequest, in RunIDInput) (*mcp.CallToolResult, RunStatus, error) {
			r, err := s.lookup(in.ID)
			if err != nil {
				return nil, RunStatus{}, err
			}
			n := defaultTail
			if in.TailBytes != nil {
				n = *in.TailBytes
				if n < 0 || n > maxOutput {
					return nil, RunStatus{}, fmt.Errorf("invalid tail_bytes %d: must be 0 to %d", n, maxOutput)
				}
			}
			st, err := r.status(int64(n))
			return nil, st, err
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "netns_run_stop", Description: "Interrupt a command netns_run started: SIGINT to its process group, SIGTERM if it is still running 5 seconds later. Returns its final state."},
		func(_ context.Context, _ *mcp.CallToolRequest, in RunIDInput) (*mcp.CallToolResult, RunStatus, error) {
			r, err := s.lookup(in.ID)
			if err != nil {
				return nil, RunStatus{}, err
			}
			r.stop(s.cfg.Grace)
			st, err := r.status(defaultTail)
			if err == nil && st.Running {
				err = fmt.Errorf("%s: %v (pid %d)", r.id, errStillRunning, r.pid)
			}
			return nil, st, err
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "netns_run_list", Description: "List the commands netns_run started, with their state (no output)."},
		func(_ context.Context, _ *mcp.CallToolRequest, _ NoInput) (*mcp.CallToolResult, RunList, error) {
			return nil, s.list(), nil
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "netem_apply", Description: "Shape an interface of a managed namespace: delay, loss, rate, ... (sudo -n npte netem apply). Replaces the direction's previous shaping."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in NetemApplyInput) (*mcp.CallToolResult, Result, error) {
			c, err := netemApplyArgs(in)
			if err != nil {
				return nil, Result{}, err
			}
			return s.finish(s.run(ctx, c))
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "netem_clear", Description: "Remove npte's shaping from an interface (sudo -n npte netem clear)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in NetemClearInput) (*mcp.CallToolResult, Result, error) {
			c, err := netemClearArgs(in)
			if err != nil {
				return nil, Result{}, err
			}
			return s.finish(s.run(ctx, c))
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "netem_show", Description: "Show a managed namespace's shaping in netem_apply's terms, as JSON (sudo -n npte netem show --json)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in NetemShowInput) (*mcp.CallToolResult, Result, error) {
			c, err := netemShowArgs(in)
			if err != nil {
				return nil, Result{}, err
			}
			return s.finish(s.run(ctx, c))
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "doctor", Description: "Check the programs and kernel features npte needs (npte doctor, without sudo)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ NoInput) (*mcp.CallToolResult, Result, error) {
			return s.finish(s.run(ctx, call{args: []string{"doctor"}}))
		})
}

// defaultTail is how much of each stream a run's status returns.
const defaultTail = 16384

// finish marks a result whose command failed as a tool error.
func (s *Server) finish(r Result) (*mcp.CallToolResult, Result, error) {
	return &mcp.CallToolResult{IsError: r.ExitCode != 0}, r, nil
}

// labFile writes a lab file handed as contents to a new 0600 file in the
// session directory and returns its path.
func (s *Server) labFile(contents string) (string, error) {
	if err := checkLabFile(contents); err != nil {
		return "", err
	}
	s.mu.Lock()
	s.files++
	n := s.files
	s.mu.Unlock()
	dir := filepath.Join(s.cfg.SessionDir, "labs")
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	path := filepath.Join(dir, "lab-"+strconv.Itoa(n)+".yaml")
	if err := writeNew(path, []byte(contents)); err != nil {
		return "", err
	}
	return path, nil
}

// labTarget is the NAME or FILE a lab verb gets: exactly one of them.
func (s *Server) labTarget(in LabTargetInput) (string, error) {
	switch {
	case in.Name != "" && in.File != "":
		return "", fmt.Errorf("give the lab's name or its file, not both")
	case in.Name != "":
		if err := validate.NetnsName(in.Name); err != nil {
			return "", fmt.Errorf("lab name: %w", err)
		}
		return in.Name, nil
	case in.File != "":
		return s.labFile(in.File)
	}
	return "", fmt.Errorf("give the lab's name or its file")
}

// status is r's state and the last n bytes of each stream.
func (r *run) status(n int64) (RunStatus, error) {
	st := RunStatus{ID: r.id, Argv: r.argv, Dir: r.dir, Running: true}
	if done, code := r.exited(); done {
		st.Running, st.ExitCode = false, &code
	}
	var err error
	if st.Stdout, st.StdoutBytes, err = r.tail("stdout", n); err != nil {
		return st, err
	}
	st.Stderr, st.StderrBytes, err = r.tail("stderr", n)
	return st, err
}

// list is the state of every run, oldest first.
func (s *Server) list() RunList {
	s.mu.Lock()
	runs := make([]*run, 0, len(s.runs))
	for _, r := range s.runs {
		runs = append(runs, r)
	}
	s.mu.Unlock()
	sort.Slice(runs, func(i, j int) bool {
		a, _ := strconv.Atoi(strings.TrimPrefix(runs[i].id, "run-"))
		b, _ := strconv.Atoi(strings.TrimPrefix(runs[j].id, "run-"))
		return a < b
	})
	out := RunList{Runs: []RunStatus{}}
	for _, r := range runs {
		st := RunStatus{ID: r.id, Argv: r.argv, Dir: r.dir, Running: true}
		if done, code := r.exited(); done {
			st.Running, st.ExitCode = false, &code
		}
		out.Runs = append(out.Runs, st)
	}
	return out
}
