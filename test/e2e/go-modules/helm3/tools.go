//go:build tools

// Package tools pins the program build-go-tools builds from this module.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
