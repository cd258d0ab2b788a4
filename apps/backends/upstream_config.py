"""An `openai_compatible` model's upstreams, as its registry config spells them (docs/deploy.md).

Either one server, `"base_url": "http://gpu-1:8000/v1"`, or a pool of replicas:

    "replicas": [
        "http://gpu-1:8000",
        {"url": "http://gpu-2:8000", "weight": 2, "max_in_flight": 64}
    ],
    "cooldown_s": 5

`weight` (default 1) gives a replica a larger share: least-in-flight divides its count by the
weight. `max_in_flight` caps the requests one worker process sends it at once (see upstream_pool).
`cooldown_s` is how long a failing replica stays out before it is probed.
"""

from __future__ import annotations

from typing import Any

from apps.backends.upstream_pool import DEFAULT_COOLDOWN_S, ReplicaSpec

REPLICA_KEYS = ("url", "weight", "max_in_flight")
POOL_KEYS = ("replicas", "cooldown_s")


def replica_specs(config: dict[str, Any]) -> list[ReplicaSpec]:
    """The replicas a (valid) config names: `replicas`, or `base_url` as a pool of one."""
    if "replicas" not in config:
        return [ReplicaSpec(url=config["base_url"])] if config.get("base_url") else []
    return [_spec(entry) for entry in config["replicas"]]


def cooldown_s(config: dict[str, Any]) -> float:
    return float(config.get("cooldown_s", DEFAULT_COOLDOWN_S))


def upstream_problems(config: dict[str, Any]) -> list[str]:
    """What is wrong with the upstream keys of a config, in words for the operator."""
    has_base, has_replicas = bool(config.get("base_url")), "replicas" in config
    if has_base and has_replicas:
        return ["Give either 'base_url' or 'replicas', not both."]
    if not has_base and not has_replicas:
        return ["Missing 'base_url' (one server) or 'replicas' (several)."]
    problems = _url_problems("base_url", config["base_url"]) if has_base else _replicas_problems(config["replicas"])
    cooldown = config.get("cooldown_s", DEFAULT_COOLDOWN_S)
    if not _is_number(cooldown) or cooldown <= 0:
        problems.append("'cooldown_s' must be a number of seconds above 0.")
    return problems


def _spec(entry: str | dict[str, Any]) -> ReplicaSpec:
    if isinstance(entry, str):
        return ReplicaSpec(url=entry)
    return ReplicaSpec(
        url=entry["url"], weight=float(entry.get("weight", 1.0)), max_in_flight=entry.get("max_in_flight")
    )


def _replicas_problems(replicas: Any) -> list[str]:
    if not isinstance(replicas, list) or not replicas:
        return ['\'replicas\' must be a non-empty list of URLs or {"url", "weight", "max_in_flight"} objects.']
    problems: list[str] = []
    for index, entry in enumerate(replicas):
        problems += _replica_problems(f"replicas[{index}]", entry)
    if not problems:
        urls = [spec.url for spec in replica_specs({"replicas": replicas})]
        problems += [f"Replica {url} is listed twice." for url in sorted({u for u in urls if urls.count(u) > 1})]
    return problems


def _replica_problems(where: str, entry: Any) -> list[str]:
    if isinstance(entry, str):
        return _url_problems(where, entry)
    if not isinstance(entry, dict):
        return [f"{where} must be a URL or an object with 'url'."]
    problems = [
        f"{where}: unknown key {key!r}; allowed: {', '.join(REPLICA_KEYS)}."
        for key in sorted(set(entry) - set(REPLICA_KEYS))
    ]
    problems += _url_problems(f"{where}.url", entry.get("url"))
    weight = entry.get("weight", 1)
    if not _is_number(weight) or weight <= 0:
        problems.append(f"{where}.weight must be a number above 0.")
    cap = entry.get("max_in_flight")
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
        problems.append(f"{where}.max_in_flight must be a whole number of at least 1.")
    return problems


def _url_problems(where: str, url: Any) -> list[str]:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return [f"{where} must be a URL: it must start with http:// or https://."]
    return []


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
