#!/usr/bin/env python3
"""Rewrites the token caches that Python's `cryptography` wrote for the interop tests.

packages/fernet/test/fixtures/token-cache/cases.json is the source: each readable case names a file,
its keys and the exact plaintext bytes (json.dumps of the record, what the Python token manager
writes). This script encrypts each plaintext with Python's Fernet, the way that manager does:
the last key of a case (the old key of a rotation case; the only key otherwise). A case with
"expect_error" reuses another case's file with a wrong key and writes nothing.

Where python3 has no `cryptography`, it says so and exits 0 without touching any fixture: the
committed caches stay valid, only their regeneration needs Python.

Usage: python3 tooling/scripts/regen-python-fixtures.py [--check]
  --check  exit 1 when a committed cache does not decrypt to its case's plaintext (writes nothing)
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE_DIR = os.path.join(ROOT, "packages", "fernet", "test", "fixtures", "token-cache")


def main() -> int:
    try:
        from cryptography.fernet import Fernet
    except ImportError:
        print(
            "regen-python-fixtures: this python3 has no `cryptography` package "
            "(pip install cryptography); fixtures left as they are."
        )
        return 0

    check_only = "--check" in sys.argv[1:]
    with open(os.path.join(CACHE_DIR, "cases.json"), encoding="utf-8") as f:
        cases = json.load(f)

    stale = []
    for case in cases:
        if "plaintext_json" not in case:
            continue
        path = os.path.join(CACHE_DIR, case["file"])
        plaintext = case["plaintext_json"].encode("utf-8")
        if check_only:
            with open(path, "rb") as f:
                token = f.read()
            if Fernet(case["keys"][-1].encode()).decrypt(token) != plaintext:
                stale.append(case["file"])
            continue
        token = Fernet(case["keys"][-1].encode()).encrypt(plaintext)
        with open(path, "wb") as f:
            f.write(token)
        print(f"wrote {os.path.relpath(path, ROOT)}")

    if stale:
        print(f"regen-python-fixtures: stale caches: {', '.join(stale)}", file=sys.stderr)
        return 1
    if check_only:
        print("regen-python-fixtures: every cache decrypts to its case")
    return 0


if __name__ == "__main__":
    sys.exit(main())
