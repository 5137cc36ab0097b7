"""django-prometheus' closing middleware with every ``method`` label bounded.

django-prometheus reduces an unknown HTTP method to ``<invalid method>`` for its counters but
labels its latency histogram (``django_http_requests_latency_seconds_by_view_method``) with the
raw method, so a client, no credential needed, made 19 new series with each made-up method
(``curl -X QABCDEFG /favicon.ico``): the scrape and Prometheus grew without bound. Here every
metric's ``method`` label goes through the library's own reduction.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django_prometheus.middleware import PrometheusAfterMiddleware


class BoundedPrometheusAfterMiddleware(PrometheusAfterMiddleware):  # type: ignore[misc]  # untyped library
    def label_metric(
        self, metric: Any, request: HttpRequest, response: HttpResponse | None = None, **labels: Any
    ) -> Any:
        if "method" in labels:
            labels["method"] = self._method(request)
        return super().label_metric(metric, request, response, **labels)
