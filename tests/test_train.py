from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest
from helpers import rosenbrock, tree_allclose

from jaxsci import train

TARGET = jnp.array([1.0, -2.0, 3.0])


def quadratic(params, extra, key):
    noise = 0.01 * jr.normal(key, TARGET.shape)  # uses the per-step key
    loss = jnp.sum((params["w"] - TARGET - noise) ** 2)
    return loss, {"w0": params["w"][0]}


def test_fit_converges_and_records_history(getkey):
    res = train.fit(
        quadratic,
        {"w": jnp.zeros(3)},
        optax.adam(0.05),
        steps=600,
        key=getkey(),
        loop=train.Loop(chunk_size=200),
    )
    assert np.allclose(res.params["w"], TARGET, atol=0.05)
    assert res.history["loss"].shape == (600,) and res.history["w0"].shape == (600,)
    assert res.history["loss"][-1] < 1e-2 * res.history["loss"][0]
    assert res.stats["steps"] == 600 and res.stats["failed_step"] is None


def test_lbfgs(getkey):
    res = train.fit(quadratic, {"w": jnp.zeros(3)}, optax.lbfgs(), steps=20, key=getkey())
    assert np.allclose(res.params["w"], TARGET, atol=0.05)


def test_chunking_does_not_change_the_path(getkey):
    key = getkey()
    run = partial(train.fit, quadratic, {"w": jnp.zeros(3)}, optax.adam(0.05), steps=300, key=key)
    a, b = run(loop=train.Loop(chunk_size=300)), run(loop=train.Loop(chunk_size=70))
    assert tree_allclose(a.state, b.state, rtol=0, atol=0)
    assert np.array_equal(a.history["loss"], b.history["loss"])


def test_resume_reproduces_uninterrupted_run(tmp_path, getkey):
    key = getkey()
    model = eqx.nn.MLP(2, 1, 16, 2, key=getkey())
    xs = jr.uniform(getkey(), (64, 2))
    ys = jnp.sin(xs.sum(1))

    def loss(m, extra, k):
        return jnp.mean((jax.vmap(m)(xs)[:, 0] - ys) ** 2), {}

    run = partial(
        train.fit, loss, model, optax.adam(1e-2), key=key, loop=train.Loop(chunk_size=100)
    )
    full = run(steps=400)
    ckpt = tmp_path / "run.eqx"
    part = run(steps=200, loop=train.Loop(chunk_size=100, checkpoint=ckpt))
    assert part.stats["steps"] == 200 and ckpt.exists()
    resumed = run(steps=400, loop=train.Loop(chunk_size=100, checkpoint=ckpt, resume=True))
    assert resumed.stats["steps"] == 400
    assert tree_allclose(resumed.state, full.state, rtol=0, atol=0)
    assert np.array_equal(resumed.history["loss"], full.history["loss"])


def test_nan_stops_and_keeps_last_good_state(getkey, capsys):
    from jaxsci import RESULTS, SolveFailed

    def exploding(params, extra, key):
        # finite until w[0] passes 0.5, then NaN
        bad = params["w"][0] > 0.5
        return jnp.where(bad, jnp.nan, jnp.sum((params["w"] - TARGET) ** 2)), {}

    res = train.fit(
        exploding,
        {"w": jnp.zeros(3)},
        optax.sgd(0.01),
        steps=1000,
        key=getkey(),
        loop=train.Loop(chunk_size=100),
        throw=False,
    )
    step = res.stats["failed_step"]
    assert step is not None and 0 < step < 100
    assert res.result is RESULTS.nonfinite and not res.result
    assert capsys.readouterr().err == ""  # a result code, never a print
    # throw=True (the default) raises, naming the step, with the same result inside
    with pytest.raises(SolveFailed, match=f"at step {step}") as info:
        train.fit(
            exploding,
            {"w": jnp.zeros(3)},
            optax.sgd(0.01),
            steps=1000,
            key=getkey(),
            loop=train.Loop(chunk_size=100),
        )
    assert info.value.result is RESULTS.nonfinite
    np.testing.assert_array_equal(info.value.solution.params["w"], res.params["w"])
    w = res.params["w"]
    assert np.all(np.isfinite(w)) and w[0] > 0.5 - 0.05  # the last finite iterate
    assert np.isfinite(res.history["loss"][step - 1]) and np.isnan(res.history["loss"][step])
    assert len(res.history["loss"]) == 100  # stopped after the chunk that failed


def test_ensemble_equals_separate_runs(getkey):
    keys = jr.split(getkey(), 8)
    make = lambda k: {"w": jr.normal(k, (3,))}
    opt = optax.adam(0.05)
    batched = train.fit(
        quadratic, eqx.filter_vmap(make)(keys), opt, steps=100, key=keys, ensemble=True
    )
    for i in range(8):
        single = train.fit(quadratic, make(keys[i]), opt, steps=100, key=keys[i])
        assert np.allclose(batched.params["w"][i], single.params["w"], rtol=1e-5, atol=1e-6)
        assert np.allclose(batched.history["loss"][i], single.history["loss"], rtol=1e-4)


def test_ensemble_every_n_update_runs_when_due(getkey):
    """An every-N-steps `update_extra` (a `lax.cond` on the step count) under an ensemble's
    vmap: the count comes from outside the vmap, so the program keeps a `cond` (a batched
    count would turn it into a `select` running the update at every step), and the members
    follow their separate runs, update included."""
    from jaxsci.train._chunks import _ensemble_step
    from jaxsci.train._step import TrainState

    def loss(p, extra, key):
        return jnp.sum((p["w"] - extra["target"]) ** 2), {}

    def update(p, extra, key, step):  # every 5 steps, move the target to the iterate
        due = (step + 1) % 5 == 0
        return {
            "target": jax.lax.cond(
                due, lambda t: 0.5 * t + 0.5 * p["w"], lambda t: t, extra["target"]
            )
        }

    keys = jr.split(getkey(), 3)
    make = lambda k: {"w": jr.normal(k, (3,))}
    opt = optax.sgd(0.1)
    extra = {"target": jnp.ones((3, 3))}
    batched = train.fit(
        loss,
        eqx.filter_vmap(make)(keys),
        opt,
        steps=23,
        key=keys,
        extra=extra,
        update_extra=update,
        ensemble=True,
    )
    for i in range(3):
        single = train.fit(
            loss,
            make(keys[i]),
            opt,
            steps=23,
            key=keys[i],
            extra={"target": jnp.ones(3)},
            update_extra=update,
        )
        np.testing.assert_allclose(
            batched.params["w"][i], single.params["w"], rtol=1e-5, atol=1e-6
        )  # as test_ensemble_equals_separate_runs: vmap may reorder float32 sums
    step = train.make_step(loss, opt, update)
    params = eqx.filter_vmap(make)(keys)
    state = TrainState(
        params,
        jax.vmap(opt.init)(params),
        extra,
        jnp.zeros(3, jnp.int32),
        -jnp.ones(3, jnp.int32),
        keys,
    )
    jaxpr = str(jax.make_jaxpr(_ensemble_step(step))(state))
    assert " cond[" in jaxpr
    # the same step vmapped with each member's own count: the cond became a select
    assert " cond[" not in str(jax.make_jaxpr(eqx.filter_vmap(step))(state))


def test_one_compilation_for_all_chunks(getkey):
    traces = []

    def counting(params, extra, key):
        traces.append(1)
        return quadratic(params, extra, key)

    # a last chunk shorter than the others (50 steps), or another chunk size, runs the same
    # program: the number of steps is an argument of it, not its length
    adam = optax.adam(0.05)
    for steps, chunk_size in [(550, 100), (90, 40)]:
        train.fit(
            counting,
            {"w": jnp.zeros(3)},
            adam,
            steps=steps,
            key=getkey(),
            loop=train.Loop(chunk_size=chunk_size),
        )
    assert len(traces) == 1

    # on the flat vector too, and a second `fit` call on the same structure reuses the chunk
    traces.clear()
    optimizer = optax.adam(0.05)
    for start in (0.0, 1.0):
        run = train.fit(
            counting,
            {"w": jnp.full(3, start), "b": jnp.zeros(())},
            optimizer,
            steps=300,
            key=getkey(),
            flat=True,
            loop=train.Loop(chunk_size=100),
        )
    assert len(traces) == 1 and run.params["b"].shape == ()

    # a weakly typed parameter (a PIG's initial scales were `jnp.full(shape, python_float)`)
    # comes back strongly typed from the first chunk: still one compilation
    traces.clear()
    weak = {"w": jnp.full(3, 0.5)}
    assert weak["w"].weak_type
    train.fit(
        counting, weak, optax.adam(0.05), steps=300, key=getkey(), loop=train.Loop(chunk_size=100)
    )
    assert len(traces) == 1


def test_bad_input(getkey):
    with pytest.raises(ValueError, match="steps"):
        train.fit(quadratic, {"w": jnp.zeros(3)}, optax.adam(0.1), steps=-1, key=getkey())
    with pytest.raises(ValueError, match="chunk_size"):
        train.fit(
            quadratic,
            {"w": jnp.zeros(3)},
            optax.adam(0.1),
            steps=1,
            key=getkey(),
            loop=train.Loop(chunk_size=0),
        )
    with pytest.raises(ValueError, match="checkpoint"):
        train.fit(
            quadratic,
            {"w": jnp.zeros(3)},
            optax.adam(0.1),
            steps=1,
            key=getkey(),
            loop=train.Loop(resume=True),
        )


def test_ensemble_line_search_keeps_its_conds(getkey):
    """An ensemble under a line-search optimiser runs its members one after another inside the
    step: under `vmap` every `cond` of the line search became a `select` of both branches
    (and its while loop ran to the slowest member), 3.9x the time of separate runs on the
    zoo's bump; the members' iterates are each their own run's (the tests above)."""
    from jaxsci.train._chunks import _ensemble_step
    from jaxsci.train._step import init_state

    opt = optax.lbfgs(memory_size=5)
    step = train.make_step(rosenbrock, opt)
    keys = jr.split(getkey(), 2)
    state = eqx.filter_vmap(lambda p, k: init_state(p, opt, key=k))({"x": jnp.zeros((2, 4))}, keys)
    jaxpr = str(jax.make_jaxpr(_ensemble_step(step))(state))
    assert " cond[" in jaxpr
    # vmapped, the same step has none left
    count = jnp.asarray(0, jnp.int32)
    assert " cond[" not in str(jax.make_jaxpr(eqx.filter_vmap(lambda s: step(s, count)))(state))
    # a first-order optimiser keeps the vmap (one batched step)
    adam = train.make_step(rosenbrock, optax.adam(1e-2))
    state = eqx.filter_vmap(lambda p, k: init_state(p, optax.adam(1e-2), key=k))(
        {"x": jnp.zeros((2, 4))}, keys
    )
    assert " scan[" not in str(jax.make_jaxpr(_ensemble_step(adam))(state))


@pytest.mark.x64
@pytest.mark.parametrize("ensemble", [False, True])
def test_reuse_linesearch_follows_the_same_iterates(getkey, ensemble):
    """Taking the loss and gradient from the line search's state (one evaluation saved per
    step) must give exactly the L-BFGS path of evaluating them again, across chunks, with the
    same history; the first step of every `fit` call is primed."""
    x0 = jnp.array([-1.2, 1.0, 0.5, -0.3])
    params = {"x": jnp.stack([x0, jnp.array([0.5, 0.2, 0.4, 0.8])]) if ensemble else x0}
    key = jnp.stack([getkey(), getkey()]) if ensemble else getkey()
    run = partial(
        train.fit,
        rosenbrock,
        params,
        optax.lbfgs(memory_size=5),
        steps=60,
        key=key,
        ensemble=ensemble,
        loop=train.Loop(chunk_size=25),
    )
    a, b = run(), run(reuse_linesearch=True)
    assert tree_allclose(a.params, b.params, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-12)
    np.testing.assert_allclose(a.history["x0"], b.history["x0"], rtol=1e-12)
    assert float(np.max(a.history["loss"][..., -1])) < 1e-8  # it did converge


@pytest.mark.x64
def test_history_counts_the_line_search_evaluations(getkey):
    """`history["linesearch_steps"]` is optax's own count (`num_linesearch_steps`) of each
    step, as optax's documented L-BFGS loop reads it; an optimiser without a line search
    records none."""
    x0 = jnp.array([-1.2, 1.0, 0.5, -0.3])
    opt = optax.lbfgs(memory_size=5)
    res = train.fit(rosenbrock, {"x": x0}, opt, steps=40, key=getkey(), reuse_linesearch=True)
    value_fn = lambda p: rosenbrock(p, None, None)[0]  # noqa: E731

    @jax.jit  # compiled once: eagerly, every call compiled its line search's loop again
    def step(params, state):
        value, grad = optax.value_and_grad_from_state(value_fn)(params, state=state)
        updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=value_fn)
        return optax.apply_updates(params, updates), state

    params, state, counts = {"x": x0}, opt.init({"x": x0}), []
    for _ in range(40):
        params, state = step(params, state)
        counts.append(int(optax.tree.get(state, "num_linesearch_steps")))
    np.testing.assert_array_equal(res.history["linesearch_steps"], counts)
    assert max(counts) > 1  # some step searched (the count is not a constant)
    adam = train.fit(rosenbrock, {"x": x0}, optax.adam(1e-2), steps=3, key=getkey())
    assert "linesearch_steps" not in adam.history


@pytest.mark.x64
def test_resuming_a_checkpoint_without_a_metric_keeps_one_entry_per_step(tmp_path, getkey):
    """A checkpoint written before `linesearch_steps` was recorded (an older jaxsci) resumes
    with that column 0 over its steps, every column as long as the loss."""
    key, ckpt = getkey(), tmp_path / "run.eqx"
    opt, params = optax.lbfgs(memory_size=5), {"x": jnp.array([-1.2, 1.0, 0.5])}
    run = partial(train.fit, rosenbrock, params, opt, key=key, reuse_linesearch=True)
    full = run(steps=20, loop=train.Loop(chunk_size=10))
    run(steps=10, loop=train.Loop(chunk_size=10, checkpoint=ckpt))
    state, history = train.load_checkpoint(ckpt, train.init_state(params, opt, key=key))
    del history["linesearch_steps"]
    train.save_checkpoint(ckpt, state, history)
    resumed = run(steps=20, loop=train.Loop(chunk_size=10, checkpoint=ckpt, resume=True))
    searched = resumed.history["linesearch_steps"]
    assert searched.shape == resumed.history["loss"].shape == (20,)
    np.testing.assert_array_equal(searched[:10], 0)
    np.testing.assert_array_equal(searched[10:], full.history["linesearch_steps"][10:])


def test_reuse_linesearch_checks_its_preconditions(getkey):
    args = (rosenbrock, {"x": jnp.zeros(3)})
    with pytest.raises(ValueError, match="reuse_linesearch.*line search's `value`"):
        train.fit(*args, optax.adam(1e-2), steps=2, key=getkey(), reuse_linesearch=True)
    with pytest.raises(ValueError, match="reuse_linesearch.*update_extra"):
        train.fit(
            *args,
            optax.lbfgs(),
            steps=2,
            key=getkey(),
            update_extra=lambda p, e, k, s: e,
            reuse_linesearch=True,
        )


def _two_leaves(params, extra, key):
    """Rosenbrock over the concatenation of two leaves of different shapes, plus `extra`."""
    x = jnp.concatenate([params["a"].ravel(), params["b"]])
    loss = jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2) + extra["shift"]
    return loss, {"a00": params["a"][0, 0]}


@pytest.mark.x64
@pytest.mark.parametrize("ensemble", [False, True])
@pytest.mark.parametrize("opt", ["adam", "lbfgs"])
def test_flat_follows_the_same_iterates(getkey, ensemble, opt, tmp_path):
    """`flat=True` runs the optimiser on one vector: the same path as on the PyTree (Adam with
    an `update_extra`, L-BFGS reusing its line search), the loss, `update_extra` and callback
    seeing the PyTree, the result a PyTree; a flat checkpoint resumes to the same end."""
    a0 = jnp.array([[-1.2, 1.0], [0.5, -0.3]])
    b0 = jnp.array([0.2, 0.4, 0.1])
    params = {"a": a0, "b": b0}
    extra = {"shift": jnp.asarray(0.0)}
    key = getkey()
    if ensemble:
        params = jax.tree_util.tree_map(lambda x: jnp.stack([x, 0.9 * x]), params)
        extra = {"shift": jnp.zeros(2)}
        key = jnp.stack([key, getkey()])
    seen = []

    def update_extra(p, e, k, step):
        seen.append(jax.tree_util.tree_structure(p))  # at trace time: a PyTree, not a vector
        return {"shift": e["shift"] + 1e-3 * p["b"][0]}

    kwargs = dict(steps=40, key=key, extra=extra, loop=train.Loop(chunk_size=15), ensemble=ensemble)
    if opt == "adam":
        kwargs.update(update_extra=update_extra)
        optimizer = optax.adam(1e-2)
    else:
        kwargs.update(reuse_linesearch=True)
        optimizer = optax.lbfgs(memory_size=5)
    calls = []
    run = partial(train.fit, _two_leaves, params, optimizer, **kwargs)
    tree = run()
    flat = run(
        flat=True, loop=train.Loop(chunk_size=15, callback=lambda n, p: calls.append((n, p)))
    )
    assert jax.tree_util.tree_structure(flat.params) == jax.tree_util.tree_structure(params)
    # rounding only: Adam is element-wise (XLA may fuse the two layouts differently); L-BFGS's
    # inner products sum per leaf then over leaves on the PyTree, in one pass on the vector
    # (1e-16 apart after a step, 3e-12 after 40 in float64: L-BFGS carries the difference)
    tol = 1e-13 if opt == "adam" else 1e-9
    assert tree_allclose(tree.params, flat.params, rtol=tol, atol=tol)
    assert tree_allclose(tree.state.extra, flat.state.extra, rtol=tol, atol=tol)
    np.testing.assert_allclose(tree.history["loss"], flat.history["loss"], rtol=tol, atol=tol)
    np.testing.assert_allclose(tree.history["a00"], flat.history["a00"], rtol=tol, atol=tol)
    assert [n for n, _ in calls] == [15, 30, 40]
    assert calls[-1][1]["a"].shape == params["a"].shape
    if opt == "adam":
        assert all(s == jax.tree_util.tree_structure(params) for s in seen)
    if opt == "lbfgs":
        assert float(np.max(tree.history["loss"][..., -1])) < 0.1 * float(
            np.min(tree.history["loss"][..., 0])
        )

    # a flat run stopped after 15 steps and resumed from its checkpoint ends where one run does
    ckpt = str(tmp_path / "flat.eqx")
    run(flat=True, loop=train.Loop(chunk_size=15, checkpoint=ckpt), steps=15)
    resumed = run(flat=True, loop=train.Loop(chunk_size=15, checkpoint=ckpt, resume=True))
    assert tree_allclose(resumed.params, flat.params, rtol=0, atol=0)


def test_flat_needs_a_float_parameter(getkey):
    with pytest.raises(ValueError, match="flat"):
        train.fit(
            lambda p, e, k: (jnp.asarray(0.0), {}),
            {"n": jnp.arange(3)},
            optax.adam(1e-2),
            steps=1,
            key=getkey(),
            flat=True,
        )
