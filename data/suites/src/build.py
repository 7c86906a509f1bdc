"""Builds data/suites/*.jsonl from the generator modules.

usage: python3 data/suites/src/build.py [--check]

--check runs every exec task's reference against its hidden tests (and each
bug-fix task's buggy code, which must fail them) with the local python3.
The C tests (tests/eval/test_suites.c) check every suite again through the
real pipeline: sandbox, extraction and graders."""
import sys

sys.dont_write_bytecode = True

import common  # noqa: E402
import gen_basics  # noqa: E402
import gen_code  # noqa: E402
import gen_json  # noqa: E402
import gen_math  # noqa: E402
import gen_tools  # noqa: E402

SUITES = {"basics": gen_basics, "code": gen_code, "json": gen_json, "tools": gen_tools, "math": gen_math}


def check(tasks):
    bad = 0
    for t in tasks:
        if t.get("grader") != "exec":
            continue
        ok, why = common.check_exec(t)
        if not ok:
            bad += 1
            print("FAIL", t["id"], why)
    return bad


def check_bugs():
    bad = 0
    for lang, name, buggy, *_rest in gen_basics.BUGFIXES:
        t = {"test": _rest[-1], "test_call": f"check({name})"}
        if common.check_exec(t, buggy)[0]:
            bad += 1
            print("BUGGY CODE PASSES", name)
    return bad


def main():
    bad = 0
    for name, mod in SUITES.items():
        tasks = mod.build()
        if "--check" in sys.argv:
            bad += check(tasks)
        common.write_suite(name, tasks)
    if "--check" in sys.argv:
        bad += check_bugs()
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
