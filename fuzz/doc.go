// Package fuzz holds beckon's native Go fuzz targets (go test -fuzz). It has
// no API: everything is in its test files, and the seed corpora are under
// testdata/fuzz/<Target>/. See README.md for how to run them and what to do
// with a crasher.
package fuzz
