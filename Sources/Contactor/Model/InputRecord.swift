/// One record of input (a CSV row), before mapping.
public struct InputRecord: Sendable, Hashable {
    /// The 1-based line of the input file where the record starts (the header is line 1).
    public var line: Int
    /// The record's values by column name, in column order.
    public var columns: [(name: String, value: String)]
    /// Why the record could not be read (invalid UTF-8, wrong number of columns), if so;
    /// such a record ends `rejected` with this error and is never sent.
    public var problem: ContactError?

    /// Creates a record.
    public init(line: Int, columns: [(name: String, value: String)], problem: ContactError? = nil) {
        self.line = line
        self.columns = columns
        self.problem = problem
    }

    /// The value of column `name`, or `nil`.
    public subscript(column name: String) -> String? {
        columns.first { $0.name == name }?.value
    }

    public static func == (lhs: InputRecord, rhs: InputRecord) -> Bool {
        lhs.line == rhs.line && lhs.problem == rhs.problem
            && lhs.columns.elementsEqual(rhs.columns) { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(line)
        for column in columns {
            hasher.combine(column.name)
            hasher.combine(column.value)
        }
    }
}
