// Users of the search engine see its error type without importing StrataIO.
@_exported import StrataIO
