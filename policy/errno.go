package policy

import "syscall"

// syscallEMFILE: out of file descriptors, a transient accept error.
var syscallEMFILE = syscall.EMFILE
