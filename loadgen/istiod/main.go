// Command istiod runs Istio's discovery server on loopback from a directory of manifests, with
// no Kubernetes: the xDS server, config generators and push logic of istio.io/istio (the commit
// go.mod pins), wired the way Istio's own tests wire them without a cluster
// (pilot/test/xds.NewFakeDiscoveryServer: an in-memory config store, a fake Kubernetes client
// with no objects, and the WasmPlugin-to-TrafficExtension translation istiod's Kubernetes config
// path registers), serving plaintext ADS on a TCP port.
//
// Why not the stock pilot-discovery: since the krt ServiceEntry controller (istio/istio#58951,
// March 2026; in 1.30 and later) `pilot-discovery discovery --registries= --configDir=DIR`
// dereferences the multicluster controller that only exists with Kubernetes and panics at
// start-up; and a file config store ignores WasmPlugin.
//
//	istiod --configDir DIR [--meshConfig FILE] [--grpcAddr 127.0.0.1:0] [--httpAddr 127.0.0.1:0]
//	istiod --version
//
// Every .yaml/.yml file under DIR is read in name order and validated with Istio's own
// validation (pilot/pkg/config/kube/crd.ParseInputs, as istiod's file store does); an object it
// rejects stops the program (exit 1) with `invalid manifest FILE: <Istio's message>`. It logs
// `starting gRPC discovery service at ADDR` and `starting HTTP service at ADDR` (`/ready`,
// `POST /reload`, and Istio's debug endpoints under `/debug/`) and serves until SIGTERM or SIGINT.
//
// `POST /reload` reads DIR again and applies what changed to the config store, as a Kubernetes
// watch event would: objects that are new are created, changed ones updated, gone ones deleted;
// Istio's config handlers then push to the proxies. It answers 200 with
// `created N, updated N, deleted N`, or 400 with Istio's validation message (nothing applied).
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/log"
	"istio.io/istio/pkg/version"
)

func main() {
	configDir := flag.String("configDir", "", "directory of Istio manifests (required)")
	meshConfig := flag.String("meshConfig", "", "mesh config YAML file (default: Istio's defaults)")
	grpcAddr := flag.String("grpcAddr", "127.0.0.1:0", "plaintext ADS address")
	httpAddr := flag.String("httpAddr", "127.0.0.1:0", "readiness and debug address")
	showVersion := flag.Bool("version", false, "print the Istio version this was built from and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Info.Version)
		return
	}
	if err := run(*configDir, *meshConfig, *grpcAddr, *httpAddr); err != nil {
		log.Errorf("%v", err)
		os.Exit(1)
	}
}

// failer stands in for *testing.T: a failure is fatal for the program, cleanups run at exit.
type failer struct {
	cleanups []func()
}

func (f *failer) Fail()                          { f.FailNow() }
func (f *failer) FailNow()                       { f.exit(1) }
func (f *failer) Fatal(args ...any)              { log.Error(fmt.Sprint(args...)); f.exit(1) }
func (f *failer) Fatalf(format string, a ...any) { log.Errorf(format, a...); f.exit(1) }
func (f *failer) Log(args ...any)                { log.Info(fmt.Sprint(args...)) }
func (f *failer) Logf(format string, a ...any)   { log.Infof(format, a...) }
func (f *failer) TempDir() string                { d, _ := os.MkdirTemp("", "istiod"); return d }
func (f *failer) Helper()                        {}
func (f *failer) Cleanup(fn func())              { f.cleanups = append(f.cleanups, fn) }
func (f *failer) Skip(args ...any)               { f.Fatal(args...) }

func (f *failer) exit(code int) {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	os.Exit(code)
}

// manifests reads and validates every manifest under dir, in name order.
func manifests(dir string) (string, error) {
	var files []string
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		ext := filepath.Ext(path)
		if info.Mode().IsRegular() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	var docs []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		if _, _, err := crd.ParseInputs(string(data)); err != nil {
			return "", fmt.Errorf("invalid manifest %s: %v", file, err)
		}
		docs = append(docs, string(data))
	}
	return strings.Join(docs, "\n---\n"), nil
}

func run(configDir, meshFile, grpcAddr, httpAddr string) error {
	if configDir == "" {
		return fmt.Errorf("--configDir is required")
	}
	configs, err := manifests(configDir)
	if err != nil {
		return err
	}
	m := mesh.DefaultMeshConfig()
	if meshFile != "" {
		text, err := os.ReadFile(meshFile)
		if err != nil {
			return err
		}
		if m, err = mesh.ApplyMeshConfigDefaults(string(text)); err != nil {
			return fmt.Errorf("mesh config %s: %v", meshFile, err)
		}
	}
	grpcListener, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		return err
	}
	httpListener, err := net.Listen("tcp", httpAddr)
	if err != nil {
		return err
	}
	f := &failer{}
	server := xds.NewFakeDiscoveryServer(f, xds.FakeOptions{
		ConfigString: configs,
		MeshConfig:   m,
		ListenerBuilder: func() (net.Listener, error) {
			return grpcListener, nil
		},
	})
	known, err := keys(configs)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.Handle("/debug/", server.DiscoveryDebug)
	mux.HandleFunc("/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		summary, now, err := reload(server.Store(), configDir, known)
		if err != nil {
			log.Warnf("reload: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		known = now
		log.Infof("reload: %s", summary)
		_, _ = fmt.Fprintln(w, summary)
	})
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	go func() { _ = http.Serve(httpListener, mux) }()
	log.Infof("starting gRPC discovery service at %s", grpcListener.Addr())
	log.Infof("starting HTTP service at %s", httpListener.Addr())
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
	f.exit(0)
	return nil
}

// key names one object of the store.
type key struct {
	gvk             config.GroupVersionKind
	name, namespace string
}

// keys are the objects of the manifests text.
func keys(text string) (map[key]bool, error) {
	configs, _, err := crd.ParseInputs(text)
	if err != nil {
		return nil, err
	}
	out := map[key]bool{}
	for _, c := range configs {
		out[key{c.GroupVersionKind, c.Name, c.Namespace}] = true
	}
	return out, nil
}

// reload reads dir again and applies the difference from the objects `known` to the store.
// Answers what it did and the objects now known.
func reload(store model.ConfigStoreController, dir string, known map[key]bool) (string, map[key]bool, error) {
	text, err := manifests(dir)
	if err != nil {
		return "", nil, err
	}
	configs, _, err := crd.ParseInputs(text)
	if err != nil {
		return "", nil, err
	}
	now := map[key]bool{}
	created, updated, deleted := 0, 0, 0
	for _, c := range configs {
		k := key{c.GroupVersionKind, c.Name, c.Namespace}
		now[k] = true
		if existing := store.Get(c.GroupVersionKind, c.Name, c.Namespace); existing != nil {
			if _, err := store.Update(c); err != nil {
				return "", nil, fmt.Errorf("updating %s %s/%s: %v", c.GroupVersionKind.Kind, c.Namespace, c.Name, err)
			}
			updated++
		} else {
			if _, err := store.Create(c); err != nil {
				return "", nil, fmt.Errorf("creating %s %s/%s: %v", c.GroupVersionKind.Kind, c.Namespace, c.Name, err)
			}
			created++
		}
	}
	for k := range known {
		if now[k] {
			continue
		}
		if err := store.Delete(k.gvk, k.name, k.namespace, nil); err != nil {
			return "", nil, fmt.Errorf("deleting %s %s/%s: %v", k.gvk.Kind, k.namespace, k.name, err)
		}
		deleted++
	}
	return fmt.Sprintf("created %d, updated %d, deleted %d", created, updated, deleted), now, nil
}
