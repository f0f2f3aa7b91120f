import importlib.util
import os
import sys

# Run from a source checkout too: fall back to the repository root (appended, so an
# installed fusion_flow, with its built extension, still wins).
if importlib.util.find_spec("fusion_flow") is None:
    sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
