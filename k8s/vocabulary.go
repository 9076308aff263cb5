package k8s

// vocabulary.tsv is Kubernetes' own vocabulary: the event, container and
// pod status reasons its components emit, generated from the Kubernetes
// source by tools/vocabgen. coverage.tsv maps each of them to the
// diagnosis rule that explains it (or says why none needs to, or what a
// rule would have to do); coverage_test.go keeps both in step with the
// rules.

//go:generate go run ../tools/vocabgen -module ../tools/apiserver -o vocabulary.tsv
