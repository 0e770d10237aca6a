package crmcore

import (
	"fmt"
	"math"
	"time"
)

// QAQuestionKind is how a quality question is answered.
type QAQuestionKind string

// Question kinds.
const (
	// QAYesNo is answered yes (1) or no (0).
	QAYesNo QAQuestionKind = "yes_no"
	// QAScale is answered 0 to the question's Max.
	QAScale QAQuestionKind = "scale"
	// QANAAllowed is a yes/no question that may also be answered
	// not applicable, which leaves it out of the score.
	QANAAllowed QAQuestionKind = "na_allowed"
)

// Limits on quality forms and evaluations.
const (
	MaxQASections          = 20
	MaxQAQuestions         = 200 // over all sections
	MaxQAScale             = 10
	MaxQAWeight            = 100
	MaxQAText              = 1000
	MaxQAComments          = 10000
	MaxQADisputeReason     = 2000
	MaxQASamplePerAgent    = 50
	maxQAQuestionIDLen     = 32
	maxQAFormNameLen       = 200
	maxQASectionTitleBytes = 200
)

// QAQuestion is one question of a quality form. Weight is its share of
// the score; an AutoFail question answered no fails the whole evaluation.
type QAQuestion struct {
	ID       string         `json:"id"`
	Text     string         `json:"text"`
	Kind     QAQuestionKind `json:"kind"`
	Max      int            `json:"max,omitempty"` // scale questions: the top of the scale
	Weight   int            `json:"weight"`
	AutoFail bool           `json:"auto_fail,omitempty"`
}

// QASection is a titled group of questions.
type QASection struct {
	Title     string       `json:"title"`
	Questions []QAQuestion `json:"questions"`
}

// QAForm is an evaluation form defined by an admin. Forms are versioned:
// an edit stores a new version under the same ID, and an evaluation keeps
// the version it was scored on. Channels limits the interactions the form
// is for (none: every channel).
type QAForm struct {
	ID        string      `json:"id"`
	Version   int         `json:"version"`
	Name      string      `json:"name"`
	Channels  []Channel   `json:"channels"`
	Sections  []QASection `json:"sections"`
	Active    bool        `json:"active"`
	CreatedAt time.Time   `json:"created_at"`
	CreatedBy string      `json:"created_by,omitempty"`
}

// QAAnswer is the answer to one question: Value (yes 1, no 0, or a point
// on the scale), or NA for a question that allows it.
type QAAnswer struct {
	Value int  `json:"value"`
	NA    bool `json:"na,omitempty"`
}

// Validate checks a form's definition (not its ID, version or dates,
// which the store assigns).
func (f *QAForm) Validate() error {
	if f.Name == "" || len(f.Name) > maxQAFormNameLen || !validLine(f.Name) {
		return invalid("name", fmt.Sprintf("required, at most %d characters, one line", maxQAFormNameLen))
	}
	if len(f.Channels) > 8 {
		return invalid("channels", "too many")
	}
	for _, c := range f.Channels {
		if !c.Valid() {
			return invalid("channels", fmt.Sprintf("unknown channel %q", truncate(string(c), 32)))
		}
	}
	if len(f.Sections) == 0 || len(f.Sections) > MaxQASections {
		return invalid("sections", fmt.Sprintf("want 1 to %d sections", MaxQASections))
	}
	seen := map[string]bool{}
	for i, s := range f.Sections {
		field := fmt.Sprintf("sections[%d]", i)
		if s.Title == "" || len(s.Title) > maxQASectionTitleBytes || !validLine(s.Title) {
			return invalid(field+".title", "required, one line of at most 200 characters")
		}
		if len(s.Questions) == 0 {
			return invalid(field+".questions", "a section needs a question")
		}
		for j, q := range s.Questions {
			qf := fmt.Sprintf("%s.questions[%d]", field, j)
			if len(seen) == MaxQAQuestions {
				return invalid(qf, fmt.Sprintf("more than %d questions", MaxQAQuestions))
			}
			if err := q.validate(qf); err != nil {
				return err
			}
			if seen[q.ID] {
				return invalid(qf+".id", fmt.Sprintf("duplicate question id %q", q.ID))
			}
			seen[q.ID] = true
		}
	}
	return nil
}

func (q QAQuestion) validate(field string) error {
	if len(q.ID) > maxQAQuestionIDLen || !validSurveyName(q.ID) {
		return invalid(field+".id", "want 1–32 of a–z, 0–9 and _")
	}
	if q.Text == "" || len(q.Text) > MaxQAText || !validText(q.Text) {
		return invalid(field+".text", fmt.Sprintf("required, at most %d characters", MaxQAText))
	}
	if q.Weight < 1 || q.Weight > MaxQAWeight {
		return invalid(field+".weight", fmt.Sprintf("want 1–%d", MaxQAWeight))
	}
	switch q.Kind {
	case QAYesNo, QANAAllowed:
		if q.Max != 0 {
			return invalid(field+".max", "only scale questions have a max")
		}
	case QAScale:
		if q.Max < 1 || q.Max > MaxQAScale {
			return invalid(field+".max", fmt.Sprintf("want 1–%d", MaxQAScale))
		}
		if q.AutoFail {
			return invalid(field+".auto_fail", "only yes/no questions can fail an evaluation")
		}
	default:
		return invalid(field+".kind", "want yes_no, scale or na_allowed")
	}
	return nil
}

// top is the best answer's value.
func (q QAQuestion) top() int {
	if q.Kind == QAScale {
		return q.Max
	}
	return 1
}

// Questions returns the form's questions in order.
func (f *QAForm) Questions() []QAQuestion {
	var out []QAQuestion
	for _, s := range f.Sections {
		out = append(out, s.Questions...)
	}
	return out
}

// ForChannel reports whether the form is for interactions of channel c.
func (f *QAForm) ForChannel(c Channel) bool {
	if len(f.Channels) == 0 {
		return true
	}
	for _, x := range f.Channels {
		if x == c {
			return true
		}
	}
	return false
}

// CheckAnswers checks answers against the form: every answer names a
// question, within its range, N/A only where allowed; with complete,
// every question must be answered.
func (f *QAForm) CheckAnswers(answers map[string]QAAnswer, complete bool) error {
	qs := f.Questions()
	if len(answers) > len(qs) {
		return invalid("answers", "more answers than questions")
	}
	byID := make(map[string]QAQuestion, len(qs))
	for _, q := range qs {
		byID[q.ID] = q
	}
	for id, a := range answers {
		q, ok := byID[id]
		if !ok {
			return invalid("answers", fmt.Sprintf("no question %q on this form", truncate(id, 32)))
		}
		switch {
		case a.NA && q.Kind != QANAAllowed:
			return invalid("answers", fmt.Sprintf("question %q cannot be answered N/A", id))
		case a.NA && a.Value != 0:
			return invalid("answers", fmt.Sprintf("question %q: an N/A answer has no value", id))
		case a.Value < 0 || a.Value > q.top():
			return invalid("answers", fmt.Sprintf("question %q: want 0–%d", id, q.top()))
		}
	}
	if complete {
		for _, q := range qs {
			if _, ok := answers[q.ID]; !ok {
				return invalid("answers", fmt.Sprintf("question %q is not answered", q.ID))
			}
		}
	}
	return nil
}

// QAResult is a scored evaluation: Score from 0 to 100, and Failed when
// an auto-fail question was answered no (then Score is 0).
type QAResult struct {
	Score  float64 `json:"score"`
	Failed bool    `json:"failed"`
}

// ScoreQA scores complete answers on a form: each answered question earns
// its weight times the answer's share of the top answer, and the score is
// what was earned over the weights of the questions answered, as a
// percentage rounded to two decimals; N/A questions count in neither. No
// question counted (all N/A) scores 100: nothing was done wrong. Any
// auto-fail question answered no gives 0 and Failed.
func ScoreQA(f QAForm, answers map[string]QAAnswer) (QAResult, error) {
	if err := f.CheckAnswers(answers, true); err != nil {
		return QAResult{}, err
	}
	var earned, possible float64
	for _, q := range f.Questions() {
		a := answers[q.ID]
		if a.NA {
			continue
		}
		if q.AutoFail && a.Value == 0 {
			return QAResult{Score: 0, Failed: true}, nil
		}
		w := float64(q.Weight)
		earned += w * float64(a.Value) / float64(q.top())
		possible += w
	}
	if possible == 0 {
		return QAResult{Score: 100}, nil
	}
	return QAResult{Score: math.Round(10000*earned/possible) / 100}, nil
}

// QAWeekStart returns the Monday 00:00 UTC that starts t's ISO week.
func QAWeekStart(t time.Time) time.Time {
	t = t.UTC()
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	back := (int(d.Weekday()) + 6) % 7 // Monday 0 … Sunday 6
	return d.AddDate(0, 0, -back)
}

// QAReportRow is one group of a quality report: the evaluations scored in
// a period for one agent, form or evaluator (Key, with its Name).
type QAReportRow struct {
	Key      string  `json:"key"`
	Name     string  `json:"name"`
	Count    int     `json:"count"`
	Average  float64 `json:"average_score"`
	Fails    int     `json:"fails"`
	Disputes int     `json:"disputes"`
}

// QAReportBy is what a quality report groups by.
type QAReportBy string

// Report groupings.
const (
	QAByAgent     QAReportBy = "agent"
	QAByForm      QAReportBy = "form"
	QAByEvaluator QAReportBy = "evaluator"
)

// Valid reports whether b is a known grouping.
func (b QAReportBy) Valid() bool { return b == QAByAgent || b == QAByForm || b == QAByEvaluator }
