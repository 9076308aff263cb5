//go:build !linux

package apiservertest

import "syscall"

// sysProcAttr is empty where the kernel cannot kill children with their parent.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
