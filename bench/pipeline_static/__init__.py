"""A diagnostic target: the real pipeline (`PipelineViewSet`: auth, rate limit, envelope, request log) around
an endpoint that answers `GET /v1/models` from memory, with no database query and no serializer.
Set against `pipeline`, it splits the pipeline's cost into the shared machinery and the endpoint's work."""
