"""Physics-Informed Gaussians: accuracy against the MLP PINN, cell-list against dense speed, the
training step's residual form and blocks."""
