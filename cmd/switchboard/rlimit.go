package main

import (
	"log/slog"
	"syscall"
)

// wantOpenFiles is the open-file limit the server asks for: every SIP
// TCP/TLS connection, RTP socket, HTTP/CTI connection and database
// connection is a descriptor.
const wantOpenFiles = 1 << 20

// raiseOpenFileLimit raises RLIMIT_NOFILE as far as the process may: both
// limits to wantOpenFiles when privileged, else the soft limit to the hard
// one. It returns the soft limit in force, or 0 when it cannot be read.
func raiseOpenFileLimit(logger *slog.Logger) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		logger.Warn("reading the open-file limit", "err", err)
		return 0
	}
	if lim.Max < wantOpenFiles {
		up := syscall.Rlimit{Cur: wantOpenFiles, Max: wantOpenFiles}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up); err == nil {
			lim = up
		}
	}
	if lim.Cur < lim.Max {
		up := syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up); err != nil {
			logger.Warn("raising the open-file limit", "err", err, "soft", lim.Cur, "hard", lim.Max)
			return lim.Cur
		}
		lim = up
	}
	return lim.Cur
}
