//go:build unix

package source

import (
	"os"
	"syscall"
)

// openReadFlags never follow a link and never wait on a FIFO's writer.
const openReadFlags = os.O_RDONLY | syscall.O_NOFOLLOW | syscall.O_NONBLOCK
