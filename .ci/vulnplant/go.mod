// A scratch module for CI: it pins golang.org/x/text v0.3.6, which has a
// known advisory (GO-2021-0113, an out-of-bounds read in language.Parse),
// and calls the vulnerable function. .ci/vulncheck must fail on it.
module example.com/vulnplant

go 1.26.8

require golang.org/x/text v0.3.6
