// libpng behind setjmp: see CImageShims.h.
#include "CImageShims.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <png.h>

/// Where libpng reads from, and what went wrong.
typedef struct periscope_png_source {
    const uint8_t *data;
    size_t size;
    size_t offset;
    int truncated;
    periscope_image_info *info;
} periscope_png_source;

static void periscope_png_read(png_structp png, png_bytep destination, size_t length) {
    periscope_png_source *source = (periscope_png_source *)png_get_io_ptr(png);
    if (length > source->size - source->offset) {
        source->truncated = 1;
        png_error(png, "unexpected end of PNG data");
    }
    memcpy(destination, source->data + source->offset, length);
    source->offset += length;
}

/// Fatal errors: keep the message, then longjmp to the caller's setjmp (never abort()).
static void periscope_png_error(png_structp png, png_const_charp message) {
    periscope_png_source *source = (periscope_png_source *)png_get_error_ptr(png);
    snprintf(source->info->message, sizeof source->info->message, "%s", message);
    png_longjmp(png, 1);
}

/// Warnings (bad ancillary-chunk CRCs, unknown chunks, …) are not errors: Pillow ignores them too.
static void periscope_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void periscope_png_fill_info(png_structp png, png_infop header, periscope_image_info *info) {
    info->width = png_get_image_width(png, header);
    info->height = png_get_image_height(png, header);
    info->components = png_get_channels(png, header);
    info->bit_depth = png_get_bit_depth(png, header);
    info->color_type = png_get_color_type(png, header);
    info->interlaced = png_get_interlace_type(png, header) != PNG_INTERLACE_NONE;
}

/// Creates the read structures with our error handlers and memory source, and the limits: libpng
/// allows 1,000,000 × 1,000,000 by default; the caller applies its own pixel limit after the header.
static int periscope_png_open(periscope_png_source *source, png_structp *png, png_infop *header) {
    *png = png_create_read_struct(PNG_LIBPNG_VER_STRING, source, periscope_png_error, periscope_png_warning);
    if (*png == NULL) return 0;
    *header = png_create_info_struct(*png);
    if (*header == NULL) {
        png_destroy_read_struct(png, NULL, NULL);
        return 0;
    }
    png_set_read_fn(*png, source, periscope_png_read);
    // Ancillary chunks (text, ICC profiles) may not inflate beyond 8 MB nor number more than 1000.
    png_set_chunk_malloc_max(*png, 8000000);
    png_set_chunk_cache_max(*png, 1000);
    return 1;
}

static int periscope_png_failure(periscope_png_source *source) {
    return source->truncated ? PERISCOPE_IMAGE_TRUNCATED : PERISCOPE_IMAGE_CORRUPT;
}

int periscope_png_read_header(const uint8_t *data, size_t size, periscope_image_info *info) {
    periscope_png_source source = { data, size, 0, 0, info };
    png_structp png = NULL;
    png_infop header = NULL;
    memset(info, 0, sizeof *info);
    if (!periscope_png_open(&source, &png, &header)) {
        snprintf(info->message, sizeof info->message, "libpng could not allocate its reader");
        return PERISCOPE_IMAGE_CORRUPT;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &header, NULL);
        return periscope_png_failure(&source);
    }
    png_read_info(png, header);
    periscope_png_fill_info(png, header, info);
    png_destroy_read_struct(&png, &header, NULL);
    return PERISCOPE_IMAGE_OK;
}

int periscope_png_decode_rgb(const uint8_t *data, size_t size, uint8_t *output, size_t output_size,
                             periscope_image_info *info) {
    periscope_png_source source = { data, size, 0, 0, info };
    png_structp png = NULL;
    png_infop header = NULL;
    memset(info, 0, sizeof *info);
    if (!periscope_png_open(&source, &png, &header)) {
        snprintf(info->message, sizeof info->message, "libpng could not allocate its reader");
        return PERISCOPE_IMAGE_CORRUPT;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &header, NULL);
        return periscope_png_failure(&source);
    }
    png_read_info(png, header);
    periscope_png_fill_info(png, header, info);
    int color_type = png_get_color_type(png, header);
    int bit_depth = png_get_bit_depth(png, header);
    size_t row_bytes = (size_t)info->width * 3;
    if (output_size != row_bytes * info->height) {
        snprintf(info->message, sizeof info->message, "output buffer of %zu bytes for %ux%u RGB",
                 output_size, info->width, info->height);
        png_destroy_read_struct(&png, &header, NULL);
        return PERISCOPE_IMAGE_BAD_BUFFER;
    }

    // To 8-bit RGB, the way Pillow's convert("RGB") sees these files: palette entries looked up,
    // gray replicated, transparency ignored, 16-bit samples reduced to their high byte.
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16) png_set_strip_16(png);
    // Palette expansion turns a tRNS chunk into an alpha channel; drop it with any real one.
    if ((color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, header, PNG_INFO_tRNS)) png_set_strip_alpha(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, header);
    if (png_get_channels(png, header) != 3 || png_get_bit_depth(png, header) != 8 ||
        png_get_rowbytes(png, header) != row_bytes) {
        snprintf(info->message, sizeof info->message, "PNG colour type %d, depth %d does not convert to 8-bit RGB",
                 color_type, bit_depth);
        png_destroy_read_struct(&png, &header, NULL);
        return PERISCOPE_IMAGE_UNSUPPORTED;
    }
    // Interlaced images: each pass fills in more pixels of the same rows.
    for (int pass = 0; pass < passes; pass++) {
        for (uint32_t y = 0; y < info->height; y++) {
            png_read_row(png, output + (size_t)y * row_bytes, NULL);
        }
    }
    png_destroy_read_struct(&png, &header, NULL);
    return PERISCOPE_IMAGE_OK;
}
