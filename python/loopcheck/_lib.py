"""_lib.py - locate libloopcheck.so and declare its C API for ctypes.

Only the public header include/loopcheck.h is bound. Structs mirror the
header field by field; the library only ever hands out pointers to them
(library-owned views), so appending fields in later versions is harmless.

Search order for the shared library:
  1. $LOOPCHECK_LIBRARY (a path to the .so; no fallback if it fails),
  2. the path meson installed it to (written into _config.py at install),
  3. the system loader (ctypes.util.find_library, then libloopcheck.so.0),
  4. a few common prefixes (/usr/local/lib..., /usr/lib...).
"""

import ctypes
import ctypes.util
import os

# Statuses (include/loopcheck.h, stable numeric values).
OK = 0
NEED_INPUT = 1
END = 2
ERR_INVALID_ARG = 10
ERR_STATE = 11
ERR_UNKNOWN_OPTION = 12
ERR_OUT_OF_BOUNDS = 13
ERR_IO = 51

ROLE_OTHER, ROLE_USER, ROLE_ASSISTANT, ROLE_SYSTEM, ROLE_TOOL = 0, 1, 2, 3, 4
OUTPUT_JSON = 1
SEVERITY_ERROR, SEVERITY_WARNING = 0, 1

_SONAME = "libloopcheck.so.0"


class LcError(ctypes.Structure):
    _fields_ = [
        ("status", ctypes.c_int),
        ("severity", ctypes.c_int),
        ("code", ctypes.c_char_p),
        ("message", ctypes.c_char_p),
        ("source", ctypes.c_char_p),
        ("line", ctypes.c_uint64),
        ("column", ctypes.c_uint64),
        ("offset", ctypes.c_uint64),
        ("turn", ctypes.c_int64),
    ]


class LcFinding(ctypes.Structure):
    _fields_ = [
        ("id", ctypes.c_uint32),
        ("event", ctypes.c_int),
        ("kind", ctypes.c_int),
        ("kind_name", ctypes.c_char_p),
        ("first_turn", ctypes.c_uint32),
        ("last_turn", ctypes.c_uint32),
        ("first_line", ctypes.c_uint64),
        ("last_line", ctypes.c_uint64),
        ("role", ctypes.c_int),
        ("speaker", ctypes.c_char_p),
        ("score", ctypes.c_double),
        ("turns", ctypes.POINTER(ctypes.c_uint32)),
        ("turn_count", ctypes.c_size_t),
        ("excerpt", ctypes.c_char_p),
        ("evidence", ctypes.c_uint64),
        ("period", ctypes.c_uint32),
        ("repeats", ctypes.c_uint32),
        ("count", ctypes.c_uint32),
        ("words", ctypes.c_uint32),
        ("share", ctypes.c_double),
        ("family", ctypes.c_char_p),
        ("families", ctypes.c_char_p),
        ("partial", ctypes.c_int),
        ("span_start", ctypes.c_uint32),
        ("span_end", ctypes.c_uint32),
        ("pushback", ctypes.c_uint32),
        ("helpful", ctypes.c_uint32),
    ]


class LcTurn(ctypes.Structure):
    _fields_ = [
        ("index", ctypes.c_uint32),
        ("role", ctypes.c_int),
        ("speaker", ctypes.c_char_p),
        ("text", ctypes.c_void_p),      # may hold NUL: read with text_len
        ("text_len", ctypes.c_size_t),
        ("norm", ctypes.c_void_p),
        ("norm_len", ctypes.c_size_t),
        ("hash", ctypes.c_uint64),
        ("line", ctypes.c_uint64),
        ("column", ctypes.c_uint64),
        ("offset", ctypes.c_uint64),
        ("flags", ctypes.c_uint),
        ("words", ctypes.c_uint32),
    ]


class LcPatternInfo(ctypes.Structure):
    _fields_ = [
        ("family", ctypes.c_char_p),
        ("text", ctypes.c_char_p),
        ("origin", ctypes.c_char_p),
        ("enabled", ctypes.c_int),
    ]


class LcDiffStats(ctypes.Structure):
    _fields_ = [
        ("paired", ctypes.c_uint64),
        ("unpaired_baseline", ctypes.c_uint64),
        ("unpaired_candidate", ctypes.c_uint64),
        ("to_refusal", ctypes.c_uint64),
        ("to_compliance", ctypes.c_uint64),
        ("both_refuse", ctypes.c_uint64),
        ("loops_appeared", ctypes.c_uint64),
        ("loops_disappeared", ctypes.c_uint64),
        ("family_changed", ctypes.c_uint64),
        ("rate_baseline", ctypes.c_double),
        ("rate_candidate", ctypes.c_double),
        ("difference", ctypes.c_double),
        ("ci_low", ctypes.c_double),
        ("ci_high", ctypes.c_double),
        ("p_value", ctypes.c_double),
        ("p_value_improvement", ctypes.c_double),
        ("verdict", ctypes.c_int),
    ]


# Output callback: int (*)(const char *data, size_t len, void *userdata).
WRITE_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t,
                            ctypes.c_void_p)

_P = ctypes.c_void_p
_PP = ctypes.POINTER(ctypes.c_void_p)
_ST = ctypes.c_int
_SZ = ctypes.c_size_t
_U64 = ctypes.c_uint64
_CS = ctypes.c_char_p
_PERR = ctypes.POINTER(LcError)
_PFIND = ctypes.POINTER(LcFinding)

# name: (restype, argtypes)
_PROTOS = {
    "lc_version_number": (ctypes.c_uint, []),
    "lc_version_string": (_CS, []),
    "lc_status_str": (_CS, [_ST]),
    "lc_status_code": (_CS, [_ST]),
    "lc_role_name": (_CS, [_ST]),
    "lc_kind_name": (_CS, [_ST]),
    "lc_kind_from_name": (_ST, [_CS, _SZ, ctypes.POINTER(ctypes.c_int)]),
    "lc_format_from_name": (_ST, [_CS, _SZ, ctypes.POINTER(ctypes.c_int)]),
    # config
    "lc_config_new": (_ST, [_P, _PP]),
    "lc_config_free": (None, [_P]),
    "lc_config_set": (_ST, [_P, ctypes.c_int, ctypes.c_int64]),
    "lc_config_get": (_ST, [_P, ctypes.c_int,
                            ctypes.POINTER(ctypes.c_int64)]),
    "lc_opt_from_name": (_ST, [_CS, _SZ, ctypes.POINTER(ctypes.c_int)]),
    "lc_opt_name": (_CS, [ctypes.c_int]),
    "lc_config_map_speaker": (_ST, [_P, _CS, _SZ, ctypes.c_int]),
    "lc_config_add_patterns": (_ST, [_P, _CS, _CS, _SZ]),
    "lc_config_error": (_PERR, [_P]),
    "lc_config_pattern_count": (_SZ, [_P]),
    "lc_config_pattern": (ctypes.POINTER(LcPatternInfo), [_P, _SZ]),
    # conversation
    "lc_conversation_new": (_ST, [_P, _PP]),
    "lc_conversation_add": (_ST, [_P, ctypes.c_int, _CS, _SZ, _CS, _SZ]),
    "lc_conversation_free": (None, [_P]),
    "lc_conversation_status": (_ST, [_P]),
    "lc_conversation_format": (ctypes.c_int, [_P]),
    "lc_conversation_turn_count": (_SZ, [_P]),
    "lc_conversation_turn": (ctypes.POINTER(LcTurn), [_P, _SZ]),
    "lc_format_name": (_CS, [ctypes.c_int]),
    "lc_conversation_diag_count": (_SZ, [_P]),
    "lc_conversation_diag": (_PERR, [_P, _SZ]),
    "lc_conversation_check": (_ST, [_P, _P, _PP]),
    "lc_conversation_parse": (_ST, [_P]),
    # reader
    "lc_reader_new": (_ST, [_P, _PP]),
    "lc_reader_free": (None, [_P]),
    "lc_reader_set_source": (_ST, [_P, _CS, _SZ]),
    "lc_reader_feed": (_ST, [_P, _CS, _SZ]),
    "lc_reader_finish": (_ST, [_P]),
    "lc_reader_next": (_ST, [_P, _PP]),
    "lc_reader_error": (_PERR, [_P]),
    # session
    "lc_session_new": (_ST, [_P, _PP]),
    "lc_session_free": (None, [_P]),
    "lc_session_push": (_ST, [_P, ctypes.c_int, _CS, _SZ, _CS, _SZ]),
    "lc_session_next_finding": (_ST, [_P, ctypes.POINTER(_PFIND)]),
    "lc_session_finish": (_ST, [_P]),
    "lc_session_finding_count": (_SZ, [_P]),
    "lc_session_finding": (_PFIND, [_P, _SZ]),
    "lc_session_error": (_PERR, [_P]),
    "lc_session_reset": (_ST, [_P]),
    "lc_session_check": (_ST, [_P, _P, _PP]),
    # report
    "lc_report_free": (None, [_P]),
    "lc_report_conversation": (_CS, [_P]),
    "lc_report_source": (_CS, [_P]),
    "lc_report_line": (_U64, [_P]),
    "lc_report_turn_count": (_SZ, [_P]),
    "lc_report_status": (_ST, [_P]),
    "lc_report_error": (_PERR, [_P]),
    "lc_report_finding_count": (_SZ, [_P]),
    "lc_report_finding": (_PFIND, [_P, _SZ]),
    "lc_report_refuses": (ctypes.c_int, [_P]),
    "lc_report_prompt_hash": (_U64, [_P]),
    "lc_report_write": (_ST, [_P, ctypes.c_int, ctypes.c_uint, WRITE_FN, _P]),
    # summary
    "lc_summary_new": (_ST, [_P, _PP]),
    "lc_summary_free": (None, [_P]),
    "lc_summary_add": (_ST, [_P, _P]),
    "lc_summary_merge": (_ST, [_P, _P]),
    "lc_summary_merge_json": (_ST, [_P, _CS, _SZ]),
    "lc_summary_read": (_U64, [_P]),
    "lc_summary_analysed": (_U64, [_P]),
    "lc_summary_failed": (_U64, [_P]),
    "lc_summary_kind_count": (_U64, [_P, ctypes.c_int]),
    "lc_summary_family_count": (_U64, [_P, _CS]),
    "lc_summary_write": (_ST, [_P, ctypes.c_int, ctypes.c_uint, WRITE_FN,
                               _P]),
    # diff
    "lc_diff_new": (_ST, [_P, _PP]),
    "lc_diff_free": (None, [_P]),
    "lc_diff_add": (_ST, [_P, ctypes.c_int, _P]),
    "lc_diff_set_alpha": (_ST, [_P, ctypes.c_double]),
    "lc_diff_compute": (_ST, [_P, ctypes.POINTER(ctypes.POINTER(
        LcDiffStats))]),
    "lc_diff_write": (_ST, [_P, ctypes.c_int, ctypes.c_uint, WRITE_FN, _P]),
    "lc_mcnemar_exact": (ctypes.c_double, [_U64, _U64]),
}


def _installed_path():
    try:
        from . import _config  # generated by meson at install time
    except ImportError:
        return None
    return getattr(_config, "LIBRARY", None)


def _candidates():
    """Yield (how, name_or_path) in search order (after the env var)."""
    inst = _installed_path()
    if inst:
        yield ("meson install path", inst)
    found = ctypes.util.find_library("loopcheck")
    if found:
        yield ("system loader (find_library)", found)
    yield ("system loader", _SONAME)
    for d in ("/usr/local/lib", "/usr/local/lib64",
              "/usr/local/lib/x86_64-linux-gnu",
              "/usr/local/lib/aarch64-linux-gnu",
              "/usr/lib", "/usr/lib64", "/usr/lib/x86_64-linux-gnu",
              "/usr/lib/aarch64-linux-gnu"):
        p = os.path.join(d, _SONAME)
        if os.path.exists(p):
            yield ("common path", p)


def _load():
    env = os.environ.get("LOOPCHECK_LIBRARY")
    if env:
        try:
            return ctypes.CDLL(env), env
        except OSError as e:
            raise ImportError(
                "loopcheck: LOOPCHECK_LIBRARY=%r could not be loaded: %s"
                % (env, e)) from e
    tried = []
    for how, name in _candidates():
        try:
            return ctypes.CDLL(name), name
        except OSError as e:
            tried.append("%s (%s): %s" % (name, how, e))
    raise ImportError(
        "loopcheck: libloopcheck.so not found. Build and install it "
        "(meson setup build && meson install -C build), or set "
        "LOOPCHECK_LIBRARY to the path of libloopcheck.so. Tried: "
        + ("; ".join(tried) if tried else "nothing found by the loader"))


def _declare(lib):
    missing = []
    for name, (res, args) in _PROTOS.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = res
        fn.argtypes = args
    if missing:
        raise ImportError("loopcheck: %s lacks symbols: %s"
                          % (PATH, ", ".join(missing)))


LIB, PATH = _load()
_declare(LIB)

VERSION_MAJOR_EXPECTED = 0
VERSION = LIB.lc_version_string().decode("ascii")
if LIB.lc_version_number() // 10000 != VERSION_MAJOR_EXPECTED:
    raise ImportError("loopcheck: %s is version %s; this binding needs 0.x"
                      % (PATH, VERSION))
