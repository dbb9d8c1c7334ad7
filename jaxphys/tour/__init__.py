"""The tour: chapters that ``jaxphys tour`` runs, in order, writing figures and a report.

To add a chapter, write ``jaxphys/tour/_chNN_<name>.py`` defining
``CHAPTER = Chapter(number, name, title, run)`` with
``run(key, out_dir: Path, quick: bool) -> ChapterResult`` and append it to
``CHAPTERS`` below. Chapters import their heavy dependencies inside ``run`` so
that ``jaxphys list`` stays instant.

>>> [c.name for c in CHAPTERS][:3]
['line-fit', 'classification', 'polynomial']
"""

from jaxphys.tour import (_ch01_line_fit, _ch02_classification, _ch03_polynomial, _ch04_digits,
                          _ch05_lstm, _ch06_transformer, _ch07_kan, _ch08_density,
                          _ch09_autoencoders, _ch10_flows_npe, _ch11_gan_diffusion,
                          _ch12_tabular_rl, _ch13_ppo, _ch14_ising_agent, _ch15_classical,
                          _ch16_ising, _ch17_pinn, _ch18_signal, _ch19_scaling, _ch20_dynamics,
                          _ch21_likelihood_fits, _ch22_gravitational_waves)
from ._report import render_report, write_report
from ._runner import (DEFAULT_OUT_DIR, Chapter, ChapterResult, ChapterRun,
                                  TourResult, run_tour, select_chapters)

# The registry: every chapter of the tour, in the order it runs.
CHAPTERS: tuple[Chapter, ...] = (
    _ch01_line_fit.CHAPTER,
    _ch02_classification.CHAPTER,
    _ch03_polynomial.CHAPTER,
    _ch04_digits.CHAPTER,
    _ch05_lstm.CHAPTER,
    _ch06_transformer.CHAPTER,
    _ch07_kan.CHAPTER,
    _ch08_density.CHAPTER,
    _ch09_autoencoders.CHAPTER,
    _ch10_flows_npe.CHAPTER,
    _ch11_gan_diffusion.CHAPTER,
    _ch12_tabular_rl.CHAPTER,
    _ch13_ppo.CHAPTER,
    _ch14_ising_agent.CHAPTER,
    _ch15_classical.CHAPTER,
    _ch16_ising.CHAPTER,
    _ch17_pinn.CHAPTER,
    _ch18_signal.CHAPTER,
    _ch19_scaling.CHAPTER,
    _ch20_dynamics.CHAPTER,
    _ch21_likelihood_fits.CHAPTER,
    _ch22_gravitational_waves.CHAPTER,
)

__all__ = [
    "CHAPTERS",
    "DEFAULT_OUT_DIR",
    "Chapter",
    "ChapterResult",
    "ChapterRun",
    "TourResult",
    "render_report",
    "run_tour",
    "select_chapters",
    "write_report",
]
