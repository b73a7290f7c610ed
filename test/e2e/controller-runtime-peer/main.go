// A controller-runtime leader-election peer for lease-elector's interop tests: a manager with
// LeaderElection (resource lock "leases", LeaderElectionReleaseOnCancel) competes for the same Lease
// and says on /leader whether it leads. Same flags and /leader answer as test/e2e/client-go-peer.
// Built from the Go module proxy at the controller-runtime in test/e2e/versions
// (test/e2e/build-go-tools controller-runtime-peer).
//
// On lost leadership the manager's Start returns "leader election lost" and this peer exits with
// status 1, as controller-runtime requires of the binary ("the binary must be exited immediately
// after this returns", manager.Manager.Start): a manager cannot be started again, and a controller
// that lost its Lease is restarted as a new process (pod). The interop tests never depose it; a peer
// that exits on its own shows up there as a failed handover or a non-zero exit.
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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-logr/logr/funcr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "%s controller-runtime-peer: %s\n", time.Now().UTC().Format(time.RFC3339Nano),
		fmt.Sprintf(format, args...))
}

// leaderRunnable is what a controller is to the manager: a Runnable that needs leader election. The
// manager starts it once it holds the Lease and cancels its context when the manager stops, so
// /leader says isLeader from its Start until its context is done: the span in which
// controller-runtime lets a controller act as leader.
type leaderRunnable struct{ leading atomic.Bool }

func (r *leaderRunnable) NeedLeaderElection() bool { return true }

func (r *leaderRunnable) Start(ctx context.Context) error {
	r.leading.Store(true)
	logf("started leading")
	<-ctx.Done()
	r.leading.Store(false)
	logf("stopped leading")
	return nil
}

// observingLock is the manager's Lease lock, made here only because controller-runtime names its
// holder hostname_uuid and takes no identity (leaderelection.NewResourceLock); the custom lock
// (Options.LeaderElectionResourceLockInterface) is its documented way to set one. It is the lock
// controller-runtime builds (resourcelock "leases", its client's timeout and user agent) and only
// remembers the holder of the last record it read or wrote, which /leader reports as "name": the
// holder the elector observed, as client-go's GetLeader() (controller-runtime exposes neither its
// elector nor OnNewLeader).
type observingLock struct {
	resourcelock.Interface
	mu     sync.Mutex
	holder string
}

func (l *observingLock) observe(record *resourcelock.LeaderElectionRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if record.HolderIdentity != l.holder {
		logf("observed leader %q", record.HolderIdentity)
	}
	l.holder = record.HolderIdentity
}

func (l *observingLock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	record, raw, err := l.Interface.Get(ctx)
	if err == nil {
		l.observe(record)
	}
	return record, raw, err
}

func (l *observingLock) Create(ctx context.Context, record resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Create(ctx, record)
	if err == nil {
		l.observe(&record)
	}
	return err
}

func (l *observingLock) Update(ctx context.Context, record resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Update(ctx, record)
	if err == nil {
		l.observe(&record)
	}
	return err
}

func (l *observingLock) observedHolder() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.holder
}

func main() {
	// Its own flag set: controller-runtime's client/config package registers a --kubeconfig of its
	// own on the global one.
	flags := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	kubeconfig := flags.String("kubeconfig", "", "kubeconfig file (required)")
	namespace := flags.String("namespace", "default", "the Lease's namespace")
	name := flags.String("lease-name", "", "the Lease's name (required)")
	identity := flags.String("identity", "", "this peer's holderIdentity (required)")
	leaseDuration := flags.Duration("lease-duration", 15*time.Second, "manager LeaseDuration")
	renewDeadline := flags.Duration("renew-deadline", 10*time.Second, "manager RenewDeadline")
	retryPeriod := flags.Duration("retry-period", 2*time.Second, "manager RetryPeriod")
	httpAddress := flags.String("http-address", "127.0.0.1:0", "address for /leader")
	_ = flags.Parse(os.Args[1:])
	if *kubeconfig == "" || *name == "" || *identity == "" {
		fmt.Fprintln(os.Stderr, "controller-runtime-peer: --kubeconfig, --lease-name and --identity are required")
		os.Exit(2)
	}

	// client-go's leader election logs through the manager's logger (V(2): an optimistic renewal
	// that fell back to a read; V(4): a release retried on conflict).
	ctrl.SetLogger(funcr.New(func(prefix, args string) {
		fmt.Fprintf(os.Stderr, "%s controller-runtime-peer: %s %s\n", time.Now().UTC().Format(time.RFC3339Nano),
			prefix, args)
	}, funcr.Options{Verbosity: 4}))

	restConfig, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		logf("kubeconfig: %v", err)
		os.Exit(2)
	}
	// As controller-runtime's leaderelection.NewResourceLock makes its lock's client.
	lockConfig := rest.AddUserAgent(rest.CopyConfig(restConfig), "leader-election")
	lockConfig.Timeout = max(*renewDeadline/2, time.Second)
	lockClient, err := kubernetes.NewForConfig(lockConfig)
	if err != nil {
		logf("client: %v", err)
		os.Exit(2)
	}
	lease, err := resourcelock.New(resourcelock.LeasesResourceLock, *namespace, *name, lockClient.CoreV1(),
		lockClient.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: *identity})
	if err != nil {
		logf("resource lock: %v", err)
		os.Exit(2)
	}
	lock := &observingLock{Interface: lease}

	mgr, err := manager.New(restConfig, manager.Options{
		LeaderElection:                      true,
		LeaderElectionResourceLock:          resourcelock.LeasesResourceLock,
		LeaderElectionID:                    *name,
		LeaderElectionNamespace:             *namespace,
		LeaderElectionReleaseOnCancel:       true,
		LeaderElectionResourceLockInterface: lock,
		LeaseDuration:                       leaseDuration,
		RenewDeadline:                       renewDeadline,
		RetryPeriod:                         retryPeriod,
		Metrics:                             metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:              "0",
	})
	if err != nil {
		logf("manager: %v", err)
		os.Exit(2)
	}
	runnable := &leaderRunnable{}
	if err := mgr.Add(runnable); err != nil {
		logf("manager: %v", err)
		os.Exit(2)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/leader", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]interface{}{
			"isLeader": runnable.leading.Load(), "identity": *identity, "name": lock.observedHolder(),
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

	// Start stops the runnables, then cancels the elector, which releases the Lease, and returns
	// once the elector has returned.
	if err := mgr.Start(ctx); err != nil {
		logf("manager stopped: %v; exiting", err)
		os.Exit(1)
	}
	logf("exiting")
}
