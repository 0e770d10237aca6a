package crmapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"switchboard/crmcore"
)

// Recordings opens the audio of calls' recordings. cmd/switchboard
// implements it over the gateway's recording directory.
type Recordings interface {
	// Open opens the recording an interaction names (its Recording field);
	// a recording that does not exist (any more) is crmcore.ErrNotFound.
	Open(name string) (f io.ReadSeekCloser, modTime time.Time, err error)
}

// RecordingLog keeps who listened to which recording.
type RecordingLog interface {
	LogRecordingAccess(ctx context.Context, a crmcore.RecordingAccess) error
	RecordingAccesses(ctx context.Context, interactionID string, limit int) ([]crmcore.RecordingAccess, error)
}

// WithRecordings serves calls' recordings from files, each access logged
// in log (without it those endpoints answer 404).
func WithRecordings(files Recordings, log RecordingLog) Option {
	return func(h *Handler) { h.recFiles, h.recLog = files, log }
}

func (h *Handler) routeRecordings() {
	h.mux.HandleFunc("GET /api/v1/interactions/{id}/recording", h.authed(crmcore.PermReadOwnInteractions, h.recording))
	h.mux.HandleFunc("GET /api/v1/interactions/{id}/recording/access", h.authed(crmcore.PermReadAllInteractions, h.recordingAccess))
}

// recording streams a call's recording (WAV, with range requests) to a
// supervisor or an agent who was on the call; every request is logged
// before a byte is sent.
func (h *Handler) recording(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	if h.recFiles == nil {
		h.fail(w, r, crmcore.ErrNotFound)
		return
	}
	in, err := h.d.Interactions.GetInteraction(r.Context(), r.PathValue("id"))
	if err == nil && (!crmcore.MayHearRecording(p, in) || in.Recording == "") {
		err = crmcore.ErrNotFound // do not reveal other agents' calls
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, mod, err := h.recFiles.Open(in.Recording)
	if err != nil {
		if !errors.Is(err, crmcore.ErrNotFound) {
			h.log.Error("crmapi: open recording", "interaction_id", in.ID, "err", err)
		}
		h.fail(w, r, crmcore.ErrNotFound)
		return
	}
	defer f.Close()
	a := crmcore.RecordingAccess{ID: crmcore.NewID(), InteractionID: in.ID, AgentID: p.AgentID, At: time.Now().UTC(),
		Range: r.Header.Get("Range"), Source: sourceAddr(r)}
	if err := h.recLog.LogRecordingAccess(r.Context(), a); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Disposition", `inline; filename="call-`+in.ID+`.wav"`)
	http.ServeContent(w, r, "", mod, f)
}

// recordingAccess lists who listened to a call's recording.
func (h *Handler) recordingAccess(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	if h.recLog == nil {
		h.fail(w, r, crmcore.ErrNotFound)
		return
	}
	as, err := h.recLog.RecordingAccesses(r.Context(), r.PathValue("id"), 1000)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.RecordingAccess]{Items: as, Count: len(as)})
}

// DirRecordings is Recordings over the directory calls are recorded
// into: a recording is opened only inside it, whatever its name says.
type DirRecordings struct {
	// Dir is the recording directory.
	Dir string
}

// Open implements Recordings.
func (d DirRecordings) Open(name string) (io.ReadSeekCloser, time.Time, error) {
	// A recording is named by its path (under the directory) or by its
	// file name.
	dir, err := filepath.Abs(d.Dir)
	if err != nil {
		return nil, time.Time{}, err
	}
	rel := name
	if abs, err := filepath.Abs(name); err == nil {
		if r, err := filepath.Rel(dir, abs); err == nil && filepath.IsLocal(r) {
			rel = r
		}
	}
	if !filepath.IsLocal(rel) {
		return nil, time.Time{}, crmcore.ErrNotFound
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer root.Close()
	// The root also refuses a symbolic link that leads out of it.
	f, err := root.Open(rel)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %w", crmcore.ErrNotFound, err)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, time.Time{}, crmcore.ErrNotFound
	}
	return f, st.ModTime(), nil
}
