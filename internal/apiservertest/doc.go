// Package apiservertest runs a real Kubernetes API server for tests: etcd
// (Debian's /usr/bin/etcd) and kube-apiserver v1.37.2 (built from the
// tools/apiserver module by scripts/build-apiserver.sh), with RBAC on,
// client-certificate admin access, service-account tokens that can be
// requested (TokenRequest), and a fake kubelet that serves container logs so
// that pods/log works. There is no controller-manager and no scheduler:
// tests create the objects and write their statuses themselves.
//
// When the binaries are missing, Start skips the test saying how to build
// them, or fails it when the CI environment variable is set.
package apiservertest
