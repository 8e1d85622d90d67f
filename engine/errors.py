"""The errors the engine raises, and the base of every refusal the portal makes.

`status` and `code` say how an adapter reports one: the API as an HTTP status with a JSON body,
the portal as a message, the CLI and management commands as an exit code.
"""

from typing import Any


class DomainError(Exception):
    """A request the domain refuses. `status` is the HTTP status an adapter answers with."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    @classmethod
    def at(cls, field: str, message: str) -> "DomainError":
        """A refusal of what one field says: `details["fields"]` names it, so a form shows it there."""
        return cls(message, details={"fields": {field: message}})


class InvalidDocument(DomainError):
    """The rule document cannot be parsed or does not follow the schema."""

    code = "invalid_document"


class InvalidInput(DomainError):
    code = "invalid_input"


class InvalidDataset(InvalidInput):
    """A population file that cannot be read, or breaks the rules of a population."""

    code = "invalid_dataset"
