/*
 * Multi-index hashing kernels for exact PDQ range search (see index/mih.py).
 *
 * Hashes are 256 bits stored as 4 native uint64 words, word 0 holding the first 16 hex
 * characters (most significant bit first). A table covers bits [start, start + length) of
 * the hash, length <= 32, and maps each key to a run of rows (CSR: offsets, rows).
 *
 * Functions (all take objects supporting the buffer protocol, usually numpy arrays):
 *   keys(hashes, start, length, out_uint32)                    key of every row
 *   build_csr(keys_uint32, length, offsets_out, rows_out)      counting sort by key
 *   query(hashes, live, tables, queries, radius)               -> (qidx, rows, dists) bytes
 *       tables: sequence of (start, length, offsets, rows, masks_uint32, nmasks)
 *       returns every live row within `radius` of each query, once, in row order.
 * The query releases the GIL, so threads can run queries in parallel.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_buffers.h"

#define PREFETCH 8

static inline uint32_t key_of(const uint64_t *h, int start, int length) {
    int w = start >> 6, off = start & 63;
    unsigned __int128 v = ((unsigned __int128)h[w] << 64) | (w + 1 < 4 ? h[w + 1] : 0);
    uint64_t mask = (length == 64) ? ~0ULL : ((1ULL << length) - 1);
    return (uint32_t)((uint64_t)(v >> (128 - off - length)) & mask);
}

static inline int dist256(const uint64_t *a, const uint64_t *b) {
    return __builtin_popcountll(a[0] ^ b[0]) + __builtin_popcountll(a[1] ^ b[1]) +
           __builtin_popcountll(a[2] ^ b[2]) + __builtin_popcountll(a[3] ^ b[3]);
}

static PyObject *py_keys(PyObject *self, PyObject *args) {
    PyObject *ho, *oo;
    int start, length;
    if (!PyArg_ParseTuple(args, "OiiO", &ho, &start, &length, &oo)) return NULL;
    if (length < 1 || length > 32 || start < 0 || start + length > 256) {
        PyErr_SetString(PyExc_ValueError, "bad substring range");
        return NULL;
    }
    Py_buffer hb, ob;
    if (get_buf(ho, &hb, 0, 32, "hashes") < 0) return NULL;
    if (get_buf(oo, &ob, 1, 4, "out") < 0) { PyBuffer_Release(&hb); return NULL; }
    Py_ssize_t n = hb.len / 32;
    if (ob.len / 4 != n) {
        PyErr_SetString(PyExc_ValueError, "out must have one uint32 per hash");
        PyBuffer_Release(&hb); PyBuffer_Release(&ob);
        return NULL;
    }
    const uint64_t *h = (const uint64_t *)hb.buf;
    uint32_t *out = (uint32_t *)ob.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) out[i] = key_of(h + 4 * i, start, length);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&hb); PyBuffer_Release(&ob);
    Py_RETURN_NONE;
}

static PyObject *py_build_csr(PyObject *self, PyObject *args) {
    PyObject *ko, *oo, *ro;
    int length;
    if (!PyArg_ParseTuple(args, "OiOO", &ko, &length, &oo, &ro)) return NULL;
    Py_buffer kb, ob, rb;
    if (get_buf(ko, &kb, 0, 4, "keys") < 0) return NULL;
    if (get_buf(oo, &ob, 1, 4, "offsets") < 0) { PyBuffer_Release(&kb); return NULL; }
    if (get_buf(ro, &rb, 1, 4, "rows") < 0) {
        PyBuffer_Release(&kb); PyBuffer_Release(&ob);
        return NULL;
    }
    Py_ssize_t n = kb.len / 4, nkeys = (Py_ssize_t)1 << length;
    if (length < 1 || length > 30 || ob.len / 4 != nkeys + 1 || rb.len / 4 != n) {
        PyErr_SetString(PyExc_ValueError, "build_csr: inconsistent sizes");
        PyBuffer_Release(&kb); PyBuffer_Release(&ob); PyBuffer_Release(&rb);
        return NULL;
    }
    const uint32_t *keys = (const uint32_t *)kb.buf;
    uint32_t *off = (uint32_t *)ob.buf, *rows = (uint32_t *)rb.buf;
    Py_BEGIN_ALLOW_THREADS
    memset(off, 0, (size_t)(nkeys + 1) * 4);
    for (Py_ssize_t i = 0; i < n; i++) off[keys[i] + 1]++;
    for (Py_ssize_t k = 0; k < nkeys; k++) off[k + 1] += off[k];
    /* place rows; off[k] walks forward and ends at the start of bucket k + 1 */
    for (Py_ssize_t i = 0; i < n; i++) rows[off[keys[i]]++] = (uint32_t)i;
    for (Py_ssize_t k = nkeys; k > 0; k--) off[k] = off[k - 1];
    off[0] = 0;
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&kb); PyBuffer_Release(&ob); PyBuffer_Release(&rb);
    Py_RETURN_NONE;
}

typedef struct {
    int start, length, nmasks;
    const uint32_t *offsets, *rows, *masks;
    Py_buffer ob, rb, mb;
} table_t;

typedef struct {
    uint32_t *q, *row;
    uint16_t *dist;
    size_t n, cap;
} results_t;

static int push(results_t *r, uint32_t q, uint32_t row, uint16_t d) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        uint32_t *nq = realloc(r->q, cap * 4), *nr;
        if (!nq) return -1;
        r->q = nq;
        nr = realloc(r->row, cap * 4);
        if (!nr) return -1;
        r->row = nr;
        uint16_t *nd = realloc(r->dist, cap * 2);
        if (!nd) return -1;
        r->dist = nd;
        r->cap = cap;
    }
    r->q[r->n] = q; r->row[r->n] = row; r->dist[r->n] = d; r->n++;
    return 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static PyObject *py_query(PyObject *self, PyObject *args) {
    PyObject *ho, *lo, *to, *qo;
    int radius;
    if (!PyArg_ParseTuple(args, "OOOOi", &ho, &lo, &to, &qo, &radius)) return NULL;
    PyObject *seq = PySequence_Fast(to, "tables must be a sequence");
    if (!seq) return NULL;
    Py_ssize_t nt = PySequence_Fast_GET_SIZE(seq);
    table_t *tables = calloc(nt ? nt : 1, sizeof(table_t));
    Py_buffer hb, lb, qb;
    int have_h = 0, have_l = 0, have_q = 0;
    Py_ssize_t ok_tables = 0;
    PyObject *result = NULL;
    results_t res = {0};
    uint64_t *scratch = NULL;
    uint32_t *cand = NULL;
    size_t cand_cap = 0;
    if (!tables) { PyErr_NoMemory(); goto done; }
    if (get_buf(ho, &hb, 0, 32, "hashes") < 0) goto done;
    have_h = 1;
    if (get_buf(lo, &lb, 0, 1, "live") < 0) goto done;
    have_l = 1;
    if (get_buf(qo, &qb, 0, 32, "queries") < 0) goto done;
    have_q = 1;
    Py_ssize_t nrows = hb.len / 32, nq = qb.len / 32;
    if (lb.len != nrows) {
        PyErr_SetString(PyExc_ValueError, "live must have one byte per hash");
        goto done;
    }
    for (Py_ssize_t i = 0; i < nt; i++) {
        table_t *t = &tables[i];
        PyObject *oo, *ro, *mo;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "iiOOOi", &t->start,
                              &t->length, &oo, &ro, &mo, &t->nmasks))
            goto done;
        if (get_buf(oo, &t->ob, 0, 4, "offsets") < 0) goto done;
        if (get_buf(ro, &t->rb, 0, 4, "rows") < 0) { PyBuffer_Release(&t->ob); goto done; }
        if (get_buf(mo, &t->mb, 0, 4, "masks") < 0) {
            PyBuffer_Release(&t->ob); PyBuffer_Release(&t->rb);
            goto done;
        }
        ok_tables++;
        if (t->length < 1 || t->length > 30 || t->start < 0 || t->start + t->length > 256 ||
            t->ob.len / 4 != ((Py_ssize_t)1 << t->length) + 1 || t->rb.len / 4 != nrows ||
            t->nmasks < 0 || t->nmasks > t->mb.len / 4) {
            PyErr_SetString(PyExc_ValueError, "query: inconsistent table");
            goto done;
        }
        t->offsets = t->ob.buf; t->rows = t->rb.buf; t->masks = t->mb.buf;
    }
    const uint64_t *hashes = hb.buf, *queries = qb.buf;
    const uint8_t *live = lb.buf;
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t qi = 0; qi < nq && !failed; qi++) {
        const uint64_t *q = queries + 4 * qi;
        size_t first = res.n;
        for (Py_ssize_t ti = 0; ti < nt && !failed; ti++) {
            const table_t *t = &tables[ti];
            uint32_t key = key_of(q, t->start, t->length);
            /* phase 1: collect candidate rows. The directory lookups are independent, so
             * prefetching a few probes ahead keeps several cache misses in flight. */
            size_t nc = 0;
            for (int m = 0; m < t->nmasks; m++) {
                if (m + PREFETCH < t->nmasks)
                    __builtin_prefetch(t->offsets + (key ^ t->masks[m + PREFETCH]));
                uint32_t k = key ^ t->masks[m];
                uint32_t j = t->offsets[k], e = t->offsets[k + 1];
                if (nc + (e - j) > cand_cap) {
                    size_t cap = (nc + (e - j)) * 2 + 1024;
                    uint32_t *nb = realloc(cand, cap * 4);
                    if (!nb) { failed = 1; break; }
                    cand = nb;
                    cand_cap = cap;
                }
                for (; j < e; j++) cand[nc++] = t->rows[j];
            }
            /* phase 2: verify, prefetching the hashes of candidates a few steps ahead */
            for (size_t c = 0; c < nc && !failed; c++) {
                if (c + PREFETCH < nc) __builtin_prefetch(hashes + 4 * (size_t)cand[c + PREFETCH]);
                uint32_t row = cand[c];
                int d = dist256(q, hashes + 4 * (size_t)row);
                if (d <= radius && live[row] && push(&res, (uint32_t)qi, row, d) < 0) failed = 1;
            }
        }
        /* a row found through several tables is reported once: sort by row, drop repeats */
        size_t found = res.n - first;
        if (!failed && found > 1) {
            scratch = realloc(scratch, found * 8);
            if (!scratch) { failed = 1; break; }
            for (size_t i = 0; i < found; i++)
                scratch[i] = ((uint64_t)res.row[first + i] << 16) | res.dist[first + i];
            qsort(scratch, found, 8, cmp_u64);
            size_t w = 0;
            for (size_t i = 0; i < found; i++) {
                if (w && (scratch[i] >> 16) == (scratch[w - 1] >> 16)) continue;
                scratch[w++] = scratch[i];
            }
            for (size_t i = 0; i < w; i++) {
                res.row[first + i] = (uint32_t)(scratch[i] >> 16);
                res.dist[first + i] = (uint16_t)(scratch[i] & 0xffff);
            }
            res.n = first + w;
        }
    }
    Py_END_ALLOW_THREADS
    if (failed) { PyErr_NoMemory(); goto done; }
    /* "y#" with a NULL pointer gives None: pass an empty string when nothing was found */
    result = Py_BuildValue("(y#y#y#)", res.n ? (const char *)res.q : "", (Py_ssize_t)(res.n * 4),
                           res.n ? (const char *)res.row : "", (Py_ssize_t)(res.n * 4),
                           res.n ? (const char *)res.dist : "", (Py_ssize_t)(res.n * 2));
done:
    for (Py_ssize_t i = 0; i < ok_tables; i++) {
        PyBuffer_Release(&tables[i].ob); PyBuffer_Release(&tables[i].rb);
        PyBuffer_Release(&tables[i].mb);
    }
    if (have_h) PyBuffer_Release(&hb);
    if (have_l) PyBuffer_Release(&lb);
    if (have_q) PyBuffer_Release(&qb);
    free(tables); free(res.q); free(res.row); free(res.dist); free(scratch); free(cand);
    Py_DECREF(seq);
    return result;
}

static PyMethodDef methods[] = {
    {"keys", py_keys, METH_VARARGS, "keys(hashes, start, length, out): substring keys"},
    {"build_csr", py_build_csr, METH_VARARGS,
     "build_csr(keys, length, offsets_out, rows_out): counting sort of rows by key"},
    {"query", py_query, METH_VARARGS,
     "query(hashes, live, tables, queries, radius) -> (qidx, rows, dists) as bytes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_mih",
                                    "Multi-index hashing kernels for PDQ.", -1, methods};

PyMODINIT_FUNC PyInit__mih(void) { return PyModule_Create(&module); }
