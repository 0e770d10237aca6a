package sip

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPruneRecordings deletes only the WAV files past retention.
func TestPruneRecordings(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	files := map[string]time.Duration{
		"call-old.wav": 40 * 24 * time.Hour, "sub/voicemail-old.WAV": 31 * 24 * time.Hour,
		"call-new.wav": 2 * time.Hour, "notes.txt": 90 * 24 * time.Hour,
	}
	for name, age := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("RIFF"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := PruneRecordings(dir, now.Add(-30*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v; want 2", n, err)
	}
	for name, age := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		gone := os.IsNotExist(err)
		if want := age > 30*24*time.Hour && name != "notes.txt"; gone != want {
			t.Errorf("%s (age %v): gone = %v, want %v", name, age, gone, want)
		}
	}
}
