package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Deliverer takes one message the SMTP server received. It returns nil
// only once the message is stored for good: the server answers 250 after
// that, and the sending MTA then forgets the message.
type Deliverer interface {
	Deliver(ctx context.Context, from string, rcpt []string, data io.Reader) error
}

// ServerOptions configure the SMTP server; zero fields take the defaults.
type ServerOptions struct {
	// Domain is the name the server gives in its greeting and EHLO reply.
	Domain string
	// Addresses are the support addresses mail is accepted for; RCPT to
	// any other address gets 550 5.1.1 (the server is no relay).
	Addresses []string
	// MaxMessageBytes is the largest message (default 25 MiB); a larger
	// one gets 552 5.3.4.
	MaxMessageBytes int64
	// MaxRecipients is the number of RCPTs per message (default 50).
	MaxRecipients int
	// ReadTimeout and WriteTimeout bound each command and reply (default
	// 60 s each).
	ReadTimeout, WriteTimeout time.Duration
	// MaxLineLength is the longest command or data line (default 2000,
	// twice RFC 5321's limit, as go-smtp does).
	MaxLineLength int
	// MaxSessions caps the open connections (default 200); more get 421.
	MaxSessions int
	// DeliverTimeout bounds one Deliver call (default 5 min, half of the
	// time RFC 5321 lets a client wait for the reply to DATA); a delivery
	// that takes longer is cancelled and answered 451.
	DeliverTimeout time.Duration
	// Logger receives the server's log (default slog.Default()).
	Logger *slog.Logger
}

// Server is the SMTP server that receives the support addresses' mail
// from an MTA and hands each message to a Deliverer.
type Server struct {
	smtp  *smtp.Server
	inbox Deliverer
	opts  ServerOptions
	log   *slog.Logger
	addrs map[string]bool

	ctx    context.Context // cancelled by Close: aborts deliveries in progress
	cancel context.CancelFunc

	mu     sync.Mutex
	ln     net.Listener
	closed bool
}

// NewServer returns a server that delivers to inbox. It listens only once
// Serve is called.
func NewServer(inbox Deliverer, opts ServerOptions) *Server {
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if opts.MaxRecipients <= 0 {
		opts.MaxRecipients = 50
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 60 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 60 * time.Second
	}
	if opts.MaxLineLength <= 0 {
		opts.MaxLineLength = 2000
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 200
	}
	if opts.DeliverTimeout <= 0 {
		opts.DeliverTimeout = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Domain == "" {
		opts.Domain = "localhost"
	}
	s := &Server{inbox: inbox, opts: opts, log: opts.Logger, addrs: make(map[string]bool)}
	for _, a := range opts.Addresses {
		s.addrs[strings.ToLower(strings.TrimSpace(a))] = true
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, remote: c.Conn().RemoteAddr().String()}, nil
	}))
	srv.Domain = opts.Domain
	srv.MaxMessageBytes = opts.MaxMessageBytes
	srv.MaxRecipients = opts.MaxRecipients
	srv.ReadTimeout = opts.ReadTimeout
	srv.WriteTimeout = opts.WriteTimeout
	srv.MaxLineLength = opts.MaxLineLength
	srv.AllowInsecureAuth = false
	srv.ErrorLog = slogPrinter{opts.Logger}
	s.smtp = srv
	return s
}

// Serve accepts connections on l until Close or Shutdown; it returns nil
// then, and the listener's error otherwise.
func (s *Server) Serve(l net.Listener) error {
	ll := &limitListener{Listener: l, slots: make(chan struct{}, s.opts.MaxSessions), log: s.log}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return nil
	}
	s.ln = ll
	s.mu.Unlock()
	err := s.smtp.Serve(ll)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Addr returns the address Serve listens on (nil before Serve).
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Close stops listening, closes every connection and aborts the
// deliveries in progress (their senders get no 250 and retry later).
func (s *Server) Close() error {
	s.cancel()
	err := s.smtp.Close()
	s.closeListener()
	if err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// closeListener closes the listener of a Serve that go-smtp may not know
// yet (Close right after Serve was called), and makes a later Serve
// return at once.
func (s *Server) closeListener() {
	s.mu.Lock()
	s.closed = true
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
}

// Shutdown stops listening and waits for the open sessions to end; when
// ctx ends first, it closes them as Close does and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeListener()
	err := s.smtp.Shutdown(ctx)
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		err = nil
	}
	if ctx.Err() != nil {
		s.cancel()
		s.smtp.Close()
		return ctx.Err()
	}
	s.cancel()
	return err
}

// session is one SMTP connection's transaction state. go-smtp calls its
// methods from the connection's goroutine only.
type session struct {
	srv    *Server
	remote string
	from   string
	rcpt   []string
}

func (ss *session) Reset() {
	ss.from, ss.rcpt = "", nil
}

func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	addr := strings.ToLower(to)
	if !ss.srv.addrs[addr] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here"}
	}
	for _, r := range ss.rcpt {
		if r == addr {
			return nil
		}
	}
	ss.rcpt = append(ss.rcpt, addr)
	return nil
}

// Data hands the message to the Deliverer and turns its outcome into the
// reply: 250 after a nil error only, 554 for a message that will never be
// accepted, 552 for one too large, and 451 (retry later) for everything
// else, a panic included.
func (ss *session) Data(r io.Reader) (err error) {
	defer func() {
		if p := recover(); p != nil {
			ss.srv.log.Error("mail: delivery panicked", "remote", ss.remote, "from", ss.from, "panic", fmt.Sprint(p))
			err = errTemporary
		}
	}()
	ctx, cancel := context.WithTimeout(ss.srv.ctx, ss.srv.opts.DeliverTimeout)
	defer cancel()
	err = ss.srv.inbox.Deliver(ctx, ss.from, ss.rcpt, r)
	var smtpErr *smtp.SMTPError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &smtpErr):
		return smtpErr // go-smtp's own refusal, such as 552 for a message over the limit
	case errors.Is(err, ErrTooLarge):
		return smtp.ErrDataTooLarge
	case errors.Is(err, ErrMalformed):
		ss.srv.log.Info("mail: message refused", "remote", ss.remote, "from", ss.from, "err", err)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: replyText(err)}
	}
	ss.srv.log.Warn("mail: delivery failed, sender will retry", "remote", ss.remote, "from", ss.from, "err", err)
	return errTemporary
}

var errTemporary = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, please try again later"}

// replyText makes an error one short line of an SMTP reply.
func replyText(err error) string {
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f {
			return ' '
		}
		return r
	}, err.Error())
	return truncate(s, 200)
}

// limitListener caps the open connections: one over the cap gets a 421
// reply and is closed at once, so a flood cannot exhaust the server.
type limitListener struct {
	net.Listener
	slots chan struct{}
	log   *slog.Logger
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
		}
		l.log.Warn("mail: too many SMTP sessions, connection refused", "remote", c.RemoteAddr().String())
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = io.WriteString(c, "421 4.3.2 Too many connections, try again later\r\n")
		_ = c.Close()
	}
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// slogPrinter gives go-smtp's internal error log to slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.log.Warn("mail: smtp server: " + fmt.Sprintf(format, v...))
}

func (p slogPrinter) Println(v ...any) {
	p.log.Warn("mail: smtp server: " + strings.TrimSpace(fmt.Sprintln(v...)))
}
