"""MLP PINN benchmarks: the shipped configs' accuracy, a bare `pinn.solve`, the step against
the machine's floor, ways to compute the Laplacian, data-parallel scaling."""
