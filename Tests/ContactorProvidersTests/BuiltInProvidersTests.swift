import Contactor
import ContactorProviders
import Testing

@Suite struct BuiltInProvidersTests {
    @Test func theFourBuiltInsHaveTheDesignsNamesAndCredentialKeys() {
        let keys = Dictionary(
            uniqueKeysWithValues: BuiltInProviders.all.map {
                ($0.descriptor.name, $0.descriptor.credentialKeys)
            })
        #expect(
            keys == [
                "avosms": ["id", "key"], "octopush": ["api_login", "api_key"],
                "smsgatewayapi": ["client_id", "client_secret"], "smspartner": ["api_key"],
            ])
        #expect(BuiltInProviders.named("octopush")?.descriptor.name == "octopush")
        #expect(BuiltInProviders.named("textmagic") == nil)
    }

    @Test func credentialEnvironmentVariablesFollowTheDesign() {
        #expect(
            Credentials.environmentVariable(provider: "smsgatewayapi", key: "client_secret")
                == "CONTACTOR_SMSGATEWAYAPI_CLIENT_SECRET")
        #expect(
            Credentials.environmentVariable(provider: "octopush", key: "api_login")
                == "CONTACTOR_OCTOPUSH_API_LOGIN")
    }
}
