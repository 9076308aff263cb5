package apiservertest

import "syscall"

// sysProcAttr makes the kernel kill the child when the test binary dies, so
// an interrupted test run leaves no etcd or kube-apiserver behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
