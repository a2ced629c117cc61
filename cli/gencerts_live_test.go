package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/npte/npte/internal/sandbox"
)

// TestLiveGencertsHTTPS: certificates from npte gencerts serve HTTPS in
// the lab's server namespace (openssl s_server), and curl in the client
// namespace verifies them with ca.pem alone, by address and by name;
// without ca.pem, or under a name the certificate does not carry, curl
// refuses. The key is never readable by group or others.
func TestLiveGencertsHTTPS(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	for _, p := range []string{"openssl", "curl"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s is not installed (.ci/run installs curl; openssl comes with ca-certificates)", p)
		}
	}
	ctNpte(t, 0, "lab", "create")
	defer ctNpte(t, 0, "lab", "destroy")
	dir := filepath.Join(t.TempDir(), "certs")
	out := ctNpte(t, 0, "gencerts", "-C", dir, "--dns-name", "server", "--ip-addr", "172.16.2.2", "--days", "7")
	t.Logf("npte gencerts:\n%s", out)
	fi, err := os.Stat(filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("key.pem is %v: readable by group or others", fi.Mode())
	}
	var slog bytes.Buffer
	srv := exec.Command("ip", "netns", "exec", "server", "openssl", "s_server", "-quiet", "-accept", "8443",
		"-cert", filepath.Join(dir, "cert.pem"), "-key", filepath.Join(dir, "key.pem"), "-www")
	srv.Stdout, srv.Stderr = &slog, &slog
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = srv.Process.Kill() // the server this test started, by pid
		_ = srv.Wait()
	}()
	curl := func(args ...string) (string, int) {
		cmd := exec.Command("ip", append([]string{"netns", "exec", "client", "curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}"}, args...)...)
		b, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(b), ee.ExitCode()
		}
		return string(b), 0
	}
	ca := filepath.Join(dir, "ca.pem")
	var got string
	var code int
	for i := 0; i < 50; i++ { // until the server listens
		if got, code = curl("--cacert", ca, "https://172.16.2.2:8443/"); code != 7 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code != 0 || got != "200" {
		t.Fatalf("curl --cacert ca.pem https://172.16.2.2:8443/: exit %d: %s\nserver: %s", code, got, slog.String())
	}
	if got, code = curl("--cacert", ca, "--resolve", "server:8443:172.16.2.2", "https://server:8443/"); code != 0 || got != "200" {
		t.Errorf("curl by name server: exit %d: %s", code, got)
	}
	// curl's exit 60: the peer's certificate cannot be verified.
	if got, code = curl("--capath", "/nonexistent", "--cacert", "/dev/null", "https://172.16.2.2:8443/"); code == 0 {
		t.Errorf("curl without ca.pem accepted the server: %s", got)
	}
	if got, code = curl("--cacert", ca, "--resolve", "client:8443:172.16.2.2", "https://client:8443/"); code != 60 {
		t.Errorf("curl under a name the certificate lacks: exit %d (want 60): %s", code, got)
	}
	t.Logf("curl --cacert ca.pem from client: https://172.16.2.2:8443/ and https://server:8443/ -> 200; other name -> exit 60")
	if strings.Contains(slog.String(), "error") {
		t.Logf("server log: %s", slog.String())
	}
}
