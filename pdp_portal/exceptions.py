"""The portal's refusals: permissions, states, reviews and releases.

Every refusal a service can make is a `DomainError` (engine/errors.py, with the engine's own
InvalidDocument, InvalidInput and InvalidDataset) or one of these. Adapters map them: the API to
a status code with a JSON body, the portal to a message, the CLI and management commands to an
exit code.
"""

from engine.errors import DomainError


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


class GovernanceRefused(ReleaseRefused):
    """A promotion of a version that fails a governance check in force now; `details["findings"]` lists them."""

    code = "governance_refused"
