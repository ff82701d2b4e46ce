"""Griffe extension for the API reference: reads rdsshare's docstrings the way its authors wrote them.

rdsshare's docstrings use reStructuredText habits (they read well in ``help()``); mkdocstrings renders
Markdown. This extension, loaded by mkdocstrings from ``mkdocs.yml``, translates at build time and
leaves the source alone:

* roles such as ``:class:`~rdsshare.InputError``` and ``:meth:`build``` become cross-references to the
  documented object (plain code when the object is not in the reference); a role naming something that
  does not exist is a warning, so ``mkdocs build --strict`` fails;
* ``Paragraph::`` followed by an indented block, and ``>>>`` doctest lines, become fenced code blocks;
* ``#:`` comments above attributes (``ShareResult`` fields) become the attributes' docstrings;
* classes made with ``attrs.frozen``/``attrs.define`` get the ``__init__`` attrs generates at run time,
  so their signatures show the keyword arguments (griffe does this itself for dataclasses only).
"""

from __future__ import annotations

import logging
import re
import textwrap
from typing import Any

from griffe import (
    Alias,
    Attribute,
    Class,
    Docstring,
    Expr,
    ExprCall,
    ExprKeyword,
    Extension,
    Function,
    Module,
    NameResolutionError,
    Object,
    Parameter,
    ParameterKind,
    Parameters,
)

# A logger under "mkdocs." so that a warning fails `mkdocs build --strict`.
_log = logging.getLogger("mkdocs.plugins.rdsshare.griffe")

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|exc|data|obj):`(?P<tilde>~?)(?P<target>[^`]+)`")
_ATTRS_DECORATORS = {"attrs.frozen", "attrs.define", "attrs.mutable", "attr.s", "attr.attrs", "attr.frozen"}


class RdsshareDocstrings(Extension):
    """Applies the translations above once the ``rdsshare`` package is loaded."""

    def on_package(self, *, pkg: Module, **kwargs: Any) -> None:
        if pkg.name != "rdsshare":
            return
        public = _public_paths(pkg)
        for obj in _walk(pkg):
            if isinstance(obj, Class):
                _add_attrs_init(obj)
            if isinstance(obj, Attribute) and obj.docstring is None:
                _comment_docstring(obj)
            if obj.docstring is not None:
                text = _code_blocks(obj.docstring.value)
                text = _ROLE.sub(lambda m, o=obj: _crossref(m, o, pkg, public), text)  # type: ignore[misc]
                obj.docstring.value = text


def _walk(obj: Object) -> list[Object]:
    out: list[Object] = [obj]
    for member in obj.members.values():
        if isinstance(member, Alias):
            continue
        out.extend(_walk(member))
    return out


def _public_paths(pkg: Module) -> dict[str, str]:
    """Canonical path -> documented path, for what ``rdsshare`` and ``rdsshare.testing`` export."""
    out: dict[str, str] = {}
    modules: list[Object] = [pkg]
    testing = pkg.members.get("testing")
    if isinstance(testing, Module):
        modules.append(testing)
    for module in modules:
        for name, member in module.members.items():
            if isinstance(member, Alias) and not name.startswith("_"):
                out[member.target_path] = f"{module.path}.{name}"
    return out


# -- cross-references -------------------------------------------------------------------------------
def _exists(pkg: Module, path: str) -> bool:
    if not path.startswith(f"{pkg.name}."):
        return True  # outside rdsshare (stdlib, boto3): not ours to check
    obj: Object | Alias = pkg
    for part in path.split(".")[1:]:
        try:
            # all_members: a class's inherited members count too (EmulatedAWS gets its seed helpers so).
            obj = getattr(obj, "all_members", obj.members)[part]
        except (KeyError, AttributeError):
            return False
    return True


def _public(path: str, public: dict[str, str]) -> str:
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        if head in public:
            return ".".join([public[head], *parts[cut:]])
    return path


def _crossref(match: re.Match[str], obj: Object, pkg: Module, public: dict[str, str]) -> str:
    target = match["target"]
    path: str | None = target
    if "." not in target and target != pkg.name:
        scope = obj if isinstance(obj, Module | Class) else obj.parent
        try:
            path = scope.resolve(target) if scope is not None else None
        except NameResolutionError:
            path = None
    if path is None or not _exists(pkg, path):
        _log.warning("%s: docstring names %r, which does not exist", obj.path, target)
        path = target
    label = target.rsplit(".", 1)[-1] if match["tilde"] else target
    return f'<autoref identifier="{_public(path, public)}" optional><code>{label}</code></autoref>'


# -- code blocks --------------------------------------------------------------------------------------
def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _code_blocks(text: str) -> str:
    """``Para::`` + indented block -> fenced python; ``>>>`` runs -> fenced pycon."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.endswith("::") and not stripped.startswith((">>>", "-", "*")):
            base = _indent(line)
            if stripped != "::":
                out.append(line.rstrip()[:-1])  # "one::" -> "one:"
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            code = textwrap.dedent("\n".join(block)).strip("\n")
            out += ["", " " * base + "```python", *(" " * base + c for c in code.split("\n")), " " * base + "```", ""]
            continue
        if stripped.startswith(">>> "):
            base = _indent(line)
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(re.sub(r"\s*# doctest:.*$", "", lines[i][base:]))
                i += 1
            out += ["", " " * base + "```pycon", *(" " * base + b for b in block), " " * base + "```", ""]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


# -- attribute comments ----------------------------------------------------------------------------------
def _comment_docstring(attr: Attribute) -> None:
    """``#: text`` lines right above an attribute become its docstring (Sphinx's convention)."""
    if attr.lineno is None:
        return
    source = attr.module.lines  # empty without source: nothing to read
    comments: list[str] = []
    index = attr.lineno - 2  # the line above, 0-based
    while index >= 0 and source[index].strip().startswith("#:"):
        comments.insert(0, source[index].strip()[2:].strip())
        index -= 1
    if comments:
        attr.docstring = Docstring("\n".join(comments), parent=attr)


# -- attrs __init__ ----------------------------------------------------------------------------------------
def _attrs_decorator(cls: Class) -> Expr | str | None:
    for decorator in cls.decorators:
        value = decorator.value
        path = value.function.canonical_path if isinstance(value, ExprCall) else getattr(value, "canonical_path", "")
        if path in _ATTRS_DECORATORS:
            return value
    return None


def _call_args(value: Any) -> dict[str, Any]:
    if not isinstance(value, ExprCall):
        return {}
    return {arg.name: arg.value for arg in value.arguments if isinstance(arg, ExprKeyword)}


def _attrs_fields(cls: Class) -> list[Parameter]:
    kw_only = _call_args(_attrs_decorator(cls)).get("kw_only") == "True"
    params: list[Parameter] = []
    for member in cls.members.values():
        if not isinstance(member, Attribute) or member.annotation is None or "property" in member.labels:
            continue
        if "ClassVar" in str(member.annotation):
            continue
        value = member.value
        field = _call_args(value) if isinstance(value, ExprCall) and "field" in str(value.function) else None
        if field is not None and field.get("init") == "False":
            continue
        default: str | Expr | None
        if field is None:
            default = value
        elif "default" in field:
            default = field["default"]
        elif "factory" in field:
            default = f"{field['factory']}()"
        else:
            default = None
        kind = ParameterKind.keyword_only if kw_only else ParameterKind.positional_or_keyword
        params.append(Parameter(member.name.lstrip("_"), annotation=member.annotation, kind=kind, default=default))
    return params


def _add_attrs_init(cls: Class) -> None:
    if "__init__" in cls.members or _attrs_decorator(cls) is None:
        return
    params: dict[str, Parameter] = {}
    try:
        mro = [c for c in reversed(cls.mro()) if isinstance(c, Class)]
    except ValueError:  # unresolvable bases: own fields only
        mro = []
    for klass in [*mro, cls]:
        if _attrs_decorator(klass) is not None:
            for param in _attrs_fields(klass):
                params[param.name] = param
    ordered = sorted(params.values(), key=lambda p: p.kind is ParameterKind.keyword_only)
    init = Function(
        "__init__",
        lineno=cls.lineno,
        endlineno=cls.lineno,
        parent=cls,
        parameters=Parameters(
            Parameter("self", kind=ParameterKind.positional_or_keyword),
            *ordered,
        ),
        returns="None",
    )
    cls.set_member("__init__", init)
