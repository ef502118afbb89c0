"""The right-hand sides of the dysts chaotic flows and maps, written in JAX.

Each function takes one state `x` (shape `(dim,)`) and the system's parameters `p` (a dict of
scalars named as in dysts' metadata) and returns the time derivative (flows) or the next state
(maps). They are the equations of the papers dysts cites (Gilpin 2021, NeurIPS Datasets and
Benchmarks), checked against dysts' own NumPy right-hand sides to rounding in
`tests/test_dynamics_dysts.py`; the metadata (parameters, initial conditions, periods) live in
`_dysts_table.json`.
"""

import jax.numpy as jnp

FLOW_FIELDS = {}
MAP_STEPS = {}


def _flow(fn):
    FLOW_FIELDS[fn.__name__] = fn
    return fn


def _map(fn):
    MAP_STEPS[fn.__name__] = fn
    return fn


s = jnp.stack  # every field returns one stacked vector


# --- flows: the classical attractors ------------------------------------------------------


@_flow
def Lorenz(x, p):
    x, y, z = x
    return s([p["sigma"] * (y - x), x * (p["rho"] - z) - y, x * y - p["beta"] * z])


@_flow
def Rossler(x, p):
    x, y, z = x
    return s([-y - z, x + p["a"] * y, p["b"] + z * (x - p["c"])])


@_flow
def Lorenz96(x, p):
    # dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + f, indices modulo dim
    return (jnp.roll(x, -1) - jnp.roll(x, 2)) * jnp.roll(x, 1) - x + p["f"]


@_flow
def Lorenz84(x, p):
    x, y, z = x
    a, b, f, g = p["a"], p["b"], p["f"], p["g"]
    return s([-a * x - y**2 - z**2 + a * f, -y + x * y - b * x * z + g, -z + b * x * y + x * z])


@_flow
def Thomas(x, p):
    x, y, z = x
    a, b = p["a"], p["b"]
    return s([-a * x + b * jnp.sin(y), -a * y + b * jnp.sin(z), -a * z + b * jnp.sin(x)])


@_flow
def Halvorsen(x, p):
    x, y, z = x
    a, b = p["a"], p["b"]
    return s(
        [
            -a * x - b * (y + z) - y**2,
            -a * y - b * (z + x) - z**2,
            -a * z - b * (x + y) - x**2,
        ]
    )


@_flow
def Aizawa(x, p):
    x, y, z = x
    a, b, c, d, e, f = (p[k] for k in "abcdef")
    r2 = x**2 + y**2
    zdot = c + a * z - z**3 / 3 - r2 - e * z * r2 + f * z * x**3
    return s([x * z - b * x - d * y, d * x + y * z - b * y, zdot])


@_flow
def Arneodo(x, p):
    x, y, z = x
    return s([y, z, -p["a"] * x - p["b"] * y - p["c"] * z + p["d"] * x**3])


@_flow
def Chen(x, p):
    x, y, z = x
    a, b, c = p["a"], p["b"], p["c"]
    return s([a * (y - x), (c - a) * x - x * z + c * y, x * y - b * z])


@_flow
def ChenLee(x, p):
    x, y, z = x
    return s([p["a"] * x - y * z, p["b"] * y + x * z, p["c"] * z + x * y / 3])


@_flow
def Chua(x, p):
    x, y, z = x
    m0, m1 = p["m0"], p["m1"]
    ramp = m1 * x + 0.5 * (m0 - m1) * (jnp.abs(x + 1) - jnp.abs(x - 1))
    return s([p["alpha"] * (y - x - ramp), x - y + z, -p["beta"] * y])


@_flow
def Dadras(x, p):
    x, y, z = x
    return s(
        [
            y - p["p"] * x + p["o"] * y * z,
            p["r"] * y - x * z + z,
            p["c"] * x * y - p["e"] * z,
        ]
    )


@_flow
def DequanLi(x, p):
    x, y, z = x
    a, c, d, eps, f, k = (p[n] for n in ("a", "c", "d", "eps", "f", "k"))
    return s([a * (y - x) + d * x * z, k * x + f * y - x * z, c * z + x * y - eps * x**2])


@_flow
def Finance(x, p):
    x, y, z = x
    a, b, c = p["a"], p["b"], p["c"]
    return s([(1 / b - a) * x + z + x * y, -b * y - x**2, -x - c * z])


@_flow
def GenesioTesi(x, p):
    x, y, z = x
    return s([y, z, -p["c"] * x - p["b"] * y - p["a"] * z + x**2])


@_flow
def GuckenheimerHolmes(x, p):
    x, y, z = x
    a, b, c, d, e, f = (p[k] for k in "abcdef")
    r2 = x**2 + y**2
    return s(
        [
            a * x - b * y + c * z * x + d * z * r2,
            a * y + b * x + c * z * y,
            e - z**2 - f * r2 - a * z**3,
        ]
    )


@_flow
def Hadley(x, p):
    x, y, z = x
    a, b, f, g = p["a"], p["b"], p["f"], p["g"]
    return s([-(y**2) - z**2 - a * x + a * f, x * y - b * x * z - y + g, b * x * y + x * z - z])


@_flow
def HenonHeiles(x, p):
    x, y, px, py = x
    lam = p["lam"]
    return s([px, py, -x - 2 * lam * x * y, -y - lam * x**2 + lam * y**2])


@_flow
def HyperLorenz(x, p):
    x, y, z, w = x
    a, b, c, d = p["a"], p["b"], p["c"], p["d"]
    return s([a * (y - x) + w, -x * z + c * x - y, -b * z + x * y, d * w - x * z])


@_flow
def HyperRossler(x, p):
    x, y, z, w = x
    a, b, c, d = p["a"], p["b"], p["c"], p["d"]
    return s([-y - z, x + a * y + w, b + x * z, -c * z + d * w])


@_flow
def KawczynskiStrizhak(x, p):
    x, y, z = x
    beta, gamma, kappa, mu = p["beta"], p["gamma"], p["kappa"], p["mu"]
    return s(
        [
            gamma * (y - x**3 + 3 * mu * x),
            -2 * mu * x - y - z + beta,
            kappa * (x - z),
        ]
    )


@_flow
def LuChen(x, p):
    x, y, z = x
    return s([p["a"] * (y - x), -x * z + p["c"] * y, x * y - p["b"] * z])


@_flow
def MooreSpiegel(x, p):
    x, y, z = x
    return s([y, p["a"] * z, -z + p["eps"] * y - y * x**2 - p["b"] * x])


@_flow
def NoseHoover(x, p):
    x, y, z = x
    return s([y, -x + y * z, p["a"] - y**2])


@_flow
def PehlivanWei(x, p):
    x, y, z = x
    return s([y - y * z, y + y * z - 2 * x, 2 - x * y - y**2])


@_flow
def RabinovichFabrikant(x, p):
    x, y, z = x
    a, g = p["a"], p["g"]
    return s(
        [
            y * (z - 1 + x**2) + g * x,
            x * (3 * z + 1 - x**2) + g * y,
            -2 * z * (a + x * y),
        ]
    )


@_flow
def RikitakeDynamo(x, p):
    x, y, z = x
    a, mu = p["a"], p["mu"]
    return s([-mu * x + y * z, -mu * y - a * x + x * z, 1 - x * y])


@_flow
def Rucklidge(x, p):
    x, y, z = x
    return s([-p["a"] * x + p["b"] * y - y * z, x, -z + y**2])


@_flow
def Sakarya(x, p):
    x, y, z = x
    return s(
        [
            p["a"] * x + p["h"] * y + p["s"] * y * z,
            -p["b"] * y - p["p"] * x + p["q"] * x * z,
            p["c"] * z - p["r"] * x * y,
        ]
    )


@_flow
def ShimizuMorioka(x, p):
    x, y, z = x
    return s([y, x - p["a"] * y - x * z, -p["b"] * z + x**2])


# --- flows: Sprott's minimal chaotic systems (Sprott 1994, Phys. Rev. E 50, R647) -----------


@_flow
def SprottA(x, p):
    x, y, z = x
    return s([y, -x + y * z, 1 - y**2])


@_flow
def SprottB(x, p):
    x, y, z = x
    return s([y * z, x - y, 1 - x * y])


@_flow
def SprottC(x, p):
    x, y, z = x
    return s([y * z, x - y, 1 - x**2])


@_flow
def SprottD(x, p):
    x, y, z = x
    return s([-y, x + z, x * z + 3 * y**2])


@_flow
def SprottE(x, p):
    x, y, z = x
    return s([y * z, x**2 - y, 1 - 4 * x])


@_flow
def SprottF(x, p):
    x, y, z = x
    return s([y + z, -x + p["a"] * y, x**2 - z])


@_flow
def SprottG(x, p):
    x, y, z = x
    return s([p["a"] * x + z, x * z - y, -x + y])


@_flow
def SprottH(x, p):
    x, y, z = x
    return s([-y + z**2, x + p["a"] * y, x - z])


@_flow
def SprottI(x, p):
    x, y, z = x
    return s([-p["a"] * y, x + z, x + y**2 - z])


@_flow
def SprottJ(x, p):
    x, y, z = x
    return s([2 * z, -2 * y + z, -x + y + y**2])


@_flow
def SprottK(x, p):
    x, y, z = x
    return s([x * y - z, x - y, x + p["a"] * z])


@_flow
def SprottL(x, p):
    x, y, z = x
    return s([y + p["b"] * z, p["a"] * x**2 - y, 1 - x])


@_flow
def SprottM(x, p):
    x, y, z = x
    a = p["a"]
    return s([-z, -(x**2) - y, a * (1 + x) + y])


@_flow
def SprottN(x, p):
    x, y, z = x
    return s([-2 * y, x + z**2, 1 + y - 2 * z])


@_flow
def SprottO(x, p):
    x, y, z = x
    return s([y, x - z, x + x * z + p["a"] * y])


@_flow
def SprottP(x, p):
    x, y, z = x
    return s([p["a"] * y + z, -x + y**2, x + y])


@_flow
def SprottQ(x, p):
    x, y, z = x
    return s([-z, x - y, p["a"] * x + y**2 + p["b"] * z])


@_flow
def SprottR(x, p):
    x, y, z = x
    return s([p["a"] - y, p["b"] + z, x * y - z])


@_flow
def SprottS(x, p):
    x, y, z = x
    return s([-x - 4 * y, x + z**2, 1 + x])


# --- maps ------------------------------------------------------------------------------------


@_map
def Logistic(x, p):
    return p["r"] * x * (1 - x)


@_map
def Ricker(x, p):
    return x * jnp.exp(p["a"] - x)


@_map
def Tent(x, p):
    return p["mu"] * (1 - 2 * jnp.abs(x - 0.5))


@_map
def Gauss(x, p):
    return jnp.exp(-p["a"] * x**2) + p["b"]


@_map
def Henon(x, p):
    x, y = x
    return s([1 - p["a"] * x**2 + y, p["b"] * x])


@_map
def Ikeda(x, p):
    x, y = x
    t = 0.4 - 6 / (1 + x**2 + y**2)
    c, si = jnp.cos(t), jnp.sin(t)
    return s([1 + p["u"] * (x * c - y * si), p["u"] * (x * si + y * c)])


@_map
def Tinkerbell(x, p):
    x, y = x
    a, b, c, d = p["a"], p["b"], p["c"], p["d"]
    return s([x**2 - y**2 + a * x + b * y, 2 * x * y + c * x + d * y])


@_map
def DeJong(x, p):
    x, y = x
    a, b, c, d = p["a"], p["b"], p["c"], p["d"]
    return s([jnp.sin(a * y) - jnp.cos(b * x), jnp.sin(c * x) - jnp.cos(d * y)])


@_map
def Svensson(x, p):
    x, y = x
    a, b, c, d = p["a"], p["b"], p["c"], p["d"]
    return s([d * jnp.sin(a * x) - jnp.sin(b * y), c * jnp.cos(a * x) + jnp.cos(b * y)])


@_map
def Bedhead(x, p):
    x, y = x
    a, b = p["a"], p["b"]
    return s([jnp.sin(x * y / b) * y + jnp.cos(a * x - y), x + jnp.sin(y) / b])


@_map
def GumowskiMira(x, p):
    x, y = x
    a, b = p["a"], p["b"]

    def g(u):
        return a * u + 2 * (1 - a) * u**2 / (1 + u**2)

    xp = b * y + g(x)
    return s([xp, g(xp) - x])


@_map
def Gingerbreadman(x, p):
    x, y = x
    return s([1 - y + jnp.abs(x), x])


@_map
def Chirikov(x, p):
    # state (p, theta) in dysts' order, not reduced modulo 2 pi (as dysts)
    mom, theta = x
    mom_next = mom + p["k"] * jnp.sin(theta)
    return s([mom_next, theta + mom_next])
