"""The REST API's one body parser, in a module of its own: DRF's views read DEFAULT_PARSER_CLASSES, which
names it, when they are first imported, so it must import nothing of DRF's views."""

from django.conf import settings
from rest_framework.parsers import BaseParser

from engine.document import MAX_DOCUMENT_BYTES, parse_strict


class StrictJSONParser(BaseParser):
    """JSON bodies parsed as strictly as rule documents: no duplicate keys, NaN, or deep nesting."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        # One byte past the limit is enough to refuse; never read an unbounded body into memory.
        return parse_strict(stream.read(MAX_DOCUMENT_BYTES + 1) if stream is not None else b"")


class BatchJSONParser(StrictJSONParser):
    """The same strict JSON, for the batch decision endpoint's larger bodies (PDP_DECISION_BATCH_MAX_BYTES)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.PDP_DECISION_BATCH_MAX_BYTES
        return parse_strict(stream.read(limit + 1) if stream is not None else b"", limit=limit)
