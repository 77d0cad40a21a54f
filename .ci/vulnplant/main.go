// Command vulnplant calls a function with a known vulnerability, so that
// CI can check that its offline scan finds a reachable one.
package main

import (
	"fmt"
	"os"

	"golang.org/x/text/language"
)

func main() {
	tag, err := language.Parse(os.Args[len(os.Args)-1])
	fmt.Println(tag, err)
}
