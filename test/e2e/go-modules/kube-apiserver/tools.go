//go:build tools

// Package tools pins the program build-go-tools builds from this module.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
