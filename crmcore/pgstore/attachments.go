package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

// insertAttachments stores the content of email m's kept attachments in
// tx, each under the id its description names (assigned by insertEmail).
func insertAttachments(ctx context.Context, tx pgx.Tx, m *crmcore.EmailMessage) error {
	for _, a := range m.Attachments {
		if !a.Kept() || a.Content == nil {
			continue
		}
		if _, err := tx.Exec(ctx, `insert into email_attachments (id, email_id, file_name, content_type, size, sha256, content, created_at)
			values ($1, $2, $3, $4, $5, $6, $7, $8)`, a.ID, m.ID, a.Name, a.ContentType, a.Size, a.SHA256, a.Content, m.CreatedAt.UTC()); err != nil {
			return fmt.Errorf("attachment %q: %w", a.Name, err)
		}
	}
	return nil
}

// EmailAttachment returns attachment id of an email of ticket n, with its
// content. An id that is no attachment of that ticket's emails gives
// crmcore.ErrNotFound, as an unknown one does.
func (s *Store) EmailAttachment(ctx context.Context, n int64, id string) (crmcore.EmailAttachment, error) {
	if !crmcore.ValidID(id) {
		return crmcore.EmailAttachment{}, mapErr("email attachment", pgx.ErrNoRows)
	}
	var a crmcore.EmailAttachment
	err := s.pool.QueryRow(ctx, `select a.id::text, a.file_name, a.content_type, a.size, a.sha256, a.content
		from email_attachments a join ticket_emails e on e.id = a.email_id join tickets t on t.id = e.ticket_id
		where a.id = $1 and t.number = $2`, id, n).Scan(&a.ID, &a.Name, &a.ContentType, &a.Size, &a.SHA256, &a.Content)
	if err != nil {
		return crmcore.EmailAttachment{}, mapErr("email attachment", err)
	}
	return a, nil
}
