package edgetest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nginxReady bounds how long nginx may take to accept its first connection.
const nginxReady = 15 * time.Second

// NginxOptions configures an nginx started by StartNginx.
type NginxOptions struct {
	// Upstreams are the nodes' HTTP addresses ("127.0.0.1:8081"), in
	// order. An address nothing listens on yet (a standby) belongs here too.
	Upstreams []string
}

// Nginx is a running nginx with the repository's HTTP edge config.
type Nginx struct {
	addr netip.AddrPort
}

// StartNginx renders deploy/nginx's config for o into a prefix directory
// of its own, runs nginx on it in the foreground (as the user nobody when
// the test runs as root) listening on 127.0.0.1 with a port the kernel
// picked, and returns once it accepts connections. nginx is stopped when
// the test ends.
func StartNginx(t testing.TB, o NginxOptions) *Nginx {
	t.Helper()
	bin := program(t, "nginx", "nginx")
	if len(o.Upstreams) == 0 {
		t.Fatal("edgetest: nginx needs at least one upstream")
	}
	var ups, cti bytes.Buffer
	for _, u := range o.Upstreams {
		if _, _, err := net.SplitHostPort(u); err != nil || strings.ContainsAny(u, " \t\r\n;{}#") {
			t.Fatalf("edgetest: bad upstream %q", u)
		}
		fmt.Fprintf(&ups, "server %s max_fails=1 fail_timeout=1s;\n", u)
		fmt.Fprintf(&cti, "server %s max_fails=0;\n", u)
	}
	cred := unprivileged(t)
	conf := filepath.Join(deployDir(t), "nginx", "nginx.conf")
	for attempt := 1; ; attempt++ {
		listen := FreePort(t, netip.MustParseAddr("127.0.0.1"), false)
		n, err := startNginx(t, bin, conf, listen, ups.Bytes(), cti.Bytes(), cred)
		if err == nil {
			return n
		}
		// The port may have been taken before nginx bound it.
		if !errors.Is(err, errExited) || attempt == startAttempts {
			t.Fatalf("edgetest: nginx on %v not accepting connections: %v", listen, err)
		}
	}
}

// startNginx runs nginx with the config at conf, listening at listen and
// proxying to the upstreams (server lines; ctiUpstreams for /cti), in a
// prefix directory of its own, and waits until it accepts connections.
func startNginx(t testing.TB, bin, conf string, listen netip.AddrPort, upstreams, ctiUpstreams []byte, cred *syscall.Credential) (*Nginx, error) {
	t.Helper()
	prefix := prefixDir(t, cred)
	copyFile(t, conf, filepath.Join(prefix, "nginx.conf"))
	writeFile(t, filepath.Join(prefix, "upstreams.conf"), upstreams)
	writeFile(t, filepath.Join(prefix, "cti_upstreams.conf"), ctiUpstreams)
	writeFile(t, filepath.Join(prefix, "listen.conf"), []byte("listen "+listen.String()+";\n"))
	cmd := exec.Command(bin, "-p", prefix+"/", "-c", filepath.Join(prefix, "nginx.conf"), "-e", "stderr")
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	p := startProcess(t, "nginx", cmd)
	return &Nginx{addr: listen}, waitReady(p, nginxReady, func() error {
		c, err := net.DialTimeout("tcp", listen.String(), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// Addr is nginx's listening address.
func (n *Nginx) Addr() netip.AddrPort { return n.addr }

// URL is the base URL of nginx ("http://127.0.0.1:port").
func (n *Nginx) URL() string { return "http://" + n.addr.String() }

// unprivileged returns the credential of the user nobody when the test
// runs as root, and nil otherwise.
func unprivileged(t testing.TB) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("edgetest: running as root, and no user nobody to run nginx as: %v", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// prefixDir makes nginx's prefix directory, owned by cred's user when it is
// set: outside the test's temporary directory, whose parents only root may
// enter. It is removed when the test ends.
func prefixDir(t testing.TB, cred *syscall.Credential) string {
	t.Helper()
	if cred == nil {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "edgetest-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		t.Fatal(err)
	}
	return dir
}
