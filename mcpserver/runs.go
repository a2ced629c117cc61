package mcpserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// run is one command netns_run started. Its output goes to files in its
// own directory under the session directory:
//
//	runs/ID/argv.json  the full argv, as a JSON array
//	runs/ID/stdout     its standard output
//	runs/ID/stderr     its standard error
//	runs/ID/exit       its exit status, written once it has exited
//
// every file 0600, the directory 0700.
type run struct {
	id   string
	dir  string
	argv []string
	pid  int
	done chan struct{} // closed once the process has exited

	mu   sync.Mutex
	code int // exit status, valid once done is closed
}

// start starts c in the background and returns its run.
func (s *Server) start(c call) (*run, error) {
	argv := s.argv(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	// Under s.mu: Close either sees this run in s.runs, or this start sees
	// closed and starts nothing. A late start cannot orphan a command.
	if s.closed {
		return nil, errors.New("the server is shutting down")
	}
	s.nextID++
	id := "run-" + strconv.Itoa(s.nextID)
	dir := filepath.Join(s.cfg.SessionDir, "runs", id)
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(argv)
	if err := writeNew(filepath.Join(dir, "argv.json"), append(b, '\n')); err != nil {
		return nil, err
	}
	stdout, err := createNew(filepath.Join(dir, "stdout"))
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := createNew(filepath.Join(dir, "stderr"))
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	cmd := s.command(argv)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", argv[0], err)
	}
	r := &run{id: id, dir: dir, argv: argv, pid: cmd.Process.Pid, done: make(chan struct{})}
	s.runs[id] = r
	go func() {
		err := cmd.Wait()
		code := -1
		var ee *osexec.ExitError
		switch {
		case err == nil:
			code = 0
		case errors.As(err, &ee):
			code = ee.ExitCode() // -1 when a signal ended it
		}
		_ = writeNew(filepath.Join(dir, "exit"), []byte(strconv.Itoa(code)+"\n"))
		r.mu.Lock()
		r.code = code
		r.mu.Unlock()
		close(r.done)
	}()
	return r, nil
}

// lookup returns the run called id.
func (s *Server) lookup(id string) (*run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.runs[id]; ok {
		return r, nil
	}
	return nil, fmt.Errorf("no command with id %q (netns_run_list lists them)", id)
}

// exited reports whether r has exited, and its exit status.
func (r *run) exited() (bool, int) {
	select {
	case <-r.done:
		r.mu.Lock()
		defer r.mu.Unlock()
		return true, r.code
	default:
		return false, 0
	}
}

// wait waits at most d for r to exit.
func (r *run) wait(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.done:
	case <-t.C:
	}
}

// signal sends sig to r's process group, unless r has exited (its pid
// may then belong to another process).
func (r *run) signal(sig syscall.Signal) error {
	select {
	case <-r.done:
		return nil
	default:
	}
	err := syscall.Kill(-r.pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// stop interrupts r: SIGINT, then SIGTERM if it has not exited after
// grace; then waits at most grace again. Never SIGKILL: sudo cannot relay
// it (see stopGroup).
func (r *run) stop(grace time.Duration) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		if done, _ := r.exited(); done {
			return
		}
		_ = r.signal(sig)
		r.wait(grace)
	}
}

// tail returns at most n bytes from the end of file name in r's
// directory, its full size, and whether it was cut.
func (r *run) tail(name string, n int64) (string, int64, error) {
	f, err := os.OpenFile(filepath.Join(r.dir, name), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	size := fi.Size()
	off := max(size-n, 0)
	b := make([]byte, size-off)
	k, err := f.ReadAt(b, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", 0, err
	}
	return string(b[:k]), size, nil
}

// createNew creates name, which must not exist, with mode 0600.
func createNew(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
}

// writeNew writes b to name, which must not exist, with mode 0600.
func writeNew(name string, b []byte) error {
	f, err := createNew(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
