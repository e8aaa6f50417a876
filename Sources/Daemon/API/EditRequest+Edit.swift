import Balancer
import Foundation
import LBDAPI

/// The daemon's reading of `POST /v1/edit` (`EditRequest`): strict. A key the operation
/// does not take is an error, not ignored: a misspelt `wieght` must not add a backend
/// with the default weight. Values are read with the parsers of the configuration file.
extension EditRequest {
    /// The edit in `body`, and whether it is forced onto the host's own addresses; the
    /// error is a one-line reason.
    static func edit(from body: Data) throws(APIError) -> (edit: Edit, force: Bool) {
        let request: EditRequest
        let keys: Set<String>
        do {
            keys = try JSONDecoder().decode(KeyNames.self, from: body).names
            request = try JSONDecoder().decode(EditRequest.self, from: body)
        } catch let error as APIError {
            throw error
        } catch let error as DecodingError {
            throw .badRequest(describe(error))
        } catch {
            throw .badRequest("\(error)")
        }
        let op = request.op
        guard let allowed = Operation.keys[op] else { throw unknown(op) }
        let taken = Set(allowed.required.union(allowed.optional).map(\.rawValue))
        for key in keys.sorted() where key != CodingKeys.op.rawValue && !taken.contains(key) {
            throw .badRequest("'\(key)' does not apply to \(op.rawValue) (it takes: \(taken.sorted().joined(separator: ", ")))")
        }
        for key in allowed.required.map(\.rawValue).sorted() where !keys.contains(key) {
            throw .badRequest("\(op.rawValue) needs '\(key)'")
        }
        return (try request.edit(), request.force ?? false)
    }

    private func edit() throws(APIError) -> Edit {
        switch op {
        case .addVIP:
            // The VIP first, for the same message as every other operation's.
            _ = try Self.vip(vip)
            return .addVIP(try service())
        case .removeVIP:
            return .removeVIP(try Self.vip(vip))
        case .addBackend:
            return .addBackend(try Self.vip(vip),
                               BackendSpec(address: try Self.address(address), weight: weight ?? BackendSpec.defaultWeight,
                                           quicServerID: quicServerID))
        case .removeBackend:
            return .removeBackend(try Self.vip(vip), try Self.address(address))
        case .setWeight:
            return .setWeight(try Self.vip(vip), try Self.address(address), weight: weight ?? 0)
        case .drain:
            return .drain(try Self.address(address), vip: try vip.map(Self.vip))
        case .undrain:
            return .undrain(try Self.address(address), vip: try vip.map(Self.vip))
        default:
            // An operation in `Operation.keys` that this switch does not know yet.
            throw Self.unknown(op)
        }
    }

    private static func unknown(_ op: Operation) -> APIError {
        let known = Operation.keys.keys.map(\.rawValue).sorted().joined(separator: ", ")
        return .badRequest("unknown op '\(op.rawValue)' (expected one of: \(known))")
    }

    private static func vip(_ text: String?) throws(APIError) -> VIPKey {
        do {
            return try VIPKey(text ?? "")
        } catch {
            throw .badRequest(error.description)
        }
    }

    private static func address(_ text: String?) throws(APIError) -> IPAddress {
        do {
            return try IPAddress(text ?? "")
        } catch {
            throw .badRequest("address: \(error.description)")
        }
    }

    /// `add_vip`'s fields read as a service of the state file: same keys, same texts.
    private func service() throws(APIError) -> ServiceSpec {
        let optional: [String: Any?] = [
            "vip": vip, "hash": hash, "udp_idle_timeout": udpIdleTimeout, "quic": quic,
            "quic_server_id_length": quicServerIDLength, "quic_connection_id_length": quicConnectionIDLength,
        ]
        let fields = optional.compactMapValues { $0 }
        do {
            return try JSONDecoder().decode(ServiceSpec.self, from: try JSONSerialization.data(withJSONObject: fields))
        } catch let error as DecodingError {
            throw .badRequest(Self.describe(error))
        } catch {
            throw .badRequest("\(error)")
        }
    }

    /// `key: problem`, on one line.
    private static func describe(_ error: DecodingError) -> String {
        let (context, problem): (DecodingError.Context?, String) = switch error {
        case .typeMismatch(let type, let context): (context, "expected \(type == String.self ? "a string" : "an integer")")
        case .valueNotFound(_, let context): (context, "must not be null")
        case .keyNotFound(let key, let context): (context, "'\(key.stringValue)' is required")
        case .dataCorrupted(let context): (context, context.debugDescription)
        @unknown default: (nil, "\(error)")
        }
        guard let key = context?.codingPath.last?.stringValue else {
            return problem.hasPrefix("The given data was not valid JSON")
                ? "the body is not JSON: expected an object such as {\"op\":\"remove_vip\",\"vip\":\"10.0.0.10:80/tcp\"}"
                : problem
        }
        return "'\(key)': \(problem)"
    }

    /// Every key of the body, to refuse the ones the operation does not take.
    private struct KeyNames: Decodable {
        var names: Set<String>

        private struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            guard let all = try? decoder.container(keyedBy: AnyKey.self) else {
                throw APIError.badRequest("the body must be a JSON object")
            }
            names = Set(all.allKeys.map(\.stringValue))
        }
    }
}
