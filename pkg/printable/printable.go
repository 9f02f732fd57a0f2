package printable

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The visible escapes, in every function: \n, \t and \r; \xHH for any
// other ASCII control character, DEL and each byte of invalid UTF-8;
// \uHHHH (\UHHHHHHHH above U+FFFF) for the other hidden characters (C1
// controls, bidirectional and zero-width format characters, U+2028,
// U+2029). A backslash of the text itself stays as it is (Quote excepted).

// TerminalLine returns s as one line for a terminal or a CI log: hidden
// characters, newlines and tabs included, are shown as escapes, and a line
// cannot start with a CI workflow command (see Terminal).
func TerminalLine(s string) string { return terminal(s, false) }

// Terminal returns multi-line text for a terminal or a CI log: hidden
// characters are shown as escapes, except newlines and tabs. No line
// starts (after blanks) with a CI command: "::" (a GitHub Actions
// workflow command, such as ::warning file=x::) or "##" and letters then
// "[" (##[error], Azure Pipelines' ##vso[, TeamCity's ##teamcity[): its
// first character is escaped (\x3a, \x23).
func Terminal(s string) string { return terminal(s, true) }

func terminal(s string, multiline bool) string {
	var b strings.Builder
	b.Grow(len(s))
	lineStart := true // no character but blanks yet on this line
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			writeByteEscape(&b, s[i])
			lineStart = false
		case multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
			lineStart = lineStart || r == '\n'
		case hidden(r):
			writeEscape(&b, r)
			lineStart = false
		case lineStart && unicode.IsSpace(r):
			b.WriteRune(r)
		case lineStart && isCommand(s[i:]):
			writeByteEscape(&b, s[i])
			lineStart = false
		default:
			b.WriteRune(r)
			lineStart = false
		}
		i += size
	}
	return b.String()
}

// isCommand reports whether a line that starts with s is a CI command:
// "::" (GitHub Actions) or "##" and letters then "[" (##[group],
// Azure Pipelines' ##vso[, TeamCity's ##teamcity[).
func isCommand(s string) bool {
	if strings.HasPrefix(s, "::") {
		return true
	}
	rest, ok := strings.CutPrefix(s, "##")
	return ok && strings.HasPrefix(strings.TrimLeftFunc(rest, isASCIILetter), "[")
}

func isASCIILetter(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }

// hidden reports whether r acts, or hides, rather than shows: control
// characters (C0, DEL, C1), format characters (Cf: bidirectional
// embeddings, overrides, isolates and marks, zero-width characters, the
// byte order mark, tags...) and the line and paragraph separators.
func hidden(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

const hexDigits = "0123456789abcdef"

func writeByteEscape(b *strings.Builder, c byte) {
	b.WriteString(`\x`)
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&0xf])
}

func writeEscape(b *strings.Builder, r rune) {
	switch {
	case r == '\n':
		b.WriteString(`\n`)
	case r == '\t':
		b.WriteString(`\t`)
	case r == '\r':
		b.WriteString(`\r`)
	case r < utf8.RuneSelf:
		writeByteEscape(b, byte(r))
	case r <= 0xffff:
		b.WriteString(`\u`)
		writeHex(b, r, 4)
	default:
		b.WriteString(`\U`)
		writeHex(b, r, 8)
	}
}

func writeHex(b *strings.Builder, r rune, digits int) {
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[(r>>shift)&0xf])
	}
}

// Quote returns a name (a file name, an object name) to put in a message:
// as it is when it is made only of ASCII letters, digits and -_./+=,@%~;
// else quoted and escaped as strconv.Quote does (hidden characters, blanks
// other than the space and backslashes escaped; a quoted name starts with
// a double quote, never with a CI command).
func Quote(name string) string {
	if name == "" || strings.IndexFunc(name, notPlain) >= 0 {
		return strconv.Quote(name)
	}
	return name
}

func notPlain(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-_./+=,@%~", r))
}

// inert separates characters a forge would otherwise read together (a
// mention, a reference, an autolink): an empty HTML comment, which no
// forge shows. Backslashes and character references do not do it: GitHub
// finds mentions and references after rendering.
const inert = "<!-- -->"

// markdownSyntax are the characters escaped with a backslash wherever
// they are in Markdown text: the backslash, and those of CommonMark's,
// GFM's and GitLab's syntax that act anywhere in a line (emphasis, code,
// links and images, tables, strikethrough, headings, math, inline diffs).
// ( ) ! only act after or before a [ or ], which is escaped; - + . = and
// : act at the start of a line only (lists, breaks, setext headings, CI
// commands), where markdownLead escapes them.
const markdownSyntax = "\\`*_{}[]#|~$"

// markdownLead reports whether r, after lead (what precedes r but the
// leading blanks), is to be escaped as the start of a line: - + = : first,
// or . ) after up to 9 digits (an ordered list).
func markdownLead(r rune, lead string) bool {
	switch r {
	case '-', '+', '=', ':':
		return lead == ""
	case '.', ')':
		return lead != "" && len(lead) <= 9 && strings.Trim(lead, "0123456789") == ""
	}
	return false
}

// Markdown returns s as one line of inline Markdown text (a paragraph, a
// list item, a table cell, a heading) that GitHub and GitLab show as it
// is: hidden characters, newlines and tabs are shown as escapes (as
// TerminalLine does); Markdown syntax characters are escaped with a
// backslash where they would act (see markdownSyntax), and <, >, &
// written as &lt;, &gt;, &amp; (no HTML, no entity); an empty HTML comment
// is put after a sigil followed by a word (@user, @org/team, #123,
// GitLab's !1, ~label, %milestone, &1, $1), in "://" and "www." (no
// autolink) and in "GH-1". Not for raw HTML, where backslashes show (use
// HTML), nor code (use MarkdownCode).
func Markdown(s string) string {
	return markup(s, func(r rune, lead, _ string) string {
		switch {
		case entity(r) != "":
			return entity(r)
		case strings.ContainsRune(markdownSyntax, r), markdownLead(r, lead):
			return `\` + string(r)
		}
		return ""
	})
}

// HTML returns s as text inside raw HTML of a Markdown document (as in
// <summary>...</summary>, where Markdown syntax is not read): like
// Markdown, but with <, >, &, " and ' as character references and no
// backslash escapes.
func HTML(s string) string {
	return markup(s, func(r rune, lead, rest string) string {
		switch {
		case entity(r) != "":
			return entity(r)
		case r == '"':
			return "&#34;"
		case r == '\'':
			return "&#39;"
		case lead == "" && isCommand(rest):
			return "&#" + strconv.Itoa(int(r)) + ";"
		}
		return ""
	})
}

// entity is the character reference of a character HTML reads in text
// (<, >, &), or "".
func entity(r rune) string {
	switch r {
	case '<':
		return "&lt;"
	case '>':
		return "&gt;"
	case '&':
		return "&amp;"
	}
	return ""
}

// markup escapes s with escape(r, lead, rest), which returns what
// replaces r ("": nothing); lead is s before r but its leading blanks,
// rest is s from r on.
func markup(s string, escape func(r rune, lead, rest string) string) string {
	var b strings.Builder
	b.Grow(len(s))
	start := len(s) - len(strings.TrimLeftFunc(s, unicode.IsSpace))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			writeByteEscape(&b, s[i])
		case hidden(r):
			writeEscape(&b, r)
		default:
			if e := escape(r, s[min(start, i):i], s[i:]); e != "" {
				b.WriteString(e)
			} else {
				b.WriteRune(r)
			}
			if linkAcross(s[:i+size], s[i+size:]) {
				b.WriteString(inert)
			}
		}
		i += size
	}
	return b.String()
}

// sigils start GitHub's and GitLab's mentions and references.
const sigils = "@#!~%&$"

// linkAcross reports whether a forge could read a mention, a reference or
// an autolink across the end of done (the text so far) into rest.
func linkAcross(done, rest string) bool {
	last, _ := utf8.DecodeLastRuneInString(done)
	next, size := utf8.DecodeRuneInString(rest)
	switch {
	case strings.ContainsRune(sigils, last):
		return unicode.IsLetter(next) || unicode.IsDigit(next) || strings.ContainsRune(`_-"`, next)
	case last == ':':
		return strings.HasPrefix(rest, "//")
	case next == '.':
		return hasSuffixFold(done, "www")
	case next == '-':
		d, _ := utf8.DecodeRuneInString(rest[size:])
		return hasSuffixFold(done, "gh") && unicode.IsDigit(d)
	}
	return false
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// MarkdownCode returns s as an inline code span, delimiters included: one
// line with hidden characters shown as escapes (as TerminalLine does),
// between backtick strings longer than any in s. Not for a table cell (a |
// ends the cell even in code).
func MarkdownCode(s string) string {
	s = visible(s)
	if s == "" {
		return "` `" // there is no empty code span
	}
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.Trim(s, " ") != "" && (s[0] == '`' || s[len(s)-1] == '`' || (s[0] == ' ' && s[len(s)-1] == ' ')) {
		s = " " + s + " " // CommonMark takes one space off each end
	}
	return fence + s + fence
}

// visible shows the hidden characters of s as escapes, newlines and tabs
// too.
func visible(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			writeByteEscape(&b, s[i])
		case hidden(r):
			writeEscape(&b, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// CodeFence returns the backtick fence of a fenced code block that holds
// s: longer than any run of backticks in s, so that no line of s closes
// it, and at least three.
func CodeFence(s string) string {
	return strings.Repeat("`", max(3, longestRun(s, '`')+1))
}

// CodeBlock returns a fenced code block of s with the info string info
// (such as "diff"): its fence is CodeFence(s), its lines shown as Terminal
// shows them (a code block shows no Markdown, mention or link; Terminal
// keeps it safe in a CI log too).
func CodeBlock(info, s string) string {
	fence := CodeFence(s)
	s = Terminal(s)
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return fence + TerminalLine(strings.ReplaceAll(info, "`", "")) + "\n" + s + fence + "\n"
}

func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] != c {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	return longest
}

// JSON returns JSON text, as encoding/json writes it, with every hidden
// character but the newline, tab and carriage return (which JSON escapes
// in strings and allows between values) written as a \u escape, and
// invalid UTF-8 as \ufffd: the same JSON value, safe to print. (JSON
// leaves raw DEL, C1 controls and format characters such as U+202E; it
// escapes the others, and encoding/json < > & too.)
func JSON(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, `\ufffd`...)
		case r != '\n' && r != '\t' && r != '\r' && hidden(r):
			out = appendJSONEscape(out, r)
		default:
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

func appendJSONEscape(out []byte, r rune) []byte {
	units := []rune{r}
	if r > 0xffff {
		r1, r2 := utf16.EncodeRune(r)
		units = []rune{r1, r2}
	}
	for _, u := range units {
		out = append(out, '\\', 'u', hexDigits[u>>12&0xf], hexDigits[u>>8&0xf], hexDigits[u>>4&0xf], hexDigits[u&0xf])
	}
	return out
}
