//go:build tools

// Package tools records, for go mod tidy, what the copied main package
// (cmd/pulumi-resource-kubernetes: main.go and its generate.go) imports.
package tools

import (
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)
