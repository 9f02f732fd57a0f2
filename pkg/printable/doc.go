// Package printable makes text that comes from a repository (object names,
// messages, file names: anything an attacker who can push may choose) safe
// to show: on a terminal or a CI log (Terminal, TerminalLine, Quote, JSON)
// and in a pull-request comment rendered by a forge such as GitHub or
// GitLab (Markdown, HTML, MarkdownCode, CodeFence). It replaces what would
// act instead of being read (control characters and escape sequences,
// bidirectional and other invisible format characters, invalid UTF-8,
// CI workflow commands, Markdown and HTML syntax, mentions, references and
// autolinks) with visible or inert equivalents, and leaves ordinary text as
// it is. It does not validate or shorten text, does not make text safe for
// a shell, a URL or a file path, and does not escape characters a terminal
// shows harmlessly but that look like others (homoglyphs).
package printable
