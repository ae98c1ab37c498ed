/*
 * PDQ of one RGB video frame, computed as Meta's vPDQ reference computes it (see
 * signals/video.py): luma in single precision from the RGB bytes, two passes of PDQ's box
 * filter (the "Jarosz" filter) along rows and columns, 64x64 samples at the block centres,
 * a 16x16 DCT, each coefficient above the median one bit; quality from the gradients of
 * the 64x64 samples.
 *
 * Why not `pdqhash`: it takes an RGB array and converts it to luma in double precision with
 * NumPy, which costs more than the rest of the hash on video frames and rounds differently
 * from vPDQ, which works in single precision throughout. Every arithmetic step below is the
 * same operation, on the same type, in the same order as the algorithm's published
 * description and the reference, so results are equal bit for bit (tests compare with
 * vectors made by the reference, tests/data/vpdq_reference.json). Only the order in which
 * independent values are computed differs: a filter pass runs over many rows or columns at
 * once, which the compiler turns into vector instructions. Compiled with
 * -ffp-contract=off: a fused multiply-add would round differently.
 *
 * Function:
 *   rgb(pixels, height, width, row_stride) -> (32 bytes, quality)
 *       pixels: a buffer of RGB triples, row r starting at byte r * row_stride. The bytes
 *       are the hash as its 64 hex digits read (most significant first); a frame with a
 *       side under 5 pixels hashes to zero with quality 0, as in the reference.
 * The GIL is released while hashing.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SIDE 5
#define PASSES 2

static float dct[16][64];

static void init_dct(void) {
    const float scale = (float)sqrt(2.0 / 64.0);
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 64; j++)
            dct[i][j] = (float)(scale * cos((3.14159265358979323846 / 2.0 / 64.0) *
                                            (double)(i + 1) * (double)(2 * j + 1)));
}

/* cr * v for every byte v (and so for G and B): the products the reference computes. */
static float luma_r[256], luma_g[256], luma_b[256];

static void init_luma(void) {
    const float cr = 0.299f, cg = 0.587f, cb = 0.114f;
    for (int v = 0; v < 256; v++) {
        luma_r[v] = cr * (float)v;
        luma_g[v] = cg * (float)v;
        luma_b[v] = cb * (float)v;
    }
}

static void luma(const uint8_t *px, int rows, int cols, Py_ssize_t stride,
                 float *restrict out) {
    for (int i = 0; i < rows; i++) {
        const uint8_t *p = px + (Py_ssize_t)i * stride;
        float *o = out + (size_t)i * cols;
        for (int j = 0; j < cols; j++, p += 3) o[j] = luma_r[p[0]] + luma_g[p[1]] + luma_b[p[2]];
    }
}

/*
 * One box-filter pass over `lanes` vectors at once: element t of lane k is at
 * in[t * step + k * lane_step]. Per element this is the reference's running sum: the
 * window grows to its full size, slides, then shrinks at the far end, each output the sum
 * divided by the number of values in the window.
 */
static inline __attribute__((always_inline)) void box_pass(
    const float *restrict in, float *restrict out, int length, ptrdiff_t step, int lanes,
    ptrdiff_t lane_step, int window, float *restrict sum) {
    const int half = (window + 2) / 2;
    const int grow = half - 1, first = window - half + 1, slide = length - window,
              shrink = half - 1;
    ptrdiff_t ri = 0, li = 0, oi = 0;
    int size = 0;
    for (int k = 0; k < lanes; k++) sum[k] = 0.0f;
    for (int t = 0; t < grow; t++, ri += step) {
        for (int k = 0; k < lanes; k++) sum[k] += in[ri + k * lane_step];
        size++;
    }
    for (int t = 0; t < first; t++, ri += step, oi += step) {
        size++;
        const float n = (float)size;
        for (int k = 0; k < lanes; k++) {
            sum[k] += in[ri + k * lane_step];
            out[oi + k * lane_step] = sum[k] / n;
        }
    }
    {
        const float n = (float)size;
        for (int t = 0; t < slide; t++, ri += step, li += step, oi += step)
            for (int k = 0; k < lanes; k++) {
                sum[k] += in[ri + k * lane_step];
                sum[k] -= in[li + k * lane_step];
                out[oi + k * lane_step] = sum[k] / n;
            }
    }
    for (int t = 0; t < shrink; t++, li += step, oi += step) {
        size--;
        const float n = (float)size;
        for (int k = 0; k < lanes; k++) {
            sum[k] -= in[li + k * lane_step];
            out[oi + k * lane_step] = sum[k] / n;
        }
    }
}

/*
 * Along each row, eight rows at a time: their running sums are independent, so the
 * processor overlaps them where one row alone would wait on each add.
 */
static void box_rows(const float *in, float *out, int rows, int cols, int window,
                     float *sum) {
    for (int r = 0; r < rows; r += 8) {
        const float *i = in + (size_t)r * cols;
        float *o = out + (size_t)r * cols;
        if (rows - r >= 8)
            box_pass(i, o, cols, 1, 8, cols, window, sum);
        else
            box_pass(i, o, cols, 1, rows - r, cols, window, sum);
    }
}

/* Along each column (lanes are the columns of a row: contiguous). */
static void box_cols(const float *in, float *out, int rows, int cols, int window,
                     float *sum) {
    box_pass(in, out, rows, cols, cols, 1, window, sum);
}

/* Torben Mogensen's median (as in the reference): no copy, no sort. */
static float median(const float *m, int n) {
    float lo = m[0], hi = m[0];
    for (int i = 1; i < n; i++) {
        if (m[i] < lo) lo = m[i];
        if (m[i] > hi) hi = m[i];
    }
    int less, greater, equal;
    float guess, below, above;
    for (;;) {
        guess = (lo + hi) / 2;
        less = greater = equal = 0;
        below = lo;
        above = hi;
        for (int i = 0; i < n; i++) {
            if (m[i] < guess) {
                less++;
                if (m[i] > below) below = m[i];
            } else if (m[i] > guess) {
                greater++;
                if (m[i] < above) above = m[i];
            } else {
                equal++;
            }
        }
        if (less <= (n + 1) / 2 && greater <= (n + 1) / 2) break;
        if (less > greater)
            hi = below;
        else
            lo = above;
    }
    if (less >= (n + 1) / 2) return below;
    if (less + equal >= (n + 1) / 2) return guess;
    return above;
}

static int quality_of(float a[64][64]) {
    int sum = 0;
    for (int i = 0; i < 63; i++)
        for (int j = 0; j < 64; j++) {
            int d = (int)(((a[i][j] - a[i + 1][j]) * 100) / 255);
            sum += abs(d);
        }
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 63; j++) {
            int d = (int)(((a[i][j] - a[i][j + 1]) * 100) / 255);
            sum += abs(d);
        }
    int q = sum / 90;
    return q > 100 ? 100 : q;
}

/* B = D A D^T, each sum taken in index order. */
static void dct16(float a[64][64], float b[16][16]) {
    float t[16][64];
    for (int i = 0; i < 16; i++) {
        for (int j = 0; j < 64; j++) t[i][j] = 0.0f;
        for (int k = 0; k < 64; k++) {
            const float d = dct[i][k];
            for (int j = 0; j < 64; j++) t[i][j] += d * a[k][j];
        }
    }
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            float s = 0.0f;
            for (int k = 0; k < 64; k++) s += t[i][k] * dct[j][k];
            b[i][j] = s;
        }
}

/*
 * Working memory: two frame-sized float buffers and the running sums. One
 * area is kept between calls (taken and given back under the GIL), as fresh pages for every
 * frame would cost more than the filter itself.
 */
typedef struct {
    size_t floats;
    float *mem;
} Area;

static Area kept = {0, NULL};

static size_t floats_for(int rows, int cols) {
    return 2 * (size_t)rows * cols + (size_t)(cols > 8 ? cols : 8);
}

static int take_area(Area *a, size_t floats) {
    if (kept.mem && kept.floats >= floats) {
        *a = kept;
        kept.mem = NULL;
        kept.floats = 0;
        return 0;
    }
    a->mem = malloc(floats * sizeof(float));
    a->floats = floats;
    return a->mem ? 0 : -1;
}

static void give_area(Area *a) {
    if (a->floats > kept.floats) {
        free(kept.mem);
        kept = *a;
    } else {
        free(a->mem);
    }
}

static void hash_rgb(const uint8_t *px, int rows, int cols, Py_ssize_t stride, float *mem,
                     uint8_t out[32], int *quality) {
    memset(out, 0, 32);
    *quality = 0;
    if (rows < MIN_SIDE || cols < MIN_SIDE) return;
    size_t n = (size_t)rows * cols;
    float *b1 = mem, *b2 = mem + n, *sum = mem + 2 * n;
    luma(px, rows, cols, stride, b1);
    const int along_rows = (cols + 2 * 64 - 1) / (2 * 64);
    const int along_cols = (rows + 2 * 64 - 1) / (2 * 64);
    for (int p = 0; p < PASSES; p++) {
        box_rows(b1, b2, rows, cols, along_rows, sum);
        box_cols(b2, b1, rows, cols, along_cols, sum);
    }
    float a[64][64], b[16][16];
    for (int i = 0; i < 64; i++) {
        size_t r = (size_t)(((i + 0.5) * rows) / 64);
        for (int j = 0; j < 64; j++) a[i][j] = b1[r * cols + (size_t)(((j + 0.5) * cols) / 64)];
    }
    *quality = quality_of(a);
    dct16(a, b);
    const float mid = median(&b[0][0], 256);
    uint16_t words[16] = {0};
    for (int k = 0; k < 256; k++)
        if (b[k >> 4][k & 15] > mid) words[k >> 4] |= (uint16_t)(1u << (k & 15));
    for (int w = 0; w < 16; w++) {
        out[2 * (15 - w)] = (uint8_t)(words[w] >> 8);
        out[2 * (15 - w) + 1] = (uint8_t)(words[w] & 0xff);
    }
}

static PyObject *py_rgb(PyObject *self, PyObject *args) {
    PyObject *po;
    int rows, cols;
    Py_ssize_t stride;
    if (!PyArg_ParseTuple(args, "Oiin", &po, &rows, &cols, &stride)) return NULL;
    if (rows < 0 || cols < 0 || stride < (Py_ssize_t)cols * 3) {
        PyErr_SetString(PyExc_ValueError, "bad frame shape or row stride");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(po, &view, PyBUF_SIMPLE) < 0) return NULL;
    if (rows > 0 && view.len < (rows - 1) * stride + (Py_ssize_t)cols * 3) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "pixel buffer is smaller than the frame");
        return NULL;
    }
    Area area;
    if (take_area(&area, floats_for(rows, cols)) < 0) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    uint8_t hash[32];
    int quality;
    Py_BEGIN_ALLOW_THREADS;
    hash_rgb(view.buf, rows, cols, stride, area.mem, hash, &quality);
    Py_END_ALLOW_THREADS;
    give_area(&area);
    PyBuffer_Release(&view);
    return Py_BuildValue("(y#i)", (const char *)hash, (Py_ssize_t)32, quality);
}

static PyMethodDef methods[] = {
    {"rgb", py_rgb, METH_VARARGS,
     "rgb(pixels, height, width, row_stride) -> (hash bytes, quality): PDQ of an RGB frame "
     "as vPDQ computes it"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_pdq",
                                    "PDQ of RGB video frames, as vPDQ computes it.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__pdq(void) {
    init_dct();
    init_luma();
    return PyModule_Create(&module);
}
