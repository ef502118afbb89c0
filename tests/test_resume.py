"""A run survives being stopped: `jaxsci run` in a subprocess is killed (SIGKILL at several
moments, one of them half way through a checkpoint write) or stopped (SIGINT, SIGTERM), then
`jaxsci run --resume` continues it; the final parameters (the model files) and the loss
histories equal an uninterrupted run's byte for byte, and metrics.json equals it but for
wall times. Each refusal (changed config, corrupted or truncated checkpoint, live lock,
finished run, read-only directory) names the file or key.

The subprocesses share one persistent compilation cache (the command turns it on), so only the
first of them compiles.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxsci import RESULTS, cli, runs, train
from jaxsci.runs._lock import LOCK_FILE, RunLock

HERE = os.path.dirname(__file__)
CONFIGS = os.path.join(HERE, "..", "experiments", "configs")
POISSON = os.path.join(CONFIGS, "poisson_1d.toml")
SSM = os.path.join(CONFIGS, "ssm_copying.toml")
CHUNK = 25
PINN_SMALL = [
    "train.steps=3000",
    f"train.chunk_size={CHUNK}",
    "sampling.n_interior=64",
    "field.width=8",
    "lbfgs.steps=300",
    "train.seeds=[0, 1]",
    "plot=false",
]
SSM_SMALL = [
    "task.gap=20",
    "train.steps=400",
    "train.chunk_size=10",
    "train.seeds=[0]",
    "model.hidden=8",
    "model.state_size=8",
    "model.depth=1",
    "train.batch=8",
    "task.eval_batches=1",
    "plot=false",
]
TIMING = ("wall_s", "steps_per_s", "compile_s", "versions")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    cache = tmp_path_factory.mktemp("xla-cache")
    out = dict(os.environ, XDG_CACHE_HOME=str(cache))
    out.pop("JAXSCI_COMPILATION_CACHE", None)
    return out


def _command(config, out, overrides):
    args = [sys.executable, "-m", "jaxsci.cli", "run", config, "--out", str(out), "--quiet"]
    for o in overrides:
        args += ["--set", o]
    return args


def _resume_command(run_dir, *overrides):
    args = [sys.executable, "-m", "jaxsci.cli", "run", "--resume", str(run_dir), "--quiet"]
    return args + [a for o in overrides for a in ("--set", o)]


# a stop request is looked for every ~2 ms of steps (a few steps of these small runs) instead
# of every 0.5 s, so that a signal lands inside a chunk and is answered there
FAST_STOP = {"JAXSCI_STOP_CHECK_S": "0.002"}


def _start(args, env, **extra):
    return subprocess.Popen(
        args, env={**env, **extra}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(proc, timeout=600):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


def _step(path) -> int:
    try:
        return train.checkpoint_info(path)["step"]
    except (FileNotFoundError, train.CheckpointError):
        return -1


def _stop_at(proc, path, step, signum, timeout=300, settle=0.0):
    """Send `signum` `settle` seconds after the checkpoint at `path` holds `step` or more; the
    step seen. A wait puts the signal inside the next chunk where that chunk is long: sent at
    once, it can reach the run before it has left the checkpoint and started the chunk (a
    loaded machine did: the run stopped at the chunk's end, as it should for a signal that
    arrives there)."""
    t0 = time.monotonic()
    while (seen := _step(path)) < step:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"ended (rc {proc.returncode}) before {path}@{step}: {err}")
        assert time.monotonic() - t0 < timeout
        time.sleep(0.005)
    time.sleep(settle)
    proc.send_signal(signum)
    return seen


def _metrics(run_dir):
    m = json.loads((run_dir / "metrics.json").read_text())

    def strip(d):
        return {k: v for k, v in d.items() if k not in TIMING and not k.endswith("_steps_per_s")}

    return {**strip(m), "runs": [strip(r) for r in m["runs"]]}


def _assert_same_run(a, b, seeds):
    for seed in seeds:
        for name in (f"model_seed{seed}.eqx", f"history_seed{seed}.csv"):
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert _metrics(a) == _metrics(b)


@pytest.fixture(scope="module")
def pinn_reference(env, tmp_path_factory):
    out = tmp_path_factory.mktemp("pinn") / "reference"
    rc, log = _finish(_start(_command(POISSON, out, PINN_SMALL), env))
    assert rc == 0, log
    return out


def test_pinn_run_killed_and_stopped_resumes_to_the_bit(pinn_reference, env, tmp_path):
    """One run stopped five times, each resume continuing the last: SIGKILL in seed 0's Adam
    phase, SIGKILL half way through writing a checkpoint, SIGTERM in seed 0's L-BFGS phase and
    SIGINT in seed 1 (seed 0 finished), both in the middle of a chunk, SIGKILL in seed 1's
    L-BFGS phase; then to the end."""
    run = tmp_path / "run"
    ckpt = {
        0: run / "checkpoint_seed0.eqx",
        "0l": run / "checkpoint_seed0_lbfgs.eqx",
        1: run / "checkpoint_seed1.eqx",
        "1l": run / "checkpoint_seed1_lbfgs.eqx",
    }

    # 1. SIGKILL after the first checkpoints of seed 0: the last chunk's checkpoint resumes
    proc = _start(_command(POISSON, run, PINN_SMALL), env)
    _stop_at(proc, ckpt[0], 100, signal.SIGKILL)
    rc, _ = _finish(proc)
    assert rc == -signal.SIGKILL and (run / LOCK_FILE).exists()  # a stale lock is left
    killed_pid = proc.pid
    assert not (run / "metrics.json").exists()

    # 2. SIGKILL half way through the 5th checkpoint this process writes: the partial file is
    # `.tmp`, the checkpoint before it whole
    proc = _start(_resume_command(run), env, JAXSCI_TEST_KILL_IN_CHECKPOINT="5")
    rc, log = _finish(proc)
    assert rc == -signal.SIGKILL, log
    assert f"took over the stale lock of process {killed_pid}" in log
    assert (run / f"checkpoint_seed0.eqx.{proc.pid}.tmp").exists()
    before_crash = _step(ckpt[0])
    assert before_crash > 100

    # 3. SIGTERM in seed 0's L-BFGS phase, in its second chunk of 100 steps: the step reached
    # is checkpointed, not the chunk's end (a chunk size is an allowed override)
    proc = _start(_resume_command(run, "train.chunk_size=100"), env, **FAST_STOP)
    # 100 L-BFGS steps of this run take 70 ms or more (1500 steps/s, quiet machine): sent at
    # once, the signal reached a loaded run (CI's `long` tests) before its next chunk, at 100
    seen = _stop_at(proc, ckpt["0l"], 100, signal.SIGTERM, settle=0.03)
    rc, log = _finish(proc)
    assert rc == 128 + signal.SIGTERM, log
    marker = json.loads((run / "INTERRUPTED").read_text())
    step = marker["checkpoints"]["checkpoint_seed0_lbfgs.eqx"]
    assert marker["signal"] == "SIGTERM" and step == _step(ckpt["0l"])
    assert seen < step < 200, (seen, step)
    assert f"jaxsci run --resume {run}" in log and not (run / LOCK_FILE).exists()

    # 4. SIGINT in seed 1 (seed 0 finished: kept, not trained again), in its second chunk of
    # 1000 Adam steps
    proc = _start(_resume_command(run, "train.chunk_size=1000"), env, **FAST_STOP)
    seen = _stop_at(proc, ckpt[1], 1000, signal.SIGINT, settle=0.05)  # 1000 steps: > 0.5 s
    rc, log = _finish(proc)
    assert rc == 128 + signal.SIGINT, log
    marker = json.loads((run / "INTERRUPTED").read_text())
    assert marker["finished_seeds"] == [0] and (run / "model_seed0.eqx").exists()
    step = marker["checkpoints"]["checkpoint_seed1.eqx"]
    assert seen < step == _step(ckpt[1]) < 2000, (seen, step)

    # 5. SIGKILL in seed 1's L-BFGS phase (back to chunks of 25: the resumed Adam phase
    # continues from the middle of one)
    proc = _start(_resume_command(run, f"train.chunk_size={CHUNK}"), env)
    _stop_at(proc, ckpt["1l"], 25, signal.SIGKILL)
    assert _finish(proc)[0] == -signal.SIGKILL

    # 6. to the end: what the uninterrupted run gave, to the bit
    rc, log = _finish(_start(_resume_command(run), env))
    assert rc == 0, log
    assert not (run / "INTERRUPTED").exists() and not (run / LOCK_FILE).exists()
    _assert_same_run(run, pinn_reference, [0, 1])
    # nothing left to do: a finished run is left as it is
    rc, log = _finish(_start(_resume_command(run), env))
    assert rc == 0 and "nothing to resume" in log


@pytest.mark.slow  # 28 s: the PINN run killed and stopped covers the shared resume path by default
def test_ssm_run_killed_resumes_to_the_bit(env, tmp_path):
    reference, run = tmp_path / "reference", tmp_path / "run"
    rc, log = _finish(_start(_command(SSM, reference, SSM_SMALL), env))
    assert rc == 0, log
    proc = _start(_command(SSM, run, SSM_SMALL), env)
    _stop_at(proc, run / "checkpoint_seed0.eqx", 150, signal.SIGKILL)
    assert _finish(proc)[0] == -signal.SIGKILL
    rc, log = _finish(_start(_resume_command(run), env))
    assert rc == 0, log
    _assert_same_run(run, reference, [0])


GP_P1 = os.path.join(CONFIGS, "gp_p1.toml")
GP_SMALL = [
    "problem.name=poisson_1d",
    "gp.grid=[48]",
    "gp.train.steps=240",
    "gp.chunk_size=20",
    "plot=false",
]


@pytest.mark.slow  # 21 s; the GP row of the interruption table is slow too
def test_gp_kernel_training_stopped_resumes_to_the_bit(env, tmp_path):
    """`[gp.train]` kernel training checkpoints like any trained family: SIGINT in the middle
    of a chunk checkpoints the step reached, and the run resumed from it (with another chunk
    size) equals the uninterrupted one (kernel, coefficients, loss history) to the bit. SIGKILL
    at random moments: the slow interruption table."""
    reference, run = tmp_path / "reference", tmp_path / "run"
    rc, log = _finish(_start(_command(GP_P1, reference, GP_SMALL), env))
    assert rc == 0, log
    ckpt = run / "checkpoint_seed0.eqx"
    # chunks of 100: the stop at the signal lands before the chunk's end (200)
    proc = _start(_command(GP_P1, run, [*GP_SMALL, "gp.chunk_size=100"]), env, **FAST_STOP)
    seen = _stop_at(proc, ckpt, 100, signal.SIGINT)
    rc, log = _finish(proc)
    assert rc == 128 + signal.SIGINT, log
    step = json.loads((run / "INTERRUPTED").read_text())["checkpoints"]["checkpoint_seed0.eqx"]
    assert step == _step(ckpt) and seen < step < 200, (seen, step)
    rc, log = _finish(_start(_resume_command(run, "gp.chunk_size=20"), env))
    assert rc == 0, log
    _assert_same_run(run, reference, [0])


def test_koopman_run_stopped_before_its_metrics_runs_again(tmp_path, capsys):
    """A family that trains nothing iteratively (Koopman, a GP solve without `[gp.train]`) has
    no checkpoint: an unfinished run runs again on resume, to the same result."""
    small = [
        "data.n_trajectories=30",
        "data.held_out_trajectories=40",
        "data.n_steps=5",
        "dictionary.degree=4",
        "plot=false",
    ]
    run = tmp_path / "koopman"
    args = ["run", os.path.join(CONFIGS, "koopman_duffing.toml"), "--out", str(run), "--quiet"]
    assert cli.main(args + sum((["--set", o] for o in small), [])) == 0
    first = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").unlink()  # as if killed before the end
    assert cli.main(["run", "--resume", str(run), "--quiet"]) == 0
    again = json.loads((run / "metrics.json").read_text())
    for m in (first, again):
        m.pop("fit_s"), m.pop("versions")
    assert again == first
    capsys.readouterr()


# ------------------------------------------------------------------ refusals


@pytest.fixture
def stopped(pinn_reference, tmp_path):
    """A copy of the reference run as a stopped one: seed 1 unfinished, its checkpoints kept."""
    run = tmp_path / "stopped"
    shutil.copytree(pinn_reference, run)
    for name in ("metrics.json", "result_seed1.json", "model_seed1.eqx"):
        (run / name).unlink()
    return run


def test_resume_refuses_overrides_that_change_the_result(stopped, capsys):
    rc = cli.main(["run", "--resume", str(stopped), "--set", "train.steps=4000"])
    err = capsys.readouterr().err
    assert rc == 2 and "train.steps (3000 -> 4000)" in err and "config.toml" in err
    rc = cli.main(["run", "--resume", str(stopped), "--set", "optimizer.learning_rate=0.01"])
    assert rc == 2 and "optimizer.learning_rate" in capsys.readouterr().err
    # the chunk size leaves the iterates alone: allowed
    cfg = runs._run.resume_config(str(stopped), ["train.chunk_size=100"])
    assert cfg.train.chunk_size == 100
    # ... but not with an error curve, which is sampled at the chunk ends
    text = (
        (stopped / "config.toml").read_text().replace("error_curve = false", "error_curve = true")
    )
    (stopped / "config.toml").write_text(text)
    with pytest.raises(ValueError, match=r"train\.chunk_size \(25 -> 100\)"):
        runs._run.resume_config(str(stopped), ["train.chunk_size=100"])


def test_resume_refuses_a_checkpoint_of_another_config(stopped, capsys):
    text = (stopped / "config.toml").read_text().replace("steps = 300", "steps = 301")
    (stopped / "config.toml").write_text(text)
    assert cli.main(["run", "--resume", str(stopped)]) == 2
    err = capsys.readouterr().err
    assert "checkpoint_seed1.eqx" in err and "was written for config" in err


def test_resume_refuses_a_corrupted_checkpoint(stopped, capsys):
    path = stopped / "checkpoint_seed1.eqx"
    data = bytearray(path.read_bytes())
    data[-200] ^= 0x01  # one bit of the history
    path.write_bytes(bytes(data))
    assert cli.main(["run", "--resume", str(stopped)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "corrupted (the history does not match its checksum)" in err


def test_resume_refuses_a_truncated_checkpoint(stopped, capsys):
    path = stopped / "checkpoint_seed1_lbfgs.eqx"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert cli.main(["run", "--resume", str(stopped)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and f"truncated ({len(data) // 2} of {len(data)} bytes)" in err


def test_live_lock_refuses_naming_the_process(stopped, capsys):
    with RunLock.acquire(str(stopped)):  # as another `jaxsci run` writing it would
        assert cli.main(["run", "--resume", str(stopped)]) == 2
        err = capsys.readouterr().err
        assert f"process {os.getpid()}" in err and LOCK_FILE in err
        assert cli.main(["run", POISSON, "--out", str(stopped), "--overwrite"]) == 2
        assert f"process {os.getpid()}" in capsys.readouterr().err
    # a lock whose process is gone is taken over, naming it
    (stopped / LOCK_FILE).write_text(json.dumps({"pid": 99999999, "host": "h", "command": "x"}))
    with RunLock.acquire(str(stopped)) as lock:
        assert lock.took_over["pid"] == 99999999
    assert not (stopped / LOCK_FILE).exists()


def test_out_refuses_an_existing_run(pinn_reference, stopped, capsys):
    assert cli.main(["run", POISSON, "--out", str(pinn_reference)]) == 2
    err = capsys.readouterr().err
    assert str(pinn_reference / "metrics.json") in err and "--overwrite" in err
    assert cli.main(["run", POISSON, "--out", str(stopped)]) == 2
    assert f"jaxsci run --resume {stopped}" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_read_only_output_directory_names_the_path():
    """One line naming the path, no traceback. As root (which ignores permission bits) the
    command runs in a forked child that drops to an unprivileged user first, or, where that user
    cannot reach the checkout, with the permission check emulated."""
    base = tempfile.mkdtemp()
    try:
        os.chmod(base, 0o755)  # reachable by the unprivileged user
        ro = os.path.join(base, "ro")
        os.mkdir(ro, 0o555)
        for target, named in [
            (os.path.join(ro, "run"), os.path.join(ro, "run")),
            (ro, os.path.join(ro, LOCK_FILE)),
        ]:
            rc, err = _as_unprivileged(["run", POISSON, "--out", target, "--quiet"])
            assert rc == 2, err
            assert err.strip() == f"jaxsci: cannot write {named}: Permission denied", err
    finally:
        os.chmod(os.path.join(base, "ro"), 0o755)
        shutil.rmtree(base)


def test_disk_full_names_the_path_and_keeps_what_was_written(tmp_path, monkeypatch, capsys):
    """A full disk (ENOSPC, injected into the flush of one file) ends the run with one line
    naming that file; the files written before it stay, the partial one is removed, and the
    run resumes to the end once there is room."""
    import errno

    from jaxsci.train import _atomic

    real_fsync, full = os.fsync, ["metrics.json"]

    def fsync(fd):
        if full and os.readlink(f"/proc/self/fd/{fd}").split(".")[0].endswith("/metrics"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(_atomic.os, "fsync", fsync)
    run = tmp_path / "gp"
    args = ["run", GP_P1, "--out", str(run), "--quiet", "--set", "problem.name=poisson_1d"]
    args += ["--set", "gp.grid=[48]", "--set", "plot=false"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"jaxsci: cannot write {run / 'metrics.json'}: No space left on device"
    model = (run / "model_seed0.eqx").read_bytes()  # written before the disk filled
    assert not list(run.glob("*.tmp"))
    full.clear()  # room again
    assert cli.main(["run", "--resume", str(run), "--quiet"]) == 0
    assert json.loads((run / "metrics.json").read_text())["rel_l2"] < 1e-4
    assert (run / "model_seed0.eqx").read_bytes() == model
    capsys.readouterr()


def _reachable_by_others(path) -> bool:
    """Whether every directory above `path` lets others through (the `x` bit for others)."""
    path = os.path.abspath(path)
    while (parent := os.path.dirname(path)) != path:
        if not os.stat(parent).st_mode & 0o001:
            return False
        path = parent
    return True


def _with_emulated_permissions(argv):
    """`cli.main(argv)` with `os.makedirs` and `os.open` refusing, as the kernel does for an
    unprivileged user, to create an entry in a directory whose owner has no write bit (root
    ignores the bits): the `PermissionError(EACCES, ..., path)` an unprivileged process gets."""
    import errno
    from unittest import mock

    def denied(path):
        path = os.path.abspath(os.fspath(path))
        return not os.path.exists(path) and not os.stat(os.path.dirname(path)).st_mode & 0o200

    def refuse(path):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))

    real_makedirs, real_open = os.makedirs, os.open

    def makedirs(name, mode=0o777, exist_ok=False):
        if denied(name):
            refuse(name)
        return real_makedirs(name, mode, exist_ok)

    def open_(path, flags, mode=0o777, *args, **kwargs):
        if flags & os.O_CREAT and denied(path):
            refuse(path)
        return real_open(path, flags, mode, *args, **kwargs)

    with mock.patch("os.makedirs", makedirs), mock.patch("os.open", open_):
        return _main_with_stderr(argv)


def _main_with_stderr(argv):
    """`cli.main(argv)` in this process: its exit status and what it wrote on stderr."""
    read, write = os.pipe()
    with os.fdopen(write, "w") as f:
        old, sys.stderr = sys.stderr, f
        try:
            rc = cli.main(argv)
        finally:
            sys.stderr = old
    with os.fdopen(read) as f:
        return rc, f.read()


def _as_unprivileged(argv):
    if os.geteuid() != 0:
        return _main_with_stderr(argv)
    import jaxsci

    if not all(_reachable_by_others(p) for p in (POISSON, jaxsci.__file__)):
        # e.g. a checkout under a 0700 temporary directory (a fresh clone): an unprivileged user
        # cannot reach it, so the kernel's permission check is emulated in this process
        return _with_emulated_permissions(argv)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no JAX work, only the refusal's file operations
        try:
            os.close(read)
            os.setgid(65534)
            os.setuid(65534)
            sys.stderr = os.fdopen(write, "w")
            rc = cli.main(argv)
            sys.stderr.flush()
        except BaseException as e:  # noqa: BLE001
            os.write(write, f"child failed: {e!r}".encode())
            rc = 99
        os._exit(rc)
    os.close(write)
    with os.fdopen(read) as f:
        err = f.read()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), err


# ------------------------------------------------------------------ the checkpoint file


def _state(width=3, key=0):
    params = {"w": jnp.arange(width, dtype=jnp.float32)}
    return train.init_state(params, optax.adam(1e-3), key=jax.random.key(key))


def test_checkpoint_header_refuses_what_is_not_this_run(tmp_path):
    path = tmp_path / "c.eqx"
    history = {"loss": [np.arange(5, dtype=np.float32)]}
    with train.checkpoint_tags(config="abc", seed=0):
        train.save_checkpoint(path, _state(), history)
        state, hist = train.load_checkpoint(path, _state())
    np.testing.assert_array_equal(hist["loss"][0], history["loss"][0])
    info = train.checkpoint_info(path)
    assert info["tags"] == {"config": "abc", "seed": 0} and info["step"] == 0
    assert {"jaxsci", "jax", "jaxlib"} <= set(info)
    with train.checkpoint_tags(config="abd", seed=0):
        with pytest.raises(train.CheckpointError, match=r"c\.eqx: was written for config 'abc'"):
            train.load_checkpoint(path, _state())
    with train.checkpoint_tags(config="abc", seed=0):
        with pytest.raises(train.CheckpointError, match="another PRNG key"):
            train.load_checkpoint(path, _state(key=1))
        with pytest.raises(train.CheckpointError, match=r"leaf .*'w'.* shape \[3\].*\[4\]"):
            train.load_checkpoint(path, _state(width=4))
        # another solver: an L-BFGS state where Adam's was written
        lbfgs = train.init_state({"w": jnp.zeros(3)}, optax.lbfgs(), key=jax.random.key(0))
        with pytest.raises(train.CheckpointError, match="another solver, optimiser or model"):
            train.load_checkpoint(path, lbfgs)
    data = path.read_bytes()
    for broken, message in [
        (b"", "is empty"),
        (data[:10], "truncated"),
        (data[:-1], f"truncated ({len(data) - 1} of {len(data)} bytes)"),
        (data + b"x", "corrupted"),
        (data.replace(b'"abc"', b'"abd"'), "corrupted (its header"),
        (b"\x93NUMPY" + data, "not a jaxsci checkpoint"),
    ]:
        path.write_bytes(broken)
        with pytest.raises(train.CheckpointError, match=re.escape(message)):
            train.load_checkpoint(path, _state())


@pytest.mark.parametrize("case", ["adam_ensemble", "lbfgs_flat"])
def test_a_stop_checkpoints_the_step_reached_and_resumes(case, tmp_path, monkeypatch):
    """A stop request in the middle of a chunk (made here at step 137 by `update_extra`, as
    `jaxsci run`'s signal handler makes it from another thread) ends `fit` at the end of the
    running piece of steps (5 here): the checkpoint holds step 140, not the chunk's end (200).
    The run resumed from it equals an uninterrupted one to the bit, parameters and history,
    with its callbacks at the same chunk ends; L-BFGS resumes without priming its line search
    again in the middle of a chunk."""
    from jaxsci.train import _chunks, _interrupt

    monkeypatch.setattr(_chunks._Pace, "length", lambda self, left: min(5, left))
    armed = [False]

    def ask(step):
        if armed[0] and np.any(step == 137):
            _interrupt.request_stop(signal.SIGINT)

    def update_extra(p, extra, key, step):
        jax.debug.callback(ask, step)
        return extra

    def loss(p, extra, key):
        return jnp.sum((p["w"] - 1.0) ** 4), {"w0": p["w"][0]}

    ensemble = case == "adam_ensemble"
    params = {"w": jnp.array([[0.0, 2.0, 3.0], [1.0, 0.5, -1.0]]) if ensemble else jnp.zeros(3)}
    kwargs = dict(
        steps=250,
        key=jax.random.split(jax.random.key(0), 2) if ensemble else jax.random.key(0),
        ensemble=ensemble,
    )
    if ensemble:
        kwargs.update(update_extra=update_extra, extra=jnp.zeros(2))
        optimizer = optax.adam(0.01)
    else:  # no `update_extra` with `reuse_linesearch`: asked when the piece holding 137 starts
        kwargs.update(reuse_linesearch=True, flat=True)
        optimizer = optax.lbfgs(memory_size=5)

    def fit(loop):
        return train.fit(loss, params, optimizer, loop=loop, **kwargs)

    full = fit(train.Loop(chunk_size=100))
    path = str(tmp_path / "c.eqx")
    calls = []
    loop = train.Loop(chunk_size=100, checkpoint=path, callback=lambda n, p: calls.append(n))
    armed[0] = True
    if not ensemble:
        _chunks_run = _chunks._run_steps

        def asking(step, state, count, *args):
            done = int(np.max(np.asarray(state.step)))
            ask(np.arange(done, done + int(count)))
            return _chunks_run(step, state, count, *args)

        monkeypatch.setattr(_chunks, "_run_steps", asking)
    try:
        with pytest.raises(train.Interrupted) as e:
            fit(loop)
    finally:
        _interrupt.clear_stop()
        armed[0] = False
        monkeypatch.undo()
    assert e.value.step == 140 and e.value.checkpoint == path and calls == [100]
    assert e.value.solution.result is RESULTS.interrupted
    assert train.checkpoint_info(path)["step"] == 140
    assert e.value.solution.history["loss"].shape[-1] == 140
    calls.clear()
    resumed = fit(train.Loop(chunk_size=100, checkpoint=path, resume=True, callback=loop.callback))
    assert calls == [200, 250]  # the first chunk resumed ends at 200, as in one run
    np.testing.assert_array_equal(resumed.params["w"], full.params["w"])
    np.testing.assert_array_equal(resumed.history["loss"], full.history["loss"])
    np.testing.assert_array_equal(resumed.history["w0"], full.history["w0"])


# ------------------------------------------------------------------ the interruption table

PIG_HELMHOLTZ = os.path.join(CONFIGS, "pig_helmholtz_2d.toml")
PIG_SMALL = [
    "field.n_gaussians=64",
    "field.neighbours.cutoff=5.0",
    "train.steps=600",
    "sampling.n_interior=128",
    "train.chunk_size=15",
    "plot=false",
]
FAMILIES = {
    "mlp_pinn": (POISSON, PINN_SMALL, [0, 1], "checkpoint_seed0.eqx"),
    "pig": (PIG_HELMHOLTZ, PIG_SMALL, [0], "checkpoint_seed0.eqx"),
    "ssm": (SSM, SSM_SMALL, [0], "checkpoint_seed0.eqx"),
    "gp_train": (GP_P1, GP_SMALL, [0], "checkpoint_seed0.eqx"),
}


def _holder(run):
    try:
        return json.loads((run / LOCK_FILE).read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_interruption_table(family, env, tmp_path):
    """Stops at random moments after the first checkpoint (SIGKILL, SIGINT, SIGTERM, or a
    SIGKILL half way through a random checkpoint write), each run resumed, stopped again at
    random once more, then resumed to the end: every trial ends equal to the uninterrupted run.
    Prints the row of the README's interruption table."""
    import random

    config, overrides, seeds, first = FAMILIES[family]
    reference = tmp_path / "reference"
    rc, log = _finish(_start(_command(config, reference, overrides), env))
    assert rc == 0, log
    rng = random.Random(family)
    stops, same = 0, 0
    kinds = ["kill", "int", "term", "write", "kill", "kill"]
    for trial, kind in enumerate(kinds):
        run = tmp_path / f"trial{trial}"
        args = _command(config, run, overrides)
        for attempt in range(2):
            if kind == "write":
                proc = _start(args, env, JAXSCI_TEST_KILL_IN_CHECKPOINT=str(rng.randint(2, 12)))
            else:
                proc = _start(args, env)
                signum = {"kill": signal.SIGKILL, "int": signal.SIGINT, "term": signal.SIGTERM}
                while proc.poll() is None and (_step(run / first) < 0 or _holder(run) != proc.pid):
                    time.sleep(0.005)  # its handlers are in place once it holds the lock
                time.sleep(rng.uniform(0.0, 1.5) * (1 + attempt))
                if proc.poll() is None:
                    proc.send_signal(signum[kind])
            rc, log = _finish(proc)
            assert rc in (0, -signal.SIGKILL, 130, 143), log
            stops += rc != 0
            args = _resume_command(run)
            if rc == 0:
                break
        rc, log = _finish(_start(_resume_command(run), env))
        assert rc == 0, log
        try:
            _assert_same_run(run, reference, seeds)
            same += 1
        except AssertionError as e:
            print(f"{family} trial {trial} ({kind}): differs: {e}")
    print(f"\ninterruption table: {family}: {stops} stops in {len(kinds)} runs, {same} identical")
    assert same == len(kinds)
