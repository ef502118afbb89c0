"""The Kronecker path's faces: Dirichlet, Neumann and Robin faces per dimension, and the free
final time of an initial-value problem.

A face condition on a box is a condition on one dimension's end, asked for every value of the
other coordinates: along that dimension it is one row of the 1D collocation system (a value
row `K`, a Robin row `a K + b s D K`, `s` the outward sign; Neumann is `a = 0, b = 1`), and
the operator stays separable (`_sylvester.axis_operator`, `tensor_solve`). On the grid:

- the equation is asked at the points that are, in every dimension, not on a condition end;
- a point on a Dirichlet face takes its value (a corner where a Dirichlet face meets another
  included: the value is data there, as on the dense path);
- a point on one Neumann or Robin face takes the value that makes that face's row hold along
  its dimension (`AxisOperator.extrapolation`, `lift`);
- a point on several Neumann or Robin faces (a corner in 2D, an edge in 3D) takes the row of
  one face, the face the dense path and `Neumann.residual` pick there: the lower faces before
  the upper ones, by axis. Its row holds along that face's dimension; where the other end of
  that line is decided by another face, that end's value is an unknown too, so the corners
  (and edges) are one small linear system, one unknown per such point and per end decided by
  another face, one equation per line end that is not a Dirichlet point.
- the final time of an initial-value problem (an `InitialValue` on `t = t0`, no condition on
  the last time, an operator of first order in time) is a free end: no row, the equation is
  asked there, as in a time step.
"""

from __future__ import annotations

import numpy as np

from ...pde._conditions import InitialValue, Neumann, Robin
from .._collocation import _condition_data, face_conditions
from .._grid import boundary_values, mesh
from .._sylvester import _along

VALUE = (1.0, 0.0)  # the end row of a Dirichlet face: the value


def axis_ends(problem, terms, where="Kronecker"):
    """Per dimension `(lower, upper)`, each `None` (a free end) or `(a, b)` (the row
    `a K + b s D K`; `VALUE` for Dirichlet), and `faces` (`face_conditions`)."""
    faces = face_conditions(problem, where)
    ends = []
    for i in range(problem.dim):
        pair = []
        for side in (0, 1):
            cond = faces[(i, side)]
            if isinstance(cond, Neumann):
                pair.append((0.0, 1.0))
            elif isinstance(cond, Robin):
                pair.append((float(cond.a), float(cond.b)))
            elif _free_end(problem, faces, terms, i, side):
                pair.append(None)
            else:
                pair.append(VALUE)
        ends.append(tuple(pair))
    return ends, faces


def _free_end(problem, faces, terms, axis, side) -> bool:
    """The final time of an initial-value problem of first order in time."""
    domain = problem.domain
    return (
        side == 1
        and getattr(domain, "time_dependent", False)
        and axis == problem.dim - 1
        and faces[(axis, 1)] is None
        and isinstance(faces[(axis, 0)], InitialValue)
        and max((o for o, _ in terms[axis]), default=0) == 1
    )


def face_masks(axes, ends):
    """`{(axis, side): mask on the grid}` of the condition faces (free ends excluded)."""
    shape = tuple(len(a) for a in axes)
    out = {}
    for i, pair in enumerate(ends):
        for side, end in enumerate(pair):
            if end is None:
                continue
            m = np.zeros(shape, bool)
            index = [slice(None)] * len(shape)
            index[i] = -1 if side else 0
            m[tuple(index)] = True
            out[(i, side)] = m
    return out


def face_grid_data(problem, axes, ends, faces):
    """`(values, data, single, multi, masks)`: the Dirichlet values (and a mask of where they
    are), each face's data on its points (`data[face]`, full-grid arrays), and the masks of the
    points on one and on several Neumann or Robin faces (none Dirichlet)."""
    pts = mesh(axes)
    shape = tuple(len(a) for a in axes)
    masks = face_masks(axes, ends)
    value_faces = [f for f in masks if ends[f[0]][f[1]] == VALUE]
    derivative_faces = [f for f in masks if f not in value_faces]
    is_value = np.zeros(shape, bool)
    for f in value_faces:
        is_value |= masks[f]
    values = np.zeros(shape)
    if is_value.any():
        at = np.flatnonzero(is_value.reshape(-1))
        if problem.exact is not None:
            values.reshape(-1)[at] = np.asarray(boundary_values(problem, pts[at]))
        else:
            for f in value_faces:  # each Dirichlet face's own data
                at = np.flatnonzero(masks[f].reshape(-1))
                values.reshape(-1)[at] = np.asarray(_condition_data(faces[f], problem, pts[at]))
    data = {}
    count = np.zeros(shape, int)
    for f in derivative_faces:
        count += masks[f]
        at = np.flatnonzero((masks[f] & ~is_value).reshape(-1))
        d = np.zeros(shape)
        if at.size:
            d.reshape(-1)[at] = np.asarray(_condition_data(faces[f], problem, pts[at]))
        data[f] = d
    single = (count == 1) & ~is_value
    multi = (count > 1) & ~is_value
    return values, is_value, data, single, multi, masks


def fill_faces(u, ops, ends, values, is_value, data, single, multi, masks):
    """The grid values on the faces, given the equation points of `u` (filled in place):
    Dirichlet values, then single Neumann/Robin points by their row along their dimension,
    then the points on several such faces by one small linear system."""
    d = u.ndim
    u[is_value] = values[is_value]
    # the condition data of each dimension's ends on the grid: values or Neumann/Robin data
    cdata = []
    for i in range(d):
        c = np.where(is_value, values, 0.0)
        for side in (0, 1):
            if (i, side) in data:
                c = np.where(masks[(i, side)] & ~is_value, data[(i, side)], c)
        cdata.append(c)
    for i, op in enumerate(ops):
        derivative = [j for j, pos in enumerate(op.conditions) if ends[i][pos == -1] != VALUE]
        if not derivative:
            continue
        sel = tuple(slice(None) if e == i else ops[e].pde for e in range(d))
        line = u[sel]
        inner = np.take(line, range(*op.pde.indices(u.shape[i])), axis=i)
        cond = np.take(cdata[i][sel], op.conditions, axis=i)
        ext = _along(op.extrapolation, inner, i) + _along(op.lift, cond, i)
        for j in derivative:
            target = [slice(None) if e == i else ops[e].pde for e in range(d)]
            target[i] = op.conditions[j]
            u[tuple(target)] = np.take(ext, j, axis=i)
    if multi.any():
        _fill_multi(u, ops, cdata, data, is_value, multi, masks)
    return u


def _winner(point, masks, data):
    """The face whose row a point on several Neumann/Robin faces takes: lower sides first, by
    axis (the dense path's rule, `Neumann.residual`'s face)."""
    for f in sorted(data, key=lambda f: (f[1], f[0])):
        if masks[f][point]:
            return f
    raise AssertionError(point)


def _fill_multi(u, ops, cdata, data, is_value, multi, masks):
    points = [tuple(p) for p in np.argwhere(multi)]
    var = {p: k for k, p in enumerate(points)}
    winner = {p: _winner(p, masks, data) for p in points}
    lines = sorted(
        {(winner[p][0], p[: winner[p][0]] + (None,) + p[winner[p][0] + 1 :]) for p in points}
    )
    # unknown condition data: an end of a line decided by a face of another dimension
    extra = {}
    for i, key in lines:
        for pos in ops[i].conditions:
            q = key[:i] + (pos % u.shape[i],) + key[i + 1 :]
            if multi[q] and winner[q][0] != i:
                extra[(i, key, pos)] = len(var) + len(extra)
    n_unknowns = len(var) + len(extra)
    rows, rhs = [], []
    for i, key in lines:
        op = ops[i]
        inner = range(*op.pde.indices(u.shape[i]))
        for j, pos in enumerate(op.conditions):
            row = np.zeros(n_unknowns)
            b = 0.0
            at = key[:i] + (pos % u.shape[i],) + key[i + 1 :]
            if is_value[at]:
                continue  # a value row: the end is its data
            # v_end - extrapolation v_pde - lift c = 0
            row[var[at]] += 1.0
            for k, q_i in enumerate(inner):
                q = key[:i] + (q_i,) + key[i + 1 :]
                if q in var:
                    row[var[q]] -= op.extrapolation[j, k]
                else:
                    b += op.extrapolation[j, k] * u[q]
            for jj, pos2 in enumerate(op.conditions):
                q = key[:i] + (pos2 % u.shape[i],) + key[i + 1 :]
                if (i, key, pos2) in extra:
                    row[extra[(i, key, pos2)]] -= op.lift[j, jj]
                elif q in var:
                    # decided by this dimension's face: its own data
                    b += op.lift[j, jj] * data[winner[q]][q]
                else:
                    b += op.lift[j, jj] * cdata[i][q]
            rows.append(row)
            rhs.append(b)
    sol = np.linalg.solve(np.asarray(rows), np.asarray(rhs))
    for p, k in var.items():
        u[p] = sol[k]


def shifted_terms(problem, terms, ends, axes):
    """Per-dimension terms whose 1D operators are each invertible, with the same sum.

    The path multiplies the equations by every dimension's inverse 1D operator (`M_d`,
    `tensor_solve`), so each must exist. A dimension with Neumann rows at both ends and no
    zero-order term (`u_yy`, Neumann at y = 0 and 1) has the constants in its null space,
    while the sum over dimensions does not (a Dirichlet face in x, a reaction term). The
    problem's zero-order term is then split between such dimensions where it makes them
    definite (`Lap u - u`, Neumann everywhere: `u_xx - u / 2` and `u_yy - u / 2`); otherwise a
    shift `tau` moves from the other dimensions to them (`-u_xx - tau` and `-u_yy + tau`), `tau`
    half the smallest eigenvalue those others can have (`|c| (pi / 2 L)^2` for `c u_xx` on a
    length `L` with one value end). Raises where no split makes every dimension definite (a
    pure Neumann problem without a reaction term, whose solution is defined up to a
    constant)."""
    singular = [i for i, (lo, hi) in enumerate(ends) if lo == (0.0, 1.0) and hi == (0.0, 1.0)]
    if not singular:
        return terms
    zero = sum(c for t in terms for o, c in t if o == 0)
    new = [[(o, c) for o, c in t if o != 0] for t in terms]

    def definite(i):
        # the sign of a zero-order coefficient that makes dimension i's operator definite
        second = [c for o, c in new[i] if o == 2]
        if not second:
            raise ValueError(
                f"Kronecker: dimension {i} of problem {problem.name!r} has Neumann faces at "
                "both ends and no second-order term"
            )
        return -np.sign(second[0])

    signs = {i: definite(i) for i in singular}
    others = [i for i in range(len(terms)) if i not in singular]
    if zero != 0.0 and all(np.sign(zero) == s for s in signs.values()):
        for i in singular:
            new[i].append((0, zero / len(singular)))
        return new
    if not others:
        raise ValueError(
            f"Kronecker: problem {problem.name!r} has Neumann faces on every face and no "
            "zero-order term that makes it definite: its solution is defined up to a constant"
        )
    margins = []
    for e in others:
        c2 = [abs(c) for o, c in new[e] if o == 2]
        length = float(axes[e][-1] - axes[e][0])
        margins.append(c2[0] * (np.pi / (2 * length)) ** 2 if c2 else 0.0)
    tau = 0.5 * min(margins) * len(others) / len(singular)
    if tau <= 0.0:
        raise ValueError(
            f"Kronecker: problem {problem.name!r}: no dimension without Neumann faces at both "
            "ends has a second-order term to shift"
        )
    sign = signs[singular[0]]
    if zero != 0.0:
        new[others[0]].append((0, zero))
    for i in singular:
        new[i].append((0, signs[i] * tau))
    for e in others:
        new[e].append((0, -sign * tau * len(singular) / len(others)))
    return new
