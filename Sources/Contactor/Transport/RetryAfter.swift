import Foundation
import HTTPTypes

/// Reading the `Retry-After` response header (RFC 9110, section 10.2.3).
public enum RetryAfter {
    /// How long `value` asks to wait: a number of seconds (`120`) or an HTTP date
    /// (`Sun, 06 Nov 1994 08:49:37 GMT`), measured from `now`.
    ///
    /// A date in the past means "now" (`.zero`); anything unreadable is `nil`.
    public static func parse(_ value: String, now: Date = Date()) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty,
            text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        {
            // A very long digit string is "a long time" (capped at about 31 years), not an error.
            return .seconds(min(Int64(text) ?? Int64.max, 1_000_000_000))
        }
        guard let date = HTTPDate.parse(text) else { return nil }
        let interval = date.timeIntervalSince(now)
        return interval <= 0 ? .zero : .nanoseconds(Int64((interval * 1e9).rounded(.up)))
    }

    /// How long `response` asks to wait before the next request, from its `Retry-After`
    /// header, or `nil` when it has none (or an unreadable one).
    public static func parse(_ response: HTTPResponse, now: Date = Date()) -> Duration? {
        response.header("Retry-After").flatMap { parse($0, now: now) }
    }
}

/// HTTP dates (RFC 9110, section 5.6.7): IMF-fixdate, and the two obsolete forms a
/// recipient must still accept.
public enum HTTPDate {
    private static let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

    /// `date` as an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
    public static func format(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "GMT")!
        let parts = calendar.dateComponents(
            [.weekday, .day, .month, .year, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String {
            let value = value ?? 0
            return value < 10 ? "0\(value)" : "\(value)"
        }
        let weekday = days[((parts.weekday ?? 1) - 1) % 7]
        let month = months[((parts.month ?? 1) - 1) % 12]
        return
            "\(weekday), \(two(parts.day)) \(month) \(parts.year ?? 1970) \(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) GMT"
    }

    /// Parses an HTTP date in any of its three forms:
    /// `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate), `Sunday, 06-Nov-94 08:49:37 GMT`
    /// (RFC 850) and `Sun Nov  6 08:49:37 1994` (asctime). Returns `nil` otherwise.
    public static func parse(_ text: String) -> Date? {
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        var day: Int?
        var month: Int?
        var year: Int?
        var time: String?
        if words.count == 6, words[0].hasSuffix(","), words[5] == "GMT" {
            // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
            day = Int(words[1])
            month = months.firstIndex(of: words[2]).map { $0 + 1 }
            year = words[3].count == 4 ? Int(words[3]) : nil
            time = words[4]
        } else if words.count == 4, words[0].hasSuffix(","), words[3] == "GMT" {
            // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (two-digit years: RFC 9110's 50-year rule,
            // simplified to 1950...2049).
            let parts = words[1].split(separator: "-").map(String.init)
            if parts.count == 3 {
                day = Int(parts[0])
                month = months.firstIndex(of: parts[1]).map { $0 + 1 }
                if let short = Int(parts[2]), parts[2].count == 2 {
                    year = short < 50 ? 2000 + short : 1900 + short
                }
            }
            time = words[2]
        } else if words.count == 5, days.contains(words[0]) {
            // asctime: Sun Nov  6 08:49:37 1994
            month = months.firstIndex(of: words[1]).map { $0 + 1 }
            day = Int(words[2])
            time = words[3]
            year = words[4].count == 4 ? Int(words[4]) : nil
        }
        guard let day, let month, let year, let time else { return nil }
        let clock = time.split(separator: ":").map { Int($0) }
        guard clock.count == 3, let hour = clock[0], let minute = clock[1], let second = clock[2],
            (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute),
            (0...60).contains(second)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "GMT")!
        return calendar.date(
            from: DateComponents(
                year: year, month: month, day: day, hour: hour, minute: minute, second: second))
    }
}
