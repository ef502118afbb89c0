"""Information-theoretic terms for deep Koopman learning.

Cheng, Yuan, Yang, Zhang, Cheng, He, Sun (2025), "Information Shapes Koopman Representation",
arXiv:2510.13025 (ICLR 2026). Latent mutual information between consecutive latent states
promotes simplicity (temporal coherence) but, pushed alone, collapses the latent onto a few
dominant modes; the von Neumann entropy of the normalised latent covariance keeps the effective
dimension up. Both terms here are differentiable and work under `jit`/`vmap`/`grad`.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


@jax.custom_jvp
def _density_entropy(rho):
    lam = jnp.clip(jnp.linalg.eigvalsh(rho), jnp.finfo(rho.dtype).tiny, None)
    return -jnp.sum(lam * jnp.log(lam))


@_density_entropy.defjvp
def _density_entropy_jvp(primals, tangents):
    # d S = -tr((log rho + I) d rho). Differentiating through `eigh` instead divides by
    # eigenvalue gaps (NaN at an isotropic latent, exactly where the entropy is maximal); the
    # matrix-function form f'(rho) = V diag(f'(lambda)) V^* is smooth there.
    (rho,), (drho,) = primals, tangents
    lam, vec = jnp.linalg.eigh(rho)
    lam = jnp.clip(lam, jnp.finfo(rho.dtype).tiny, None)
    fprime = (vec * -(jnp.log(lam) + 1)[None]) @ jnp.conj(vec.T)
    return -jnp.sum(lam * jnp.log(lam)), jnp.real(jnp.sum(fprime * drho.T))


def von_neumann_entropy(latents: Float[Array, "n r"], *, jitter: float = 1e-8) -> Float[Array, ""]:
    """Von Neumann entropy S(rho) = -tr(rho log rho) of rho = Sigma / tr(Sigma).

    Sigma is the (centred) covariance of the samples `latents` plus `jitter` I (so that
    log rho is finite for a collapsed latent). S ranges from 0 (all variance in one direction,
    collapse) to log r (isotropic); exp(S) is an effective dimension.

    **Arguments:** `latents` `(n, r)` samples; `jitter` relative to the mean variance.

    **Returns:** a scalar; differentiable, with a gradient that stays finite at degenerate
    (e.g. isotropic) covariances.
    """
    if latents.ndim != 2:
        raise ValueError(f"`latents` must have shape (n, r), got {latents.shape}.")
    centred = latents - latents.mean(0, keepdims=True)
    sigma = centred.T @ centred / latents.shape[0]
    r = sigma.shape[0]
    sigma = sigma + jitter * (jnp.trace(sigma) / r + jnp.finfo(sigma.dtype).tiny) * jnp.eye(
        r, dtype=sigma.dtype
    )
    return _density_entropy(sigma / jnp.trace(sigma))


def info_nce(
    anchors: Float[Array, "b r"], positives: Float[Array, "b r"], *, temperature: float = 0.1
) -> Float[Array, ""]:
    """The InfoNCE lower bound on the mutual information I(anchor; positive) (nats).

    I >= log B - L_NCE with L_NCE = -(1/B) sum_i log softmax_j(s(a_i, p_j) / temperature)_i, the
    other B - 1 positives in the batch serving as negatives (van den Oord, Li, Vinyals 2018,
    eq. 4); s is the cosine similarity (as in the reference implementation of Cheng et al. 2025).
    The bound is at most log B.

    **Arguments:** `anchors`, `positives` `(B, r)`, row i of each from the same sample;
    `temperature`.

    **Returns:** the scalar bound log B - L_NCE.
    """
    if anchors.shape != positives.shape or anchors.ndim != 2:
        raise ValueError(
            f"`anchors` and `positives` must both have shape (B, r), got {anchors.shape} and "
            f"{positives.shape}."
        )

    def unit(z):
        return z / jnp.sqrt(jnp.sum(z**2, -1, keepdims=True) + jnp.finfo(z.dtype).tiny)

    logits = unit(anchors) @ unit(positives).T / temperature
    loss = -jnp.mean(jnp.diagonal(jax.nn.log_softmax(logits, axis=1)))
    return jnp.log(anchors.shape[0]) - loss
