/// What a JSON encoder does with NaN and ±infinity, which have no JSON number form.
public enum NonFinitePolicy: String, Sendable, CaseIterable {
    /// Refuse: the response is an error naming the layer and the element's index.
    case error
    /// Write `null` in their place.
    case null
}
