// Users of the log see its error type and I/O helpers without importing StrataIO.
@_exported import StrataIO
