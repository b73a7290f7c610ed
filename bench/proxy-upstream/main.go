// The app behind every proxy of the proxy benchmark (bench/proxy_bench.cpp): lease-elector's proxy on
// the leader, nginx, HAProxy and, for the baseline, wrk and curl directly. Standard library only, so
// it builds offline with Debian's golang-go: go build -o proxy-upstream main.go
//
//	GET  /hello            a small answer (100 bytes), for requests/s and latency
//	GET  /download?bytes=N N bytes, streamed, with a Content-Length
//	POST /upload           reads the body and throws it away; answers its size
//	GET  /ws               a WebSocket handshake (RFC 6455), then holds the connection idle
package main

import (
	"crypto/sha1"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
)

// 100 bytes: a typical small JSON answer, so the figures are the proxies' per-request cost and not
// the copying of bodies.
var hello = []byte(`{"message":"hello from the upstream app","padding":"` + strings.Repeat("x", 45) + "\"}\n")

// The bytes of a download, sent over and over: the app's own cost stays a write per 64 KiB.
var chunk = make([]byte, 64*1024)

// RFC 6455 section 1.3: the key's answer is base64(SHA-1(key + this GUID)).
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func download(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.URL.Query().Get("bytes"), 10, 64)
	if err != nil || n < 0 {
		http.Error(w, "bytes=N wanted", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	for n > 0 {
		part := chunk
		if int64(len(part)) > n {
			part = part[:n]
		}
		if _, err := w.Write(part); err != nil {
			return
		}
		n -= int64(len(part))
	}
}

func upload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST wanted", http.StatusMethodNotAllowed)
		return
	}
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "{\"bytes\":%d}\n", n)
}

// By hand, with the Hijacker, as the standard library has no WebSocket server: the handshake is all
// the benchmark needs, since it measures what idle upgraded connections cost a proxy.
func websocket(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" {
		http.Error(w, "a WebSocket upgrade wanted", http.StatusBadRequest)
		return
	}
	hijacker, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot hijack", http.StatusInternalServerError)
		return
	}
	conn, buffered, err := hijacker.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	sum := sha1.Sum([]byte(key + websocketGUID))
	buffered.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
	if buffered.Flush() != nil {
		return
	}
	// Idle until the client (or the proxy) closes; any frame a client sends is read and ignored.
	io.Copy(io.Discard, buffered)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:4090", "address to serve on")
	flag.Parse()
	http.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(hello)
	})
	http.HandleFunc("/download", download)
	http.HandleFunc("/upload", upload)
	http.HandleFunc("/ws", websocket)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
