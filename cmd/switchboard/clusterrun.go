package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"switchboard/crmcore/pgcluster"
)

// clusterOptions are the flags of `switchboard cluster`.
type clusterOptions struct {
	nodes  int
	dir    string // state: PostgreSQL, node configs, logs, cluster.json
	sip    string // Kamailio's listen address (UDP and TCP)
	http   string // nginx's listen address
	deploy string // the repository's deploy/ directory (Kamailio, nginx, NATS configs)
	dbURL  string // an existing PostgreSQL database ("": start one under dir)
	trunk  string // every node's sip.trunk ("": none)
	// noPike runs Kamailio without flood protection (NO_PIKE): for load
	// tests whose callers and phones share one address.
	noPike bool
}

// ClusterNode is one node of a running local cluster (cluster.json).
type ClusterNode struct {
	ID   string `json:"id"`
	PID  int    `json:"pid"`
	HTTP string `json:"http"`
	SIP  string `json:"sip"`
	SMTP string `json:"smtp"` // the node's SMTP listener (mail to the support addresses)
	Dir  string `json:"dir"`
}

// ClusterInfo is what `switchboard cluster` writes to DIR/cluster.json
// once everything runs: where the edges listen, the nodes' NATS server,
// the database, and each node (tests and load generators read it).
type ClusterInfo struct {
	SIP      string        `json:"sip"`
	HTTP     string        `json:"http"`
	NATS     string        `json:"nats"`
	Database string        `json:"database"`
	Nodes    []ClusterNode `json:"nodes"`
}

// clusterMain runs `switchboard cluster`: PostgreSQL, nats-server,
// Kamailio, nginx and the nodes on this machine, until interrupted.
func clusterMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o clusterOptions
	fs.IntVar(&o.nodes, "nodes", 3, "nodes to run")
	fs.StringVar(&o.dir, "dir", "var/cluster", "state directory (database, node configs and logs)")
	fs.StringVar(&o.sip, "sip", "127.0.0.1:5060", "SIP edge (Kamailio) listen address, UDP and TCP")
	fs.StringVar(&o.http, "http", "127.0.0.1:8080", "HTTP edge (nginx) listen address")
	fs.StringVar(&o.deploy, "deploy", "deploy", "the repository's deploy directory")
	fs.StringVar(&o.dbURL, "database", "", "PostgreSQL URL of the nodes' database (default: start one under --dir)")
	fs.StringVar(&o.trunk, "trunk", "", "host:port of the SIP trunk the nodes dial customer numbers through (callbacks, campaigns)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.nodes < 1 || o.nodes > 16 {
		fmt.Fprintln(stderr, "switchboard cluster: --nodes must be 1–16")
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runCluster(ctx, o, stdout, logger); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("cluster", "err", err)
		return 1
	}
	return 0
}

// runCluster starts the cluster, writes cluster.json, prints where to
// look and serves until ctx ends; then it stops the nodes (each drains
// its calls), the edges, the NATS server and the database.
func runCluster(ctx context.Context, o clusterOptions, stdout io.Writer, logger *slog.Logger) error {
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dsn := o.dbURL
	if dsn == "" {
		pg, err := pgcluster.Start(ctx, filepath.Join(dir, "pg"))
		if err != nil {
			return err
		}
		defer func() {
			if err := pg.Close(); err != nil {
				logger.Error("stopping PostgreSQL", "err", err)
			}
		}()
		if err := pg.CreateDatabase(ctx, "switchboard"); err != nil {
			return err
		}
		dsn = pg.DSN("switchboard")
	}
	// The NATS server runs before the nodes, which connect to it as they
	// start, and stops after them (deferred before nodes.Wait).
	natsURL, natsProc, err := startNATS(ctx, o, dir)
	if natsProc != nil {
		defer stopAll([]*proc{natsProc}, logger)
	}
	if err != nil {
		return err
	}
	info := &ClusterInfo{SIP: o.sip, HTTP: o.http, NATS: natsURL, Database: dsn}
	var mu sync.Mutex // guards info's PIDs and cluster.json
	save := func() error {
		mu.Lock()
		defer mu.Unlock()
		b, _ := json.MarshalIndent(info, "", "  ")
		return os.WriteFile(filepath.Join(dir, "cluster.json"), append(b, '\n'), 0o644)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for i := 1; i <= o.nodes; i++ {
		n, err := newClusterNode(dir, i, info.Database, info.NATS, o.trunk)
		if err != nil {
			return err
		}
		info.Nodes = append(info.Nodes, n)
	}
	// Each node runs under a supervisor that starts it again when it
	// exits (killed, or stepped down as leader), as systemd's
	// Restart=always would; it comes back as a node that does not lead.
	var nodes sync.WaitGroup
	defer nodes.Wait()
	nodeCtx, stopNodes := context.WithCancel(context.WithoutCancel(ctx))
	defer stopNodes()
	for i := range info.Nodes {
		n := info.Nodes[i]
		nodes.Go(func() {
			for nodeCtx.Err() == nil {
				p, err := startLogged(filepath.Join(n.Dir, "switchboard.log"), self, "serve", "--config", filepath.Join(n.Dir, "config.yaml"))
				if err != nil {
					logger.Error("starting a node", "node", n.ID, "err", err)
				} else {
					mu.Lock()
					info.Nodes[i].PID = p.cmd.Process.Pid
					mu.Unlock()
					if err := save(); err != nil {
						logger.Error("writing cluster.json", "err", err)
					}
					select {
					case <-p.done:
					case <-nodeCtx.Done():
						stopAll([]*proc{p}, logger)
					}
					if nodeCtx.Err() == nil {
						logger.Warn("node exited; starting it again", "node", n.ID, "state", p.cmd.ProcessState.String())
					}
				}
				select {
				case <-nodeCtx.Done():
				case <-time.After(time.Second):
				}
			}
		})
	}
	edges, err := startEdges(ctx, o, dir, info.Nodes)
	defer func() { stopAll(edges, logger) }()
	if err != nil {
		return err
	}
	if err := save(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, `Switchboard cluster: %d nodes taking calls, one of them routing them (leader by PostgreSQL lock)
  SIP edge (Kamailio)   sip:%s   (UDP and TCP; phones and trunks register and call here)
  HTTP edge (nginx)     http://%s/   (agent desktop, /wallboard, /api/v1, /cti)
  SMTP (every node)     %s   (mail to the support addresses)
  bus (NATS)            %s   (routing commands and events; log %s/nats/nats.log)
  database              %s
  nodes                 %s/node-*/  (config.yaml, switchboard.log)
  state                 %s/cluster.json
Ctrl-C stops everything.
`, o.nodes, o.sip, o.http, nodeSMTP(info.Nodes), info.NATS, dir, info.Database, dir, dir)
	<-ctx.Done()
	stopNodes() // the nodes first: each drains its calls while the edges still carry them
	nodes.Wait()
	return nil
}

// nodeSMTP lists the nodes' SMTP listeners.
func nodeSMTP(nodes []ClusterNode) string {
	addrs := make([]string, 0, len(nodes))
	for _, n := range nodes {
		addrs = append(addrs, n.SMTP)
	}
	return strings.Join(addrs, ", ")
}

// newClusterNode writes node i's directory and configuration: the demo
// configuration with the node's own listeners (ports from the kernel),
// the shared database, cluster mode and the NATS server at natsURL.
func newClusterNode(dir string, i int, dsn, natsURL, trunk string) (ClusterNode, error) {
	n := ClusterNode{ID: "node-" + strconv.Itoa(i), Dir: filepath.Join(dir, "node-"+strconv.Itoa(i))}
	sipHost := "127.0.0." + strconv.Itoa(i+1)
	if err := os.MkdirAll(n.Dir, 0o755); err != nil {
		return n, err
	}
	httpPort, err := freeLoopbackPort("127.0.0.1", "tcp")
	if err != nil {
		return n, err
	}
	// Each node's SIP on a loopback address of its own (127.0.0.2, …):
	// the nodes' relay calls to each other are then told apart from
	// requests through the SIP edge on 127.0.0.1 (sip.edge_proxies).
	sipPort, err := freeLoopbackPort(sipHost, "udp+tcp")
	if err != nil {
		return n, err
	}
	smtpPort, err := freeLoopbackPort("127.0.0.1", "tcp")
	if err != nil {
		return n, err
	}
	n.HTTP = net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort))
	n.SIP = net.JoinHostPort(sipHost, strconv.Itoa(sipPort))
	n.SMTP = net.JoinHostPort("127.0.0.1", strconv.Itoa(smtpPort))
	var root yaml.Node
	if err := yaml.Unmarshal(demoConfig, &root); err != nil {
		return n, err
	}
	for _, kv := range []struct {
		path  []string
		value string
	}{
		{[]string{"http", "listen"}, n.HTTP},
		{[]string{"database", "url"}, dsn},
		{[]string{"database", "data_dir"}, n.Dir},
		{[]string{"sip", "udp"}, n.SIP},
		{[]string{"sip", "tcp"}, n.SIP},
		{[]string{"sip", "rtp_port_min"}, "0"},
		{[]string{"sip", "rtp_port_max"}, "0"},
		{[]string{"sip", "recording_dir"}, filepath.Join(n.Dir, "recordings")},
		{[]string{"sip", "edge_proxies"}, "[127.0.0.1]"},
		{[]string{"sip", "public_ip"}, sipHost},
		{[]string{"sip", "webrtc_ips"}, "[127.0.0.1]"},
		{[]string{"mail", "smtp"}, n.SMTP},
		{[]string{"http", "edge_proxies"}, "[127.0.0.1]"},
		{[]string{"cluster", "enabled"}, "true"},
		{[]string{"cluster", "node_id"}, n.ID},
		{[]string{"cluster", "nats"}, natsURL},
	} {
		setYAML(&root, kv.path, kv.value)
	}
	if trunk != "" {
		setYAML(&root, []string{"sip", "trunk"}, trunk)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return n, err
	}
	return n, os.WriteFile(filepath.Join(n.Dir, "config.yaml"), b.Bytes(), 0o644)
}

// setYAML sets the value at path in a document to value read as YAML (a
// scalar, or a flow sequence such as "[a, b]"), adding the mappings and
// key that are missing.
func setYAML(doc *yaml.Node, path []string, value string) {
	m := doc.Content[0]
	for i, key := range path {
		var next *yaml.Node
		for j := 0; j+1 < len(m.Content); j += 2 {
			if m.Content[j].Value == key {
				next = m.Content[j+1]
			}
		}
		if next == nil {
			next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			if i == len(path)-1 {
				next = &yaml.Node{Kind: yaml.ScalarNode}
			}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, next)
		}
		m = next
	}
	var v yaml.Node
	if yaml.Unmarshal([]byte(value), &v) != nil || len(v.Content) == 0 {
		*m = yaml.Node{Kind: yaml.ScalarNode, Value: value}
		return
	}
	*m = *v.Content[0]
}

// freeLoopbackPort asks the kernel for a free port on host (a loopback
// address): a TCP port, or with "udp+tcp" one free for both (a SIP
// listener).
func freeLoopbackPort(host, network string) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if network == "tcp" {
			l.Close()
			return port, nil
		}
		c, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port)))
		l.Close()
		if err == nil {
			c.Close()
			return port, nil
		}
	}
	return 0, errors.New("no port free for both UDP and TCP")
}

// proc is a program the cluster runs; done closes when it has exited.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startLogged starts a program in its own process group with its output
// appended to logPath.
func startLogged(logPath, name string, args ...string) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	p := &proc{cmd: exec.Command(name, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	go func() { _ = p.cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

// stopAll asks every process to stop (SIGTERM; nodes drain their calls)
// and kills those still running 30 s later. It returns when they have all
// exited.
func stopAll(procs []*proc, logger *slog.Logger) {
	for _, p := range procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	wait, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range procs {
		select {
		case <-p.done:
		case <-wait.Done():
			logger.Warn("killing a process that did not stop", "pid", p.cmd.Process.Pid, "program", p.cmd.Path)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// startEdges starts Kamailio (SIP) and nginx (HTTP) from the configs in
// o.deploy, each node behind them, with their files and logs under dir.
// It returns the processes it started, also on error.
func startEdges(ctx context.Context, o clusterOptions, dir string, nodes []ClusterNode) ([]*proc, error) {
	var procs []*proc
	kdir := filepath.Join(dir, "kamailio")
	if err := os.MkdirAll(kdir, 0o755); err != nil {
		return procs, err
	}
	var list bytes.Buffer
	for _, n := range nodes {
		fmt.Fprintf(&list, "1 sip:%s 9\n", n.SIP)
	}
	if err := os.WriteFile(filepath.Join(kdir, "dispatcher.list"), list.Bytes(), 0o644); err != nil {
		return procs, err
	}
	kcfg, err := filepath.Abs(filepath.Join(o.deploy, "kamailio", "kamailio.cfg"))
	if err != nil {
		return procs, err
	}
	args := []string{"-DD", "-E", "-f", kcfg, "-Y", kdir, "-w", kdir,
		"-A", "SIP_LISTEN=" + o.sip, "-A", fmt.Sprintf("DS_LIST=%q", filepath.Join(kdir, "dispatcher.list"))}
	if o.noPike {
		args = append(args, "-A", "NO_PIKE")
	}
	k, err := startLogged(filepath.Join(kdir, "kamailio.log"), "kamailio", args...)
	if err != nil {
		return procs, fmt.Errorf("kamailio: %w", err)
	}
	procs = append(procs, k)

	ndir := filepath.Join(dir, "nginx")
	if err := os.MkdirAll(ndir, 0o755); err != nil {
		return procs, err
	}
	conf, err := os.ReadFile(filepath.Join(o.deploy, "nginx", "nginx.conf"))
	if err != nil {
		return procs, err
	}
	var ups, cti bytes.Buffer
	for _, n := range nodes {
		fmt.Fprintf(&ups, "server %s max_fails=1 fail_timeout=1s;\n", n.HTTP)
		fmt.Fprintf(&cti, "server %s max_fails=0;\n", n.HTTP)
	}
	for name, b := range map[string][]byte{"nginx.conf": conf, "upstreams.conf": ups.Bytes(), "cti_upstreams.conf": cti.Bytes(),
		"listen.conf": []byte("listen " + o.http + ";\n")} {
		if err := os.WriteFile(filepath.Join(ndir, name), b, 0o644); err != nil {
			return procs, err
		}
	}
	n, err := startLogged(filepath.Join(ndir, "nginx.log"), "nginx", "-p", ndir+"/", "-c", filepath.Join(ndir, "nginx.conf"), "-e", "stderr")
	if err != nil {
		return procs, fmt.Errorf("nginx: %w", err)
	}
	procs = append(procs, n)
	// Both must still run a moment after starting: a bad config or a
	// taken port ends them at once.
	select {
	case <-k.done:
		return procs, fmt.Errorf("kamailio exited at start; see %s", filepath.Join(kdir, "kamailio.log"))
	case <-n.done:
		return procs, fmt.Errorf("nginx exited at start; see %s", filepath.Join(ndir, "nginx.log"))
	case <-time.After(time.Second):
	case <-ctx.Done():
		return procs, ctx.Err()
	}
	return procs, nil
}

// natsStartWait bounds how long nats-server may take to accept connections.
const natsStartWait = 10 * time.Second

// startNATS starts nats-server with o.deploy's nats.conf on 127.0.0.1 and
// a port the kernel picked (the command line overrides the config's
// listen address), its log under dir/nats, and waits until it accepts
// connections. It returns the server's URL and its process, the process
// also on error once started.
func startNATS(ctx context.Context, o clusterOptions, dir string) (string, *proc, error) {
	ndir := filepath.Join(dir, "nats")
	if err := os.MkdirAll(ndir, 0o755); err != nil {
		return "", nil, err
	}
	conf, err := filepath.Abs(filepath.Join(o.deploy, "nats", "nats.conf"))
	if err != nil {
		return "", nil, err
	}
	port, err := freeLoopbackPort("127.0.0.1", "tcp")
	if err != nil {
		return "", nil, err
	}
	logPath := filepath.Join(ndir, "nats.log")
	p, err := startLogged(logPath, "nats-server", "-c", conf, "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	if err != nil {
		return "", nil, fmt.Errorf("nats-server: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(natsStartWait)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "nats://" + addr, p, nil
		}
		if time.Now().After(deadline) {
			return "", p, fmt.Errorf("nats-server not accepting connections on %s: %w; see %s", addr, err, logPath)
		}
		select {
		case <-p.done:
			return "", p, fmt.Errorf("nats-server exited at start; see %s", logPath)
		case <-ctx.Done():
			return "", p, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
