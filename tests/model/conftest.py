"""pytest setup for the model tests (tests/ has no __init__.py files)."""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.dirname(os.path.dirname(_HERE))
for _p in (_REPO, _HERE):  # `flan_repro` and the sibling `model_testlib` helper module
    if _p not in sys.path:
        sys.path.insert(0, _p)
