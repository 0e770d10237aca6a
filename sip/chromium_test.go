package sip

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/sip/siptest"
)

// TestChromiumReceivesPrompt: headless Chromium loads a minimal page,
// negotiates a WebRTC leg with the gateway and receives a prompt.
func TestChromiumReceivesPrompt(t *testing.T) {
	chromium := siptest.RequireProgram(t, "chromium", "chromium")
	prompt, _ := writePrompt(t, 16000) // 2 s
	g := startGateway(t, Config{WebRTCIPs: []string{"127.0.0.1"}})
	played := make(chan error, 1)
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServer(http.Dir(filepath.Join("testdata", "web"))))
	mux.HandleFunc("POST /offer", func(w http.ResponseWriter, r *http.Request) {
		offer, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c, answer, err := g.AcceptWebRTC(r.Context(), string(offer), WebRTCInfo{ANI: "web", DNIS: "support"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		go func() {
			select {
			case <-time.After(time.Second): // let ICE/DTLS finish
			case <-c.Context().Done():
			}
			played <- c.Play(c.Context(), []string{prompt}, false)
		}()
		_, _ = io.WriteString(w, answer)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/index.html")); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[string](`start()`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("start(): %v", err)
	}
	var st struct {
		State   string  `json:"state"`
		Packets int     `json:"packets"`
		Energy  float64 `json:"energy"`
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		js, err := chromedp.Run(bctx, chromedp.Evaluate[string](`stats()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(js), &st); err != nil {
			t.Fatal(err)
		}
		if st.Packets >= 80 && st.Energy > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("browser stats %+v: prompt not received", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	select {
	case err := <-played:
		if err != nil {
			t.Errorf("Play: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Play did not finish")
	}
	t.Logf("browser received %d packets, audio energy %.3f", st.Packets, st.Energy)
}
