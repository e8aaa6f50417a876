@testable import Balancer
import HealthCheck
import XCTest

/// Text forms of addresses, VIPs and the other values operators write.
final class AddressTests: XCTestCase {
    func testIPv4ParsesAndFormats() throws {
        let address = try IPAddress("192.0.2.1")
        XCTAssertEqual(address.family, .v4)
        XCTAssertEqual(address.description, "192.0.2.1")
        XCTAssertEqual(address.bytes, [192, 0, 2, 1])
        XCTAssertEqual(address.identity, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1])
    }

    /// RFC 5952: lower case, longest zero run compressed (the first on a tie), a single
    /// zero group never compressed, leading zeros dropped.
    func testIPv6FormatsCanonically() throws {
        let cases = [
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            ("2001:0db8::0001", "2001:db8::1"),
            ("::", "::"),
            ("::1", "::1"),
            ("fe80::", "fe80::"),
            ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(try IPAddress(input).description, expected, input)
        }
        XCTAssertEqual(try IPAddress("2001:db8::1").identity.count, 16)
    }

    func testBytesRoundTrip() throws {
        for text in ["192.0.2.1", "2001:db8::10", "10.255.0.1"] {
            let address = try IPAddress(text)
            XCTAssertEqual(IPAddress(bytes: address.bytes), address)
        }
        XCTAssertNil(IPAddress(bytes: [1, 2, 3]))
        XCTAssertNil(IPAddress(bytes: try IPAddress("192.0.2.1").identity), "IPv4-mapped bytes are not an IPv6 address")
    }

    /// Order is the Maglev identity order: every IPv4 address (::ffff:a.b.c.d) sorts by
    /// its mapped bytes among IPv6 ones.
    func testOrderFollowsIdentity() throws {
        let addresses = try ["2001:db8::1", "10.0.0.2", "::2", "10.0.0.1", "fe80::1"].map(IPAddress.init)
        XCTAssertEqual(addresses.sorted().map(\.description), ["::2", "10.0.0.1", "10.0.0.2", "2001:db8::1", "fe80::1"])
        XCTAssertEqual(addresses.sorted().map(\.identity), addresses.map(\.identity).sorted { $0.lexicographicallyPrecedes($1) })
    }

    func testBadAddressesSayWhy() {
        let cases = [
            ("10.0.0.256", "bad IPv4 address '10.0.0.256': 256 is above 255"),
            ("10.0.0", "bad IPv4 address '10.0.0': expected four numbers separated by dots"),
            ("10..0.1", "bad IPv4 address '10..0.1': expected four numbers separated by dots"),
            ("010.0.0.1", "bad IPv4 address '010.0.0.1': '010' has a leading zero (octal or decimal?); write it without"),
            ("", "'' is not an IP address"),
            ("example.com", "'example.com' is not an IP address"),
            ("2001:db8::1::2", "bad IPv6 address '2001:db8::1::2': '::' may appear only once"),
            ("2001:db8:1", "bad IPv6 address '2001:db8:1': expected 8 groups, found 3"),
            ("2001:db8::12345", "bad IPv6 address '2001:db8::12345': '12345' is not a group of 1 to 4 hex digits"),
            ("2001:db8::g", "bad IPv6 address '2001:db8::g': 'g' is not a group of 1 to 4 hex digits"),
            ("1:2:3:4:5:6:7::8", "bad IPv6 address '1:2:3:4:5:6:7::8': '::' stands for no group here: too many groups"),
            (":1:2:3:4:5:6:7", "bad IPv6 address ':1:2:3:4:5:6:7': empty group (a single ':' at an end, or ':::')"),
            ("fe80::1%eth0", "bad IPv6 address 'fe80::1%eth0': zone indices (%interface) are not supported"),
            ("::ffff:192.0.2.1", "bad IPv6 address '::ffff:192.0.2.1': an IPv4-mapped address is an IPv4 host; write 192.0.2.1"),
            ("[2001:db8::1]", "bad IPv6 address '[2001:db8::1]': brackets belong around the address in a VIP (address:port), "
                + "not in an address"),
            ("::1.2.3.256", "bad IPv6 address '::1.2.3.256': 256 is above 255"),
        ]
        for (input, message) in cases {
            XCTAssertThrowsError(try IPAddress(input), input) { XCTAssertEqual("\($0)", message) }
        }
    }

    func testVIPKeysParseAndFormat() throws {
        let v4 = try VIPKey("10.0.0.10:80/tcp")
        XCTAssertEqual(v4.address, try IPAddress("10.0.0.10"))
        XCTAssertEqual(v4.port, 80)
        XCTAssertEqual(v4.proto, .tcp)
        XCTAssertEqual(v4.description, "10.0.0.10:80/tcp")
        let v6 = try VIPKey("[2001:DB8::10]:443/udp")
        XCTAssertEqual(v6.description, "[2001:db8::10]:443/udp")
        XCTAssertEqual(try VIPKey("10.0.0.10:0/udp").port, 0)
        XCTAssertEqual(try VIPKey("[::1]:65535/tcp").port, 65535)
    }

    func testBadVIPsSayWhy() {
        let example = "expected address:port/proto, e.g. 10.0.0.10:80/tcp or [2001:db8::10]:443/tcp"
        let cases = [
            ("10.0.0.10:80", "bad VIP '10.0.0.10:80': no protocol; \(example)"),
            ("10.0.0.10/tcp", "bad VIP '10.0.0.10/tcp': no port; \(example)"),
            ("10.0.0.10:80/sctp", "bad VIP '10.0.0.10:80/sctp': protocol 'sctp' is not tcp or udp"),
            ("10.0.0.10:80/TCP", "bad VIP '10.0.0.10:80/TCP': protocol 'TCP' is not tcp or udp"),
            ("10.0.0.10:65536/tcp", "bad VIP '10.0.0.10:65536/tcp': port 65536 is above 65535"),
            ("10.0.0.10:http/tcp", "bad VIP '10.0.0.10:http/tcp': port 'http' is not a number (0 means every port)"),
            ("10.0.0.10:-1/tcp", "bad VIP '10.0.0.10:-1/tcp': port '-1' is not a number (0 means every port)"),
            ("10.0.0.10:/tcp", "bad VIP '10.0.0.10:/tcp': port '' is not a number (0 means every port)"),
            ("2001:db8::10:443/tcp", "bad VIP '2001:db8::10:443/tcp': an IPv6 address needs brackets: [2001:db8::10]:443/tcp"),
            ("[2001:db8::10:443/tcp", "bad VIP '[2001:db8::10:443/tcp': '[' without ']'"),
            ("[2001:db8::10]443/tcp", "bad VIP '[2001:db8::10]443/tcp': no port after ']'; \(example)"),
            ("10.0.0.300:80/tcp", "bad VIP '10.0.0.300:80/tcp': bad IPv4 address '10.0.0.300': 300 is above 255"),
        ]
        for (input, message) in cases {
            XCTAssertThrowsError(try VIPKey(input), input) { XCTAssertEqual("\($0)", message) }
        }
    }

    func testVIPOrderIsAddressPortProtocol() throws {
        let keys = try ["10.0.0.2:80/tcp", "10.0.0.1:443/tcp", "10.0.0.1:80/udp", "10.0.0.1:80/tcp", "[2001:db8::1]:80/tcp"]
            .map(VIPKey.init)
        XCTAssertEqual(keys.sorted().map(\.description),
                       ["10.0.0.1:80/tcp", "10.0.0.1:80/udp", "10.0.0.1:443/tcp", "10.0.0.2:80/tcp", "[2001:db8::1]:80/tcp"])
    }

    func testDurations() throws {
        XCTAssertEqual(try DurationText.parse("30s"), .seconds(30))
        XCTAssertEqual(try DurationText.parse("500ms"), .milliseconds(500))
        XCTAssertEqual(try DurationText.parse("2m"), .seconds(120))
        XCTAssertEqual(try DurationText.parse("1h"), .seconds(3600))
        XCTAssertEqual(DurationText.format(.seconds(90)), "90s")
        XCTAssertEqual(DurationText.format(.seconds(120)), "2m")
        XCTAssertEqual(DurationText.format(.seconds(7200)), "2h")
        XCTAssertEqual(DurationText.format(.milliseconds(1500)), "1500ms")
        XCTAssertEqual(DurationText.format(.zero), "0s")
        // Negative durations are read, so that validation refuses them as out of range.
        XCTAssertEqual(try DurationText.parse("-1s"), .seconds(-1))
        for text in ["30", "s", "1.5s", "30 s", "1m30s", "10d", "", "1234567890s"] {
            XCTAssertThrowsError(try DurationText.parse(text), text) {
                XCTAssertEqual("\($0)", "bad duration '\(text)': expected a whole number and a unit (ms, s, m, h), e.g. 30s")
            }
        }
    }

    func testPrefixes() throws {
        let v4 = try IPPrefix("172.16.0.0/16")
        XCTAssertEqual(v4.description, "172.16.0.0/16")
        XCTAssertEqual(v4.maskBytes, [255, 255, 0, 0])
        let v6 = try IPPrefix("fd00:1bd::/64")
        XCTAssertEqual(v6.maskBytes, [UInt8](repeating: 255, count: 8) + [UInt8](repeating: 0, count: 8))
        XCTAssertEqual(try IPPrefix("10.1.2.3/32").maskBytes, [255, 255, 255, 255])
        XCTAssertEqual(try IPPrefix("10.1.2.0/23").maskBytes, [255, 255, 254, 0])
        let cases = [
            ("172.16.0.1/16", "bad prefix '172.16.0.1/16': host bits are set; did you mean 172.16.0.0/16?"),
            ("172.16.0.0", "bad prefix '172.16.0.0': expected address/length, e.g. 172.16.0.0/16"),
            ("172.16.0.0/33", "bad prefix '172.16.0.0/33': length '33' is not in 1...32"),
            ("172.16.0.0/0", "bad prefix '172.16.0.0/0': length '0' is not in 1...32"),
            ("fd00::/129", "bad prefix 'fd00::/129': length '129' is not in 1...128"),
            ("fd00::/x", "bad prefix 'fd00::/x': length 'x' is not in 1...128"),
            ("fd00:lbd::/64", "bad prefix 'fd00:lbd::/64': bad IPv6 address 'fd00:lbd::': 'lbd' is not a group of 1 to 4 hex digits"),
        ]
        for (input, message) in cases {
            XCTAssertThrowsError(try IPPrefix(input), input) { XCTAssertEqual("\($0)", message) }
        }
    }

    func testMACAddresses() throws {
        XCTAssertEqual(try MACAddress("02:00:00:00:00:0A").description, "02:00:00:00:00:0a")
        XCTAssertEqual(try MACAddress("02:00:00:00:00:0a").bytes, [2, 0, 0, 0, 0, 10])
        let format = "expected six pairs of hex digits separated by colons, e.g. 02:00:00:00:00:01"
        let cases = [
            ("02:00:00:00:00", "bad MAC address '02:00:00:00:00': \(format)"),
            ("02-00-00-00-00-01", "bad MAC address '02-00-00-00-00-01': \(format)"),
            ("02:00:00:00:00:0g", "bad MAC address '02:00:00:00:00:0g': '0g' is not two hex digits"),
            ("01:00:5e:00:00:01", "bad MAC address '01:00:5e:00:00:01': a multicast address cannot be a gateway"),
            ("00:00:00:00:00:00", "bad MAC address '00:00:00:00:00:00': the all-zero address cannot be a gateway"),
        ]
        for (input, message) in cases {
            XCTAssertThrowsError(try MACAddress(input), input) { XCTAssertEqual("\($0)", message) }
        }
    }

    func testListenAddresses() throws {
        XCTAssertEqual(try ListenAddress("127.0.0.1:9750").description, "127.0.0.1:9750")
        XCTAssertEqual(try ListenAddress("[::1]:9750").description, "[::1]:9750")
        XCTAssertThrowsError(try ListenAddress("127.0.0.1:0")) {
            XCTAssertEqual("\($0)", "bad listen address '127.0.0.1:0': port '0' is not in 1...65535")
        }
        XCTAssertThrowsError(try ListenAddress("::1:9750")) {
            XCTAssertEqual("\($0)", "bad listen address '::1:9750': an IPv6 address needs brackets: [::1]:9750")
        }
    }
}
