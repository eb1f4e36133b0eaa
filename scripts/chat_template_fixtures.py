#!/usr/bin/env python3
"""Parity fixtures for checkpoint chat templates (issue #18).

Renders Qwen2.5-, Llama-3-, Llama-3.2- and Mistral-style `chat_template`s
(the public template strings, written below) with transformers' own
rendering function (`render_jinja_template`, the one `apply_chat_template`
calls) on several message lists, and writes the outputs to

    metaalign-tasks/tests/fixtures/chat_templates.json

which `metaalign-tasks/tests/chat_template_parity.rs` renders again with
minijinja and compares byte for byte. Tests and CI never run this script.

Setup (no torch needed), outside the repository:

    python3 -m venv /tmp/ct-venv
    /tmp/ct-venv/bin/pip install transformers jinja2
    /tmp/ct-venv/bin/python scripts/chat_template_fixtures.py
"""

import json
from pathlib import Path

import jinja2
import transformers
from transformers.utils.chat_template_utils import render_jinja_template

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "metaalign-tasks" / "tests" / "fixtures" / "chat_templates.json"

# Qwen2.5-*-Instruct tokenizer_config.json chat_template.
QWEN25 = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

# Meta-Llama-3-*-Instruct.
LLAMA3 = """{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"""

# Llama-3.1 / 3.2-*-Instruct (tool branches kept; date via strftime_now).
LLAMA32 = """{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message #}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if tools is not none %}
    {{- "Environment: ipython\\n" }}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\\n\\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\\n\\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""

# Mistral-7B-Instruct-v0.1 / v0.2.
MISTRAL = """{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"""

# Mistral-7B-Instruct-v0.3 style (system message folded into the last user
# turn; tool branches left out).
MISTRAL3 = """{%- if messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}
{%- set user_messages = loop_messages | selectattr("role", "equalto", "user") | list %}

{#- This block checks for alternating user/assistant messages, skipping tool calling messages #}
{%- set ns = namespace() %}
{%- set ns.index = 0 %}
{%- for message in loop_messages %}
    {%- if not (message.role == "tool" or message.role == "tool_results" or (message.tool_calls is defined and message.tool_calls is not none)) %}
        {%- if (message["role"] == "user") != (ns.index % 2 == 0) %}
            {{- raise_exception("After the optional system message, conversation roles must alternate user/assistant/user/assistant/...") }}
        {%- endif %}
        {%- set ns.index = ns.index + 1 %}
    {%- endif %}
{%- endfor %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if message["role"] == "user" %}
        {%- if loop.last and system_message is defined %}
            {{- "[INST] " + system_message + "\\n\\n" + message["content"] + "[/INST]" }}
        {%- else %}
            {{- "[INST] " + message["content"] + "[/INST]" }}
        {%- endif %}
    {%- elif message["role"] == "assistant" %}
        {{- " " + message["content"]|trim + eos_token}}
    {%- else %}
        {{- raise_exception("Only user and assistant roles are supported, with the exception of an initial optional system message!") }}
    {%- endif %}
{%- endfor %}
"""

# Python string methods as Qwen3-style templates use them (minijinja needs
# pycompat for these).
PYMETHODS = """{%- for message in messages %}
    {%- set content = message.content %}
    {%- if message.role == "assistant" and '</think>' in content %}
        {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
    {%- endif %}
    {%- if content.startswith('/') %}
        {{- '<|cmd|>' + content[1:].strip() + '\\n' }}
    {%- else %}
        {{- '<|' + message.role.upper() + '|>' + content.strip() + '<|end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|ASSISTANT|>' }}
{%- endif %}
"""

TEMPLATES = {
    "qwen2.5": {
        "chat_template": QWEN25,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
    },
    "llama3": {
        "chat_template": LLAMA3,
        "bos_token": {"content": "<|begin_of_text|>", "lstrip": False, "normalized": False,
                      "rstrip": False, "single_word": False, "special": True},
        "eos_token": "<|eot_id|>",
    },
    "llama3.2": {
        "chat_template": LLAMA32,
        "bos_token": "<|begin_of_text|>",
        "eos_token": "<|eot_id|>",
    },
    "mistral": {
        # A list of named templates, as some checkpoints ship them.
        "chat_template": [
            {"name": "default", "template": MISTRAL},
            {"name": "tool_use", "template": "{{ raise_exception('not this one') }}"},
        ],
        "bos_token": "<s>",
        "eos_token": {"content": "</s>", "special": True},
    },
    "mistral-v0.3": {
        "chat_template": MISTRAL3,
        "bos_token": "<s>",
        "eos_token": "</s>",
    },
    "pymethods": {
        "chat_template": PYMETHODS,
        "eos_token": "<|end|>",
    },
}

SYSTEM = {"role": "system", "content": "You are a careful logician.  "}
USER1 = {"role": "user", "content": "Is (A ∧ ¬A) satisfiable?\nAnswer in <answer></answer>."}
ASSIST1 = {"role": "assistant", "content": "<think>\nNo model.\n</think>\n<answer>no</answer>"}
USER2 = {"role": "user", "content": "  And (A ∨ ¬A)?  "}

CONVERSATIONS = {
    "single_user": [USER1],
    "system_user": [SYSTEM, USER1],
    "multi_turn": [USER1, ASSIST1, USER2],
    "system_multi_turn": [SYSTEM, USER1, ASSIST1, USER2],
    "ends_with_assistant": [USER1, ASSIST1],
    "commands": [{"role": "user", "content": "/think hard "}, ASSIST1],
}


def token_text(t):
    if isinstance(t, dict):
        return t["content"]
    return t


def default_template(tpl):
    if isinstance(tpl, list):
        return next(t["template"] for t in tpl if t["name"] == "default")
    return tpl


def main():
    cases = []
    for tname, cfg in TEMPLATES.items():
        source = default_template(cfg["chat_template"])
        special = {k: token_text(v) for k, v in cfg.items() if k.endswith("_token") and v is not None}
        for cname, messages in CONVERSATIONS.items():
            for agp in (False, True):
                extra = {}
                if tname == "llama3.2":
                    extra["date_string"] = "03 Dec 2026"
                case = {
                    "template": tname,
                    "conversation": cname,
                    "add_generation_prompt": agp,
                    "extra": extra,
                }
                try:
                    rendered, _ = render_jinja_template(
                        conversations=[messages],
                        chat_template=source,
                        add_generation_prompt=agp,
                        **special,
                        **extra,
                    )
                    case["rendered"] = rendered[0]
                except jinja2.exceptions.TemplateError as e:
                    case["error"] = str(e)
                cases.append(case)
    out = {
        "generated_by": "scripts/chat_template_fixtures.py",
        "transformers": transformers.__version__,
        "jinja2": jinja2.__version__,
        "tokenizer_configs": TEMPLATES,
        "conversations": CONVERSATIONS,
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
    n_err = sum("error" in c for c in cases)
    print(f"wrote {OUT} ({len(cases)} cases, {n_err} raising)")


if __name__ == "__main__":
    main()
