package livesim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/smtp"
	"time"
)

// emailSubjects are what the simulated customers write about.
var emailSubjects = []string{"Router blinks red", "Invoice question", "Cannot log in", "Change my plan", "Refund for order", "Delivery is late"}

// emails sends customer mail to the server's SMTP listener at
// o.EmailRate per minute (Poisson) until ctx ends.
func (s *sim) emails(ctx context.Context) {
	for n := 0; ; n++ {
		s.mu.Lock()
		gap := time.Duration(s.rng.ExpFloat64() / (s.o.EmailRate / 60) * float64(time.Second))
		subject := emailSubjects[s.rng.IntN(len(emailSubjects))]
		to := s.o.EmailTo[s.rng.IntN(len(s.o.EmailTo))]
		who := s.rng.IntN(200)
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(gap):
		}
		from := fmt.Sprintf("customer%03d@example.net", who)
		msg := fmt.Appendf(nil, "From: Customer %03d <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <sim-%d-%d@example.net>\r\n"+
			"Date: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello,\r\n\r\n%s. Can you help?\r\n\r\nCustomer %03d\r\n",
			who, from, to, subject, s.o.Seed, n, time.Now().Format(time.RFC1123Z), subject, who)
		if err := smtp.SendMail(s.o.SMTP, nil, from, []string{to}, msg); err != nil {
			s.log.Warn("simulated email refused", "err", err)
			continue
		}
		s.stats.Emails.Add(1)
	}
}

// answerEmail is a simulated agent's work on an email ticket it accepted:
// a reply from the first canned response, then the ticket solved (which
// ends the task and starts its wrap-up).
func (s *sim) answerEmail(ctx context.Context, tok, number string) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(3*time.Second + s.exp(5*time.Second)):
	}
	reply := map[string]any{"text": "Hello {{contact.name}},\n\nthank you for writing. This is sorted now.\n\n{{agent.name}}"}
	if s.rest(ctx, "POST", "/api/v1/tickets/"+number+"/emails", tok, reply) != nil {
		return
	}
	s.stats.EmailReplies.Add(1)
	for _, to := range []string{"open", "solved"} {
		if s.rest(ctx, "POST", "/api/v1/tickets/"+number+"/transitions", tok, map[string]string{"to": to}) != nil {
			return
		}
	}
}

// rest sends a JSON request to the server's REST API as tok.
func (s *sim) rest(ctx context.Context, method, path, tok string, body any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, method, "http://"+s.o.HTTP+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		s.log.Debug("REST refused", "path", path, "status", res.StatusCode)
		return fmt.Errorf("livesim: %s %s: HTTP %d", method, path, res.StatusCode)
	}
	return nil
}
