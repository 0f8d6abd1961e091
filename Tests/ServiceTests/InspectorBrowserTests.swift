import Foundation
import Testing
import TestSupport
@testable import Service

/// The Inspector page in a real headless Chromium, driven over WebDriver, against a live service
/// on a loopback port the OS chose: the drawn heatmaps are the activations the API returns for the
/// same request, coloured by the page's colour map; so are Grad-CAM, Grad-CAM++ and LayerCAM; text
/// shows the tokenizer's tokens; no console errors; the page works with authentication off and on.
///
/// Chromium and chromedriver must be installed (`apt-get install chromium chromium-driver`, as
/// `.ci/run` does): without them these tests fail. Each view's screenshot (1280×800) is written to
/// `$PERISCOPE_SCREENSHOT_DIR` when set — `PERISCOPE_SCREENSHOT_DIR=docs/images` refreshes the
/// README's — and to a temporary directory otherwise.
@Suite(.serialized, .timeLimit(.minutes(15))) struct InspectorBrowserTests {
    static let image = "images/photo_64x48.png"
    static let otherImage = "images/rgb8_37x23.png"

    // MARK: - The colour map (the page's, independently)

    /// The page's nine viridis stops, interpolated linearly.
    static let stops: [[Double]] = [
        [68, 1, 84], [71, 44, 122], [59, 82, 139], [44, 114, 142], [33, 145, 140],
        [40, 174, 128], [94, 201, 98], [173, 220, 48], [253, 231, 37],
    ]

    static func colour(_ value: Double, low: Double, high: Double) -> [Int] {
        var t = high > low ? (value - low) / (high - low) : 0
        t = min(max(t, 0), 1)
        let position = t * Double(stops.count - 1)
        let index = min(Int(position), stops.count - 2)
        let fraction = position - Double(index)
        return (0..<3).map { Int((stops[index][$0] + (stops[index + 1][$0] - stops[index][$0]) * fraction).rounded()) }
    }

    /// Every pixel of `canvas` against the colour of its value in `values` (row-major, from `start`);
    /// returns the number of pixels compared.
    static func expectPixels(_ canvas: CanvasPixels, values: [Float], start: Int, low: Double, high: Double,
                             tolerance: Int = 2, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        var mismatches: [String] = []
        for index in 0..<(canvas.width * canvas.height) {
            let expected = colour(Double(values[start + index]), low: low, high: high)
            let drawn = Array(canvas.pixels[(4 * index)..<(4 * index + 3)])
            if zip(expected, drawn).contains(where: { abs($0 - $1) > tolerance }) || canvas.pixels[4 * index + 3] != 255 {
                mismatches.append("pixel \(index): value \(values[start + index]) expected \(expected) drawn \(drawn)")
            }
        }
        #expect(mismatches.isEmpty, "\(what): \(mismatches.count) of \(canvas.width * canvas.height) pixels differ: \(mismatches.prefix(3))",
                sourceLocation: sourceLocation)
        return canvas.width * canvas.height
    }

    // MARK: - Tests

    /// Auth off: the registry, a layer tree, two layers of ResNet for the fixture image checked
    /// pixel by pixel against the API, a channel over the image, each class-activation map checked
    /// against the API, comparison, export, and the API docs.
    @Test func imageModelViewsMatchTheAPI() async throws {
        try await withInspector(accessControl: .insecureDevelopment) { service, browser, screenshots in
            try await browser.navigate(to: "http://127.0.0.1:\(service.port)/")
            try await waitUntilIdle(browser)
            #expect(try await browser.evaluate("return document.querySelectorAll('.model-card').length;", as: Int.self) == 2)
            // Auth off with the admin endpoints open: load/unload are offered.
            #expect(try await browser.evaluate("return document.querySelectorAll('[data-action=unload]').length;", as: Int.self) == 2)
            try await selectModel("resnet", browser)
            try await screenshots.take("models", browser)

            // Layers: select two from the tree.
            try await browser.click("a[data-view=layers]")
            try await browser.click("#layer-clear")
            try await browser.click("#layer-expand")
            try await browser.click("input[data-layer='layer2']")
            try await browser.click("input[data-layer='layer3']")
            #expect(try await browser.evaluate("return Array.from(document.querySelectorAll('#layer-selection .chip')).map((c) => c.dataset.layer);",
                                               as: [String].self) == ["layer2", "layer3"])
            try await browser.type("layer4.*.relu*", into: "#layer-search")
            #expect(try await browser.evaluate("return document.querySelectorAll('.tree-row.match').length;", as: Int.self) == 2)
            try await browser.run("document.querySelector('#layer-search').value = ''; document.querySelector('#layer-search').dispatchEvent(new Event('input'));")
            try await screenshots.take("layers", browser)

            // Look inside: upload the fixture image and draw.
            try await browser.click("a[data-view=inside]")
            try await browser.type(Fixtures.url(Self.image).path, into: "#inside-input input[type=file]")
            try await browser.waitFor("document.querySelector('#inside-input img')")
            try await browser.click("#inside-run")
            try await waitUntilIdle(browser, "document.querySelectorAll('#inside-results .layer-card').length === 2")
            try await screenshots.take("look-inside", browser)

            let drawn = try await browser.evaluate(Self.readLayerCards, as: [LayerCard].self)
            let imageBase64 = try Data(contentsOf: Fixtures.url(Self.image)).base64EncodedString()
            let reply = try await service.post("/v1/models/resnet/features", json: #"{"image": [""# + imageBase64 + #""], "layers": ["layer2", "layer3"]}"#)
            #expect(reply.status == 200, "\(reply.text.prefix(200))")
            let features = try FeatureRequests.features(reply)
            #expect(drawn.map(\.layer) == ["layer2", "layer3"])
            var compared = 0
            for card in drawn {
                let (shape, values) = try #require(features[card.layer])
                let low = Double(values.min()!), high = Double(values.max()!)
                #expect(abs(card.low - low) <= 1e-6 * max(1, abs(low)) && abs(card.high - high) <= 1e-6 * max(1, abs(high)), "\(card.layer) range")
                let area = shape[2] * shape[3]
                // Channels sorted by mean activation, highest first.
                let means = (0..<shape[1]).map { channel in values[(channel * area)..<((channel + 1) * area)].reduce(0, +) / Float(area) }
                let expectedOrder = (0..<shape[1]).sorted { means[$0] != means[$1] ? means[$0] > means[$1] : $0 < $1 }
                #expect(card.order == Array(expectedOrder.prefix(card.order.count)), "\(card.layer) channel order")
                for canvas in card.channels {
                    #expect(canvas.width == shape[3] && canvas.height == shape[2])
                    compared += Self.expectPixels(canvas, values: values, start: canvas.channel * area, low: low, high: high, "\(card.layer) channel \(canvas.channel)")
                }
            }
            #expect(compared > 500)

            // A channel over the input image.
            try await browser.click("#inside-results .channel")
            try await browser.waitFor("document.querySelector('#zoom-dialog[open] canvas.overlay')")
            try await screenshots.take("channel", browser)
            try await browser.click("#zoom-close")

            // Gradients: each class-activation map of the top class, drawn from the API's map.
            try await browser.click("a[data-view=gradients]")
            #expect(try await browser.evaluate("return document.querySelector('#gradients-layer').value;", as: String.self) == "layer4")
            #expect(try await browser.evaluate("return Array.from(document.querySelectorAll('#gradients-method option')).map((o) => o.value);", as: [String].self)
                    == ["gradcam", "gradcam_plus_plus", "layercam", "saliency"])
            for (method, title, layer) in [("gradcam", "Grad-CAM", "layer4"), ("gradcam_plus_plus", "Grad-CAM++", "layer4"), ("layercam", "LayerCAM", "layer3")] {
                try await browser.run("document.querySelector('#gradients-method').value = arguments[0]; document.querySelector('#gradients-layer').value = arguments[1];",
                                      arguments: [method, layer])
                try await browser.click("#gradients-run")
                try await waitUntilIdle(browser, "document.querySelector('#gradients-overlay')?.dataset.key === '\(method):\(layer)'")
                #expect(try await browser.evaluate("return document.querySelectorAll('#gradients-top button').length;", as: Int.self) == 5)
                #expect(try await browser.evaluate("return document.querySelector('#gradients-results h3').textContent;", as: String.self) == "\(title) of \(layer)")
                let camClass = try await browser.evaluate("return Number(document.querySelector('#gradients-class').value);", as: Int.self)
                let overlay = try await browser.evaluate("return \(Self.canvasPixels)(document.querySelector('#gradients-overlay'));", as: CanvasPixels.self)
                let attributions = try await service.post("/v1/models/resnet/attributions",
                                                          json: #"{"image": [""# + imageBase64 + #""], "target": {"class": \#(camClass)}, "method": "\#(method)", "layers": ["\#(layer)"]}"#)
                let cam = try #require(try FeatureRequests.features(attributions, key: "attributions")["\(method):\(layer)"], "\(attributions.text.prefix(200))")
                #expect(cam.shape.suffix(2) == [overlay.height, overlay.width])
                _ = Self.expectPixels(overlay, values: cam.values, start: 0, low: Double(cam.values.min()!), high: Double(cam.values.max()!), title)
                if method == "gradcam" {
                    try await browser.run("const s = document.querySelector('#gradients-opacity'); s.value = '45'; s.dispatchEvent(new Event('input'));")
                    try await screenshots.take("gradients", browser)
                }
                // The slider's opacity holds for the maps drawn after it moved.
                #expect(try await browser.evaluate("return document.querySelector('#gradients-overlay').style.opacity;", as: String.self) == "0.45")
            }

            // Compare two images across the blocks.
            try await browser.click("a[data-view=compare]")
            try await browser.type(Fixtures.url(Self.image).path, into: "#compare-input-a input[type=file]")
            try await browser.waitFor("document.querySelector('#compare-input-a img')")
            try await browser.type(Fixtures.url(Self.otherImage).path, into: "#compare-input-b input[type=file]")
            try await browser.waitFor("document.querySelector('#compare-input-b img')")
            try await browser.click("#compare-run")
            try await waitUntilIdle(browser, "document.querySelectorAll('#compare-results circle').length > 4")
            let similarities = try await browser.evaluate("return Array.from(document.querySelectorAll('#compare-results circle')).map((c) => Number(c.dataset.similarity));",
                                                          as: [Double].self)
            #expect(similarities.allSatisfy { $0 >= -1.0001 && $0 <= 1.0001 })
            try await screenshots.take("compare", browser)

            // Export: the request and a curl command without any token.
            try await browser.click("a[data-view=export]")
            let curl = try await browser.evaluate("return document.querySelector('#export-curl').textContent;", as: String.self)
            #expect(curl.contains("/v1/models/resnet/features") && curl.contains("layer2") && curl.contains("$PERISCOPE_TOKEN"))
            try await browser.click("#export-safetensors")
            try await waitUntilIdle(browser, "document.querySelector('#export-status').textContent.includes('downloaded')")
            try await screenshots.take("export", browser)

            // The API docs render openapi.yaml.
            try await browser.navigate(to: "http://127.0.0.1:\(service.port)/docs")
            try await waitUntilIdle(browser)
            #expect(try await browser.evaluate("return document.querySelectorAll('#docs-content .operation h3 .method').length;", as: Int.self) >= 30)
            #expect(try await browser.evaluate("return Boolean(document.getElementById('post-v1-models-name-features'));", as: Bool.self))
            try await screenshots.take("docs", browser)
        }
    }

    /// The text path: the BERT fixture (with its WordPiece vocabulary): each layer's token rows are
    /// labelled with the tokenize endpoint's tokens and drawn from the API's features, and the token
    /// attributions colour the same tokens.
    @Test func textModelShowsTokens() async throws {
        try await withInspector(accessControl: .insecureDevelopment) { service, browser, screenshots in
            try await browser.navigate(to: "http://127.0.0.1:\(service.port)/#inside")
            try await waitUntilIdle(browser)
            try await selectModel("bert", browser)
            let text = "the quick brown fox jumps over the lazy dog"
            try await browser.type(text, into: "#inside-input textarea")
            try await browser.click("#inside-run")
            try await waitUntilIdle(browser, "document.querySelectorAll('#inside-results .layer-card').length === 2")
            try await screenshots.take("look-inside-text", browser)

            let cards = try await browser.evaluate(Self.readTokenCards, as: [TokenCard].self)
            #expect(cards.count == 2)
            let reply = try await service.post("/v1/models/bert/features", json: FeatureRequests.textBody([text], layers: cards.map(\.layer)))
            let features = try FeatureRequests.features(reply)
            let tokenize = try await service.post("/v1/models/bert/tokenize", json: #"{"text": ["\#(text)"]}"#)
            #expect(tokenize.status == 200, "\(tokenize.text.prefix(200))")
            let tokens = try tokenize.json().objectValue?["inputs"]?.arrayElements?.first?.objectValue?["tokens"]?.arrayElements?.compactMap(\.stringValue)
            #expect(tokens == ["[CLS]", "the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "[SEP]"])
            for card in cards {
                let (shape, values) = try #require(features[card.layer])
                #expect(card.canvas.height == shape[1] && card.canvas.width == shape[2])
                #expect(card.tokens == tokens, "\(card.layer): a row per token, labelled with the tokenizer's token")
                #expect(card.special == ["[CLS]", "[SEP]"], "\(card.layer)")
                #expect(card.note.contains("Tokens from POST v1/models/{name}/tokenize"), "\(card.note)")
                _ = Self.expectPixels(card.canvas, values: values, start: 0, low: Double(values.min()!), high: Double(values.max()!), "\(card.layer) tokens")
            }

            try await browser.click("a[data-view=gradients]")
            try await browser.click("#gradients-run")
            try await waitUntilIdle(browser, "document.querySelectorAll('.token-text span').length > 0")
            #expect(try await browser.evaluate("return Array.from(document.querySelectorAll('.token-text span')).map((s) => s.textContent);", as: [String].self) == tokens)
            try await screenshots.take("gradients-text", browser)

            // Attention rollout colours the same tokens with the API's [CLS] row.
            try await browser.run("document.querySelector('#gradients-text-method').value = 'attention_rollout';")
            try await browser.click("#gradients-run")
            try await waitUntilIdle(browser, "document.querySelector('#gradients-results h3')?.textContent.startsWith('Attention rollout')")
            #expect(try await browser.evaluate("return Array.from(document.querySelectorAll('.token-text span')).map((s) => s.textContent);", as: [String].self) == tokens)
            let scores = try await browser.evaluate("return Array.from(document.querySelectorAll('.token-text span')).map((s) => Number(s.dataset.score));", as: [Double].self)
            let rollout = try await service.post("/v1/models/bert/attributions", json: #"{"text": ["\#(text)"], "method": "attention_rollout"}"#)
            let row = try #require(try FeatureRequests.features(rollout, key: "attributions")["attention_rollout"]).values
            #expect(scores.count == row.count && zip(scores, row).allSatisfy { abs($0 - Double($1)) <= 1e-6 }, "\(scores) vs \(row)")
        }
    }

    /// A BERT registered without its vocabulary has no tokenizer: text gets the server's error on the
    /// page (what is missing and what to send instead), nothing is drawn, and nothing is left unhandled.
    @Test func textOnAModelWithoutTokenizerShowsTheError() async throws {
        try await withInspector(accessControl: .insecureDevelopment, fixtures: [.bertWithoutVocabulary("bert-ids")],
                                expectedFailures: ["/v1/models/bert-ids/features"]) { service, browser, _ in
            try await browser.navigate(to: "http://127.0.0.1:\(service.port)/#inside")
            try await waitUntilIdle(browser)
            try await selectModel("bert-ids", browser)
            try await browser.type("the quick brown fox", into: "#inside-input textarea")
            try await browser.click("#inside-run")
            try await waitUntilIdle(browser, "!document.querySelector('#toast').hidden")
            let message = try await browser.evaluate("return document.querySelector('#toast').textContent;", as: String.self)
            #expect(message.contains("takes no text") && message.contains("vocab.txt") && message.contains("token ids"), "\(message)")
            #expect(try await browser.evaluate("return document.querySelectorAll('#inside-results .layer-card').length;", as: Int.self) == 0)
        }
    }

    /// Auth on: the page asks for the token (kept in memory, never in the URL); an inference token
    /// sees no load/unload buttons, an admin token does.
    @Test func asksForATokenWhenAuthenticationIsOn() async throws {
        let tokens = AccessControl(tokens: [("infer-token-1234", [.infer]), ("admin-token-5678", [.admin, .infer])])
        try await withInspector(accessControl: tokens) { service, browser, screenshots in
            try await browser.navigate(to: "http://127.0.0.1:\(service.port)/")
            try await browser.waitFor("document.querySelector('#token-dialog[open]')")
            try await screenshots.take("token", browser)
            try await browser.type("infer-token-1234", into: "#token-input")
            try await browser.click("#token-submit")
            try await waitUntilIdle(browser, "document.querySelectorAll('.model-card').length === 2")
            #expect(try await browser.evaluate("return document.querySelectorAll('[data-action]').length;", as: Int.self) == 0)
            #expect(try await browser.evaluate("return location.href;", as: String.self) == "http://127.0.0.1:\(service.port)/")

            try await browser.click("#auth-button")
            try await browser.waitFor("document.querySelector('#token-dialog[open]')")
            try await browser.type("admin-token-5678", into: "#token-input")
            try await browser.click("#token-submit")
            try await waitUntilIdle(browser, "document.querySelectorAll('[data-action=unload]').length === 2")
            // Nothing was stored: a new page load asks again.
            try await browser.navigate(to: "http://127.0.0.1:\(service.port)/inspector")
            try await browser.waitFor("document.querySelector('#token-dialog[open]')")
            #expect(try await browser.evaluate("return localStorage.length + sessionStorage.length + document.cookie.length;", as: Int.self) == 0)
        }
    }

    /// Behind a reverse proxy that mounts the service under `/periscope/`, the page, its assets,
    /// its API calls and the docs all stay under the prefix (every URL in the pages is relative).
    @Test func worksBehindAPathPrefix() async throws {
        try await withInspector(accessControl: .insecureDevelopment) { service, browser, _ in
            let proxy = try PathPrefixProxy(prefix: "/periscope", upstreamPort: service.port)
            do {
                try await browser.navigate(to: "http://127.0.0.1:\(proxy.port)/periscope/")
                try await waitUntilIdle(browser, "document.querySelectorAll('.model-card').length === 2")
                try await selectModel("resnet", browser)
                try await browser.click("a[data-view=inside]")
                try await browser.type(Fixtures.url(Self.image).path, into: "#inside-input input[type=file]")
                try await browser.waitFor("document.querySelector('#inside-input img')")
                try await browser.click("#inside-run")
                try await waitUntilIdle(browser, "document.querySelectorAll('#inside-results .layer-card').length === 2")
                try await browser.navigate(to: "http://127.0.0.1:\(proxy.port)/periscope/docs")
                try await waitUntilIdle(browser, "document.querySelectorAll('#docs-content .operation').length > 30")
                let paths = proxy.paths
                #expect(paths.allSatisfy { $0.hasPrefix("/periscope/") }, "outside the prefix: \(paths.filter { !$0.hasPrefix("/periscope/") })")
                for expected in ["/periscope/assets/inspector.js", "/periscope/v1/models", "/periscope/v1/models/resnet/features",
                                 "/periscope/assets/docs.js", "/periscope/openapi.yaml"] {
                    #expect(paths.contains(expected), "\(expected) was not requested through the proxy")
                }
            } catch {
                await proxy.stop()
                throw error
            }
            await proxy.stop()
        }
    }

    // MARK: - Harness

    /// Starts the service (ResNet at 112×112 and the BERT fixture unless `fixtures` says otherwise)
    /// and a browser, runs `body`, checks that the page logged no errors (but failed requests to URLs
    /// containing one of `expectedFailures`), and stops both whatever happens.
    private func withInspector(accessControl: AccessControl, fixtures: [LiveService.Fixture] = [.resnet("resnet", imageSize: 112), .bert("bert")],
                               expectedFailures: [String] = [],
                               _ body: (LiveService, WebDriver, Screenshots) async throws -> Void) async throws {
        let service = try await LiveService.start(fixtures, accessControl: accessControl)
        let browser: WebDriver
        do {
            browser = try await WebDriver.start()
        } catch {
            await service.stop()
            throw error
        }
        do {
            try await browser.setViewport(width: 1280, height: 800)
            try await body(service, browser, Screenshots())
            try await expectNoErrors(browser, expectedFailures: expectedFailures)
        } catch {
            await browser.quit()
            await service.stop()
            throw error
        }
        await browser.quit()
        await service.stop()
    }

    /// The page's own error hook and the browser console: nothing but the expected network answers
    /// (401 before the token, 403 from the admin probe with an inference token, the test's own
    /// `expectedFailures`).
    private func expectNoErrors(_ browser: WebDriver, expectedFailures: [String]) async throws {
        let pageErrors = try await browser.evaluate("return window.inspectorErrors || ['no error hook: the script did not run'];", as: [String].self)
        #expect(pageErrors.isEmpty, "page errors: \(pageErrors)")
        let severe = try await browser.browserLog().filter { entry in
            entry.level == "SEVERE" && !(entry.message.contains("Failed to load resource")
                && (entry.message.contains("401 (Unauthorized)")
                    || (entry.message.contains("/v2/repository/index") && entry.message.contains("403 (Forbidden)"))
                    || expectedFailures.contains { entry.message.contains($0) }))
        }
        #expect(severe.isEmpty, "console errors: \(severe.map(\.message))")
    }

    private func waitUntilIdle(_ browser: WebDriver, _ condition: String = "true") async throws {
        try await browser.waitFor("document.body.dataset.ready === 'true' && document.body.dataset.state === 'idle' && (\(condition))")
    }

    private func selectModel(_ name: String, _ browser: WebDriver) async throws {
        try await browser.run("const s = document.querySelector('#model-select'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));", arguments: [name])
        try await waitUntilIdle(browser, "document.querySelector('#model-select').value === '\(name)' && document.querySelector('.model-name').textContent === '\(name)'")
    }

    /// Saves each view's screenshot; checks it is 1280×800.
    struct Screenshots {
        let directory: URL = {
            if let path = ProcessInfo.processInfo.environment["PERISCOPE_SCREENSHOT_DIR"], !path.isEmpty { return URL(fileURLWithPath: path) }
            return FileManager.default.temporaryDirectory.appendingPathComponent("periscope-inspector-screenshots")
        }()

        func take(_ name: String, _ browser: WebDriver) async throws {
            try await Task.sleep(for: .milliseconds(250))  // let the last layout settle
            let png = try await browser.screenshot()
            #expect(png.count > 24 && png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
            let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
            #expect(width == 1280 && height == 800, "\(name): \(width)×\(height)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try png.write(to: directory.appendingPathComponent("inspector-\(name).png"))
        }
    }

    // MARK: - Reading the page

    struct CanvasPixels: Decodable {
        var channel: Int
        var width: Int
        var height: Int
        var pixels: [Int]
    }

    struct LayerCard: Decodable {
        var layer: String
        var low: Double
        var high: Double
        var order: [Int]
        var channels: [CanvasPixels]
    }

    struct TokenCard: Decodable {
        var layer: String
        var tokens: [String]
        /// The labels shown as special tokens.
        var special: [String]
        var note: String
        var canvas: CanvasPixels
    }

    /// A JavaScript function reading a canvas's pixels.
    static let canvasPixels = """
        ((canvas) => ({ channel: Number(canvas.dataset.channel || 0), width: canvas.width, height: canvas.height,
          pixels: Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data) }))
        """

    /// Each layer card of Look inside: its range, channel order, and the first six channels' pixels.
    static let readLayerCards = """
        return Array.from(document.querySelectorAll('#inside-results .layer-card')).map((card) => ({
          layer: card.dataset.layer, low: Number(card.dataset.low), high: Number(card.dataset.high),
          order: Array.from(card.querySelectorAll('.channel-grid canvas')).map((canvas) => Number(canvas.dataset.channel)),
          channels: Array.from(card.querySelectorAll('.channel-grid canvas')).slice(0, 6).map(\(canvasPixels)) }));
        """

    static let readTokenCards = """
        return Array.from(document.querySelectorAll('#inside-results .layer-card')).map((card) => ({
          layer: card.dataset.layer, note: card.querySelector('.note').textContent,
          tokens: Array.from(card.querySelectorAll('.token-labels span')).map((span) => span.textContent),
          special: Array.from(card.querySelectorAll('.token-labels span.special')).map((span) => span.textContent),
          canvas: \(canvasPixels)(card.querySelector('canvas.tokens')) }));
        """
}
