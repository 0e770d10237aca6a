//go:build cgo

package sphinx

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

// The few PocketSphinx (and SphinxBase) functions used, declared here and resolved with
// dlsym, so that building needs no PocketSphinx headers or library. Types follow
// pocketsphinx 5prealpha: int32 is int, int16 is short; the decoder, configuration,
// N-best iterator and log-math objects are opaque.
typedef struct {
	void *lib;
	const void *(*ps_args)(void);
	void *(*cmd_ln_parse_r)(void *, const void *, int, char **, int);
	int (*cmd_ln_free_r)(void *);
	void *(*ps_init)(void *);
	int (*ps_free)(void *);
	int (*ps_add_word)(void *, const char *, const char *, int);
	int (*ps_set_jsgf_string)(void *, const char *, const char *);
	int (*ps_set_search)(void *, const char *);
	int (*ps_unset_search)(void *, const char *);
	int (*ps_start_utt)(void *);
	int (*ps_process_raw)(void *, const short *, size_t, int, int);
	int (*ps_end_utt)(void *);
	const char *(*ps_get_hyp)(void *, int *);
	void *(*ps_nbest)(void *);
	void *(*ps_nbest_next)(void *);
	const char *(*ps_nbest_hyp)(void *, int *);
	void (*ps_nbest_free)(void *);
	void *(*ps_get_logmath)(void *);
	double (*logmath_log_to_ln)(void *, int);
} sb_api;

// sb_open loads the library into a and resolves every function. It returns NULL, or
// what failed: dlerror's message or the name of a missing function.
static const char *sb_open(sb_api *a, const char *path) {
	a->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!a->lib) {
		const char *e = dlerror();
		return e ? e : "dlopen failed";
	}
#define SB_SYM(name) if (!(*(void **)(&a->name) = dlsym(a->lib, #name))) return #name;
	SB_SYM(ps_args)
	SB_SYM(cmd_ln_parse_r)
	SB_SYM(cmd_ln_free_r)
	SB_SYM(ps_init)
	SB_SYM(ps_free)
	SB_SYM(ps_add_word)
	SB_SYM(ps_set_jsgf_string)
	SB_SYM(ps_set_search)
	SB_SYM(ps_unset_search)
	SB_SYM(ps_start_utt)
	SB_SYM(ps_process_raw)
	SB_SYM(ps_end_utt)
	SB_SYM(ps_get_hyp)
	SB_SYM(ps_nbest)
	SB_SYM(ps_nbest_next)
	SB_SYM(ps_nbest_hyp)
	SB_SYM(ps_nbest_free)
	SB_SYM(ps_get_logmath)
	SB_SYM(logmath_log_to_ln)
#undef SB_SYM
	return NULL;
}

static void sb_close(sb_api *a) { if (a->lib) dlclose(a->lib); }

// sb_init parses argv (argv[0] is a program name, ignored) into a configuration and
// creates a decoder with it; *config receives the configuration, to free after the
// decoder.
static void *sb_init(sb_api *a, int argc, char **argv, void **config) {
	*config = a->cmd_ln_parse_r(NULL, a->ps_args(), argc, argv, 1);
	if (!*config) return NULL;
	return a->ps_init(*config);
}
static void sb_free(sb_api *a, void *ps, void *config) {
	if (ps) a->ps_free(ps);
	if (config) a->cmd_ln_free_r(config);
}
static int sb_add_word(sb_api *a, void *ps, const char *w, const char *phones) { return a->ps_add_word(ps, w, phones, 0); }
static int sb_set_jsgf(sb_api *a, void *ps, const char *name, const char *jsgf) { return a->ps_set_jsgf_string(ps, name, jsgf); }
static int sb_set_search(sb_api *a, void *ps, const char *name) { return a->ps_set_search(ps, name); }
static int sb_unset_search(sb_api *a, void *ps, const char *name) { return a->ps_unset_search(ps, name); }
static int sb_start(sb_api *a, void *ps) { return a->ps_start_utt(ps); }
static int sb_process(sb_api *a, void *ps, const short *data, size_t n) { return a->ps_process_raw(ps, data, n, 0, 1); }
static int sb_end(sb_api *a, void *ps) { return a->ps_end_utt(ps); }
static const char *sb_hyp(sb_api *a, void *ps, int *score) { return a->ps_get_hyp(ps, score); }
static void *sb_nbest(sb_api *a, void *ps) { return a->ps_nbest(ps); }
static void *sb_nbest_next(sb_api *a, void *nb) { return a->ps_nbest_next(nb); }
static const char *sb_nbest_hyp(sb_api *a, void *nb, int *score) { return a->ps_nbest_hyp(nb, score); }
static void sb_nbest_free(sb_api *a, void *nb) { a->ps_nbest_free(nb); }
static double sb_to_ln(sb_api *a, void *ps, int score) { return a->logmath_log_to_ln(a->ps_get_logmath(ps), score); }
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// library is the PocketSphinx shared library, loaded with dlopen.
type library struct {
	api *C.sb_api
}

// openLibrary loads the shared library at path (a name the dynamic loader finds, or a
// file).
func openLibrary(path string) (*library, error) {
	api := (*C.sb_api)(C.calloc(1, C.sizeof_sb_api))
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	if e := C.sb_open(api, cpath); e != nil {
		msg := C.GoString(e)
		C.sb_close(api)
		C.free(unsafe.Pointer(api))
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, msg)
	}
	return &library{api: api}, nil
}

// close unloads the library; every decoder must be freed first.
func (l *library) close() {
	C.sb_close(l.api)
	C.free(unsafe.Pointer(l.api))
	l.api = nil
}

// cdecoder is one PocketSphinx decoder. It is not safe for concurrent use.
type cdecoder struct {
	lib    *library
	ps     unsafe.Pointer
	config unsafe.Pointer
}

// newDecoder creates a decoder with the command-line style arguments args.
func (l *library) newDecoder(args []string) (*cdecoder, error) {
	argv := make([]*C.char, 0, len(args)+1)
	argv = append(argv, C.CString("switchboard"))
	for _, a := range args {
		argv = append(argv, C.CString(a))
	}
	defer func() {
		for _, p := range argv {
			C.free(unsafe.Pointer(p))
		}
	}()
	carr := (**C.char)(C.malloc(C.size_t(len(argv)) * C.size_t(unsafe.Sizeof(argv[0]))))
	defer C.free(unsafe.Pointer(carr))
	copy(unsafe.Slice(carr, len(argv)), argv)
	var config unsafe.Pointer
	ps := C.sb_init(l.api, C.int(len(argv)), carr, &config)
	if ps == nil {
		C.sb_free(l.api, nil, config)
		return nil, errors.New("sphinx: the decoder did not start (check the model and its arguments)")
	}
	return &cdecoder{lib: l, ps: ps, config: config}, nil
}

func (d *cdecoder) free() {
	C.sb_free(d.lib.api, d.ps, d.config)
	d.ps, d.config = nil, nil
}

func (d *cdecoder) addWord(word, phones string) bool {
	w, p := C.CString(word), C.CString(phones)
	defer C.free(unsafe.Pointer(w))
	defer C.free(unsafe.Pointer(p))
	return C.sb_add_word(d.lib.api, d.ps, w, p) >= 0
}

func (d *cdecoder) setJSGF(name, jsgf string) bool {
	n, j := C.CString(name), C.CString(jsgf)
	defer C.free(unsafe.Pointer(n))
	defer C.free(unsafe.Pointer(j))
	return C.sb_set_jsgf(d.lib.api, d.ps, n, j) >= 0
}

func (d *cdecoder) setSearch(name string) bool {
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	return C.sb_set_search(d.lib.api, d.ps, n) >= 0
}

func (d *cdecoder) unsetSearch(name string) {
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	C.sb_unset_search(d.lib.api, d.ps, n)
}

// decode decodes one whole utterance of 16 kHz samples and returns the best hypothesis
// ("" for none) and up to n N-best hypotheses with their scores (log-math units).
func (d *cdecoder) decode(audio []int16, n int) (hyp string, nbest []scored, err error) {
	if C.sb_start(d.lib.api, d.ps) < 0 {
		return "", nil, errors.New("sphinx: cannot start an utterance")
	}
	var rc C.int
	if len(audio) > 0 {
		rc = C.sb_process(d.lib.api, d.ps, (*C.short)(unsafe.Pointer(&audio[0])), C.size_t(len(audio)))
	}
	if C.sb_end(d.lib.api, d.ps) < 0 || rc < 0 {
		return "", nil, errors.New("sphinx: decoding failed")
	}
	var score C.int
	if h := C.sb_hyp(d.lib.api, d.ps, &score); h != nil {
		hyp = C.GoString(h)
	}
	it := C.sb_nbest(d.lib.api, d.ps)
	for it != nil && len(nbest) < n {
		it = C.sb_nbest_next(d.lib.api, it)
		if it == nil {
			break
		}
		var s C.int
		h := C.sb_nbest_hyp(d.lib.api, it, &s)
		if h == nil {
			continue
		}
		nbest = append(nbest, scored{text: C.GoString(h), score: int(s)})
	}
	if it != nil {
		C.sb_nbest_free(d.lib.api, it)
	}
	return hyp, nbest, nil
}

// toLn converts a score in the decoder's log base to a natural logarithm.
func (d *cdecoder) toLn(score int) float64 {
	return float64(C.sb_to_ln(d.lib.api, d.ps, C.int(score)))
}
