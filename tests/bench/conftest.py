"""The evaluation benchmarks run on the evaluator tests' tiny random models: the same
fixtures, read from tests/evaluate/conftest.py rather than written twice."""
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "evaluate_conftest", Path(__file__).resolve().parents[1] / "evaluate" / "conftest.py")
_evaluate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_evaluate)

tiny_t5 = _evaluate.tiny_t5
tiny_decoder_only = _evaluate.tiny_decoder_only
