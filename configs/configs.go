// Package configs embeds the shipped node configurations: shared defaults,
// the national center and one file per provincial center named by its
// admdvs code.
package configs

import (
	"embed"
	"fmt"
)

//go:embed *.yaml
var files embed.FS

// Defaults returns the shared defaults every center file overrides.
func Defaults() []byte {
	b, err := files.ReadFile("defaults.yaml")
	if err != nil {
		panic("configs: defaults.yaml missing from the binary: " + err.Error())
	}
	return b
}

// FurtherNational returns the shipped example of a further national node
// (national-2.yaml): it shares the settlement hub's database with the
// first, enrols with a join token and holds no CA.
func FurtherNational() []byte {
	b, err := files.ReadFile("national-2.yaml")
	if err != nil {
		panic("configs: national-2.yaml missing from the binary: " + err.Error())
	}
	return b
}

// Center returns the shipped file of the center with this admdvs code.
func Center(admdvs string) ([]byte, error) {
	name := admdvs + ".yaml"
	if admdvs == "100000" {
		name = "national.yaml"
	}
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("configs: no shipped configuration for center %s", admdvs)
	}
	return b, nil
}
