"""Plots of a solution (PINN, PIG, GP) against the truth (matplotlib, imported lazily)."""

from __future__ import annotations

import numpy as np

_LABELS = {"PINNSolution": "PINN", "GPSolution": "GP"}


def plot_solution(solution, path, per_axis: int | None = None, label: str | None = None):
    """Write a PNG comparing `solution` with the problem's truth: curves in 1D, images of the
    prediction, truth and pointwise error in 2D (space x time included), and the slice at the
    middle of the last axis in 3D. `label` names the prediction (default: the solver, "PINN" or
    "GP"). Returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    problem = solution.problem
    dom = problem.domain
    dim = dom.dim
    n = per_axis or {1: 1001, 2: 201}.get(dim, 101)
    if dim == 3:  # slice through the middle of the last axis
        ax = [np.linspace(dom.lower[i], dom.upper[i], n) for i in range(2)]
        xx, yy = np.meshgrid(*ax, indexing="ij")
        mid = 0.5 * (dom.lower[2] + dom.upper[2])
        pts = np.stack([xx.ravel(), yy.ravel(), np.full(xx.size, mid)], -1)
        shape = (n, n)
    else:
        pts = np.asarray(dom.grid((n,) * dim))
        shape = (n,) * dim
    pts = pts.astype(np.float32 if solution.points.dtype == np.float32 else np.float64)
    pred = np.asarray(solution(pts))
    has_truth = problem.has_truth
    true = (
        np.asarray(problem.exact_values(pts, solution.params)).reshape(pred.shape)
        if has_truth
        else None
    )
    if (
        has_truth
        and problem.eigenvalue is not None
        and np.sum((pred + true) ** 2) < np.sum((pred - true) ** 2)
    ):
        pred = -pred
    label = label or _LABELS.get(type(solution).__name__, "prediction")
    labels = ["x", "y"] if not dom.time_dependent else (["x", "t"] if dim == 2 else ["x", "y"])
    if dim == 1:
        fig, axes = plt.subplots(1, 2 if has_truth else 1, figsize=(10, 3.6), squeeze=False)
        x = pts[:, 0]
        axes[0, 0].plot(x, pred, label=label)
        if has_truth:
            axes[0, 0].plot(x, true, "--", label="exact")
            axes[0, 1].semilogy(x, np.abs(pred - true) + 1e-16)
            axes[0, 1].set_title("|error|")
        axes[0, 0].legend()
        axes[0, 0].set_title(problem.name)
    else:
        panels = [(label, pred)]
        if has_truth:
            panels += [("exact", true), ("|error|", np.abs(pred - true))]
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
        extent = [dom.lower[0], dom.upper[0], dom.lower[1], dom.upper[1]]
        for a, (title, v) in zip(axes[0], panels, strict=True):
            im = a.imshow(
                v.reshape(shape).T,
                origin="lower",
                extent=extent,
                aspect="auto",
                cmap="magma" if title == "|error|" else "RdBu_r",
            )
            a.set_title(f"{problem.name}: {title}" if title == label else title)
            a.set_xlabel(labels[0])
            a.set_ylabel(labels[1])
            fig.colorbar(im, ax=a)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
