#!/usr/bin/env python3
"""Test oracle: renders chat templates as Hugging Face's apply_chat_template does, with Jinja2.

The environment is the one transformers builds (utils/chat_template_utils.py): an
ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, the loopcontrols extension,
tojson overridden to json.dumps(ensure_ascii=False), and the globals raise_exception and
strftime_now. The template sees messages, tools (None), documents (None),
add_generation_prompt, the special tokens and the caller's extra variables. With
continue_final_message the rendering is cut after the final message's content, as
apply_chat_template cuts it.

Reads {"cases": [{"template", "messages", "add_generation_prompt", "continue_final_message",
"variables"}]} as JSON on stdin; writes one JSON array, per case {"text": ...} or {"error": ...}.
"""
import json
import sys
from datetime import datetime

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def cut_after_final_message(rendered, messages):
    final = messages[-1]["content"]
    if final.strip() not in rendered:
        raise ValueError("the final message does not appear in the rendered chat")
    at = rendered.rindex(final.strip())
    if rendered[at:at + len(final.lstrip())] == final:
        return rendered[:at + len(final.lstrip())]
    return rendered[:at + len(final.strip())]


def render(env, case):
    variables = dict(case.get("variables", {}))
    variables.setdefault("tools", None)
    variables.setdefault("documents", None)
    text = env.from_string(case["template"]).render(
        messages=case["messages"], add_generation_prompt=case.get("add_generation_prompt", False), **variables)
    if case.get("continue_final_message"):
        text = cut_after_final_message(text, case["messages"])
    return text


def main():
    env = environment()
    results = []
    for case in json.load(sys.stdin)["cases"]:
        try:
            results.append({"text": render(env, case)})
        except Exception as e:  # the test compares refusals too
            results.append({"error": type(e).__name__ + ": " + str(e)})
    json.dump(results, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
