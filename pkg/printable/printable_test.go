package printable_test

import (
	"encoding/json"
	"html"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/printable"
)

func TestTerminalLine(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain", "wds1 Deployment.apps web/nginx-1", "wds1 Deployment.apps web/nginx-1"},
		{"unicode text", "café ✅ 日本", "café ✅ 日本"},
		{"OSC 52 clipboard", "x\x1b]52;c;aGVsbG8=\x07y", `x\x1b]52;c;aGVsbG8=\x07y`},
		{"cursor moves", "a\x1b[2A\x1b[10;5Hb\x1b[2J", `a\x1b[2A\x1b[10;5Hb\x1b[2J`},
		{"C1 CSI", "\u009b31mred", `\u009b31mred`},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"newline tab CR", "a\nb\tc\rd", `a\nb\tc\rd`},
		{"NEL and separators", "a\u0085b\u2028c\u2029d", `a\u0085b\u2028c\u2029d`},
		{"bidi override", "x\u202egnp.exe", `x\u202egnp.exe`},
		{"bidi isolates", "\u2066a\u2067b\u2068c\u2069\u202a\u202b\u202c\u202d", `\u2066a\u2067b\u2068c\u2069\u202a\u202b\u202c\u202d`},
		{"zero width and tags", "a\u200bb\ufeff\U000E0041", `a\u200bb\ufeff\U000e0041`},
		{"invalid UTF-8", "a\xffb\xc3", `a\xffb\xc3`},
		{"workflow command", "::warning file=x::oops", `\x3a:warning file=x::oops`},
		{"workflow command after blanks", " \u00a0::error::x", " \u00a0\\x3a:error::x"},
		{"azure command", "##vso[task.setvariable variable=x]y", `\x23#vso[task.setvariable variable=x]y`},
		{"newline then command", "a\n::warning::x", `a\n::warning::x`},
		{"escaped blank then command", "\v::warning::x", `\x0b::warning::x`},
		{"colons inside", "file.yaml:3: a::b", "file.yaml:3: a::b"},
		{"teamcity command", "##teamcity[buildStatus text='x']", `\x23#teamcity[buildStatus text='x']`},
		{"heading is no command", "## heading", "## heading"},
		{"backslash stays", `C:\x1b`, `C:\x1b`},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, printable.TerminalLine(c.in))
		})
	}
}

func TestTerminal(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"keeps lines and tabs", "a\n\tb\n", "a\n\tb\n"},
		{"CR", "progress 10%\rdone", `progress 10%\rdone`},
		{"CRLF", "a\r\nb", "a\\r\nb"},
		{"colors", "\x1b[31mred\x1b[0m\n", `\x1b[31mred\x1b[0m` + "\n"},
		{"command on a later line", "ok\n::warning file=x::oops\n", "ok\n\\x3a:warning file=x::oops\n"},
		{"indented command", "ok\n\t  ::set-output name=x::y", "ok\n\t  \\x3a:set-output name=x::y"},
		{"legacy command", "x\n##[error]y", "x\n\\x23#[error]y"},
		{"every line", "::a\n::b", "\\x3a:a\n\\x3a:b"},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, printable.Terminal(c.in))
		})
	}
}

func TestQuote(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"wds1/web/deployment.yaml", "wds1/web/deployment.yaml"},
		{"a_b-c.d+e=f,g@h%i~j", "a_b-c.d+e=f,g@h%i~j"},
		{"", `""`},
		{"a b.yaml", `"a b.yaml"`},
		{"::warning file=x::a.yaml", `"::warning file=x::a.yaml"`},
		{"evil\x1b[2J.yaml", `"evil\x1b[2J.yaml"`},
		{"\u202egnp.yaml", `"\u202egnp.yaml"`},
		{"a\nb", `"a\nb"`},
		{`a\b`, `"a\\b"`},
		{"café.yaml", `"café.yaml"`},
		{"\xff.yaml", `"\xff.yaml"`},
	} {
		assert.Equal(t, c.want, printable.Quote(c.in), "%q", c.in)
	}
}

func TestMarkdown(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"name", "wds1 Deployment.apps web/nginx-1 (web)", "wds1 Deployment.apps web/nginx-1 (web)"},
		{"image", "![img](https://evil/x.png)", `!\[img\](https:<!-- -->//evil/x.png)`},
		{"link", "[link](https://x)", `\[link\](https:<!-- -->//x)`},
		{"reference link", "[x][1] [y]", `\[x\]\[1\] \[y\]`},
		{"autolink", "<https://x>", `&lt;https:<!-- -->//x&gt;`},
		{"www autolink", "see www.evil.com", `see www<!-- -->.evil.com`},
		{"email autolink", "user@example.com", `user@<!-- -->example.com`},
		{"team mention", "@org/team", `@<!-- -->org/team`},
		{"issue references", "fixes #123, org/repo#4 and GH-5", `fixes \#<!-- -->123, org/repo\#<!-- -->4 and GH<!-- -->-5`},
		{"gitlab references", "!1 ~bug ~\"a b\" %v1 &2 $3", `!<!-- -->1 \~<!-- -->bug \~<!-- -->"a b" %<!-- -->v1 &amp;<!-- -->2 \$<!-- -->3`},
		{"lone sigils", "a @ b # c", `a @ b \# c`},
		{"img tag", "<img src=x onerror=alert(1)>", `&lt;img src=x onerror=alert(1)&gt;`},
		{"details", "<details><summary>x</summary>", `&lt;details&gt;&lt;summary&gt;x&lt;/summary&gt;`},
		{"entities", "&lt; &#64;", `&amp;<!-- -->lt; &amp;\#<!-- -->64;`},
		{"emphasis code strike table", "**b** _i_ `c` ~~s~~ | {x}", `\*\*b\*\* \_i\_ \` + "`c\\`" + ` \~\~<!-- -->s\~\~ \| \{x\}`},
		{"gitlab inline diff", "{+ a +} [- b -]", `\{+ a +\} \[- b -\]`},
		{"heading", "# title", `\# title`},
		{"list", "- item", `\- item`},
		{"list after blanks", "  + item", `  \+ item`},
		{"thematic break", "---", `\---`},
		{"ordered list", "1. item", `1\. item`},
		{"ordered list with )", "12) item", `12\) item`},
		{"not a list", "a-b 1.5 (x) v1.2)", "a-b 1.5 (x) v1.2)"},
		{"quote", "> q", `&gt; q`},
		{"math", "$x^2$", `\$<!-- -->x^2\$`},
		{"setext", "===", `\===`},
		{"workflow command", "::warning file=x::y", `\::warning file=x::y`},
		{"colons inside", "wds1: a", "wds1: a"},
		{"controls", "a\nb\x1b]52;c;x\x07\u202e", `a\nb\x1b\]52;c;x\x07\u202e`},
		{"backslash", `a\b`, `a\\b`},
		{"unicode", "café ✅", "café ✅"},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, printable.Markdown(c.in))
		})
	}
}

func TestHTML(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain", "WEC edge-1: 2 created", "WEC edge-1: 2 created"},
		{"tags", "</summary><img src=x>", "&lt;/summary&gt;&lt;img src=x&gt;"},
		{"quotes", `a"b'c`, "a&#34;b&#39;c"},
		{"markdown is not read in HTML", "*x* [y](z)", "*x* [y](z)"},
		{"mentions and links", "@org/team #1 https://x", "@<!-- -->org/team #<!-- -->1 https:<!-- -->//x"},
		{"workflow command", "::warning::x", "&#58;:warning::x"},
		{"controls", "a\nb\x1b[2J", `a\nb\x1b[2J`},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, printable.HTML(c.in))
		})
	}
}

func TestMarkdownCode(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"base", "`base`"},
		{"HEAD~1 (0123456789ab)", "`HEAD~1 (0123456789ab)`"},
		{"a`b", "``a`b``"},
		{"`x", "`` `x ``"},
		{"x`", "`` x` ``"},
		{"a``b```c", "````a``b```c````"},
		{" a ", "`  a  `"},
		{"  ", "`  `"}, // all spaces: kept
		{"", "` `"},
		{"x\ny\x1b", "`x\\ny\\x1b`"},
		{"@user #1 https://x", "`@user #1 https://x`"},
	} {
		assert.Equal(t, c.want, printable.MarkdownCode(c.in), "%q", c.in)
	}
}

func TestCodeBlock(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain", "+a\n-b\n", "```diff\n+a\n-b\n```\n"},
		{"no final newline", "+a", "```diff\n+a\n```\n"},
		{"empty", "", "```diff\n```\n"},
		{"a fence in the content", "+a\n```\n+b\n", "````diff\n+a\n```\n+b\n````\n"},
		{"a longer fence", "+````````\n", "`````````diff\n+````````\n`````````\n"},
		{"controls and commands", " ::warning::x\n+\x1b[2J\n", "```diff\n \\x3a:warning::x\n+\\x1b[2J\n```\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := printable.CodeBlock("diff", c.in)
			assert.Equal(t, c.want, got)
			fence := printable.CodeFence(c.in)
			lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
			for _, l := range lines[1 : len(lines)-1] {
				assert.False(t, strings.HasPrefix(strings.TrimLeft(l, " "), fence), "%q closes the block", l)
			}
		})
	}
	assert.Equal(t, "```", printable.CodeFence("x"))
	assert.Equal(t, "````", printable.CodeFence("a```b"))
}

func TestJSON(t *testing.T) {
	in := map[string]string{"k\u202e": "a\u202eb\u009b\x7f<&>\x1b\n\U000E0041 ✅ café"}
	b, err := json.MarshalIndent(in, "", "  ")
	require.NoError(t, err)
	got := printable.JSON(b)
	assert.Equal(t, `{
  "k\u202e": "a\u202eb\u009b\u007f\u003c\u0026\u003e\u001b\n\udb40\udc41 ✅ café"
}`, string(got))
	var back map[string]string
	require.NoError(t, json.Unmarshal(got, &back))
	assert.Equal(t, in, back, "the same value")
	assert.Equal(t, `"\ufffd"`, string(printable.JSON([]byte("\"\xff\""))))
}

// command matches a line that is a CI command.
var command = regexp.MustCompile(`^\s*(::|##[A-Za-z]*\[)`)

// nasty are inputs for the properties every function keeps.
var nasty = []string{
	"", "a", "::warning file=x::", "\n::x\n", " \t##[error]", "\x1b]52;c;QQ==\x07", "\u009b2J", "\u202e\u2066",
	"\xff\xfe", "@org/team #1", "![i](https://e/x.png)", "<img src=x>", "<details>", "`", "```", "a\r\nb", "\x00\x7f",
	"www.x", "GH-1", "&amp;", "\U000E0041", "\u00a0::x", "x\n\u2028::y", "##vso[x]", "\n ##[group]",
}

func FuzzTerminal(f *testing.F) {
	for _, s := range nasty {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{printable.Terminal(s), printable.TerminalLine(s), printable.CodeBlock("", s)} {
			require.True(t, utf8.ValidString(out), "%q", out)
			for _, r := range out {
				require.True(t, r == '\n' || r == '\t' || !(unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)), "%q in %q", r, out)
			}
			for _, line := range strings.Split(out, "\n") {
				require.False(t, command.MatchString(line), "%q starts a command", line)
			}
		}
		require.NotContains(t, printable.TerminalLine(s), "\n")
		require.NotContains(t, printable.TerminalLine(s), "\t")
	})
}

func FuzzMarkdown(f *testing.F) {
	for _, s := range nasty {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{printable.Markdown(s), printable.HTML(s), printable.MarkdownCode(s)} {
			require.True(t, utf8.ValidString(out), "%q", out)
			require.NotContains(t, out, "\n")
			for _, r := range out {
				require.False(t, unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp), "%q in %q", r, out)
			}
		}
		for _, out := range []string{printable.Markdown(s), printable.HTML(s)} {
			require.NotContains(t, out, "://")
			bare := strings.ReplaceAll(out, "<!-- -->", "")
			require.NotContains(t, bare, "<", "no HTML but the comments: %q", out)
			require.NotContains(t, bare, ">")
			if out == printable.Markdown(s) {
				for i := 0; i < len(out); i++ {
					if out[i] == '\\' {
						i++ // escaped
						continue
					}
					require.NotContains(t, "[]`*_|~{}$#", string(out[i]), "unescaped at %d in %q", i, out)
				}
			}
			text := html.UnescapeString(out) // what a forge shows, where it looks for mentions
			for i, r := range text {
				next, _ := utf8.DecodeRuneInString(text[i+utf8.RuneLen(r):])
				if r == '@' || r == '#' {
					require.False(t, unicode.IsLetter(next) || unicode.IsDigit(next), "a mention or reference in %q", out)
				}
			}
		}
	})
}

// TestLongInput: escaping takes time in proportion to the input, whatever
// it holds (a quadratic escaper would not finish here).
func TestLongInput(t *testing.T) {
	s := strings.Repeat(" ", 1<<20) + strings.Repeat("1.-)##[::@a#1www.://", 1<<15) + strings.Repeat("\n ::x", 1<<15)
	for _, f := range []func(string) string{printable.Terminal, printable.TerminalLine, printable.Markdown, printable.HTML, printable.MarkdownCode, printable.Quote} {
		assert.NotEmpty(t, f(s))
	}
	assert.NotEmpty(t, printable.CodeBlock("diff", s))
	assert.NotEmpty(t, printable.JSON([]byte(s)))
}
