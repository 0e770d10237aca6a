package edgetest

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestNATSStarts: a client connects to the nats-server StartNATS runs,
// and a message it publishes comes back to its own subscription.
func TestNATSStarts(t *testing.T) {
	url := StartNATS(t)
	nc, err := nats.Connect(url, nats.Name("edgetest"))
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("edgetest.echo")
	if err != nil {
		t.Fatal(err)
	}
	// The flush makes the server register the subscription before the
	// publish.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("edgetest.echo", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no message back: %v", err)
	}
	if got, want := string(msg.Data), "hello"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}
