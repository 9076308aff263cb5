// Package doctor checks a K8flex installation and reports a checklist:
// each check passes, fails with the fix to apply, warns, or is skipped
// because what it needs is not configured. It provides the checklist
// runner and the checks that talk to the outside (the Kubernetes
// authorizer, Slack's Web API and Socket Mode, a model or embedder given
// as a function); cmd/k8flex wires them from the configuration
// (`k8flex doctor`). Nothing here writes anywhere: the checks only read,
// and no check prints a secret.
package doctor
