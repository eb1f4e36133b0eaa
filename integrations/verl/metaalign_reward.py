"""veRL custom reward function that scores rollouts with metaalign's verifiers.

It forwards each response to a running ``metaalign serve-reward`` service
(OpenRLHF's remote reward protocol) and returns its reward. Standard library
only, so it runs in any veRL worker environment.

Use it with a dataset written by ``metaalign export --format verl``: each
row's ``extra_info.label`` holds the task record the service verifies against.

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


def _label(extra_info):
    if isinstance(extra_info, dict) and isinstance(extra_info.get("label"), str):
        return extra_info["label"]
    raise ValueError(
        "metaalign_reward: extra_info has no `label` (the task record JSON); "
        "use a dataset written by `metaalign export --format verl`"
    )


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
    answer = _post({"query": [solution_str], "labels": [_label(extra_info)]})
    return _results(answer, 1)[0]


def compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos, **kwargs):
    """veRL's batch reward manager form: one request for the whole batch."""
    labels = [_label(e) for e in extra_infos]
    answer = _post({"query": list(solution_strs), "labels": labels})
    return _results(answer, len(labels))
