@testable import HTTP
import Testing
@testable import Registry
@testable import Service
#if canImport(Glibc)
import Glibc
#endif

@Suite struct DomainErrorMappingTests {
    /// A full disk or a used-up quota while writing an upload, and a registry database that cannot
    /// grow, are 507 naming what failed; other I/O errors stay 500 and other database errors 503.
    @Test func aFullDiskIs507AndOtherFailuresKeepTheirStatus() throws {
        for code in [ENOSPC, EDQUOT] {
            let error = try #require(DomainErrorMapping.httpError(for: RegistryError.io(operation: "write", path: ".uploads/a.partial", errno: code)))
            #expect(error.status == .insufficientStorage)
            #expect(error.errorType == "insufficient_storage")
            #expect(error.message.contains(".uploads/a.partial"))
            #expect(error.message.contains("nothing was changed"))
        }
        let full = try #require(DomainErrorMapping.httpError(for: RegistryError.database(code: 13, message: "database or disk is full", statement: "INSERT")))
        #expect(full.status.code == 507)
        let io = try #require(DomainErrorMapping.httpError(for: RegistryError.io(operation: "write", path: "x", errno: EIO)))
        #expect(io.status == .internalServerError)
        let locked = try #require(DomainErrorMapping.httpError(for: RegistryError.database(code: 5, message: "database is locked", statement: "BEGIN")))
        #expect(locked.status == .serviceUnavailable)
        #expect(HTTPStatus.standardReasonPhrase(507) == "Insufficient Storage")
    }
}
