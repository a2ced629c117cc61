package kerneltest

import (
	"os/exec"
	"testing"
	"time"

	"github.com/npte/npte/internal/uml"
)

func TestUMLSmoke(t *testing.T) {
	if !uml.Enter(t, uml.StandardModules, time.Minute, binVar+"="+npteBin()) {
		return
	}
	uml.Must(t)
	out, err := exec.Command(npteBin(), "lab", "create").CombinedOutput()
	t.Logf("lab create: %v %s", err, out)
	out, _ = exec.Command("sh", "-c", "lsmod; ip netns exec client ping -c 3 -i 0.2 172.16.2.2; ip netns exec router tc qdisc add dev if-client root netem delay 20ms; ip netns exec client ping -c 3 -i 0.2 172.16.2.2").CombinedOutput()
	t.Logf("%s", out)
}
