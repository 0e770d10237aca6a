package livesim

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// ChatLoadOptions configure a web chat load run against a running server.
type ChatLoadOptions struct {
	HTTP          string        // the server's HTTP address
	Agents        int           // simulated agents created (sim001…) and logged in
	Customers     int           // customers connected, each with a chat
	Rate          float64       // customer messages per second, over the chats an agent took
	Duration      time.Duration // the measured window
	Password      string        // the agents' password
	AdminPassword string        // the admin's, to create the agents
	// Button is the bot's menu choice that queues the chat (the demo's
	// operator queue takes any agent).
	Button string
}

// ChatLoadReport is what a chat load run measured: customer → agent
// delivery latency (the agent's desk receiving chat.message, from the
// customer's send).
type ChatLoadReport struct {
	Connected, Active, Sent, Delivered int64
	P50, P99, Max                      time.Duration
}

// ChatLoadMain is the body of `switchboard load-chat`.
func ChatLoadMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("load-chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o ChatLoadOptions
	fs.StringVar(&o.HTTP, "http", "127.0.0.1:8080", "the server's HTTP address")
	fs.IntVar(&o.Agents, "agents", 1000, "simulated agents (sim001…), created as the admin")
	fs.IntVar(&o.Customers, "customers", 10000, "customers connected, each with a chat")
	fs.Float64Var(&o.Rate, "rate", 1000, "customer messages per second, over the chats agents took")
	fs.DurationVar(&o.Duration, "duration", 60*time.Second, "the measured window")
	fs.StringVar(&o.Password, "password", "demo", "the agents' password")
	fs.StringVar(&o.AdminPassword, "admin-password", "admin", "the admin's password")
	fs.StringVar(&o.Button, "button", "0", "the bot's menu choice that queues a chat")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rep, err := ChatLoad(ctx, o, logger)
	fmt.Fprintf(stdout, "customers connected %d, chats with an agent %d; messages sent %d, delivered to the agents %d\n",
		rep.Connected, rep.Active, rep.Sent, rep.Delivered)
	fmt.Fprintf(stdout, "customer → agent delivery: p50 %v, p99 %v, max %v\n", rep.P50, rep.P99, rep.Max)
	if err != nil {
		fmt.Fprintln(stderr, "load-chat:", err)
		return 1
	}
	return 0
}

// chatLoad is one run's shared state.
type chatLoad struct {
	o    ChatLoadOptions
	log  *slog.Logger
	sent atomic.Int64
	mu   sync.Mutex
	lat  []time.Duration
	// active are the customers whose chat an agent took.
	active []*chatCustomer
}

type chatCustomer struct {
	conn *websocket.Conn
	wmu  sync.Mutex
}

func (c *chatCustomer) send(typ string, data any) error {
	b, _ := json.Marshal(data)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.conn.WriteJSON(map[string]any{"type": typ, "data": json.RawMessage(b)})
}

// ChatLoad creates and logs in the agents (ready, accepting every chat
// offered), connects the customers (each from a loopback address of its
// own, as customers on separate machines, so that the per-address limit
// on new chats applies per customer), queues a chat for each through the
// bot, then sends customer messages at o.Rate over the chats agents took
// for o.Duration and measures when each reaches the agent's desk.
func ChatLoad(ctx context.Context, o ChatLoadOptions, logger *slog.Logger) (ChatLoadReport, error) {
	var rep ChatLoadReport
	s := &sim{o: Options{HTTP: o.HTTP, Password: o.Password, AdminPassword: o.AdminPassword}, log: logger}
	logins, err := s.createAgents(ctx, o.Agents)
	if err != nil {
		return rep, err
	}
	l := &chatLoad{o: o, log: logger}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var ready atomic.Int64
	sem := make(chan struct{}, 16) // logins at once (bcrypt on the server)
	for _, login := range logins {
		wg.Go(func() {
			sem <- struct{}{}
			tok, err := s.login(runCtx, http.DefaultClient, login, o.Password)
			<-sem
			if err != nil {
				logger.Warn("agent login", "agent", login, "err", err)
				return
			}
			if err := l.agent(runCtx, tok, &ready); err != nil && runCtx.Err() == nil {
				logger.Warn("agent desk", "agent", login, "err", err)
			}
		})
	}
	for ready.Load() < int64(len(logins)) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	logger.Info("agents ready", "agents", ready.Load())
	var connected atomic.Int64
	for i := range o.Customers {
		wg.Go(func() {
			if err := l.customer(runCtx, i, &connected); err != nil && runCtx.Err() == nil {
				logger.Debug("customer", "n", i, "err", err)
			}
		})
		if i%200 == 199 {
			time.Sleep(50 * time.Millisecond) // a connection storm, not a flood
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		l.mu.Lock()
		n := len(l.active)
		l.mu.Unlock()
		if connected.Load() >= int64(o.Customers) && n >= min(o.Customers, 3*o.Agents) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	l.mu.Lock()
	active := slices.Clone(l.active)
	l.mu.Unlock()
	rep.Connected, rep.Active = connected.Load(), int64(len(active))
	logger.Info("customers connected", "customers", rep.Connected, "with_agent", rep.Active)
	if len(active) == 0 {
		cancel()
		wg.Wait()
		return rep, errors.New("livesim: no chat reached an agent")
	}
	window, stopWindow := context.WithTimeout(ctx, o.Duration)
	defer stopWindow()
	rng := rand.New(rand.NewPCG(1, 2))
	// Every 10 ms, the messages due by then: the rate holds however late
	// a tick comes.
	tick := time.NewTicker(10 * time.Millisecond)
	start, due := time.Now(), 0
	for window.Err() == nil {
		select {
		case <-window.Done():
		case <-tick.C:
			for want := int(o.Rate * time.Since(start).Seconds()); due < want; due++ {
				c := active[rng.IntN(len(active))]
				go func() {
					now := time.Now().UnixNano()
					if c.send("message", map[string]string{"text": "t=" + strconv.FormatInt(now, 10), "client_id": strconv.FormatInt(now, 36)}) == nil {
						l.sent.Add(1)
					}
				}()
			}
		}
	}
	tick.Stop()
	time.Sleep(2 * time.Second) // the last messages arrive
	cancel()
	wg.Wait()
	l.mu.Lock()
	lat := slices.Clone(l.lat)
	l.mu.Unlock()
	slices.Sort(lat)
	rep.Sent, rep.Delivered = l.sent.Load(), int64(len(lat))
	if len(lat) > 0 {
		rep.P50, rep.P99, rep.Max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	}
	return rep, nil
}

// agent is one agent's desk: ready, accepting every chat, timing every
// customer message.
func (l *chatLoad) agent(ctx context.Context, tok string, ready *atomic.Int64) error {
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+l.o.HTTP+"/cti", http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	send := ctiSender(conn, "c")
	if err := send("presence.set", map[string]string{"presence": "ready"}); err != nil {
		return err
	}
	ready.Add(1)
	for {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				TaskID  string `json:"task_id"`
				Channel string `json:"channel"`
				Message struct {
					Sender string `json:"sender"`
					Text   string `json:"text"`
				} `json:"message"`
			} `json:"data"`
		}
		if err := conn.ReadJSON(&ev); err != nil {
			return err
		}
		switch ev.Type {
		case "task.offered":
			if ev.Data.Channel == "chat" {
				_ = send("task.accept", map[string]string{"task_id": ev.Data.TaskID})
			}
		case "chat.message":
			if ns, ok := strings.CutPrefix(ev.Data.Message.Text, "t="); ok && ev.Data.Message.Sender == "customer" {
				if n, err := strconv.ParseInt(ns, 10, 64); err == nil {
					d := time.Since(time.Unix(0, n))
					l.mu.Lock()
					l.lat = append(l.lat, d)
					l.mu.Unlock()
				}
			}
		}
	}
}

// customer is customer n: connected from 127.3.x.y, through the bot's
// menu into the queue; once an agent joins, the load may write for it.
func (l *chatLoad) customer(ctx context.Context, n int, connected *atomic.Int64) error {
	local := net.IPv4(127, 3, byte(n/250), byte(n%250+1))
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: local}}).DialContext}
	conn, _, err := d.DialContext(ctx, "ws://"+l.o.HTTP+"/chat/ws", nil)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c := &chatCustomer{conn: conn}
	if err := c.send("start", map[string]string{"name": "Load " + strconv.Itoa(n)}); err != nil {
		return err
	}
	connected.Add(1)
	pressed, joined := false, false
	for {
		var f struct {
			Type string `json:"type"`
			Data struct {
				Sender  string            `json:"sender"`
				Text    string            `json:"text"`
				Buttons []json.RawMessage `json:"buttons"`
			} `json:"data"`
		}
		if err := conn.ReadJSON(&f); err != nil {
			return err
		}
		switch {
		case f.Type == "message" && !pressed && len(f.Data.Buttons) > 0:
			pressed = true
			if err := c.send("button", map[string]string{"value": l.o.Button}); err != nil {
				return err
			}
		case f.Type == "message" && !joined && f.Data.Sender == "system" && strings.Contains(f.Data.Text, "joined"):
			joined = true
			l.mu.Lock()
			l.active = append(l.active, c)
			l.mu.Unlock()
		}
	}
}
