import Testing
import Registry

@Suite struct ModelNameTests {
    @Test(arguments: ["a", "0", "resnet-18", "bert.base_uncased", "a1-b2.c3_d4", String(repeating: "x", count: 64)])
    func acceptsValidNames(name: String) {
        #expect(ModelName.isValid(name))
    }

    @Test(arguments: ["", "Resnet", "-lead", ".hidden", "_x", "a b", "a/b", "../up", "ünï", String(repeating: "x", count: 65), "a\u{0}b"])
    func rejectsInvalidNames(name: String) {
        #expect(!ModelName.isValid(name))
        #expect(throws: RegistryError.invalidName(name)) { try ModelName.validate(name) }
    }
}
