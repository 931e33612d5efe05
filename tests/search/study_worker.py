"""A worker process for the storage tests: runs trials of a study in an SQL storage.

Usage: python study_worker.py URL NAME SEED N_TRIALS [HANG_AFTER MARKER_FILE]

With HANG_AFTER, the objective writes MARKER_FILE and sleeps (until killed) once HANG_AFTER
trials are complete, so the parent can kill it in the middle of a trial.
"""

import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

import search  # noqa: E402

SPACE = {
    "x": {"type": "float", "min": -5.0, "max": 5.0},
    "k": {"type": "int", "min": 1, "max": 8},
    "act": {"type": "categorical", "values": ["relu", "tanh", "gelu"]},
}


def main() -> None:
    url, name, seed, n_trials = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    hang_after = int(sys.argv[5]) if len(sys.argv) > 5 else None
    marker = sys.argv[6] if len(sys.argv) > 6 else None
    study = search.create_study(name, storage=url, space=SPACE, strategy="random", seed=seed)

    def objective(trial):
        if hang_after is not None:
            done = len(study.get_trials(["complete"]))
            if done >= hang_after:
                pathlib.Path(marker).write_text(str(trial.number))
                time.sleep(120)
        time.sleep(0.005)
        return (trial.params["x"] - 1) ** 2 + trial.params["k"] + (trial.params["act"] == "tanh")

    study.optimize(objective, n_trials=n_trials)
    print(os.getpid(), flush=True)


if __name__ == "__main__":
    main()
