// A client-go leader-election peer for lease-elector's interop tests: it competes for the same
// Lease with k8s.io/client-go/tools/leaderelection (LeaseLock, ReleaseOnCancel) and says on
// /leader whether it leads. Built in GOPATH mode against the client-go of Debian's kubernetes
// source (test/e2e/build-control-plane), so the interop tests prove behaviour against the client-go
// version that tree carries.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// leadership is what /leader reports. It is set from OnStartedLeading until that callback's
// context is done, because that is the span in which client-go lets its caller act as leader;
// IsLeader() only compares the last observed holder and stays true after a failed renewal.
type leadership struct {
	mu      sync.Mutex
	leading bool
	term    int // so that a late end of one term cannot clear the next one
}

func (l *leadership) start() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.term++
	l.leading = true
	return l.term
}

func (l *leadership) stop(term int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.term == term {
		l.leading = false
	}
}

func (l *leadership) get() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leading
}

func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "%s client-go-peer: %s\n", time.Now().UTC().Format(time.RFC3339Nano),
		fmt.Sprintf(format, args...))
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file (required)")
	namespace := flag.String("namespace", "default", "the Lease's namespace")
	name := flag.String("lease-name", "", "the Lease's name (required)")
	identity := flag.String("identity", "", "this peer's holderIdentity (required)")
	leaseDuration := flag.Duration("lease-duration", 15*time.Second, "client-go LeaseDuration")
	renewDeadline := flag.Duration("renew-deadline", 10*time.Second, "client-go RenewDeadline")
	retryPeriod := flag.Duration("retry-period", 2*time.Second, "client-go RetryPeriod")
	httpAddress := flag.String("http-address", "127.0.0.1:0", "address for /leader")
	flag.Parse()
	if *kubeconfig == "" || *name == "" || *identity == "" {
		fmt.Fprintln(os.Stderr, "client-go-peer: --kubeconfig, --lease-name and --identity are required")
		os.Exit(2)
	}

	restConfig, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		logf("kubeconfig: %v", err)
		os.Exit(2)
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		logf("client: %v", err)
		os.Exit(2)
	}

	state := &leadership{}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: *name, Namespace: *namespace},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: *identity},
	}
	config := leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   *leaseDuration,
		RenewDeadline:   *renewDeadline,
		RetryPeriod:     *retryPeriod,
		ReleaseOnCancel: true,
		Name:            *name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leaderCtx context.Context) {
				term := state.start()
				logf("started leading")
				<-leaderCtx.Done()
				state.stop(term)
				logf("stopped leading")
			},
			OnStoppedLeading: func() {},
			OnNewLeader:      func(id string) { logf("observed leader %q", id) },
		},
	}
	elector, err := leaderelection.NewLeaderElector(config)
	if err != nil {
		logf("leader election config: %v", err)
		os.Exit(2)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/leader", func(w http.ResponseWriter, _ *http.Request) {
		holder := elector.GetLeader()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]interface{}{
			"isLeader": state.get(), "identity": *identity, "name": holder,
		})
	})
	listener, err := net.Listen("tcp", *httpAddress)
	if err != nil {
		logf("listen %s: %v", *httpAddress, err)
		os.Exit(2)
	}
	logf("serving /leader on %s", listener.Addr())
	go func() { _ = http.Serve(listener, mux) }()

	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-signals
		logf("received %v: stopping (releasing the Lease if held)", sig)
		cancel()
	}()

	// A deposed peer stands again as a candidate, as a restarted pod would, until told to stop.
	for ctx.Err() == nil {
		elector.Run(ctx)
	}
	// Run returns after the release; wait for the callback to observe its context's end.
	for state.get() {
		time.Sleep(time.Millisecond)
	}
	logf("exiting")
}
