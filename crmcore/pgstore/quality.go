package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

// qaDefinition is what qa_forms.definition holds: the parts of a form
// that are not columns.
type qaDefinition struct {
	Channels []crmcore.Channel   `json:"channels"`
	Sections []crmcore.QASection `json:"sections"`
}

const qaFormCols = `id::text, version, name, definition, active, created_at, coalesce(created_by::text, '')`

func scanQAForm(row pgx.Row) (crmcore.QAForm, error) {
	var f crmcore.QAForm
	var d qaDefinition
	err := row.Scan(&f.ID, &f.Version, &f.Name, &d, &f.Active, &f.CreatedAt, &f.CreatedBy)
	f.Channels, f.Sections = d.Channels, d.Sections
	if f.Channels == nil {
		f.Channels = []crmcore.Channel{}
	}
	return f, err
}

// CreateQAForm stores a new form, version 1, created by actorID.
func (s *Store) CreateQAForm(ctx context.Context, actorID string, f crmcore.QAForm) (crmcore.QAForm, error) {
	f.ID, f.Version = crmcore.NewID(), 1
	return s.insertQAForm(ctx, s.pool, actorID, f)
}

// UpdateQAForm stores f as the next version of form id; evaluations keep
// the version they were started on. Two concurrent edits of one form do
// not both win: the later one is a conflict.
func (s *Store) UpdateQAForm(ctx context.Context, actorID, id string, f crmcore.QAForm) (crmcore.QAForm, error) {
	if !crmcore.ValidID(id) {
		return f, mapErr("update qa form", crmcore.ErrNotFound)
	}
	var out crmcore.QAForm
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var last int
		if err := tx.QueryRow(ctx, `select version from qa_forms where id=$1 order by version desc limit 1 for update`, id).Scan(&last); err != nil {
			return err
		}
		f.ID, f.Version = id, last+1
		var err error
		out, err = s.insertQAForm(ctx, tx, actorID, f)
		return err
	})
	if err != nil {
		return out, mapErr("update qa form", err)
	}
	return out, nil
}

type execQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Store) insertQAForm(ctx context.Context, q execQuerier, actorID string, f crmcore.QAForm) (crmcore.QAForm, error) {
	if err := f.Validate(); err != nil {
		return f, err
	}
	if f.Channels == nil {
		f.Channels = []crmcore.Channel{}
	}
	f.CreatedAt, f.CreatedBy = s.now().UTC(), actorID
	out, err := scanQAForm(q.QueryRow(ctx, `insert into qa_forms (id, version, name, definition, active, created_at, created_by)
		values ($1, $2, $3, $4, $5, $6, nullif($7::text, '')::uuid) returning `+qaFormCols,
		f.ID, f.Version, f.Name, qaDefinition{Channels: f.Channels, Sections: f.Sections}, f.Active, f.CreatedAt, actorID))
	if err != nil {
		return f, mapErr("create qa form", err)
	}
	return out, nil
}

// QAForm returns form id at version (0: its latest version).
func (s *Store) QAForm(ctx context.Context, id string, version int) (crmcore.QAForm, error) {
	if !crmcore.ValidID(id) {
		return crmcore.QAForm{}, mapErr("qa form", crmcore.ErrNotFound)
	}
	f, err := scanQAForm(s.pool.QueryRow(ctx, `select `+qaFormCols+` from qa_forms where id=$1 and ($2 = 0 or version=$2)
		order by version desc limit 1`, id, version))
	if err != nil {
		return f, mapErr("qa form", err)
	}
	return f, nil
}

// QAForms returns the latest version of every form, by name.
func (s *Store) QAForms(ctx context.Context) ([]crmcore.QAForm, error) {
	rows, _ := s.pool.Query(ctx, `select * from (select distinct on (id) `+qaFormCols+` from qa_forms order by id, version desc) f
		order by name, id`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.QAForm, error) { return scanQAForm(r) })
	if err != nil {
		return nil, mapErr("qa forms", err)
	}
	return out, nil
}

const qaEvalCols = `e.id::text, e.form_id::text, e.form_version, e.interaction_id::text, e.agent_id::text,
	coalesce(e.evaluator_id::text, ''), e.answers, e.comments, e.score, e.failed, e.state,
	coalesce(to_char(e.sample_week, 'YYYY-MM-DD'), ''), e.dispute_reason, e.resolution, e.created_at, e.updated_at,
	e.submitted_at, e.acknowledged_at, e.disputed_at, e.resolved_at`

func scanEvaluation(row pgx.Row) (crmcore.Evaluation, error) {
	var e crmcore.Evaluation
	var state string
	err := row.Scan(&e.ID, &e.FormID, &e.FormVersion, &e.InteractionID, &e.AgentID, &e.Evaluator, &e.Answers, &e.Comments,
		&e.Score, &e.Failed, &state, &e.SampleWeek, &e.DisputeReason, &e.Resolution, &e.CreatedAt, &e.UpdatedAt,
		&e.SubmittedAt, &e.AcknowledgedAt, &e.DisputedAt, &e.ResolvedAt)
	e.State = crmcore.QAState(state)
	if e.Answers == nil {
		e.Answers = map[string]crmcore.QAAnswer{}
	}
	return e, err
}

// CreateEvaluation starts evaluator's draft evaluation of interaction
// interactionID on the latest version of form formID.
func (s *Store) CreateEvaluation(ctx context.Context, evaluator, interactionID, formID string) (crmcore.Evaluation, error) {
	if !crmcore.ValidID(interactionID) {
		return crmcore.Evaluation{}, &crmcore.FieldError{Field: "interaction_id", Reason: "not a UUID"}
	}
	in, err := s.GetInteraction(ctx, interactionID)
	if errors.Is(err, crmcore.ErrNotFound) {
		return crmcore.Evaluation{}, &crmcore.FieldError{Field: "interaction_id", Reason: "no such interaction"}
	}
	if err != nil {
		return crmcore.Evaluation{}, err
	}
	f, err := s.QAForm(ctx, formID, 0)
	if errors.Is(err, crmcore.ErrNotFound) {
		return crmcore.Evaluation{}, &crmcore.FieldError{Field: "form_id", Reason: "no such form"}
	}
	if err != nil {
		return crmcore.Evaluation{}, err
	}
	e, err := crmcore.NewEvaluation(in, f, evaluator, s.now())
	if err != nil {
		return e, err
	}
	out, err := scanEvaluation(s.pool.QueryRow(ctx, `insert into qa_evaluations as e (id, form_id, form_version, interaction_id,
		agent_id, evaluator_id, state, created_at, updated_at) values ($1, $2, $3, $4, $5, nullif($6::text, '')::uuid, $7, $8, $8)
		returning `+qaEvalCols, e.ID, e.FormID, e.FormVersion, e.InteractionID, e.AgentID, e.Evaluator, string(e.State), e.CreatedAt))
	if err != nil {
		return out, mapErr("create evaluation", err)
	}
	return out, nil
}

// Evaluation returns evaluation id.
func (s *Store) Evaluation(ctx context.Context, id string) (crmcore.Evaluation, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Evaluation{}, mapErr("evaluation", crmcore.ErrNotFound)
	}
	e, err := scanEvaluation(s.pool.QueryRow(ctx, `select `+qaEvalCols+` from qa_evaluations e where e.id=$1`, id))
	if err != nil {
		return e, mapErr("evaluation", err)
	}
	return e, nil
}

// Evaluations lists evaluations matching f, newest first.
func (s *Store) Evaluations(ctx context.Context, f crmcore.QAFilter) ([]crmcore.Evaluation, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	states := make([]string, len(f.States))
	for i, st := range f.States {
		states[i] = string(st)
	}
	rows, _ := s.pool.Query(ctx, `select `+qaEvalCols+` from qa_evaluations e
		where ($1 = '' or e.agent_id::text = $1) and ($2 = '' or e.evaluator_id::text = $2) and ($3 = '' or e.form_id::text = $3)
		and (cardinality($4::text[]) = 0 or e.state = any($4))
		and ($5::timestamptz is null or coalesce(e.submitted_at, e.created_at) >= $5)
		and ($6::timestamptz is null or coalesce(e.submitted_at, e.created_at) < $6)
		order by coalesce(e.submitted_at, e.created_at) desc, e.id limit $7`,
		f.AgentID, f.EvaluatorID, f.FormID, states, nullTime(f.From), nullTime(f.To), f.Limit)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.Evaluation, error) { return scanEvaluation(r) })
	if err != nil {
		return nil, mapErr("evaluations", err)
	}
	return out, nil
}

// ScoreEvaluation saves evaluator's answers on evaluation id as a draft,
// or scores and submits them (s.Submit), on the form version the
// evaluation is on.
func (s *Store) ScoreEvaluation(ctx context.Context, id, evaluator string, sc crmcore.QAScoring) (crmcore.Evaluation, error) {
	return s.mutateEvaluation(ctx, "score evaluation", id, func(e *crmcore.Evaluation, f crmcore.QAForm) error {
		return e.Grade(f, evaluator, sc, s.now())
	})
}

// AcknowledgeEvaluation records that agentID, the evaluated agent, read
// submitted evaluation id.
func (s *Store) AcknowledgeEvaluation(ctx context.Context, id, agentID string) (crmcore.Evaluation, error) {
	return s.mutateEvaluation(ctx, "acknowledge evaluation", id, func(e *crmcore.Evaluation, _ crmcore.QAForm) error {
		return e.Acknowledge(agentID, s.now())
	})
}

// DisputeEvaluation records agentID's dispute of submitted evaluation id.
func (s *Store) DisputeEvaluation(ctx context.Context, id, agentID, reason string) (crmcore.Evaluation, error) {
	return s.mutateEvaluation(ctx, "dispute evaluation", id, func(e *crmcore.Evaluation, _ crmcore.QAForm) error {
		return e.Dispute(agentID, reason, s.now())
	})
}

// ResolveEvaluation closes the dispute of evaluation id.
func (s *Store) ResolveEvaluation(ctx context.Context, id, resolution string) (crmcore.Evaluation, error) {
	return s.mutateEvaluation(ctx, "resolve evaluation", id, func(e *crmcore.Evaluation, _ crmcore.QAForm) error {
		return e.Resolve(resolution, s.now())
	})
}

// mutateEvaluation applies fn to evaluation id and its form version under
// the row's lock, and saves what fn changed.
func (s *Store) mutateEvaluation(ctx context.Context, op, id string, fn func(*crmcore.Evaluation, crmcore.QAForm) error) (crmcore.Evaluation, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Evaluation{}, mapErr(op, crmcore.ErrNotFound)
	}
	var e crmcore.Evaluation
	var domainErr error
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		e, err = scanEvaluation(tx.QueryRow(ctx, `select `+qaEvalCols+` from qa_evaluations e where e.id=$1 for no key update`, id))
		if err != nil {
			return err
		}
		f, err := scanQAForm(tx.QueryRow(ctx, `select `+qaFormCols+` from qa_forms where id=$1 and version=$2`, e.FormID, e.FormVersion))
		if err != nil {
			return err
		}
		if domainErr = fn(&e, f); domainErr != nil {
			return domainErr
		}
		_, err = tx.Exec(ctx, `update qa_evaluations set evaluator_id=nullif($2::text, '')::uuid, answers=$3, comments=$4,
			score=$5, failed=$6, state=$7, dispute_reason=$8, resolution=$9, updated_at=$10, submitted_at=$11,
			acknowledged_at=$12, disputed_at=$13, resolved_at=$14 where id=$1`,
			e.ID, e.Evaluator, e.Answers, e.Comments, e.Score, e.Failed, string(e.State), e.DisputeReason, e.Resolution,
			e.UpdatedAt, e.SubmittedAt, e.AcknowledgedAt, e.DisputedAt, e.ResolvedAt)
		return err
	})
	if err != nil {
		if domainErr != nil {
			return crmcore.Evaluation{}, domainErr
		}
		return crmcore.Evaluation{}, mapErr(op, err)
	}
	return e, nil
}

// AssignSample assigns evaluator, for the ISO week starting at weekStart
// (a Monday, UTC), perAgent interactions of every agent to review on the
// latest version of form formID: interactions that arrived that week,
// ended, were handled by an agent, are of a channel the form is for and
// have no evaluation on this form yet. The pick is a pseudo-random order
// keyed by seed (the same seed picks the same interactions from the same
// data), and it is idempotent: an agent who already has perAgent
// evaluations sampled for the week gets no more. It returns the week's
// whole sample for the form.
func (s *Store) AssignSample(ctx context.Context, weekStart time.Time, perAgent int, seed int64, formID, evaluator string) ([]crmcore.Evaluation, error) {
	if perAgent < 1 || perAgent > crmcore.MaxQASamplePerAgent {
		return nil, &crmcore.FieldError{Field: "per_agent", Reason: "want 1–50"}
	}
	week := crmcore.QAWeekStart(weekStart)
	if !week.Equal(weekStart.UTC()) {
		return nil, &crmcore.FieldError{Field: "week", Reason: "not the Monday 00:00 UTC that starts a week"}
	}
	f, err := s.QAForm(ctx, formID, 0)
	if errors.Is(err, crmcore.ErrNotFound) {
		return nil, &crmcore.FieldError{Field: "form_id", Reason: "no such form"}
	}
	if err != nil {
		return nil, err
	}
	if !f.Active {
		return nil, &crmcore.FieldError{Field: "form_id", Reason: "the form is not active"}
	}
	channels := make([]string, len(f.Channels))
	for i, c := range f.Channels {
		channels[i] = string(c)
	}
	var out []crmcore.Evaluation
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One sampler per form at a time, so that two runs for the same
		// week do not both see an agent short of samples.
		if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock(hashtextextended('switchboard/qa/sample/' || $1, 0))`, f.ID); err != nil {
			return err
		}
		now := s.now().UTC()
		_, err := tx.Exec(ctx, `with cand as (
				select i.id, i.agent_id, row_number() over (partition by i.agent_id
					order by md5($6::bigint::text || ':' || i.id::text), i.id) as rn
				from interactions i join agents a on a.id = i.agent_id
				where i.arrived_at >= $1 and i.arrived_at < $1 + interval '7 days'
				and i.outcome <> 'in-progress' and i.ended_at is not null
				and (cardinality($5::text[]) = 0 or i.channel = any($5))
				and not exists (select 1 from qa_evaluations x where x.interaction_id = i.id and x.form_id = $2)
			), have as (
				select agent_id, count(*) as n from qa_evaluations
				where sample_week = $1::date and form_id = $2 group by agent_id
			)
			insert into qa_evaluations (id, form_id, form_version, interaction_id, agent_id, evaluator_id, state,
				sample_week, created_at, updated_at)
			select gen_random_uuid(), $2, $3, c.id, c.agent_id, nullif($7::text, '')::uuid, 'assigned', $1::date, $8, $8
			from cand c left join have h on h.agent_id = c.agent_id
			where c.rn <= $4 - coalesce(h.n, 0)`,
			week, f.ID, f.Version, perAgent, channels, seed, evaluator, now)
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `select `+qaEvalCols+` from qa_evaluations e where e.sample_week = $1::date and e.form_id = $2
			order by e.agent_id, e.interaction_id`, week, f.ID)
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.Evaluation, error) { return scanEvaluation(r) })
		return err
	})
	if err != nil {
		return nil, mapErr("assign sample", err)
	}
	return out, nil
}

// QualityReport sums up the evaluations submitted in [from, to) by agent,
// form or evaluator: how many, their average score, how many failed and
// how many were disputed.
func (s *Store) QualityReport(ctx context.Context, from, to time.Time, by crmcore.QAReportBy) ([]crmcore.QAReportRow, error) {
	var key, name string
	switch by {
	case crmcore.QAByAgent:
		key, name = "e.agent_id", "(select a.name from agents a where a.id = e.agent_id)"
	case crmcore.QAByEvaluator:
		key, name = "e.evaluator_id", "(select a.name from agents a where a.id = e.evaluator_id)"
	case crmcore.QAByForm:
		key, name = "e.form_id", "(select f.name from qa_forms f where f.id = e.form_id order by f.version desc limit 1)"
	default:
		return nil, &crmcore.FieldError{Field: "by", Reason: "want agent, form or evaluator"}
	}
	rows, _ := s.pool.Query(ctx, `select coalesce(`+key+`::text, ''), coalesce(min(`+name+`), ''), count(*)::int,
		round(avg(e.score)::numeric, 2)::float8, (count(*) filter (where e.failed))::int,
		(count(*) filter (where e.disputed_at is not null))::int
		from qa_evaluations e where e.submitted_at >= $1 and e.submitted_at < $2
		group by `+key+` order by 2, 1`, from.UTC(), to.UTC())
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.QAReportRow, error) {
		var q crmcore.QAReportRow
		err := r.Scan(&q.Key, &q.Name, &q.Count, &q.Average, &q.Fails, &q.Disputes)
		return q, err
	})
	if err != nil {
		return nil, mapErr("quality report", err)
	}
	return out, nil
}

// QATranscript returns the written record of an interaction for its
// reviewer, oldest first: the chat's messages (a chat is stored under its
// interaction's id), and the emails and comments of the interaction's
// ticket.
func (s *Store) QATranscript(ctx context.Context, interactionID string) ([]crmcore.TranscriptEntry, error) {
	if !crmcore.ValidID(interactionID) {
		return nil, mapErr("transcript", crmcore.ErrNotFound)
	}
	rows, _ := s.pool.Query(ctx, `select m.created_at, 'chat', m.sender || coalesce(': ' || a.name, ''), m.body
			from chat_messages m left join agents a on a.id = m.agent_id where m.conversation_id = $1
		union all
		select te.created_at, 'email', te.from_addr, te.subject || E'\n\n' || te.body
			from ticket_emails te join interactions i on i.ticket_id = te.ticket_id where i.id = $1
		union all
		select c.created_at, 'comment', coalesce(a.name, ''), c.body
			from ticket_comments c join interactions i on i.ticket_id = c.ticket_id left join agents a on a.id = c.author_id
			where i.id = $1
		order by 1 limit 2000`, interactionID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.TranscriptEntry, error) {
		var t crmcore.TranscriptEntry
		err := r.Scan(&t.At, &t.Kind, &t.From, &t.Text)
		return t, err
	})
	if err != nil {
		return nil, mapErr("transcript", err)
	}
	return out, nil
}
