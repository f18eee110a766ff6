// Package app assembles mailwarden from its parts: wiring.go turns a config
// into an engine from one explicit, ordered list of checks and modifiers
// (read it to find every check), daemon.go runs the listeners, reloads on
// SIGHUP and drains on shutdown. cmd/mailwarden is the command line around it.
package app
