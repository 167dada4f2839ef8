module github.com/lipc-dev/lipc

go 1.22.0

require (
	github.com/ebitengine/purego v0.10.2
	golang.org/x/sys v0.30.0
)
