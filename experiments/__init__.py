"""Benchmark and reproduction scripts, one folder per family; run them as modules from the
repository root (`python -m experiments.<family>.<script>`). See experiments/README.md."""
