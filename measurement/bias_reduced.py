"""Bias-reduced linearization (CR2, HC2) with Satterthwaite and HTZ small-sample tests.

The CR2 variance of Bell and McCaffrey (2002) with the degrees of freedom of Pustejovsky and
Tipton (2018), computed as R clubSandwich does for an ``lm`` fit with the fixed effects
entered as dummies (``vcovCR(type = "CR2")``, ``coef_test(test = "Satterthwaite")``,
``Wald_test(test = "HTZ")``); and HC2 as R estimatr's ``lm_robust`` default. Fixed effects
are absorbed for the point estimates, but the adjustment matrices use the full design (the
hat matrix includes the fixed-effect dummies), so the numbers equal those of the dummy
regression.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from measurement.errors import DesignError

__all__ = ["BiasReduced", "bias_reduced_variance", "hc2_variance"]

_EIGEN_TOLERANCE = 1e-12
"""Eigenvalues at or below this count as zero in the inverse square root (clubSandwich's)."""
_MAX_FIXED_EFFECT_LEVELS = 3000
_MAX_CLUSTER_ROWS = 5000


@dataclass(frozen=True, slots=True)
class _FixedEffectSpace:
    """The fixed-effect dummies D as level codes, with the level-space matrices CR2 needs."""

    columns: np.ndarray
    """(N, J) stacked level index of each row in each fixed effect."""
    n_levels: int
    inverse: np.ndarray
    """(D'WD)^+ : a vector (one fixed effect, diagonal) or an L x L matrix."""
    omega_dd: np.ndarray
    """(D'WD)^+ D'W^2D (D'WD)^+ : vector or matrix, as ``inverse``."""
    omega_dx: np.ndarray
    """(D'WD)^+ D'W^2 X M, L x k."""

    @property
    def diagonal(self) -> bool:
        return self.inverse.ndim == 1

    def sums(self, values: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """D'[rows] values for (n, m) values: an (L, m) array."""
        return self.sums_over(self.columns if rows is None else self.columns[rows], values)

    def sums_over(self, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
        """D'values for (n, m) values whose rows of ``columns`` are given: an (L, m) array."""
        if columns.shape[1] == 1:
            # bincount adds in row order as np.add.at does (the same sums), many times faster.
            sums = np.empty((self.n_levels, values.shape[1]))
            for m in range(values.shape[1]):
                sums[:, m] = np.bincount(
                    columns[:, 0], weights=values[:, m], minlength=self.n_levels
                )
            return sums
        out = np.zeros((self.n_levels, values.shape[1]))
        for j in range(columns.shape[1]):
            np.add.at(out, columns[:, j], values)
        return out

    def block(self, matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """D_g matrix D_g' for the rows of one cluster."""
        columns = self.columns[rows]
        if self.diagonal:
            # One fixed effect: D_g M D_g' is M[level] where two rows share a level.
            level = columns[:, 0]
            return np.where(level[:, None] == level[None, :], matrix[level][:, None], 0.0)
        total = np.zeros((rows.size, rows.size))
        for j in range(columns.shape[1]):
            for k in range(columns.shape[1]):
                total += matrix[np.ix_(columns[:, j], columns[:, k])]
        return total

    def rows_of(self, matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """D_g matrix for an (L, m) matrix: the (n_g, m) rows summed over fixed effects."""
        columns = self.columns[rows]
        return sum(matrix[columns[:, j]] for j in range(columns.shape[1]))

    def apply(self, matrix: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``matrix @ values`` for a diagonal (vector) or dense level-space matrix."""
        return matrix[:, None] * values if matrix.ndim == 1 else matrix @ values


def _fixed_effect_space(
    codes: list[np.ndarray],
    n_levels: list[int],
    weights: np.ndarray,
    x_bread_w2: np.ndarray,
) -> _FixedEffectSpace | None:
    if not codes:
        return None
    offsets = np.concatenate([[0], np.cumsum(n_levels)[:-1]])
    columns = np.column_stack([c + o for c, o in zip(codes, offsets, strict=True)])
    total = int(sum(n_levels))
    w2 = weights**2
    if len(codes) == 1:
        sums_w = np.bincount(columns[:, 0], weights=weights, minlength=total)
        sums_w2 = np.bincount(columns[:, 0], weights=w2, minlength=total)
        inverse = np.divide(1.0, sums_w, out=np.zeros(total), where=sums_w > 0)
        omega_dd = sums_w2 * inverse**2
    else:
        if total > _MAX_FIXED_EFFECT_LEVELS:
            raise DesignError(
                f"fit_linear_model: CR2/HC2 with several fixed effects needs the dummy "
                f"cross-product, and the fixed effects have {total} levels (at most "
                f"{_MAX_FIXED_EFFECT_LEVELS}). Use CR1 or the wild cluster bootstrap."
            )
        gram = np.zeros((total, total))
        gram_w2 = np.zeros((total, total))
        for j in range(columns.shape[1]):
            for k in range(columns.shape[1]):
                np.add.at(gram, (columns[:, j], columns[:, k]), weights)
                np.add.at(gram_w2, (columns[:, j], columns[:, k]), w2)
        inverse = np.linalg.pinv(gram, hermitian=True)
        omega_dd = inverse @ gram_w2 @ inverse
    space = _FixedEffectSpace(
        columns=columns,
        n_levels=total,
        inverse=inverse,
        omega_dd=omega_dd,
        omega_dx=np.zeros((total, x_bread_w2.shape[1])),
    )
    # (D'WD)^+ D'W^2 X~ M: the cross block of Omega = M_U (U'W^2U) M_U.
    cross = space.apply(inverse, space.sums(x_bread_w2))
    return _FixedEffectSpace(
        columns=columns, n_levels=total, inverse=inverse, omega_dd=omega_dd, omega_dx=cross
    )


def _inverse_square_root(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    powered = np.zeros_like(values)
    positive = values > _EIGEN_TOLERANCE
    powered[positive] = values[positive] ** -0.5
    return (vectors * powered) @ vectors.T


def _cluster_blocks(
    xg: np.ndarray,
    columns: np.ndarray | None,
    bread: np.ndarray,
    omega_xx: np.ndarray,
    space: _FixedEffectSpace | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """U_g, the blocks of (U'WU)^-1 and of Omega = M_U U'W^2U M_U for one cluster's rows.

    U_g holds the cluster's within-transformed regressors and the dummies of the fixed-effect
    levels present in the cluster (``columns``: the cluster's rows of ``space.columns``), so
    that Q_gg = U_g middle U_g' and (Q W^2 Q)_gg = U_g omega U_g'.
    """
    if space is None or columns is None:
        return xg, bread, omega_xx
    n_rows = columns.shape[0]
    levels = np.unique(columns)
    position = np.searchsorted(levels, columns)
    dummies = np.zeros((n_rows, levels.size))
    for j in range(columns.shape[1]):
        dummies[np.arange(n_rows), position[:, j]] += 1.0
    k = xg.shape[1]
    size = k + levels.size
    middle = np.zeros((size, size))
    omega = np.zeros((size, size))
    middle[:k, :k] = bread
    omega[:k, :k] = omega_xx
    if space.diagonal:
        middle[k:, k:] = np.diag(space.inverse[levels])
        omega[k:, k:] = np.diag(space.omega_dd[levels])
    else:
        middle[k:, k:] = space.inverse[np.ix_(levels, levels)]
        omega[k:, k:] = space.omega_dd[np.ix_(levels, levels)]
    cross = space.omega_dx[levels]
    omega[k:, :k] = cross
    omega[:k, k:] = cross.T
    return np.column_stack([xg, dummies]), middle, omega


def _adjusted_estimating_matrix(
    basis: np.ndarray, middle: np.ndarray, omega: np.ndarray, xw: np.ndarray, wg: np.ndarray
) -> np.ndarray:
    """E_g = X_g' W_g A_g with A_g = (I - S)^{-1/2}, S = Q W + W Q - Q W^2 Q on the cluster.

    S has its range in span([U_g, W_g U_g]) (rank at most twice the columns of U_g), so the
    inverse square root is the identity off that span and is computed on it from a small
    eigendecomposition; eigenvalues at or below 1e-12 are set to zero (clubSandwich).
    """
    n = basis.shape[0]
    span = np.column_stack([basis, basis * wg[:, None]])
    if span.shape[1] >= n:
        if n > _MAX_CLUSTER_ROWS:
            raise DesignError(
                f"fit_linear_model: CR2 needs a matrix square root of a cluster with {n} rows "
                f"and as many fixed-effect levels and regressors (at most {_MAX_CLUSTER_ROWS} "
                "rows). Use CR1 with the wild cluster bootstrap."
            )
        q_gg = basis @ middle @ basis.T
        hat = q_gg * wg[None, :]
        full = np.eye(n) - hat - hat.T + basis @ omega @ basis.T
        return xw.T @ _inverse_square_root(full)
    left, singular, _ = np.linalg.svd(span, full_matrices=False)
    keep = singular > singular.max(initial=0.0) * 1e-12
    q = left[:, keep]
    p = q.T @ basis
    pw = q.T @ (basis * wg[:, None])
    reduced = p @ middle @ pw.T
    s = reduced + reduced.T - p @ omega @ p.T
    root = _inverse_square_root(np.eye(q.shape[1]) - s)
    projected = xw.T @ q
    return xw.T + projected @ (root - np.eye(q.shape[1])) @ q.T


@dataclass(frozen=True, slots=True, kw_only=True)
class BiasReduced:
    """A CR2 variance with what its Satterthwaite and HTZ tests need.

    ``vcov`` is the CR2 variance of the (non-fixed-effect) coefficients. ``contrast_df``
    and ``htz`` give the small-sample degrees of freedom for linear combinations.
    """

    vcov: np.ndarray
    x: np.ndarray
    weights: np.ndarray
    bread: np.ndarray
    omega_xx: np.ndarray
    adjusted: list[np.ndarray]
    """E_g = X_g' W_g A_g, one (k, n_g) array per cluster."""
    space: _FixedEffectSpace | None
    cluster_codes: np.ndarray
    order: np.ndarray
    """The rows sorted by cluster (stable): cluster g holds ``order[bounds[g]:bounds[g + 1]]``."""
    bounds: np.ndarray
    sorted_x: np.ndarray
    sorted_weights: np.ndarray
    sorted_columns: np.ndarray | None
    """``space.columns`` in ``order`` (None without fixed effects)."""
    degrees_of_freedom: dict[bytes, float]
    """Satterthwaite degrees of freedom already computed, by contrast: they do not depend on
    the outcome, so a CR2 reused for another outcome (see ``reuse``) reuses them too."""

    @property
    def clusters(self) -> list[np.ndarray]:
        """Each cluster's rows in ascending order (slices of ``order``)."""
        return np.split(self.order, self.bounds[1:-1])

    def same_design(
        self,
        x: np.ndarray,
        weights: np.ndarray,
        cluster_codes: np.ndarray,
        fixed_effect_codes: list[np.ndarray],
        n_fixed_effect_levels: list[int],
    ) -> bool:
        """Whether a design has this CR2's regressors, weights, clusters and fixed effects
        exactly (so that its adjustment matrices and degrees of freedom are this CR2's)."""
        if x.shape != self.x.shape or cluster_codes.shape != self.cluster_codes.shape:
            return False
        if not (
            np.array_equal(x, self.x)
            and np.array_equal(weights, self.weights)
            and np.array_equal(cluster_codes, self.cluster_codes)
        ):
            return False
        if self.space is None:
            return not fixed_effect_codes
        if not fixed_effect_codes:
            return False
        offsets = np.concatenate([[0], np.cumsum(n_fixed_effect_levels)[:-1]])
        columns = np.column_stack([c + o for c, o in zip(fixed_effect_codes, offsets, strict=True)])
        return int(sum(n_fixed_effect_levels)) == self.space.n_levels and np.array_equal(
            columns, self.space.columns
        )

    def _p_array(self, contrasts: np.ndarray) -> np.ndarray:
        """clubSandwich's P array for the rows of ``contrasts``: shape (q, q, G, G)."""
        q = contrasts.shape[0]
        g = len(self.bounds) - 1
        k = self.x.shape[1]
        rows_cm = contrasts @ self.bread
        a = [rows_cm @ e for e in self.adjusted]  # each (q, n_g)
        tx = np.zeros((q, g, k))
        vx = np.zeros((q, g, k))
        gdot = np.zeros((q, q, g))
        levels = self.space.n_levels if self.space is not None else 0
        td = np.zeros((q, g, levels))
        vd = np.zeros((q, g, levels))
        bounds = self.bounds
        for index, values in enumerate(a):
            start, stop = bounds[index], bounds[index + 1]
            xg = self.sorted_x[start:stop]
            wg = self.sorted_weights[start:stop]
            tx[:, index] = values @ xg
            vx[:, index] = (values * wg) @ xg
            gdot[:, :, index] = values @ values.T
            if self.space is not None and self.sorted_columns is not None:
                columns = self.sorted_columns[start:stop]
                td[:, index] = self.space.sums_over(columns, values.T).T
                vd[:, index] = self.space.sums_over(columns, (values * wg).T).T
        p = np.zeros((q, q, g, g))
        for s in range(q):
            for t in range(q):
                omega = tx[s] @ self.omega_xx @ tx[t].T
                cross = tx[s] @ self.bread @ vx[t].T + vx[s] @ self.bread @ tx[t].T
                if self.space is not None:
                    dx = self.space.omega_dx
                    omega += tx[s] @ dx.T @ td[t].T + td[s] @ dx @ tx[t].T
                    omega += td[s] @ self.space.apply(self.space.omega_dd, td[t].T)
                    cross += td[s] @ self.space.apply(self.space.inverse, vd[t].T)
                    cross += vd[s] @ self.space.apply(self.space.inverse, td[t].T)
                p[s, t] = omega - cross + np.diag(gdot[s, t])
        return p

    def contrast_df(self, contrast: np.ndarray) -> float:
        """Satterthwaite degrees of freedom of ``contrast @ beta`` (a length-k vector)."""
        vector = np.ascontiguousarray(contrast, dtype=float)
        key = vector.tobytes()
        if key not in self.degrees_of_freedom:
            p = self._p_array(np.atleast_2d(vector))[0, 0]
            total = float(np.sum(p**2))
            self.degrees_of_freedom[key] = (
                float(np.trace(p) ** 2 / total) if total > 0 else float("nan")
            )
        return self.degrees_of_freedom[key]

    def htz(self, contrasts: np.ndarray) -> float:
        """The HTZ degrees of freedom nu of Pustejovsky and Tipton (2018) for q contrasts."""
        q = contrasts.shape[0]
        p = self._p_array(contrasts)
        omega = np.einsum("stgg->st", p)
        root = _inverse_square_root(omega)
        b = np.einsum("ai,ijgh,jb->abgh", root, p, root)
        variance = np.zeros((q, q))
        for s in range(q):
            for t in range(q):
                variance[s, t] = np.sum(b[s, t] * b[t, s]) + np.sum(b[s, s] * b[t, t])
        return float(q * (q + 1) / np.sum(variance))


def bias_reduced_variance(
    *,
    x: np.ndarray,
    weights: np.ndarray | None,
    residuals: np.ndarray,
    bread: np.ndarray,
    cluster_codes: np.ndarray,
    n_clusters: int,
    fixed_effect_codes: list[np.ndarray],
    n_fixed_effect_levels: list[int],
    reuse: BiasReduced | None = None,
) -> BiasReduced:
    """CR2 variance of the coefficients of a within-transformed (weighted) least-squares fit.

    The variance is :math:`M (\\sum_g X_g' W_g A_g e_g e_g' A_g W_g X_g) M` with
    :math:`M = (X'WX)^{-1}` and the adjustment matrices
    :math:`A_g = (I - H_{gg} - H_{gg}' + (Q W^2 Q)_{gg})^{-1/2}`, :math:`Q = U (U'WU)^{-1} U'`
    and :math:`H_{gg} = Q_{gg} W_g` for the full design U (regressors and fixed-effect
    dummies): clubSandwich's working model with identity target variance and weights W.
    Without weights :math:`A_g = (I - H_{gg})^{-1/2}`. The inverse square root is the
    symmetric one, eigenvalues at or below 1e-12 set to zero (clubSandwich's generalized
    inverse for clusters that absorb a fixed effect).

    Parameters
    ----------
    x : numpy.ndarray
        (N, k) regressors with the fixed effects partialled out (Frisch-Waugh-Lovell).
    weights : numpy.ndarray or None
        Analytic or survey weights (None: unweighted).
    residuals : numpy.ndarray
        Residuals of the full model.
    bread : numpy.ndarray
        :math:`(x'Wx)^{-1}`.
    cluster_codes : numpy.ndarray
        Cluster of each row, 0..G-1.
    n_clusters : int
        G.
    fixed_effect_codes, n_fixed_effect_levels : list
        Codes (0..L_j-1) and level counts of each absorbed fixed effect.
    reuse : BiasReduced or None
        The CR2 of another fit: when its regressors, weights, clusters and fixed effects equal
        these exactly, its adjustment matrices (and degrees of freedom) are reused and only
        the meat is computed from ``residuals`` (the same numbers as computing them anew).

    Returns
    -------
    BiasReduced
        The variance and what the Satterthwaite and HTZ degrees of freedom need.

    Raises
    ------
    DesignError
        A cluster of more than 5,000 rows whose regressors and fixed-effect levels span half
        its rows or more (a dense square root would be needed), or several fixed effects
        with more than 3,000 levels in all.

    Notes
    -----
    :math:`I - A_g^{-2}` has its range in the span of the cluster's design columns and their
    weighted copies, so each :math:`A_g` comes from an eigendecomposition of a matrix of at
    most twice that many columns: the cost is linear in the cluster sizes.

    References
    ----------
    Bell, R. M., & McCaffrey, D. F. (2002). Bias reduction in standard errors for linear
    regression with multi-stage samples. Survey Methodology, 28(2), 169-181.
    Pustejovsky, J. E., & Tipton, E. (2018). Small-sample methods for cluster-robust variance
    estimation and hypothesis testing in fixed effects models. Journal of Business &
    Economic Statistics, 36(4), 672-683.
    """
    n = x.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if (
        reuse is not None
        and reuse.same_design(x, w, cluster_codes, fixed_effect_codes, n_fixed_effect_levels)
        and np.array_equal(bread, reuse.bread)
    ):
        # The adjustment matrices depend on the design only: the new residuals give the meat.
        meat = np.zeros((x.shape[1], x.shape[1]))
        sorted_residuals = residuals[reuse.order]
        for index, e in enumerate(reuse.adjusted):
            score = e @ sorted_residuals[reuse.bounds[index] : reuse.bounds[index + 1]]
            meat += np.outer(score, score)
        vcov = reuse.bread @ meat @ reuse.bread
        return replace(reuse, vcov=(vcov + vcov.T) / 2)
    # Each cluster's rows in ascending order, from one stable sort (one comparison of the N
    # codes per cluster was O(N G)); the arrays are sorted once and each cluster is a slice.
    order = np.argsort(cluster_codes, kind="stable")
    sizes = np.bincount(cluster_codes, minlength=n_clusters)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    x_w2 = x * (w**2)[:, None]
    omega_xx = bread @ (x.T @ x_w2) @ bread
    space = _fixed_effect_space(fixed_effect_codes, n_fixed_effect_levels, w, x_w2 @ bread)
    sorted_x = x[order]
    sorted_weights = w[order]
    sorted_residuals = residuals[order]
    sorted_columns = space.columns[order] if space is not None else None
    adjusted = []
    meat = np.zeros((x.shape[1], x.shape[1]))
    for index in range(len(bounds) - 1):
        start, stop = bounds[index], bounds[index + 1]
        xg = sorted_x[start:stop]
        wg = sorted_weights[start:stop]
        columns = sorted_columns[start:stop] if sorted_columns is not None else None
        basis, middle, omega = _cluster_blocks(xg, columns, bread, omega_xx, space)
        e = _adjusted_estimating_matrix(basis, middle, omega, xg * wg[:, None], wg)
        adjusted.append(e)
        score = e @ sorted_residuals[start:stop]
        meat += np.outer(score, score)
    vcov = bread @ meat @ bread
    return BiasReduced(
        vcov=(vcov + vcov.T) / 2,
        x=x,
        weights=w,
        bread=bread,
        omega_xx=omega_xx,
        adjusted=adjusted,
        space=space,
        cluster_codes=cluster_codes,
        order=order,
        bounds=bounds,
        sorted_x=sorted_x,
        sorted_weights=sorted_weights,
        sorted_columns=sorted_columns,
        degrees_of_freedom={},
    )


def hc2_variance(
    *,
    x: np.ndarray,
    weights: np.ndarray | None,
    residuals: np.ndarray,
    bread: np.ndarray,
    fixed_effect_codes: list[np.ndarray],
    n_fixed_effect_levels: list[int],
) -> np.ndarray:
    """HC2 variance as R estimatr's ``lm_robust``: each squared residual over 1 - h_ii.

    With weights the leverage is that of the weighted fit, :math:`h_{ii} = w_i x_i'(X'WX)^{-1}
    x_i` on the full design (fixed effects included), and the meat is
    :math:`\\sum_i w_i^2 x_i x_i' e_i^2 / (1 - h_{ii})` (estimatr's transformed-data form).

    Parameters
    ----------
    x, weights, residuals, bread, fixed_effect_codes, n_fixed_effect_levels
        As in :func:`bias_reduced_variance`.

    Returns
    -------
    numpy.ndarray
        The (k, k) HC2 variance.

    Raises
    ------
    DesignError
        An observation with leverage 1 (HC2 is undefined).

    References
    ----------
    MacKinnon, J. G., & White, H. (1985). Some heteroskedasticity-consistent covariance
    matrix estimators with improved finite sample properties. Journal of Econometrics,
    29(3), 305-325.
    """
    n = x.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    leverage = np.einsum("ij,jk,ik->i", x, bread, x)
    if fixed_effect_codes:
        space = _fixed_effect_space(
            fixed_effect_codes, n_fixed_effect_levels, w, np.zeros((n, x.shape[1]))
        )
        if space is not None and space.diagonal:
            leverage = leverage + space.inverse[space.columns[:, 0]]
        elif space is not None:
            for j in range(space.columns.shape[1]):
                for k in range(space.columns.shape[1]):
                    leverage = leverage + space.inverse[space.columns[:, j], space.columns[:, k]]
    leverage = leverage * w
    if np.any(leverage > 1 - 1e-10):
        raise DesignError(
            f"fit_linear_model: HC2 is undefined when an observation has leverage 1; found "
            f"{int(np.sum(leverage > 1 - 1e-10))} such rows (a fixed-effect level or regressor "
            "value held by one row). Use HC1 or drop the singleton levels."
        )
    scores = x * (w * residuals / np.sqrt(1 - leverage))[:, None]
    vcov = bread @ (scores.T @ scores) @ bread
    return (vcov + vcov.T) / 2
