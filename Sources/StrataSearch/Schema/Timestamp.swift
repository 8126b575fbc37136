/// Timestamps as milliseconds since the Unix epoch (UTC), parsed from ISO 8601 / RFC 3339 text
/// on bytes: `2026-11-22`, `2026-11-22T06:11:28`, `2026-11-22 06:11:28.125Z`,
/// `2026-11-22T06:11:28+01:00`. Without a zone the time is UTC.
public enum Timestamp {
    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day number (inverse of `days`).
    static func civil(days z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Parses an ISO 8601 date or date-time; nil when `b` is not one.
    public static func parse(_ b: UnsafeRawBufferPointer) -> Int64? {
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in i ..< i + n {
                guard b[k] >= 0x30 && b[k] <= 0x39 else { return nil }
                v = v * 10 + Int(b[k] - 0x30)
            }
            i += n
            return v
        }
        func expect(_ c: Character) -> Bool {
            guard i < b.count, b[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2),
              (1 ... 12).contains(month), day >= 1, day <= daysInMonth(year, month) else { return nil }
        var ms = Int64(days(year: year, month: month, day: day)) * 86_400_000
        if i == b.count { return ms }
        guard b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: " ") else { return nil }
        i += 1
        guard let h = digits(2), expect(":"), let m = digits(2), h < 24, m < 60 else { return nil }
        ms += Int64(h * 3_600_000 + m * 60000)
        if expect(":") {
            guard let s = digits(2), s < 61 else { return nil }
            ms += Int64(s * 1000)
            if i < b.count && (b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",")) {
                i += 1
                var scale = 100, any = false
                while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                    ms += Int64(Int(b[i] - 0x30) * scale)
                    scale /= 10
                    i += 1
                    any = true
                }
                if !any { return nil }
            }
        }
        if i == b.count { return ms }
        if expect("Z") || expect("z") { return i == b.count ? ms : nil }
        guard i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") else { return nil }
        let sign: Int64 = b[i] == UInt8(ascii: "+") ? 1 : -1
        i += 1
        guard let oh = digits(2), oh < 24 else { return nil }
        _ = expect(":")
        guard let om = digits(2), om < 60, i == b.count else { return nil }
        return ms - sign * Int64(oh * 3_600_000 + om * 60000)
    }

    /// Epoch milliseconds as ISO 8601 UTC text (`2026-11-22T06:00:00.000Z`).
    public static func format(_ ms: Int64) -> String { IndexSearcher.iso(ms) }

    public static func parse(_ s: String) -> Int64? {
        var copy = s
        return copy.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
