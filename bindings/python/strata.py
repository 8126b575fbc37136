"""Python binding for Strata, over its C API (``strata.h``) with :mod:`ctypes`.

Strata is an embeddable log-and-index storage engine: Kafka-format topics and the full-text
indexes that follow them, in one directory. This module needs only the standard library and
the shared library ``libstrata.so``, found in this order:

1. the path in the environment variable ``STRATA_LIBRARY``;
2. ``ctypes.util.find_library("strata")`` (the system's library path, ``ldconfig``);
3. ``libstrata.so.0`` (the dynamic loader's search: ``LD_LIBRARY_PATH``, RUNPATH, ...).

Build and install it with ``scripts/install.sh --prefix DIR`` from the Strata repository, then
``export STRATA_LIBRARY=DIR/lib/libstrata.so``.

Quick tour::

    import strata
    with strata.Store("data") as db:
        db.create_topic("logs", partitions=2, compression="lz4")
        db.create_index("logs")
        db.append_many("logs", [b'{"level":"error","msg":"disk full"}', b'{"level":"info"}'])
        db.refresh("logs")
        for hit in db.search("logs", "level:error"):
            print(hit.score, hit.partition, hit.offset, hit.value)
        with db.cursor("logs", 0) as c:
            for record in c:
                print(record.offset, record.value)

Conventions:

* Every failed call raises :class:`StrataError` (a subclass per primary code, e.g.
  :class:`NotFoundError`); ``e.code`` is the extended code, ``e.primary`` the primary code,
  ``e.name`` its name (``"NOTFOUND"``) and ``e.message`` the library's message.
* Keys, values and header values are returned as ``bytes`` (``None`` for a null key or value);
  inputs may be ``bytes``, ``bytearray``, ``memoryview`` or ``str`` (encoded as UTF-8).
* Timestamps are milliseconds since the epoch (``int``); ``datetime`` objects are accepted too.
* Records are copied out of the library's buffers before they are returned, so they stay valid.
* A :class:`Store` may be shared between threads (except :meth:`Store.close`); cursors, batches
  and hit iterators are used by one thread at a time. Blocking calls (``Cursor.wait``,
  ``Store.refresh``) release the GIL.
"""

import collections
import ctypes
import ctypes.util
import datetime as _datetime
import json
import os
import struct
import warnings
from ctypes import POINTER, byref, c_char_p, c_double, c_int, c_int32, c_int64, c_size_t, c_void_p

__all__ = [
    "Store", "Cursor", "Batch", "Record", "Hit", "Position", "SearchResults",
    "StrataError", "MisuseError", "NotFoundError", "ExistsError", "StrataIOError", "CorruptError",
    "BusyError", "RangeError", "QueryError", "FullError", "InvalidError", "TooBigError",
    "UnsupportedError", "StrataTimeoutError", "ReadOnlyError",
    "errstr", "library_version", "library_version_number", "LIBRARY_PATH",
    "EARLIEST", "LATEST",
]

# ---- Result codes (strata.h) ---------------------------------------------------------------

OK = 0
ERROR = 1
MISUSE = 2
NOTFOUND = 3
EXISTS = 4
IOERR = 5
CORRUPT = 6
BUSY = 7
RANGE = 8
QUERY = 9
FULL = 10
INVALID = 11
TOOBIG = 12
UNSUPPORTED = 13
TIMEOUT = 14
READONLY = 15
ROW = 100
DONE = 101

MISUSE_NULL = MISUSE | 1 << 8
MISUSE_HANDLE = MISUSE | 2 << 8
MISUSE_CLOSED = MISUSE | 3 << 8
IOERR_PERMISSION = IOERR | 1 << 8
IOERR_NOENT = IOERR | 2 << 8
CORRUPT_CRC = CORRUPT | 1 << 8
CORRUPT_DECOMPRESS = CORRUPT | 2 << 8
QUERY_SYNTAX = QUERY | 1 << 8
QUERY_FIELD = QUERY | 2 << 8
INVALID_NAME = INVALID | 1 << 8
INVALID_JSON = INVALID | 2 << 8
INVALID_OPTION = INVALID | 3 << 8

#: Names of the primary codes.
CODE_NAMES = {
    OK: "OK", ERROR: "ERROR", MISUSE: "MISUSE", NOTFOUND: "NOTFOUND", EXISTS: "EXISTS",
    IOERR: "IOERR", CORRUPT: "CORRUPT", BUSY: "BUSY", RANGE: "RANGE", QUERY: "QUERY",
    FULL: "FULL", INVALID: "INVALID", TOOBIG: "TOOBIG", UNSUPPORTED: "UNSUPPORTED",
    TIMEOUT: "TIMEOUT", READONLY: "READONLY", ROW: "ROW", DONE: "DONE",
}
#: Names of the extended codes.
EXTENDED_CODE_NAMES = {
    MISUSE_NULL: "MISUSE_NULL", MISUSE_HANDLE: "MISUSE_HANDLE", MISUSE_CLOSED: "MISUSE_CLOSED",
    IOERR_PERMISSION: "IOERR_PERMISSION", IOERR_NOENT: "IOERR_NOENT", CORRUPT_CRC: "CORRUPT_CRC",
    CORRUPT_DECOMPRESS: "CORRUPT_DECOMPRESS", QUERY_SYNTAX: "QUERY_SYNTAX",
    QUERY_FIELD: "QUERY_FIELD", INVALID_NAME: "INVALID_NAME", INVALID_JSON: "INVALID_JSON",
    INVALID_OPTION: "INVALID_OPTION",
}

_PARTITION_BY_KEY = -1
_EARLIEST = -2
_LATEST = -1
_TIMESTAMP_NOW = -1

#: Cursor start positions (``store.cursor(topic, p, start=EARLIEST)``; the strings work too).
EARLIEST = "earliest"
LATEST = "latest"

# ---- Loading the library -------------------------------------------------------------------


def _load_library():
    candidates = []
    env = os.environ.get("STRATA_LIBRARY")
    if env:
        candidates.append(env)
    else:
        found = ctypes.util.find_library("strata")
        if found:
            candidates.append(found)
        candidates.append("libstrata.so.0")
    errors = []
    for name in candidates:
        try:
            return ctypes.CDLL(name), name
        except OSError as e:
            errors.append("%s: %s" % (name, e))
    raise ImportError(
        "strata: cannot load the Strata C library (%s). Build and install it with "
        "`scripts/install.sh --prefix DIR` (in the Strata repository) and set "
        "STRATA_LIBRARY=DIR/lib/libstrata.so (or put DIR/lib on LD_LIBRARY_PATH)."
        % "; ".join(errors))


_lib, LIBRARY_PATH = _load_library()


class _CRecord(ctypes.Structure):
    """struct strata_record."""
    _fields_ = [
        ("partition", c_int32),
        ("offset", c_int64),
        ("timestamp", c_int64),
        ("key", c_void_p),
        ("key_len", c_size_t),
        ("value", c_void_p),
        ("value_len", c_size_t),
        ("header_count", c_size_t),
    ]


_P = c_void_p
_PP = POINTER(c_void_p)
_PI64 = POINTER(c_int64)
_PSIZE = POINTER(c_size_t)
_PREC = POINTER(_CRecord)
_HEADER_ARGS = [_P, c_size_t, _PP, _PSIZE, _PP, _PSIZE]

# Every function of strata.h: name -> (restype, argtypes). Strings the library allocates are
# received as void* (so they can be passed back to strata_free); borrowed static or
# iterator-owned NUL-terminated strings as c_char_p (copied by ctypes at once).
_SIGNATURES = {
    "strata_libversion": (c_char_p, []),
    "strata_libversion_number": (c_int, []),
    "strata_errstr": (c_char_p, [c_int]),
    "strata_free": (None, [c_void_p]),
    "strata_options_new": (c_int, [_PP]),
    "strata_options_set": (c_int, [_P, c_char_p, c_char_p]),
    "strata_options_free": (c_int, [_P]),
    "strata_open": (c_int, [c_char_p, _P, _PP, _PP]),
    "strata_close": (c_int, [_P]),
    "strata_errcode": (c_int, [_P]),
    "strata_errmsg": (c_char_p, [_P]),
    "strata_topic_create": (c_int, [_P, c_char_p, _P]),
    "strata_topic_list": (c_int, [_P, _PP]),
    "strata_topic_describe": (c_int, [_P, c_char_p, _PP]),
    "strata_batch_new": (c_int, [_PP]),
    "strata_batch_add": (c_int, [_P, c_char_p, c_size_t, c_char_p, c_size_t, c_int64]),
    "strata_batch_add_header": (c_int, [_P, c_char_p, c_char_p, c_size_t]),
    "strata_batch_count": (c_int, [_P, _PSIZE]),
    "strata_batch_clear": (c_int, [_P]),
    "strata_batch_free": (c_int, [_P]),
    "strata_append": (c_int, [_P, c_char_p, c_int32, _P]),
    "strata_batch_result": (c_int, [_P, c_size_t, POINTER(c_int32), _PI64]),
    "strata_cursor_open": (c_int, [_P, c_char_p, c_int32, c_int64, _PP]),
    "strata_cursor_open_time": (c_int, [_P, c_char_p, c_int32, c_int64, _PP]),
    "strata_cursor_open_group": (c_int, [_P, c_char_p, c_char_p, c_int32, c_int64, _PP]),
    "strata_cursor_next": (c_int, [_P, _PREC]),
    "strata_cursor_header": (c_int, _HEADER_ARGS),
    "strata_cursor_wait": (c_int, [_P, c_int]),
    "strata_cursor_seek": (c_int, [_P, c_int64]),
    "strata_cursor_position": (c_int, [_P, _PI64]),
    "strata_cursor_set_isolation": (c_int, [_P, c_int]),
    "strata_cursor_errmsg": (c_char_p, [_P]),
    "strata_cursor_close": (c_int, [_P]),
    "strata_group_commit": (c_int, [_P, c_char_p, c_char_p, c_int32, c_int64, c_char_p]),
    "strata_group_fetch": (c_int, [_P, c_char_p, c_char_p, c_int32, _PI64]),
    "strata_index_create": (c_int, [_P, c_char_p, c_char_p, c_char_p, c_char_p]),
    "strata_index_drop": (c_int, [_P, c_char_p]),
    "strata_index_refresh": (c_int, [_P, c_char_p, c_int]),
    "strata_index_rebuild": (c_int, [_P, c_char_p]),
    "strata_index_lag": (c_int, [_P, c_char_p, _PI64]),
    "strata_index_status": (c_int, [_P, c_char_p, _PP]),
    "strata_search": (c_int, [_P, c_char_p, c_char_p, _P, _PP]),
    "strata_hits_total": (c_int, [_P, _PI64]),
    "strata_hits_next": (c_int, [_P, _PREC, POINTER(c_double)]),
    "strata_hits_header": (c_int, _HEADER_ARGS),
    "strata_hits_highlight": (c_int, [_P, POINTER(c_char_p)]),
    "strata_hits_after": (c_int, [_P, POINTER(c_char_p)]),
    "strata_hits_errmsg": (c_char_p, [_P]),
    "strata_hits_close": (c_int, [_P]),
    "strata_count": (c_int, [_P, c_char_p, c_char_p, _P, _PI64]),
    "strata_aggregate": (c_int, [_P, c_char_p, c_char_p, c_char_p, _P, _PP]),
    "strata_verify": (c_int, [_P, c_char_p, _PP]),
    "strata_recovery_report": (c_int, [_P, _PP]),
}


class _Functions:
    """The library's functions, declared. Held by every object that calls them, so they stay
    reachable from ``__del__`` even during interpreter shutdown."""


_C = _Functions()
for _name, (_restype, _argtypes) in _SIGNATURES.items():
    try:
        _f = getattr(_lib, _name)
    except AttributeError:
        raise ImportError("strata: %s lacks %s: it is not a compatible Strata library"
                          % (LIBRARY_PATH, _name)) from None
    _f.restype = _restype
    _f.argtypes = _argtypes
    setattr(_C, _name[len("strata_"):], _f)
del _name, _restype, _argtypes, _f

_string_at = ctypes.string_at


def library_version():
    """The library's version text, e.g. ``"0.9.0"``."""
    return _C.libversion().decode()


def library_version_number():
    """The library's version number: major * 1000000 + minor * 1000 + patch."""
    return _C.libversion_number()


def errstr(code):
    """The library's static English description of a result code (primary or extended)."""
    return _C.errstr(code).decode("utf-8", "replace")


# ---- Errors --------------------------------------------------------------------------------


class StrataError(Exception):
    """A failed Strata call.

    Attributes: ``code`` (the extended result code, e.g. 265), ``primary`` (``code & 0xff``,
    e.g. 9), ``name`` (the primary code's name, e.g. ``"QUERY"``), ``extended_name`` (e.g.
    ``"QUERY_SYNTAX"``, or ``name``), ``message`` (the library's message).
    Subclasses exist per primary code; ``StrataError`` itself is raised for ``ERROR`` and
    codes without a subclass.
    """

    def __init__(self, code, primary=None, message=""):
        if primary is None:
            primary = code & 0xFF
        super().__init__(code, primary, message)
        self.code = code
        self.primary = primary
        self.name = CODE_NAMES.get(primary, "UNKNOWN")
        self.extended_name = EXTENDED_CODE_NAMES.get(code, self.name)
        self.message = message

    def __str__(self):
        return "%s (%s, code %d)" % (self.message or errstr(self.code), self.extended_name, self.code)


class MisuseError(StrataError):
    """MISUSE: a NULL, closed or foreign handle; a call out of sequence (e.g. a closed store)."""


class NotFoundError(StrataError):
    """NOTFOUND: no such topic, partition, index, group offset or record."""


class ExistsError(StrataError):
    """EXISTS: it exists already with other settings."""


class StrataIOError(StrataError):
    """IOERR: a system call failed (see ``extended_name``)."""


class CorruptError(StrataError):
    """CORRUPT: data on disk does not follow its format."""


class BusyError(StrataError):
    """BUSY: the directory is open for writing by another store or process."""


class RangeError(StrataError):
    """RANGE: an offset outside the log, a value out of range."""


class QueryError(StrataError):
    """QUERY: the query is invalid (syntax, field, aggregation); the message says where."""


class FullError(StrataError):
    """FULL: the disk or a file-size limit is full; nothing acknowledged was lost."""


class InvalidError(StrataError):
    """INVALID: an invalid argument: a name, an option, JSON, a length."""


class TooBigError(StrataError):
    """TOOBIG: a record or batch is larger than the topic allows."""


class UnsupportedError(StrataError):
    """UNSUPPORTED: valid data this version cannot read."""


class StrataTimeoutError(StrataError):
    """TIMEOUT: a wait ended before it was satisfied (e.g. ``Store.refresh``)."""


class ReadOnlyError(StrataError):
    """READONLY: a write on a store opened read-only."""


_ERROR_CLASSES = {
    MISUSE: MisuseError, NOTFOUND: NotFoundError, EXISTS: ExistsError, IOERR: StrataIOError,
    CORRUPT: CorruptError, BUSY: BusyError, RANGE: RangeError, QUERY: QueryError,
    FULL: FullError, INVALID: InvalidError, TOOBIG: TooBigError, UNSUPPORTED: UnsupportedError,
    TIMEOUT: StrataTimeoutError, READONLY: ReadOnlyError,
}


def _error(code, message):
    primary = code & 0xFF
    return _ERROR_CLASSES.get(primary, StrataError)(code, primary, message)


def _decode(b):
    return b.decode("utf-8", "replace") if b is not None else ""


def _take_string(ptr):
    """Copies a library-allocated NUL-terminated string and frees it."""
    if not ptr:
        return None
    try:
        return _string_at(ptr).decode("utf-8")
    finally:
        _C.free(ptr)


def _take_json(ptr):
    text = _take_string(ptr)
    return None if text is None else json.loads(text)


# ---- Argument conversion -------------------------------------------------------------------


def _name(s, what="name"):
    """A NUL-terminated string argument: str (UTF-8) or bytes, without NUL characters (the C
    side would silently cut the string there)."""
    if isinstance(s, str):
        b = s.encode("utf-8")
    elif isinstance(s, bytes):
        b = s
    else:
        raise TypeError("%s must be str, not %s" % (what, type(s).__name__))
    if b"\0" in b:
        raise ValueError("%s must not contain NUL characters: %r" % (what, s))
    return b


def _opt_name(s, what="name"):
    return None if s is None else _name(s, what)


def _blob(b, what="value"):
    """bytes-like/str/None -> bytes/None."""
    if b is None or type(b) is bytes:
        return b
    if isinstance(b, str):
        return b.encode("utf-8")
    if isinstance(b, (bytes, bytearray, memoryview)):
        return bytes(b)
    raise TypeError("%s must be bytes, str or None, not %s" % (what, type(b).__name__))


def _millis(t, what="timestamp"):
    if t is None:
        return None
    if isinstance(t, _datetime.datetime):
        return int(round(t.timestamp() * 1000))
    if isinstance(t, bool) or not isinstance(t, int):
        raise TypeError("%s must be int milliseconds or a datetime, not %s" % (what, type(t).__name__))
    return t


def _option_value(v):
    if isinstance(v, bool):
        return b"true" if v else b"false"
    return _name(v if isinstance(v, bytes) else str(v), "option value")


def _header_items(headers):
    if not headers:
        return ()
    if isinstance(headers, dict):
        return headers.items()
    return headers


def _json_text(obj, what):
    if obj is None:
        return None
    if isinstance(obj, (str, bytes)):
        return _name(obj, what)
    return json.dumps(obj).encode("utf-8")


class _Options:
    """A strata_options built from a dict (None values skipped); a context manager."""

    __slots__ = ("ptr",)

    def __init__(self, options):
        self.ptr = None
        items = [(k, v) for k, v in (options or {}).items() if v is not None]
        if not items:
            return
        ptr = c_void_p()
        rc = _C.options_new(byref(ptr))
        if rc != OK:
            raise _error(rc, "strata_options_new failed")
        self.ptr = ptr
        try:
            for k, v in items:
                rc = _C.options_set(ptr, _name(k, "option name"), _option_value(v))
                if rc != OK:
                    raise _error(rc, "option %r=%r: %s" % (k, v, errstr(rc)))
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.ptr is not None:
            _C.options_free(self.ptr)
            self.ptr = None

    def __enter__(self):
        return self.ptr

    def __exit__(self, *exc):
        self.close()


# ---- Result types --------------------------------------------------------------------------

Position = collections.namedtuple("Position", "partition offset")
Position.__doc__ = "Where an appended record went: its partition and offset."

_RecordBase = collections.namedtuple("Record", "partition offset timestamp key value headers")


class Record(_RecordBase):
    """A record read from a partition (all fields are copies).

    ``partition`` (int), ``offset`` (int), ``timestamp`` (int, ms since the epoch), ``key``
    (bytes or None), ``value`` (bytes or None: a tombstone), ``headers`` (a tuple of
    ``(str key, bytes-or-None value)`` pairs).
    """

    __slots__ = ()

    def json(self):
        """The value parsed as JSON."""
        return json.loads(self.value)

    @property
    def datetime(self):
        """The timestamp as an aware UTC ``datetime``."""
        return _datetime.datetime.fromtimestamp(self.timestamp / 1000, _datetime.timezone.utc)


_HitBase = collections.namedtuple(
    "Hit", "score partition offset timestamp key value headers highlights after")


class Hit(_HitBase):
    """A search hit: ``score`` (BM25; 0.0 when sorted by time or a field), the record's fields
    (``partition``, ``offset``, ``timestamp``, ``key``, ``value``, ``headers``, as in
    :class:`Record`), ``highlights`` (``{field: [fragment, ...]}``, empty unless highlighting was
    asked for) and ``after`` (the search-after token: pass it as ``after=`` for the next page).
    """

    __slots__ = ()

    @property
    def record(self):
        """The hit's record as a :class:`Record`."""
        return Record(self.partition, self.offset, self.timestamp, self.key, self.value, self.headers)

    def json(self):
        """The value parsed as JSON."""
        return json.loads(self.value)


class SearchResults(list):
    """The hits of :meth:`Store.search` (a list of :class:`Hit`, best first) with ``total``
    (every match, or None when not counted) and ``after`` (the last hit's token, for the next
    page; None when there are no hits)."""

    def __init__(self, hits, total):
        super().__init__(hits)
        self.total = total
        self.after = hits[-1].after if hits else None

    def __repr__(self):
        return "SearchResults(total=%r, hits=%s)" % (self.total, list.__repr__(self))


_unpack_record = struct.Struct("@iqqPNPNN").unpack_from
assert struct.calcsize("@iqqPNPNN") == ctypes.sizeof(_CRecord)


class _RecordReader:
    """Reads strata_record views into Python values, reusing one struct and its byrefs."""

    __slots__ = ("rec", "ref", "view", "hk", "hkl", "hv", "hvl", "hrefs")

    def __init__(self):
        self.rec = _CRecord()
        self.ref = byref(self.rec)
        self.view = memoryview(self.rec).cast("B")
        self.hk, self.hkl, self.hv, self.hvl = c_void_p(), c_size_t(), c_void_p(), c_size_t()
        self.hrefs = (byref(self.hk), byref(self.hkl), byref(self.hv), byref(self.hvl))

    def headers(self, header_fn, handle, count, errmsg_fn):
        hk, hkl, hv, hvl = self.hk, self.hkl, self.hv, self.hvl
        rk, rkl, rv, rvl = self.hrefs
        out = []
        for i in range(count):
            rc = header_fn(handle, i, rk, rkl, rv, rvl)
            if rc != OK:
                raise _error(rc, _decode(errmsg_fn(handle)))
            key = _string_at(hk.value, hkl.value).decode("utf-8", "replace") if hk.value else ""
            value = _string_at(hv.value, hvl.value) if hv.value else None
            out.append((key, value))
        return tuple(out)


# ---- Batch ---------------------------------------------------------------------------------


class _Closing:
    """A context manager closing a handle object (``close()``), also when it is collected."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_ptr", None) is not None:
            self.close()


class Batch(_Closing):
    """Records to append together (a ``strata_batch``): fill it with :meth:`add`, append it with
    :meth:`Store.append_batch`, read where each record went with :meth:`results`, then
    :meth:`clear` and refill it, or :meth:`close` it (also a context manager).
    Used by one thread at a time."""

    _free = _C.batch_free

    def __init__(self):
        self._ptr = None
        ptr = c_void_p()
        rc = _C.batch_new(byref(ptr))
        if rc != OK:
            raise _error(rc, "strata_batch_new failed")
        self._ptr = ptr

    def _handle(self):
        if self._ptr is None:
            raise MisuseError(MISUSE_HANDLE, MISUSE, "the batch is closed")
        return self._ptr

    def add(self, value, key=None, headers=None, timestamp=None):
        """Adds a record. ``value``/``key``: bytes, str or None (a null value is a tombstone);
        ``headers``: a dict or an iterable of ``(key, value)`` pairs (str keys, bytes/str/None
        values); ``timestamp``: int ms or datetime (None: the time of the append)."""
        ptr = self._handle()
        key = _blob(key, "key")
        value = _blob(value)
        ts = _millis(timestamp)
        rc = _C.batch_add(ptr, key, len(key) if key is not None else 0,
                          value, len(value) if value is not None else 0,
                          _TIMESTAMP_NOW if ts is None else ts)
        if rc != OK:
            raise _error(rc, "cannot add the record to the batch: %s" % errstr(rc))
        for hk, hv in _header_items(headers):
            self.add_header(hk, hv)

    def add_header(self, key, value):
        """Adds a header (str key; bytes/str/None value) to the record added last."""
        ptr = self._handle()
        value = _blob(value, "header value")
        rc = _C.batch_add_header(ptr, _name(key, "header key"), value,
                                 len(value) if value is not None else 0)
        if rc != OK:
            raise _error(rc, "cannot add header %r: %s" % (key, errstr(rc)))

    def __len__(self):
        n = c_size_t()
        rc = _C.batch_count(self._handle(), byref(n))
        if rc != OK:
            raise _error(rc, errstr(rc))
        return n.value

    def clear(self):
        """Removes every record, so the batch can be filled again."""
        rc = _C.batch_clear(self._handle())
        if rc != OK:
            raise _error(rc, errstr(rc))

    def result(self, i):
        """The :class:`Position` of record ``i`` of the last successful append of the batch."""
        part, off = c_int32(), c_int64()
        rc = _C.batch_result(self._handle(), i, byref(part), byref(off))
        if rc != OK:
            raise _error(rc, "no result for record %d: %s" % (i, errstr(rc)))
        return Position(part.value, off.value)

    def results(self):
        """The :class:`Position` of every record of the last successful append."""
        ptr = self._handle()
        part, off = c_int32(), c_int64()
        rp, ro = byref(part), byref(off)
        fn = _C.batch_result
        out = []
        i = 0
        while True:
            rc = fn(ptr, i, rp, ro)
            if rc != OK:
                if rc == RANGE and i > 0:
                    return out
                raise _error(rc, "no append results: %s" % errstr(rc))
            out.append(Position(part.value, off.value))
            i += 1

    def close(self):
        """Frees the batch (idempotent)."""
        ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._free(ptr)



# ---- Cursor --------------------------------------------------------------------------------


class Cursor(_Closing):
    """Reads one partition in offset order (a ``strata_cursor``); see :meth:`Store.cursor`.

    Iterating yields every :class:`Record` up to the current end of the log, then stops;
    iterate again (after :meth:`wait`) for newer ones, or use :meth:`follow` to tail. Close it
    (or use ``with``); it keeps its store alive. Used by one thread at a time.
    """

    _close_fn = _C.cursor_close
    _next_fn = _C.cursor_next
    _header_fn = _C.cursor_header
    _errmsg_fn = _C.cursor_errmsg

    def __init__(self, store, ptr, topic, partition):
        self._store = store  # keeps the store (and its handle) alive while the cursor lives
        self._ptr = ptr
        self.topic = topic
        self.partition = partition
        self._reader = _RecordReader()

    def __repr__(self):
        state = "closed" if self._ptr is None else "open"
        return "<strata.Cursor %s-%d %s>" % (self.topic, self.partition, state)

    def _handle(self):
        # A closed cursor is passed as NULL: the C API reports the misuse (never a stale pointer).
        return self._ptr

    def _raise(self, rc):
        if self._ptr is None:
            raise _error(rc, "the cursor is closed")
        raise _error(rc, _decode(self._errmsg_fn(self._ptr)))

    def _check(self, rc):
        if rc != OK:
            self._raise(rc)

    def next(self):
        """The next :class:`Record`, or None at the end of the log (for now)."""
        reader = self._reader
        ptr = self._handle()
        rc = self._next_fn(ptr, reader.ref)
        if rc == ROW:
            p, off, ts, k, kl, v, vl, hc = _unpack_record(reader.view)
            return Record(p, off, ts, _string_at(k, kl) if k else None,
                          _string_at(v, vl) if v else None,
                          reader.headers(self._header_fn, ptr, hc, self._errmsg_fn) if hc else ())
        if rc == DONE:
            return None
        self._raise(rc)

    def __iter__(self):
        reader = self._reader
        ref, view = reader.ref, reader.view
        next_fn, header_fn, errmsg_fn = self._next_fn, self._header_fn, self._errmsg_fn
        unpack, string_at, new, record = _unpack_record, _string_at, tuple.__new__, Record
        while True:
            ptr = self._ptr
            rc = next_fn(ptr, ref)
            if rc != ROW:
                if rc == DONE:
                    return
                self._raise(rc)
            p, off, ts, k, kl, v, vl, hc = unpack(view)
            yield new(record, (p, off, ts, string_at(k, kl) if k else None,
                               string_at(v, vl) if v else None,
                               reader.headers(header_fn, ptr, hc, errmsg_fn) if hc else ()))

    def read(self, max_records=None):
        """Up to ``max_records`` (None: all available) records as a list."""
        out = []
        if max_records is None:
            out.extend(self)
            return out
        it = iter(self)
        for _ in range(max_records):
            r = next(it, None)
            if r is None:
                break
            out.append(r)
        it.close()
        return out

    def wait(self, timeout_ms=None):
        """Blocks until records past the cursor's position exist, for at most ``timeout_ms``
        (None: no limit). Returns True when there are records, False on timeout. The GIL is
        released; an unbounded wait wakes every 250 ms so that Ctrl-C works."""
        if timeout_ms is None:
            while True:
                rc = _C.cursor_wait(self._handle(), 250)
                if rc != TIMEOUT:
                    self._check(rc)
                    return True
        rc = _C.cursor_wait(self._handle(), int(timeout_ms))
        if rc == TIMEOUT:
            return False
        self._check(rc)
        return True

    def follow(self, timeout_ms=None):
        """Tails the partition: yields every record, waiting for new ones at the end. With
        ``timeout_ms``, stops when no record arrives within that time; without, never stops."""
        while True:
            yield from self
            if not self.wait(timeout_ms):
                return

    def seek(self, offset):
        """Moves to ``offset`` (RangeError outside the log)."""
        self._check(_C.cursor_seek(self._handle(), offset))

    def set_isolation(self, level):
        """``"read_committed"`` skips aborted Kafka transactions and stops before an open one;
        ``"read_uncommitted"`` (the default) returns every data record. From the position on."""
        levels = {"read_uncommitted": 0, "read_committed": 1}
        if level not in levels:
            raise ValueError("isolation level %r: read_uncommitted or read_committed" % (level,))
        self._check(_C.cursor_set_isolation(self._handle(), levels[level]))

    @property
    def position(self):
        """The offset the next record will have at least."""
        off = c_int64()
        self._check(_C.cursor_position(self._handle(), byref(off)))
        return off.value

    def commit(self, group, metadata=None):
        """Commits the cursor's position as consumer group ``group``'s offset for this
        partition (the next record to read)."""
        self._store.commit_offset(group, self.topic, self.partition, self.position, metadata)

    def close(self):
        """Closes the cursor (idempotent)."""
        ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._close_fn(ptr)

    @property
    def closed(self):
        return self._ptr is None



# ---- Store ---------------------------------------------------------------------------------


class Store(_Closing):
    """An open Strata store: the directory ``path`` (created when needed).

    ``read_only=True`` opens without the writer lock (beside a writer process; writes raise
    :class:`ReadOnlyError`). Further keyword options go to ``strata_open`` as strings (bools as
    true/false): ``indexing``, ``refresh_interval_ms``, ``minimum_refresh_gap_ms``,
    ``catch_up_refresh_interval_ms``, ``commit_interval_ms``, ``index_buffer_bytes``,
    ``background_interval_ms``, ``force_full_recovery``. An unknown option raises
    :class:`InvalidError`; a directory another store writes to, :class:`BusyError`.

    A context manager; :meth:`close` is idempotent, and calls after it raise
    :class:`MisuseError`. Share it between threads freely, but do not close it while another
    thread uses it.
    """

    _close_fn = _C.close

    def __init__(self, path, *, read_only=False, **options):
        self._db = None
        self._closed = True
        self.path = os.fspath(path)
        self.read_only = bool(read_only)
        opts = dict(options)
        if read_only:
            opts["read_only"] = True
        db, err = c_void_p(), c_void_p()
        with _Options(opts) as o:
            rc = _C.open(os.fsencode(self.path), o, byref(db), byref(err))
        if rc != OK:
            message = _take_string(err.value) or errstr(rc)
            raise _error(rc, message)
        _C.free(err.value)  # NULL on success; harmless
        self._db = db
        self._closed = False

    def __repr__(self):
        return "<strata.Store %r%s%s>" % (self.path, " read-only" if self.read_only else "",
                                          " closed" if self._closed else "")

    # -- plumbing

    def _check(self, rc):
        if rc != OK:
            self._raise(rc)

    def _raise(self, rc):
        if self._db is None:
            raise _error(rc, "the store %r is closed (%s)" % (self.path, _decode(_C.errmsg(None))))
        message = _decode(_C.errmsg(self._db))
        if _C.errcode(self._db) != rc:
            # Another thread failed meanwhile: the message is not this call's.
            message = errstr(rc)
        raise _error(rc, message)

    def _json_call(self, fn, *args):
        out = c_void_p()
        rc = fn(self._db, *args, byref(out))
        if rc != OK:
            _C.free(out.value)  # NULL on failure, per the API; harmless
            self._raise(rc)
        return _take_json(out.value)

    # -- lifecycle

    def close(self):
        """Stops the indexers, flushes the topics, releases the writer lock and frees the handle
        (idempotent). Cursors still open then raise MisuseError; close them too."""
        if self._closed:
            return
        db, self._db = self._db, None
        self._closed = True
        rc = self._close_fn(db)
        if rc != OK:
            raise _error(rc, "closing the store: %s" % errstr(rc))

    @property
    def closed(self):
        return self._closed

    def __del__(self):
        if not getattr(self, "_closed", True):
            try:
                warnings.warn("unclosed %r" % (self,), ResourceWarning, stacklevel=2)
            except Exception:  # interpreter shutdown
                pass
            try:
                self.close()
            except Exception:
                pass

    # -- topics

    def create_topic(self, name, partitions=1, **config):
        """Creates topic ``name`` (quietly fine when it exists with the same settings;
        :class:`ExistsError` when they differ). ``config``: ``compression`` (none|gzip|snappy|lz4|zstd),
        ``retention_ms``, ``retention_bytes``, ``cleanup_policy`` (delete|compact),
        ``segment_bytes``, ``flush`` (os | every-batch | interval:<records>:<ms>)."""
        config["partitions"] = partitions
        with _Options(config) as o:
            self._check(_C.topic_create(self._db, _name(name, "topic"), o))

    def topics(self):
        """The topic names, sorted."""
        return self._json_call(_C.topic_list)

    def describe(self, topic):
        """The topic's description as a dict: name, partitions (partition, log_start,
        high_watermark, bytes, segments), compression, cleanup_policy, indexes."""
        return self._json_call(_C.topic_describe, _name(topic, "topic"))

    def end_offsets(self, topic):
        """``{partition: high watermark}`` (the offset the next record will get)."""
        return {p["partition"]: p["high_watermark"] for p in self.describe(topic)["partitions"]}

    # -- appending

    def append(self, topic, value, key=None, headers=None, timestamp=None, partition=None):
        """Appends one record and returns its :class:`Position` ``(partition, offset)``.
        ``partition=None`` chooses by key (Kafka's murmur2; unkeyed records round-robin)."""
        with Batch() as b:
            b.add(value, key, headers, timestamp)
            self.append_batch(topic, b, partition)
            return b.result(0)

    def append_batch(self, topic, batch, partition=None):
        """Appends a :class:`Batch` (its records in one atomic append); afterwards
        ``batch.results()`` says where each went."""
        self._check(_C.append(self._db, _name(topic, "topic"),
                              _PARTITION_BY_KEY if partition is None else partition,
                              batch._handle()))

    def append_many(self, topic, records, partition=None, *, positions=False,
                    chunk_records=20000, chunk_bytes=8 << 20):
        """Appends many records through batches of up to ``chunk_records`` records or about
        ``chunk_bytes`` bytes (each batch is one append; the whole call is not atomic).

        Each record is a value (bytes, str, None), a ``(key, value)`` tuple, a
        ``(key, value, headers)`` or ``(key, value, headers, timestamp)`` tuple, a dict with
        ``value`` and optional ``key``, ``headers``, ``timestamp``, or a :class:`Record`.
        Returns the number appended, or with ``positions=True`` a list of :class:`Position`.
        On a failure the exception's ``appended`` attribute counts the records appended before.
        """
        topic_b = _name(topic, "topic")
        part = _PARTITION_BY_KEY if partition is None else partition
        out = [] if positions else None
        total = 0
        add = _C.batch_add
        add_header = _C.batch_add_header
        append = _C.append
        now = _TIMESTAMP_NOW
        with Batch() as batch:
            b = batch._ptr
            n = size = 0

            def flush():
                rc = append(self._db, topic_b, part, b)
                if rc != OK:
                    try:
                        self._raise(rc)
                    except StrataError as e:
                        e.appended = total
                        raise
                if out is not None:
                    out.extend(batch.results())
                _C.batch_clear(b)

            for rec in records:
                t = type(rec)
                if t is bytes:
                    rc = add(b, None, 0, rec, len(rec), now)
                    size += len(rec)
                elif t is str:
                    v = rec.encode("utf-8")
                    rc = add(b, None, 0, v, len(v), now)
                    size += len(v)
                else:
                    key, value, headers, ts = _record_parts(rec)
                    key = _blob(key, "key")
                    value = _blob(value)
                    ts = _millis(ts)
                    kl = len(key) if key is not None else 0
                    vl = len(value) if value is not None else 0
                    rc = add(b, key, kl, value, vl, now if ts is None else ts)
                    size += kl + vl
                    if rc == OK and headers:
                        for hk, hv in _header_items(headers):
                            hv = _blob(hv, "header value")
                            rc = add_header(b, _name(hk, "header key"), hv,
                                            len(hv) if hv is not None else 0)
                            if rc != OK:
                                break
                            size += len(hk) + (len(hv) if hv is not None else 0)
                if rc != OK:
                    e = _error(rc, "record %d: %s" % (total + n, errstr(rc)))
                    e.appended = total
                    raise e
                n += 1
                if n >= chunk_records or size >= chunk_bytes:
                    flush()
                    total += n
                    n = size = 0
            if n:
                flush()
                total += n
        return out if positions else total

    # -- reading

    def cursor(self, topic, partition=0, start=EARLIEST, *, timestamp=None, group=None):
        """Opens a :class:`Cursor` on ``topic``'s ``partition``.

        ``start``: an offset (int >= 0), ``"earliest"`` or ``"latest"``.
        ``timestamp=MS`` (or a datetime): at the first record whose timestamp is >= it.
        ``group="g"``: at consumer group g's committed offset, or at ``start`` (``"earliest"``
        or ``"latest"``) when it has none.
        """
        topic_b = _name(topic, "topic")
        ptr = c_void_p()
        if timestamp is not None and group is not None:
            raise ValueError("pass timestamp or group, not both")
        if timestamp is not None:
            rc = _C.cursor_open_time(self._db, topic_b, partition, _millis(timestamp), byref(ptr))
        elif group is not None:
            rc = _C.cursor_open_group(self._db, _name(group, "group"), topic_b, partition,
                                      _start_offset(start), byref(ptr))
        else:
            rc = _C.cursor_open(self._db, topic_b, partition, _start_offset(start), byref(ptr))
        if rc != OK:
            self._raise(rc)
        return Cursor(self, ptr, topic, partition)

    def read(self, topic, partition=0, start=EARLIEST, max_records=None):
        """The records of a partition from ``start`` to its end (at most ``max_records``)."""
        with self.cursor(topic, partition, start) as c:
            return c.read(max_records)

    # -- consumer groups

    def commit_offset(self, group, topic, partition, offset, metadata=None):
        """Commits ``offset`` (the next record to read) for group/topic/partition, durably."""
        self._check(_C.group_commit(self._db, _name(group, "group"), _name(topic, "topic"),
                                    partition, offset, _opt_name(metadata, "metadata")))

    def fetch_offset(self, group, topic, partition):
        """The group's committed offset for the partition, or None when it has none
        (NotFoundError when the topic does not exist)."""
        off = c_int64()
        topic_b = _name(topic, "topic")
        rc = _C.group_fetch(self._db, _name(group, "group"), topic_b, partition, byref(off))
        if rc == OK:
            return off.value
        if rc == NOTFOUND:
            # None when only the offset is missing, an error for a missing topic/partition.
            desc = c_void_p()
            drc = _C.topic_describe(self._db, topic_b, byref(desc))
            parts = _take_json(desc.value) if drc == OK else None
            if parts is not None and any(p["partition"] == partition for p in parts["partitions"]):
                return None
            raise _error(rc, "not found: topic %s partition %d" % (topic, partition))
        self._raise(rc)

    # -- indexes

    def create_index(self, name, topic=None, mapping=None, timestamp_field=None):
        """Creates index ``name`` following every partition of ``topic`` (None: the topic of the
        same name). ``mapping``: a dict or JSON text (None: dynamic mapping of everything), e.g.
        ``{"fields":[{"name":"msg","type":"text","analyzer":"english"}],"dynamic":"add"}``;
        ``timestamp_field``: the JSON field holding each record's time (None: the record
        timestamp). On an existing index, adds the mapping's new fields."""
        self._check(_C.index_create(self._db, _name(name, "index"), _opt_name(topic, "topic"),
                                    _json_text(mapping, "mapping"),
                                    _opt_name(timestamp_field, "timestamp_field")))

    def drop_index(self, name):
        """Removes an index (its topic stays)."""
        self._check(_C.index_drop(self._db, _name(name, "index")))

    def refresh(self, index, timeout_ms=None):
        """Makes every record appended before the call searchable (read-your-writes), waiting
        up to ``timeout_ms`` (None: 30 s); :class:`StrataTimeoutError` when it takes longer.
        ``index`` may name a topic with one index. Read-only: opens the writer's newest refresh."""
        self._check(_C.index_refresh(self._db, _name(index, "index"),
                                     -1 if timeout_ms is None else int(timeout_ms)))

    def rebuild(self, index):
        """Re-derives the index from its topic into a new generation and switches atomically."""
        self._check(_C.index_rebuild(self._db, _name(index, "index")))

    def lag(self, index):
        """Records appended but not yet searchable, over all partitions."""
        n = c_int64()
        self._check(_C.index_lag(self._db, _name(index, "index"), byref(n)))
        return n.value

    def index_status(self, index):
        """The index's status as a dict (name, topic, generation, documents, segments, bytes,
        fallback_documents, failure, partitions [...])."""
        return self._json_call(_C.index_status, _name(index, "index"))

    # -- searching

    def _search_handle(self, index, query, options):
        h = c_void_p()
        with _Options(options) as o:
            rc = _C.search(self._db, _name(index, "index"), _name(query, "query"), o, byref(h))
        if rc != OK:
            self._raise(rc)
        return h

    def search(self, index, query="*", limit=10, *, time_range=None, sort=None,
               highlight=False, after=None, count=None, **options):
        """Searches ``index`` (or a topic's one index) with a Lucene-syntax ``query`` (``"*"``:
        everything) over all partitions; returns :class:`SearchResults`, a list of
        :class:`Hit` with ``.total``.

        ``time_range``: ``(from, to)`` ms or datetimes, closed, either may be None.
        ``sort``: relevance | newest | oldest | FIELD:asc | FIELD:desc (default: relevance for
        text queries, else newest). ``highlight``: True, or a dict of highlight options
        (``fragment_size``, ``fragments``, ``pre_tag``, ``post_tag``). ``after``: a hit's
        ``after`` token (the next page). ``count``: whether to count every match (``total``).
        Other keyword options go to ``strata_search`` as they are.
        Raises :class:`QueryError` for an invalid query (the message names the position).
        """
        opts = self._search_options(limit, time_range, sort, highlight, after, count, options)
        h = self._search_handle(index, query, opts)
        try:
            total = c_int64(-1)
            rc = _C.hits_total(h, byref(total))
            if rc != OK:
                raise _error(rc, _decode(_C.hits_errmsg(h)))
            hits = list(_iter_hits(h, bool(highlight)))
        finally:
            _C.hits_close(h)
        return SearchResults(hits, total.value if total.value >= 0 else None)

    def iter_search(self, index, query="*", *, page_size=500, time_range=None, sort=None,
                    highlight=False, **options):
        """Every hit of a query, best first, fetched ``page_size`` at a time (search-after)."""
        after = None
        while True:
            page = self.search(index, query, page_size, time_range=time_range, sort=sort,
                               highlight=highlight, after=after, count=False, **options)
            yield from page
            if len(page) < page_size:
                return
            after = page.after

    @staticmethod
    def _search_options(limit, time_range, sort, highlight, after, count, options):
        opts = dict(options)
        opts["limit"] = limit
        if time_range is not None:
            lo, hi = time_range
            opts["from_ms"] = _millis(lo, "time_range")
            opts["to_ms"] = _millis(hi, "time_range")
        opts["sort"] = sort
        opts["after"] = after
        opts["count"] = count
        if isinstance(highlight, dict):
            opts.update(highlight)
            opts["highlight"] = True
        elif highlight:
            opts["highlight"] = True
        return opts

    def count(self, index, query="*", *, time_range=None):
        """The number of documents matching ``query`` (within ``time_range``)."""
        n = c_int64()
        with _Options(_time_options(time_range)) as o:
            rc = _C.count(self._db, _name(index, "index"), _name(query, "query"), o, byref(n))
        self._check(rc)
        return n.value

    def aggregate(self, index, query, aggregations, *, time_range=None):
        """Aggregations over the documents matching ``query``: ``aggregations`` is a dict (or
        JSON text) like ``{"by_level": {"terms": {"field": "level.keyword", "size": 10}},
        "ms": {"stats": {"field": "ms"}}}`` (also histogram, date_histogram); returns the parsed
        result, e.g. ``{"by_level": {"buckets": [{"key": "error", "count": 3}], "other": 0}}``."""
        aggs = _json_text(aggregations, "aggregations")
        if aggs is None:
            raise TypeError("aggregations must be a dict or JSON text")
        with _Options(_time_options(time_range)) as o:
            return self._json_call(_C.aggregate, _name(index, "index"), _name(query, "query"),
                                   aggs, o)

    # -- maintenance

    def verify(self, topic=None):
        """Checks every segment of ``topic`` (None: every topic) without changing anything;
        returns the parsed report ``[{"partition", "damaged", "segments", "batches",
        "records", "bytes", "findings"}]``."""
        return self._json_call(_C.verify, _opt_name(topic, "topic"))

    def recovery_report(self):
        """What opening repaired, per partition: ``[{"partition", "report"}]``."""
        return self._json_call(_C.recovery_report)


# ---- helpers -------------------------------------------------------------------------------


def _start_offset(start):
    if start is None or start == EARLIEST:
        return _EARLIEST
    if start == LATEST:
        return _LATEST
    if isinstance(start, bool) or not isinstance(start, int):
        raise TypeError("start must be an offset, 'earliest' or 'latest', not %r" % (start,))
    return start


def _time_options(time_range):
    if time_range is None:
        return None
    lo, hi = time_range
    return {"from_ms": _millis(lo, "time_range"), "to_ms": _millis(hi, "time_range")}


def _record_parts(rec):
    """A record spec of append_many -> (key, value, headers, timestamp)."""
    if isinstance(rec, Record):
        return rec.key, rec.value, rec.headers, rec.timestamp
    if isinstance(rec, tuple):
        if len(rec) == 2:
            return rec[0], rec[1], None, None
        if len(rec) == 3:
            return rec[0], rec[1], rec[2], None
        if len(rec) == 4:
            return rec
        raise ValueError("a record tuple is (key, value[, headers[, timestamp]]), got %d items" % len(rec))
    if isinstance(rec, dict):
        unknown = set(rec) - {"key", "value", "headers", "timestamp"}
        if unknown:
            raise ValueError("unknown record fields: %s" % ", ".join(sorted(unknown)))
        return rec.get("key"), rec.get("value"), rec.get("headers"), rec.get("timestamp")
    return None, rec, None, None


def _iter_hits(h, highlight):
    reader = _RecordReader()
    ref, view = reader.ref, reader.view
    score = c_double()
    sref = byref(score)
    token = c_char_p()
    tref = byref(token)
    hl = c_char_p()
    hlref = byref(hl)
    next_fn, header_fn, errmsg_fn = _C.hits_next, _C.hits_header, _C.hits_errmsg
    while True:
        rc = next_fn(h, ref, sref)
        if rc != ROW:
            if rc == DONE:
                return
            raise _error(rc, _decode(errmsg_fn(h)))
        p, off, ts, k, kl, v, vl, hc = _unpack_record(view)
        key = _string_at(k, kl) if k else None
        value = _string_at(v, vl) if v else None
        headers = reader.headers(header_fn, h, hc, errmsg_fn) if hc else ()
        highlights = {}
        if highlight:
            rc = _C.hits_highlight(h, hlref)
            if rc != OK:
                raise _error(rc, _decode(errmsg_fn(h)))
            if hl.value:
                highlights = json.loads(hl.value)
        rc = _C.hits_after(h, tref)
        if rc != OK:
            raise _error(rc, _decode(errmsg_fn(h)))
        yield Hit(score.value, p, off, ts, key, value, headers, highlights,
                  token.value.decode() if token.value is not None else None)
