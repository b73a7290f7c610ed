// The baseline for the /leader throughput benchmark: a minimal Go net/http server that answers
// GET /leader with the same JSON lease-elector sends, computed per request as lease-elector does
// (the classic leader-elector sidecar is a Go net/http program). Standard library only, so it
// builds offline with Debian's golang-go: go build -o go-leader-server main.go
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"time"
)

type leader struct {
	AcquireTime      string `json:"acquireTime"`
	Identity         string `json:"identity"`
	IsLeader         bool   `json:"isLeader"`
	Lease            string `json:"lease"`
	LeaseTransitions int    `json:"leaseTransitions"`
	Name             string `json:"name"`
	RenewTime        string `json:"renewTime"`
	Status           string `json:"status"`
	ValidForMs       int64  `json:"validForMs"`
	ValidUntil       string `json:"validUntil"`
}

const microTime = "2006-01-02T15:04:05.000000Z07:00"

func main() {
	listen := flag.String("listen", "127.0.0.1:4041", "address to serve on")
	flag.Parse()
	started := time.Now().UTC()
	http.HandleFunc("/leader", func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UTC()
		// Renewed every 2 s, valid for the 10 s renew deadline, as a leader with default timings.
		renewed := started.Add(now.Sub(started).Truncate(2 * time.Second))
		until := renewed.Add(10 * time.Second)
		body, _ := json.Marshal(leader{
			AcquireTime: renewed.Format(microTime), Identity: "replica-0", IsLeader: true,
			Lease: "default/demo", LeaseTransitions: 1, Name: "replica-0",
			RenewTime: renewed.Format(microTime), Status: "leading",
			ValidForMs: until.Sub(now).Milliseconds(), ValidUntil: until.Format(microTime),
		})
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*listen, nil))
}
