"""Request-body fields of the REST API, read as strictly as the JSON they come in."""

from rest_framework import serializers


class Text(serializers.CharField):
    """Text in a request body: a JSON string. DRF's CharField turns 0 or true into "0" or "True"; the schema
    says string, so a number or a boolean is refused instead."""

    default_error_messages = {"not_text": "Not text: write it as a JSON string, in quotes."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text")
        return super().to_internal_value(data)
