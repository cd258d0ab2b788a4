"""What the pipeline knows about one request, whatever door it came through: who sent it, from
where, when it started, and (once known) which model it named. Counting and the log row work
from these facts alone."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.http import HttpRequest

from apps.core.client_ip import client_ip
from apps.core.envelope import new_request_id
from apps.customers.principal import Principal
from apps.customers.token_secrets import prefix_of


@dataclass
class RequestFacts:
    request_id: str
    method: str  # the HTTP method; "WS" for a WebSocket message, "BATCH" for a batch item
    path: str
    client_ip: str
    user_agent: str = ""
    presented_prefix: str = ""  # public prefix of a presented (maybe invalid) token, for the log
    idempotency_key: str = ""
    principal: Principal | None = None
    model: str = ""
    stream: bool = False
    started_at: float = field(default_factory=time.perf_counter)


def http_facts(request: HttpRequest) -> RequestFacts:
    meta = request.META
    scheme, _, token = meta.get("HTTP_AUTHORIZATION", "").partition(" ")
    return RequestFacts(
        request_id=new_request_id(),
        method=request.method or "",
        path=request.path,
        client_ip=client_ip(request),
        user_agent=meta.get("HTTP_USER_AGENT", ""),
        presented_prefix=prefix_of(token.strip()) if scheme.lower() == "bearer" else "",
        idempotency_key=meta.get("HTTP_IDEMPOTENCY_KEY", "")[:255],
    )
