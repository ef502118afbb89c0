"""The DeepXDE zoo column (`experiments/peers/deepxde_zoo.py`) poses the same problems as jaxsci.

DeepXDE is not a jaxsci dependency; the test skips when it is not importable. Run it in the peer
environment of `experiments/peers/deepxde_zoo.py`:

    /work/peers-pinn/bin/python -m pytest tests/test_pinn_peers.py

The check: one smooth field (a small tanh network with fixed random weights, written once in
PyTorch and once in JAX) has the same residual under DeepXDE's `pde` function (the operator
written again in PyTorch, the source from jaxsci as DeepXDE's auxiliary variable) as under the
zoo problem's own `residual`, at random points, in float64, for every zoo problem; and the
condition data DeepXDE is given equal the exact solution on the points it draws.
"""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsci import pde

pytestmark = pytest.mark.x64

os.environ.setdefault("DDEBACKEND", "pytorch")


def _weights(dim, n_out, seed=0):
    rng = np.random.default_rng(seed)
    sizes = [dim, 8, 8, n_out]
    return [(rng.normal(size=(a, b)) / np.sqrt(a), rng.normal(size=b) * 0.3)
            for a, b in zip(sizes[:-1], sizes[1:], strict=True)]  # fmt: skip


def _field_jax(weights, scalar):
    def u(x):
        h = x
        for i, (w, b) in enumerate(weights):
            h = h @ jnp.asarray(w) + jnp.asarray(b)
            h = jnp.tanh(h) if i < len(weights) - 1 else h
        return h[0] if scalar else h

    return u


def _field_torch(weights, x):
    import torch

    h = x
    for i, (w, b) in enumerate(weights):
        h = h @ torch.as_tensor(w) + torch.as_tensor(b)
        h = torch.tanh(h) if i < len(weights) - 1 else h
    return h


@pytest.mark.parametrize("name", sorted(pde.ZOO))
def test_deepxde_zoo_residual_matches_jaxsci(name):
    pytest.importorskip("deepxde")
    import deepxde as dde
    import torch

    from experiments.peers.deepxde_zoo import deepxde_problem

    data, n_out, variables, problem = deepxde_problem(name, 32, 16, 16)
    params = dict(problem.params)
    if variables:  # the inverse problem's diffusivity, a float32 DeepXDE variable
        params["diffusivity"] = jnp.asarray(float(variables[0].detach()), jnp.float64)
    weights = _weights(problem.dim, n_out)
    lo, hi = np.asarray(problem.domain.lower), np.asarray(problem.domain.upper)
    x = np.random.default_rng(1).uniform(lo, hi, (24, problem.dim))
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    dde.grad.clear()
    aux = torch.tensor(data.auxiliary_var_fn(x), dtype=torch.float64)
    theirs = torch.cat(data.pde(xt, _field_torch(weights, xt), aux), dim=1).detach().numpy()
    u = _field_jax(weights, scalar=problem.n_outputs == 0)
    ours = jax.vmap(lambda p: jnp.atleast_1d(problem.residual(u, p, params)))(jnp.asarray(x))
    scale = np.max(np.abs(ours)) + 1.0
    np.testing.assert_allclose(theirs, np.asarray(ours), atol=1e-10 * scale, rtol=0)


@pytest.mark.parametrize("name", ["zoo_mixed_2d", "zoo_reaction_diffusion", "zoo_inverse_heat"])
def test_deepxde_zoo_condition_data_is_the_exact_solution(name):
    """Each DeepXDE condition's target on its own training points: the exact solution's value
    (Dirichlet, initial, observations) or the zoo's own Neumann data (its outward normal
    derivative)."""
    pytest.importorskip("deepxde")
    import deepxde as dde

    from experiments.peers.deepxde_zoo import deepxde_problem

    data, _, _, problem = deepxde_problem(name, 32, 16, 16)
    exact = jax.vmap(lambda p: jnp.atleast_1d(problem.exact(p, problem.params)))
    neumann = [c for c in problem.conditions if isinstance(c, pde.Neumann)]
    for bc in data.bcs:
        pts = bc.filter(data.train_x_all) if not isinstance(bc, dde.icbc.PointSetBC) else bc.points
        x = jnp.asarray(pts, jnp.float64)
        assert len(pts) > 0, type(bc).__name__
        if isinstance(bc, dde.icbc.PointSetBC):
            got, want = bc.values.numpy(), np.asarray(exact(x))[:, bc.component]
        elif isinstance(bc, dde.icbc.NeumannBC):
            # at a corner DeepXDE's normal is the diagonal one (its target, grad u . n, is
            # then the exact solution's too); away from corners the face normal, the zoo's
            normal = bc.geom.boundary_normal(pts)
            face = np.sum(np.abs(normal) > 0, axis=1) == 1
            assert face.sum() >= len(pts) - 4
            pts, x = pts[face], x[face]
            got = bc.func(pts, 0, len(pts), None)
            want = np.asarray(jax.vmap(neumann[0].value, in_axes=(0, None))(x, problem.params))
        else:
            got = bc.func(pts, 0, len(pts), None)
            want = np.asarray(exact(x))[:, bc.component]
        # DeepXDE holds its targets in float32: equal to float32 rounding
        scale = max(1.0, float(np.max(np.abs(want))))
        np.testing.assert_allclose(np.ravel(got), np.ravel(want), rtol=0, atol=2e-7 * scale)
