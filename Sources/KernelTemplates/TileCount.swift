// Compile-time counts for the kernels' shapes: one enum per value, so a kernel generic over them
// gets one specialization per shape in which the unused accumulators and branches fold away.

/// A count known at compile time (one enum per value).
public protocol TileCount { static var value: Int { get } }

public enum Count1: TileCount { @inlinable public static var value: Int { 1 } }
public enum Count2: TileCount { @inlinable public static var value: Int { 2 } }
public enum Count3: TileCount { @inlinable public static var value: Int { 3 } }
public enum Count4: TileCount { @inlinable public static var value: Int { 4 } }
public enum Count5: TileCount { @inlinable public static var value: Int { 5 } }
public enum Count6: TileCount { @inlinable public static var value: Int { 6 } }
