// Package ocitest serves OCI registries on 127.0.0.1 and pushes artifacts
// to them, and packs tar+gzip archives, for tests: Helm charts as `helm
// push` pushes them, repository layouts as `flux push artifact` does.
package ocitest
