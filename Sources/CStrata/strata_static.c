// The parts of the C API that are static data: result-code names and the version.
#include "strata.h"

const char *strata_libversion(void) { return STRATA_VERSION; }

int strata_libversion_number(void) { return STRATA_VERSION_NUMBER; }

const char *strata_errstr(int rc) {
    switch (rc) {
    case STRATA_MISUSE_NULL: return "a required pointer argument was NULL";
    case STRATA_MISUSE_HANDLE: return "not a live handle of the expected kind (closed, freed or foreign)";
    case STRATA_MISUSE_CLOSED: return "the store of this object was closed";
    case STRATA_IOERR_PERMISSION: return "permission denied by the file system";
    case STRATA_IOERR_NOENT: return "a file or directory does not exist";
    case STRATA_CORRUPT_CRC: return "a checksum did not match: the data on disk is damaged";
    case STRATA_CORRUPT_DECOMPRESS: return "compressed data did not decompress (damaged, or over the decompression cap)";
    case STRATA_QUERY_SYNTAX: return "query syntax error";
    case STRATA_QUERY_FIELD: return "the query names a field the index does not have";
    case STRATA_INVALID_NAME: return "invalid topic or index name";
    case STRATA_INVALID_JSON: return "invalid JSON argument";
    case STRATA_INVALID_OPTION: return "unknown option or invalid option value";
    default: break;
    }
    switch (rc & 0xff) {
    case STRATA_OK: return "not an error";
    case STRATA_ERROR: return "error";
    case STRATA_MISUSE: return "library used incorrectly";
    case STRATA_NOTFOUND: return "not found";
    case STRATA_EXISTS: return "already exists with other settings";
    case STRATA_IOERR: return "I/O error";
    case STRATA_CORRUPT: return "data on disk is corrupt";
    case STRATA_BUSY: return "the store is open for writing by another process";
    case STRATA_RANGE: return "value out of range";
    case STRATA_QUERY: return "invalid query";
    case STRATA_FULL: return "disk or file-size limit full";
    case STRATA_INVALID: return "invalid argument";
    case STRATA_TOOBIG: return "record or batch too large";
    case STRATA_UNSUPPORTED: return "unsupported data";
    case STRATA_TIMEOUT: return "timed out";
    case STRATA_READONLY: return "the store was opened read-only";
    case STRATA_ROW: return "another row is available";
    case STRATA_DONE: return "no more rows";
    default: return "unknown result code";
    }
}
