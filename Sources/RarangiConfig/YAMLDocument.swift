import CLibYAML

/// One YAML document, read with libyaml's loader and copied into Swift: what
/// the configuration file reader needs (scalars as their text, sequences,
/// mappings in file order, aliases resolved to the node they name) and
/// nothing more. Tags are not resolved: a scalar is its text, as the reader
/// turns it into a setting's value itself. Nodes refer to each other by
/// index, so an alias cycle or a chain of aliases costs no copies.
struct YAMLDocument {
    /// What a node holds; children are indices into `nodes`.
    enum Content {
        /// A scalar's text (an empty value is the empty string).
        case scalar(String)
        /// A sequence's items, in order.
        case sequence([Int])
        /// A mapping's pairs, in file order (no scalar key twice).
        case mapping([(key: Int, value: Int)])
    }

    fileprivate let nodes: [Content]
    fileprivate let marks: [YAMLMark]

    /// The document's root node.
    var root: YAMLNode { YAMLNode(document: self, index: 0) }

    /// Parses `text`, which must hold at most one document: nil when it holds
    /// none (an empty file, or comments only).
    static func parse(_ text: String) throws(YAMLError) -> YAMLDocument? {
        var bytes = Array(text.utf8)
        bytes.append(0) // a base address even for an empty text
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw YAMLError(message: "libyaml cannot allocate a parser") }
        defer { yaml_parser_delete(&parser) }
        return try bytes.withUnsafeBufferPointer { (buffer) throws(YAMLError) -> YAMLDocument? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count - 1)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            guard let first = try load(&parser) else { return nil }
            if let second = try load(&parser) {
                throw YAMLError(message: "\(second.marks[0]): expected a single document, found another")
            }
            return first
        }
    }

    /// The next document of the stream, nil at its end.
    private static func load(_ parser: inout yaml_parser_t) throws(YAMLError) -> YAMLDocument? {
        var document = yaml_document_t()
        guard yaml_parser_load(&parser, &document) == 1 else { throw YAMLError(parser) }
        defer { yaml_document_delete(&document) }
        guard let start = document.nodes.start, yaml_document_get_root_node(&document) != nil else { return nil }
        let count = document.nodes.top - start
        var nodes: [Content] = []
        var marks: [YAMLMark] = []
        nodes.reserveCapacity(count)
        marks.reserveCapacity(count)
        // libyaml numbers nodes from 1; the root is node 1.
        for node in UnsafeBufferPointer(start: start, count: count) {
            marks.append(YAMLMark(node.start_mark))
            switch node.type {
            case YAML_SCALAR_NODE:
                let s = node.data.scalar
                nodes.append(.scalar(String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)))
            case YAML_SEQUENCE_NODE:
                let items = node.data.sequence.items
                let ids = items.start.map { UnsafeBufferPointer(start: $0, count: items.top! - $0) } ?? UnsafeBufferPointer(start: nil, count: 0)
                nodes.append(.sequence(ids.map { Int($0) - 1 }))
            case YAML_MAPPING_NODE:
                let pairs = node.data.mapping.pairs
                let ps = pairs.start.map { UnsafeBufferPointer(start: $0, count: pairs.top! - $0) } ?? UnsafeBufferPointer(start: nil, count: 0)
                nodes.append(.mapping(ps.map { (key: Int($0.key) - 1, value: Int($0.value) - 1) }))
            default:
                // libyaml makes no other kind; an empty scalar keeps the indices right.
                nodes.append(.scalar(""))
            }
        }
        // A key written twice is a mistake the file's reader would not see
        // (one of the two values would be dropped): refuse it, as Yams did.
        for case let .mapping(pairs) in nodes {
            var seen = Set<String>()
            for pair in pairs {
                guard case let .scalar(key) = nodes[pair.key] else { continue }
                if !seen.insert(key).inserted {
                    throw YAMLError(message: "\(marks[pair.key]): the key '\(key)' appears twice in the same mapping")
                }
            }
        }
        return YAMLDocument(nodes: nodes, marks: marks)
    }
}

/// A node of a `YAMLDocument`.
struct YAMLNode {
    fileprivate let document: YAMLDocument
    fileprivate let index: Int

    private var content: YAMLDocument.Content { document.nodes[index] }

    /// Where the node starts in the text.
    var mark: YAMLMark { document.marks[index] }

    /// The text of a scalar; nil for a sequence or a mapping.
    var string: String? {
        if case let .scalar(s) = content { return s }
        return nil
    }

    /// The items of a sequence; nil for anything else.
    var sequence: [YAMLNode]? {
        guard case let .sequence(items) = content else { return nil }
        return items.map { YAMLNode(document: document, index: $0) }
    }

    /// The pairs of a mapping in file order; nil for anything else.
    var mapping: [(key: YAMLNode, value: YAMLNode)]? {
        guard case let .mapping(pairs) = content else { return nil }
        return pairs.map { (key: YAMLNode(document: document, index: $0.key), value: YAMLNode(document: document, index: $0.value)) }
    }

    /// The value of a mapping's scalar key `key`; nil when there is none or
    /// this is not a mapping.
    subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key.string == key }?.value
    }
}

/// A place in the YAML text, counted from 1 as editors show it.
struct YAMLMark: CustomStringConvertible {
    /// The line, from 1.
    let line: Int
    /// The column, from 1.
    let column: Int

    init(_ mark: yaml_mark_t) {
        line = mark.line + 1
        column = mark.column + 1
    }

    var description: String { "line \(line), column \(column)" }
}

/// Why a text is not YAML: libyaml's sentence, with the line and column.
struct YAMLError: Error, CustomStringConvertible {
    /// The sentence for the operator, e.g. `line 1, column 7: did not find
    /// expected ',' or ']' (while parsing a flow sequence that started at
    /// line 1, column 7)`.
    let message: String

    init(message: String) { self.message = message }

    fileprivate init(_ parser: yaml_parser_t) {
        let problem = parser.problem.map { String(cString: $0) } ?? "cannot be parsed"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            message = "libyaml ran out of memory"
        case YAML_READER_ERROR:
            // The reader counts bytes, not lines: invalid UTF-8 or a control character.
            message = "at byte \(parser.problem_offset): \(problem)"
        default:
            var m = "\(YAMLMark(parser.problem_mark)): \(problem)"
            if let context = parser.context {
                m += " (\(String(cString: context)) that started at \(YAMLMark(parser.context_mark)))"
            }
            message = m
        }
    }

    var description: String { message }
}
