"""GP spectral-mixture solver: the paper's problems, Kronecker against dense algebra, kernel
training and grid evaluation, one problem through three solvers."""
