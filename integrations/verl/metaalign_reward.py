"""veRL custom reward function that scores rollouts with metaalign's verifiers.

It forwards each response to a running ``metaalign serve-reward`` service
(OpenRLHF's remote reward protocol) and returns its reward. Standard library
only, so it runs in any veRL worker environment.

Rows of a dataset written by ``metaalign export --format verl`` carry their
task record in ``extra_info.label``; the service verifies against it. Rows of
any other veRL dataset (MATH-500, AIME, GPQA... prepared by veRL's own
scripts) are routed by their ``data_source``: the service gets a short label
``{"kind": "math" | "choice", "answer": ground_truth}`` and checks the answer
with metaalign's math verifier (Math-Verify's rules) or its multiple-choice
verifier. Known sources: names containing math500 / math / aime / amc /
olympiad / minerva / gsm8k / deepscaler go to ``math``; gpqa / mmlu / ai2_arc /
choice go to ``choice``; livecodebench / codecontests / apps / taco / code go
to ``code`` (the program in the response runs against the row's tests in the
service's sandbox: ``ground_truth`` is veRL's
``{"inputs": [...], "outputs": [...], "fn_name"?}``, as a dict or JSON text;
each label asks for METAALIGN_CODE_TIMEOUT seconds per test, default 10, the
training anchors' limit). Add or override with METAALIGN_DATA_SOURCES.

    custom_reward_function.path=integrations/verl/metaalign_reward.py
    custom_reward_function.name=compute_score          # one response per call
    # or, with reward_model.reward_manager=batch:
    custom_reward_function.name=compute_score_batch

Settings (environment variables of the veRL workers):
    METAALIGN_REWARD_URL         full URL, default http://127.0.0.1:5000/get_reward
                                 (several, comma-separated: batches go round-robin)
    METAALIGN_REWARD_TOKEN_FILE  file holding the bearer token, when the service has one
    METAALIGN_REWARD_TIMEOUT     seconds per request (default 60)
    METAALIGN_REWARD_RETRIES     attempts before giving up (default 5, 1 s apart)
    METAALIGN_CODE_TIMEOUT       seconds per test of code rows (default 10)
    METAALIGN_DATA_SOURCES       extra routes, comma-separated NAME=KIND pairs
                                 (e.g. "my_olympiad=math,sciq=choice"); an exact
                                 data_source name here wins over the built-in ones
"""

import itertools
import json
import os
import time
import urllib.error
import urllib.request

_URLS = [
    u.strip()
    for u in os.environ.get(
        "METAALIGN_REWARD_URL", "http://127.0.0.1:5000/get_reward"
    ).split(",")
    if u.strip()
]
_NEXT_URL = itertools.cycle(_URLS)
_TIMEOUT = float(os.environ.get("METAALIGN_REWARD_TIMEOUT", "60"))
_RETRIES = max(1, int(os.environ.get("METAALIGN_REWARD_RETRIES", "5")))
_TOKEN = None


def _token():
    global _TOKEN
    path = os.environ.get("METAALIGN_REWARD_TOKEN_FILE")
    if path and _TOKEN is None:
        with open(path, encoding="utf-8") as f:
            _TOKEN = f.read().strip()
    return _TOKEN


# Substrings of a normalised data_source name (lower case, letters and
# digits only) and the task kind they route to; the first match wins.
_BUILTIN_ROUTES = [
    ("livecodebench", "code"),
    ("codecontests", "code"),
    ("taco", "code"),
    ("apps", "code"),
    ("humaneval", "code"),
    ("mbpp", "code"),
    ("code", "code"),
    ("gpqa", "choice"),
    ("mmlu", "choice"),
    ("ai2arc", "choice"),
    ("choice", "choice"),
    ("math500", "math"),
    ("aime", "math"),
    ("amc", "math"),
    ("olympiad", "math"),
    ("minerva", "math"),
    ("gsm8k", "math"),
    ("deepscaler", "math"),
    ("math", "math"),
]


def _user_routes():
    routes = {}
    for item in os.environ.get("METAALIGN_DATA_SOURCES", "").split(","):
        if not item.strip():
            continue
        name, sep, kind = item.partition("=")
        if not sep or not name.strip() or not kind.strip():
            raise ValueError(
                "metaalign_reward: METAALIGN_DATA_SOURCES entry %r is not NAME=KIND" % item
            )
        routes[name.strip()] = kind.strip()
    return routes


_ROUTES = _user_routes()
_CODE_TIMEOUT = float(os.environ.get("METAALIGN_CODE_TIMEOUT", "10"))


def _normalise(name):
    return "".join(c for c in str(name).lower() if c.isalnum())


def route(data_source):
    """The metaalign task kind that scores rows of `data_source`."""
    if data_source in _ROUTES:
        return _ROUTES[data_source]
    plain = _normalise(data_source)
    for needle, kind in _BUILTIN_ROUTES:
        if needle in plain:
            return kind
    raise ValueError(
        "metaalign_reward: no task kind for data_source %r and the row has no "
        "`extra_info.label`; add METAALIGN_DATA_SOURCES=%s=math (or =choice, =code), "
        "or use a dataset written by `metaalign export --format verl`" % (data_source, data_source)
    )


def _gold(ground_truth):
    # veRL's math datasets keep the answer as a string; some keep a list
    # (OlympiadBench's final_answer) or a number (AIME).
    if isinstance(ground_truth, (list, tuple)):
        if not ground_truth:
            raise ValueError("metaalign_reward: empty ground_truth list")
        ground_truth = ground_truth[0] if len(ground_truth) == 1 else ", ".join(map(str, ground_truth))
    if isinstance(ground_truth, bool) or ground_truth is None:
        raise ValueError("metaalign_reward: ground_truth %r is not an answer" % (ground_truth,))
    return str(ground_truth)


def label(data_source, ground_truth, extra_info):
    """The label the service scores a row against: the exported task
    record when the row has one, else a short label routed by data_source."""
    if isinstance(extra_info, dict) and isinstance(extra_info.get("label"), str):
        return extra_info["label"]
    kind = route(data_source)
    if kind == "code":
        # veRL keeps code tests as {"inputs", "outputs", "fn_name"?}, as a
        # dict or as its JSON text; the service reads them from `answer`.
        tests = ground_truth if isinstance(ground_truth, str) else json.dumps(ground_truth)
        return json.dumps({"kind": "code", "answer": tests, "timeout_s": _CODE_TIMEOUT})
    return json.dumps({"kind": kind, "answer": _gold(ground_truth)})


def _post(payload):
    body = json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    token = _token()
    if token:
        headers["Authorization"] = "Bearer " + token
    url = next(_NEXT_URL)
    last = None
    for attempt in range(_RETRIES):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            message = e.read().decode("utf-8", "replace")
            if 400 <= e.code < 500:
                # The request itself is wrong: retrying will not help.
                raise RuntimeError(
                    "metaalign reward service at %s answered %d: %s" % (url, e.code, message)
                ) from None
            last = "%d %s" % (e.code, message)
        except (urllib.error.URLError, OSError) as e:
            last = str(e)
        if attempt + 1 < _RETRIES:
            time.sleep(1.0)
    raise RuntimeError(
        "metaalign reward service at %s failed after %d attempts: %s" % (url, _RETRIES, last)
    )


def _results(answer, n):
    rewards = answer["rewards"]
    logs = answer.get("extra_logs", {})
    out = []
    for i in range(n):
        item = {"score": float(rewards[i])}
        for key in ("format_ok", "correct"):
            if key in logs:
                item[key] = float(logs[key][i])
        out.append(item)
    return out


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """veRL's per-sample reward: a dict with `score` (the reward) plus
    `format_ok` and `correct` (0/1) for veRL's metrics."""
    answer = _post(
        {"query": [solution_str], "labels": [label(data_source, ground_truth, extra_info)]}
    )
    return _results(answer, 1)[0]


def compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos, **kwargs):
    """veRL's batch reward manager form: one request for the whole batch."""
    labels = [
        label(d, g, e) for d, g, e in zip(data_sources, ground_truths, extra_infos)
    ]
    answer = _post({"query": list(solution_strs), "labels": labels})
    return _results(answer, len(labels))
