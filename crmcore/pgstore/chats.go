package pgstore

import (
	"cmp"
	"context"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

const chatCols = `c.id::text, coalesce(c.contact_id::text, ''), c.name, c.email, c.phone, c.language, c.queue,
	coalesce(c.agent_id::text, ''), coalesce(c.ticket_id::text, ''), c.status, c.disposition, c.started_at, c.ended_at`

func scanChat(row pgx.Row) (crmcore.ChatConversation, error) {
	var c crmcore.ChatConversation
	err := row.Scan(&c.ID, &c.ContactID, &c.Name, &c.Email, &c.Phone, &c.Language, &c.Queue, &c.AgentID, &c.TicketID,
		&c.Status, &c.Disposition, &c.StartedAt, &c.EndedAt)
	return c, err
}

// CreateConversation stores chat c (its ID chosen by the caller) and opens
// its interaction record (in progress, same id), in one transaction. The
// customer is the contact with c.Email, else with c.Phone (E.164); when
// none has them and the pre-chat form named someone, a contact is
// created (as ContactForCustomer does). c comes back with its contact.
func (s *Store) CreateConversation(ctx context.Context, c crmcore.ChatConversation) (crmcore.ChatConversation, error) {
	if c.ID == "" {
		c.ID = crmcore.NewID()
	}
	if c.Status == "" {
		c.Status = crmcore.ChatStatusBot
	}
	if c.StartedAt.IsZero() {
		c.StartedAt = s.now()
	}
	c.StartedAt = c.StartedAt.UTC()
	var err error
	if c.Name, c.Email, err = cleanCustomer(c.Name, c.Email); err != nil {
		return c, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		id, err := s.customerContact(ctx, tx, c.Name, c.Email, c.Phone, c.Language)
		if err != nil {
			return err
		}
		c.ContactID = cmp.Or(id, c.ContactID)
		_, err = tx.Exec(ctx, `insert into chat_conversations (id, contact_id, name, email, phone, language, queue, status, started_at)
			values ($1, nullif($2::text,'')::uuid, $3, $4, $5, $6, $7, $8, $9)`,
			c.ID, c.ContactID, c.Name, c.Email, c.Phone, c.Language, c.Queue, c.Status, c.StartedAt)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `insert into interactions (id, call_id, direction, channel, ani, contact_id, queue, arrived_at, outcome)
			values ($1::uuid, $1::text, 'inbound', 'chat', $2, nullif($3::text,'')::uuid, $4, $5, 'in-progress')`,
			c.ID, c.Phone, c.ContactID, c.Queue, c.StartedAt)
		return err
	})
	if err != nil {
		if isDomainErr(err) {
			return c, err
		}
		return c, mapErr("create conversation", err)
	}
	return c, nil
}

// AppendMessage stores m as the next message of its conversation and
// returns it with its Seq (and CreatedAt, when zero). It is on disk when
// AppendMessage returns.
func (s *Store) AppendMessage(ctx context.Context, m crmcore.ChatMessage) (crmcore.ChatMessage, error) {
	if err := m.Validate(); err != nil {
		return m, err
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.now()
	}
	m.CreatedAt = m.CreatedAt.UTC()
	buttons := m.Buttons
	if buttons == nil {
		buttons = []crmcore.ChatButton{}
	}
	// One statement, so one round trip and its own transaction: the
	// number is taken under the conversation's row lock and the message
	// stored with it.
	err := s.pool.QueryRow(ctx, `with n as (update chat_conversations set last_seq = last_seq + 1 where id=$1 returning last_seq)
		insert into chat_messages (conversation_id, seq, sender, agent_id, body, buttons, created_at)
		select $1, n.last_seq, $2, nullif($3::text,'')::uuid, $4, $5, $6 from n returning seq`,
		m.ConversationID, string(m.Sender), m.AgentID, m.Text, buttons, m.CreatedAt).Scan(&m.Seq)
	if err != nil {
		return m, mapErr("append chat message", err)
	}
	return m, nil
}

// Messages returns up to limit messages of a conversation after afterSeq,
// oldest first.
func (s *Store) Messages(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]crmcore.ChatMessage, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, _ := s.pool.Query(ctx, `select conversation_id::text, seq, sender, coalesce(agent_id::text, ''), body, buttons, created_at
		from chat_messages where conversation_id=$1 and seq > $2 order by seq limit $3`, conversationID, afterSeq, limit)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.ChatMessage, error) {
		var m crmcore.ChatMessage
		var sender string
		err := r.Scan(&m.ConversationID, &m.Seq, &sender, &m.AgentID, &m.Text, &m.Buttons, &m.CreatedAt)
		m.Sender = crmcore.ChatSender(sender)
		if len(m.Buttons) == 0 {
			m.Buttons = nil
		}
		return m, err
	})
	if err != nil {
		return nil, mapErr("chat messages", err)
	}
	return out, nil
}

// Conversation returns chat id.
func (s *Store) Conversation(ctx context.Context, id string) (crmcore.ChatConversation, error) {
	c, err := scanChat(s.pool.QueryRow(ctx, `select `+chatCols+` from chat_conversations c where c.id=$1`, id))
	if err != nil {
		return c, mapErr("conversation", err)
	}
	return c, nil
}

// UpdateConversation saves c's status, queue, agent, ticket, disposition
// and end, and keeps its interaction record with it: queued and answered
// times as the status moves, and, once closed, the record completed
// (answered when an agent took it, else abandoned) with the disposition.
func (s *Store) UpdateConversation(ctx context.Context, c crmcore.ChatConversation) error {
	switch c.Status {
	case crmcore.ChatStatusBot, crmcore.ChatStatusQueued, crmcore.ChatStatusActive, crmcore.ChatStatusClosed:
	default:
		return &crmcore.FieldError{Field: "status", Reason: "bot, queued, active or closed"}
	}
	now := s.now().UTC()
	if c.Status == crmcore.ChatStatusClosed && c.EndedAt == nil {
		c.EndedAt = &now
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `update chat_conversations set status=$2, queue=$3, agent_id=nullif($4::text,'')::uuid,
			ticket_id=coalesce(nullif($5::text,'')::uuid, ticket_id), disposition=$6, ended_at=$7, contact_id=coalesce(nullif($8::text,'')::uuid, contact_id)
			where id=$1`, c.ID, c.Status, c.Queue, c.AgentID, c.TicketID, c.Disposition, utcPtr(c.EndedAt), c.ContactID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		outcome := "in-progress"
		if c.Status == crmcore.ChatStatusClosed {
			outcome = string(crmcore.OutcomeAbandoned)
			if c.AgentID != "" {
				outcome = string(crmcore.OutcomeAnswered)
			}
		}
		_, err = tx.Exec(ctx, `update interactions set queue=$2, agent_id=coalesce(nullif($3::text,'')::uuid, agent_id),
			queued_at = case when $4 <> 'bot' then coalesce(queued_at, $5) else queued_at end,
			answered_at = case when nullif($3::text,'') is not null then coalesce(answered_at, $5) else answered_at end,
			ended_at=$6, outcome=$7, disposition=$8, ticket_id=coalesce(nullif($9::text,'')::uuid, ticket_id),
			contact_id=coalesce(nullif($10::text,'')::uuid, contact_id),
			wait_ms = case when $7 <> 'in-progress' then greatest(0, (extract(epoch from (coalesce(answered_at, $5) - coalesce(queued_at, arrived_at))) * 1000)::bigint) else wait_ms end,
			talk_ms = case when $7 = 'answered' then greatest(0, (extract(epoch from ($5 - coalesce(answered_at, $5))) * 1000)::bigint) else talk_ms end
			where id=$1 and outcome='in-progress'`,
			c.ID, c.Queue, c.AgentID, c.Status, now, utcPtr(c.EndedAt), outcome, c.Disposition, c.TicketID, c.ContactID)
		if err != nil {
			return err
		}
		// The wrap-up's disposition and a ticket may come after the close.
		_, err = tx.Exec(ctx, `update interactions set disposition=$2, ticket_id=coalesce(nullif($3::text,'')::uuid, ticket_id)
			where id=$1 and outcome <> 'in-progress' and $2 <> ''`, c.ID, c.Disposition, c.TicketID)
		return err
	})
	if err != nil {
		return mapErr("update conversation", err)
	}
	return nil
}

// OpenConversations returns the chats not closed, oldest first (at most
// limit): those a new chat service takes over.
func (s *Store) OpenConversations(ctx context.Context, limit int) ([]crmcore.ChatConversation, error) {
	rows, _ := s.pool.Query(ctx, `select `+chatCols+` from chat_conversations c where c.status <> 'closed'
		order by c.started_at, c.id limit $1`, limit)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.ChatConversation, error) { return scanChat(r) })
	if err != nil {
		return nil, mapErr("open conversations", err)
	}
	return out, nil
}

// ContactConversations returns a contact's chats, newest first.
func (s *Store) ContactConversations(ctx context.Context, contactID string, limit int) ([]crmcore.ChatConversation, error) {
	rows, _ := s.pool.Query(ctx, `select `+chatCols+` from chat_conversations c where c.contact_id=$1
		order by c.started_at desc limit $2`, contactID, limit)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.ChatConversation, error) { return scanChat(r) })
	if err != nil {
		return nil, mapErr("contact conversations", err)
	}
	return out, nil
}

// EmailChatTranscript queues the transcript of chat id to the customer,
// in one transaction: the chat is kept under a ticket (channel chat,
// opened and solved now unless the chat already has one), and the email,
// built by build from that ticket, the contact and the messages, joins
// the ticket's thread, so that the customer's answer threads there.
func (s *Store) EmailChatTranscript(ctx context.Context, agentID, id string,
	build func(t crmcore.Ticket, c crmcore.Contact, conv crmcore.ChatConversation, msgs []crmcore.ChatMessage) (crmcore.EmailMessage, error)) (crmcore.OutboundEmail, error) {
	var out crmcore.OutboundEmail
	now := s.now().UTC()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		conv, err := scanChat(tx.QueryRow(ctx, `select `+chatCols+` from chat_conversations c where c.id=$1 for update`, id))
		if err != nil {
			return err
		}
		if conv.ContactID == "" {
			return &crmcore.FieldError{Field: "contact", Reason: "the chat's customer gave no email address"}
		}
		contact, err := scanContact(tx.QueryRow(ctx, `select `+contactCols+` from contacts c where c.id=$1`, conv.ContactID))
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `select conversation_id::text, seq, sender, coalesce(agent_id::text, ''), body, buttons, created_at
			from chat_messages where conversation_id=$1 order by seq`, id)
		msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.ChatMessage, error) {
			var m crmcore.ChatMessage
			var sender string
			err := r.Scan(&m.ConversationID, &m.Seq, &sender, &m.AgentID, &m.Text, &m.Buttons, &m.CreatedAt)
			m.Sender = crmcore.ChatSender(sender)
			return m, err
		})
		if err != nil {
			return err
		}
		var t crmcore.Ticket
		if conv.TicketID != "" {
			if t, err = scanTicket(tx.QueryRow(ctx, `select `+ticketCols+` from tickets t where t.id=$1`, conv.TicketID)); err != nil {
				return err
			}
		} else {
			name := cmp.Or(conv.Name, contact.Name)
			t, err = crmcore.NewTicket(crmcore.TicketInput{Subject: crmcore.CutText("Chat with "+name, crmcore.MaxSubjectLen),
				Description: crmcore.CutText(crmcore.ChatTranscript(conv, msgs, func(string) string { return "Agent" }), crmcore.MaxTextLen),
				Channel:     crmcore.ChannelChat, RequesterID: contact.ID, AssigneeID: cmp.Or(conv.AgentID, agentID), Group: conv.Queue}, s.SLAPolicy(), now)
			if err != nil {
				return err
			}
			t.Status = crmcore.StatusSolved
			t.SolvedAt = &now
			t.FirstRespondedAt = &now
			if err := insertTicket(ctx, tx, agentID, &t, 0); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `update chat_conversations set ticket_id=$2 where id=$1`, id, t.ID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `update interactions set ticket_id=$2 where id=$1`, id, t.ID); err != nil {
				return err
			}
		}
		m, err := build(t, contact, conv, msgs)
		if err != nil {
			return err
		}
		m.AuthorID = agentID
		out = crmcore.OutboundEmail{TicketID: t.ID, Message: m, Kind: "transcript"}
		return queueEmail(ctx, tx, &out, now)
	})
	if err != nil {
		if isDomainErr(err) {
			return crmcore.OutboundEmail{}, err
		}
		return crmcore.OutboundEmail{}, mapErr("email chat transcript", err)
	}
	return out, nil
}

// LinkChatTicket keeps chat id under ticket ticketID (an agent's wrap-up):
// the conversation and its interaction record name the ticket.
func (s *Store) LinkChatTicket(ctx context.Context, id, ticketID string) error {
	if !crmcore.ValidID(id) || !crmcore.ValidID(ticketID) {
		return mapErr("link chat ticket", crmcore.ErrNotFound)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `update chat_conversations set ticket_id=$2 where id=$1`, id, ticketID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		_, err = tx.Exec(ctx, `update interactions set ticket_id=$2 where id=$1`, id, ticketID)
		return err
	})
	return mapErr("link chat ticket", err)
}
