// C wrappers around libjpeg-turbo and libpng for Periscope's image decoder.
//
// Both libraries report fatal errors through callbacks that must not return: libjpeg's default
// handler calls exit(), libpng's calls abort() unless it can longjmp. Swift cannot call setjmp, so
// every library call that may fail happens here, behind a setjmp, and errors come back as a result
// code plus a message. Decoding is split into a header pass and a pixel pass so that the caller can
// check the declared dimensions (decompression-bomb guard) before allocating the output.
#ifndef PERISCOPE_CIMAGESHIMS_H
#define PERISCOPE_CIMAGESHIMS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Result codes of the periscope_* functions.
typedef enum periscope_image_status {
    PERISCOPE_IMAGE_OK = 0,
    /// The library rejected the data; `message` says why.
    PERISCOPE_IMAGE_CORRUPT = 1,
    /// The data ended before the image did.
    PERISCOPE_IMAGE_TRUNCATED = 2,
    /// Valid, but a variant this decoder does not convert to RGB; `message` says which.
    PERISCOPE_IMAGE_UNSUPPORTED = 3,
    /// The output buffer does not hold width × height × 3 bytes (a caller bug).
    PERISCOPE_IMAGE_BAD_BUFFER = 4,
} periscope_image_status;

/// What the header says, filled by both passes.
typedef struct periscope_image_info {
    uint32_t width;
    uint32_t height;
    /// Colour components stored in the file (JPEG) or channels of the PNG colour type.
    uint32_t components;
    /// Bits per sample (8 for JPEG).
    uint32_t bit_depth;
    /// JPEG: the J_COLOR_SPACE of the file; PNG: the PNG_COLOR_TYPE_* value.
    int32_t color_type;
    /// PNG: Adam7 interlaced; JPEG: progressive.
    int32_t interlaced;
    /// The library's message for a non-OK result, NUL-terminated.
    char message[200];
} periscope_image_info;

/// Reads a JPEG's header only.
int periscope_jpeg_read_header(const uint8_t *data, size_t size, periscope_image_info *info);

/// Decodes a JPEG into packed 8-bit RGB rows (`output` holds width × height × 3 bytes).
/// Grayscale is replicated, YCbCr converted by libjpeg, CMYK/YCCK converted like Pillow
/// (Adobe-inverted CMYK, then R = (255 - C)(255 - K)/255 with Pillow's rounding).
int periscope_jpeg_decode_rgb(const uint8_t *data, size_t size, uint8_t *output, size_t output_size,
                              periscope_image_info *info);

/// Reads a PNG's header (signature and IHDR) only.
int periscope_png_read_header(const uint8_t *data, size_t size, periscope_image_info *info);

/// Decodes a PNG into packed 8-bit RGB rows (`output` holds width × height × 3 bytes).
/// Palette and low-bit-depth gray are expanded, 16-bit samples keep their high byte, alpha and
/// tRNS transparency are dropped (not composited), gray is replicated, interlacing is undone.
int periscope_png_decode_rgb(const uint8_t *data, size_t size, uint8_t *output, size_t output_size,
                             periscope_image_info *info);

#ifdef __cplusplus
}
#endif

#endif
