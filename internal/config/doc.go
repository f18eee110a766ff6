// Package config reads mailwarden's one TOML policy file.
//
// Decoding is strict: an unknown key, a value of the wrong type or a value out
// of range is an error naming the file, the line and the key, and all errors
// are reported at once (see Error). Defaults match Koozali SME Server's (spam
// TagLevel 4, RejectLevel 12, scanning limit 500 kB, ...); deploy/mailwarden.toml
// documents every key with its SME setting name.
//
// Each section's type lives in a file named after the section. A section
// belonging to a check is decoded here and handed to the check's package by
// cmd/mailwarden, so check packages never read files themselves.
package config
