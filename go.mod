module github.com/beckonhq/beckon

go 1.25.0

require (
	github.com/benbjohnson/clock v1.3.5
	github.com/google/uuid v1.6.0
	github.com/looplab/fsm v1.0.3
	go.etcd.io/bbolt v1.5.0
	pgregory.net/rapid v1.3.0
)

require golang.org/x/sys v0.45.0 // indirect
