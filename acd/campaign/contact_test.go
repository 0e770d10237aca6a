package campaign

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readCSV(t *testing.T, name string) ([]Contact, []RowError, error) {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return ParseCSV(f)
}

func TestParseCSV(t *testing.T) {
	got, bad, err := readCSV(t, "contacts.csv")
	if err != nil || len(bad) != 0 {
		t.Fatalf("ParseCSV: %v, bad rows %v", err, bad)
	}
	want := []Contact{
		{ID: "c-1", Number: "+12125550101", Name: "Ada Lovelace"},
		{ID: "c-2", Number: "+14155550102", Name: "Grace Hopper, Rear Admiral"},
		{ID: "c-3", Number: "+442079460123", Name: "Alan Turing", TimeZone: "Europe/London"},
		{ID: "c-4", Number: "+18005551234", Name: "Toll Free Inc", TimeZone: "America/Chicago"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("contacts (-want +got):\n%s", diff)
	}
}

// TestParseCSVBadRows: every bad row is skipped and reported with the
// line it starts on; the good rows around them are kept.
func TestParseCSVBadRows(t *testing.T) {
	got, bad, err := readCSV(t, "bad-rows.csv")
	if err != nil {
		t.Fatal(err)
	}
	var numbers []string
	for _, c := range got {
		numbers = append(numbers, c.Number)
	}
	if want := []string{"+12125550101", "+12125550105"}; !cmp.Equal(numbers, want) {
		t.Errorf("kept %v, want %v", numbers, want)
	}
	wantBad := map[int]string{3: "not E.164", 4: "not a valid", 5: "already on line 2", 6: "not a known IANA zone",
		7: "wrong number of fields", 10: "not an IANA zone name"}
	if len(bad) != len(wantBad) {
		t.Errorf("bad rows %v, want lines %v", bad, wantBad)
	}
	for _, b := range bad {
		if want, ok := wantBad[b.Line]; !ok || !strings.Contains(b.Error(), want) {
			t.Errorf("bad row %q, want line %d to say %q", b.Error(), b.Line, want)
		}
	}
}

func TestParseCSVRefused(t *testing.T) {
	manyBad := "number\n" + strings.Repeat("+1\n", maxRowErrors+1)
	for _, tc := range []struct {
		name string
		in   io.Reader
		want string
	}{
		{"empty", strings.NewReader(""), "header"},
		{"no number column", strings.NewReader("name,timezone\nx,UTC\n"), "no number column"},
		{"unknown column", strings.NewReader("number,email\n+12125550101,a@b\n"), "unknown column"},
		{"column twice", strings.NewReader("number,Number\n"), "twice"},
		{"too many bad rows", strings.NewReader(manyBad), "bad rows"},
		{"too large", io.MultiReader(strings.NewReader("number,name\n+12125550101,"), endless{}), "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, bad, err := parseCSV(tc.in, 1<<20)
			if !errors.Is(err, ErrCSV) || !strings.Contains(err.Error(), tc.want) || got != nil || bad != nil {
				t.Errorf("ParseCSV = %d contacts, %d bad, %v; want ErrCSV saying %q", len(got), len(bad), err, tc.want)
			}
		})
	}
}

// endless is an input that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func FuzzParseCSV(f *testing.F) {
	for _, name := range []string{"contacts.csv", "bad-rows.csv"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("number\n\"+1212555\"\"0101\n\xff,\n"))
	f.Add([]byte("\ufeffnumber,timezone\n+12125550101,Local\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, bad, err := ParseCSV(bytes.NewReader(b))
		if err != nil {
			if got != nil || bad != nil || !errors.Is(err, ErrCSV) {
				t.Fatalf("error %v with %d contacts and %d bad rows", err, len(got), len(bad))
			}
			return
		}
		lines := bytes.Count(b, []byte("\n")) + 1
		seen := map[string]bool{}
		for _, c := range got {
			if _, err := normalize(c.Number); err != nil || seen[c.Number] {
				t.Fatalf("contact %+v: number invalid (%v) or twice", c, err)
			}
			seen[c.Number] = true
			if c.TimeZone != "" {
				if _, err := loadZone(c.TimeZone); err != nil {
					t.Fatalf("contact %+v: %v", c, err)
				}
			}
		}
		for _, r := range bad {
			if r.Line < 2 || r.Line > lines || r.Err == nil {
				t.Fatalf("bad row %+v outside lines 2..%d", r, lines)
			}
		}
	})
}
