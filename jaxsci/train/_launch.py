"""Joining a multi-process run: one process per host (or per GPU), JAX's own runtime between them.

`initialize` wraps `jax.distributed.initialize` and is never called at import: call it first
thing in each process (the command line does when `JAXSCI_COORDINATOR` is set). After it,
`jax.devices()` lists the devices of every process, `data_mesh()` spans them all, and
`fit(..., mesh=...)` trains data-parallel across processes exactly as across local devices.

```bash
# two processes on this machine (CPU collectives over loopback)
JAXSCI_COORDINATOR=127.0.0.1:1234 JAXSCI_NUM_PROCESSES=2 JAXSCI_PROCESS_ID=0 \\
    jaxsci run experiments/configs/poisson_2d.toml --set mesh.data=2 --out runs/p0 &
JAXSCI_COORDINATOR=127.0.0.1:1234 JAXSCI_NUM_PROCESSES=2 JAXSCI_PROCESS_ID=1 \\
    jaxsci run experiments/configs/poisson_2d.toml --set mesh.data=2 --out runs/p1
```
"""

from __future__ import annotations

import os

import jax

ENV = ("JAXSCI_COORDINATOR", "JAXSCI_NUM_PROCESSES", "JAXSCI_PROCESS_ID")


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> bool:
    """Join the run coordinated at `coordinator_address` (`host:port`) as process `process_id`
    of `num_processes`. Arguments default to `JAXSCI_COORDINATOR`, `JAXSCI_NUM_PROCESSES` and
    `JAXSCI_PROCESS_ID`; with neither, nothing happens and `False` is returned. On CPU the
    processes exchange data through gloo collectives. Call before any other JAX work."""
    env = {k: os.environ.get(k) for k in ENV}
    coordinator_address = coordinator_address or env["JAXSCI_COORDINATOR"]
    if coordinator_address is None:
        return False
    try:
        num_processes = int(num_processes if num_processes is not None else env[ENV[1]])
        process_id = int(process_id if process_id is not None else env[ENV[2]])
    except (TypeError, ValueError):
        raise ValueError(
            "initialize: give `num_processes` and `process_id` (or set JAXSCI_NUM_PROCESSES "
            f"and JAXSCI_PROCESS_ID), got {num_processes!r} and {process_id!r}"
        ) from None
    if not 0 <= process_id < num_processes:
        raise ValueError(
            f"initialize: `process_id` must lie in [0, {num_processes}), got {process_id}"
        )
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=coordinator_address,
        num_processes=num_processes,
        process_id=process_id,
    )
    return True
