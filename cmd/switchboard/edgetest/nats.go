package edgetest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// natsReady bounds how long nats-server may take to greet its first
// client.
const natsReady = 15 * time.Second

// StartNATS runs nats-server in the foreground with the repository's
// deploy/nats/nats.conf, listening on 127.0.0.1 with a port the kernel
// picked (the command line overrides the config's listen address), and
// returns its URL ("nats://127.0.0.1:port") once it greets a client.
// nats-server is stopped when the test ends.
func StartNATS(t testing.TB) string {
	t.Helper()
	bin := program(t, "nats-server", "nats-server")
	conf := filepath.Join(deployDir(t), "nats", "nats.conf")
	for attempt := 1; ; attempt++ {
		listen := FreePort(t, netip.MustParseAddr("127.0.0.1"), false)
		cmd := exec.Command(bin, "-c", conf, "-a", listen.Addr().String(), "-p", strconv.Itoa(int(listen.Port())))
		p := startProcess(t, "nats-server", cmd)
		err := waitReady(p, natsReady, func() error { return greetNATS(listen) })
		if err == nil {
			return "nats://" + listen.String()
		}
		// The port may have been taken before nats-server bound it.
		if !errors.Is(err, errExited) || attempt == startAttempts {
			t.Fatalf("edgetest: nats-server on %v not greeting clients: %v", listen, err)
		}
	}
}

// greetNATS connects to addr and reports whether a NATS server greeted
// the connection with its INFO line, which it sends before anything else.
// Only a connection accepted by nats-server proves it listens: another
// program may hold a port picked for it.
func greetNATS(addr netip.AddrPort) error {
	c, err := net.DialTimeout("tcp", addr.String(), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "INFO ") {
		return fmt.Errorf("edgetest: %v greeted with %q, not a NATS INFO", addr, line)
	}
	return nil
}
