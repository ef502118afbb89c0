"""S4 / HiPPO: kernel times against the machine's floor, step mode, perturb-then-diagonalise."""
