"""calibration_study: pooled ECE/MCE/Brier with intervals, and a paired ECE difference
that finds a planted miscalibration and none between a model and itself."""
import numpy as np
import pytest

from flan_repro.evaluate import calibration as cal, calibration_study as cs


def _records(rng, n, templates, overconfidence):
    """Two-option records whose confidence is the true chance of being right, plus
    `overconfidence` (clipped): 0 gives a calibrated model."""
    out = []
    for t in range(templates):
        for i in range(n):
            p_true = 0.55 + 0.4 * ((i * 7919) % 100) / 100
            conf = min(p_true + overconfidence, 0.999)
            correct = int(rng.random() < p_true)
            gold_prob = conf if correct else 1 - conf
            out.append({"template": t, "example_index": i, "confidence": conf,
                        "correct": correct, "brier": cal.brier_term([gold_prob, 1 - gold_prob], 0)})
    return out


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    models = {"base": {d: _records(rng, 600, 2, 0.0) for d in ("rte", "cb")},
              "tuned": {d: _records(rng, 600, 2, 0.15) for d in ("rte", "cb")}}
    models["same"] = models["base"]
    return models, cs.study(models, replicates=400)


def test_pooled_numbers_match_calibration_and_have_intervals(result):
    models, s = result
    assert s["reference"] == "base" and s["datasets"] == ["rte", "cb"]
    for m in models:
        for d in s["datasets"]:
            e = s["models"][m]["datasets"][d]
            recs = models[m][d]
            want = cal.calibration_of_predictions([r["confidence"] for r in recs],
                                                  [r["correct"] for r in recs],
                                                  [r["brier"] for r in recs])
            assert e["ece"] == pytest.approx(want.ece, abs=1e-12)
            assert e["brier"] == pytest.approx(want.brier, abs=1e-12)
            assert e["mce"] == pytest.approx(want.mce, abs=1e-12)
            assert e["ece_ci95"][0] <= e["ece"] <= e["ece_ci95"][1]
            assert e["n_examples"] == 600 and e["n_scored"] == 1200


def test_paired_ece_difference_finds_planted_overconfidence(result):
    _, s = result
    tuned = s["models"]["tuned"]["average"]["ece_diff_vs_reference"]
    assert tuned["significant"] and 0.08 < tuned["diff"] < 0.2 and tuned["p_value"] < 0.01
    same = s["models"]["same"]["average"]["ece_diff_vs_reference"]
    assert same["diff"] == 0 and not same["significant"]
    assert "ece_diff_vs_reference" not in s["models"]["base"]["average"]


def test_markdown_and_figure(result, tmp_path):
    _, s = result
    md = "\n".join(cs.markdown(s, titles={"base": "Untuned base"}))
    assert "*Untuned base*" in md and "| tuned | average |" in md and " *" in md
    png = cs.plot(tmp_path / "figures/calibration_nli.png", s, "NLI")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="reference model 'x' is not among"):
        cs.study({"a": {}}, reference="x")
    with pytest.raises(ValueError, match="no classification dataset was scored by every model"):
        cs.study({"a": {"d": [{"template": 0, "example_index": 0, "score": 1.0}]}})
