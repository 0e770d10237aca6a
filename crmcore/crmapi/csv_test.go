package crmapi

import (
	"strings"
	"testing"
	"unicode/utf8"

	"switchboard/crmcore"
)

func TestParseContactsCSV(t *testing.T) {
	p, err := ParseContactsCSV(strings.NewReader("\ufeffFirst Name,Last Name,Work Phone,Emails,Tags\nAna,García,912 345 678,a@x.com;b@x.com,VIP|spanish\n,,,,\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rows) != 1 || len(p.Errors) != 0 {
		t.Fatalf("parsed = %+v", p)
	}
	in := p.Rows[0].Input
	if in.Name != "Ana García" || len(in.Emails) != 2 || in.Phones[0].Label != "work" || len(in.Tags) != 2 || p.Rows[0].Line != 2 {
		t.Errorf("row = %+v", p.Rows[0])
	}
	if _, err := ParseMapping("Handy=phone,Firma=company"); err == nil {
		t.Error("unknown field in mapping accepted")
	}
}

func FuzzParseContactsCSV(f *testing.F) {
	for _, s := range []string{
		"name,phone\nAna,+34912345678\n",
		"Full Name,E-mail,Mobile,Company\nNina,nina@example.com,(212) 555-0188,Acme\n",
		"name\n\"unterminated\n",
		"first name,last name,custom.plan\nA,B,gold\n,,\n",
		"name,phone,phone\nx,1;2|3,+1\n\"a\"\"b\",\"\",\n",
		"\ufeffname\r\nA\r\n",
		"",
	} {
		f.Add(s, "US")
	}
	f.Fuzz(func(t *testing.T, data, region string) {
		p, err := ParseContactsCSV(strings.NewReader(data), nil)
		if err != nil {
			return
		}
		if len(p.Rows)+len(p.Errors) > MaxImportRows+1 {
			t.Fatalf("row cap exceeded: %d", len(p.Rows)+len(p.Errors))
		}
		for _, r := range p.Rows {
			if r.Line < 2 {
				t.Fatalf("data row on line %d", r.Line)
			}
			// Validation of any parsed row must not panic and must give a
			// FieldError or a contact.
			c, err := crmcore.NewContact(r.Input, region)
			if err == nil {
				for _, ph := range c.Phones {
					if !strings.HasPrefix(ph.E164, "+") {
						t.Fatalf("non-E.164 phone %q", ph.E164)
					}
				}
				if !utf8.ValidString(c.Name) {
					t.Fatalf("invalid UTF-8 name accepted: %q", c.Name)
				}
			}
		}
	})
}
