//go:build tools

// Package tools pins the program build-go-tools builds from this module.
package tools

import _ "go.etcd.io/etcd/server/v3"
