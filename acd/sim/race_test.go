//go:build race

package sim

// raceBuild shortens the long simulation under the race detector (which
// slows the engine's goroutines about twentyfold).
const raceBuild = true
