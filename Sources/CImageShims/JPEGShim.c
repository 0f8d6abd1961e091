// libjpeg-turbo behind setjmp: see CImageShims.h.
#include "CImageShims.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

/// libjpeg's error manager extended with where to jump and what went wrong.
typedef struct periscope_jpeg_error {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    int truncated;
    periscope_image_info *info;
} periscope_jpeg_error;

/// Fatal errors: keep the message and unwind to the setjmp in the caller (never exit()).
static void periscope_jpeg_error_exit(j_common_ptr cinfo) {
    periscope_jpeg_error *error = (periscope_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, error->info->message);
    longjmp(error->jump, 1);
}

/// Warnings and trace messages: silent, except that running out of data is fatal. libjpeg would
/// otherwise pad a truncated file with gray and call it a success.
static void periscope_jpeg_emit_message(j_common_ptr cinfo, int level) {
    periscope_jpeg_error *error = (periscope_jpeg_error *)cinfo->err;
    if (level >= 0) return;
    cinfo->err->num_warnings++;
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
        error->truncated = 1;
        (*cinfo->err->format_message)(cinfo, error->info->message);
        longjmp(error->jump, 1);
    }
}

static void periscope_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void periscope_jpeg_fill_info(const struct jpeg_decompress_struct *cinfo, periscope_image_info *info) {
    info->width = cinfo->image_width;
    info->height = cinfo->image_height;
    info->components = (uint32_t)cinfo->num_components;
    info->bit_depth = (uint32_t)cinfo->data_precision;
    info->color_type = (int32_t)cinfo->jpeg_color_space;
    info->interlaced = cinfo->progressive_mode ? 1 : 0;
}

/// Pillow's MULDIV255: a * b / 255 rounded, in integers.
static inline int periscope_muldiv255(int a, int b) {
    int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

/// One row of Adobe-inverted CMYK (what libjpeg returns for Photoshop files, and what Pillow
/// assumes for every CMYK JPEG) to RGB, exactly as Pillow's "CMYK;I" unpacking + cmyk2rgb.
static void periscope_cmyk_row_to_rgb(const uint8_t *cmyk, uint8_t *rgb, uint32_t width) {
    for (uint32_t x = 0; x < width; x++) {
        int c = 255 - cmyk[4 * x + 0], m = 255 - cmyk[4 * x + 1], y = 255 - cmyk[4 * x + 2];
        int nk = cmyk[4 * x + 3];  // 255 - K with K = 255 - stored value.
        int r = nk - periscope_muldiv255(c, nk), g = nk - periscope_muldiv255(m, nk), b = nk - periscope_muldiv255(y, nk);
        rgb[3 * x + 0] = (uint8_t)(r < 0 ? 0 : r);
        rgb[3 * x + 1] = (uint8_t)(g < 0 ? 0 : g);
        rgb[3 * x + 2] = (uint8_t)(b < 0 ? 0 : b);
    }
}

int periscope_jpeg_read_header(const uint8_t *data, size_t size, periscope_image_info *info) {
    struct jpeg_decompress_struct cinfo;
    periscope_jpeg_error error;
    memset(info, 0, sizeof *info);
    cinfo.err = jpeg_std_error(&error.base);
    error.base.error_exit = periscope_jpeg_error_exit;
    error.base.emit_message = periscope_jpeg_emit_message;
    error.base.output_message = periscope_jpeg_output_message;
    error.truncated = 0;
    error.info = info;
    if (setjmp(error.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return error.truncated ? PERISCOPE_IMAGE_TRUNCATED : PERISCOPE_IMAGE_CORRUPT;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    periscope_jpeg_fill_info(&cinfo, info);
    jpeg_destroy_decompress(&cinfo);
    return PERISCOPE_IMAGE_OK;
}

int periscope_jpeg_decode_rgb(const uint8_t *data, size_t size, uint8_t *output, size_t output_size,
                              periscope_image_info *info) {
    struct jpeg_decompress_struct cinfo;
    periscope_jpeg_error error;
    // volatile: assigned after setjmp and read after longjmp.
    uint8_t *volatile cmyk_row = NULL;
    memset(info, 0, sizeof *info);
    cinfo.err = jpeg_std_error(&error.base);
    error.base.error_exit = periscope_jpeg_error_exit;
    error.base.emit_message = periscope_jpeg_emit_message;
    error.base.output_message = periscope_jpeg_output_message;
    error.truncated = 0;
    error.info = info;
    if (setjmp(error.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(cmyk_row);
        return error.truncated ? PERISCOPE_IMAGE_TRUNCATED : PERISCOPE_IMAGE_CORRUPT;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    periscope_jpeg_fill_info(&cinfo, info);

    int cmyk = 0;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo.out_color_space = JCS_RGB;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo.out_color_space = JCS_CMYK;
        cmyk = 1;
        break;
    default:
        snprintf(info->message, sizeof info->message, "JPEG colour space %d with %d components",
                 (int)cinfo.jpeg_color_space, cinfo.num_components);
        jpeg_destroy_decompress(&cinfo);
        return PERISCOPE_IMAGE_UNSUPPORTED;
    }
    size_t row_bytes = (size_t)cinfo.image_width * 3;
    if (output_size != row_bytes * cinfo.image_height) {
        snprintf(info->message, sizeof info->message, "output buffer of %zu bytes for %ux%u RGB",
                 output_size, cinfo.image_width, cinfo.image_height);
        jpeg_destroy_decompress(&cinfo);
        return PERISCOPE_IMAGE_BAD_BUFFER;
    }

    jpeg_start_decompress(&cinfo);
    if (cinfo.output_width != cinfo.image_width || cinfo.output_height != cinfo.image_height ||
        cinfo.output_components != (cmyk ? 4 : 3)) {
        snprintf(info->message, sizeof info->message, "libjpeg produced %ux%u with %d components",
                 cinfo.output_width, cinfo.output_height, cinfo.output_components);
        jpeg_destroy_decompress(&cinfo);
        return PERISCOPE_IMAGE_UNSUPPORTED;
    }
    if (cmyk) {
        cmyk_row = malloc((size_t)cinfo.output_width * 4);
        if (cmyk_row == NULL) {
            snprintf(info->message, sizeof info->message, "out of memory for one CMYK row");
            jpeg_destroy_decompress(&cinfo);
            return PERISCOPE_IMAGE_CORRUPT;
        }
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *row = output + (size_t)cinfo.output_scanline * row_bytes;
        if (cmyk) {
            JSAMPROW rows[1] = { cmyk_row };
            if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) goto stalled;
            periscope_cmyk_row_to_rgb(cmyk_row, row, cinfo.output_width);
        } else {
            JSAMPROW rows[1] = { row };
            if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) goto stalled;
        }
    }
    // Every row is decoded; whatever follows the last scan (EOI, trailing bytes) is not read, as
    // in Pillow, so a file that only lacks its EOI marker still decodes.
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);
    return PERISCOPE_IMAGE_OK;

stalled:
    // A memory source never suspends; no row means the data ran out.
    snprintf(info->message, sizeof info->message, "no data for row %u of %u", cinfo.output_scanline, cinfo.output_height);
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);
    return PERISCOPE_IMAGE_TRUNCATED;
}
