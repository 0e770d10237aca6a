package pgstore

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

// ContactForCustomer returns the id of the contact of a customer who said
// who they are (a web caller's form or signed token): the contact with
// email, else the one with phone; when none matches and the customer gave
// a name or an email, a new contact with that name and email (a chat's
// pre-chat form is matched the same way by CreateConversation). phone is
// matched in E.164: a number written without its country code must be
// normalised by the caller, which knows the default region. The phone is
// not stored on a new contact: the customer's word does not make a number
// theirs. A customer who gave none of them, or only a phone nobody has,
// gets "" and no error; an email that is not an address is a
// *crmcore.FieldError.
func (s *Store) ContactForCustomer(ctx context.Context, name, email, phone string) (string, error) {
	name, email, err := cleanCustomer(name, email)
	if err != nil {
		return "", err
	}
	if name == "" && email == "" && phone == "" {
		return "", nil
	}
	var id string
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		id, err = s.customerContact(ctx, tx, name, email, phone, "")
		return err
	})
	if err != nil {
		return "", mapErr("contact for customer", err)
	}
	return id, nil
}

// cleanCustomer trims and caps a customer's name as a contact's and
// normalises their email (lower case), each optional.
func cleanCustomer(name, email string) (string, string, error) {
	name = crmcore.CutText(strings.TrimSpace(name), 200)
	if email != "" {
		e, err := crmcore.NormalizeEmail(email)
		if err != nil {
			return "", "", &crmcore.FieldError{Field: "email", Reason: err.Error()}
		}
		email = e
	}
	return name, email, nil
}

// customerContact is ContactForCustomer inside tx, with name and email
// cleaned (cleanCustomer); a contact it creates speaks language.
func (s *Store) customerContact(ctx context.Context, tx pgx.Tx, name, email, phone, language string) (string, error) {
	var id string
	if email != "" {
		err := tx.QueryRow(ctx, `select id::text from contacts where emails @> array[$1] order by created_at limit 1`, email).Scan(&id)
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return id, err
		}
	}
	if p, err := crmcore.NormalizePhone(phone, ""); err == nil {
		err := tx.QueryRow(ctx, `select contact_id::text from contact_phones where e164=$1`, p.E164).Scan(&id)
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return id, err
		}
	}
	if name == "" && email == "" {
		return "", nil // anonymous: no contact until the customer says who they are
	}
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	id = crmcore.NewID()
	emails := []string{}
	if email != "" {
		emails = append(emails, email)
	}
	now := s.now().UTC()
	_, err := tx.Exec(ctx, `insert into contacts (id, name, emails, language, created_at, updated_at) values ($1, $2, $3, $4, $5, $5)`,
		id, name, emails, language, now)
	return id, err
}

// byContact is the screen pop's lookup by the caller's contact, with the
// contact's first phone.
var byContact = newCallerQueries(`select `+callerCols+`
		from contacts c left join accounts a on a.id = c.account_id
		left join lateral (select * from contact_phones where contact_id = c.id order by position, e164 limit 1) p on true
		where c.id = $1::uuid`, `$1::uuid`)

// LookupByContact is the screen-pop query of a caller known by their
// contact rather than their number (a web caller): the contact with their
// account, first phone, open tickets, last five interactions and last
// agent, in one round trip like LookupByPhone. An unknown contact returns
// Known=false and no error.
func (s *Store) LookupByContact(ctx context.Context, contactID string) (crmcore.CallerLookup, error) {
	if !crmcore.ValidID(contactID) {
		return crmcore.CallerLookup{OpenTickets: []crmcore.Ticket{}, Recent: []crmcore.Interaction{}}, nil
	}
	return s.lookupCaller(ctx, byContact, contactID)
}
