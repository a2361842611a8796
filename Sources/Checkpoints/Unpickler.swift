/// A restricted pickle virtual machine (protocols 2-5) for the opcodes torch.save emits for state
/// dicts. It never imports or calls anything: GLOBAL/STACK_GLOBAL resolve only names on the
/// `AllowedGlobal` list, and REDUCE/NEWOBJ only "call" those by building `PickleValue`s. Every read is
/// bounds-checked, so a damaged or hostile stream ends in a `CheckpointError`, never a crash.
struct Unpickler {
    private let bytes: UnsafeRawBufferPointer
    private let file: String
    /// Added to positions in error messages (where this pickle starts in the file).
    private let baseOffset: Int
    private let persistentLoad: ((PickleValue) throws -> PickleValue)?

    private var position: Int
    private var stack: [Item] = []
    private var marks: [Int] = []
    private var memo: [Int: Item] = [:]
    private var opcodeStart = 0

    /// Containers deeper than this are refused: freeing a deeply nested value recurses, so a hostile
    /// stream of a million TUPLE1s would otherwise overflow the stack. State dicts nest about 3 deep.
    static let maximumDepth = 32

    /// A stack or memo slot: the value and, for tuples, its nesting depth (lists and dicts carry
    /// their own, because they can still grow).
    private struct Item {
        var value: PickleValue
        var depth: Int = 0
    }

    /// Unpickles one pickle starting at `start`; returns its value and the position after its STOP.
    static func load(
        _ bytes: UnsafeRawBufferPointer, from start: Int = 0, file: String, baseOffset: Int = 0,
        persistentLoad: ((PickleValue) throws -> PickleValue)? = nil
    ) throws -> (value: PickleValue, end: Int) {
        var machine = Unpickler(bytes: bytes, file: file, baseOffset: baseOffset, persistentLoad: persistentLoad,
                                position: start)
        let value = try machine.run()
        return (value, machine.position)
    }

    private init(bytes: UnsafeRawBufferPointer, file: String, baseOffset: Int,
                 persistentLoad: ((PickleValue) throws -> PickleValue)?, position: Int) {
        self.bytes = bytes
        self.file = file
        self.baseOffset = baseOffset
        self.persistentLoad = persistentLoad
        self.position = position
    }

    // MARK: Reading

    private func malformed(_ reason: String) -> CheckpointError {
        .malformedPickle(file: file, offset: baseOffset + opcodeStart, reason: reason)
    }

    private mutating func take(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= bytes.count - position else {
            throw CheckpointError.truncated(file: file, what: "a pickle (byte \(baseOffset + opcodeStart))")
        }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
    }

    private mutating func byte() throws -> UInt8 { try take(1)[0] }

    private mutating func unsigned(_ width: Int) throws -> UInt64 {
        let raw = try take(width)
        return raw.littleEndian(at: 0, width: width)
    }

    /// A length field; lengths beyond the remaining bytes are reported as truncation by `take`.
    private mutating func length(_ width: Int) throws -> Int {
        let value = try unsigned(width)
        guard value <= UInt64(Int.max) else { throw malformed("length \(value) out of range") }
        return Int(value)
    }

    private mutating func utf8(_ count: Int) throws -> String {
        let raw = try take(count)
        guard let string = String(validating: raw, as: UTF8.self) else { throw malformed("string is not UTF-8") }
        return string
    }

    private mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else {
            throw CheckpointError.truncated(file: file, what: "a pickle GLOBAL (byte \(baseOffset + opcodeStart))")
        }
        let text = try utf8(end - position)
        position += 1
        return text
    }

    // MARK: Stack

    private mutating func push(_ value: PickleValue) { stack.append(Item(value: value)) }

    private mutating func popItem() throws -> Item {
        if let mark = marks.last, stack.count <= mark { throw malformed("stack underflow past a MARK") }
        guard let top = stack.popLast() else { throw malformed("stack underflow") }
        return top
    }

    private mutating func pop() throws -> PickleValue { try popItem().value }

    private mutating func popMark() throws -> [Item] {
        guard let mark = marks.popLast() else { throw malformed("no MARK on the stack") }
        guard mark <= stack.count else { throw malformed("MARK above the stack top") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private func top() throws -> Item {
        guard let top = stack.last else { throw malformed("stack underflow") }
        return top
    }

    private mutating func memoGet(_ index: Int) throws {
        guard let item = memo[index] else { throw malformed("memo index \(index) was never stored") }
        stack.append(item)
    }

    // MARK: Nesting depth

    private func depth(of item: Item) -> Int {
        switch item.value {
        case .list(let list): list.depth
        case .dict(let dict): dict.depth
        default: item.depth
        }
    }

    /// The depth of a container holding `items`; marks mutable children as nested so they can no
    /// longer grow deeper behind their parent's back (which also rules out cycles).
    private func nest(_ items: [Item]) throws -> Int {
        var deepest = 0
        for item in items {
            switch item.value {
            case .list(let list): list.nested = true
            case .dict(let dict): dict.nested = true
            default: break
            }
            deepest = max(deepest, depth(of: item))
        }
        guard deepest < Self.maximumDepth else { throw malformed("containers nested deeper than \(Self.maximumDepth)") }
        return deepest + 1
    }

    private func grow(_ current: inout Int, nested: Bool, to depth: Int) throws {
        guard depth > current else { return }
        guard !nested else { throw malformed("a container grew deeper after being placed in another (or in itself)") }
        current = depth
    }

    private func append(_ items: [Item], to target: Item) throws {
        guard case .list(let list) = target.value else { throw malformed("APPEND to \(target.value.typeName)") }
        let depth = try nest(items)
        try grow(&list.depth, nested: list.nested, to: depth)
        list.items.append(contentsOf: items.map(\.value))
    }

    private func setItems(_ items: [Item], in target: Item) throws {
        guard case .dict(let dict) = target.value else { throw malformed("SETITEM on \(target.value.typeName)") }
        guard items.count % 2 == 0 else { throw malformed("odd number of items for a dict") }
        let depth = try nest(items)
        try grow(&dict.depth, nested: dict.nested, to: depth)
        for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i].value, items[i + 1].value) }
    }

    private mutating func pushTuple(_ items: [Item]) throws {
        stack.append(Item(value: .tuple(items.map(\.value)), depth: try nest(items)))
    }

    // MARK: Machine

    private mutating func run() throws -> PickleValue {
        while true {
            opcodeStart = position
            let opcode = try byte()
            switch opcode {
            case 0x80:  // PROTO
                let version = try byte()
                guard version <= 5 else { throw malformed("pickle protocol \(version) is newer than 5") }
            case 0x95:  // FRAME: framing is only a read-ahead hint
                _ = try unsigned(8)
            case 0x2E:  // STOP
                guard let result = stack.popLast() else { throw malformed("STOP on an empty stack") }
                return result.value
            case 0x28:  // MARK
                marks.append(stack.count)
            case 0x30:  // POP
                _ = try pop()
            case 0x31:  // POP_MARK
                _ = try popMark()
            case 0x32:  // DUP
                stack.append(try top())  // shares a list/dict, like Python

            case 0x4E: push(.none)  // NONE
            case 0x88: push(.bool(true))  // NEWTRUE
            case 0x89: push(.bool(false))  // NEWFALSE
            case 0x4B: push(.int(Int(try unsigned(1))))  // BININT1
            case 0x4D: push(.int(Int(try unsigned(2))))  // BININT2
            case 0x4A: push(.int(Int(Int32(truncatingIfNeeded: try unsigned(4)))))  // BININT
            case 0x8A: push(try long(byteCount: try length(1)))  // LONG1
            case 0x8B:  // LONG4
                let count = Int(Int32(truncatingIfNeeded: try unsigned(4)))
                guard count >= 0 else { throw malformed("negative LONG4 length") }
                push(try long(byteCount: count))
            case 0x47:  // BINFLOAT, big-endian
                let raw = try take(8)
                var bits: UInt64 = 0
                for b in raw { bits = bits << 8 | UInt64(b) }
                push(.float(Double(bitPattern: bits)))

            case 0x58: push(.string(try utf8(try length(4))))  // BINUNICODE
            case 0x8C: push(.string(try utf8(try length(1))))  // SHORT_BINUNICODE
            case 0x8D: push(.string(try utf8(try length(8))))  // BINUNICODE8
            case 0x54:  // BINSTRING (Python 2 str, signed length)
                let count = Int(Int32(truncatingIfNeeded: try unsigned(4)))
                guard count >= 0 else { throw malformed("negative BINSTRING length") }
                push(.string(String(decoding: try take(count), as: UTF8.self)))
            case 0x55: push(.string(String(decoding: try take(try length(1)), as: UTF8.self)))  // SHORT_BINSTRING
            case 0x42: push(.bytes(Array(try take(try length(4)))))  // BINBYTES
            case 0x43: push(.bytes(Array(try take(try length(1)))))  // SHORT_BINBYTES
            case 0x8E: push(.bytes(Array(try take(try length(8)))))  // BINBYTES8

            case 0x29: push(.tuple([]))  // EMPTY_TUPLE
            case 0x85: try pushTuple([try popItem()])  // TUPLE1
            case 0x86:  // TUPLE2
                let b = try popItem(), a = try popItem()
                try pushTuple([a, b])
            case 0x87:  // TUPLE3
                let c = try popItem(), b = try popItem(), a = try popItem()
                try pushTuple([a, b, c])
            case 0x74: try pushTuple(try popMark())  // TUPLE
            case 0x5D: push(.list(PickleList()))  // EMPTY_LIST
            case 0x6C:  // LIST
                let items = try popMark()
                let list = Item(value: .list(PickleList()))
                try append(items, to: list)
                stack.append(list)
            case 0x7D: push(.dict(PickleDict()))  // EMPTY_DICT
            case 0x64:  // DICT
                let items = try popMark()
                let dict = Item(value: .dict(PickleDict()))
                try setItems(items, in: dict)
                stack.append(dict)
            case 0x61:  // APPEND
                let item = try popItem()
                try append([item], to: try top())
            case 0x65:  // APPENDS
                let items = try popMark()
                try append(items, to: try top())
            case 0x73:  // SETITEM
                let value = try popItem(), key = try popItem()
                try setItems([key, value], in: try top())
            case 0x75:  // SETITEMS
                let items = try popMark()
                try setItems(items, in: try top())

            case 0x71: memo[Int(try unsigned(1))] = try top()  // BINPUT
            case 0x72: memo[Int(try unsigned(4))] = try top()  // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()  // MEMOIZE
            case 0x68: try memoGet(Int(try unsigned(1)))  // BINGET
            case 0x6A: try memoGet(Int(try unsigned(4)))  // LONG_BINGET

            case 0x63:  // GLOBAL
                let module = try line(), name = try line()
                push(.global(try resolve(module: module, name: name)))
            case 0x93:  // STACK_GLOBAL
                let nameValue = try pop(), moduleValue = try pop()
                guard case .string(let module) = moduleValue, case .string(let name) = nameValue else {
                    throw malformed("STACK_GLOBAL needs two strings")
                }
                push(.global(try resolve(module: module, name: name)))
            case 0x52:  // REDUCE
                let arguments = try pop(), callable = try pop()
                guard case .tuple(let args) = arguments else { throw malformed("REDUCE arguments are not a tuple") }
                push(try call(callable, args))
            case 0x81:  // NEWOBJ
                let arguments = try pop(), cls = try pop()
                guard case .global(.orderedDict) = cls, case .tuple(let args) = arguments else {
                    throw malformed("NEWOBJ of \(cls.typeName) is not supported")
                }
                push(try call(cls, args))
            case 0x62:  // BUILD
                let state = try pop()
                switch try top().value {
                case .dict:
                    _ = state  // OrderedDict `_metadata` (per-module versions): not needed to load tensors.
                case .tensor:
                    _ = state  // Parameter state (requires_grad etc.).
                case let other:
                    throw malformed("BUILD on \(other.typeName) is not supported")
                }
            case 0x51:  // BINPERSID
                guard let persistentLoad else { throw malformed("persistent id in a pickle that defines none") }
                push(try persistentLoad(try pop()))

            default:
                throw CheckpointError.unsupportedOpcode(file: file, offset: baseOffset + opcodeStart, opcode: opcode)
            }
        }
    }

    private mutating func long(byteCount: Int) throws -> PickleValue {
        Self.integer(fromLittleEndian: Array(try take(byteCount)))
    }

    static func integer(fromLittleEndian raw: [UInt8]) -> PickleValue {
        guard !raw.isEmpty else { return .int(0) }
        guard raw.count <= 8 else { return .bigInt(raw) }
        var bits: UInt64 = 0
        for (i, b) in raw.enumerated() { bits |= UInt64(b) << (8 * UInt64(i)) }
        let shift = UInt64(64 - 8 * raw.count)
        return .int(Int(Int64(bitPattern: bits << shift) >> Int64(shift)))
    }

    private func resolve(module: String, name: String) throws -> AllowedGlobal {
        guard let global = AllowedGlobal(module: module, name: name) else {
            throw CheckpointError.forbiddenGlobal(file: file, name: "\(module).\(name)")
        }
        return global
    }

    // MARK: Calls of allow-listed globals

    private func call(_ callable: PickleValue, _ args: [PickleValue]) throws -> PickleValue {
        guard case .global(let global) = callable else { throw malformed("REDUCE on \(callable.typeName)") }
        switch global {
        case .orderedDict:
            // Python pickles OrderedDict as `OrderedDict()` followed by SETITEMS.
            guard args.isEmpty else { throw malformed("OrderedDict called with \(args.count) arguments") }
            return .dict(PickleDict())
        case .rebuildTensor, .rebuildTensorV2:
            guard args.count >= 4 else { throw malformed("\(global.qualifiedName) needs 4 arguments, got \(args.count)") }
            guard case .storage(let storage) = args[0] else {
                throw malformed("\(global.qualifiedName) first argument is \(args[0].typeName), not a storage")
            }
            return .tensor(TensorReference(storage: storage, storageOffset: try int(args[1], "storage offset"),
                                           size: try ints(args[2], "size"), stride: try ints(args[3], "stride")))
        case .rebuildParameter, .rebuildParameterWithState:
            guard let data = args.first, case .tensor = data else { throw malformed("\(global.qualifiedName) without a tensor") }
            return data
        case .storageType(let kind):
            throw malformed("torch.\(kind.className) called directly; storages must come from persistent ids")
        }
    }

    private func int(_ value: PickleValue, _ what: String) throws -> Int {
        guard case .int(let v) = value else { throw malformed("tensor \(what) is \(value.typeName), not an int") }
        return v
    }

    private func ints(_ value: PickleValue, _ what: String) throws -> [Int] {
        guard case .tuple(let items) = value else { throw malformed("tensor \(what) is \(value.typeName), not a tuple") }
        return try items.map { try int($0, what) }
    }
}
