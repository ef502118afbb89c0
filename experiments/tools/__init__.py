"""Cross-cutting tools: where compilation time goes, every accelerator row in one run, the
reference solvers' agreement figures."""
