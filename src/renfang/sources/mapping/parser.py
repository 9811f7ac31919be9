"""Reading a mapping file: YAML nodes checked key by key, every mistake with its line."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

import yaml
from django.utils.translation import gettext as _

from renfang.codes.selectors import active_codes
from renfang.sources.mapping.fields import (
    CODE_SETS,
    DATE_FIELDS,
    ENCODINGS,
    FIELDS,
    FORMATS,
)
from renfang.sources.mapping.spec import FieldRule, FileOptions, MappingSpec
from renfang.sources.mapping.templates import Template, parse_template
from renfang.sources.mapping.values import Read

_TOP_KEYS = ("record_id", "file", "fields")
_FILE_KEYS = ("encoding", "sheet", "header_row", "format", "delimiter")
_RULE_KEYS = ("value", "date_format", "codes", "default")
_NULL_TAG = "tag:yaml.org,2002:null"
# A date no format mistakes: day above 12, month and day differ from the year's digits.
_SAMPLE_DATE = datetime.date(1987, 11, 23)


@dataclass(frozen=True)
class MappingProblem:
    line: int  # 1-based line of the YAML; 0 for the mapping as a whole
    key: str  # where in the mapping: "fields.sex.codes"
    reason: str

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line else []
        if self.key:
            where.append(self.key)
        return f"{', '.join(where)}: {self.reason}" if where else self.reason


class MappingError(ValueError):
    """A mapping that cannot be used; ``problems`` lists every mistake found."""

    def __init__(self, problems: list[MappingProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class _Parser:
    def __init__(self) -> None:
        self.problems: list[MappingProblem] = []

    def problem(self, node: yaml.Node | None, key: str, reason: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 0
        self.problems.append(MappingProblem(line, key, reason))

    def scalar(self, node: yaml.Node, key: str) -> str | None:
        """A scalar's text as written (None for a null); a problem for anything else."""
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, key, _("must be a single value"))
            return None
        if node.tag == _NULL_TAG:
            return None
        return str(node.value)

    def pairs(self, node: yaml.Node, key: str) -> list[tuple[yaml.Node, str, yaml.Node]]:
        """A mapping's entries (key node, key text, value node), each key once."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, key, _("must be a mapping of keys to values"))
            return []
        entries: list[tuple[yaml.Node, str, yaml.Node]] = []
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, key, _("a key must be a single value"))
                continue
            text = str(key_node.value).strip()
            if text in seen:
                self.problem(key_node, _join(key, text), _("%(key)r appears twice") % {"key": text})
                continue
            seen.add(text)
            entries.append((key_node, text, value_node))
        return entries

    def template(self, node: yaml.Node, key: str) -> Template | None:
        text = self.scalar(node, key)
        if text is None:
            if isinstance(node, yaml.ScalarNode):
                self.problem(node, key, _("must not be empty"))
            return None
        try:
            return parse_template(text)
        except ValueError as exc:
            self.problem(
                node,
                key,
                _("template %(text)r: %(reason)s")
                % {
                    "text": text,
                    "reason": exc,
                },
            )
            return None

    def file_options(self, node: yaml.Node) -> FileOptions:
        options: dict[str, object] = {}
        for key_node, name, value_node in self.pairs(node, "file"):
            key = f"file.{name}"
            if name not in _FILE_KEYS:
                self.problem(key_node, key, _unknown_key(name, _FILE_KEYS))
                continue
            value = self.scalar(value_node, key)
            if value is None:
                continue
            reader = _FILE_OPTION_READERS.get(name)
            parsed, reason = reader(value) if reader is not None else (value, None)
            if reason is not None:
                self.problem(value_node, key, reason)
            else:
                options[name] = parsed
        return FileOptions(**options)  # type: ignore[arg-type]

    def date_formats(self, node: yaml.Node, key: str) -> tuple[str, ...]:
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        formats: list[str] = []
        for item in items:
            text = self.scalar(item, key)
            if text is None:
                continue
            try:
                sample = _SAMPLE_DATE.strftime(text)
                read_back = datetime.datetime.strptime(sample, text).date()  # noqa: DTZ007
            except ValueError:
                read_back = None
            if read_back != _SAMPLE_DATE:
                self.problem(
                    item,
                    key,
                    _("%(format)r does not read a whole date (year, month and day, e.g. %%Y%%m%%d)")
                    % {"format": text},
                )
            else:
                formats.append(text)
        if not items:
            self.problem(node, key, _("give at least one format"))
        return tuple(formats)

    def codes(self, node: yaml.Node, key: str, field_name: str) -> dict[str, str | None]:
        code_set = CODE_SETS[field_name]
        standard = active_codes(code_set)
        if not standard:
            self.problem(node, key, _not_loaded(code_set))
            return {}
        codes: dict[str, str | None] = {}
        for key_node, source_value, value_node in self.pairs(node, key):
            target = self.scalar(value_node, key)
            if target is not None:
                target = target.strip()
            if target is not None and target not in standard:
                self.problem(
                    key_node,
                    key,
                    _("%(value)r maps to %(code)r, which is not a code of %(set)s")
                    % {"value": source_value, "code": target, "set": code_set},
                )
                continue
            codes[source_value] = target or None
        return codes

    def rule(self, key_node: yaml.Node, name: str, node: yaml.Node) -> FieldRule | None:
        key = f"fields.{name}"
        if name not in FIELDS:
            self.problem(key_node, key, _unknown_key(name, FIELDS, what=_("field")))
            return None
        if not isinstance(node, yaml.MappingNode):
            template = self.template(node, key)
            if template is None:
                return None
            rule = FieldRule(name, template)
            if template.constant:
                self.check_constant(rule, template.text, node, key)
            return rule
        return self.full_rule(name, node, key)

    def full_rule(self, name: str, node: yaml.MappingNode, key: str) -> FieldRule | None:
        """A field written as a mapping: value, date_format, codes, default."""
        entries = {
            entry: (entry_node, value_node)
            for entry_node, entry, value_node in self.pairs(node, key)
        }
        for entry, (entry_node, _value_node) in entries.items():
            if entry not in _RULE_KEYS:
                self.problem(entry_node, f"{key}.{entry}", _unknown_key(entry, _RULE_KEYS))
        if "value" not in entries:
            self.problem(node, f"{key}.value", _("required: the template of the field's value"))
            return None
        template = self.template(entries["value"][1], f"{key}.value")
        date_formats: tuple[str, ...] = ()
        if "date_format" in entries:
            entry_node, value_node = entries["date_format"]
            if name not in DATE_FIELDS:
                self.problem(entry_node, f"{key}.date_format", _only_on(name, sorted(DATE_FIELDS)))
            else:
                date_formats = self.date_formats(value_node, f"{key}.date_format")
        codes: dict[str, str | None] = {}
        if "codes" in entries:
            entry_node, value_node = entries["codes"]
            if name not in CODE_SETS:
                self.problem(entry_node, f"{key}.codes", _only_on(name, list(CODE_SETS)))
            else:
                codes = self.codes(value_node, f"{key}.codes", name)
        default_node = entries["default"][1] if "default" in entries else None
        default = self.scalar(default_node, f"{key}.default") if default_node else None
        if template is None:
            return None
        rule = FieldRule(name, template, default.strip() if default else None, date_formats, codes)
        if default and default_node is not None:
            self.check_constant(rule, default, default_node, f"{key}.default")
        if template.constant:
            self.check_constant(rule, template.text, entries["value"][1], f"{key}.value")
        return rule

    def check_constant(self, rule: FieldRule, value: str, node: yaml.Node, key: str) -> None:
        """A constant or a default must read as the field's rule reads a value."""
        value = value.strip()
        if not value:
            return
        spec = MappingSpec(
            record_id=Template("", (), ()), file=FileOptions(), rules={rule.field: rule}
        )
        for read in spec.read_field(rule.field, value):
            if not isinstance(read, Read):
                continue
            if read.problem is not None:
                self.problem(node, key, read.problem)
            elif read.unmapped is not None:
                code_set = CODE_SETS[rule.field]
                if not active_codes(code_set):
                    self.problem(node, key, _not_loaded(code_set))
                else:
                    self.problem(
                        node,
                        key,
                        _("%(value)r is not a code of %(set)s (nor mapped under codes:)")
                        % {"value": read.unmapped, "set": code_set},
                    )

    def spec(self, text: str) -> MappingSpec | None:
        root = self.compose(text)
        if root is None:
            return None
        record_id: Template | None = None
        file_options = FileOptions()
        rules: dict[str, FieldRule] = {}
        entries = {
            name: (key_node, value_node) for key_node, name, value_node in self.pairs(root, "")
        }
        for name, (key_node, _value_node) in entries.items():
            if name not in _TOP_KEYS:
                self.problem(key_node, name, _unknown_key(name, _TOP_KEYS))
        for required in ("record_id", "fields"):
            if required not in entries and isinstance(root, yaml.MappingNode):
                self.problems.append(MappingProblem(0, required, _("required, and missing")))
        if "record_id" in entries:
            record_id = self.record_id(entries["record_id"][1])
        if "file" in entries:
            file_options = self.file_options(entries["file"][1])
        if "fields" in entries:
            rules = self.rules(entries["fields"][1])
        if self.problems or record_id is None:
            return None
        ordered = {name: rules[name] for name in FIELDS if name in rules}
        return MappingSpec(record_id=record_id, file=file_options, rules=ordered)

    def compose(self, text: str) -> yaml.Node | None:
        try:
            root: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 0
            reason = getattr(exc, "problem", None) or str(exc)
            self.problems.append(
                MappingProblem(line, "", _("not YAML: %(reason)s") % {"reason": reason})
            )
            return None
        if root is None:
            self.problems.append(MappingProblem(0, "", _("the mapping is empty")))
        return root

    def record_id(self, node: yaml.Node) -> Template | None:
        template = self.template(node, "record_id")
        if template is not None and template.constant:
            self.problem(
                node,
                "record_id",
                _('must name the columns that identify a record, e.g. "{人员编号}"'),
            )
            return None
        return template

    def rules(self, node: yaml.Node) -> dict[str, FieldRule]:
        rules: dict[str, FieldRule] = {}
        entries = self.pairs(node, "fields")
        for key_node, name, rule_node in entries:
            rule = self.rule(key_node, name, rule_node)
            if rule is not None:
                rules[name] = rule
        if not entries and isinstance(node, yaml.MappingNode):
            self.problem(node, "fields", _("map at least one field"))
        return rules


def _read_encoding(value: str) -> tuple[object, str | None]:
    if value.lower() not in ENCODINGS:
        return None, _one_of(value, ENCODINGS)
    return value.lower(), None


def _read_format(value: str) -> tuple[object, str | None]:
    if value.lower() not in FORMATS:
        return None, _one_of(value, FORMATS)
    return value.lower(), None


def _read_header_row(value: str) -> tuple[object, str | None]:
    if not value.isdigit() or int(value) < 1:
        return None, _("%(value)r is not a row number (1, 2, …)") % {"value": value}
    return int(value), None


def _read_delimiter(value: str) -> tuple[object, str | None]:
    if value == "\\t":
        return "\t", None
    if len(value) != 1:
        return None, _("a delimiter is one character")
    return value, None


_FILE_OPTION_READERS: dict[str, Callable[[str], tuple[object, str | None]]] = {
    "encoding": _read_encoding,
    "format": _read_format,
    "header_row": _read_header_row,
    "delimiter": _read_delimiter,
}


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _unknown_key(name: str, known: tuple[str, ...], what: str | None = None) -> str:
    return _("unknown %(what)s %(name)r; known: %(known)s") % {
        "what": what or _("key"),
        "name": name,
        "known": ", ".join(known),
    }


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    return _("%(value)r is not one of %(allowed)s") % {
        "value": value,
        "allowed": ", ".join(allowed),
    }


def _only_on(name: str, fields: list[str]) -> str:
    return _("not allowed on %(field)s, only on %(fields)s") % {
        "field": name,
        "fields": ", ".join(fields),
    }


def _not_loaded(code_set: str) -> str:
    return _("code set %(set)s is not loaded (renfang codes load)") % {"set": code_set}


def parse_mapping(text: str) -> MappingSpec:
    """The mapping read and checked; raises MappingError listing every problem found."""
    parser = _Parser()
    spec = parser.spec(text)
    if spec is None:
        raise MappingError(parser.problems or [MappingProblem(0, "", _("the mapping is empty"))])
    return spec
