// Package leakscan finds secrets (names, certificate numbers, phones) in
// payloads and files in every form they may be written in: as is, JSON
// \u-escaped, and inside base64 at any byte offset. Tests use it to show
// that personal data does not leave a node in clear.
package leakscan

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
)

// minBase64 is the shortest base64 fragment searched for: 7 characters
// (42 bits) occur by chance in random bytes about once in 4·10¹² places,
// where 4 characters matched sealed payloads now and then.
const minBase64 = 7

// Forms returns the ways secret may be written: as is and with every
// non-ASCII rune JSON \u-escaped, each also inside base64 (an envelope's
// payload is base64 in JSON) at each of the three byte offsets, keeping
// only the characters that no byte around it changes, and only when at
// least minBase64 of them are left.
func Forms(secret string) []string {
	var u strings.Builder
	for _, r := range secret {
		if r > 127 {
			fmt.Fprintf(&u, `\u%04x`, r)
		} else {
			u.WriteRune(r)
		}
	}
	plain := []string{secret}
	if u.String() != secret {
		plain = append(plain, u.String())
	}
	out := append([]string(nil), plain...)
	for _, p := range plain {
		for k := 0; k < 3; k++ {
			e := base64.RawStdEncoding.EncodeToString(append(make([]byte, k), p...))
			// Character j carries bits [6j, 6j+6): keep those within
			// the secret's bits [8k, 8(k+len)).
			from, to := (8*k+5)/6, 8*(k+len(p))/6
			if to-from >= minBase64 {
				out = append(out, e[from:to])
			}
		}
	}
	return out
}

// Scanner finds a fixed set of secrets.
type Scanner struct {
	forms map[string]string // form -> the secret it writes
}

// New returns a scanner for secrets (empty ones are ignored).
func New(secrets []string) *Scanner {
	s := &Scanner{forms: map[string]string{}}
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		for _, f := range Forms(sec) {
			s.forms[f] = sec
		}
	}
	return s
}

// Find describes each secret form b holds, with the text around its first
// place, sorted; nil when b holds none.
func (s *Scanner) Find(b []byte) []string {
	var out []string
	for f, sec := range s.forms {
		if i := bytes.Index(b, []byte(f)); i >= 0 {
			around := b[max(0, i-60):min(len(b), i+len(f)+60)]
			out = append(out, fmt.Sprintf("%q as %q in …%q…", sec, f, around))
		}
	}
	sort.Strings(out)
	return out
}
