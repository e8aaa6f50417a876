import Foundation
import TestSupport

/// A self-signed certificate for `vip.example`, made by openssl in a temporary
/// directory, as a backend presenting its VIP's certificate would.
struct TestCertificate: Sendable {
    let directory: URL
    var certificatePath: String { directory.appendingPathComponent("cert.pem").path }
    var keyPath: String { directory.appendingPathComponent("key.pem").path }

    static func make() throws -> TestCertificate {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("lbd-hc-"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = TestCertificate(directory: directory)
        try shell("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=vip.example",
                  "-days", "1", "-keyout", certificate.keyPath, "-out", certificate.certificatePath)
        return certificate
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
