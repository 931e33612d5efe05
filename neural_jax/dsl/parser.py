"""Text -> syntax tree (:mod:`neural_jax.dsl.ast`), with errors a person can read.

The grammar is ``grammar.lark`` beside this file; lark's LALR parser builds a parse tree that
:class:`_ToAst` turns into frozen AST nodes with source spans. Lark's exceptions never leave
this module: :func:`parse_ast` turns each into a :class:`NeuralSyntaxError` that names what
was expected in words ("expected ')' after argument list"), not as a token dump.
"""

from __future__ import annotations

import functools
import pathlib
import re

import lark
from lark import Token, Transformer, v_args

from neural_jax.core.errors import NeuralError, NeuralSyntaxError, NeuralValidationError
from neural_jax.core.source import NO_SPAN, Source, Span
from neural_jax.dsl import ast

__all__ = ["MAX_DIGITS", "MAX_NESTING", "parse_ast", "grammar_text"]

#: the most digits a whole-number literal may have (Python's own conversion limit is 4300)
MAX_DIGITS = 4000
#: the deepest brackets ( [ { may nest in the text
MAX_NESTING = 64

_GRAMMAR = pathlib.Path(__file__).with_name("grammar.lark")


def grammar_text() -> str:
    """The grammar file's text."""
    return _GRAMMAR.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _lark() -> lark.Lark:
    return lark.Lark(
        grammar_text(),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=True,  # lark keeps the built tables in a temp file keyed by the grammar
    )


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


def _unescape(body: str) -> str:
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "u" and i + 6 <= len(body):
                try:
                    out.append(chr(int(body[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                except ValueError:
                    pass
            out.append(nxt)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _tok_span(tok: Token) -> Span:
    return Span(tok.start_pos, tok.end_pos, tok.line, tok.column)


def _meta_span(meta) -> Span:
    if getattr(meta, "empty", True):
        return NO_SPAN
    return Span(meta.start_pos, meta.end_pos, meta.line, meta.column)


def _key_name(tok: Token) -> str:
    """``'epochs :'`` -> ``'epochs'``; ``'MNIST {'`` -> ``'MNIST'``."""
    return tok.value.rstrip(":{ \t\r\n")


_CONSTANTS = {"true": True, "false": False, "none": None}


@v_args(meta=True)
class _ToAst(Transformer):
    """Parse tree -> AST nodes (bottom-up)."""

    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source

    def _whole(self, tok: Token) -> int:
        digits = len(tok.value.lstrip("+-"))
        if digits > MAX_DIGITS:  # Python refuses to convert such a string (CVE-2020-10735)
            raise self.source.error(
                NeuralValidationError, _tok_span(tok),
                f"this whole number has {digits} digits; a number may have at most {MAX_DIGITS}",
                "no size, count or rate is that large; write a smaller number")
        return int(tok.value)

    def int(self, meta, children):
        (tok,) = children
        return ast.Literal(self._whole(tok), _tok_span(tok))

    def float(self, meta, children):
        (tok,) = children
        return ast.Literal(float(tok.value), _tok_span(tok))

    def string(self, meta, children):
        (tok,) = children
        return ast.Literal(_unescape(tok.value[1:-1]), _tok_span(tok))

    def name(self, meta, children):
        (tok,) = children
        low = tok.value.lower()
        if low in _CONSTANTS:
            return ast.Literal(_CONSTANTS[low], _tok_span(tok))
        return ast.Name(tok.value, _tok_span(tok))

    def tuple(self, meta, children):
        return ast.TupleNode(tuple(children), _meta_span(meta))

    def list(self, meta, children):
        items = tuple(c for c in children if c is not None)
        return ast.ListNode(items, _meta_span(meta))

    def arg(self, meta, children):
        (value,) = children
        return ast.Arg(None, value, _meta_span(meta))

    def named_arg(self, meta, children):
        name, value = children
        return ast.Arg(name.value, value, _meta_span(meta), _tok_span(name))

    def args(self, meta, children):
        return tuple(children)

    def call(self, meta, children):
        name, args = children
        return ast.Call(name.value, args or (), _meta_span(meta), close=meta.end_pos - 1)

    def device(self, meta, children):
        (tok,) = children
        return ast.Literal(_unescape(tok.value[1:-1]), _tok_span(tok))

    def layer_block(self, meta, children):
        return (tuple(children), _meta_span(meta))

    def repeat(self, meta, children):
        (tok,) = children
        return (self._whole(tok), _meta_span(meta))

    def item(self, meta, children):
        value, device, block, repeat = children
        return ast.Item(
            value,
            device,
            block[0] if block else None,
            repeat[0] if repeat else None,
            _meta_span(meta),
            repeat_span=repeat[1] if repeat else NO_SPAN,
            block_span=block[1] if block else NO_SPAN,
        )

    def section(self, meta, children):
        key, *items = children
        return ast.Section(_key_name(key), tuple(items), _meta_span(meta))

    def block_section(self, meta, children):
        key, *entries = children
        return ast.BlockSection(_key_name(key), tuple(entries), _meta_span(meta), meta.end_pos - 1)

    def network(self, meta, children):
        key, *entries = children
        return ast.NetworkNode(_key_name(key), tuple(entries), _meta_span(meta), meta.end_pos - 1)

    def macro_param(self, meta, children):
        name, default = children
        return (name.value, default)

    def macro_params(self, meta, children):
        return tuple(children)

    def define(self, meta, children):
        head, *rest = children
        if head.type == "NAME":
            params, *body = rest
        else:
            params, body = (), rest
        return ast.MacroNode(_key_name(head), tuple(params or ()), tuple(body), _meta_span(meta))

    def start(self, meta, children):
        nets = tuple(c for c in children if isinstance(c, ast.NetworkNode))
        macros = tuple(c for c in children if isinstance(c, ast.MacroNode))
        return nets, macros


def parse_ast(text: str | bytes, name: str = "<string>") -> ast.FileNode:
    """Parses DSL text into a syntax tree.

    Args:
      text: the file's content (bytes are decoded as UTF-8).
      name: shown in messages.

    Returns:
      The :class:`~neural_jax.dsl.ast.FileNode`.

    Raises:
      NeuralSyntaxError: the text does not parse (with line, column, caret and hint).
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            data = bytes(text)
            before = data[: e.start].decode("utf-8", "replace")
            line = before.count("\n") + 1
            line_start = data.rfind(b"\n", 0, e.start) + 1
            line_end = data.find(b"\n", e.start)
            shown = data[line_start : line_end if line_end >= 0 else len(data)]
            raise NeuralSyntaxError(
                f"the file is not UTF-8 text (byte {e.start} is 0x{data[e.start]:02x})",
                line=line,
                column=len(before) - before.rfind("\n"),
                source_line=shown.decode("utf-8", "replace"),
                hint="a .neural file is plain text; is this a binary file?",
            ) from None
    if not isinstance(text, str):
        raise NeuralSyntaxError(
            f"expected DSL text (a str), got {type(text).__name__}",
            hint="pass the file's content, e.g. Path('model.neural').read_text()",
        )
    if text.startswith("\ufeff"):  # a byte-order mark: blanked, so that offsets stay put
        text = " " + text[1:]
    if "\r" in text:  # classic Mac line ends (a lone CR) count as lines; offsets stay put
        text = _LONE_CR.sub("\n", text)
    source = Source(text, name)
    if not _strip_comments(text).strip():
        raise NeuralSyntaxError(
            "empty file: no network is defined",
            line=1,
            column=1,
            source_line=source.line_text(1),
            hint="write at least `network Name { input: (...) layers: ... }`",
        )
    _check_nesting(source)
    try:
        tree = _lark().parse(text)
        nets, macros = _ToAst(source).transform(tree)
    except lark.exceptions.VisitError as e:
        if isinstance(e.orig_exc, NeuralError):  # raised by _ToAst with its place
            raise e.orig_exc from None
        raise NeuralSyntaxError(  # pragma: no cover - a bug in _ToAst
            f"could not read the file: {e.orig_exc}", line=1, column=1) from None
    except lark.exceptions.UnexpectedInput as e:
        raise _friendly(e, source) from None
    except RecursionError:
        raise NeuralSyntaxError(
            "the text nests too deeply to be read", line=1, column=1,
            source_line=source.line_text(1), hint="use fewer nested brackets",
        ) from None
    return ast.FileNode(nets, macros, source)


_LONE_CR = re.compile(r"\r(?!\n)")
_NESTING_TOKENS = re.compile(r"[][(){}\"'#]|//")


def _check_nesting(source: Source) -> None:
    """Refuses brackets nested deeper than :data:`MAX_NESTING` (linear scan, before lark).

    Deeper nesting means nothing in a network and would exhaust Python's recursion in the
    passes that walk the tree; the error points at the first bracket too deep.
    """
    text = source.text
    depth, pos, n = 0, 0, len(text)
    while True:
        m = _NESTING_TOKENS.search(text, pos)
        if m is None:
            return
        c, i = m.group(), m.start()
        if c in "\"'":  # skip the string (to its end or the end of the line)
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            pos = j + 1
            continue
        if c in ("#", "//"):
            j = text.find("\n", i)
            if j < 0:
                return
            pos = j
            continue
        if c in "([{":
            depth += 1
            if depth > MAX_NESTING:
                line, col = source.position(i)
                raise NeuralSyntaxError(
                    f"brackets nest more than {MAX_NESTING} deep here",
                    line=line, column=col, source_line=source.line_text(line),
                    hint="flatten the structure: a network needs only a few levels of "
                    "blocks and brackets")
        else:
            depth = max(0, depth - 1)
        pos = i + 1


def _strip_comments(text: str) -> str:
    return re.sub(r"(#|//)[^\n]*", "", text)


# --- turning lark's errors into messages ------------------------------------------------

_WORDS = {
    "RPAR": "')'",
    "LPAR": "'('",
    "RBRACE": "'}'",
    "LBRACE": "'{'",
    "RSQB": "']'",
    "LSQB": "'['",
    "COMMA": "','",
    "EQUAL": "'='",
    "STAR": "'*'",
    "AT": "'@'",
    "NAME": "a name",
    "KEY": "a section such as 'layers:'",
    "BLOCK_OPEN": "a block such as 'train {'",
    "STRING": "a string",
    "SIGNED_INT": "a number",
    "SIGNED_FLOAT": "a number",
    "INT": "a whole number",
    "NETWORK": "'network'",
    "DEFINE": "'define'",
    "$END": "the end of the file",
}

_OPEN_FOR = {")": "(", "]": "[", "}": "{"}


_VALUE_START = {"SIGNED_INT", "SIGNED_FLOAT", "STRING", "NAME", "LPAR", "LSQB"}


def _describe(expected: set[str]) -> str:
    if len(expected & _VALUE_START) >= 3:
        expected = (expected - _VALUE_START) | {"a value"}
    words = sorted({_WORDS.get(t, t) for t in expected})
    if "a value" in words:
        words.remove("a value")
        words.insert(0, "a value")
    if len(words) > 4:
        words = [w for w in words if w.startswith("'")] or words[:4]
    return " or ".join(words[:4])


def _unclosed_before(text: str, offset: int) -> str | None:
    """The innermost bracket still open at ``offset``."""
    stack = _open_brackets(text[:offset])
    return stack[-1][1] if stack else None


def _unclosed(text: str) -> tuple[int, str] | None:
    """Offset and char of the innermost bracket left open at the end (strings/comments skipped)."""
    stack = _open_brackets(text)
    return stack[-1] if stack else None


def _open_brackets(text: str) -> list[tuple[int, str]]:
    stack: list[tuple[int, str]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if c == "#" or text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c in "([{":
            stack.append((i, c))
        elif c in ")]}" and stack and stack[-1][1] == _OPEN_FOR[c]:
            stack.pop()
        i += 1
    return stack


def _friendly(e: lark.exceptions.UnexpectedInput, source: Source) -> NeuralSyntaxError:
    text = source.text
    line = getattr(e, "line", 1) or 1
    column = getattr(e, "column", 1) or 1
    if isinstance(e, lark.exceptions.UnexpectedEOF) or (
        isinstance(e, lark.exceptions.UnexpectedToken) and e.token.type == "$END"
    ):
        opened = _unclosed(text)
        if opened is not None:
            off, ch = opened
            ln, col = source.position(off)
            closer = {"(": ")", "[": "]", "{": "}"}[ch]
            what = {"(": "argument list", "[": "list", "{": "block"}[ch]
            return NeuralSyntaxError(
                f"unterminated {what}: '{ch}' opened here is never closed",
                line=ln,
                column=col,
                source_line=source.line_text(ln),
                hint=f"add the missing '{closer}'",
            )
        ln, col = source.position(len(text.rstrip()))
        expected = getattr(e, "expected", set()) or set()
        return NeuralSyntaxError(
            f"the file ends too early: expected {_describe(set(expected))}",
            line=ln,
            column=col,
            source_line=source.line_text(ln),
            hint="the last definition is incomplete",
        )
    if isinstance(e, lark.exceptions.UnexpectedCharacters):
        ch = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        if ch in "\"'":
            return NeuralSyntaxError(
                "unterminated string: it is never closed on this line",
                line=line,
                column=column,
                source_line=source.line_text(line),
                hint=f"close it with {ch} (strings cannot span lines; write \\n for a newline)",
            )
        shown = ch if ch.isprintable() else repr(ch)
        allowed = set(getattr(e, "allowed", None) or ())
        hint = f"expected {_describe(allowed)}" if allowed else "remove or quote this character"
        return NeuralSyntaxError(
            f"unexpected character {shown!r}" if ch.isprintable()
            else f"unexpected character {shown}",
            line=line,
            column=column,
            source_line=source.line_text(line),
            hint=hint,
        )
    tok = e.token
    expected = set(getattr(e, "expected", ()) or ())
    got = f"'{tok.value}'" if tok.value else tok.type
    inner = _unclosed_before(text, tok.start_pos if tok.start_pos is not None else len(text))
    if tok.type == "EQUAL" and inner == "(":
        msg = "unexpected '=': an argument is written name=value, with one '=' after a name"
        hint = "e.g. Dense(units=64); a value cannot be given a value"
    elif tok.type == "EQUAL":
        msg = "unexpected '=': named arguments go inside a call, sections use ':'"
        hint = "write `key: value` for a section, `Layer(name=value)` for an argument"
    elif tok.type == "COMMA" and expected & _VALUE_START:
        msg = "unexpected ',': a value is missing here"
        hint = "remove the extra ',' or write the missing value"
    elif inner == "(" and "RPAR" in expected:
        msg = f"expected ')' after argument list, found {got}"
        hint = "separate arguments with ',' and close the call with ')'"
    elif inner == "[" and "RSQB" in expected:
        msg = f"expected ']' to close the list, found {got}"
        hint = "separate items with ',' and close the list with ']'"
    elif tok.type == "RPAR" or tok.type == "RBRACE" or tok.type == "RSQB":
        msg = f"unexpected {got}: nothing is open here to close"
        hint = "remove it, or check the brackets before it"
    elif tok.type == "NAME" and "BLOCK_OPEN" in expected and "KEY" not in expected:
        msg = f"expected `network Name {{` or `define Name(...) {{`, found {got}"
        hint = "every top-level definition starts with 'network' or 'define'"
    elif tok.type == "NAME" and "KEY" in expected:
        msg = f"unexpected name {got}: expected {_describe(expected)}"
        hint = "a layer is written with parentheses, e.g. Flatten(); a section as `key: value`"
    else:
        msg = f"unexpected {got}: expected {_describe(expected)}"
        hint = "check the text just before this place"
    return NeuralSyntaxError(
        msg,
        line=tok.line or line,
        column=tok.column or column,
        source_line=source.line_text(tok.line or line),
        hint=hint,
    )
