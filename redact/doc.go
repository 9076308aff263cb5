// Package redact removes secrets from text before it leaves the process
// (prompts, Slack messages, logs, eval output).
//
// String, Lines and Map replace what looks like a credential with Mask and
// keep the surrounding text readable: in `password=hunter2` only the value
// goes, in `postgres://app:pw@db:5432` only the password. The rules are
// precompiled; a line without any trigger substring is never matched
// against a regular expression. The package keeps no state between calls
// and never logs or returns what it removed.
package redact
