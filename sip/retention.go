package sip

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// keepRecordings deletes, at start and then hourly until ctx ends, the
// recordings older than the configured retention.
func (g *Gateway) keepRecordings(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := PruneRecordings(g.cfg.RecordingDir, time.Now().Add(-g.cfg.RecordingRetention))
		if n > 0 || err != nil {
			g.log.Info("sip: recordings past retention deleted", "deleted", n, "retention", g.cfg.RecordingRetention, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PruneRecordings deletes the recordings (.wav files) under dir last
// written before before, and returns how many it deleted. Other files,
// and symbolic links, are left alone.
func PruneRecordings(dir string, before time.Time) (int, error) {
	n := 0
	var errs []error
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if !d.Type().IsRegular() || !strings.EqualFold(filepath.Ext(path), ".wav") {
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.ModTime().Before(before) {
			return nil
		}
		if err := os.Remove(path); err != nil {
			errs = append(errs, err)
			return nil
		}
		n++
		return nil
	})
	return n, errors.Join(append(errs, err)...)
}
