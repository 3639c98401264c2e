"""A field's own choices written into SQL as literals, so that prepared statements can still use
the partial indexes made for them.

The project's connections prepare a statement after a few runs (``PREPARE_THRESHOLD``) and keep
it while they live (``CONN_MAX_AGE``). PostgreSQL may then plan it once for any value of its
parameters, and a plan for ``status = $1`` cannot use an index made ``WHERE status = 'pending'``:
the grant path's check for grants waiting for stock read every grant that way (37 ms a grant at
300,000 grants, ``docs/benchmarks.md`` section 1c). A filter on a field with choices, by one of
those choices (``status=Grant.Status.PENDING_STOCK``, ``status__in=[...]``), is written with the
values in the SQL; the values are the field's declared choices, never a user's input. Any other
value stays a parameter."""

from django.db.models import CharField
from django.db.models.lookups import Exact, In


def _choice_values(lookup) -> set[str]:
    field = getattr(lookup.lhs, "output_field", None)
    choices = getattr(field, "flatchoices", None) or ()
    return {str(value) for value, _label in choices}


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''").replace("%", "%%") + "'"


class ChoiceExact(Exact):
    def as_sql(self, compiler, connection):
        if isinstance(self.rhs, str) and self.rhs in _choice_values(self):
            lhs, lhs_params = self.process_lhs(compiler, connection)
            return f"{lhs} = {_literal(self.rhs)}", lhs_params
        return super().as_sql(compiler, connection)


class ChoiceIn(In):
    def as_sql(self, compiler, connection):
        values = self.rhs if isinstance(self.rhs, list | tuple | set | frozenset) else None
        choices = _choice_values(self) if values else set()
        if values and all(isinstance(value, str) and value in choices for value in values):
            lhs, lhs_params = self.process_lhs(compiler, connection)
            listed = ", ".join(_literal(value) for value in sorted(values))
            return f"{lhs} IN ({listed})", lhs_params
        return super().as_sql(compiler, connection)


def register() -> None:
    CharField.register_lookup(ChoiceExact)
    CharField.register_lookup(ChoiceIn)
