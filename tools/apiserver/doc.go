// Package apiserver pins, through its tools-tagged imports, the kube-apiserver
// and kubectl commands of Kubernetes v1.37.2 so that scripts/build-apiserver.sh
// can build both at exactly that release. It contains no code of its own.
package apiserver
