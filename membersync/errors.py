"""The one error every service raises for input it refuses: a code a program can match, words a person reads,
and the field that was wrong."""


class ServiceError(Exception):
    def __init__(self, code: str, message: str, *, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __str__(self) -> str:
        where = f" (field: {self.field})" if self.field else ""
        return f"{self.code}: {self.message}{where}"


class NotFound(ServiceError):
    def __init__(self, what: str, ident: object, *, field: str | None = None):
        super().__init__("not_found", f"no {what} with id {ident!r}", field=field)
