// Command praetor is the Praetor server and CLI.
package main

import (
	"os"

	"github.com/praetorhq/praetor/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
