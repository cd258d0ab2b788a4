"""Generates the SDK's types from the server's committed OpenAPI schema (openapi/schema.yaml).

    python scripts/generate.py           write src/inference_platform_sdk/_generated/{models,params}.py
    python scripts/generate.py --check   regenerate into a temporary folder and diff against the
                                         committed files; exit 1 on any difference

Two outputs of one generator (datamodel-code-generator), from one schema:
  models.py   pydantic v2 models: what the methods return (validated, typed objects)
  params.py   TypedDicts: what the methods take as keyword arguments (`**params: Unpack[...]`),
              including each list operation's query parameters

OPENAPI_SCHEMA overrides the schema path (to try a schema change without touching the repo's copy).
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = Path(os.environ.get("OPENAPI_SCHEMA", ROOT.parent.parent / "openapi" / "schema.yaml")).resolve()
TARGET = ROOT / "src" / "inference_platform_sdk" / "_generated"

COMMON = [
    "--input-file-type", "openapi",
    "--target-python-version", "3.10",
    "--use-standard-collections",
    "--use-union-operator",
    "--use-schema-description",
    "--use-field-description",
    "--enum-field-as-literal", "all",
    "--use-type-alias",
    "--disable-timestamp",
    "--formatters", "ruff-format",
]  # fmt: skip
OUTPUTS = {
    "models.py": [
        "--output-model-type", "pydantic_v2.BaseModel",
        "--base-class", "inference_platform_sdk._models.APIModel",
        "--use-annotated",
        "--field-constraints",
    ],
    "params.py": [
        "--output-model-type", "typing.TypedDict",
        "--no-use-closed-typed-dict",  # PEP 728 `closed=True` is not understood by type checkers yet
        "--openapi-scopes", "schemas", "paths", "parameters",  # + each operation's query parameters
        "--use-operation-id-as-name",
    ],
}  # fmt: skip


def header() -> str:
    generator = f"datamodel-code-generator {version('datamodel-code-generator')}"
    return f"""# GENERATED FILE: do not edit by hand.
#
# Source:    openapi/schema.yaml (the server's committed OpenAPI schema)
# Generator: {generator} via sdk/python/scripts/generate.py
# Update:    change the server's serializers, then `make schema sdk`.
#            `python scripts/generate.py --check` fails while this file and the schema disagree.
"""


def render(folder: Path) -> dict[str, str]:
    texts = {}
    for name, options in OUTPUTS.items():
        output = folder / name
        command = [sys.executable, "-m", "datamodel_code_generator", "--input", str(SCHEMA), "--output", str(output)]
        subprocess.run([*command, *COMMON, *options], check=True, cwd=folder)
        texts[name] = header() + "\n" + output.read_text()
    return texts


def check(texts: dict[str, str]) -> int:
    differences = 0
    for name, text in texts.items():
        committed = TARGET / name
        old = committed.read_text() if committed.exists() else ""
        if old == text:
            print(f"{committed.relative_to(ROOT)} matches {SCHEMA}")
            continue
        differences += 1
        label = str(committed.relative_to(ROOT))
        sys.stdout.writelines(
            difflib.unified_diff(old.splitlines(True), text.splitlines(True), label, f"{label} (new)")
        )
    if differences:
        print(f"\nThe Python SDK's generated types are out of date with {SCHEMA}: run `make sdk`.", file=sys.stderr)
    return 1 if differences else 0


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="sdk-python-") as scratch:
        texts = render(Path(scratch))
    if "--check" in sys.argv[1:]:
        return check(texts)
    for name, text in texts.items():
        (TARGET / name).write_text(text)
        print(f"wrote {(TARGET / name).relative_to(ROOT)} from {SCHEMA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
