"""Text a person must write, such as a rollback's reason or a rejection's comment: blank is what shows nothing."""

import unicodedata

# Whitespace, control and format characters (zero-width spaces and joiners, direction marks and
# overrides, the byte order mark): a text of nothing else reads as empty on every page.
_INVISIBLE = {"Cc", "Cf", "Zs", "Zl", "Zp"}


def is_blank(text: str | None) -> bool:
    """Whether `text` shows nothing: it is empty, or only whitespace and invisible characters."""
    return all(unicodedata.category(character) in _INVISIBLE for character in text or "")
