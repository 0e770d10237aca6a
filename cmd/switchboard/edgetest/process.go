package edgetest

import (
	"bufio"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"switchboard/sip/siptest"
)

// startAttempts is how many times a program is started on a port picked
// for it before its start fails the test.
const startAttempts = 3

// stopGrace is how long a program has to exit after SIGTERM before it and
// its process group are killed.
const stopGrace = 10 * time.Second

// process is an external program started for a test, in a process group
// of its own, its output logged to the test.
type process struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the program has exited
	logged chan struct{} // closed when every process of the group closed its output
}

// testLog writes lines to a test's log until it is closed.
type testLog struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

func (l *testLog) log(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.t.Log(line)
	}
}

func (l *testLog) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}

// startProcess starts cmd as name and registers its stop with the test's
// cleanup.
func startProcess(t testing.TB, name string, cmd *exec.Cmd) *process {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		t.Fatalf("edgetest: start %s: %v", name, err)
	}
	w.Close()
	p := &process{name: name, cmd: cmd, exited: make(chan struct{}), logged: make(chan struct{})}
	lg := &testLog{t: t}
	go func() {
		defer close(p.logged)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lg.log(name + ": " + sc.Text())
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(t)
		lg.close()
		r.Close()
	})
	return p
}

// stop ends the program with SIGTERM, and its whole process group with
// SIGKILL if it or a process it forked outlives stopGrace.
func (p *process) stop(t testing.TB) {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	timeout := time.NewTimer(stopGrace)
	defer timeout.Stop()
	select {
	case <-p.exited:
		select {
		case <-p.logged:
			return
		case <-timeout.C:
		}
	case <-timeout.C:
	}
	t.Logf("edgetest: %s did not stop within %v; killing its process group", p.name, stopGrace)
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.exited
}

// running reports whether the program has not exited.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// program returns the path of the program name: on PATH, or in /usr/sbin,
// where Debian installs kamailio and nginx and which is not on a normal
// user's PATH. A missing program skips the test, or fails it under CI
// (siptest.RequireProgram), naming the Debian package pkg.
func program(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p, err := exec.LookPath(filepath.Join("/usr/sbin", name)); err == nil {
		return p
	}
	return siptest.RequireProgram(t, name, pkg)
}

// deployDir is the repository's deploy/ directory, found above the working
// directory (a package directory under go test).
func deployDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		d := filepath.Join(dir, "deploy")
		if _, err := os.Stat(filepath.Join(d, "kamailio", "kamailio.cfg")); err == nil {
			return d
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("edgetest: no deploy/kamailio/kamailio.cfg above the working directory")
		}
		dir = parent
	}
}

// copyFile copies the file at src to dst.
func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dst, b)
}

// writeFile writes b to the file at path, readable by all.
func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// FreePort returns an address on a with a port the kernel picked that is
// free for TCP and, when udp is set, for UDP too. The port is released
// before it is returned, for the program that will listen on it.
func FreePort(t testing.TB, a netip.Addr, udp bool) netip.AddrPort {
	t.Helper()
	var lastErr error
	for range 20 {
		l, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
		if err != nil {
			t.Fatal(err)
		}
		ap := l.Addr().(*net.TCPAddr).AddrPort()
		if !udp {
			l.Close()
			return netip.AddrPortFrom(a, ap.Port())
		}
		pc, err := net.ListenPacket("udp", netip.AddrPortFrom(a, ap.Port()).String())
		l.Close()
		if err == nil {
			pc.Close()
			return netip.AddrPortFrom(a, ap.Port())
		}
		lastErr = err
	}
	t.Fatalf("edgetest: no port free for both TCP and UDP on %v: %v", a, lastErr)
	return netip.AddrPort{}
}

// errExited is returned by a readiness wait whose program exited.
var errExited = errors.New("edgetest: program exited before it was ready")

// waitReady polls ready every 50 ms until it succeeds, p exits or timeout
// passes.
func waitReady(p *process, timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if !p.running() {
			return errExited
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
