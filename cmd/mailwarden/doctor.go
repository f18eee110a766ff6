package main

import (
	"fmt"
	"io"
)

// cmdDoctor is replaced below once internal/doctor lands.
func cmdDoctor(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "mailwarden doctor: not built yet")
	return 2
}
