"""Real workloads written against the Ray Core API, runnable on either backend."""
