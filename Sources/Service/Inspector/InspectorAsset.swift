import Foundation
import HTTP
import Registry

/// One file of the Inspector web page (or `openapi.yaml`), embedded in the binary by
/// `scripts/embed-assets` (`InspectorAssets.swift`), with the validator and caching headers it is
/// served with.
struct InspectorAsset: Sendable {
    /// The file name: `index.html`, `inspector.js`, `openapi.yaml`, …
    let name: String
    let contentType: String
    let bytes: [UInt8]
    /// A strong validator: the first 128 bits of the content's SHA-256, quoted.
    let entityTag: String

    init(name: String, contentType: String, text: String) {
        self.name = name
        self.contentType = contentType
        bytes = Array(text.utf8)
        entityTag = "\"" + SHA256.hexString(Array(SHA256.hash(bytes).prefix(16))) + "\""
    }

    /// Every response revalidates (`no-cache`): asset URLs carry no version, so an upgraded server
    /// must never be shadowed by a cached page; a revalidation costs a 304 without a body.
    static let cacheControl = "no-cache"

    /// What the page may load and where it may connect: its own origin only (no CDN, no inline
    /// script), images also from `blob:`/`data:` URLs it makes from the user's files and canvases.
    static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        + "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"

    /// The asset as a 200, or a 304 when `ifNoneMatch` (the request's `If-None-Match`) names its tag.
    func response(ifNoneMatch: String?) -> HTTPResponse {
        var headers = HTTPHeaders(capacity: 6)
        headers.add(name: "ETag", value: entityTag)
        headers.add(name: "Cache-Control", value: Self.cacheControl)
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        if contentType.hasPrefix("text/html") {
            headers.add(name: "Content-Security-Policy", value: Self.contentSecurityPolicy)
            headers.add(name: "Referrer-Policy", value: "no-referrer")
        }
        if let ifNoneMatch, Self.matches(ifNoneMatch, entityTag: entityTag) {
            return HTTPResponse(status: .notModified, headers: headers)
        }
        return HTTPResponse(contentType: contentType, body: bytes, headers: headers)
    }

    /// RFC 9110 §13.1.2: `*`, or a list of tags compared weakly (a `W/` prefix is ignored).
    static func matches(_ ifNoneMatch: String, entityTag: String) -> Bool {
        for element in ifNoneMatch.split(separator: ",") {
            var tag = element.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag = String(tag.dropFirst(2)) }
            if tag == entityTag { return true }
        }
        return false
    }

    /// The embedded file named `name`.
    static func named(_ name: String) -> InspectorAsset? {
        embedded.first { $0.name == name }
    }
}
