package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNoBinaries is returned when no PostgreSQL server binaries can be found.
var ErrNoBinaries = errors.New("pgcluster: PostgreSQL server binaries not found (install postgresql-15, or set PG_BINDIR)")

// Superuser is the name of the cluster's superuser role.
const Superuser = "postgres"

// Cluster is one private PostgreSQL server and its data directory.
type Cluster struct {
	dir    string // parent directory: data/ and the port file live here
	bindir string
	port   int
	cred   *syscall.Credential

	lock *os.File // flock held while this process owns the cluster

	settings []string // server settings (name=value) passed to every start
	unsafe   bool     // WithoutDurability

	mu      sync.Mutex
	running bool
}

// ErrInUse is returned by Start when another live process owns the cluster.
var ErrInUse = errors.New("pgcluster: the cluster is in use by another process")

// Option configures Start.
type Option func(*options)

type options struct {
	unsafe bool
}

// WithoutDurability starts the server with fsync, synchronous_commit and
// full_page_writes off. A crash of the server or the machine can then lose
// committed transactions or corrupt the whole cluster, so this is for
// throwaway clusters only: pgtest uses it for the test clusters, whose data
// is deleted after the run anyway. A cluster holding real data (the one
// `switchboard serve` starts) must never use it.
func WithoutDurability() Option { return func(o *options) { o.unsafe = true } }

// durableSettings are the server settings of every cluster: PostgreSQL's
// durable defaults (fsync, synchronous_commit, full_page_writes all on)
// plus tuning for a write-heavy system of record on a small machine.
var durableSettings = []string{
	"max_connections=200",
	"shared_buffers=1GB",
	// WAL: few checkpoints (each one makes the next change to every page
	// write a full-page image), compressed full-page images, a WAL
	// buffer that holds a whole COPY batch, and a WAL writer that flushes
	// it in the background every 10 ms, so that a commit after a large
	// COPY finds most of its WAL already on disk.
	"max_wal_size=8GB",
	"min_wal_size=1GB",
	"checkpoint_timeout=15min",
	"checkpoint_completion_target=0.9",
	"wal_compression=lz4",
	"wal_buffers=64MB",
	"wal_writer_delay=10ms",
	// Solid-state storage and short OLTP queries.
	"random_page_cost=1.1",
	"effective_cache_size=4GB",
	"jit=off",
	"log_checkpoints=on",
}

// unsafeSettings trade durability for speed (WithoutDurability).
var unsafeSettings = []string{"fsync=off", "synchronous_commit=off", "full_page_writes=off"}

// Start initialises dir on first use (initdb) and starts the server on
// loopback. A second Start on the same dir reuses the data and the port.
// The server runs with PostgreSQL's durable defaults (every commit is on
// disk before it is acknowledged) unless WithoutDurability is given.
func Start(ctx context.Context, dir string, opts ...Option) (*Cluster, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	bindir, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	c := &Cluster{dir: abs, bindir: bindir, settings: durableSettings, unsafe: o.unsafe}
	if o.unsafe {
		c.settings = append(slices.Clip(durableSettings), unsafeSettings...)
	}
	if os.Geteuid() == 0 {
		if c.cred, err = postgresCredential(); err != nil {
			return nil, err
		}
	}
	// The parents must stay traversable by the postgres user; only the
	// cluster's own directory is private to it.
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if err := os.Mkdir(abs, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if err := c.chown(abs); err != nil {
		return nil, err
	}
	// One owner at a time: a live owner holds the lock; a crashed one's
	// leftover server is stopped and restarted by the new owner.
	lock, err := os.OpenFile(filepath.Join(abs, "owner.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("%w: %s", ErrInUse, abs)
	}
	c.lock = lock
	if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.initdb(ctx); err != nil {
			c.Close()
			return nil, err
		}
	}
	if c.port, err = c.loadPort(); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.Restart(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close stops the server and gives up ownership of the cluster.
func (c *Cluster) Close() error {
	err := c.Stop(context.Background())
	if c.lock != nil {
		c.lock.Close()
		c.lock = nil
	}
	return err
}

// FindBinDir locates the PostgreSQL server binaries: $PG_BINDIR, then
// `pg_config --bindir`, then the Debian locations, then PATH.
func FindBinDir() (string, error) {
	var candidates []string
	if d := os.Getenv("PG_BINDIR"); d != "" {
		candidates = append(candidates, d)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	for _, v := range []string{"17", "16", "15", "14"} {
		candidates = append(candidates, "/usr/lib/postgresql/"+v+"/bin")
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, d := range candidates {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: running as root needs the postgres system user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func (c *Cluster) chown(path string) error {
	if c.cred == nil {
		return nil
	}
	if err := os.Chown(path, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

func (c *Cluster) dataDir() string  { return filepath.Join(c.dir, "data") }
func (c *Cluster) portFile() string { return filepath.Join(c.dir, "port") }
func (c *Cluster) logFile() string  { return filepath.Join(c.dir, "server.log") }

func (c *Cluster) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bindir, name), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "LANG=C.UTF-8")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pgcluster: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	args := []string{"-D", c.dataDir(), "-U", Superuser, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"}
	if c.unsafe {
		args = append(args, "--no-sync")
	}
	return c.run(ctx, "initdb", args...)
}

// loadPort returns the port remembered for this cluster, choosing a free one on first use.
func (c *Cluster) loadPort() (int, error) {
	if b, err := os.ReadFile(c.portFile()); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 {
			return p, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: pick a port: %w", err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if err := os.WriteFile(c.portFile(), []byte(strconv.Itoa(p)), 0o644); err != nil {
		return 0, fmt.Errorf("pgcluster: %w", err)
	}
	return p, nil
}

// Restart starts a stopped cluster again on the same port with the same data
// and settings.
// It waits until the server accepts connections.
func (c *Cluster) Restart(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return nil
	}
	// A server left over by a crashed run holds the port: stop it first.
	if _, err := os.Stat(filepath.Join(c.dataDir(), "postmaster.pid")); err == nil {
		_ = c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-m", "fast", "-w", "stop")
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s", c.port, c.dir)
	for _, s := range c.settings {
		opts += " -c " + s
	}
	if err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-l", c.logFile(), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		return err
	}
	if err := waitTCP(ctx, c.Addr()); err != nil {
		return err
	}
	c.running = true
	return nil
}

// Stop shuts the server down (fast mode: open sessions are disconnected).
// The data stays; Restart brings the same cluster back.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil
	}
	if err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-m", "fast", "-w", "stop"); err != nil {
		return err
	}
	c.running = false
	return nil
}

// Addr is the server's host:port on loopback.
func (c *Cluster) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)) }

// DSN returns a connection URL for database db as the superuser.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", Superuser, c.Addr(), db)
}

// CreateDatabase creates database name (ignoring "already exists").
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	err := c.run(ctx, "createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", Superuser, name)
	if err != nil && strings.Contains(err.Error(), "already exists") {
		return nil
	}
	return err
}

// DropDatabase drops database name, disconnecting its sessions.
func (c *Cluster) DropDatabase(ctx context.Context, name string) error {
	return c.run(ctx, "dropdb", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", Superuser, "--if-exists", "--force", name)
}

func waitTCP(ctx context.Context, addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgcluster: server on %s did not come up: %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
