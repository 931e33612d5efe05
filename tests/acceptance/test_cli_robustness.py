"""The ``neural`` command under the mistakes and habits of a new user.

Every bad output path fails before any training, with "cannot write" and the reason; a
diverged run is an error (its run kept); a closed pipe ends the command quietly (status
141); a resumed search counts and lists the whole study; hints show values that work when
pasted; options that would do nothing say so.
"""

from __future__ import annotations

import json
import re
import shlex

import pytest

from tests.acceptance.conftest import NEURAL, assert_ok, assert_user_error, run, user_env

F = "examples/digits_search.neural"
# one tiny search round: 2 members, 1 epoch (a few seconds on digits)
TINY = ["--n-trials", "2", "--population", "2", "--epochs", "1", "--no-live"]

BLOWUP = """network Blowup {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(32, activation="relu")
    Output(10, activation="softmax")
  loss: "sparse_categorical_crossentropy"
  metrics: ["accuracy"]
  optimizer: SGD(learning_rate=1e6)
  train {
    epochs: 1
    batch_size: 64
  }
}
"""


def _shell(command: str, cwd):
    """``command`` in bash, with ``neural`` the installed command."""
    neural = " ".join(shlex.quote(p) for p in NEURAL)
    return run(["bash", "-c", f"neural() {{ {neural} \"$@\"; }}; {command}"], cwd)


# -- output paths: checked before any work -------------------------------------------------

@pytest.mark.parametrize("args, words", [
    # -o naming the file being searched would replace the source
    (["hpo", F, *TINY, "-o", F], ["cannot write -o", "input file"]),
    (["hpo", F, *TINY, "-o", "./examples/../" + F], ["cannot write -o", "input file"]),
    (["compile", F, "--backend", "pytorch", "--hpo", "-o", "examples/digits_search.py"],
     ["cannot write", "digits_search.neural", "input file"]),
    # a folder where a file goes, a file where a folder goes
    (["run", F, "--epochs", "1", "--out", "examples/digits_mlp.neural"],
     ["cannot write --out", "is a file"]),
    (["hpo", F, *TINY, "-o", "examples/digits_mlp.neural/"], ["cannot write -o", "is a file"]),
    (["compile", F, "--backend", "pytorch", "-o", "examples"], ["cannot write -o", "is a folder"]),
    (["export", "examples", "--backend", "pytorch", "-o", "examples"],
     ["cannot write -o", "is a folder", "model.pt"]),
    # a parent that is a file
    (["compile", F, "--backend", "jax", "-o", "examples/digits_mlp.neural/m.py"],
     ["cannot write -o", "is a file, not a folder"]),
])
def test_bad_output_paths_fail_before_training(workdir, args, words):
    source = (workdir / F).read_text()
    res = assert_user_error(run(["neural", *args], workdir), *words, rc=1)
    assert "epoch" not in res.out and "round" not in res.out, res  # nothing trained
    assert (workdir / F).read_text() == source  # the input is untouched


def test_missing_parent_folders_are_created_and_said(workdir):
    res = assert_ok(run(["neural", "compile", F, "--backend", "jax", "-o", "new/sub/m.py"],
                        workdir))
    assert "created the folder new/sub" in res.out, res
    assert (workdir / "new/sub/m.py").read_text().startswith(("#", '"""', "import", "from"))


# -- neural run ----------------------------------------------------------------------------

def test_diverged_run_is_an_error_and_keeps_the_run(workdir, tmp_path):
    (workdir / "blowup.neural").write_text(BLOWUP)
    # digits reads no files: --data-dir and $NEURAL_DATA_DIR do not apply to it (no error)
    res = assert_user_error(run(["neural", "run", "blowup.neural", "--out", "r", "--data-dir",
                                 str(tmp_path / "none")], workdir,
                                env=user_env(NEURAL_DATA_DIR=str(tmp_path / "nodata"))),
                            "diverged", "times the loss of a uniform guess", "saved in r", rc=1)
    assert "does not take the options" not in res.text
    assert "1 epoch," in res.out and "1 epochs" not in res.out, res
    assert (workdir / "r/params.msgpack").exists() and (workdir / "r/metrics.json").exists()


@pytest.mark.parametrize("flag", ["--seed"])
@pytest.mark.parametrize("command", ["run", "hpo"])
def test_seed_is_checked_when_read(workdir, command, flag):
    res = assert_user_error(run(["neural", command, F, flag, "-1"], workdir),
                            "argument --seed", ">= 0", rc=2)
    assert "epoch" not in res.out, res


# -- neural hpo ----------------------------------------------------------------------------

def test_unknown_network_names_the_file(workdir):
    assert_user_error(run(["neural", "hpo", F, "--network", "Nope", *TINY], workdir),
                      f"no network named 'Nope' in {F}", "DigitsSearch", rc=1)


def test_params_hint_lists_searched_keys(workdir):
    res = assert_user_error(
        run(["neural", "run", F, "--params", '{"layers[9].units": 64}'], workdir),
        "not a searched parameter", "layers[1].units", rc=1)
    hint = next(line for line in res.err.splitlines() if line.startswith("hint:"))
    assert "beta_2" not in hint and "epsilon" not in hint, res
    assert "optimizer.learning_rate" in hint and "layers[2].rate" in hint, res


def _pasted_example(text: str) -> str:
    """The JSON object a hint shows (from its first '{' to the matching last '}')."""
    start = text.index("{")
    end = text.rindex("}")
    return text[start:end + 1]


@pytest.mark.parametrize("space", ["[1, 2]",
                                   '{"optimizer.learning_rate": {"type": "log_range"}}'])
def test_space_hints_work_when_pasted(workdir, space):
    res = assert_user_error(run(["neural", "hpo", F, *TINY, "--space", space], workdir))
    line = next(ln for ln in res.err.splitlines() if "e.g." in ln)
    example = _pasted_example(line.split("e.g.", 1)[1])
    json.loads(example)  # valid JSON as shown
    ok = assert_ok(run(["neural", "hpo", F, *TINY, "--space", example], workdir))
    assert re.search(r"best val_accuracy: 0\.\d+", ok.out), ok


def test_ignored_options_warn(workdir):
    res = assert_ok(run(["neural", "hpo", F, "--n-trials", "2", "--epochs", "1", "--no-live",
                         "--study", "q", "--parallel-trials", "2", "--data-dir", "nowhere"],
                        workdir))
    warnings = [ln for ln in res.err.splitlines() if ln.startswith("warning:")]
    assert any("--study q without --storage" in w and "cannot be resumed" in w
               for w in warnings), res
    assert any("--parallel-trials" in w and "--population" in w for w in warnings), res
    assert "does not take the options" not in res.text
    assert "top 2 trials by val_accuracy" in res.out, res


def test_resumed_search_counts_and_lists_the_whole_study(workdir):
    common = ["hpo", F, "--population", "4", "--epochs", "4", "--early-stopping", "--no-live",
              "--storage", "sqlite:///s.db", "--study", "s", "--top", "20"]
    first = assert_ok(run(["neural", *common, "--n-trials", "8"], workdir))
    second = assert_ok(run(["neural", *common, "--n-trials", "12"], workdir))
    listed = assert_ok(run(["neural", "trials", "--storage", "sqlite:///s.db", "--study", "s",
                            "--format", "json"], workdir))
    trials = json.loads(listed.out)["trials"]
    pruned = sum(t["state"] == "pruned" for t in trials)
    failed = sum(t["state"] == "failed" for t in trials)
    assert pruned > 0, listed  # successive halving pruned some of 12
    counts = [tuple(map(int, m)) for m in re.findall(
        r"trials (\d+)/\d+ .* failed (\d+)  pruned (\d+)", first.out + second.out)]
    assert len(counts) == 3, (first, second)
    assert [c[0] for c in counts] == [4, 8, 12]
    assert all(a[2] <= b[2] for a, b in zip(counts, counts[1:])), counts  # cumulative
    assert counts[-1][1:] == (failed, pruned), (counts, trials)
    # the table holds the study's trials, earlier runs' too, ranked like the best line
    rows = re.findall(r"^  #(\d+)\s+(\d\.\d+)", second.out, re.M)
    complete = [t for t in trials if t["state"] == "complete"]
    assert len(rows) == len(complete), second
    best = max(t["value"] for t in complete)
    assert float(rows[0][1]) == pytest.approx(best, abs=1e-4)
    assert f"best val_accuracy: {best:.4f}" in second.out, second
    # a reader that has gone (it exits before the command starts writing): no message, 141
    piped = _shell("neural trials --storage sqlite:///s.db --study s | true; "
                   "exit ${PIPESTATUS[0]}", workdir)
    assert piped.rc == 141 and piped.err == "", piped


def test_hpo_into_a_closed_pipe_is_quiet(workdir):
    res = _shell(f"neural hpo {F} --n-trials 4 --population 2 --epochs 1 --no-live | head -1; "
                 "exit ${PIPESTATUS[0]}", workdir)
    assert res.rc == 141, res
    assert "Broken pipe" not in res.err and "Traceback" not in res.err, res
    assert res.out.startswith("round 1: trials 2/4"), res


def test_top_table_grammar(workdir):
    res = assert_ok(run(["neural", "hpo", F, *TINY, "--top", "1"], workdir))
    assert "top 1 trial by val_accuracy:" in res.out, res


# -- neural export -------------------------------------------------------------------------

def test_export_of_a_pytorch_run_says_what_the_folder_holds(workdir):
    assert_ok(run(["neural", "run", F, "--epochs", "1", "--backend", "pytorch", "--out", "ptrun"],
                  workdir))
    assert_user_error(run(["neural", "export", "ptrun", "--backend", "tensorflow"], workdir),
                      "pytorch run", "ptrun/model.pt", "--backend jax", rc=1)
