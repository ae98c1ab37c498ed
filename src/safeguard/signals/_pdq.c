/*
 * PDQ of RGB pixels, computed as Meta's reference computes it: luma from the RGB bytes, two
 * passes of PDQ's box filter (the "Jarosz" filter) along rows and columns, 64x64 samples at
 * the block centres, a 16x16 DCT, each coefficient above the median one bit; quality from
 * the gradients of the 64x64 samples (signals/pdq.py for photos, signals/video.py for
 * frames).
 *
 * Luma comes two ways: in double precision, rounded to float, as `pdqhash` (the binding
 * python-threatexchange and HMA hash photos with) computes it, or in single precision as
 * vPDQ's reference computes it for video frames; everything after is single precision in
 * both. Every arithmetic step is the same operation, on the same type, in the same order
 * as the reference, so results are equal bit for bit (tests: the PDQ reference images,
 * vectors made by the vPDQ reference, and `pdqhash` itself on photos and odd shapes).
 * Only the order in which independent values are computed differs: a filter pass runs over
 * eight rows or a whole row of columns at once, which the compiler turns into vector
 * instructions. Compiled with -ffp-contract=off: a fused multiply-add would round
 * differently.
 *
 * Why not `pdqhash` itself: it converts to luma with NumPy, in double precision with
 * temporaries of 8 bytes a pixel, which costs more than the rest of the hash (on a video
 * frame more than the reference's whole hash of it), and it cannot do vPDQ's single
 * precision.
 *
 * Function:
 *   rgb(pixels, height, width, row_stride, single, dihedral) -> (bytes, quality)
 *       pixels: a buffer of RGB triples, row r starting at byte r * row_stride; single:
 *       luma in single precision (vPDQ) rather than double (`pdqhash`). The bytes are the
 *       hash as its 64 hex digits read (most significant first), 32 of them; with
 *       `dihedral`, 8 x 32: the hashes of the pixels and of their rotations and flips,
 *       from one DCT as the reference derives them, in `pdqhash.compute_dihedral`'s order.
 *       Pixels with a side under 5 hash to zero with quality 0, as in the reference.
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

/*
 * Luma, two ways, each from a table of its products (the same values the arithmetic would
 * give): in single precision as vPDQ's reference computes it (0.299f * R + 0.587f * G +
 * 0.114f * B, in float), or in double precision and then rounded to float, as `pdqhash`
 * (and so python-threatexchange and HMA) computes it for photos.
 */
static float single_r[256], single_g[256], single_b[256];
static double double_r[256], double_g[256], double_b[256];

static void init_luma(void) {
    const float cr = 0.299f, cg = 0.587f, cb = 0.114f;
    for (int v = 0; v < 256; v++) {
        single_r[v] = cr * (float)v;
        single_g[v] = cg * (float)v;
        single_b[v] = cb * (float)v;
        double_r[v] = (double)v * 0.299;
        double_g[v] = (double)v * 0.587;
        double_b[v] = (double)v * 0.114;
    }
}

static void luma(const uint8_t *px, int rows, int cols, Py_ssize_t stride, int single,
                 float *restrict out) {
    for (int i = 0; i < rows; i++) {
        const uint8_t *p = px + (Py_ssize_t)i * stride;
        float *o = out + (size_t)i * cols;
        if (single)
            for (int j = 0; j < cols; j++, p += 3)
                o[j] = single_r[p[0]] + single_g[p[1]] + single_b[p[2]];
        else
            for (int j = 0; j < cols; j++, p += 3)
                o[j] = (float)(double_r[p[0]] + double_g[p[1]] + double_b[p[2]]);
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

/* Each coefficient above the median one bit; the bytes as the 64 hex digits read. */
static void to_bits(float b[16][16], uint8_t out[32]) {
    const float mid = median(&b[0][0], 256);
    uint16_t words[16] = {0};
    for (int k = 0; k < 256; k++)
        if (b[k >> 4][k & 15] > mid) words[k >> 4] |= (uint16_t)(1u << (k & 15));
    for (int w = 0; w < 16; w++) {
        out[2 * (15 - w)] = (uint8_t)(words[w] >> 8);
        out[2 * (15 - w) + 1] = (uint8_t)(words[w] & 0xff);
    }
}

/*
 * The DCT of the picture turned or flipped, from the picture's own (the reference's rules:
 * a transpose and signs). t: 0 as it is, 1-3 turned a quarter, a half and three quarters,
 * 4 and 5 flipped top to bottom and left to right, 6 and 7 about either diagonal; the
 * order of `pdqhash.compute_dihedral`.
 */
static void turn(int t, float a[16][16], float b[16][16]) {
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            const float v = a[i][j];
            switch (t) {
            case 0: b[i][j] = v; break;
            case 1: b[j][i] = (j & 1) ? v : -v; break;
            case 2: b[i][j] = ((i + j) & 1) ? -v : v; break;
            case 3: b[j][i] = (i & 1) ? v : -v; break;
            case 4: b[i][j] = (i & 1) ? v : -v; break;
            case 5: b[i][j] = (j & 1) ? v : -v; break;
            case 6: b[j][i] = v; break;
            default: b[j][i] = ((i + j) & 1) ? -v : v; break;
            }
        }
}

/*
 * Working memory: two picture-sized float buffers and the running sums. One area, of at
 * most KEEP_FLOATS, is kept between calls (taken and given back under the GIL): fresh pages
 * for every video frame would cost more than the filter itself. Larger areas (photos over
 * about two megapixels) are freed at once, so a server never holds on to a big picture's.
 */
#define KEEP_FLOATS ((size_t)1 << 22) /* 16 MiB: a 1920x1080 frame's */
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
    if (a->floats <= KEEP_FLOATS && a->floats > kept.floats) {
        free(kept.mem);
        kept = *a;
    } else {
        free(a->mem);
    }
}

static void hash_rgb(const uint8_t *px, int rows, int cols, Py_ssize_t stride, int single,
                     int dihedral, float *mem, uint8_t *out, int *quality) {
    memset(out, 0, dihedral ? 256 : 32);
    *quality = 0;
    if (rows < MIN_SIDE || cols < MIN_SIDE) return;
    size_t n = (size_t)rows * cols;
    float *b1 = mem, *b2 = mem + n, *sum = mem + 2 * n;
    luma(px, rows, cols, stride, single, b1);
    float a[64][64], b[16][16];
    if (rows == 64 && cols == 64) {  /* already the grid: the reference filters nothing */
        memcpy(a, b1, sizeof a);
    } else {
        const int along_rows = (cols + 2 * 64 - 1) / (2 * 64);
        const int along_cols = (rows + 2 * 64 - 1) / (2 * 64);
        for (int p = 0; p < PASSES; p++) {
            box_rows(b1, b2, rows, cols, along_rows, sum);
            box_cols(b2, b1, rows, cols, along_cols, sum);
        }
        for (int i = 0; i < 64; i++) {
            size_t r = (size_t)(((i + 0.5) * rows) / 64);
            for (int j = 0; j < 64; j++)
                a[i][j] = b1[r * cols + (size_t)(((j + 0.5) * cols) / 64)];
        }
    }
    *quality = quality_of(a);
    dct16(a, b);
    if (!dihedral) {
        to_bits(b, out);
        return;
    }
    float turned[16][16];
    for (int t = 0; t < 8; t++) {
        turn(t, b, turned);
        to_bits(turned, out + 32 * t);
    }
}

static PyObject *py_rgb(PyObject *self, PyObject *args) {
    PyObject *po;
    int rows, cols;
    Py_ssize_t stride;
    int single, dihedral;
    if (!PyArg_ParseTuple(args, "Oiinpp", &po, &rows, &cols, &stride, &single, &dihedral))
        return NULL;
    if (rows < 0 || cols < 0 || stride < (Py_ssize_t)cols * 3 ||
        (rows > 0 && stride > PY_SSIZE_T_MAX / rows)) {
        PyErr_SetString(PyExc_ValueError, "bad picture size or row stride");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(po, &view, PyBUF_SIMPLE) < 0) return NULL;
    if (rows > 0 && view.len < (rows - 1) * stride + (Py_ssize_t)cols * 3) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "pixel buffer is smaller than the picture");
        return NULL;
    }
    Area area;
    if (take_area(&area, floats_for(rows, cols)) < 0) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    uint8_t hash[256];
    int quality;
    Py_BEGIN_ALLOW_THREADS;
    hash_rgb(view.buf, rows, cols, stride, single, dihedral, area.mem, hash, &quality);
    Py_END_ALLOW_THREADS;
    give_area(&area);
    PyBuffer_Release(&view);
    return Py_BuildValue("(y#i)", (const char *)hash, (Py_ssize_t)(dihedral ? 256 : 32),
                         quality);
}

static PyMethodDef methods[] = {
    {"rgb", py_rgb, METH_VARARGS,
     "rgb(pixels, height, width, row_stride, single, dihedral) -> (hash bytes, quality): "
     "PDQ of RGB pixels (and of their 8 rotations and flips), luma in single precision "
     "(vPDQ) or double (pdqhash)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_pdq",
                                    "PDQ of RGB pixels, as Meta's reference computes it.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__pdq(void) {
    init_dct();
    init_luma();
    return PyModule_Create(&module);
}
