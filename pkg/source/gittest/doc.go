// Package gittest runs real Git servers on 127.0.0.1 for tests: `git
// http-backend` behind net/http/cgi (with optional basic auth), and an SSH
// server built on golang.org/x/crypto/ssh that runs git-upload-pack. A Repo
// is changed with the git command line and pushed, as users do.
package gittest
