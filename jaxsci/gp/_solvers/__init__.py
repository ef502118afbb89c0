"""The solver paths of `gp.solve`, one per file (as lineax's `_solver/`), and `AutoSolver`,
which picks one of them for a problem and grid."""
