import Balancer
import Foundation

/// The body of `POST /v1/edit`, one operation:
///
///     {"op":"add_vip","vip":"10.0.0.10:80/tcp","hash":"5tuple","udp_idle_timeout":"30s","force":false}
///     {"op":"remove_vip","vip":"10.0.0.10:80/tcp"}
///     {"op":"add_backend","vip":"10.0.0.10:80/tcp","address":"192.0.2.11","weight":100}
///     {"op":"remove_backend","vip":"10.0.0.10:80/tcp","address":"192.0.2.11"}
///     {"op":"set_weight","vip":"10.0.0.10:80/tcp","address":"192.0.2.11","weight":50}
///     {"op":"drain","vip":"10.0.0.10:80/tcp","address":"192.0.2.11"}   (also undrain)
///
/// `hash`, `udp_idle_timeout`, `force` (a VIP on one of the host's own addresses) and
/// `add_backend`'s `weight` are optional; `drain` and
/// `undrain` without `vip` act on every VIP that has the backend. A key the operation
/// does not take is an error, not ignored: a misspelt `wieght` must not add a backend
/// with the default weight.
enum EditRequest {
    private static let keys: [String: (required: Set<String>, optional: Set<String>)] = [
        "add_vip": (["vip"], ["hash", "udp_idle_timeout", "force"]),
        "remove_vip": (["vip"], []),
        "add_backend": (["vip", "address"], ["weight"]),
        "remove_backend": (["vip", "address"], []),
        "set_weight": (["vip", "address", "weight"], []),
        "drain": (["address"], ["vip"]),
        "undrain": (["address"], ["vip"]),
    ]

    /// The edit in `body`, and whether it is forced onto the host's own addresses; the
    /// error is a one-line reason.
    static func parse(_ body: Data) throws(APIError) -> (edit: Edit, force: Bool) {
        let request: Body
        do {
            request = try JSONDecoder().decode(Body.self, from: body)
        } catch let error as APIError {
            throw error
        } catch let error as DecodingError {
            throw .badRequest(describe(error))
        } catch {
            throw .badRequest("\(error)")
        }
        let op = request.op
        guard let allowed = keys[op] else {
            throw .badRequest("unknown op '\(op)' (expected one of: \(keys.keys.sorted().joined(separator: ", ")))")
        }
        let taken = allowed.required.union(allowed.optional)
        for key in request.keys.sorted() where key != "op" && !taken.contains(key) {
            throw .badRequest("'\(key)' does not apply to \(op) (it takes: \(taken.sorted().joined(separator: ", ")))")
        }
        for key in allowed.required.sorted() where !request.keys.contains(key) {
            throw .badRequest("\(op) needs '\(key)'")
        }
        return (try edit(op, request), request.force ?? false)
    }

    private static func edit(_ op: String, _ request: Body) throws(APIError) -> Edit {
        switch op {
        case "add_vip":
            // The VIP first, for the same message as every other operation's.
            _ = try vip(request.vip)
            return .addVIP(try service(request))
        case "remove_vip":
            return .removeVIP(try vip(request.vip))
        case "add_backend":
            return .addBackend(try vip(request.vip),
                               BackendSpec(address: try address(request.address), weight: request.weight ?? BackendSpec.defaultWeight))
        case "remove_backend":
            return .removeBackend(try vip(request.vip), try address(request.address))
        case "set_weight":
            return .setWeight(try vip(request.vip), try address(request.address), weight: request.weight ?? 0)
        case "drain":
            return .drain(try address(request.address), vip: try request.vip.map(vip))
        default:
            return .undrain(try address(request.address), vip: try request.vip.map(vip))
        }
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
    private static func service(_ request: Body) throws(APIError) -> ServiceSpec {
        let fields = ["vip": request.vip, "hash": request.hash, "udp_idle_timeout": request.udpIdleTimeout]
            .compactMapValues { $0 }
        do {
            return try JSONDecoder().decode(ServiceSpec.self, from: try JSONEncoder().encode(fields))
        } catch let error as DecodingError {
            throw .badRequest(describe(error))
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

    /// The body as sent: typed fields, and every key present (to refuse the ones the
    /// operation does not take).
    private struct Body: Decodable {
        var op: String
        var vip: String?
        var address: String?
        var hash: String?
        var udpIdleTimeout: String?
        /// Read as a number and checked whole here: JSON has no integer type.
        var weight: Int?
        var force: Bool?
        var keys: Set<String>

        private enum CodingKeys: String, CodingKey {
            case op, vip, address, hash, weight, force
            case udpIdleTimeout = "udp_idle_timeout"
        }

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
            keys = Set(all.allKeys.map(\.stringValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            op = try container.decode(String.self, forKey: .op)
            vip = try container.decodeIfPresent(String.self, forKey: .vip)
            address = try container.decodeIfPresent(String.self, forKey: .address)
            hash = try container.decodeIfPresent(String.self, forKey: .hash)
            udpIdleTimeout = try container.decodeIfPresent(String.self, forKey: .udpIdleTimeout)
            force = try container.decodeIfPresent(Bool.self, forKey: .force)
            if let number = try container.decodeIfPresent(Double.self, forKey: .weight) {
                guard number.rounded() == number, let whole = Int(exactly: number) else {
                    throw DecodingError.typeMismatch(Int.self, .init(codingPath: [CodingKeys.weight], debugDescription: ""))
                }
                weight = whole
            }
        }
    }
}
