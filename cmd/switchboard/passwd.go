package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"

	"switchboard/crmcore"
	"switchboard/crmcore/pgstore"
)

// seededAdmin reports whether the agent "admin" exists, is active and
// still has the demo seed's password.
func seededAdmin(ctx context.Context, store *pgstore.Store) (bool, error) {
	a, err := store.AgentByLogin(ctx, "admin")
	if errors.Is(err, crmcore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return a.Active && crmcore.CheckPassword(a.PasswordHash, pgstore.DemoAdminPassword), nil
}

// refuseSeededAdmin is the start-up check: a listener that other machines
// can reach is refused while the admin's password is the seeded one.
func refuseSeededAdmin(listen string, seeded bool) error {
	if !seeded || loopbackListen(listen) {
		return nil
	}
	return fmt.Errorf(`http.listen %s is reachable from other machines and the "admin" account still has the demo password; `+
		`set another first: "switchboard passwd admin" (with the same --config), or PUT /api/v1/sessions/current/password `+
		`while listening on 127.0.0.1`, listen)
}

// passwdMain is "switchboard passwd [--config FILE] LOGIN": it sets an
// agent's password, read from the terminal without echo (twice) or as one
// line of standard input, and ends the agent's sessions. A running server
// closes the agent's CTI connections at its next session check.
func passwdMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("passwd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML configuration file (default: the embedded demo config)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: switchboard passwd [--config FILE] LOGIN   (the new password is read from standard input)")
		return 2
	}
	login := fs.Arg(0)
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	pw, err := readNewPassword(stdin, stderr, login)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard passwd:", err)
		return 1
	}
	hash, err := crmcore.HashPassword(pw)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard passwd:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := newLogger(LogConfig{Format: "text", Level: "warn"}, stderr)
	if err := setPassword(ctx, cfg, logger, login, hash); err != nil {
		fmt.Fprintln(stderr, "switchboard passwd:", err)
		return 1
	}
	fmt.Fprintf(stdout, "password of %s changed; its sessions are ended\n", login)
	return 0
}

// setPassword stores hash as login's password and deletes its sessions.
func setPassword(ctx context.Context, cfg *Config, logger *slog.Logger, login, hash string) error {
	db, err := openDatabase(ctx, cfg.Database, logger)
	if err != nil {
		return err
	}
	defer db.close(logger)
	store := pgstore.New(db.pool, pgstore.WithLogger(logger), pgstore.WithSIPRealm(cfg.SIP.Realm))
	a, err := store.AgentByLogin(ctx, strings.ToLower(strings.TrimSpace(login)))
	if err != nil {
		return fmt.Errorf("agent %q: %w", login, err)
	}
	a.PasswordHash = hash
	if _, err := store.UpdateAgent(ctx, a.ID, a); err != nil {
		return err
	}
	return store.DeleteAgentSessions(ctx, a.ID)
}

// readNewPassword reads the password: from a terminal without echo, typed
// twice; else the first line of stdin.
func readNewPassword(stdin io.Reader, prompt io.Writer, login string) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(prompt, "New password for %s: ", login)
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		fmt.Fprint(prompt, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
