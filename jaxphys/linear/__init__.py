"""Linear and χ² fits: least squares with covariance, polynomials, curve_fit,
ridge/lasso and logistic regression.

* :func:`lstsq_fit` — weighted linear least squares by QR/SVD, covariance
  ``(AᵀWA)⁻¹``, χ², dof, p-value (:class:`LinearFit`).
* :func:`polyfit`, :func:`polyval`, :func:`design_matrix_poly` — polynomials
  with **increasing**-power coefficients (``numpy.polyfit`` is decreasing).
* :func:`curve_fit` — nonlinear χ² fit by Levenberg–Marquardt (:class:`CurveFit`);
  :func:`breit_wigner` — a resonance model to fit.
* :func:`ridge`, :func:`lasso`, :func:`regularization_path`.
* :func:`logistic_regression` (binary/softmax, L-BFGS) with
  :func:`logistic_predict_proba`, :func:`logistic_predict` (:class:`LogisticFit`).

Loss surfaces, gradient-descent paths and random-features double descent are in
:mod:`jaxphys.dynamics`.
"""

from jaxphys.linear._breit_wigner import breit_wigner
from jaxphys.linear._curve_fit import CurveFit, curve_fit
from jaxphys.linear._logistic import (LogisticFit, logistic_predict, logistic_predict_proba,
                                      logistic_regression)
from jaxphys.linear._lstsq import LinearFit, chi2_sf, lstsq_fit
from jaxphys.linear._poly import design_matrix_poly, polyfit, polyval
from jaxphys.linear._regularized import lasso, regularization_path, ridge

__all__ = [
    "LinearFit",
    "lstsq_fit",
    "chi2_sf",
    "polyfit",
    "polyval",
    "design_matrix_poly",
    "CurveFit",
    "curve_fit",
    "breit_wigner",
    "ridge",
    "lasso",
    "regularization_path",
    "LogisticFit",
    "logistic_regression",
    "logistic_predict_proba",
    "logistic_predict",
]
