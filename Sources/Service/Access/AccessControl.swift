import Foundation
import HTTP
import Registry

/// Who may call what: bearer tokens with scopes, from the JSON file named by `auth_tokens_file`:
///
///     {"tokens": [{"token": "…", "scopes": ["admin", "infer"]}, {"token": "…", "scopes": ["infer"]}]}
///
/// Three modes:
/// - **tokens** (a tokens file is configured): every endpoint but health and metrics needs
///   `Authorization: Bearer <token>` with the endpoint's scope — `infer` for features,
///   attributions, inference, metadata, layers and statistics; `admin` for registration, deletion,
///   load/unload and the repository endpoints. No token or an unknown one: 401 with
///   `WWW-Authenticate: Bearer`; a known token without the scope: 403.
/// - **inference only** (no tokens file, the default): inference endpoints are open, admin
///   endpoints answer 403 — nobody can change the registry over HTTP (the CLI still can).
/// - **insecure development** (no tokens file, `insecure_dev_mode`): everything is open; the
///   server logs a warning at start.
///
/// Tokens are kept only as SHA-256 digests and compared in constant time (every stored digest is
/// compared in full, whatever matches), so neither timing nor memory reveals them; no token is
/// ever logged.
public struct AccessControl: Sendable {
    public enum Mode: String, Sendable, Equatable {
        case tokens
        case inferenceOnly = "inference_only"
        case insecureDevelopment = "insecure_development"
    }

    private struct Entry: Sendable {
        var digest: [UInt8]
        var scopes: Set<AccessScope>
    }

    public let mode: Mode
    private let entries: [Entry]

    /// Authentication with these tokens (mode `tokens`).
    public init(tokens: [(token: String, scopes: Set<AccessScope>)]) {
        mode = .tokens
        entries = tokens.map { Entry(digest: SHA256.hash(Array($0.token.utf8)), scopes: $0.scopes) }
    }

    private init(mode: Mode) {
        self.mode = mode
        entries = []
    }

    /// Inference open, admin endpoints disabled.
    public static let inferenceOnly = AccessControl(mode: .inferenceOnly)
    /// Everything open (development only).
    public static let insecureDevelopment = AccessControl(mode: .insecureDevelopment)

    /// The policy the settings ask for: the tokens file when one is named (it must hold at least
    /// one valid token), else inference-only or, with `insecureDevMode`, everything open.
    public static func load(tokensFile: String?, insecureDevMode: Bool) throws(AccessControlError) -> AccessControl {
        guard let path = tokensFile else { return insecureDevMode ? .insecureDevelopment : .inferenceOnly }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadableFile(path: path, reason: (error as NSError).localizedDescription)
        }
        return try AccessControl(tokens: parse(data, path: path))
    }

    /// The tokens of a tokens file.
    static func parse(_ data: Data, path: String) throws(AccessControlError) -> [(token: String, scopes: Set<AccessScope>)] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .invalidFile(path: path, reason: "not a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { $0 != "tokens" }) {
            throw .invalidFile(path: path, reason: "unknown key '\(unknown)'")
        }
        guard let list = object["tokens"] as? [Any], !list.isEmpty else {
            throw .invalidFile(path: path, reason: "'tokens' must be a non-empty array")
        }
        var tokens: [(token: String, scopes: Set<AccessScope>)] = []
        var seen = Set<String>()
        for (index, item) in list.enumerated() {
            let field = "tokens[\(index)]"
            guard let entry = item as? [String: Any] else { throw .invalidFile(path: path, reason: "\(field) is not an object") }
            if let unknown = entry.keys.sorted().first(where: { $0 != "token" && $0 != "scopes" }) {
                throw .invalidFile(path: path, reason: "\(field) has an unknown key '\(unknown)'")
            }
            guard let token = entry["token"] as? String, !token.isEmpty,
                  token.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw .invalidFile(path: path, reason: "\(field).token must be a non-empty string of visible ASCII characters")
            }
            guard let names = entry["scopes"] as? [String], !names.isEmpty else {
                throw .invalidFile(path: path, reason: "\(field).scopes must be a non-empty array of 'admin' and 'infer'")
            }
            var scopes = Set<AccessScope>()
            for name in names {
                guard let scope = AccessScope(rawValue: name) else {
                    throw .invalidFile(path: path, reason: "\(field).scopes: '\(name)' is not a scope (admin, infer)")
                }
                scopes.insert(scope)
            }
            guard seen.insert(token).inserted else { throw .invalidFile(path: path, reason: "\(field) repeats an earlier token") }
            tokens.append((token, scopes))
        }
        return tokens
    }

    /// Tokens configured (0 outside mode `tokens`).
    public var tokenCount: Int { entries.count }

    /// Whether any token (or the mode) allows admin requests.
    public var allowsAdministration: Bool {
        switch mode {
        case .tokens: entries.contains { $0.scopes.contains(.admin) }
        case .inferenceOnly: false
        case .insecureDevelopment: true
        }
    }

    // MARK: - Checking requests

    /// Throws the 401/403 for a request with `headers` that needs `scope` (nil: open endpoint).
    public func authorize(_ headers: HTTPHeaders, scope: AccessScope?) throws(HTTPError) {
        guard let scope else { return }
        switch mode {
        case .insecureDevelopment:
            return
        case .inferenceOnly:
            guard scope == .admin else { return }
            throw HTTPError(HTTPStatus(code: 403), "admin endpoints are disabled: set auth_tokens_file to a file with admin tokens "
                            + "(or insecure_dev_mode for development only)", errorType: "admin_disabled")
        case .tokens:
            guard let header = headers["authorization"] else {
                throw Self.unauthorized("this endpoint needs a bearer token (Authorization: Bearer <token>)", error: nil)
            }
            let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw Self.unauthorized("the Authorization header must be 'Bearer <token>'", error: "invalid_request")
            }
            guard let scopes = scopes(forToken: String(parts[1]).trimmingCharacters(in: .whitespaces)) else {
                throw Self.unauthorized("the bearer token is not valid", error: "invalid_token")
            }
            guard scopes.contains(scope) else {
                throw HTTPError(HTTPStatus(code: 403), "the token lacks the '\(scope.rawValue)' scope this endpoint needs", errorType: "forbidden")
            }
        }
    }

    /// The scopes of `token`, nil when it is not one of the configured tokens. Takes the same time
    /// whichever token (if any) matches: every digest is compared in full.
    func scopes(forToken token: String) -> Set<AccessScope>? {
        let digest = SHA256.hash(Array(token.utf8))
        var found: Set<AccessScope>?
        for entry in entries {
            var difference: UInt8 = 0
            for index in 0..<digest.count { difference |= digest[index] ^ entry.digest[index] }
            if difference == 0 { found = entry.scopes }
        }
        return found
    }

    private static func unauthorized(_ message: String, error: String?) -> HTTPError {
        var challenge = "Bearer realm=\"periscope\""
        if let error { challenge += ", error=\"\(error)\"" }
        return HTTPError(HTTPStatus(code: 401), message, errorType: "unauthorized", headers: ["WWW-Authenticate": challenge])
    }
}
