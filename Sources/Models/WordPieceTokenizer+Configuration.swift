import Foundation

extension WordPieceTokenizer {
    /// Tokenizer settings, decodable from a Hugging Face `tokenizer_config.json`.
    ///
    /// Keys: `do_lower_case`, `strip_accents` (null: follow `do_lower_case`), `tokenize_chinese_chars`,
    /// `never_split` (kept whole, like the special tokens), `unk_token`, `sep_token`, `pad_token`,
    /// `cls_token`, `mask_token` (strings, or `{"content": …}` objects as older files write them),
    /// `model_max_length` (the huge placeholder 1e30 that Hugging Face writes for "no limit" is clamped),
    /// `max_input_chars_per_word`, `wordpieces_prefix`. Other keys are ignored.
    public struct Configuration: Decodable, Sendable, Equatable {
        public var lowercase: Bool
        public var stripAccents: Bool?
        public var splitChineseCharacters: Bool
        public var neverSplit: [String]
        public var unknownToken: String
        public var separatorToken: String
        public var paddingToken: String
        public var classifierToken: String
        public var maskToken: String
        /// Longest encoded sequence, special tokens included, when a call gives no `maxLength`.
        public var modelMaxLength: Int
        /// Longer words (in code points) become a single unknown token.
        public var maxInputCharactersPerWord: Int
        public var continuingSubwordPrefix: String

        public init(lowercase: Bool = true, stripAccents: Bool? = nil, splitChineseCharacters: Bool = true,
                    neverSplit: [String] = [], unknownToken: String = "[UNK]", separatorToken: String = "[SEP]",
                    paddingToken: String = "[PAD]", classifierToken: String = "[CLS]", maskToken: String = "[MASK]",
                    modelMaxLength: Int = 512, maxInputCharactersPerWord: Int = 100, continuingSubwordPrefix: String = "##") {
            self.lowercase = lowercase
            self.stripAccents = stripAccents
            self.splitChineseCharacters = splitChineseCharacters
            self.neverSplit = neverSplit
            self.unknownToken = unknownToken
            self.separatorToken = separatorToken
            self.paddingToken = paddingToken
            self.classifierToken = classifierToken
            self.maskToken = maskToken
            self.modelMaxLength = modelMaxLength
            self.maxInputCharactersPerWord = maxInputCharactersPerWord
            self.continuingSubwordPrefix = continuingSubwordPrefix
        }

        /// Reads a `tokenizer_config.json`.
        public init(contentsOf url: URL) throws {
            let data: Data
            do {
                data = try Data(contentsOf: url)
            } catch {
                throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
            }
            do {
                self = try JSONDecoder().decode(Configuration.self, from: data)
            } catch let error as TokenizerError {
                throw error
            } catch {
                throw TokenizerError.unreadableFile(path: url.path, reason: "not a JSON object: \(error)")
            }
        }

        // MARK: - Decoding

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ string: String) { stringValue = string }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        /// A special token as a string or as an AddedToken object.
        private struct TokenSpelling: Decodable {
            var content: String
            private enum Keys: String, CodingKey { case content }
            init(from decoder: any Decoder) throws {
                if let string = try? decoder.singleValueContainer().decode(String.self) {
                    content = string
                } else {
                    content = try decoder.container(keyedBy: Keys.self).decode(String.self, forKey: .content)
                }
            }
        }

        public init(from decoder: any Decoder) throws {
            self.init()
            let container = try decoder.container(keyedBy: Key.self)
            func value<T: Decodable>(_ type: T.Type, _ key: String, _ expected: String) throws -> T? {
                do {
                    return try container.decodeIfPresent(type, forKey: Key(key))
                } catch {
                    throw TokenizerError.invalidConfiguration(key: key, reason: "expected \(expected)")
                }
            }
            lowercase = try value(Bool.self, "do_lower_case", "true or false") ?? lowercase
            stripAccents = try value(Bool.self, "strip_accents", "true, false or null")
            splitChineseCharacters = try value(Bool.self, "tokenize_chinese_chars", "true or false") ?? splitChineseCharacters
            neverSplit = try value([String].self, "never_split", "a list of strings or null") ?? []
            let tokenKeys: [(String, WritableKeyPath<Configuration, String>)] = [
                ("unk_token", \.unknownToken), ("sep_token", \.separatorToken), ("pad_token", \.paddingToken),
                ("cls_token", \.classifierToken), ("mask_token", \.maskToken),
            ]
            for (key, path) in tokenKeys {
                if let spelling = try value(TokenSpelling.self, key, "a string or {\"content\": string}") {
                    self[keyPath: path] = spelling.content
                }
            }
            if let length = try value(Double.self, "model_max_length", "a number") {
                guard length >= 1 else { throw TokenizerError.invalidConfiguration(key: "model_max_length", reason: "must be at least 1, got \(length)") }
                // Hugging Face writes int(1e30) when a model declares no limit.
                modelMaxLength = length >= Double(Int32.max) ? Int(Int32.max) : Int(length)
            }
            if let characters = try value(Int.self, "max_input_chars_per_word", "an integer") {
                guard characters >= 1 else {
                    throw TokenizerError.invalidConfiguration(key: "max_input_chars_per_word", reason: "must be at least 1, got \(characters)")
                }
                maxInputCharactersPerWord = characters
            }
            continuingSubwordPrefix = try value(String.self, "wordpieces_prefix", "a string") ?? continuingSubwordPrefix
        }
    }
}
