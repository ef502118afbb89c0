"""Comparisons with peer libraries (DeepXDE, PyTorch's L-BFGS, PyDMD, kooplearn, PyKoopman),
run in the peers' own environments."""
