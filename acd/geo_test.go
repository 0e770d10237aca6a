package acd_test

import (
	"testing"

	"switchboard/acd"
)

// BenchmarkResolveNumber is the cost of resolving a caller's number, paid
// once per call where it enters the system.
func BenchmarkResolveNumber(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		acd.ResolveNumber("+14155550123", "US")
	}
}
