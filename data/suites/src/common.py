"""Shared helpers for the generators of tinylm's built-in eval suites.

The JSONL files in data/suites/ are generated from these scripts (run
`python3 data/suites/src/build.py`) and committed; the scripts are the
editable source.  Every task carries a reference answer, and `--check`
runs each exec task's reference against its hidden tests with the local
python3 (the C test suite re-checks everything through the real sandbox).
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.dirname(HERE)


def write_suite(name, tasks):
    ids = set()
    path = os.path.join(OUT, name + ".jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for t in tasks:
            assert t["id"] not in ids, t["id"]
            ids.add(t["id"])
            t.setdefault("suite", name)
            f.write(json.dumps(t, ensure_ascii=False, sort_keys=False) + "\n")
    print(f"{path}: {len(tasks)} tasks")


def run_python(program, fixtures=None, timeout=20):
    with tempfile.TemporaryDirectory() as d:
        for fx in fixtures or []:
            with open(os.path.join(d, fx["name"]), "w", encoding="utf-8") as f:
                f.write(fx["content"])
        with open(os.path.join(d, "prog.py"), "w", encoding="utf-8") as f:
            f.write(program)
        r = subprocess.run([sys.executable, "-I", "-B", "prog.py"], cwd=d,
                           capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout, r.stderr


def check_exec(t, code=None):
    code = t["reference"] if code is None else code
    if "```" in code:
        code = code.split("```")[1].split("\n", 1)[1]
    parts = [t.get("prelude", ""), code, t.get("test", ""), t.get("test_call", "")]
    program = "\n\n".join(p for p in parts if p) + "\n"
    rc, out, err = run_python(program, t.get("fixtures"))
    return rc == 0, err.strip().splitlines()[-1:] if err else out[-200:]


def fence(code, lang="python"):
    return f"```{lang}\n{code.rstrip()}\n```"
