/// The outcomes of the records read and not yet emitted, by sequence number: a ring
/// buffer from the oldest record not yet emitted on.
///
/// Outcomes arrive in any order (batches finish when they finish); ``popReady()`` takes
/// the consecutive run of them from the oldest on, which is what is emitted next.
struct OutcomeQueue {
    private struct Slot {
        var outcome: RecordOutcome
        /// Whether the outcome is already in the journal (a batch's outcomes are journalled
        /// as soon as they are known).
        var journaled: Bool
    }

    private var slots: [Slot?] = []
    private var head = 0
    private var filled = 0
    /// The sequence number of the oldest record not yet emitted.
    private(set) var base = 0

    /// How many outcomes are waiting to be taken, consecutive or not.
    var count: Int { filled }

    /// Records the outcome of record `sequence` (at least ``base``).
    mutating func set(_ sequence: Int, _ outcome: RecordOutcome, journaled: Bool = false) {
        let offset = sequence - base
        precondition(offset >= 0, "outcome of an emitted record")
        if offset >= slots.count { grow(to: offset + 1) }
        let index = (head + offset) % slots.count
        if slots[index] == nil { filled += 1 }
        slots[index] = Slot(outcome: outcome, journaled: journaled)
    }

    /// The consecutive outcomes from ``base`` on, removed, with whether each is journalled.
    mutating func popReady() -> [(outcome: RecordOutcome, journaled: Bool)] {
        var ready: [(outcome: RecordOutcome, journaled: Bool)] = []
        while !slots.isEmpty, let slot = slots[head] {
            ready.append((slot.outcome, slot.journaled))
            slots[head] = nil
            head = (head + 1) % slots.count
            base += 1
            filled -= 1
        }
        return ready
    }

    /// Whether the outcome of ``base`` is known, so that ``popReady()`` returns something.
    var hasReady: Bool { !slots.isEmpty && slots[head] != nil }

    private mutating func grow(to needed: Int) {
        var capacity = max(64, slots.count)
        while capacity < needed { capacity *= 2 }
        var grown = [Slot?](repeating: nil, count: capacity)
        for offset in 0..<slots.count {
            grown[offset] = slots[(head + offset) % slots.count]
        }
        slots = grown
        head = 0
    }
}
