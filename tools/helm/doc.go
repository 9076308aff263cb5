// Package helm pins, through its tools-tagged import, the Helm CLI (v4.3.2)
// so that scripts/build-helm.sh can build it at exactly that release. It
// contains no code of its own.
package helm
