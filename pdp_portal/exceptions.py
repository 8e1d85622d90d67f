"""The domain's errors, and how the API answers them.

Every refusal a service can make is one of these. Adapters map them: the API to a status code
with a JSON body, the portal to a message, the CLI and management commands to an exit code.
"""


class DomainError(Exception):
    """A request the domain refuses. `status` is the HTTP status an adapter answers with."""

    status = 400
    code = "invalid"

    def __init__(self, message, *, details=None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidDocument(DomainError):
    """The rule document cannot be parsed or does not follow the schema."""

    code = "invalid_document"


class InvalidInput(DomainError):
    code = "invalid_input"


class InvalidDataset(InvalidInput):
    """A population file that cannot be read, or breaks the rules of a population."""

    code = "invalid_dataset"


class NotPermitted(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class InvalidTransition(DomainError):
    """The object is not in a state that allows this move."""

    status = 409
    code = "invalid_state"


class ReviewRefused(DomainError):
    """This person may not give this sign-off on this version."""

    status = 403
    code = "review_refused"


class StaleApproval(DomainError):
    """The reviewer saw another content hash than the version has."""

    status = 409
    code = "stale_hash"


class ReleaseRefused(DomainError):
    """A promote or rollback that the release rules do not allow."""

    status = 409
    code = "release_refused"
