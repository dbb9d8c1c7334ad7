"""Subprocess for the killed-writer tests.

``python checkpoint_writer.py save DIR``: save 8 MB checkpoints ``ckpt_<i>`` in a loop,
each holding the value ``i`` everywhere, until killed.
``python checkpoint_writer.py fit DIR``: the small fit of test_core_checkpoint_faults.py
with a checkpoint every step, slowed by a sleep per chunk, until killed or done.
"""

import sys
import time

import numpy as np

mode, directory = sys.argv[1], sys.argv[2]

if mode == "save":
    from jaxphys.core import checkpoint_path, save_checkpoint

    i = 0
    while True:
        i += 1
        save_checkpoint(checkpoint_path(directory, i), {"w": np.full(2_000_000, i, np.float32)},
                        metadata={"i": i})
        print(i, flush=True)
else:
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parents[1]))
    from test_core_checkpoint_faults import run_fit

    run_fit(directory, callback=lambda r, s, h: (print(r, flush=True), time.sleep(0.05))[0])
