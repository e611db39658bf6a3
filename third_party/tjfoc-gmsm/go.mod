module github.com/tjfoc/gmsm

go 1.14

require (
	github.com/emmansun/gmsm v0.15.5
	golang.org/x/crypto v0.4.0
)
