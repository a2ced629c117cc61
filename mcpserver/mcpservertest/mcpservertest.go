// Package mcpservertest drives an npte MCP server in tests: a server on
// the SDK's in-memory transport, connected to a client, with a fake sudo
// and a fake npte that record every argv they are run with.
package mcpservertest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/npte/npte/mcpserver"
)

// fake records its argv ($0 first), NUL-separated after a count, in the
// log next to it. With EXEC set, a 'sudo -n NPTE netns run ... -- NS CMD...'
// then becomes CMD... itself (the namespace is ignored), so that tests of
// netns_run have a real process to read and stop.
const fake = `#!/bin/sh
log="$(dirname "$0")/log"
printf '%s\0' "$#" "$0" "$@" >> "$log"
if [ -n "$EXEC" ] && [ "$1" = -n ] && [ "$3" = netns ] && [ "$4" = run ]; then
	while [ $# -gt 0 ] && [ "$1" != -- ]; do shift; done
	shift 2
	exec "$@"
fi
echo "fake $(basename "$0")"
exit 0
`

// Harness is a connected server and client, and the fakes' log.
type Harness struct {
	Server  *mcpserver.Server
	Session *mcp.ClientSession
	Config  mcpserver.Config
	// Log is the file the fakes append to.
	Log string
}

// Options change the harness.
type Options struct {
	// Exec makes the fake sudo run netns_run's command (see fake).
	Exec bool
	// Sudo and Npte replace the fakes (e.g. the real npte binary).
	Sudo, Npte string
	// Env is the children's environment (default: PATH only).
	Env []string
	// Dir is the children's working directory (default: the test's).
	Dir string
}

// New starts a server with fakes for sudo and npte and connects a client
// to it; both stop at the end of the test.
func New(t testing.TB, o Options) *Harness {
	t.Helper()
	bin := t.TempDir()
	h := &Harness{Log: filepath.Join(bin, "log")}
	for _, name := range []string{"sudo", "npte"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	session := filepath.Join(t.TempDir(), "session")
	if err := os.Mkdir(session, 0o700); err != nil {
		t.Fatal(err)
	}
	env := o.Env
	if env == nil {
		env = []string{"PATH=/usr/bin:/bin"}
	}
	if o.Exec {
		env = append(env, "EXEC=1")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if o.Dir != "" {
		wd = o.Dir
	}
	h.Config = mcpserver.Config{
		Npte:       filepath.Join(bin, "npte"),
		Sudo:       filepath.Join(bin, "sudo"),
		SessionDir: session,
		Dir:        wd,
		Env:        env,
		Version:    "test",
		Grace:      time.Second,
	}
	if o.Sudo != "" {
		h.Config.Sudo = o.Sudo
	}
	if o.Npte != "" {
		h.Config.Npte = o.Npte
	}
	srv, err := mcpserver.New(h.Config)
	if err != nil {
		t.Fatal(err)
	}
	h.Server = srv
	st, ct := mcp.NewInMemoryTransports()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ss, err := srv.MCP().Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { done <- ss.Wait() }()
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "test"}, nil)
	h.Session, err = client.Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Session.Close()
		<-done
		srv.Close()
		cancel()
	})
	return h
}

// Call calls tool with args (marshalled to JSON) and returns the result.
func (h *Harness) Call(t testing.TB, tool string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := h.Session.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return res
}

// Text is the text content of res.
func Text(res *mcp.CallToolResult) string {
	var b bytes.Buffer
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// Decode decodes res's structured content into v.
func Decode(t testing.TB, res *mcp.CallToolResult, v any) {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

// Calls returns every argv the fakes recorded, oldest first, and empties
// the log.
func (h *Harness) Calls(t testing.TB) [][]string {
	t.Helper()
	b, err := os.ReadFile(h.Log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(h.Log); err != nil {
		t.Fatal(err)
	}
	words := bytes.Split(b, []byte{0})
	var out [][]string
	for i := 0; i+1 < len(words); {
		n, err := strconv.Atoi(string(words[i]))
		if err != nil || i+2+n > len(words) {
			t.Fatalf("corrupt fake log at word %d: %q", i, b)
		}
		var argv []string
		for _, w := range words[i+1 : i+2+n] {
			argv = append(argv, string(w))
		}
		out = append(out, argv)
		i += 2 + n
	}
	return out
}
