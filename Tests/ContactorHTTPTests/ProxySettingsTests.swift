import ContactorHTTP
import Foundation
import Testing

@Suite("ProxySettings from the environment")
struct ProxySettingsTests {
    @Test("no proxy variable means no proxy")
    func none() {
        #expect(ProxySettings.fromEnvironment(["PATH": "/bin", "NO_PROXY": "x"]) == nil)
    }

    @Test("HTTPS_PROXY serves https URLs and HTTP_PROXY http URLs")
    func perScheme() throws {
        let settings = try #require(
            ProxySettings.fromEnvironment([
                "HTTPS_PROXY": "http://secure.proxy:3128", "HTTP_PROXY": "plain.proxy:8080",
            ]))
        #expect(
            settings.proxy(for: URL(string: "https://api.octopush.com/v1")!)
                == .init(host: "secure.proxy", port: 3128))
        #expect(
            settings.proxy(for: URL(string: "http://api.smspartner.fr/v1")!)
                == .init(host: "plain.proxy", port: 8080))
    }

    @Test("the lower-case variable wins over the upper-case one")
    func lowerCaseWins() throws {
        let settings = try #require(
            ProxySettings.fromEnvironment([
                "HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:2",
            ]))
        #expect(settings.https == .init(host: "lower", port: 2))
    }

    @Test("under CGI an upper-case HTTP_PROXY is ignored (httpoxy)")
    func httpoxy() {
        #expect(
            ProxySettings.fromEnvironment(["HTTP_PROXY": "http://evil:1", "REQUEST_METHOD": "GET"])
                == nil)
    }

    @Test("proxy credentials are parsed but never described")
    func credentialsHidden() throws {
        let settings = try #require(
            ProxySettings.fromEnvironment(["https_proxy": "http://user:pa55word@proxy:3128"]))
        #expect(settings.https?.username == "user")
        #expect(settings.https?.password == "pa55word")
        #expect(!settings.description.contains("pa55word"))
        #expect(!settings.description.contains("user"))
    }

    @Test(
        "NO_PROXY entries send matching hosts directly",
        arguments: [
            ("api.octopush.com", "octopush.com", true),
            ("octopush.com", "octopush.com", true),
            ("evil-octopush.com", "octopush.com", false),
            ("api.octopush.com", ".octopush.com", true),
            ("api.octopush.com", "*.octopush.com", true),
            ("127.0.0.1", "127.0.0.1", true),
            ("10.1.2.3", "10.0.0.0/8", true),
            ("11.1.2.3", "10.0.0.0/8", false),
            ("anything.example", "*", true),
            ("api.avosms.com", "api.avosms.com:443", true),
            ("api.avosms.com", "api.avosms.com:8443", false),
            ("API.Avosms.COM", "api.avosms.com", true),
        ])
    func noProxy(host: String, entry: String, bypassed: Bool) throws {
        let settings = try #require(
            ProxySettings.fromEnvironment([
                "HTTPS_PROXY": "proxy:3128", "NO_PROXY": "other, \(entry)",
            ]))
        let url = URL(string: "https://\(host)/v1/contact")!
        #expect((settings.proxy(for: url) == nil) == bypassed)
    }
}
