package voice_test

import (
	"io"
	"log/slog"
	"testing"

	"go.uber.org/goleak"

	"switchboard/acd"
	"switchboard/acd/acdtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// engineYAML has the queue the test flows send callers to.
const engineYAML = `
stats_interval: -1
queues:
  - name: support
    skills: [{skill: support, level: 1}]
`

// newEngine starts an engine over a fake phone, closed with the test.
func newEngine(t *testing.T) *acd.Engine {
	t.Helper()
	cfg, err := acd.ParseConfig([]byte(engineYAML))
	if err != nil {
		t.Fatal(err)
	}
	phone := acdtest.NewPhone()
	e, err := acd.New(cfg, phone, phone, acd.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
