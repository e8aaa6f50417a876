/// Columns padded to their widest cell and two spaces apart, like `kubectl get`:
/// numbers right-aligned so magnitudes line up, text left-aligned, no trailing blanks.
struct TextTable: Sendable {
    enum Alignment: Sendable {
        case left, right
    }

    struct Column: Sendable {
        let title: String
        let alignment: Alignment

        init(_ title: String, _ alignment: Alignment = .left) {
            self.title = title
            self.alignment = alignment
        }
    }

    let columns: [Column]
    /// One cell per column.
    let rows: [[String]]

    /// The header line, then one line per row, every line with the same column widths.
    var lines: [String] {
        let all = [columns.map(\.title)] + rows
        let widths = columns.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { cells in
            let padded = cells.enumerated().map { index, cell in
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                return columns[index].alignment == .left ? cell + padding : padding + cell
            }
            var line = padded.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            return line
        }
    }
}
