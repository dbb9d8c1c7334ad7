"""jaxphys.plot: every function returns a Figure and writes a non-empty PNG."""

import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure  # noqa: E402

from jaxphys import plot  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 2000


def _line_data():
    rng = np.random.default_rng(0)
    x = np.linspace(0.0, 10.0, 25)
    sigma = np.full_like(x, 0.5)
    y = 2.0 * x + 1.0 + sigma * rng.standard_normal(x.size)
    return x, y, sigma


def test_plot_fit_writes_png_and_has_pull_panel(tmp_path):
    x, y, sigma = _line_data()
    path = tmp_path / "sub" / "fit.png"
    fig = plot.plot_fit(x, y, sigma, model=lambda t: 2.0 * t + 1.0,
                        model_err=lambda t: 0.1 + 0.0 * t, truth=lambda t: 2.0 * t + 1.0,
                        info="slope = 2", xlabel="x [m]", ylabel="y [s]", path=path)
    assert isinstance(fig, Figure)
    _assert_png(path)
    top, bottom = fig.axes
    assert bottom.get_xlabel() == "x [m]" and top.get_ylabel() == "y [s]"
    assert "pull" in bottom.get_ylabel()
    # The pull panel shows (y - f(x)) / sigma, computed here independently.
    shown = bottom.lines[0].get_ydata()
    np.testing.assert_allclose(shown, (y - (2.0 * x + 1.0)) / sigma)


def test_plot_fit_without_sigma_shows_residuals_and_accepts_values(tmp_path):
    x, y, _ = _line_data()
    fig = plot.plot_fit(x, y, model=2.0 * x + 1.0, path=tmp_path / "fit.png")
    assert "residual" in fig.axes[1].get_ylabel()
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), y - (2.0 * x + 1.0))
    _assert_png(tmp_path / "fit.png")


def test_plot_fit_no_path_writes_nothing(tmp_path):
    x, y, sigma = _line_data()
    fig = plot.plot_fit(x, y, sigma, model=lambda t: t)
    assert isinstance(fig, Figure)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kwargs, match", [
    (dict(y=np.ones(3)), "y"),
    (dict(sigma=-np.ones(25)), "sigma"),
    (dict(sigma=np.ones(4)), "sigma"),
])
def test_plot_fit_bad_input(kwargs, match):
    x, y, sigma = _line_data()
    args = dict(y=y, sigma=sigma) | kwargs
    with pytest.raises(ValueError, match=match):
        plot.plot_fit(x, args["y"], args["sigma"], model=lambda t: t)


def test_plot_loss_surface(tmp_path):
    t1 = np.linspace(-2, 2, 30)
    t2 = np.linspace(-1, 3, 20)
    z = (t1[:, None] - 0.5) ** 2 + 4 * (t2[None, :] - 1.0) ** 2
    traj = np.stack([np.linspace(-1.5, 0.5, 10), np.linspace(2.5, 1.0, 10)], axis=1)
    path = tmp_path / "surface.png"
    fig = plot.plot_loss_surface(t1, t2, z, optimum=[0.5, 1.0], truth=[0.4, 1.1],
                                 trajectory=traj, chi2_contours=True,
                                 labels=("slope", "intercept"), path=path)
    _assert_png(path)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("slope", "intercept")
    labels = ax.get_legend_handles_labels()[1]
    assert "best fit" in labels and "truth" in labels and "start" in labels


def test_plot_loss_surface_rejects_transposed_surface():
    t1, t2 = np.linspace(0, 1, 5), np.linspace(0, 1, 4)
    with pytest.raises(ValueError, match="surface"):
        plot.plot_loss_surface(t1, t2, np.zeros((4, 5)))


def test_plot_loss_curves(tmp_path):
    history = {"step": list(range(1, 101)), "loss": list(np.exp(-np.arange(100) / 30)),
               "val_step": [20, 40, 60, 80, 100], "val_loss": [0.6, 0.3, 0.2, 0.15, 0.16]}
    path = tmp_path / "curves.png"
    fig = plot.plot_loss_curves(history, log_y=True, best_step=80, path=path)
    _assert_png(path)
    assert fig.axes[0].get_yscale() == "log"
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts[:2] == ["train", "validation"]


def test_plot_loss_curves_needs_keys():
    with pytest.raises(ValueError, match="history"):
        plot.plot_loss_curves({"loss": [1.0]})


def test_plot_confusion_matrix_annotates_counts(tmp_path):
    cm = np.array([[50, 3], [7, 40]])
    path = tmp_path / "cm.png"
    fig = plot.plot_confusion_matrix(cm, ["noise", "signal"], path=path)
    _assert_png(path)
    ax = fig.axes[0]
    cells = [t.get_text().split("\n")[0] for t in ax.texts]
    assert cells == ["50", "3", "7", "40"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["noise", "signal"]


def test_plot_confusion_matrix_bad_input():
    with pytest.raises(ValueError, match="matrix"):
        plot.plot_confusion_matrix(np.ones((2, 3)))
    with pytest.raises(ValueError, match="class_names"):
        plot.plot_confusion_matrix(np.ones((2, 2)), ["a", "b", "c"])


def test_plot_roc_auc_in_legend_matches_sklearn(tmp_path):
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    score = y + rng.normal(0.0, 0.8, 300)
    fpr, tpr, _ = metrics.roc_curve(y, score)
    path = tmp_path / "roc.png"
    fig = plot.plot_roc({"model": (fpr, tpr), "noise": ([0, 1], [0, 1])}, path=path)
    _assert_png(path)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts[0] == f"model (AUC = {metrics.roc_auc_score(y, score):.3f})"
    assert texts[1] == "noise (AUC = 0.500)"


def test_plot_roc_single_curve_object(tmp_path):
    class Roc:  # anything with fpr and tpr, like jaxphys.metrics.RocCurve
        fpr = np.array([0.0, 0.2, 1.0])
        tpr = np.array([0.0, 0.8, 1.0])

    fig = plot.plot_roc(Roc(), path=tmp_path / "roc.png")
    _assert_png(tmp_path / "roc.png")
    assert "AUC = 0.800" in fig.axes[0].get_legend().get_texts()[0].get_text()


def test_plot_curves_and_regularisation_path(tmp_path):
    deg = np.arange(8)
    fig = plot.plot_curves(deg, {"train": np.exp(-deg), "test": 0.1 + 0.01 * deg ** 2},
                           points={"data": (deg, np.ones(8))}, log_y=True, marker="o",
                           vline=3, vline_label="best", hline=0.09, hline_label="floor",
                           xlabel="degree", ylabel="MSE", path=tmp_path / "c.png")
    _assert_png(tmp_path / "c.png")
    assert fig.axes[0].get_yscale() == "log"
    lams = np.geomspace(1e-4, 1.0, 12)
    coefs = np.stack([1.0 / (1.0 + lams * k) for k in range(5)], axis=1)
    fig = plot.plot_regularisation_path(lams, coefs, chosen=1e-2, path=tmp_path / "p.png")
    _assert_png(tmp_path / "p.png")
    assert len(fig.axes[0].get_legend().get_texts()) == 6   # 5 coefficients + chosen λ
    with pytest.raises(ValueError, match="coefs"):
        plot.plot_regularisation_path(lams, coefs[:3])
    with pytest.raises(ValueError, match="lams"):
        plot.plot_regularisation_path(-lams, coefs)


def test_missing_matplotlib_gives_install_hint(monkeypatch):
    x, y, sigma = _line_data()
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # makes `import matplotlib` fail
    with pytest.raises(ImportError, match=r'pip install "jaxphys\[plot\]"'):
        plot.plot_fit(x, y, sigma, model=lambda t: t)
    with pytest.raises(ImportError, match="jaxphys.plot needs matplotlib"):
        plot.require_matplotlib()
