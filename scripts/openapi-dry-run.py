#!/usr/bin/env python3
"""Loads openapi.yaml into schemathesis and generates requests for every operation, sending none.

    openapi-dry-run.py [SPEC] [--examples N]

The check that the spec is usable by schemathesis before a server exists: every operation must
load (references resolve, schemas compile) and yield N positive and N negative test cases from
a fixed seed, each turned into the HTTP request schemathesis would send. Prints one line per
operation and a closing 'N passed, N failed' line; exits 1 when any operation fails.
"""

import sys

import hypothesis
import hypothesis.errors
from hypothesis import HealthCheck, given, settings

import schemathesis
from schemathesis import GenerationMode


def generate(operation, mode, examples):
    """Returns how many cases the operation yielded in `mode`, each prepared as a request."""
    count = 0

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])
    @given(case=operation.as_strategy(generation_mode=mode))
    def test(case):
        nonlocal count
        case.as_transport_kwargs(base_url="http://127.0.0.1:8080")
        count += 1

    test()
    return count


def main():
    arguments = sys.argv[1:]
    examples = 3
    if "--examples" in arguments:
        index = arguments.index("--examples")
        examples = int(arguments[index + 1])
        del arguments[index:index + 2]
    spec = arguments[0] if arguments else "openapi.yaml"
    schema = schemathesis.openapi.from_path(spec)
    passed = failed = 0
    for result in schema.get_all_operations():
        try:
            operation = result.ok()
        except Exception as error:  # an operation that does not even load
            print(f"FAIL  {error}")
            failed += 1
            continue
        try:
            positive = generate(operation, GenerationMode.POSITIVE, examples)
            try:
                negative = generate(operation, GenerationMode.NEGATIVE, examples)
            except hypothesis.errors.Unsatisfiable:
                # Nothing of the operation can be invalid (say, one optional header of any string).
                negative = 0
            print(f"ok    {operation.method.upper():6} {operation.path}: {positive} positive, {negative} negative cases")
            passed += 1
        except Exception as error:
            print(f"FAIL  {operation.method.upper():6} {operation.path}: {type(error).__name__}: {error}")
            failed += 1
    print(f"openapi dry run: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
