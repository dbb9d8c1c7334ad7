r"""PDE residuals of a network field by automatic differentiation.

The residual is written by the user as a plain per-point function

    residual_fn(d, z, coeffs) -> scalar or (n_eq,)

where ``d`` is a lazy mapping of derivatives by name — ``d["u"]``, ``d["u_x"]``,
``d["u_xx"]``, ``d["u_xt"]`` … (one letter per differentiation, coordinate names
are single letters) —, ``z`` the point ``(n_coords,)`` and ``coeffs`` a dict of PDE
coefficients (arrays; fixed ones come in the batch, trainable ones in the params).
First derivatives come from one reverse-mode ``jax.grad``; higher ones are
forward-mode ``jax.jvp`` of that gradient along unit directions (forward over
reverse: one extra JVP per derivative order, memoised within a point), which is
the cheap way for the few inputs of a PDE. Burgers reads

    def burgers(d, z, c):
        return d["u_t"] + d["u"] * d["u_x"] - c["nu"] * d["u_xx"]

Units follow the problem's; nothing here assumes any.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp

__all__ = ["Derivatives", "make_pde_residual"]


# --------------------------------------------------------------------------- derivatives

class Derivatives(Mapping):
    """Lazy, memoised derivatives of a scalar field at one point.

    ``d["u"]`` is the value, ``d["u_<letters>"]`` the mixed partial derivative with
    one letter (a coordinate name) per differentiation, e.g. ``u_xx``, ``u_xt``.
    First order: ``jax.grad``; each further order: a forward-mode ``jax.jvp``.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxphys.physics.pinn import Derivatives
      >>> u = lambda z: z[0] ** 2 * z[1]                  # u(x, t) = x² t
      >>> d = Derivatives(u, jnp.array([3.0, 2.0]), ("x", "t"))
      >>> float(d["u"]), float(d["u_x"]), float(d["u_xx"]), float(d["u_xt"])  # x²t, 2xt, 2t, 2x
      (18.0, 12.0, 4.0, 6.0)
    """

    def __init__(self, u: Callable[[jax.Array], jax.Array], z: jax.Array,
                 coords: Sequence[str], name: str = "u"):
        self._u, self._z, self._coords, self._name = u, z, tuple(coords), name
        self._cache: dict = {}

    def _index(self, key: str) -> tuple[int, ...]:
        if key == self._name:
            return ()
        prefix = self._name + "_"
        if isinstance(key, str) and key.startswith(prefix) and len(key) > len(prefix):
            letters = key[len(prefix):]
            if all(ch in self._coords for ch in letters):
                return tuple(sorted(self._coords.index(ch) for ch in letters))
        raise KeyError(f"residual_fn: unknown derivative {key!r}; expected {self._name!r} or "
                       f"{self._name!r}_<coords> with coordinates {self._coords}, e.g. "
                       f"{self._name + '_' + self._coords[0] * 2!r}")

    def _vector(self, dirs: tuple[int, ...]) -> jax.Array:
        """∂_{dirs} ∇u at z (a vector over coordinates), memoised."""
        if dirs not in self._cache:
            if not dirs:
                self._cache[dirs] = jax.grad(self._u)(self._z)
            else:
                eye = jnp.eye(self._z.shape[0], dtype=self._z.dtype)

                def along(fn, i):
                    return lambda z: jax.jvp(fn, (z,), (eye[i],))[1]

                fn = jax.grad(self._u)
                for i in dirs:
                    fn = along(fn, i)
                self._cache[dirs] = fn(self._z)
        return self._cache[dirs]

    def __getitem__(self, key: str) -> jax.Array:
        idx = self._index(key)
        if not idx:
            if "value" not in self._cache:
                self._cache["value"] = self._u(self._z)
            return self._cache["value"]
        return self._vector(idx[:-1])[idx[-1]]

    def __iter__(self):
        return iter((self._name,))

    def __len__(self) -> int:
        return 1


def _check_residual_fn(residual_fn: Callable) -> None:
    if not callable(residual_fn):
        raise ValueError(f"residual_fn: expected a function residual_fn(d, z, coeffs), got "
                         f"{type(residual_fn).__name__}")
    try:
        sig = inspect.signature(residual_fn)
    except (TypeError, ValueError):
        return                                    # builtins etc.: cannot check
    try:
        sig.bind(object(), object(), object())
    except TypeError:
        raise ValueError(f"residual_fn: expected the signature residual_fn(d, z, coeffs) "
                         f"(derivatives mapping, point (n_coords,), coefficient dict), got "
                         f"{residual_fn.__name__ if hasattr(residual_fn, '__name__') else ''}"
                         f"{sig}") from None


def _check_coords(coords: Sequence[str]) -> tuple[str, ...]:
    coords = tuple(coords)
    if not coords or any(not isinstance(c, str) or len(c) != 1 for c in coords) \
            or len(set(coords)) != len(coords):
        raise ValueError(f"coords: expected distinct one-letter coordinate names, e.g. "
                         f"('x', 't'), got {coords}")
    return coords


def make_pde_residual(residual_fn: Callable, field: Callable, *, coords: Sequence[str] = ("x", "t"),
                      name: str = "u") -> Callable:
    """Per-point PDE residual ``residual(params, z, coeffs) -> (n_eq,)``.

    Args:
      residual_fn: ``residual_fn(d, z, coeffs) -> scalar or (n_eq,)``, ``d`` a
        :class:`Derivatives` mapping (see the module doc).
      field: ``field(params, z) -> scalar``, the network as a function of one point
        ``z`` ``(len(coords),)``.
      coords: one-letter coordinate names in the order of ``z``'s entries.
      name: the field's name in derivative keys (``"u"`` → ``"u_x"``).

    Raises ``ValueError`` naming ``residual_fn`` if it does not take ``(d, z, coeffs)``.
    ``vmap`` the result over points.

    Example:
      >>> import jax.numpy as jnp
      >>> field = lambda p, z: p * z[0] ** 3 * z[1]               # u = p x³ t
      >>> res = make_pde_residual(lambda d, z, c: d["u_xx"] - c["k"] * d["u_t"], field)
      >>> float(res(2.0, jnp.array([1.0, 0.5]), {"k": 3.0})[0])   # 6 p x t - 3 p x³
      0.0
    """
    _check_residual_fn(residual_fn)
    coords = _check_coords(coords)

    def residual(params, z, coeffs):
        if z.shape != (len(coords),):
            raise ValueError(f"z: expected one point of shape ({len(coords)},), got {z.shape}")
        d = Derivatives(lambda zz: field(params, zz), z, coords, name)
        try:
            r = residual_fn(d, z, coeffs)
        except KeyError as err:
            raise ValueError(str(err.args[0]) if err.args else str(err)) from None
        r = jnp.asarray(r)
        if r.ndim > 1:
            raise ValueError(f"residual_fn: expected a scalar or (n_eq,) residual per point, got "
                             f"shape {r.shape}")
        return r.reshape(-1)

    return residual


def derivative_at(field: Callable, params: Any, z: jax.Array, derivative: str,
                  coords: Sequence[str], name: str = "u") -> jax.Array:
    """One named derivative of ``field(params, ·)`` at one point ``z`` (scalar)."""
    return Derivatives(lambda zz: field(params, zz), z, coords, name)[derivative]
