"""The API's request parsers (DEFAULT_PARSER_CLASSES)."""

from __future__ import annotations

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's parser maps ValueError to a 400 but lets RecursionError (a body nested
    thousands deep) through as a 500; such a body is malformed input like any other."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from exc
