package report

// DecodeReturned is decodeReturned, for the tests of package report_test.
var DecodeReturned = decodeReturned
