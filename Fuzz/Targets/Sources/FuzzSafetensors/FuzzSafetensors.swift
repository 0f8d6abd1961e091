// Fuzz target: `SafetensorsFile(bytes:)` (Sources/NN), which reads request bodies
// (`application/octet-stream` inputs) and weight files.
//
// The input is the whole body. When the reader accepts it, every tensor it declares is read and
// used the way the service uses inputs: its bytes are touched, it is converted to float32 (a
// model's compute dtype), its strides are computed, and it is flattened. Findings: memory errors,
// traps (an accepted header that later code cannot handle is a reader bug: it must be rejected
// with a `SafetensorsError`), and broken contracts:
// - each tensor has the shape, dtype and byte count its header entry declares;
// - the entries tile the data section (the reader's own rule), within the body.
import Foundation
import FuzzDriver
import NN
import Tensors

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let body = count > 0 ? Data(bytes: start!, count: count) : Data()
    let file: SafetensorsFile
    do {
        file = try SafetensorsFile(bytes: body)
    } catch let error as SafetensorsError {
        _ = error.description
        return 0
    } catch {
        invariantFailure("error outside SafetensorsError: \(error)")
    }
    var covered = 0
    for info in file.tensorInfos {
        guard file.info(named: info.name) == info else { invariantFailure("lookup of '\(info.name)' disagrees with the header order") }
        let tensor: Tensor
        do {
            tensor = try file.tensor(named: info.name)
        } catch let error as SafetensorsError {
            _ = error.description
            continue
        } catch {
            invariantFailure("error outside SafetensorsError: \(error)")
        }
        guard tensor.shape == info.shape, tensor.dtype == info.dtype, tensor.byteCount == info.dataOffsets.count else {
            invariantFailure("'\(info.name)': tensor \(tensor.shape) \(tensor.dtype) \(tensor.byteCount) bytes, header \(info)")
        }
        covered += info.dataOffsets.count
        // Touch every byte (AddressSanitizer checks the view stays inside the storage).
        let bytes = UnsafeRawBufferPointer(start: tensor.rawPointer, count: tensor.byteCount)
        var checksum: UInt8 = 0
        for byte in bytes { checksum &+= byte }
        _ = checksum
        // What a model does with an input: compute dtype, strides, a flat view.
        _ = tensor.strides
        let float = tensor.to(.float32)
        _ = float.reshaped([tensor.count])
    }
    if file.tensorInfos.count == Set(file.names).count, covered > count {
        invariantFailure("tensors cover \(covered) bytes of a \(count)-byte body")
    }
    _ = try? file.stateDict()
    return 0
}
