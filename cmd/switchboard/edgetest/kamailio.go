package edgetest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// kamailioReady bounds how long Kamailio may take to answer its first
// OPTIONS.
const kamailioReady = 15 * time.Second

// KamailioOptions configures a Kamailio started by StartKamailio.
type KamailioOptions struct {
	// Listen is the SIP address Kamailio listens on, over UDP and TCP. The
	// zero value is 127.0.0.1 with a port the kernel picks; an address with
	// port 0 gets a picked port.
	Listen netip.AddrPort
	// Nodes are the Switchboard nodes' SIP UDP addresses: dispatcher set 1.
	// A node that does not listen yet (a standby) belongs here too.
	Nodes []netip.AddrPort
	// PikeDensity turns on the flood protection: an address sending more
	// requests than this in 2 s is blocked. 0 leaves it off, as tests whose
	// callers all come from 127.0.0.1 need.
	PikeDensity int
}

// Kamailio is a running Kamailio with the repository's SIP edge config.
type Kamailio struct {
	addr netip.AddrPort
}

// StartKamailio renders deploy/kamailio's config for o into a directory of
// the test, runs Kamailio on it in the foreground, and returns once
// Kamailio answers OPTIONS. Kamailio is stopped when the test ends.
func StartKamailio(t testing.TB, o KamailioOptions) *Kamailio {
	t.Helper()
	bin := program(t, "kamailio", "kamailio")
	listen := o.Listen
	if !listen.Addr().IsValid() {
		listen = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0)
	}
	cfg := filepath.Join(deployDir(t), "kamailio", "kamailio.cfg")
	for attempt := 1; ; attempt++ {
		at := listen
		if at.Port() == 0 {
			at = FreePort(t, at.Addr(), true)
		}
		k, err := startKamailio(t, bin, cfg, at, o)
		if err == nil {
			return k
		}
		// A port picked here may have been taken before Kamailio bound it.
		if !errors.Is(err, errExited) || listen.Port() != 0 || attempt == startAttempts {
			t.Fatalf("edgetest: kamailio on %v not answering OPTIONS: %v", at, err)
		}
	}
}

// startKamailio runs Kamailio with the config at cfg listening at listen,
// in a directory of its own, and waits until it answers OPTIONS.
func startKamailio(t testing.TB, bin, cfg string, listen netip.AddrPort, o KamailioOptions) (*Kamailio, error) {
	t.Helper()
	dir := t.TempDir()
	copyFile(t, cfg, filepath.Join(dir, "kamailio.cfg"))
	list := filepath.Join(dir, "dispatcher.list")
	writeDispatcherList(t, list, o.Nodes)
	args := []string{"-DD", "-E", "-f", filepath.Join(dir, "kamailio.cfg"), "-Y", dir, "-w", dir,
		"-A", "SIP_LISTEN=" + listen.String(),
		"-A", fmt.Sprintf("DS_LIST=%q", list),
		"-A", "CHILDREN=2",
	}
	if o.PikeDensity > 0 {
		args = append(args, "-A", "PIKE_DENSITY="+strconv.Itoa(o.PikeDensity))
	} else {
		args = append(args, "-A", "NO_PIKE")
	}
	p := startProcess(t, "kamailio", exec.Command(bin, args...))
	return &Kamailio{addr: listen}, waitReady(p, kamailioReady, func() error { return pingSIP(listen) })
}

// Addr is Kamailio's SIP address (UDP and TCP).
func (k *Kamailio) Addr() netip.AddrPort { return k.addr }

// writeDispatcherList writes the dispatcher list of nodes: set 1, each node
// inactive and probing (flags 9) until it answers a probe.
func writeDispatcherList(t testing.TB, path string, nodes []netip.AddrPort) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("# Written by edgetest: the nodes of this test.\n")
	for _, n := range nodes {
		fmt.Fprintf(&b, "1 sip:%s 9\n", n)
	}
	writeFile(t, path, b.Bytes())
}

// pingSIP sends one OPTIONS to addr over UDP and reports whether a 200
// came back.
func pingSIP(addr netip.AddrPort) error {
	status, err := exchangeSIP("udp", addr, "OPTIONS", "sip:"+addr.String(), nil, nil)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(status, "SIP/2.0 200 ") {
		return fmt.Errorf("edgetest: OPTIONS answered %q", status)
	}
	return nil
}

// exchangeSIP sends one request to addr over network ("udp" or "tcp") from
// a port of its own, with the headers every request needs and extra ones,
// and returns the status line of the first response, or an error if none
// came within 250 ms.
func exchangeSIP(network string, addr netip.AddrPort, method, ruri string, extra []string, body []byte) (string, error) {
	c, err := net.DialTimeout(network, addr.String(), 250*time.Millisecond)
	if err != nil {
		return "", err
	}
	defer c.Close()
	local := c.LocalAddr().String()
	id := strconv.FormatInt(time.Now().UnixNano(), 36)
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, ruri)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK-edgetest-%s;rport\r\n", strings.ToUpper(network), local, id)
	fmt.Fprintf(&b, "From: <sip:edgetest@%s>;tag=%s\r\n", local, id)
	fmt.Fprintf(&b, "To: <%s>\r\n", ruri)
	fmt.Fprintf(&b, "Call-ID: edgetest-%s\r\n", id)
	fmt.Fprintf(&b, "CSeq: 1 %s\r\n", method)
	if !slices.ContainsFunc(extra, func(h string) bool { return strings.HasPrefix(h, "Max-Forwards:") }) {
		b.WriteString("Max-Forwards: 70\r\n")
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	if _, err := c.Write(b.Bytes()); err != nil {
		return "", err
	}
	if err := c.SetReadDeadline(time.Now().Add(250 * time.Millisecond)); err != nil {
		return "", err
	}
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return "", err
	}
	status, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	return status, nil
}
