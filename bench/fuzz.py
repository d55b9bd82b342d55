"""A longer fuzzing run than the test suite's: random images through the CLI's file path
and random arrays through the Python API (sizes 1-2000, 1-4 channels, 8/16-bit and float).

    python bench/fuzz.py --examples 1000

Runs the two hypothesis tests of the suite with FCN8_FUZZ_EXAMPLES set and prints how
many examples each ran, in how many seconds, and whether any failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ("tests/test_hardening.py::test_fuzzed_images_are_all_accounted_for",
         "tests/test_api.py::test_fuzzed_arrays_through_the_api")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000)
    args = parser.parse_args()
    env = {**os.environ, "FCN8_FUZZ_EXAMPLES": str(args.examples)}
    failed = False
    for test in TESTS:
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "pytest", test, "-q", "-p", "no:cacheprovider"],
                                cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        status = "passed" if result.returncode == 0 else "FAILED"
        print(f"{test.split('::')[1]}: {args.examples} examples, {seconds:.0f} s, {status}")
        if result.returncode:
            failed = True
            print(result.stdout[-4000:])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
