#!/usr/bin/env python3
"""render_ref.py - the reference side of tests/chat/templates.test.sh.

Renders chat templates with Python's jinja2 in the environment Hugging Face
transformers builds in chat_template_utils._compile_jinja_template:
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the
loopcontrols extension and a {% generation %} tag, `tojson` replaced by
json.dumps(x, ensure_ascii=False, indent=..., separators=..., sort_keys=...),
and the globals raise_exception(msg) and strftime_now(fmt).  The variables
are the ones apply_chat_template passes: messages, tools (None when absent),
documents=None, add_generation_prompt, bos_token, eos_token and any extra
keys of the conversation file.

usage: render_ref.py --now SECONDS --out DIR JOBS.tsv
JOBS.tsv lines: id, template path, conversation path, add_generation_prompt
(0/1), bos, eos - tab separated.  Writes DIR/<id>.out (UTF-8 bytes) or
DIR/<id>.err (the exception) per job.
"""
import argparse
import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTag(jinja2.ext.Extension):
    """transformers' AssistantTracker, minus the index tracking: renders the
    body of {% generation %} ... {% endgeneration %} as a call block."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def make_env(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.datetime.fromtimestamp(now).strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(env, template_path, conv_path, add_gen, bos, eos):
    with open(template_path, encoding="utf-8") as f:
        source = f.read()
    with open(conv_path, encoding="utf-8") as f:
        conv = json.load(f)
    extra = {}
    if isinstance(conv, dict):
        extra = dict(conv)
        messages = extra.pop("messages", None)
    else:
        messages = conv
    tools = extra.pop("tools", None)
    variables = {"messages": messages, "tools": tools, "documents": None,
                 "add_generation_prompt": add_gen}
    if bos is not None:
        variables["bos_token"] = bos
    if eos is not None:
        variables["eos_token"] = eos
    variables.update(extra)
    return env.from_string(source).render(**variables)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--now", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("jobs")
    args = ap.parse_args()
    env = make_env(args.now)
    with open(args.jobs, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            job_id, tpl, conv, add_gen, bos, eos = line.split("\t")
            base = os.path.join(args.out, job_id)
            try:
                text = render(env, tpl, conv, add_gen == "1", bos, eos)
                data = text.encode("utf-8")
            except Exception as e:  # the test only needs "it raised"
                with open(base + ".err", "w", encoding="utf-8") as g:
                    g.write(f"{type(e).__name__}: {e}\n")
                continue
            with open(base + ".out", "wb") as g:
                g.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
