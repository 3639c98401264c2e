"""Path converters for codes that appear in URLs: letters, digits (and dashes where a code has
them). Anything else, a NUL byte, a slash, a space, names no page and never reaches a view. Each
app declares its codes' shapes (``invitations.urls``, ``rewards.urls``)."""


class CodeConverter:
    regex: str  # each subclass says which characters and how many

    def to_python(self, value: str) -> str:
        """Raise ``ValueError`` for a value that cannot be a code: the URL names no page."""
        return value

    def to_url(self, value: str) -> str:
        return value
