"""PyKoopman timings for `experiments.peers.koopman_estimators`, run in PyKoopman's own
environment (it pins numpy <= 1.26) as a subprocess from the repository root:

    /work/peers-koopman/bin/python -m experiments.peers.pykoopman_worker DIR REPEATS RANK LSCALE

reads DIR/data.npz (the benchmark's feature matrices and states) and prints one JSON line of
rows (median of REPEATS calls after a warm-up); it writes no result file.
"""

import json
import sys
import warnings

import numpy as np

from experiments._harness import timed


def main():
    folder, repeats, rank, lengthscale = (
        sys.argv[1],
        int(sys.argv[2]),
        int(sys.argv[3]),
        float(sys.argv[4]),
    )
    warnings.simplefilter("ignore")
    import pykoopman as pk
    from sklearn.gaussian_process.kernels import RBF

    data = np.load(f"{folder}/data.npz")
    px, py, xk, yk = data["px"], data["py"], data["xk"], data["yk"]
    version = getattr(pk, "__version__", "1.2.1")
    rows = []

    def edmd():
        model = pk.Koopman(
            observables=pk.observables.Identity(),
            regressor=pk.regression.EDMD(svd_rank=px.shape[1]),
        )
        model.fit(px, y=py)
        return np.diag(model.lamda)

    def kdmd():
        reg = pk.regression.KDMD(svd_rank=rank, kernel=RBF(length_scale=lengthscale))
        model = pk.Koopman(observables=pk.observables.Identity(), regressor=reg)
        model.fit(xk, y=yk)
        return np.diag(model.lamda)

    for method, fn in (("edmd_fit", edmd), ("kernel_edmd_fit", kdmd)):
        t, lam = timed(fn, repeats=repeats, output=True)
        rows.append(
            dict(
                method=method,
                library=f"pykoopman {version}",
                seconds=t,
                re=np.real(lam).tolist(),
                im=np.imag(lam).tolist(),
            )
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
