"""SSM runs: a sequence task (copying, sequential digits), a `SequenceModel` and its training
(AdamW with warmup and cosine decay, through `jaxsci.train.fit`), once per seed; the
final-iterate accuracy of each seed and the learning curves."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jax.sharding import NamedSharding, PartitionSpec

from .. import ssm
from ..ssm._model import LAYERS
from ..ssm._tasks import COPY_LENGTH, COPY_SYMBOLS, COPY_TOKENS
from ..train import Loop, checkpoint_tags, data_mesh, fit
from . import _rundir
from ._config import library_default, setting
from ._runner import Outcome, Runner, register

_TASKS = ("copying", "digits")
_sequence_model = lambda name: library_default(ssm.SequenceModel, name)  # noqa: E731
# `state_size`, `dt_min`, `dt_max`: the defaults of the default layer (S4, S4D and S5 share them)
_layer = lambda name: library_default(LAYERS[_sequence_model("layer")], name)  # noqa: E731


@dataclass
class TaskConfig:
    name: str = setting("copying", _TASKS)
    gap: int = setting(1000, "positive")  # copying: blanks between the symbols and the delimiter
    eval_batches: int = setting(8, "positive")  # copying: fresh batches of 64 for the accuracy


@dataclass
class ModelConfig:
    """`[model]`: the arguments of `ssm.SequenceModel` (and of its layer), their defaults."""

    layer: str = setting(_sequence_model("layer"), tuple(LAYERS))
    hidden: int = setting(_sequence_model("hidden"), "positive")
    depth: int = setting(_sequence_model("depth"), "positive")
    state_size: int = setting(_layer("state_size"), "positive")
    dt_min: float = setting(_layer("dt_min"), "positive")
    dt_max: float = setting(_layer("dt_max"), "positive")


@dataclass
class SSMTrainConfig:
    """`[train]`: AdamW (`optax.adamw`'s `weight_decay` default) with `min(100, steps // 10 + 1)`
    warmup steps and cosine decay to 5 % of `learning_rate`, after clipping the global gradient
    norm to `clip_norm` (0: no clipping); `chunk_size` is `train.Loop`'s."""

    steps: int = setting(2000, "positive")
    batch: int = setting(32, "positive")
    learning_rate: float = setting(3e-3, "positive")
    weight_decay: float = setting(library_default(optax.adamw, "weight_decay"), "non-negative")
    clip_norm: float = setting(1.0, "non-negative")  # 0: no gradient clipping
    chunk_size: int = setting(library_default(Loop, "chunk_size"), "positive")
    seeds: list[int] = setting([0], "non-empty")


@dataclass
class SSMMeshConfig:
    data: int = setting(1, "positive")  # devices each training batch is split over


@dataclass
class SSMRunConfig:
    solver: str = "ssm"
    task: TaskConfig = setting(default_factory=TaskConfig)
    model: ModelConfig = setting(default_factory=ModelConfig)
    train: SSMTrainConfig = setting(default_factory=SSMTrainConfig)
    mesh: SSMMeshConfig = setting(default_factory=SSMMeshConfig)
    output_dir: str = "runs"
    plot: bool = True

    @property
    def name(self) -> str:
        return f"ssm_{self.task.name}"


def _keys(cfg: SSMRunConfig, seed: int):
    """`(model, training, evaluation)` keys (the split the published numbers were made with)."""
    key = jr.key(seed)
    if cfg.task.name == "copying":
        return tuple(jr.split(key, 3))
    k_model, k_run = jr.split(key)
    return k_model, k_run, None


def _sizes(cfg: SSMRunConfig):
    """`(in_size, out_size, length)` of the task."""
    if cfg.task.name == "copying":
        return COPY_TOKENS, COPY_SYMBOLS, cfg.task.gap + 2 * COPY_LENGTH
    return 1, 10, 64


def _model(cfg: SSMRunConfig, key):
    mc = cfg.model
    n_in, n_out, length = _sizes(cfg)
    kwargs = dict(state_size=mc.state_size, dt_min=mc.dt_min, dt_max=mc.dt_max)
    if mc.layer == "s4":
        kwargs["length"] = length
    return ssm.SequenceModel(n_in, n_out, mc.hidden, mc.depth, layer=mc.layer, key=key, **kwargs)


def _mesh(cfg: SSMRunConfig):
    if cfg.mesh.data == 1:
        return None
    if cfg.mesh.data > jax.device_count():
        raise ValueError(
            f"mesh.data: {cfg.mesh.data} devices asked for, {jax.device_count()} available"
        )
    return data_mesh(cfg.mesh.data)


def _pooled_logits(model, x):
    return jax.vmap(lambda s: model(s).mean(axis=0))(x)


def _copy_logits(model, x):
    return jax.vmap(model)(x)[:, -COPY_LENGTH:]


def train_seed(
    cfg: SSMRunConfig, seed: int, data=None, progress: bool = False, checkpoint: str | None = None
):
    """Train one seed: `(result dict, trained model, history)`; the accuracy is that of the final
    parameters (fresh batches for copying, the held-out images for digits). With `checkpoint`
    (a file path) the training is checkpointed there after every chunk and continues from it
    when it exists."""
    tc, task = cfg.train, cfg.task
    k_model, k_run, k_eval = _keys(cfg, seed)
    model = _model(cfg, k_model)
    warmup = min(100, tc.steps // 10 + 1)
    lr = tc.learning_rate
    sched = optax.warmup_cosine_decay_schedule(0.0, lr, warmup, tc.steps, lr * 0.05)
    adamw = optax.adamw(sched, weight_decay=tc.weight_decay)
    opt = optax.chain(optax.clip_by_global_norm(tc.clip_norm), adamw) if tc.clip_norm else adamw

    if task.name == "copying":

        def batch_of(k, n):
            return ssm.copying_batch(k, n, task.gap)

        logits_of = _copy_logits
    else:
        xtr, ytr, xte, yte = data

        def batch_of(k, n):
            idx = jr.choice(k, xtr.shape[0], (n,), replace=False)
            return xtr[idx], ytr[idx]

        logits_of = _pooled_logits

    mesh = _mesh(cfg)
    if mesh is not None and tc.batch % cfg.mesh.data:
        raise ValueError(f"train.batch: {tc.batch} does not split over mesh.data = {cfg.mesh.data}")

    def loss_fn(model, extra, k):
        x, y = batch_of(k, tc.batch)
        if mesh is not None:  # data parallel: each device takes its share of the batch
            split = NamedSharding(mesh, PartitionSpec(mesh.axis_names[0]))
            x, y = jax.lax.with_sharding_constraint((x, y), split)
        logits = logits_of(model, x)
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        return loss, {"accuracy": jnp.mean(jnp.argmax(logits, -1) == y)}

    result = fit(
        loss_fn,
        model,
        opt,
        steps=tc.steps,
        key=k_run,
        loop=Loop(
            chunk_size=tc.chunk_size,
            checkpoint=checkpoint,
            resume=checkpoint is not None,
            progress=progress,
            mesh=mesh,
        ),
        throw=False,
    )
    model = result.params

    @eqx.filter_jit
    def accuracy(model, x, y):
        return jnp.mean(jnp.argmax(logits_of(model, x), -1) == y)

    if task.name == "copying":
        accs = [accuracy(model, *batch_of(k, 64)) for k in jr.split(k_eval, task.eval_batches)]
        acc = float(np.mean([float(a) for a in accs]))
    else:
        acc = float(accuracy(model, xte, yte))
    res = {
        "seed": seed,
        "accuracy": acc,
        "final_loss": float(result.history["loss"][-1]),
        "wall_s": result.stats["wall_s"],
        "steps": result.stats["steps"],
        "steps_per_s": result.stats["steps_per_s"],
        "result": result.result.name,
        "failed_step": result.stats["failed_step"],
    }
    return res, model, result.history


def run(cfg: SSMRunConfig, out_dir: str, progress: bool) -> Outcome:
    data = ssm.digits_split() if cfg.task.name == "digits" else None
    runs, histories = [], {}
    for seed in cfg.train.seeds:
        res = _rundir.finished_row(out_dir, seed)  # a resumed run keeps finished seeds
        if res is not None:
            runs.append(res)
            histories[seed] = _rundir.read_history(out_dir, seed)
            continue
        t0 = time.perf_counter()
        checkpoint = os.path.join(out_dir, f"checkpoint_seed{seed}.eqx")
        with checkpoint_tags(seed=seed):
            res, model, history = train_seed(cfg, seed, data, progress, checkpoint)
        res["wall_s"] = time.perf_counter() - t0
        runs.append(res)
        histories[seed] = history
        _rundir.save_model(_rundir.model_path(out_dir, seed), model)
        _rundir.write_history(out_dir, seed, history)
        _rundir.write_row(out_dir, seed, res)
        print(
            f"seed {seed}: accuracy {res['accuracy']:.4f}  wall {res['wall_s']:.1f} s", flush=True
        )
    accs = np.array([r["accuracy"] for r in runs])
    metrics = {
        "solver": "ssm",
        "task": cfg.task.name,
        "mesh": {"data": cfg.mesh.data},
        "accuracy": float(accs.mean()),
        "accuracy_std": float(accs.std()),
        "wall_s": float(np.mean([r["wall_s"] for r in runs])),
        "runs": runs,
    }
    outputs = {
        "learning_curve": _rundir.plot_learning_curves(out_dir, histories, cfg.name)
        if cfg.plot
        else None
    }
    summary = (
        f"{cfg.task.name}: accuracy {metrics['accuracy']:.4f} "
        f"(+- {metrics['accuracy_std']:.1e} over {len(runs)} seed(s)), "
        f"wall {metrics['wall_s']:.1f} s per seed"
    )
    return Outcome(metrics, outputs, summary, all(r["failed_step"] is None for r in runs))


def load(cfg: SSMRunConfig, run_dir: str, seed: int) -> ssm.SequenceModel:
    """The trained `SequenceModel` of `seed`."""
    k_model = _keys(cfg, seed)[0]
    like = _model(cfg, k_model)  # built on the host (HiPPO in NumPy): cheap, not traceable
    return _rundir.load_model(_rundir.model_path(run_dir, seed), like)


@register
class SSMRunner(Runner):
    name = "ssm"
    config = SSMRunConfig
    description = "an S4 / S4D / S5 sequence model trained on a task (copying, digits)"

    run = staticmethod(run)
    load = staticmethod(load)

    def catalogue(self):
        return ['tasks (solver = "ssm", [task] name = ...): ' + ", ".join(_TASKS)]
