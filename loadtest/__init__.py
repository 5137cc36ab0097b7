"""Load tests: k6 scenarios and a runner that measures throughput, latency and CPU."""
