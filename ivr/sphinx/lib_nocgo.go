//go:build !cgo

package sphinx

import "fmt"

// library stands in for the PocketSphinx library in a build without cgo, which cannot
// load it.
type library struct{}

// cdecoder stands in for a decoder in a build without cgo: openLibrary fails, so none is
// ever created and these methods only satisfy the compiler.
type cdecoder struct{}

func openLibrary(string) (*library, error) {
	return nil, fmt.Errorf("%w: this binary was built without cgo (CGO_ENABLED=0), which loading the library needs", ErrUnavailable)
}

func (*library) close() {}

func (*library) newDecoder([]string) (*cdecoder, error) { return nil, ErrUnavailable }

func (*cdecoder) free()                                         {}
func (*cdecoder) addWord(string, string) bool                   { return false }
func (*cdecoder) setJSGF(string, string) bool                   { return false }
func (*cdecoder) setSearch(string) bool                         { return false }
func (*cdecoder) unsetSearch(string)                            {}
func (*cdecoder) decode([]int16, int) (string, []scored, error) { return "", nil, ErrUnavailable }
func (*cdecoder) toLn(int) float64                              { return 0 }
