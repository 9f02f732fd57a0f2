//go:build !unix

package source

import "os"

const openReadFlags = os.O_RDONLY
