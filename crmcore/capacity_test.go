package crmcore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewCapacity(t *testing.T) {
	got, err := NewCapacity(map[string]int{" Chat ": 5, "ticket": 0, "voice": 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Capacity{"chat": 5, "ticket": 0, "voice": 1}); !cmp.Equal(got, want) {
		t.Errorf("capacity = %v, want %v", got, want)
	}
	if none, err := NewCapacity(nil); err != nil || none == nil || len(none) != 0 {
		t.Errorf("NewCapacity(nil) = %#v, %v; want an empty map", none, err)
	}
	many := map[string]int{}
	for i := range MaxCapacityChannels + 1 {
		many[fmt.Sprintf("c%d", i)] = 1
	}
	bad := map[string]struct {
		in    map[string]int
		field string
	}{
		"negative":      {map[string]int{"chat": -1}, "capacity.chat"},
		"too large":     {map[string]int{"chat": MaxChannelCapacity + 1}, "capacity.chat"},
		"bad name":      {map[string]int{"9chat": 1}, "capacity"},
		"empty name":    {map[string]int{"": 1}, "capacity"},
		"control chars": {map[string]int{"chat\r\n": 1, "ch\x00": 1}, "capacity"},
		"duplicate":     {map[string]int{"chat": 1, "CHAT": 2}, "capacity.chat"},
		"too many":      {many, "capacity"},
	}
	for name, tt := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := NewCapacity(tt.in)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want a field error on %s", err, tt.field)
			}
		})
	}
}

func TestNewAgentCapacity(t *testing.T) {
	a, err := NewAgent(AgentInput{Login: "alice", Capacity: map[string]int{"chat": 4}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if a.Capacity["chat"] != 4 {
		t.Errorf("capacity = %v", a.Capacity)
	}
	_, err = NewAgent(AgentInput{Login: "alice", Capacity: map[string]int{"chat": 500}}, false)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "capacity.chat" {
		t.Errorf("err = %v, want a field error on capacity.chat", err)
	}
}

// FuzzNewCapacity: any submitted override is either refused with a field
// error or accepted in the shape the store's table allows.
func FuzzNewCapacity(f *testing.F) {
	f.Add("chat", 5, "voice", 1)
	f.Add(" Chat ", 0, "chat", 2)
	f.Add("t\r\n", -1, "", 101)
	f.Fuzz(func(t *testing.T, k1 string, v1 int, k2 string, v2 int) {
		c, err := NewCapacity(map[string]int{k1: v1, k2: v2})
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FieldError", err)
			}
			return
		}
		for ch, n := range c {
			if !ValidChannelName(ch) || n < 0 || n > MaxChannelCapacity {
				t.Fatalf("accepted %q = %d", ch, n)
			}
		}
	})
}
