"""Path converters for codes that appear in URLs: letters, digits (and dashes where a code has
them). Anything else, a NUL byte, a slash, a space, names no page and never reaches a view."""


class CodeConverter:
    regex: str  # each subclass says which characters and how many

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class InviteCodeConverter(CodeConverter):
    regex = "[0-9A-Za-z]{4,16}"


class GrantNoConverter(CodeConverter):
    regex = "[0-9A-Za-z-]{1,20}"
