"""loopcheck - find conversational loops and canned refusals in chat logs.

A ctypes binding (standard library only) over libloopcheck.so; see
doc/python.md. The shared library is located through $LOOPCHECK_LIBRARY,
the path meson installed it to, or the system loader (see _lib.py).

    import loopcheck
    for f in loopcheck.check([{"role": "user", "content": "hi"}, ...]):
        print(f.kind, f.first_turn, f.last_turn, f.excerpt)

Public API: check, check_report, Monitor, scan, scan_bytes, list_files,
Report, Summary, diff, DiffResult, Finding, Error, patterns,
mcnemar_exact, version.
"""

import ctypes
import dataclasses
import fnmatch
import functools
import json
import os
import stat
import sys
from typing import Iterator, List, Optional, Tuple

from . import _lib
from ._lib import LIB as _L

__all__ = ["check", "check_report", "Monitor", "scan", "scan_bytes",
           "list_files", "Report", "Summary", "diff",
           "DiffResult", "Finding", "Turn", "Error", "patterns",
           "mcnemar_exact",
           "version", "__version__"]

__version__ = _lib.VERSION


def version() -> str:
    """Version string of the loaded libloopcheck."""
    return _lib.VERSION


def _s(p) -> Optional[str]:
    """Library char* (bytes or None) -> str or None."""
    return None if p is None else p.decode("utf-8", "replace")


def _b(text) -> bytes:
    if isinstance(text, bytes):
        return text
    if text is None:
        return b""
    # Lone surrogates become invalid UTF-8, which the library repairs
    # (U+FFFD plus a warning) exactly as it does for bad bytes in a file.
    return str(text).encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

class Error(Exception):
    """A libloopcheck error: status (int, lc_status), code ("LC-E031"),
    message, and the position (source, line, column, offset; 0 if
    unknown), plus turn (1-based or -1) and severity ("error"/"warning").
    """

    def __init__(self, status, code=None, message=None, source="", line=0,
                 column=0, offset=0, turn=-1, severity="error"):
        self.status = int(status)
        self.code = code or _s(_L.lc_status_code(self.status))
        self.message = message or _s(_L.lc_status_str(self.status))
        self.source = source or ""
        self.line = int(line)
        self.column = int(column)
        self.offset = int(offset)
        self.turn = int(turn)
        self.severity = severity
        super().__init__(str(self))

    def __str__(self):
        pos = ""
        if self.source or self.line:
            pos = self.source or "<input>"
            if self.line:
                pos += ":%d" % self.line
                if self.column:
                    pos += ":%d" % self.column
            pos += ": "
        return "%s%s: %s [%s]" % (pos, self.severity, self.message,
                                  self.code)

    def __reduce__(self):
        return (Error, (self.status, self.code, self.message, self.source,
                        self.line, self.column, self.offset, self.turn,
                        self.severity))

    @classmethod
    def _from_c(cls, ptr, status=None):
        """From a `const lc_error *` (may be NULL: then from status; a
        detail left over from an earlier call, whose status differs from
        the one returned now, is not used)."""
        if ptr and (status is None or ptr.contents.status == status):
            e = ptr.contents
            return cls(e.status, _s(e.code), _s(e.message), _s(e.source),
                       e.line, e.column, e.offset, e.turn,
                       "warning" if e.severity == _lib.SEVERITY_WARNING
                       else "error")
        return cls(status if status is not None else 91)


def _raise_if(status, err_ptr=None, **pos):
    if status != _lib.OK:
        if err_ptr:
            raise Error._from_c(err_ptr, status)
        raise Error(status, **pos)


def _new(fn, *args) -> ctypes.c_void_p:
    """A new handle from an lc_*_new(args..., &out) function."""
    p = ctypes.c_void_p()
    _raise_if(fn(*args, ctypes.byref(p)))
    return p


class _Owner:
    """Base of the classes that own one C handle, `_ptr`: close() frees
    it with the lc_*_free function named in `_FREE` (once; later calls do
    nothing), and so does garbage collection."""

    _FREE = ""
    _ptr = None

    def close(self):
        """Free the C handle now; what was read from it stays readable."""
        if getattr(self, "_ptr", None):
            getattr(_L, self._FREE)(self._ptr)
            self._ptr = None

    def __del__(self):
        try:
            self.close()
        except Exception:        # interpreter shutdown: library gone
            pass


# ---------------------------------------------------------------------------
# Findings
# ---------------------------------------------------------------------------

_NATIVE = ("first_line", "last_line", "score", "period", "repeats", "count",
           "words", "share", "partial", "span_start", "span_end",
           "pushback", "helpful")
_ROLE_NAMES = {0: "other", 1: "user", 2: "assistant", 3: "system", 4: "tool"}
_EVENTS = {0: "new", 1: "extended"}


@dataclasses.dataclass
class Finding:
    """One finding; fields and names are those of the CLI's JSON finding
    object (doc/formats.md): `lines` is [first_line, last_line],
    `evidence` 16 hex digits, `families` comma-separated, `span` a byte
    range in the turn's text; numbers are rounded as the JSON prints them.
    Kind-specific fields are None when they do not apply to the kind.

    Binding-only extras, outside comparisons and to_dict(): `id`,
    `event` ("new"/"extended", live use) and `native` (every numeric
    lc_finding field, unrounded, including those the JSON omits for the
    kind, e.g. the turn count of a stalled_conversation)."""

    kind: str
    first_turn: int
    last_turn: int
    lines: Optional[List[int]] = None
    turns: List[int] = dataclasses.field(default_factory=list)
    role: Optional[str] = None
    speaker: Optional[str] = None
    score: float = 0.0
    excerpt: Optional[str] = None
    evidence: Optional[str] = None
    period: Optional[int] = None
    repeats: Optional[int] = None
    count: Optional[int] = None
    words: Optional[int] = None
    share: Optional[float] = None
    family: Optional[str] = None
    families: Optional[str] = None
    partial: Optional[bool] = None
    span: Optional[List[int]] = None
    pushback: Optional[int] = None
    helpful: Optional[int] = None
    id: int = dataclasses.field(default=0, compare=False)
    event: str = dataclasses.field(default="new", compare=False)
    native: dict = dataclasses.field(default_factory=dict, compare=False,
                                     repr=False)

    def to_dict(self) -> dict:
        """The JSON object (None fields omitted), as the CLI writes it."""
        d = {}
        for f in dataclasses.fields(self):
            if f.compare is False:
                continue
            v = getattr(self, f.name)
            if v is not None:
                d[f.name] = v
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Finding":
        """From a CLI/library JSON finding object (unknown keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        return cls(**kw)

    @classmethod
    def _from_c(cls, p) -> "Finding":
        # Mirrors lci_emit_finding_json (lib/emit_json.c): the same fields
        # for the same kinds, numbers rounded as the JSON prints them
        # (%.6g), so check() results compare equal to the CLI's JSON.
        f = p.contents
        kind = _s(f.kind_name) or _s(_L.lc_kind_name(f.kind)) or "unknown"
        turns = [f.turns[i] for i in range(f.turn_count)] if f.turns else []
        fin = cls(kind=kind, first_turn=f.first_turn,
                  last_turn=f.last_turn,
                  lines=[f.first_line, f.last_line],
                  turns=turns,
                  role=_s(_L.lc_role_name(f.role)) or "",
                  speaker=_s(f.speaker) or "",
                  score=_num(f.score),
                  excerpt=_s(f.excerpt) or "",
                  evidence="%016x" % f.evidence,
                  id=f.id, event=_EVENTS.get(f.event, "new"))
        fin.native = {n: getattr(f, n) for n in _NATIVE}
        k = f.kind
        if k in (1, 4):                      # exact / near-duplicate loop
            fin.period, fin.repeats = f.period, f.repeats
        if k in (2, 21):                     # recurring_turn, refusal_loop
            fin.count = f.count
        if k == 3:                           # recycled_passage
            fin.words, fin.share = f.words, _num(f.share)
        if k in (20, 21, 22):                # refusal kinds
            fin.family = _s(f.family) or ""
            fin.families = _s(f.families) or ""
        if k == 20:
            fin.partial = bool(f.partial)
        if k in (20, 22) and f.span_end > f.span_start:
            fin.span = [f.span_start, f.span_end]
        if k == 21:
            fin.pushback = f.pushback
        if k == 22:
            fin.helpful = f.helpful
        return fin


_TURN_FLAGS = ((1, "tool_call"), (2, "repaired"), (4, "empty"),
               (8, "truncated"))


@dataclasses.dataclass
class Turn:
    """One parsed turn (lc_turn): 1-based index, role, speaker as
    written, original text, normalized text, XXH3-64 hash of it, source
    position (line, column in code points, byte offset), flags
    ("tool_call", "repaired", "empty", "truncated") and word count."""

    index: int
    role: str
    speaker: str
    text: str
    norm: str
    hash: int
    line: int
    column: int
    offset: int
    flags: List[str]
    words: int
    text_bytes: int = 0

    @classmethod
    def _from_c(cls, p) -> "Turn":
        t = p.contents
        return cls(index=t.index, role=_s(_L.lc_role_name(t.role)) or "",
                   speaker=_s(t.speaker) or "",
                   text=ctypes.string_at(t.text, t.text_len).decode(
                       "utf-8", "replace") if t.text else "",
                   norm=ctypes.string_at(t.norm, t.norm_len).decode(
                       "utf-8", "replace") if t.norm else "",
                   hash=t.hash, line=t.line, column=t.column,
                   offset=t.offset,
                   flags=[n for bit, n in _TURN_FLAGS if t.flags & bit],
                   words=t.words, text_bytes=t.text_len)


def _num(v: float):
    """A double as the library's JSON writes it (%.6g; non-finite -> 0)."""
    if v != v or v in (float("inf"), float("-inf")):
        return 0
    return float("%.6g" % v)


# ---------------------------------------------------------------------------
# Configuration (options -> lc_config)
# ---------------------------------------------------------------------------

# The reader's role names (lib/conversation.c), case-insensitive; any
# other name is kept as "other".
_ROLES = {
    "user": 1, "human": 1, "customer": 1, "prompter": 1,
    "assistant": 2, "gpt": 2, "bot": 2, "model": 2, "ai": 2, "chatbot": 2,
    "system": 3, "developer": 3,
    "tool": 4, "function": 4, "ipython": 4, "observation": 4,
}


def _role(r) -> int:
    if isinstance(r, int):
        if r not in _ROLE_NAMES:
            raise Error(_lib.ERR_INVALID_ARG,
                        message="unknown role number %d" % r)
        return r
    return _ROLES.get(str(r).lower(), 0)


def _freeze(v):
    if isinstance(v, dict):          # order kept: pattern files load in it
        return ("dict",) + tuple((str(k), _freeze(x)) for k, x in v.items())
    if isinstance(v, (list, tuple, set, frozenset)):
        items = [_freeze(x) for x in v]
        if isinstance(v, (set, frozenset)):
            items.sort()
        return ("seq",) + tuple(items)
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    return v


class _Config(_Owner):
    """Owns one lc_config. Frozen by the library once a handle is made
    from it, after which it is shared read-only (it is cached)."""

    _FREE = "lc_config_free"

    def __init__(self, options: dict):
        self._ptr = _new(_L.lc_config_new, None)
        try:
            for key, value in options.items():
                self._apply(key, value)
            # LC_OPT_DEFER_PARSE = 2: the reader only frames records.
            self.deferred = self.get("defer_parse") == 2
        except BaseException:
            self.close()
            raise

    def _err(self, status):
        raise Error._from_c(_L.lc_config_error(self.ptr), status)

    def _apply(self, key, value):
        name = key.replace("-", "_")
        if name in ("speakers", "speaker_map"):
            for spk, role in dict(value).items():
                if isinstance(role, str) and role.lower() not in _ROLES \
                        and role.lower() != "other":
                    raise Error(_lib.ERR_INVALID_ARG,
                                message="speaker %r: unknown role %r"
                                % (spk, role))
                b = _b(spk)
                st = _L.lc_config_map_speaker(self.ptr, b, len(b),
                                              _role(role))
                if st != _lib.OK:
                    self._err(st)
            return
        if name == "patterns":
            # text, [text, ...] or {source name: text} (names appear in
            # error positions)
            if isinstance(value, dict):
                items = list(value.items())
            else:
                texts = [value] if isinstance(value, (str, bytes)) \
                    else list(value)
                items = [("<patterns>" if len(texts) == 1 else
                          "<patterns %d>" % (i + 1), t)
                         for i, t in enumerate(texts)]
            for src, t in items:
                b, sb = _b(t), _b(src)
                st = _L.lc_config_add_patterns(self.ptr, sb, b, len(b))
                if st != _lib.OK:
                    self._err(st)
            return
        if name == "pattern_files":
            files = [value] if isinstance(value, (str, os.PathLike)) \
                else value
            for path in files:
                path = os.fspath(path)
                with open(path, "rb") as fh:
                    b = fh.read()
                st = _L.lc_config_add_patterns(self.ptr, path.encode(), b,
                                               len(b))
                if st != _lib.OK:
                    self._err(st)
            return
        opt = ctypes.c_int()
        nb = name.encode()
        st = _L.lc_opt_from_name(nb, len(nb), ctypes.byref(opt))
        if st != _lib.OK:
            raise Error(_lib.ERR_UNKNOWN_OPTION,
                        message="unknown option %r" % key)
        if name == "format" and isinstance(value, str):
            fmt = ctypes.c_int()
            vb = value.encode()
            st = _L.lc_format_from_name(vb, len(vb), ctypes.byref(fmt))
            if st != _lib.OK:
                raise Error(st, message="unknown format %r" % value)
            value = fmt.value
        elif name == "kinds" and not isinstance(value, int):
            names = [value] if isinstance(value, str) else list(value)
            mask = 0
            for kn in names:
                kv = ctypes.c_int()
                kb = str(kn).encode()
                st = _L.lc_kind_from_name(kb, len(kb), ctypes.byref(kv))
                if st != _lib.OK:
                    raise Error(st, message="unknown kind %r" % kn)
                mask |= 1 << kv.value
            value = mask
        if isinstance(value, bool) or not isinstance(value, int):
            # int(0.5) would be 0 ("the default") and int(2.9) 2: refuse
            # rather than guess (the CLI's --set rejects "2.9" too)
            raise Error(_lib.ERR_INVALID_ARG,
                        message="option %s=%r: expected an integer"
                        % (key, value))
        st = _L.lc_config_set(self.ptr, opt.value, value)
        if st != _lib.OK:
            err = _L.lc_config_error(self.ptr)
            if err:
                raise Error._from_c(err, st)
            raise Error(st, message="option %s=%r: %s"
                        % (name, value, _s(_L.lc_status_str(st))))

    def get(self, name: str) -> int:
        opt = ctypes.c_int()
        nb = name.encode()
        _raise_if(_L.lc_opt_from_name(nb, len(nb), ctypes.byref(opt)))
        v = ctypes.c_int64()
        _raise_if(_L.lc_config_get(self.ptr, opt.value, ctypes.byref(v)))
        return v.value

    @property
    def ptr(self):
        """The lc_config handle (None once closed)."""
        return self._ptr


@functools.lru_cache(maxsize=32)
def _cached_config(key) -> _Config:
    return _Config(dict((k, _thaw(v)) for k, v in key))


def _thaw(v):
    if isinstance(v, tuple) and v and v[0] == "dict":
        return {k: _thaw(x) for k, x in v[1:]}
    if isinstance(v, tuple) and v and v[0] == "seq":
        return [_thaw(x) for x in v[1:]]
    return v


def _config(options: dict) -> _Config:
    try:
        key = tuple(sorted((k, _freeze(v)) for k, v in options.items()))
        hash(key)
    except TypeError:
        return _Config(options)
    return _cached_config(key)


# ---------------------------------------------------------------------------
# Output helper
# ---------------------------------------------------------------------------

def _collect(writer, handle, fmt=_lib.OUTPUT_JSON, flags=0) -> str:
    chunks = []

    def cb(data, length, _ud):
        chunks.append(ctypes.string_at(data, length))
        return 0

    fn = _lib.WRITE_FN(cb)
    _raise_if(writer(handle, fmt, flags, fn, None))
    return b"".join(chunks).decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------

class Report(_Owner):
    """The result for one conversation: its id (`conversation`), source,
    line, turn count, status (0 = analysed), `error` (an Error, not
    raised, when it could not be read or analysed), `diagnostics` (all
    errors and warnings the reader attached), `format` (the input format
    it was read as, "" when built from messages), findings, refuses, and
    `turns` (a list of Turn when asked for with turns=True, else None)."""

    _FREE = "lc_report_free"

    def __init__(self, ptr, diagnostics=(), fmt="", turns=None):
        self._ptr = ptr
        self.format = fmt
        self.turns = turns
        self.conversation = _s(_L.lc_report_conversation(ptr)) or ""
        self.source = _s(_L.lc_report_source(ptr)) or ""
        self.line = int(_L.lc_report_line(ptr))
        self.turn_count = int(_L.lc_report_turn_count(ptr))
        self.status = int(_L.lc_report_status(ptr))
        self.error = (Error._from_c(_L.lc_report_error(ptr), self.status)
                      if self.status != _lib.OK else None)
        self.diagnostics = list(diagnostics)
        self.refuses = bool(_L.lc_report_refuses(ptr))
        self.prompt_hash = int(_L.lc_report_prompt_hash(ptr))
        self.findings = [
            Finding._from_c(_L.lc_report_finding(ptr, i))
            for i in range(_L.lc_report_finding_count(ptr))]

    @property
    def ok(self) -> bool:
        return self.status == _lib.OK

    def to_json(self) -> str:
        """The report as one JSON line, exactly as the CLI writes it."""
        if not self._ptr and getattr(self, "_json", None) is not None:
            return self._json          # an unpickled copy
        self._check_open()
        return _collect(_L.lc_report_write, self._ptr).rstrip("\n")

    def __getstate__(self):
        # Pickles (e.g. back from a Dask worker) as a detached copy: all
        # fields and to_json() work; it can no longer be added to a
        # Summary or a diff (send summaries for that).
        state = {k: v for k, v in self.__dict__.items() if k != "_ptr"}
        state["_json"] = self.to_json() if self._ptr else \
            getattr(self, "_json", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._ptr = None

    def to_dict(self) -> dict:
        return json.loads(self.to_json())

    def _check_open(self):
        if not self._ptr:
            raise Error(_lib.ERR_STATE, message="report is closed")

    def __repr__(self):
        return "<Report %s %s:%d status=%d findings=%d>" % (
            self.conversation, self.source, self.line, self.status,
            len(self.findings))


def _conv_diags(conv) -> List[Error]:
    return [Error._from_c(_L.lc_conversation_diag(conv, i))
            for i in range(_L.lc_conversation_diag_count(conv))]


def _check_conversation(cfg: _Config, conv, turns=False,
                        session=None) -> Report:
    rep = ctypes.c_void_p()
    if session:     # one pooled session per stream, as the CLI does
        st = _L.lc_session_check(session, conv, ctypes.byref(rep))
    else:
        st = _L.lc_conversation_check(cfg.ptr, conv, ctypes.byref(rep))
    _raise_if(st)
    fmt = _L.lc_conversation_format(conv)
    tl = None
    if turns:
        tl = [Turn._from_c(_L.lc_conversation_turn(conv, i))
              for i in range(_L.lc_conversation_turn_count(conv))]
    return Report(rep, _conv_diags(conv),
                  _s(_L.lc_format_name(fmt)) if fmt else "", tl)


def _json_type(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, (list, tuple)):
        return "array"
    return "string"


def _content_parts(parts) -> str:
    """A list of content parts as the reader joins them (lib/json.c):
    text parts verbatim, other parts as "[type]", one per line."""
    out = []
    for p in parts:
        if isinstance(p, str):
            piece = p
        elif not isinstance(p, dict):
            piece = "[%s]" % _json_type(p)
        else:
            ty, t = p.get("type"), p.get("text")
            if isinstance(t, str) and (ty is None or (isinstance(ty, str)
                                                      and "text" in ty)):
                piece = t
            else:
                piece = "[%s]" % (ty if isinstance(ty, str) else "part")
        out.append(piece)
    text = ""
    for piece in out:            # a separator only after something
        if text:
            text += "\n"
        text += piece
    return text


def _first(m, *keys):
    for k in keys:
        v = m.get(k)
        if v is not None:
            return v
    return None


def _needs_reader(messages) -> bool:
    """Tool calls and non-text content are canonicalized by the reader;
    such conversations go through it (see _reader_conversation)."""
    for m in messages:
        if isinstance(m, dict):
            if m.get("tool_calls") is not None or \
                    m.get("function_call") is not None:
                return True
            c = _first(m, "content", "value")
            if not (c is None or isinstance(c, (str, bytes, list))):
                return True
    return False


def _build_conversation(cfg: _Config, messages):
    """lc_conversation_new + lc_conversation_add, with roles, speakers
    and multi-part content handled exactly as the JSONL reader does, so
    check(messages) == the findings of the same messages read from a
    file (but for source lines)."""
    conv = _new(_L.lc_conversation_new, cfg.ptr)
    try:
        for i, m in enumerate(messages):
            if isinstance(m, dict):
                role = _first(m, "role", "from")
                text = _first(m, "content", "value")
                if isinstance(text, list):
                    text = _content_parts(text)
                speaker = None
            elif isinstance(m, (list, tuple)) and len(m) in (2, 3):
                role, text = m[0], m[1]            # (role, text[, speaker])
                speaker = m[2] if len(m) > 2 else None
            else:
                raise Error(31, message="message %d: expected a message "
                            "object, got %s" % (i + 1, _json_type(m)),
                            turn=i + 1)
            if isinstance(role, str):
                code, rname = _role(role), role
            elif isinstance(role, int) and not isinstance(role, bool):
                code = _role(role)
                rname = _ROLE_NAMES[code]
            else:                                  # missing: "other"
                code, rname = 0, ""
            if speaker is None:
                speaker = rname
            tb = _b(text)
            sb = _b(speaker) if speaker else None
            st = _L.lc_conversation_add(conv, code, sb,
                                        len(sb) if sb else 0, tb, len(tb))
            if st != _lib.OK:
                raise Error(st, turn=i + 1)
    except BaseException:
        _L.lc_conversation_free(conv)
        raise
    return conv


def _reader_conversation(options, messages, turns=False) -> Report:
    """Check messages by handing them to the JSONL reader as one line."""
    line = json.dumps({"messages": list(messages)}, ensure_ascii=False)
    reps = scan_bytes(line.encode("utf-8", "surrogatepass"), "<messages>",
                      turns=turns, **dict(options, format="jsonl"))
    if len(reps) != 1:
        raise Error(91, message="reader returned %d conversations"
                    % len(reps))
    return reps[0]


def check_report(messages, *, turns=False, **options) -> Report:
    """Like check() but return the whole Report (id, error, findings;
    the parsed turns with turns=True)."""
    messages = list(messages)
    if _needs_reader(messages):
        return _reader_conversation(options, messages, turns)
    cfg = _config(options)
    conv = _build_conversation(cfg, messages)
    try:
        return _check_conversation(cfg, conv, turns)
    finally:
        _L.lc_conversation_free(conv)


def check(messages, **options) -> List[Finding]:
    """Findings of one conversation given as [{"role","content"}, ...]
    (or (role, text) pairs), read as the JSONL reader reads a messages
    array: same role names, speaker = the role as written, multi-part
    content joined by lines; messages with tool calls or non-text content
    go through the reader itself. Options are lc_opt names (min_repeats=4,
    kinds=["exact_loop"], format=..., speakers={...}, patterns="...",
    pattern_files=[...]). Raises Error if it cannot be analysed (e.g.
    no turns: LC-E034)."""
    rep = check_report(messages, **options)
    try:
        if rep.status != _lib.OK:
            raise rep.error
        return rep.findings
    finally:
        rep.close()


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

_CHUNK = 1 << 20


# The CLI's default --include globs (cli/main.c).
DEFAULT_INCLUDE = ("*.jsonl", "*.ndjson", "*.json", "*.txt", "*.log")


def _glob_match(patterns, path) -> bool:
    base = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(base, p) or fnmatch.fnmatchcase(path, p)
               for p in patterns)


def _walk(d, include, exclude, seen, out):
    st = os.stat(d)
    if (st.st_dev, st.st_ino) in seen:
        return                      # symlink loop / second link: once
    seen.add((st.st_dev, st.st_ino))
    names = sorted((n for n in os.listdir(d) if not n.startswith(".")),
                   key=os.fsencode)
    for name in names:
        p = d + name if d.endswith("/") else d + "/" + name
        try:
            st = os.stat(p)
        except OSError as e:
            raise Error(_lib.ERR_IO, message=e.strerror or str(e),
                        source=p) from e
        if stat.S_ISDIR(st.st_mode):
            if not _glob_match(exclude, p):
                _walk(p, include, exclude, seen, out)
        elif stat.S_ISREG(st.st_mode):
            if not _glob_match(exclude, p) and _glob_match(include, p):
                out.append(p)


def list_files(paths, include=DEFAULT_INCLUDE, exclude=()) -> List[str]:
    """Files to read, in the order the CLI reads them: named paths as
    given; directories walked recursively in byte order of the names,
    hidden entries skipped, symlinks followed (each directory once), and
    include/exclude globs matched against base name and whole path."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    out = []
    for p in paths:
        p = os.fsdecode(os.fspath(p))
        if p != "-" and os.path.isdir(p):
            _walk(p, tuple(include), tuple(exclude), set(), out)
        else:
            out.append(p)
    return out


def _read_stream(cfg: _Config, source: str, fh,
                 turns=False) -> Iterator[Report]:
    rd, ses = ctypes.c_void_p(), ctypes.c_void_p()
    _raise_if(_L.lc_reader_new(cfg.ptr, ctypes.byref(rd)))
    try:
        _raise_if(_L.lc_session_new(cfg.ptr, ctypes.byref(ses)))
        sb = source.encode("utf-8", "surrogateescape")
        _raise_if(_L.lc_reader_set_source(rd, sb, len(sb)))
        conv = ctypes.c_void_p()
        done = False
        while True:
            st = _L.lc_reader_next(rd, ctypes.byref(conv))
            if st == _lib.OK:
                try:
                    if cfg.deferred:
                        _raise_if(_L.lc_conversation_parse(conv))
                    rep = _check_conversation(cfg, conv, turns, ses)
                finally:
                    _L.lc_conversation_free(conv)
                    conv = ctypes.c_void_p()
                yield rep
            elif st == _lib.END:
                return
            elif st == _lib.NEED_INPUT:
                if done:
                    raise Error(91, message="reader wants input after "
                                "finish", source=source)
                data = fh.read(_CHUNK)
                if data:
                    st = _L.lc_reader_feed(rd, data, len(data))
                else:
                    st = _L.lc_reader_finish(rd)
                    done = True
                _raise_if(st, _L.lc_reader_error(rd))
            else:
                raise Error._from_c(_L.lc_reader_error(rd), st)
    finally:
        _L.lc_session_free(ses)
        _L.lc_reader_free(rd)


def scan(paths, *, summary: "Optional[Summary]" = None,
         include=DEFAULT_INCLUDE, exclude=(), turns=False,
         **options) -> Iterator[Report]:
    """Read files in every format the reader knows and yield one Report
    per conversation, failed ones included (report.error says why).
    Paths are chosen and named as by the CLI: a directory is walked
    recursively in byte order of the names, hidden entries skipped, only
    files matching `include` (default: the CLI's *.jsonl, *.ndjson,
    *.json, *.txt, *.log) and not `exclude`; "-" is stdin ("<stdin>").
    If `summary` is given every report is also counted into it; with
    turns=True each report also carries its parsed turns. A file that
    cannot be opened raises Error (status 51, LC_ERR_IO)."""
    cfg = _config(options)
    for path in list_files(paths, include, exclude):
        if path == "-":
            for rep in _read_stream(cfg, "<stdin>", sys.stdin.buffer,
                                    turns):
                if summary is not None:
                    summary.add(rep)
                yield rep
            continue
        try:
            fh = open(path, "rb")
        except OSError as e:
            raise Error(_lib.ERR_IO, message=e.strerror or str(e),
                        source=path) from e
        with fh:
            for rep in _read_stream(cfg, path, fh, turns):
                if summary is not None:
                    summary.add(rep)
                yield rep


def scan_bytes(data: bytes, source: str = "", *, turns=False,
               **options) -> List[Report]:
    """Reports of an in-memory log (any format the reader knows)."""
    import io
    cfg = _config(options)
    return list(_read_stream(cfg, source, io.BytesIO(_b(data)), turns))


# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------

class Summary(_Owner):
    """Mergeable counts over many reports (lc_summary). Summaries of
    shards merge into exactly the summary of the whole run: use
    merge(other) / merge(json_text) / `a + b`. Pickles as its JSON, so it
    travels between processes (Dask, multiprocessing)."""

    _FREE = "lc_summary_free"

    def __init__(self, **options):
        self._ptr = _new(_L.lc_summary_new, _config(options).ptr)
        self._options = options

    def add(self, report: Report) -> "Summary":
        report._check_open()
        _raise_if(_L.lc_summary_add(self._ptr, report._ptr))
        return self

    def merge(self, other) -> "Summary":
        """Add the counts of another Summary, or of a summary JSON
        object (str, bytes or dict) as lc_summary_write/the CLI wrote
        it."""
        if isinstance(other, Summary):
            _raise_if(_L.lc_summary_merge(self._ptr, other._ptr))
            return self
        if isinstance(other, dict):
            other = json.dumps(other)
        b = _b(other)
        _raise_if(_L.lc_summary_merge_json(self._ptr, b, len(b)))
        return self

    @classmethod
    def from_json(cls, text, **options) -> "Summary":
        return cls(**options).merge(text)

    def __add__(self, other):
        return Summary(**self._options).merge(self).merge(other)

    def __iadd__(self, other):
        return self.merge(other)

    def __reduce__(self):
        return (_summary_from_json, (self.to_json(), self._options))

    @property
    def read(self) -> int:
        return int(_L.lc_summary_read(self._ptr))

    @property
    def analysed(self) -> int:
        return int(_L.lc_summary_analysed(self._ptr))

    @property
    def failed(self) -> int:
        return int(_L.lc_summary_failed(self._ptr))

    def kind_count(self, kind: str) -> int:
        """Conversations with at least one finding of this kind."""
        kv = ctypes.c_int()
        kb = kind.encode()
        _raise_if(_L.lc_kind_from_name(kb, len(kb), ctypes.byref(kv)))
        return int(_L.lc_summary_kind_count(self._ptr, kv.value))

    def family_count(self, family: str) -> int:
        """Conversations with a refusal of this family."""
        return int(_L.lc_summary_family_count(self._ptr, family.encode()))

    def to_json(self) -> str:
        """The summary JSON object (one line), as the CLI prints it."""
        return _collect(_L.lc_summary_write, self._ptr).rstrip("\n")

    def to_dict(self) -> dict:
        return json.loads(self.to_json())

    def __repr__(self):
        return "<Summary read=%d analysed=%d failed=%d>" % (
            self.read, self.analysed, self.failed)


def _summary_from_json(text, options):
    return Summary.from_json(text, **options)


# ---------------------------------------------------------------------------
# Live monitoring
# ---------------------------------------------------------------------------

class Monitor(_Owner):
    """Live detector state for one conversation (lc_session). push() each
    turn as it is produced; it returns the findings that became certain
    (event "new") or grew (event "extended") with that turn, so a
    generation loop can stop early:

        mon = loopcheck.Monitor()
        for f in mon.push("assistant", reply):
            if f.kind == "exact_loop": break
    """

    _FREE = "lc_session_free"

    def __init__(self, **options):
        self._ptr = _new(_L.lc_session_new, _config(options).ptr)
        self.finished = False

    def _drain(self) -> List[Finding]:
        out = []
        fp = ctypes.POINTER(_lib.LcFinding)()
        while _L.lc_session_next_finding(self._ptr,
                                         ctypes.byref(fp)) == _lib.OK:
            out.append(Finding._from_c(fp))
        return out

    def _live(self):
        if not self._ptr:
            raise Error(_lib.ERR_STATE, message="monitor is closed")

    def push(self, role, text, speaker=None) -> List[Finding]:
        """Add one turn (role: "user", "assistant", ... or an lc_role
        number; speaker defaults to the role as written, as the reader
        does); return the findings that are new or grew with it."""
        self._live()
        code = _role(role)
        if speaker is None:         # as the reader: the role as written
            speaker = role if isinstance(role, str) else _ROLE_NAMES[code]
        tb = _b(text)
        sb = _b(speaker) if speaker else None
        st = _L.lc_session_push(self._ptr, code, sb,
                                len(sb) if sb else 0, tb, len(tb))
        _raise_if(st, _L.lc_session_error(self._ptr))
        return self._drain()

    def finish(self) -> List[Finding]:
        """End of conversation: returns what end-only detectors add."""
        self._live()
        st = _L.lc_session_finish(self._ptr)
        _raise_if(st, _L.lc_session_error(self._ptr))
        self.finished = True
        return self._drain()

    def reset(self):
        """Start over for a new conversation (lc_session_reset): no
        turns, no findings, not finished; keeps the memory."""
        self._live()
        _raise_if(_L.lc_session_reset(self._ptr))
        self.finished = False

    @property
    def findings(self) -> List[Finding]:
        """All findings so far (final after finish), in report order."""
        self._live()
        return [Finding._from_c(_L.lc_session_finding(self._ptr, i))
                for i in range(_L.lc_session_finding_count(self._ptr))]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------
# Diff
# ---------------------------------------------------------------------------

_VERDICTS = {0: "no_change", 1: "regression", 2: "improvement"}


@dataclasses.dataclass
class DiffResult:
    """lc_diff_stats plus the full diff JSON (`details`, the object the
    CLI prints for `loopcheck diff --format json`)."""

    paired: int
    unpaired_baseline: int
    unpaired_candidate: int
    to_refusal: int
    to_compliance: int
    both_refuse: int
    loops_appeared: int
    loops_disappeared: int
    family_changed: int
    rate_baseline: float
    rate_candidate: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    p_value_improvement: float
    verdict: str
    details: dict = dataclasses.field(default_factory=dict, repr=False)
    #: exact one-sided McNemar p of the loop flips, "the candidate loops
    #: more" (the JSON's p_value_loops; last, so positional use of the
    #: fields above is unchanged)
    p_value_loops: float = 1.0


def _reports_of(side, cfg_options) -> Tuple[list, bool]:
    """(reports, owned): side is a path, a list of paths, or Reports."""
    if isinstance(side, (str, bytes, os.PathLike)):
        return list(scan(side, **cfg_options)), True
    side = list(side)
    if side and all(isinstance(r, Report) for r in side):
        return side, False
    return list(scan(side, **cfg_options)), True


def diff(baseline, candidate, *, alpha: Optional[float] = None,
         **options) -> DiffResult:
    """Paired comparison of two runs. Each side is a path (file or
    directory), a list of paths, or an iterable of Reports (from scan)."""
    cfg = _config(options)
    base, own_b = _reports_of(baseline, options)
    cand, own_c = _reports_of(candidate, options)
    d = _new(_L.lc_diff_new, cfg.ptr)
    try:
        if alpha is not None:
            _raise_if(_L.lc_diff_set_alpha(d, float(alpha)))
        for side, reps in ((0, base), (1, cand)):
            for r in reps:
                r._check_open()
                _raise_if(_L.lc_diff_add(d, side, r._ptr))
        sp = ctypes.POINTER(_lib.LcDiffStats)()
        _raise_if(_L.lc_diff_compute(d, ctypes.byref(sp)))
        s = sp.contents
        kw = {name: getattr(s, name) for name, _t in s._fields_}
        kw["verdict"] = _VERDICTS.get(s.verdict, str(s.verdict))
        kw["p_value_loops"] = float(_L.lc_mcnemar_exact(
            s.loops_appeared, s.loops_appeared + s.loops_disappeared))
        text = _collect(_L.lc_diff_write, d)
        details = {}
        for line in text.splitlines():
            if line.strip():
                details = json.loads(line)
        return DiffResult(details=details, **kw)
    finally:
        _L.lc_diff_free(d)
        for owned, reps in ((own_b, base), (own_c, cand)):
            if owned:
                for r in reps:
                    r.close()


# ---------------------------------------------------------------------------
# Misc
# ---------------------------------------------------------------------------

def patterns(**options) -> List[dict]:
    """Active refusal patterns: [{"family","text","origin","enabled"}]."""
    cfg = _config(options)
    out = []
    for i in range(_L.lc_config_pattern_count(cfg.ptr)):
        p = _L.lc_config_pattern(cfg.ptr, i)
        if p:
            q = p.contents
            out.append({"family": _s(q.family), "text": _s(q.text),
                        "origin": _s(q.origin), "enabled": bool(q.enabled)})
    return out


def mcnemar_exact(k: int, n: int) -> float:
    """Exact binomial tail P(X >= k), X ~ Bin(n, 1/2)."""
    return float(_L.lc_mcnemar_exact(k, n))
